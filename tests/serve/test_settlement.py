"""The core settlement port as a running tpsim implements it (``Simulation.settlement``).

A dialect holding an EXECUTING payment at dfspa hands it to ``sim.settlement``; dfspa's
settler quotes and transfers it through the switch to dfspb, every hop in the journal.
The first test runs on a served tpsim and reads the journal through the admin API; the
others drive a ``Simulation`` whose external participants are ``Recording`` transports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tests.support.ledger_invariants import ledger_problems, quiet_problems, totals
from tests.support.roles import executing
from tests.support.scheme import BOB_MSISDN, Scheme
from tpsim.config import load_config, parse_config
from tpsim.core.clock import ManualClock, SequentialIds
from tpsim.core.errors import UnknownBank
from tpsim.core.payment import PaymentState
from tpsim.core.settlement import SettlementOutcome, SettlementRequest, SettlementResult
from tpsim.mojaloop.roles.common import format_datetime, new_message
from tpsim.serve.simulation import Simulation
from tpsim.serve.transports import Recording, Transports

ALICE, BOB = "dfspa.alice.chequing", "dfspb.bob.chequing"
INTENT = "p-1"
START = datetime(2030, 1, 1, tzinfo=UTC)


def request(to_bank: str = "dfspb", *, from_bank: str = "dfspa") -> SettlementRequest:
    return SettlementRequest(INTENT, from_bank, ALICE, to_bank, BOB_MSISDN, Decimal(100), "USD")


def execute(sim: Simulation) -> None:
    """Alice's 100 USD to Bob, authorised and executing at dfspa (its debit reserved)."""
    payments = sim.state.bank.payments
    executing(payments, INTENT, debtor=ALICE, creditor=BOB_MSISDN, amount="100")


def balance(sim: Simulation, address: str) -> str:
    return format(sim.state.bank.ledger.available(address), "f")


def simulation(**extra_participant: Any) -> tuple[Simulation, Recording]:
    """The built-in scheme (plus ``extra_participant``), external ones recorded."""
    data = load_config().model_dump(mode="json")
    if extra_participant:
        data["participants"].append(extra_participant)
    outside = Recording()
    sim = Simulation(
        parse_config(data),
        clock=ManualClock(START),
        ids=SequentialIds(),
        transports=Transports(lambda _: outside),
    )
    return sim, outside


async def journal(scheme: Scheme, correlation_id: str) -> list[dict[str, Any]]:
    """``GET /admin/journal?correlationId=`` as a user reads it."""
    url = f"{scheme.url}/admin/journal?correlationId={correlation_id}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        entries: list[dict[str, Any]] = (await response.json())["entries"]
        return entries


async def test_a_payment_at_dfspa_settles_to_bob_at_dfspb_through_the_switch(
    scheme: Scheme,
) -> None:
    assert scheme.sim is not None
    sim = scheme.sim
    heard: list[SettlementResult] = []
    sim.settlement.listen(heard.append)
    execute(sim)

    sim.settlement.submit(request())
    await scheme.settle()

    assert sim.state.bank.payments.get(INTENT).state is PaymentState.SETTLED
    assert heard == [SettlementResult(INTENT, SettlementOutcome.SETTLED)]
    assert (scheme.balance(ALICE), scheme.balance(BOB)) == ("900", "100")
    entries = await journal(scheme, INTENT)
    quote_id, transfer_id = entries[0]["body"]["quoteId"], entries[2]["body"]["transferId"]
    assert [(e["hop"], e["method"], e["path"], e["source"], e["destination"]) for e in entries] == [
        ("delivered", "POST", "/quotes", "dfspa", "dfspb"),
        ("delivered", "PUT", f"/quotes/{quote_id}", "dfspb", "dfspa"),
        ("delivered", "POST", "/transfers", "dfspa", "dfspb"),
        ("delivered", "PUT", f"/transfers/{transfer_id}", "dfspb", "dfspa"),
    ]
    assert entries[3]["body"]["transferState"] == "COMMITTED"


@pytest.mark.parametrize("bank", ["pispa", "dfspz"], ids=["external", "unknown"])
async def test_a_settlement_from_a_bank_tpsim_does_not_simulate_is_refused(bank: str) -> None:
    sim, _ = simulation()
    execute(sim)
    with pytest.raises(UnknownBank) as raised:
        sim.settlement.submit(request(from_bank=bank))
    assert raised.value.reason == "unknown-bank"
    assert str(raised.value) == (
        f"{bank} is not a bank tpsim simulates; a settlement starts at the simulated bank"
        " that holds the debtor's account"
    )
    await sim.router.drain()
    assert sim.journal.entries() == []
    assert sim.state.bank.payments.get(INTENT).state is PaymentState.EXECUTING


