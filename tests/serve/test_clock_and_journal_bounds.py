"""The admin API under an operator's misuse: what it refuses in its own format instead of
failing, and what it never lets break the server for the requests that follow."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.conftest import MakeScheme
from tests.serve.test_xs2a import Tpp
from tests.support.scheme import Scheme
from tests.xs2a.support import bulk
from tpsim.core.clock import ManualClock
from tpsim.serve.admin import MAX_ADVANCE_S
from tpsim.serve.clock import LATEST, SystemClock


async def _call(scheme: Scheme, method: str, path: str, data: str | None = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{scheme.url}{path}", data=data) as response,
    ):
        return response.status, await response.json()


BULK = "/xs2a/dfspa/v1/bulk-payments/sepa-credit-transfers"


@pytest.fixture
async def late_scheme() -> Any:
    """A scheme whose clock was already advanced to a day before ``LATEST``."""
    scheme = await Scheme(clock=ManualClock(LATEST - timedelta(days=1))).start()
    yield scheme
    await scheme.close()


async def test_advancing_the_clock_again_and_again_is_refused_before_it_overflows(
    late_scheme: Scheme,
) -> None:
    # Each advance is within bounds, but the offset adds up: past datetime's year 9999
    # every request (the admin API's and the scheme's) failed with a 500 until a restart.
    body = f'{{"seconds": {MAX_ADVANCE_S}}}'
    for _ in range(120):  # (9999 - 9000) / 10 years: enough to overflow without the bound
        status, answer = await _call(late_scheme, "POST", "/admin/clock/advance", body)
        if status != 200:
            break
    assert status == 400, answer
    assert answer["code"] == "CLOCK_AT_LATEST"
    # The clock still reads, and a move within what is left is taken.
    assert await _call(late_scheme, "POST", "/admin/clock/advance", '{"seconds": 60}') == (
        200,
        {"now": "8999-12-31T00:01:00.000Z"},
    )
    assert (await _call(late_scheme, "GET", "/admin/journal"))[0] == 200


class _StoppedWallClock(SystemClock):
    """The wall clock stopped ten days before ``LATEST``: what the admin API computes
    and what the clock computes see the same moment."""

    def now(self) -> datetime:
        return LATEST - timedelta(days=10) + timedelta(seconds=self.offset_s)


async def test_a_move_a_fraction_of_a_microsecond_past_latest_is_refused_not_a_500() -> None:
    # timedelta rounds to whole microseconds and the clock compares unrounded seconds: a
    # move that ends 0.4 microseconds past LATEST passed the first check, not the second.
    scheme = await Scheme(clock=_StoppedWallClock()).start()  # type: ignore[arg-type]
    try:
        body = '{"seconds": 864000.0000004}'
        status, answer = await _call(scheme, "POST", "/admin/clock/advance", body)
        assert (status, answer.get("code")) == (400, "CLOCK_AT_LATEST"), answer
        status, answer = await _call(scheme, "POST", "/admin/clock/advance", '{"seconds": 60}')
        assert (status, answer) == (200, {"now": "8999-12-22T00:01:00.000Z"})
    finally:
        await scheme.close()


def test_the_wall_clock_is_never_moved_past_latest() -> None:
    clock = SystemClock()
    for _ in range(1000):  # ten years at a time, as the admin API allows
        try:
            clock.advance(MAX_ADVANCE_S)
        except ValueError as exc:
            assert "cannot move past" in str(exc)  # noqa: PT017
            break
    assert clock.now() <= LATEST
    assert clock.now() > datetime(8980, 1, 1, tzinfo=UTC)


async def test_the_journal_bound_in_bytes_holds_for_the_answers_tpsim_sends(
    make_scheme: MakeScheme,
) -> None:
    # A GET of a bulk payment answers with its hundred payments (~40 kB): counted as a
    # fixed kilobyte, 30 of them kept ten times the journal's max_bytes in memory.
    max_bytes = 128 * 1024
    scheme = await make_scheme(journal={"max_bytes": max_bytes, "max_body_bytes": 4096})
    entries = bulk(*["1.00"] * 100)
    for one in entries["payments"]:
        one["remittanceInformationUnstructured"] = "x" * 140
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        status, created, _ = await tpp.call(
            "POST", BULK, entries, TPP_Redirect_URI="http://localhost:8000/cb/ok"
        )
        assert status == 201
        for _ in range(30):
            status, _, _ = await tpp.call("GET", f"{BULK}/{created['paymentId']}")
            assert status == 200
    assert scheme.sim is not None
    journal = scheme.sim.journal
    kept = sum(len(json.dumps(e.to_json())) for e in journal.entries())
    assert kept <= 2 * max_bytes
    assert journal.size_bytes <= max_bytes
