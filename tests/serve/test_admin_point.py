"""``PUT /admin/participants/{fspId}/endpoint``: a PISP moves (``tpsim pisp`` points the
server at itself for a run) and the scheme's state stays as it was."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.conftest import MakeScheme
from tests.support.scheme import Scheme


async def point(scheme: Scheme, fsp_id: str, endpoint: Any) -> tuple[int, Any]:
    url = f"{scheme.url}/admin/participants/{fsp_id}/endpoint"
    async with aiohttp.ClientSession() as http, http.put(url, json={"endpoint": endpoint}) as got:
        return got.status, await got.json()


async def test_a_pisp_is_pointed_elsewhere_and_the_state_is_kept(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme()
    state = scheme.sim.state
    status, body = await point(scheme, "pispa", "http://127.0.0.1:9/cb")
    assert status == 200 and body["endpoint"] == "http://127.0.0.1:9/cb"
    assert scheme.sim.state is state  # not reseeded, as PUT /admin/fixtures would
    assert scheme.sim.router.registry.get("pispa").endpoint == "http://127.0.0.1:9/cb"  # type: ignore[union-attr]
    assert [p.endpoint for p in scheme.sim.config.participants if p.fsp_id == "pispa"] == [
        "http://127.0.0.1:9/cb"
    ]
    status, back = await point(scheme, "pispa", body["previous"])
    assert status == 200 and back["previous"] == "http://127.0.0.1:9/cb"


async def test_only_an_external_participant_and_a_base_url(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme()
    status, body = await point(scheme, "dfspa", "http://127.0.0.1:9")
    assert status == 404 and "no external participant" in body["error"]
    for bad in ("ftp://x", "http://127.0.0.1:9/?q=1", 5, None):
        status, _ = await point(scheme, "pispa", bad)
        assert status == 400, bad
