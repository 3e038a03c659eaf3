"""Third Party transfers under fault rules, model-based (hypothesis, derandomized).

Each example loads the default scheme afresh, in-process (``tests.support.faulty_scheme``),
with a message rule (README "Rules and faults") on about a third of the hops (``HOPS``:
the PISP's request, the quote and its answer, the PISP's authorization, the verification
and its answer, the transfer and its answer, the status request), each doing one thing
(``faults``: an error callback with a spec code, a ``sync`` error, a delay within or past
the quote's life, a drop, a duplicate, a reversed order, an override of the quote), under
the ``spec`` or ``reference`` profile. The PISP requests transfers from Alice's linked
accounts (FIDO, GENERIC), signs, mis-signs, rejects or abandons (``PUT …/error``) their
authorizations, repeats requests, asks their status; the simulated clock moves past the
quote's expiry, the authorization timeout, the retention, or runs every timer out.

After every step (router drained): money conserved per currency (a payee's credit whose
debit is still held counted in flight), no hold kept by an ended intent, nothing debited
twice (``tests.support.ledger_invariants``); at most one distinct final outcome (``PATCH``
or ``PUT …/error``) per transactionRequestId, exactly one without a duplicating rule or a
repeat (transfer patterns §5); COMPLETED ⇔ debited once and credited once, else nothing
moved, late outcomes too; no 5xx, every error callback an ``errorInformation`` with a spec
code; with only duplicating or reordering rules a transfer signed in time completes (FSPIOP
v1.1 §3.2.5.1). A status answer agrees with what the PISP was told (transfer patterns §4);
once every timer ran, each accepted request had exactly one outcome (or its one was
dropped by a rule) and no hold is open (also checked at teardown).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import Phase as Stage
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.support.faulty_scheme import FaultyScheme, error_problem
from tests.support.flows import AUTHZ, TX, Credential, signed_payload
from tests.support.ledger_invariants import commits, ledger_problems, quiet_problems, totals
from tests.support.pisp import future_expiration
from tests.support.scheme import transaction_request
from tpsim.auth.broken import Broken
from tpsim.core.ledger import PostingKind
from tpsim.journal import Hop
from tpsim.mojaloop.message import Message

T = TypeVar("T")
VERIFY = "/thirdpartyRequests/verifications"
# Each hop: the message a rule matches, at the participant tpsim plays that receives it.
HOPS: dict[str, dict[str, str]] = {
    "transaction": {"method": "POST", "path": TX, "receiver": "dfspa"},
    "quote": {"method": "POST", "path": "/quotes", "receiver": "dfspb"},
    "quoted": {"method": "PUT", "path": "/quotes/{ID}", "receiver": "dfspa"},
    "authorization": {"method": "PUT", "path": f"{AUTHZ}/{{ID}}", "receiver": "dfspa"},
    "verification": {"method": "POST", "path": VERIFY, "receiver": "central-auth"},
    "verified": {"method": "PUT", "path": f"{VERIFY}/{{ID}}", "receiver": "dfspa"},
    "transfer": {"method": "POST", "path": "/transfers", "receiver": "dfspb"},
    "transferred": {"method": "PUT", "path": "/transfers/{ID}", "receiver": "dfspa"},
    "status": {"method": "GET", "path": f"{TX}/{{ID}}", "receiver": "dfspa"},
}
FROM_PISP = {"transaction", "authorization", "status"}
DELAYS = ({"delay_s": 5}, {"delay_s": 75})  # within the quote's life, and past it
ERRORS = ("3100", "5100", "6003", "2003")  # one per hop, by its place in HOPS
SYNC_ERROR = {"error": {"code": "3100", "sync": True}}
QUOTE_OVERRIDES = (
    {"override": {"body.expiration": "2030-01-01T00:00:30.000Z"}},  # START + 30 s
    {"override": {"body.transferAmount.amount": "11"}},  # the payee quoted 10
)
BENIGN = ({"duplicate": 1}, {"reorder": True})
ABORT = {"errorInformation": {"errorCode": "6104", "errorDescription": "Alice closed the app"}}
CLEAN = 14  # how many times "no rule" is among each hop's choices
ACCOUNTS: dict[str, Credential] = {"dfspa.alice.chequing": "FIDO", "dfspa.alice.savings": "GENERIC"}
RETENTION = timedelta(seconds=300)  # behaviour.retention_s
RUN_OUT = 3600  # longer than any timer or delay


def kind(then: dict[str, Any]) -> str:
    return next(iter(then))


def faults(hop: str) -> list[dict[str, Any]]:
    """What a rule may do to ``hop`` (no delay on the status request: its answer must come
    within the step that asked, to be told from a final outcome)."""
    found: list[dict[str, Any]] = [{"drop": True}, {"duplicate": 1}]
    found.append({"error": ERRORS[list(HOPS).index(hop) % len(ERRORS)]})
    if hop != "status":
        found += DELAYS
    if hop in FROM_PISP:
        found.append(SYNC_ERROR)
    if hop == "transaction":  # the only hop answered with two messages
        found.append({"reorder": True})
    if hop == "quote":
        found += QUOTE_OVERRIDES
    return found


# Each hop independently: no rule, or one of its faults (about a third of the hops have one).
FAULTS = st.fixed_dictionaries({hop: st.sampled_from([None] * CLEAN + faults(hop)) for hop in HOPS})


@dataclass
class Transfer:
    """One transfer as the PISP sees it: its request, the sync refusal (a code) when the
    edge refused it, how its authorization was answered, how often it was sent again."""

    request_id: str
    body: dict[str, Any]
    credential: Credential
    expiry: datetime
    refused: str | None = None
    answers: list[str] = field(default_factory=list)
    repeats: int = 0


class TransferFaults(RuleBasedStateMachine):
    """The module docstring's machine."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.scheme: FaultyScheme | None = None
        self.faults: dict[str, dict[str, Any]] = {}
        self.transfers: list[Transfer] = []
        self.status_answers: set[int] = set()  # indices in pisp.received answering a GET
        self.opening: dict[str, Decimal] = {}
        self.numbers = itertools.count(1)

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    @property
    def s(self) -> FaultyScheme:
        assert self.scheme is not None
        return self.scheme

    @property
    def now(self) -> datetime:
        return self.s.clock.now()

    def teardown(self) -> None:
        """The steps passed (no exception on its way): run the clock out and check, as
        ``advance`` does; then close the scheme."""
        try:
            if self.scheme is not None and sys.exc_info()[1] is None and self.transfers:
                self.advance(RUN_OUT)
        finally:
            self._close()

    def _close(self) -> None:
        try:
            if self.scheme is not None:
                self._run(self.scheme.close())
        finally:
            self.loop.close()

    # -- the scheme -------------------------------------------------------------------

    @initialize(chosen=FAULTS, profile=st.sampled_from(["spec", "spec", "reference"]))
    def load(self, chosen: dict[str, dict[str, Any] | None], profile: str) -> None:
        """A fresh scheme with a rule for each hop a fault was chosen for."""
        self.faults = {hop: then for hop, then in chosen.items() if then is not None}
        rules = [
            {"name": f"{hop}-{kind(then)}", "when": HOPS[hop], "then": then}
            for hop, then in self.faults.items()
        ]
        self.scheme = self._run(self._start(rules, profile))
        self.opening = totals(self.s.sim.state.bank)

    @staticmethod
    async def _start(rules: list[dict[str, Any]], profile: str) -> FaultyScheme:
        return FaultyScheme.start(rules, profile=profile)

    def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """Send, settle, and check the synchronous answer: never a 5xx, a 4xx coded."""
        answer = self._run(self.s.send(method, path, body))
        assert answer.status < 500, answer
        if answer.status >= 400:
            assert error_problem(answer.body) is None, answer
        return answer.status, answer.body

    def sync_refused(self, hop: str) -> bool:
        return self.faults.get(hop) == SYNC_ERROR

    # -- the PISP ---------------------------------------------------------------------

    @rule(
        payer=st.sampled_from(sorted(ACCOUNTS)),
        amount=st.sampled_from(["10", "10", "25", "25", "5000"]),
        life=st.sampled_from([300, 300, 40, 900]),
        then=st.sampled_from(["sign", "sign", "wait", "reject", "mis-sign", "abort"]),
    )
    def request(self, payer: str, amount: str, life: int, then: str) -> None:
        """``POST /thirdpartyRequests/transactions`` from Alice's account to Bob, expiring
        ``life`` seconds from now (5000 is more than either account holds); then, once
        its authorization request came, Alice answers it at once (or not yet: ``wait``)."""
        number = next(self.numbers)
        request_id = f"7a1e0000-0000-4000-8000-{number:012x}"
        body = transaction_request(
            request_id, payer=payer, amount=amount, expiration=future_expiration(life, now=self.now)
        )
        transfer = Transfer(request_id, body, ACCOUNTS[payer], self.now + timedelta(seconds=life))
        self.transfers.append(transfer)
        status, answer = self.send("POST", TX, body)
        if self.sync_refused("transaction"):
            assert status == 400, answer
            transfer.refused = answer["errorInformation"]["errorCode"]
        else:
            assert status == 202, answer
        if then != "wait" and self.authorization(transfer):
            self._answer(transfer, then)

    @precondition(lambda self: any(self.authorization(t) for t in self.transfers))
    @rule(data=st.data(), how=st.sampled_from(["sign", "sign", "reject", "mis-sign", "abort"]))
    def answer(self, data: st.DataObject, how: str) -> None:
        """``PUT /thirdpartyRequests/authorizations/{ID}``: Alice signs the challenge, signs
        another one, or rejects (possibly again, for one answered before); or the PISP
        gives up (``PUT …/{ID}/error``), also after it answered."""
        asked = [t for t in self.transfers if self.authorization(t)]
        waiting = [t for t in asked if not t.answers and not self.outcomes(t)]
        transfer = data.draw(st.sampled_from(waiting or asked), label="transfer")
        self._answer(transfer, how)

    def _answer(self, transfer: Transfer, how: str) -> None:
        auth = self.authorization(transfer) or {}
        if how == "abort":
            transfer.answers.append(how)
            path = f"{AUTHZ}/{auth['authorizationRequestId']}/error"
            status, answer = self.send("PUT", path, ABORT)
            assert status == 200, answer
            return
        body: dict[str, Any] = {"responseType": "REJECTED"}
        if how != "reject":
            broken = Broken.WRONG_CHALLENGE if how == "mis-sign" else None
            payload = signed_payload(
                self.s.keys, auth["challenge"], transfer.credential, broken=broken
            )
            body = {"responseType": "ACCEPTED", "signedPayload": payload}
        expect = self._expect_completed(transfer, auth, how)
        transfer.answers.append(how)
        status, answer = self.send("PUT", f"{AUTHZ}/{auth['authorizationRequestId']}", body)
        assert status == (400 if self.sync_refused("authorization") else 200), answer
        if expect:
            told = self.outcomes(transfer)
            assert told == ["COMPLETED"], f"benign faults {self.faults}, yet {told}"

    def _expect_completed(self, transfer: Transfer, auth: dict[str, Any], how: str) -> bool:
        """Whether the transfer must complete now: only benign rules, signed in time, its
        first answer, nothing told yet."""
        benign = all(then in BENIGN or hop == "status" for hop, then in self.faults.items())
        expiration = datetime.fromisoformat(auth["expiration"].replace("Z", "+00:00"))
        in_time = self.now < min(expiration, transfer.expiry)
        first = not transfer.answers and not self.outcomes(transfer)
        return benign and how == "sign" and in_time and first

    @precondition(lambda self: any(self.retained(t) for t in self.transfers))
    @rule(data=st.data())
    def repeat(self, data: st.DataObject) -> None:
        """The same request again (FSPIOP duplicate) while the payer DFSP remembers it:
        its outcome again, or nothing yet."""
        retained = [t for t in self.transfers if self.retained(t)]
        transfer = data.draw(st.sampled_from(retained), label="transfer")
        transfer.repeats += 1
        status, answer = self.send("POST", TX, transfer.body)
        assert status == (400 if self.sync_refused("transaction") else 202), answer

    @precondition(lambda self: self.transfers)
    @rule(data=st.data())
    def status(self, data: st.DataObject) -> None:
        """``GET /thirdpartyRequests/transactions/{ID}``: what it says agrees with what the
        PISP was told (transfer patterns §4)."""
        transfer = data.draw(st.sampled_from(self.transfers), label="transfer")
        start = len(self.s.pisp.received)
        status, answer = self.send("GET", f"{TX}/{transfer.request_id}")
        got = self.s.pisp.received[start:]
        self.status_answers.update(range(start, start + len(got)))
        fault = kind(self.faults.get("status", {"none": 0}))
        if self.sync_refused("status"):
            assert (status, got) == (400, []), (answer, got)
            return
        assert status == 202, answer
        if fault == "drop":
            assert got == [], got
            return
        assert len(got) == 1 + self.faults.get("status", {}).get("duplicate", 0), got
        said = got[0]
        if fault == "error":
            assert said.path.endswith("/error") and error_problem(said.body) is None, said
            return
        told = self.outcomes(transfer)
        if said.path.endswith("/error"):
            # 3206: the request is unknown (never accepted, or forgotten after the retention)
            assert (said.body or {})["errorInformation"]["errorCode"] == "3206", said
            forgotten = not self.retained(transfer)
            assert self.transaction_id(transfer) is None or forgotten, (said, told)
            return
        state = (said.body or {})["transactionRequestState"]
        if told:
            assert state == ("ACCEPTED" if told[0] == "COMPLETED" else "REJECTED"), (said, told)
        elif state == "REJECTED":  # its final callback is still on its way, or was dropped
            assert self.final_lost(transfer), (said, told)

    # -- the clock --------------------------------------------------------------------

    @precondition(lambda self: self.transfers)
    @rule(seconds=st.sampled_from([5, 45, 61, 101, 350, RUN_OUT]))
    def advance(self, seconds: int) -> None:
        """Time passes: past a delay, the quote's expiry (60 s), the authorization timeout
        (100 s), the retention (300 s); or far enough for every timer and every delayed
        message (``RUN_OUT``): then each accepted request has had exactly one final
        outcome, or its one was dropped, and no hold is left open."""
        self._run(self.s.advance(seconds))
        if seconds == RUN_OUT:
            self.ran_out()

    def ran_out(self) -> None:
        for transfer in self.transfers:
            told = self.outcomes(transfer)
            if transfer.refused is not None:
                assert told == [], (transfer, told)
            else:
                assert len(set(told)) == 1 or (not told and self.final_lost(transfer)), (
                    f"{transfer.request_id}: told {told} after every timer ran, faults"
                    f" {self.faults}, answers {transfer.answers}"
                )
        assert quiet_problems(self.s.sim.state.bank) == []

    # -- what the PISP was told, and the ledger ---------------------------------------

    def authorization(self, transfer: Transfer) -> dict[str, Any] | None:
        for message in self.s.pisp.received:
            body = message.body or {}
            if message.path == AUTHZ and body.get("transactionRequestId") == transfer.request_id:
                return body
        return None

    def finals(self, transfer: Transfer) -> list[Message]:
        """The final callbacks the PISP got (a status request's answers are not)."""
        final = {
            ("PATCH", f"{TX}/{transfer.request_id}"),
            ("PUT", f"{TX}/{transfer.request_id}/error"),
        }
        return [
            m
            for i, m in enumerate(self.s.pisp.received)
            if (m.method, m.path) in final and i not in self.status_answers
        ]

    def outcomes(self, transfer: Transfer) -> list[str]:
        """Each final outcome: COMPLETED, REJECTED or the error code."""
        found = []
        for message in self.finals(transfer):
            body = message.body or {}
            if message.method == "PATCH":
                found.append(str(body.get("transactionState")))
            else:
                found.append(str(body.get("errorInformation", {}).get("errorCode")))
        return found

    def ended_at(self, transfer: Transfer) -> datetime | None:
        """When the payer DFSP decided the outcome: its final callback left (was sent or
        dropped, by the journal) or was held by a delay."""
        rid = transfer.request_id
        finals = {("PATCH", f"{TX}/{rid}"), ("PUT", f"{TX}/{rid}/error")}
        moments = [
            e.moment
            for e in self.s.sim.journal.entries()
            if (e.method, e.path) in finals
            and e.source == "dfspa"
            and e.hop in (Hop.SENT, Hop.DROPPED)
        ]
        moments += [m for m in (self.s.held_since(*final) for final in finals) if m is not None]
        return min(moments, default=None)

    def retained(self, transfer: Transfer) -> bool:
        """Whether the payer DFSP still remembers the request (``behaviour.retention_s``
        after its end: architecture.md "records.py")."""
        ended = self.ended_at(transfer)
        return ended is None or self.now < ended + RETENTION

    def final_lost(self, transfer: Transfer) -> bool:
        """Whether a final callback for ``transfer`` was dropped by a rule, or is held."""
        rid = transfer.request_id
        paths = {("PATCH", f"{TX}/{rid}"), ("PUT", f"{TX}/{rid}/error")}
        dropped = any(
            e.hop is Hop.DROPPED and (e.method, e.path) in paths
            for e in self.s.sim.journal.entries()
        )
        return dropped or any(self.s.in_flight(path) for _, path in paths)

    def transaction_id(self, transfer: Transfer) -> str | None:
        """The payer DFSP's transactionId (from its quote request), None without one."""
        for entry in self.s.sim.journal.entries():
            body = entry.body or {}
            if entry.path == "/quotes" and body.get("transactionRequestId") == transfer.request_id:
                return str(body["transactionId"])
        return None

    @invariant()
    def consistent(self) -> None:
        """The module docstring's checks."""
        if self.scheme is None:
            return
        self._run(self.s.settle())
        bank = self.s.sim.state.bank
        held = {r.ref for r in bank.ledger.reservations()}
        in_flight: dict[str, Decimal] = defaultdict(Decimal)
        credits: Counter[str] = Counter()
        for posting in bank.ledger.postings():
            if posting.kind is PostingKind.CREDIT:
                credits[posting.ref] += 1
                if posting.ref in held:
                    currency = bank.accounts[posting.account].currency
                    in_flight[currency] += posting.amount
        left = {currency: -amount for currency, amount in in_flight.items()}
        broken = ledger_problems(bank, self.opening, left)
        assert broken == [], broken
        problems = [
            f"#{e.seq} {e.method} {e.path}: {error_problem(e.body)}"
            for e in self.s.sim.journal.entries()
            if e.path.endswith("/error") and e.body is not None and error_problem(e.body)
        ]
        problems += [
            f"#{e.seq} {e.path}: status {e.status}"
            for e in self.s.sim.journal.entries()
            if (e.status or 0) >= 500
        ]
        assert problems == []
        spent = commits(bank)
        for transfer in self.transfers:
            told = self.outcomes(transfer)
            assert len(set(told)) <= 1, f"{transfer.request_id}: told {told}"
            duplicating = any("duplicate" in then for then in self.faults.values())
            if not duplicating and not transfer.repeats:
                assert len(told) <= 1, f"{transfer.request_id}: told {told}"
            tid = self.transaction_id(transfer)
            if tid is None:
                continue
            moved = (spent[tid], credits[tid])
            if not told:  # in flight: credited, its debit held; or its PATCH not heard
                assert moved in ((0, 0), (0, 1), (1, 1)), (transfer.request_id, moved)
            elif told[0] == "COMPLETED":
                assert moved == (1, 1), f"{transfer.request_id}: told {told}, moved {moved}"
            else:
                assert moved == (0, 0), f"{transfer.request_id}: told {told}, moved {moved}"


