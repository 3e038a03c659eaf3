"""Without a token (tpsim on loopback), the admin API still refuses what a web page of
another site makes the developer's browser send: a cross-site POST that would reset the
scheme or move its clock, and a DNS-rebound name reading its config and OTPs."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.conftest import MakeScheme
from tests.support.scheme import Scheme
from tpsim.auth.keys import KeyType, generate_private_key, private_key_pem


async def call(scheme: Scheme, method: str, path: str, **headers: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, scheme.url + path, headers=headers) as answer,
    ):
        return answer.status, await answer.text()


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/admin/reset", {"Origin": "http://evil.example"}),
        (
            "POST",
            "/admin/reset",
            {"Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"},
        ),
        ("POST", "/admin/reset", {"Sec-Fetch-Site": "cross-site"}),
        ("GET", "/admin/config", {"Host": "evil.example"}),
        ("GET", "/admin/config", {"Host": "rebound.evil.example:4040"}),
    ],
    ids=["foreign Origin", "another local port", "cross-site fetch", "foreign Host", "rebound"],
)
async def test_a_request_from_another_site_is_refused(
    scheme: Scheme, method: str, path: str, headers: dict[str, str]
) -> None:
    status, text = await call(scheme, method, path, **headers)
    assert status == 403, text
    assert "admin API" in text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Sec-Fetch-Site": "same-origin"}],
    ids=["curl", "a page of tpsim itself"],
)
async def test_local_clients_are_answered(scheme: Scheme, headers: dict[str, str]) -> None:
    status, text = await call(scheme, "GET", "/admin/config", **headers)
    assert status == 200, text


async def test_the_config_shown_never_holds_a_signing_key(make_scheme: MakeScheme) -> None:
    key = generate_private_key(KeyType.P256)
    scheme = await make_scheme(hub={"jws_private_key_pem": private_key_pem(key)})
    status, text = await call(scheme, "GET", "/admin/config")
    assert status == 200 and json.loads(text)["hub"]["jws_private_key_pem"] == "<set>"
    assert "PRIVATE KEY" not in text
