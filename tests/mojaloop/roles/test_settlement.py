"""Settling a payment at another bank through the switch, socket-free (``core.settlement``).

Alice's payment of 100 USD at dfspa is EXECUTING (its debit reserved); dfspa's settler
quotes it at dfspb and transfers it on the quote's terms. The tests deliver each message
to the simulated DFSP it is addressed to (as the switch would, error callbacks included),
or play dfspb's and the switch's answers themselves, and read the intent, the ledger and
what the listener heard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.support.linking_roles import deliver, error_code
from tests.support.roles import START, Roles, executing
from tpsim.core.errors import StateRefused, UnknownPayment
from tpsim.core.payment import PaymentEvent, PaymentState
from tpsim.core.settlement import SettlementOutcome, SettlementRequest, SettlementResult
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.message import Effects, Message, Timer
from tpsim.mojaloop.roles.common import format_datetime, parse_datetime
from tpsim.mojaloop.roles.settlement import payee_party
from tpsim.mojaloop.wire.models import PartyIdType

ALICE, BOB = "dfspa.alice.chequing", "dfspb.bob.chequing"
BOB_MSISDN = "16135551212"
BOB_IBAN = "GB33BUKB20201555555555"
INTENT = "p-1"


@dataclass
class Settlement:
    """One settlement of Alice's 100 USD, with every message the DFSPs exchanged."""

    roles: Roles
    heard: list[SettlementResult] = field(default_factory=list)
    sent: list[Message] = field(default_factory=list)

    @property
    def dfspa(self) -> Any:
        return self.roles.role("dfspa")

    def start(self, creditor: str = BOB_MSISDN, amount: str = "100") -> Effects:
        executing(
            self.roles.sim.state.bank.payments,
            INTENT,
            debtor=ALICE,
            creditor=creditor,
            amount=amount,
            at=START,
        )
        request = SettlementRequest(
            INTENT, "dfspa", ALICE, "dfspb", creditor, Decimal(amount), "USD"
        )
        effects: Effects = self.dfspa.settler.start(request)
        self.sent.extend(effects.messages)
        return effects

    def deliver(self, message: Message) -> Effects:
        """``message`` to its simulated addressee (a refusal: the error callback back)."""
        effects = deliver(self.roles, message)
        self.sent.extend(effects.messages)
        return effects

    def run(self, message: Message) -> None:
        """Deliver ``message`` and everything it causes, depth first as the router does."""
        for caused in self.deliver(message).messages:
            self.run(caused)

    def answer(self, method: str, path: str, body: dict[str, Any], *, source: str) -> Effects:
        """``source`` (dfspb, or the switch) sends dfspa ``method path``."""
        message = self.roles.message(method, path, body, source=source, destination="dfspa")
        self.sent.append(message)
        return self.deliver(message)

    def last(self, method: str, path: str) -> Message:
        return [m for m in self.sent if (m.method, m.path) == (method, path)][-1]

    @property
    def quote_id(self) -> str:
        return str((self.last("POST", "/quotes").body or {})["quoteId"])

    @property
    def transfer_id(self) -> str:
        return str((self.last("POST", "/transfers").body or {})["transferId"])

    def state(self) -> PaymentState:
        return self.roles.sim.state.bank.payments.get(INTENT).state

    def hops(self) -> list[tuple[str, str, str, str | None]]:
        return [(m.method, m.path, m.source, m.destination) for m in self.sent]

    def postings(self, address: str) -> list[tuple[str, str]]:
        ledger = self.roles.sim.state.bank.ledger
        return [(p.kind.value, format(p.amount, "f")) for p in ledger.postings(address)]


def settlement(**overrides: Any) -> Settlement:
    flow = Settlement(Roles.build(**overrides))
    flow.roles.sim.settlement.listen(flow.heard.append)
    return flow


def error_body(code: str = "3204", text: str = "no such party") -> dict[str, Any]:
    return {"errorInformation": {"errorCode": code, "errorDescription": text}}