async def test_a_bank_that_never_answers_fails_the_settlement_when_its_timer_fires() -> None:
    silent = {"fsp_id": "dfspc", "kind": "dfsp", "endpoint": "http://127.0.0.1:9/dfspc"}
    sim, outside = simulation(**silent)
    heard: list[SettlementResult] = []
    sim.settlement.listen(heard.append)
    execute(sim)
    sim.settlement.submit(request("dfspc"))
    await sim.router.drain()
    [quote] = outside.received
    assert (quote.method, quote.path, quote.destination) == ("POST", "/quotes", "dfspc")

    sim.clock.advance(60)  # behaviour.quote_expiry_s: the router fires dfspa's timer
    await sim.router.drain()

    deadline = format_datetime(sim.clock.now())
    reason = f"no PUT /quotes/{(quote.body or {})['quoteId']} from dfspc by {deadline}"
    assert heard == [SettlementResult(INTENT, SettlementOutcome.FAILED, reason)]
    assert sim.state.bank.payments.get(INTENT).state is PaymentState.FAILED
    assert balance(sim, ALICE) == "1000"


async def test_the_port_and_its_listeners_survive_a_reset() -> None:
    sim, _ = simulation()
    port = sim.settlement
    heard: list[SettlementResult] = []
    port.listen(heard.append)
    sim.reset()

    assert sim.settlement is port
    execute(sim)
    port.submit(request())
    await sim.router.drain()
    assert heard == [SettlementResult(INTENT, SettlementOutcome.SETTLED)]
    assert (balance(sim, ALICE), balance(sim, BOB)) == ("900", "100")


def ruled(*rules: dict[str, Any]) -> Simulation:
    """The built-in scheme with these message rules (no external participant is asked)."""
    data = load_config().model_dump(mode="json")
    data["rules"] = list(rules)
    return Simulation(parse_config(data), clock=ManualClock(START), ids=SequentialIds())


DFSPB_TRANSFERS = {"receiver": "dfspb", "method": "POST", "path": "/transfers"}
LOST = {"name": "lost", "when": DFSPB_TRANSFERS, "then": {"drop": True}}


def transfer_id(sim: Simulation) -> str:
    [transfer] = [e for e in sim.journal.entries() if e.path == "/transfers"]
    return str((transfer.body or {})["transferId"])


async def error_from_dfspb(sim: Simulation) -> None:
    """dfspb's error callback for the transfer it credited (as it answers a resent
    ``POST /transfers`` whose quote it has used up), its COMMITTED lost."""
    body = {"errorInformation": {"errorCode": "3100", "errorDescription": "no such quote"}}
    path = f"/transfers/{transfer_id(sim)}/error"
    now = sim.clock.now()
    sim.router.submit(
        new_message("PUT", path, source="dfspb", destination="dfspa", body=body, now=now)
    )
    await sim.router.drain()


async def answer_aborted(sim: Simulation) -> None:
    """Nothing more to do: the rule already made dfspb's answer ABORTED."""


ABORTED = {
    "name": "aborted",
    "when": DFSPB_TRANSFERS,
    "then": {"override": {"body.transferState": "ABORTED"}},
}


@pytest.mark.parametrize(
    ("rule", "answer"),
    [(ABORTED, answer_aborted), (LOST, error_from_dfspb)],
    ids=["answered-aborted", "error-callback"],
)
async def test_a_transfer_the_creditors_bank_credited_settles_whatever_it_answers(
    rule: dict[str, Any], answer: Callable[[Simulation], Awaitable[None]]
) -> None:
    sim = ruled(rule)
    heard: list[SettlementResult] = []
    sim.settlement.listen(heard.append)
    opening = totals(sim.state.bank)
    execute(sim)
    sim.settlement.submit(request())
    await sim.router.drain()
    await answer(sim)

    assert ledger_problems(sim.state.bank, opening, {}) == []
    assert quiet_problems(sim.state.bank) == []
    assert heard == [SettlementResult(INTENT, SettlementOutcome.SETTLED)]
    assert sim.state.bank.payments.get(INTENT).state is PaymentState.SETTLED
    assert (balance(sim, ALICE), balance(sim, BOB)) == ("900", "100")
