"""``/``, tpsim's address: a person who opens it in a browser is shown where the live view
and the admin API are; any other client still gets the FSPIOP edge's 404 (3002), which
says the same, so an FSPIOP client sees what it always saw."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.scheme import Scheme

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # Firefox's
FSPIOP = "application/vnd.interoperability.thirdparty+json;version=1.0"


async def test_a_browser_opening_tpsim_gets_a_page_pointing_at_the_live_view(
    scheme: Scheme,
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{scheme.url}/", headers={"Accept": BROWSER}) as answer,
    ):
        status, kind, page = answer.status, answer.content_type, await answer.text()
    assert (status, kind) == (200, "text/html")
    for link in ('href="/ui"', 'href="/admin/openapi.json"', 'href="/health"'):
        assert link in page


async def test_the_live_view_the_page_points_at_is_served(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{scheme.url}/ui") as answer:
        assert answer.status == 200


@pytest.mark.parametrize("accept", [None, "*/*", FSPIOP])
async def test_any_other_client_gets_the_fspiop_3002_saying_where_tpsims_pages_are(
    scheme: Scheme, accept: str | None
) -> None:
    headers = {} if accept is None else {"Accept": accept}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{scheme.url}/", headers=headers) as answer,
    ):
        status, body = answer.status, await answer.json()
    assert status == 404
    info = body["errorInformation"]
    assert info["errorCode"] == "3002"
    assert all(path in info["errorDescription"] for path in ("/ui", "/admin/openapi.json"))


async def test_a_post_to_the_root_stays_the_fspiop_edges_refusal(scheme: Scheme) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{scheme.url}/", json={}, headers={"Accept": BROWSER}) as answer,
    ):
        status, body = answer.status, await answer.json()
    assert (status, body["errorInformation"]["errorCode"]) == (404, "3002")
