"""A restart with an edited config: what a DFSP no longer simulated had in flight ends.

The state's fingerprint covers the config's accounts, users and consents only, so a
participant may change between two starts on the same ``--state`` file. A simulated DFSP
made external (``endpoint:`` set) had its settlements and Third Party transactions ended
by nobody: their debits stayed reserved for ever. Now the restart ends them as it ends any
other in-flight work (funds released, the reason recorded), says so in the log, and sends
nothing in the name of a participant tpsim no longer plays. The ledger's totals are
checked: a restart neither creates nor loses money.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import cast

import structlog

from tests.serve.test_durable_state import Tpsim, alice
from tests.serve.test_hub_transfers import QUOTE_LIFE_S, quoted
from tests.support.faulty_scheme import START
from tests.support.flows import AUTHZ, TX
from tests.support.pisp import future_expiration
from tests.support.roles import executing
from tests.support.scheme import BOB_MSISDN, FIDO_ACCOUNT, transaction_request
from tpsim.config import Config, load_config, parse_config
from tpsim.core.clock import ManualClock
from tpsim.core.payment import PaymentState
from tpsim.core.settlement import SettlementOutcome, SettlementRequest, SettlementResult
from tpsim.mojaloop.roles.transaction_state import Transaction

REQUEST = "7a1e0000-0000-4000-8000-00000000c0c0"
KEPT = "dfspa/transactions"  # dfspa's transactions in the state file


def config_with(*, external: Iterable[str] = ()) -> Config:
    """The built-in config with the DFSPs ``external`` played outside tpsim."""
    data = load_config().model_dump(mode="json")
    for participant in data["participants"]:
        if participant["fsp_id"] in external:
            participant.update(simulated=False, endpoint="http://127.0.0.1:1")
    return parse_config(data)


def totals(tpsim: Tpsim) -> tuple[Decimal, Decimal]:
    """The scheme's money: every account's balance, and what is available of it."""
    ledger, accounts = tpsim.sim.state.bank.ledger, tpsim.sim.config.accounts
    return (
        sum((ledger.balance(a.address) for a in accounts), Decimal(0)),
        sum((ledger.available(a.address) for a in accounts), Decimal(0)),
    )


async def stopped_and_started_again(
    before: Tpsim, config: Config, heard: list[SettlementResult] | None = None
) -> Tpsim:
    """``before`` stopped and a new tpsim started on its file with ``config``, resumed;
    ``heard`` gets the settlement outcomes the restart reached."""
    await before.sim.close()
    after = Tpsim(before.path, before.clock, config)
    if heard is not None:
        after.sim.settlement.listen(heard.append)
    await after.restarted()
    return after


async def transfer_held_for_dfspb(tpsim: Tpsim) -> None:
    """Alice pays Bob (dfspb, external) 100 USD: her debit reserved, the transfer held by
    the hub, dfspb not yet answering."""
    expiration = future_expiration(300, now=tpsim.clock.now())
    await tpsim.from_pisp("POST", TX, transaction_request(REQUEST, expiration=expiration))
    [asked] = [m for m in tpsim.pisp.received if m.path == "/quotes"]
    await quoted(tpsim, f"/quotes/{(asked.body or {})['quoteId']}", "100")
    await tpsim.approve(tpsim.last("POST", AUTHZ), alice())
    assert [m.path for m in tpsim.pisp.received if m.method == "POST"][-1] == "/transfers"


async def test_a_settlement_of_a_dfsp_made_external_is_failed_and_its_funds_released(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    before = Tpsim(tmp_path / "state.db", clock, config_with())
    money = totals(before)
    payments = before.sim.state.bank.payments
    executing(payments, "p-1", debtor=FIDO_ACCOUNT, creditor=BOB_MSISDN, amount="10", at=START)
    request = SettlementRequest(
        "p-1", "dfspa", FIDO_ACCOUNT, "dfspb", BOB_MSISDN, Decimal(10), "USD"
    )
    before.sim.dfsps["dfspa"].settler.start(request)  # its quote not yet answered
    held = before.available(FIDO_ACCOUNT)
    before.file.flush()

    heard: list[SettlementResult] = []
    with structlog.testing.capture_logs() as logs:
        after = await stopped_and_started_again(before, config_with(external=["dfspa"]), heard)
    try:
        intent = after.sim.state.bank.payments.get("p-1")
        assert intent.state is PaymentState.FAILED
        [result] = heard
        assert (result.intent_id, result.outcome) == ("p-1", SettlementOutcome.FAILED)
        assert result.reason == (
            "tpsim restarted with dfspa no longer simulated (made external)"
            " while the settlement was under way"
        )
        assert after.available(FIDO_ACCOUNT) == held + 10
        assert after.sim.state.bank.ledger.reservations() == []
        assert totals(after) == money
        assert money[0] == money[1]  # nothing reserved before either
        ended = [e for e in logs if e.get("fsp_id") == "dfspa"]
        assert ended and "no longer simulated" in ended[0]["event"]
        assert ended[0]["settlements"] == ["p-1"]
        # Nothing is sent in dfspa's name: tpsim no longer plays it.
        assert not [m for m in after.pisp.received if m.source == "dfspa"]
    finally:
        await after.sim.close()


async def test_a_transaction_of_a_payer_dfsp_made_external_fails_and_gives_the_debit_back(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    before = Tpsim(tmp_path / "state.db", clock, config_with(external=["dfspb"]))
    money = totals(before)
    await transfer_held_for_dfspb(before)
    assert before.sim.state.bank.ledger.reservations() != []

    heard: list[SettlementResult] = []
    after = await stopped_and_started_again(before, config_with(external=["dfspa", "dfspb"]))
    after.sim.settlement.listen(heard.append)
    try:
        [tx] = cast("list[Transaction]", list(after.sim.state.bank.store.records(KEPT)))
        intent = after.sim.state.bank.payments.get(tx.transaction_id)
        assert intent.state is PaymentState.FAILED
        assert after.sim.state.bank.ledger.reservations() == []
        assert totals(after) == money
        # The hub's hold ends at its expiration as before; no money moves then.
        clock.advance(QUOTE_LIFE_S + 1)
        await after.sim.router.drain()
        assert totals(after) == money
        assert heard == []
    finally:
        await after.sim.close()


async def test_an_external_payee_made_simulated_changes_nothing_of_a_held_transfer(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    before = Tpsim(tmp_path / "state.db", clock, config_with(external=["dfspb"]))
    money = totals(before)
    await transfer_held_for_dfspb(before)
    reserved = before.sim.state.bank.ledger.reservations()
    assert reserved != []

    after = await stopped_and_started_again(before, config_with())
    try:
        # Still the hub's to end (dfspb, outside then, may have committed it).
        assert after.sim.state.bank.ledger.reservations() == reserved
        clock.advance(QUOTE_LIFE_S + 1)
        await after.sim.router.drain()
        assert after.sim.state.bank.ledger.reservations() == []
        assert totals(after) == money
        outcome = after.outcome(REQUEST)
        assert (outcome.body or {})["errorInformation"]["errorCode"] == "6003"
    finally:
        await after.sim.close()