def until_transfer(flow: Settlement) -> Message:
    """Start, let dfspb quote: dfspa's POST /transfers, not delivered yet."""
    [quote] = flow.start().messages
    [answer] = flow.deliver(quote).messages
    [transfer] = flow.deliver(answer).messages
    assert (transfer.method, transfer.path) == ("POST", "/transfers")
    return transfer


def assert_failed(flow: Settlement, reason: str) -> None:
    """The intent FAILED with ``reason``, Alice's funds are back and Bob got nothing."""
    assert flow.state() is PaymentState.FAILED
    assert flow.heard == [SettlementResult(INTENT, SettlementOutcome.FAILED, reason)]
    assert flow.postings(ALICE) == [("OPEN", "1000"), ("RESERVE", "100"), ("RELEASE", "100")]
    assert flow.roles.balance(ALICE) == "1000"
    assert flow.roles.balance(BOB) == "0"
    transfers = [(m.body or {})["transferId"] for m in flow.sent if m.path == "/transfers"]
    settler = flow.dfspa.settler
    assert not settler.owns_quote(flow.quote_id)
    assert not any(settler.owns_transfer(t) for t in transfers)


# --- settled -----------------------------------------------------------------------------


def test_a_settlement_quotes_then_transfers_and_settles_the_intent() -> None:
    flow = settlement()
    [quote] = flow.start().messages
    flow.run(quote)

    q, t = flow.quote_id, flow.transfer_id
    assert flow.hops() == [
        ("POST", "/quotes", "dfspa", "dfspb"),
        ("PUT", f"/quotes/{q}", "dfspb", "dfspa"),
        ("POST", "/transfers", "dfspa", "dfspb"),
        ("PUT", f"/transfers/{t}", "dfspb", "dfspa"),
    ]
    assert flow.state() is PaymentState.SETTLED
    assert flow.postings(ALICE) == [("OPEN", "1000"), ("RESERVE", "100"), ("COMMIT", "100")]
    assert flow.postings(BOB) == [("CREDIT", "100")]
    assert flow.heard == [SettlementResult(INTENT, SettlementOutcome.SETTLED)]
    assert not flow.dfspa.settler.owns_quote(q) and not flow.dfspa.settler.owns_transfer(t)


def test_the_quote_asks_for_the_amount_as_sent_before_the_deadline() -> None:
    flow = settlement()
    effects = flow.start()
    [quote] = effects.messages
    deadline = START + timedelta(seconds=60)  # behaviour.quote_expiry_s
    assert effects.timers == [Timer(f"settlement:{INTENT}", deadline)]
    body = dict(quote.body or {})
    assert body.pop("transactionId") != flow.quote_id
    assert body == {
        "quoteId": flow.quote_id,
        "payee": {
            "partyIdInfo": {
                "partyIdType": "MSISDN",
                "partyIdentifier": BOB_MSISDN,
                "fspId": "dfspb",
            }
        },
        "payer": {
            "partyIdInfo": {"partyIdType": "ACCOUNT_ID", "partyIdentifier": ALICE, "fspId": "dfspa"}
        },
        "amountType": "SEND",
        "amount": {"currency": "USD", "amount": "100"},
        "transactionType": {
            "scenario": "TRANSFER",
            "initiator": "PAYER",
            "initiatorType": "CONSUMER",
        },
        "expiration": format_datetime(deadline),
    }
    assert quote.related == (INTENT,)  # the journal ties the hops to the intent's id