SETTINGS = settings(
    max_examples=100,
    stateful_step_count=12,
    deadline=None,
    derandomize=True,  # the same examples on every run
    database=None,
    phases=[Stage.explicit, Stage.reuse, Stage.generate, Stage.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.timeout(300)
def test_transfers_under_fault_rules_keep_money_and_outcomes_consistent() -> None:
    run_state_machine_as_test(TransferFaults, settings=SETTINGS)


# -- what the machine found (each failed before the fix; transactions, payee) -------------


def replay(
    faults: dict[str, dict[str, Any]], *steps: Callable[[TransferFaults], None]
) -> TransferFaults:
    """A machine with ``faults`` through ``steps``, its invariants checked after each, then
    the clock run out (``advance(RUN_OUT)``); returned closed, to read what it kept."""
    machine = TransferFaults()
    try:
        machine.load(dict(faults), "spec")
        for step in steps:
            step(machine)
            machine.consistent()
        machine.advance(RUN_OUT)
        machine.consistent()
    finally:
        machine._close()
    return machine


def signed(machine: TransferFaults) -> None:
    machine.request("dfspa.alice.chequing", "10", 300, "sign")


def test_a_lost_transfer_answer_is_found_out_at_the_transfers_expiration() -> None:
    """dfspb credits Bob and its ``PUT /transfers/{ID}`` COMMITTED is lost (a rule drops
    it). dfspa waits for it for ever (no timer once the transfer is sent): Alice's 10 USD
    stay held, Bob has them too, and the PISP never hears an outcome, which transfer
    patterns §5 requires ("the DFSP must send either … PUT …/error or PATCH …"); past the
    request's expiration the PISP assumes it failed (§5.5) while Bob was paid. The payee
    refuses the transfer after its expiration (the quote's), so then the shared ledger
    says for certain whether it was credited: COMPLETED here."""
    machine = replay({"transfer": {"drop": True}}, signed)
    assert machine.outcomes(machine.transfers[0]) == ["COMPLETED"]


def test_a_lost_transfer_request_fails_at_the_transfers_expiration() -> None:
    """dfspa's ``POST /transfers`` never reaches dfspb (a rule drops dfspa's answer to the
    auth-service's ``PUT /thirdpartyRequests/verifications/{ID}``). Alice's 10 USD stay held
    for ever and the PISP never hears; at the transfer's expiration nothing was credited,
    so the transaction fails (6003) and the hold goes back."""
    machine = replay({"verified": {"drop": True}}, signed)
    assert machine.outcomes(machine.transfers[0]) == ["6003"]


def test_a_resent_quote_callback_does_not_fail_the_signed_transfer() -> None:
    """dfspb's ``PUT /quotes/{ID}`` arrives twice (a rule duplicates it: FSPIOP v1.1
    §3.2.5.1 resends). dfspa refuses the second (AUTHORIZING: 'quoted' not expected) with
    ``PUT /quotes/{ID}/error`` to dfspb, which forgets the quote; Alice signs, and dfspb
    refuses the ``POST /transfers`` ("issued no quote with this condition"): the PISP gets
    6003 for a transfer nothing was wrong with."""
    machine = replay({"quote": {"duplicate": 1}}, signed)
    assert machine.outcomes(machine.transfers[0]) == ["COMPLETED"]


def test_a_late_verification_error_does_not_give_back_a_credited_debit() -> None:
    """The PISP's signed ``PUT /thirdpartyRequests/authorizations/{ID}`` makes dfspa send
    ``POST /thirdpartyRequests/verifications`` twice (a rule duplicates it). The first is
    VERIFIED: dfspa reserves Alice's 10 USD and sends ``POST /transfers``; dfspb credits
    Bob, its ``PUT /transfers`` 5 s late (a rule). The second verification is a replay
    (same assertion, counter not grown): ``PUT …/verifications/{ID}/error`` 6201, and dfspa
    fails the transaction although its transfer is sent: Alice's hold is released, the PISP
    told 6201, Bob keeps 10 USD: 10 USD created. The transfer's own answer then completes
    it."""
    faults = {"authorization": {"duplicate": 1}, "transfer": {"delay_s": 5}}
    machine = replay(faults, signed)
    assert machine.outcomes(machine.transfers[0]) == ["COMPLETED"]


def test_the_pisps_late_error_callback_does_not_give_back_a_credited_debit() -> None:
    """Alice signs; dfspb credits Bob, its ``PUT /transfers`` 5 s late (a rule). Meanwhile
    the PISP sends ``PUT /thirdpartyRequests/authorizations/{ID}/error`` (either direction
    may, digest §2.3 #17): dfspa fails the transaction and releases Alice's hold while Bob
    keeps 10 USD. An error about the authorization cannot undo a transfer already sent."""
    machine = replay(
        {"transfer": {"delay_s": 5}}, signed, lambda m: m._answer(m.transfers[0], "abort")
    )
    assert machine.outcomes(machine.transfers[0]) == ["COMPLETED"]
