"""``core.execution``: the one way an authorised intent's money moves, for every dialect
(a rule's reject, the funds check, the settlement port, same-bank credit)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.xs2a.support import RecordingSettlement
from tpsim.core.bank import Account, Bank
from tpsim.core.errors import UnknownBank
from tpsim.core.execution import Executed, Execution, execute
from tpsim.core.payment import PaymentIntent, PaymentState
from tpsim.core.rules import Outcome, Reason, Status
from tpsim.core.settlement import SettlementRequest

AT = datetime(2030, 1, 7, 9, tzinfo=UTC)
# Creditors by where they are: the same bank, another simulated bank, outside tpsim.
SAME, OTHER, OUTSIDE = "10000109010102", "20000219020201", "30000330303030"
IN_USD = "10000109010103"  # dfspa's account in another currency


def bank_with(creditor: str, amount: str) -> Bank:
    """dfspa's alice (100.00 GBP) has authorised paying ``amount`` to ``creditor``."""
    bank = Bank()
    for address, fsp, number, balance in (
        ("dfspa.alice", "dfspa", "10000109010101", "100.00"),
        ("dfspa.rora", "dfspa", SAME, "0"),
        ("dfspb.bob", "dfspb", OTHER, "0"),
    ):
        account = Account(address, fsp, address, "GBP", sort_code_account_number=number)
        bank.open_account(account, Decimal(balance))
    usd = Account("dfspa.sam", "dfspa", "sam", "USD", sort_code_account_number=IN_USD)
    bank.open_account(usd, Decimal(0))
    intent = PaymentIntent("p1", "dfspa.alice", creditor, Decimal(amount), "GBP", created_at=AT)
    bank.payments.receive_authorised(intent, at=AT)
    return bank


def run(
    creditor: str, amount: str = "10.00", verdict: Outcome | None = None, *, port: bool = True
) -> tuple[Executed, Bank, RecordingSettlement]:
    bank, settlement = bank_with(creditor, amount), RecordingSettlement()
    done = execute(
        bank,
        "p1",
        own_bank="dfspa",
        settlement=settlement if port else None,
        verdict=verdict,
        at=AT,
    )
    return done, bank, settlement


def balances(bank: Bank) -> tuple[str, ...]:
    return tuple(
        f"{bank.ledger.available(a):.2f}" for a in ("dfspa.alice", "dfspa.rora", "dfspb.bob")
    )


def test_a_creditor_at_the_same_bank_is_credited_at_once() -> None:
    done, bank, settlement = run(SAME)
    assert done == Executed(Execution.CREDITED)
    assert bank.payments.get("p1").state is PaymentState.SETTLED
    assert balances(bank) == ("90.00", "10.00", "0.00")
    assert settlement.requests == []


def test_a_creditor_at_another_simulated_bank_is_paid_through_the_port_by_address() -> None:
    done, bank, settlement = run(OTHER)
    assert done.outcome is Execution.IN_PROCESS
    assert bank.payments.get("p1").state is PaymentState.EXECUTING
    assert settlement.requests == [
        SettlementRequest("p1", "dfspa", "dfspa.alice", "dfspb", "ACCOUNT_ID dfspb.bob",
                          Decimal("10.00"), "GBP")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("creditor", "verdict", "port"),
    [
        pytest.param(OUTSIDE, None, True, id="a creditor outside tpsim"),
        pytest.param(OTHER, None, False, id="another bank without a settlement port"),
        pytest.param(SAME, Outcome(status=Status.SETTLED_DEBTOR), True, id="SETTLED_DEBTOR"),
    ],
)
def test_otherwise_the_money_only_leaves_the_debtor(
    creditor: str, verdict: Outcome | None, port: bool
) -> None:
    done, bank, settlement = run(creditor, verdict=verdict, port=port)
    assert done == Executed(Execution.DEBITED)
    assert bank.payments.get("p1").state is PaymentState.SETTLED
    assert balances(bank) == ("90.00", "0.00", "0.00")
    assert settlement.requests == []


def test_insufficient_funds_reject_it_and_move_nothing() -> None:
    done, bank, _ = run(SAME, "500.00")
    assert (done.outcome, done.reason, done.by_rule, done.funds) == (
        Execution.REJECTED,
        Reason.INSUFFICIENT_FUNDS,
        False,
        False,
    )
    assert "insufficient funds" in done.text
    assert bank.payments.get("p1").state is PaymentState.REJECTED
    assert balances(bank) == ("100.00", "0.00", "0.00")


@pytest.mark.parametrize(
    ("verdict", "text", "funds"),
    [
        (Outcome(reject=Reason.BLOCKED_ACCOUNT), "blocked-account", None),
        (Outcome(reject=Reason.INSUFFICIENT_FUNDS, text="No money"), "No money", False),
    ],
)
def test_a_rules_reject_rejects_it_in_the_rules_words(
    verdict: Outcome, text: str, funds: bool | None
) -> None:
    done, bank, _ = run(SAME, verdict=verdict)
    assert done == Executed(Execution.REJECTED, verdict.reject, text, by_rule=True, funds=funds)
    assert bank.payments.get("p1").state is PaymentState.REJECTED
    assert balances(bank) == ("100.00", "0.00", "0.00")


def test_a_creditor_account_in_another_currency_rejects_it_before_any_money_moves() -> None:
    done, bank, settlement = run(IN_USD)
    assert done.outcome is Execution.REJECTED and "USD" in done.text
    assert bank.payments.get("p1").state is PaymentState.REJECTED
    assert balances(bank) == ("100.00", "0.00", "0.00") and settlement.requests == []


class RefusingPort:
    """A settlement port that refuses the request at once (``SwitchSettlement.submit``
    raises ``UnknownBank`` or the settler's ``StateRefused``)."""

    def submit(self, request: SettlementRequest) -> None:
        raise UnknownBank(request.from_bank)


def test_a_settlement_port_that_refuses_fails_it_and_gives_the_funds_back() -> None:
    bank = bank_with(OTHER, "10.00")
    done = execute(bank, "p1", own_bank="dfspa", settlement=RefusingPort(), verdict=None, at=AT)
    assert (done.outcome, done.reason) == (Execution.REJECTED, Reason.REJECTED)
    assert "dfspa is not a bank tpsim simulates" in done.text
    assert bank.payments.get("p1").state is PaymentState.FAILED
    assert balances(bank) == ("100.00", "0.00", "0.00")
    assert bank.ledger.reservations() == []


def test_a_debtor_account_the_ledger_refuses_rejects_it_before_any_money_moves() -> None:
    bank = bank_with(SAME, "10.00")
    # dfspa's USD account ordered to pay GBP: the ledger refuses the reservation
    intent = PaymentIntent("p2", "dfspa.sam", SAME, Decimal("10.00"), "GBP", created_at=AT)
    bank.payments.receive_authorised(intent, at=AT)
    done = execute(bank, "p2", own_bank="dfspa", settlement=None, verdict=None, at=AT)
    assert (done.outcome, done.reason, done.funds) == (Execution.REJECTED, Reason.REJECTED, None)
    assert "held in USD" in done.text
    assert bank.payments.get("p2").state is PaymentState.REJECTED
    assert balances(bank) == ("100.00", "0.00", "0.00")
    assert bank.ledger.reservations() == []