def test_the_transfer_goes_on_the_quotes_terms_and_ends_the_quotes_timer() -> None:
    flow = settlement()
    [quote] = flow.start().messages
    [answer] = flow.deliver(quote).messages
    effects = flow.deliver(answer)
    [transfer] = effects.messages
    terms = answer.body or {}
    assert transfer.body == {
        "transferId": (quote.body or {})["transactionId"],  # one conversation in the journal
        "payeeFsp": "dfspb",
        "payerFsp": "dfspa",
        "amount": terms["transferAmount"],
        "ilpPacket": terms["ilpPacket"],
        "condition": terms["condition"],
        "expiration": terms["expiration"],
    }
    # The quote's timer ends; the transfer's runs to its expiration (dfspb is simulated).
    expiry = parse_datetime(terms["expiration"])
    assert expiry is not None
    assert effects.timers == [Timer(f"settlement:{INTENT}", expiry)]
    assert effects.cancel == [f"settlement:{INTENT}"]


def test_with_payee_fees_the_creditor_receives_the_amount_less_the_fees() -> None:
    flow = settlement(behaviour={"payee_fees": {"fee": "2", "commission": "0"}})
    [quote] = flow.start().messages
    flow.run(quote)
    assert flow.state() is PaymentState.SETTLED
    assert flow.postings(ALICE)[-1] == ("COMMIT", "100")
    assert flow.roles.balance(BOB) == "98"


# (creditor as the dialect names it, a party fixture dfspb knows it by) → the quote's payee
CREDITORS = [
    (BOB_MSISDN, None, ("MSISDN", BOB_MSISDN)),
    (f"MSISDN {BOB_MSISDN}", None, ("MSISDN", BOB_MSISDN)),
    (BOB, ("ACCOUNT_ID", BOB), ("ACCOUNT_ID", BOB)),
    (BOB_IBAN, ("IBAN", BOB_IBAN), ("IBAN", BOB_IBAN)),
    ("EMAIL bob@example.com", ("EMAIL", "bob@example.com"), ("EMAIL", "bob@example.com")),
]


@pytest.mark.parametrize(
    ("creditor", "party", "payee"), CREDITORS, ids=["msisdn", "typed", "account", "iban", "email"]
)
def test_the_creditor_is_named_to_its_bank_by_its_kind(
    creditor: str, party: tuple[str, str] | None, payee: tuple[str, str]
) -> None:
    parties: list[dict[str, Any]] = [
        {"party_identifier": BOB_MSISDN, "fsp_id": "dfspb", "account": BOB}
    ]
    if party is not None:
        kind, identifier = party
        parties.append(
            {
                "party_id_type": kind,
                "party_identifier": identifier,
                "fsp_id": "dfspb",
                "account": BOB,
            }
        )
    flow = settlement(parties=parties)
    [quote] = flow.start(creditor).messages
    info = (quote.body or {})["payee"]["partyIdInfo"]
    assert (info["partyIdType"], info["partyIdentifier"]) == payee
    flow.run(quote)
    assert flow.state() is PaymentState.SETTLED
    assert flow.roles.balance(BOB) == "100"


@pytest.mark.parametrize(
    ("creditor", "party"),
    [
        ("16135551212", (PartyIdType.MSISDN, "16135551212")),
        ("GB33BUKB20201555555555", (PartyIdType.IBAN, "GB33BUKB20201555555555")),
        # IBAN-shaped, its check digits wrong (mod 97): no IBAN, so an account id.
        ("GB34BUKB20201555555555", (PartyIdType.ACCOUNT_ID, "GB34BUKB20201555555555")),
        ("dfspb.bob.chequing", (PartyIdType.ACCOUNT_ID, "dfspb.bob.chequing")),
        ("ALIAS bob", (PartyIdType.ALIAS, "bob")),
        ("THIRD_PARTY_LINK x", (PartyIdType.ACCOUNT_ID, "THIRD_PARTY_LINK x")),
        ("0123", (PartyIdType.ACCOUNT_ID, "0123")),
    ],
)
def test_payee_party(creditor: str, party: tuple[PartyIdType, str]) -> None:
    assert payee_party(creditor) == party


# --- failed ------------------------------------------------------------------------------


