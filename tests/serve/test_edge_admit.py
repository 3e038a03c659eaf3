"""The FSPIOP edge without a socket (``edge.admit``): what arrived is validated, journaled
and routed, or refused with a coded answer; a bug in validation is a coded 500, never an
uncaught exception (the HTTP tests in ``test_edge_validation.py`` cover each rule)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.scheme import in_process
from tpsim.journal import Hop
from tpsim.mojaloop.message import make_headers
from tpsim.mojaloop.wire import routes
from tpsim.mojaloop.wire.headers import build_headers
from tpsim.serve.edge import Answer, Arrival, admit
from tpsim.serve.simulation import Simulation
from tpsim.serve.transports import Recording

START = datetime(2030, 1, 1, tzinfo=UTC)
LOOKUP = "/parties/MSISDN/16135551212"


def simulation(pisp: Recording) -> Simulation:
    return in_process(pisp, START)


def arrival(method: str, path: str, to: str | None = None, **headers: str) -> Arrival:
    """``method path`` from pispa with the headers a PISP sends, and ``headers`` over them."""
    resource = routes.match(method, path)[0].resource
    sent = build_headers(method, resource, "pispa", to, datetime.now(UTC))
    return Arrival(method, path, path, make_headers({**sent, **headers}), has_body=False)


def refused(answer: Answer) -> tuple[int, str]:
    body: dict[str, Any] = answer.body or {}
    return answer.status, body["errorInformation"]["errorCode"]


async def test_a_party_lookup_is_accepted_journaled_and_routed() -> None:
    pisp = Recording()
    sim = simulation(pisp)
    answer = admit(sim, arrival("GET", LOOKUP), routes.match("GET", LOOKUP), None)
    await sim.router.drain()
    assert answer == Answer(202)
    first = sim.journal.entries()[0]
    assert (first.hop, first.method, first.path, first.source) == (
        Hop.RECEIVED,
        "GET",
        LOOKUP,
        "pispa",
    )
    assert [m.path for m in pisp.received] == [LOOKUP]  # the ALS asked, the party answered


async def test_a_broken_header_is_refused_with_its_code_and_journaled() -> None:
    sim = simulation(Recording())
    broken = arrival("GET", LOOKUP, Date="yesterday")
    answer = admit(sim, broken, routes.match("GET", LOOKUP), None)
    assert refused(answer) == (400, "3100")
    (entry,) = sim.journal.entries()
    assert entry.status == 400 and entry.error is not None and "Date" in entry.error


async def test_a_bug_in_validation_is_a_coded_500_and_the_edge_keeps_serving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = simulation(Recording())
    path = "/thirdpartyRequests/transactions"
    body = json.dumps({"transactionRequestId": "b51ec534-ee48-4575-b6a9-ead2955b8069"}).encode()

    def broken(route: routes.Route, value: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(routes, "parse_body", broken)
    posted = arrival("POST", path, to="dfspa")._replace(has_body=True)
    assert refused(admit(sim, posted, routes.match("POST", path), body)) == (500, "2001")
    monkeypatch.undo()
    assert admit(sim, arrival("GET", LOOKUP), routes.match("GET", LOOKUP), None) == Answer(202)