def test_a_creditor_unknown_at_its_bank_fails_the_settlement_with_the_quote_error() -> None:
    flow = settlement()
    [quote] = flow.start("16135550000").messages
    flow.run(quote)

    q = flow.quote_id
    assert flow.hops() == [
        ("POST", "/quotes", "dfspa", "dfspb"),
        ("PUT", f"/quotes/{q}/error", "dfspb", "dfspa"),
    ]
    assert error_code(flow.last("PUT", f"/quotes/{q}/error")) == "3204"
    assert_failed(
        flow,
        "dfspb's quote answered 3204: payee.partyIdInfo:"
        " MSISDN 16135550000 is not a party of dfspb",
    )


# (who answers dfspa, how) → the failure reason
TRANSFER_FAILURES = [
    ("dfspb", "PUT", "", {"transferState": "ABORTED"}, "dfspb's transfer is ABORTED"),
    (
        "dfspb",
        "PUT",
        "/error",
        error_body("5105", "payee transaction limit reached"),
        "dfspb's transfer answered 5105: payee transaction limit reached",
    ),
    (
        "switch",
        "PUT",
        "/error",
        error_body("1001", "dfspb is unreachable"),
        "the switch answered 1001: dfspb is unreachable",
    ),
]


@pytest.mark.parametrize(
    ("source", "method", "suffix", "body", "reason"),
    TRANSFER_FAILURES,
    ids=["aborted", "payee error", "switch error"],
)
def test_a_failed_transfer_fails_the_settlement_and_releases_the_debit(
    source: str, method: str, suffix: str, body: dict[str, Any], reason: str
) -> None:
    flow = settlement()
    until_transfer(flow)  # dfspb never gets the transfer: the test answers for it
    effects = flow.answer(method, f"/transfers/{flow.transfer_id}{suffix}", body, source=source)
    assert effects.cancel == [f"settlement:{INTENT}"]
    assert not flow.dfspa.settler.owns_transfer(flow.transfer_id)
    assert_failed(flow, reason)


def test_a_quote_error_from_the_switch_fails_the_settlement() -> None:
    flow = settlement()
    flow.start()
    path = f"/quotes/{flow.quote_id}/error"
    flow.answer("PUT", path, error_body("3201", "no participant dfspb"), source="switch")
    assert_failed(flow, "the switch answered 3201: no participant dfspb")


# (what is wrong with the quote) → the error dfspa sends dfspb, the failure reason
BAD_QUOTES = [
    (
        {"transferAmount": {"currency": "USD", "amount": "101"}},
        "3100",
        "the quote's transferAmount 101 USD differs from the 100 USD being settled",
    ),
    (
        {"expiration": format_datetime(START)},
        "3302",
        f"quote {{q}} expired at {format_datetime(START)}, before its transfer",
    ),
]


@pytest.mark.parametrize(("change", "code", "reason"), BAD_QUOTES, ids=["amount", "expired"])
def test_a_quote_that_cannot_settle_the_payment_is_refused_and_the_settlement_fails(
    change: dict[str, Any], code: str, reason: str
) -> None:
    flow = settlement()
    [quote] = flow.start().messages
    [answer] = flow.deliver(quote).messages
    q = flow.quote_id
    [refusal] = flow.answer(
        "PUT", f"/quotes/{q}", {**(answer.body or {}), **change}, source="dfspb"
    ).messages
    assert (refusal.method, refusal.path, refusal.destination) == (
        "PUT",
        f"/quotes/{q}/error",
        "dfspb",
    )
    assert error_code(refusal) == code
    flow.deliver(refusal)
    assert not flow.roles.role("dfspb").payee.issued(q)  # dfspb forgot the quote
    assert_failed(flow, reason.format(q=q))


# --- expiry ------------------------------------------------------------------------------


def test_a_quote_that_never_comes_fails_the_settlement_at_its_deadline() -> None:
    flow = settlement()
    [timer] = flow.start().timers
    flow.roles.clock.advance(60)
    assert flow.roles.clock.now() == timer.at
    assert flow.dfspa.on_timer(timer.key).cancel == [timer.key]
    q, deadline = flow.quote_id, format_datetime(timer.at)
    assert_failed(flow, f"no PUT /quotes/{q} from dfspb by {deadline}")


def test_a_transfer_sent_is_awaited_until_its_expiry_and_a_late_commit_settles_it() -> None:
    # dfspb credits Bob on time, but its answer is slow: giving Alice's debit back before
    # the expiry would leave Bob's credit standing, and create money.
    flow = settlement()
    transfer = until_transfer(flow)
    [committed] = flow.deliver(transfer).messages
    flow.roles.clock.advance(59)  # just before the quote's (and the transfer's) expiration

    flow.deliver(committed)

    assert flow.state() is PaymentState.SETTLED
    assert flow.heard == [SettlementResult(INTENT, SettlementOutcome.SETTLED)]
    assert flow.roles.balance(ALICE) == "900"
    assert flow.roles.balance(BOB) == "100"


def test_a_timer_before_the_transfers_expiry_ends_nothing_and_the_wait_goes_on() -> None:
    # The quote's timer, fired as the quote arrived, or any timer run early (the wall clock
    # stepped back after it was set) finds the transfer not expired yet: the wait goes on
    # to the expiration, where the ledger says how it ended; dropped, nothing would.
    flow = settlement()
    transfer = until_transfer(flow)
    expiry = parse_datetime((transfer.body or {})["expiration"])
    assert expiry is not None
    flow.roles.clock.advance(59)

    key = f"settlement:{INTENT}"
    assert flow.dfspa.on_timer(key) == Effects(timers=[Timer(key, expiry)])
    assert flow.dfspa.settler.owns_transfer(flow.transfer_id) and flow.heard == []
    flow.roles.clock.advance(1)
    flow.dfspa.on_timer(key)
    assert [r.outcome for r in flow.heard] == [SettlementOutcome.FAILED]
    assert flow.roles.balance(ALICE) == "1000"


@pytest.mark.parametrize("credited", [True, False])
def test_at_the_transfers_expiry_the_ledger_says_how_it_ended(credited: bool) -> None:
    # dfspb's answer was lost (it credited Bob), or dfspa's request was (nothing credited,
    # and dfspb refuses the transfer from now on): dfspb is simulated and shares the
    # ledger, so at the expiration it says how the transfer ended, as after a restart.
    flow = settlement()
    transfer = until_transfer(flow)
    if credited:
        flow.deliver(transfer)
    flow.roles.clock.advance(60)

    flow.dfspa.on_timer(f"settlement:{INTENT}")

    if credited:
        assert flow.heard == [SettlementResult(INTENT, SettlementOutcome.SETTLED)]
        assert (flow.roles.balance(ALICE), flow.roles.balance(BOB)) == ("900", "100")
        return
    t_id, expiry = flow.transfer_id, format_datetime(START + timedelta(seconds=60))
    assert_failed(flow, f"no PUT /transfers/{t_id} from dfspb by {expiry}")
    flow.run(transfer)  # dfspb refuses it now (the quote expired), and credits nothing
    assert error_code(flow.last("PUT", f"/transfers/{t_id}/error")) == "3302"
    assert (flow.roles.balance(ALICE), flow.roles.balance(BOB)) == ("1000", "0")


def test_a_timer_after_the_outcome_changes_nothing() -> None:
    flow = settlement()
    [quote] = flow.start().messages
    flow.run(quote)
    assert flow.dfspa.on_timer(f"settlement:{INTENT}") == Effects()
    assert flow.state() is PaymentState.SETTLED
    assert len(flow.heard) == 1


# --- refused at once ---------------------------------------------------------------------


def test_only_an_executing_intent_not_being_settled_is_accepted() -> None:
    flow = settlement()
    settler = flow.dfspa.settler
    request = SettlementRequest("p-2", "dfspa", ALICE, "dfspb", BOB_MSISDN, Decimal(5), "USD")
    with pytest.raises(UnknownPayment):
        settler.start(request)

    flow.start()
    with pytest.raises(StateRefused) as raised:
        settler.start(
            SettlementRequest(INTENT, "dfspa", ALICE, "dfspb", BOB_MSISDN, Decimal(100), "USD")
        )
    assert str(raised.value) == (
        f"settlement of payment {INTENT} is QUOTING; a 'submit' message is not expected now"
    )

    flow.run(flow.last("POST", "/quotes"))
    with pytest.raises(StateRefused) as raised:
        settler.start(
            SettlementRequest(INTENT, "dfspa", ALICE, "dfspb", BOB_MSISDN, Decimal(100), "USD")
        )
    assert str(raised.value) == f"payment {INTENT} is already SETTLED"


@pytest.mark.parametrize(
    ("source", "suffix", "code"),
    [("pispa", "", "3205"), ("central-auth", "/error", "3205")],
)
def test_a_quote_answer_from_another_participant_is_refused(
    source: str, suffix: str, code: str
) -> None:
    flow = settlement()
    [quote] = flow.start().messages
    [answer] = flow.deliver(quote).messages
    body = answer.body if not suffix else error_body()
    with pytest.raises(FspiopError) as raised:
        flow.roles.role("dfspa").handle(
            flow.roles.message(
                "PUT", f"/quotes/{flow.quote_id}{suffix}", body, source=source, destination="dfspa"
            )
        )
    assert raised.value.code == code
    assert flow.dfspa.settler.owns_quote(flow.quote_id)  # still waiting for dfspb
    assert flow.state() is PaymentState.EXECUTING


def test_a_settler_only_settles_its_own_banks_payments() -> None:
    flow = settlement()
    flow.start()
    other = SettlementRequest(INTENT, "dfspb", ALICE, "dfspa", BOB_MSISDN, Decimal(100), "USD")
    with pytest.raises(TypeError, match="dfspa cannot settle a payment of dfspb"):
        flow.dfspa.settler.start(other)  # serve.settlement picks the settler by from_bank


# --- restarts and intents ended elsewhere ------------------------------------------------


def test_after_a_restart_a_settlement_under_way_fails_and_gives_the_funds_back() -> None:
    flow = settlement()
    until_transfer(flow)  # the transfer was sent, never delivered: it died with the process

    effects = flow.dfspa.settler.recover()

    assert effects.cancel == [f"settlement:{INTENT}"]
    assert_failed(flow, "tpsim restarted while the settlement was under way")


def test_after_a_restart_a_transfer_the_creditors_bank_credited_is_settled() -> None:
    flow = settlement()
    flow.deliver(until_transfer(flow))  # dfspb credited Bob; its answer died with the process

    flow.dfspa.settler.recover()

    assert flow.state() is PaymentState.SETTLED
    assert flow.heard == [SettlementResult(INTENT, SettlementOutcome.SETTLED)]
    assert (flow.roles.balance(ALICE), flow.roles.balance(BOB)) == ("900", "100")


def test_an_intent_ended_meanwhile_is_reported_as_it_ended() -> None:
    # The dialect failed the payment while its settlement was under way; the creditor's
    # answer comes later: the listener hears the truth, nothing raises, records go.
    flow = settlement()
    transfer = until_transfer(flow)
    flow.roles.sim.state.bank.payments.end(INTENT, PaymentEvent.FAIL, at=START)
    [answer] = flow.deliver(transfer).messages

    flow.deliver(answer)

    [heard] = flow.heard
    assert heard.outcome is SettlementOutcome.FAILED
    assert "could not take the outcome" in heard.reason
    assert not flow.dfspa.settler.owns_transfer(flow.transfer_id)
