"""The payer DFSP's Third Party transaction, socket-free: messages in, messages and postings out.

The tests play the PISP (pispa), the payee DFSP's answers (by handing the payer's messages
to the simulated dfspb) and the auth-service's verdict, on the built-in default scheme with
a manual clock. Each row of a table is one way a transaction ends, with the
``PUT /thirdpartyRequests/transactions/{ID}/error`` code the PISP gets under each profile
and what the ledger posted on Alice's account.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from tests.support.bodies import fido_assertion, quote_response
from tests.support.overrides import with_consent, with_scope_actions, with_second_pisp
from tests.support.pisp import future_expiration
from tests.support.roles import START, Roles
from tests.support.scheme import FIDO_CONSENT, transaction_request
from tpsim.auth.challenge import transaction_challenge
from tpsim.core.errors import StateRefused
from tpsim.core.payment import PaymentState
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.message import Effects, Message

REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"
SECOND_ID = "c7d2e0a1-5b3f-4c9e-8a6d-2f1b0e9c8d7a"
TX = "/thirdpartyRequests/transactions"
AUTHZ = "/thirdpartyRequests/authorizations"
VERIFY = "/thirdpartyRequests/verifications"
ALICE, BOB = "dfspa.alice.chequing", "dfspb.bob.chequing"
PROFILES = ["spec", "reference"]
FIDO_PAYLOAD = {"signedPayloadType": "FIDO", "fidoSignedPayload": fido_assertion()}
GENERIC_PAYLOAD = {"signedPayloadType": "GENERIC", "genericSignedPayload": "c2lnbmVk"}


def expiration(seconds: int) -> str:
    return future_expiration(seconds, now=START)


def error_body(code: str = "6201", text: str = "no") -> dict[str, Any]:
    return {"errorInformation": {"errorCode": code, "errorDescription": text}}


@dataclass
class Flow:
    """One transaction request as the PISP drives it; ``sent`` is every message the
    simulated participants sent, in order."""

    roles: Roles
    request_id: str = REQUEST_ID
    sent: list[Message] = field(default_factory=list)

    def send(self, to: str, method: str, path: str, body: Any = None, *, source: str) -> Effects:
        effects = self.roles.send(to, method, path, body, source=source)
        self.sent.extend(effects.messages)
        return effects

    def deliver(self, message: Message) -> Effects:
        """Hand ``message`` to the simulated participant it is addressed to."""
        assert message.destination is not None
        effects: Effects = self.roles.role(message.destination).handle(message)
        self.sent.extend(effects.messages)
        return effects

    def last(self, method: str, path: str) -> Message:
        return [m for m in self.sent if (m.method, m.path) == (method, path)][-1]

    def request(self, source: str = "pispa", **request: Any) -> Effects:
        request.setdefault("expiration", expiration(60))
        body = transaction_request(self.request_id, **request)
        return self.send("dfspa", "POST", TX, body, source=source)

    def until_authorization(self, **request: Any) -> Effects:
        """POST the request, let dfspb quote it: the payer's authorization request."""
        [received, quote] = self.request(**request).messages
        [answer] = self.deliver(quote).messages
        return self.deliver(answer)

    @property
    def authorization_id(self) -> str:
        body = self.last("POST", AUTHZ).body or {}
        return str(body["authorizationRequestId"])

    def authorize(self, payload: dict[str, Any] = FIDO_PAYLOAD, source: str = "pispa") -> Effects:
        answer = {"responseType": "ACCEPTED", "signedPayload": payload}
        return self.send("dfspa", "PUT", f"{AUTHZ}/{self.authorization_id}", answer, source=source)

    def reject(self) -> Effects:
        answer = {"responseType": "REJECTED"}
        return self.send("dfspa", "PUT", f"{AUTHZ}/{self.authorization_id}", answer, source="pispa")

    @property
    def verification_id(self) -> str:
        return str((self.last("POST", VERIFY).body or {})["verificationRequestId"])

    def verified(self) -> Effects:
        """The auth-service verified the signed payload: the payer's POST /transfers."""
        body = {"authenticationResponse": "VERIFIED"}
        path = f"{VERIFY}/{self.verification_id}"
        return self.send("dfspa", "PUT", path, body, source="central-auth")

    def transfer(self) -> Effects:
        """dfspb takes the payer's transfer and answers it: the payer's PATCH."""
        [answer] = self.deliver(self.last("POST", "/transfers")).messages
        return self.deliver(answer)

    def outcome(self) -> Message:
        """The last message to the PISP about the request."""
        return [m for m in self.sent if m.path.startswith(f"{TX}/{self.request_id}")][-1]

    def get(self, source: str = "pispa") -> str:
        [reply] = self.send("dfspa", "GET", f"{TX}/{self.request_id}", source=source).messages
        return str((reply.body or {})["transactionRequestState"])


def build(profile: str = "spec", **overrides: Any) -> Flow:
    behaviour = {"profile": profile, **overrides.pop("behaviour", {})}
    return Flow(Roles.build(behaviour=behaviour, **overrides))


def posted(flow: Flow, account: str = ALICE) -> list[tuple[str, str]]:
    """The postings on ``account`` after its opening balance: (kind, amount)."""
    postings = flow.roles.sim.state.bank.ledger.postings(account)
    return [(p.kind.value, format(p.amount, "f")) for p in postings if p.kind.value != "OPEN"]


def hop(message: Message) -> tuple[str, str, str | None]:
    return message.method, message.path, message.destination


def error_code(message: Message) -> str:
    assert message.method == "PUT" and message.path.endswith("/error"), message
    return str((message.body or {})["errorInformation"]["errorCode"])


def refused(effects_of: Any) -> FspiopError:
    """The FSPIOP error a handler raised (the router answers it as ``PUT …/error``)."""
    with pytest.raises(FspiopError) as raised:
        effects_of()
    return raised.value


# --- the happy path, message by message -----------------------------------------------


@pytest.mark.parametrize("payload", [FIDO_PAYLOAD, GENERIC_PAYLOAD], ids=["FIDO", "GENERIC"])
def test_a_transfer_completes(payload: dict[str, Any]) -> None:
    flow = build()
    effects = flow.request()
    received, quote = effects.messages
    assert hop(received) == ("PUT", f"{TX}/{REQUEST_ID}", "pispa")
    transaction_id = (received.body or {})["transactionId"]
    assert received.body == {"transactionId": transaction_id, "transactionRequestState": "RECEIVED"}
    assert hop(quote) == ("POST", "/quotes", "dfspb")
    body = quote.body or {}
    assert body["transactionId"] == transaction_id and body["transactionRequestId"] == REQUEST_ID
    assert body["payer"] == {
        "partyIdInfo": {"partyIdType": "ACCOUNT_ID", "partyIdentifier": ALICE, "fspId": "dfspa"}
    }
    sent = transaction_request(REQUEST_ID)
    assert (body["payee"], body["amount"], body["amountType"]) == (
        sent["payee"],
        sent["amount"],
        "SEND",
    )
    assert flow.get() == "RECEIVED"

    [answer] = flow.deliver(quote).messages
    authorization = flow.deliver(answer)
    [request] = authorization.messages
    assert hop(request) == ("POST", AUTHZ, "pispa")
    auth = request.body or {}
    assert auth["challenge"] == transaction_challenge("quote", quote=answer.body)
    assert (auth["transferAmount"], auth["fees"]) == (
        {"currency": "USD", "amount": "100"},
        {"currency": "USD", "amount": "0"},
    )
    assert [t.key for t in authorization.timers] == [f"authorization:{REQUEST_ID}"]
    assert flow.get() == "PENDING"

    effects = flow.authorize(payload)
    [verification] = effects.messages
    assert hop(verification) == ("POST", VERIFY, "central-auth")
    check = verification.body or {}
    assert (check["challenge"], check["consentId"]) == (auth["challenge"], FIDO_CONSENT)
    assert {k: v for k, v in check.items() if k in payload} == payload  # forwarded as sent
    assert effects.cancel == [f"authorization:{REQUEST_ID}"]
    assert flow.get() == "PENDING"

    [transfer] = flow.verified().messages
    assert hop(transfer) == ("POST", "/transfers", "dfspb")
    assert (transfer.body or {})["transferId"] == transaction_id
    assert (transfer.body or {})["condition"] == (answer.body or {})["condition"]
    assert posted(flow) == [("RESERVE", "100")]
    assert flow.roles.balance(ALICE) == "900"  # what users see: reserved funds are gone
    assert flow.get() == "ACCEPTED"

    [patch] = flow.transfer().messages
    assert hop(patch) == ("PATCH", f"{TX}/{REQUEST_ID}", "pispa")
    assert patch.body == {
        "transactionRequestState": "ACCEPTED",
        "transactionState": "COMPLETED",
        "completedTimestamp": "2030-01-01T00:00:00.000Z",
    }
    assert posted(flow) == [("RESERVE", "100"), ("COMMIT", "100")]
    assert posted(flow, BOB) == [("CREDIT", "100")]
    assert (flow.roles.balance(ALICE), flow.roles.balance(BOB)) == ("900", "100")
    assert flow.get() == "ACCEPTED"
    intent = flow.roles.sim.state.bank.payments.get(transaction_id)
    assert (intent.state, intent.finalised) == (PaymentState.SETTLED, True)


# (amountType, fee, commission) → what the PISP is asked to authorize
FEES = [
    ("SEND", "1", "0", {"transferAmount": "100", "payeeReceiveAmount": "99", "fees": "1"}),
    ("RECEIVE", "1", "0", {"transferAmount": "101", "payeeReceiveAmount": "100", "fees": "1"}),
    ("SEND", "0", "2", {"transferAmount": "100", "payeeReceiveAmount": "102", "fees": "0"}),
]


@pytest.mark.parametrize(("amount_type", "fee", "commission", "asked"), FEES)
def test_the_authorization_request_shows_the_quoted_fees(
    amount_type: str, fee: str, commission: str, asked: dict[str, str]
) -> None:
    flow = build(behaviour={"payee_fees": {"fee": fee, "commission": commission}})
    [request] = flow.until_authorization(amount_type=amount_type).messages
    body = request.body or {}
    assert {k: body[k]["amount"] for k in asked} == asked
    flow.authorize()
    flow.verified()
    assert posted(flow) == [("RESERVE", asked["transferAmount"])]


# --- the payer DFSP refuses the request ---------------------------------------------------

BALANCE_ONLY = with_scope_actions(["ACCOUNTS_GET_BALANCE"])

# (case, config overrides, request arguments, sender, spec code, reference code)
REFUSED: list[tuple[str, dict[str, Any], dict[str, Any], str, str, str]] = [
    ("unknown link", {}, {"payer": "dfspa.alice.unlinked"}, "pispa", "6103", "7101"),
    ("consent of another PISP", with_second_pisp(), {}, "pispb", "6103", "7101"),
    ("revoked consent", with_consent(status="REVOKED"), {}, "pispa", "6103", "7213"),
    ("no ACCOUNTS_TRANSFER", BALANCE_ONLY, {}, "pispa", "4300", "7101"),
    ("other currency", {}, {"currency": "EUR"}, "pispa", "4103", "7101"),
    ("insufficient funds", {}, {"amount": "1000.01"}, "pispa", "4001", "7101"),
    ("no payee fspId", {}, {"payee_fsp": None}, "pispa", "3203", "7101"),
    ("expired request", {}, {"expiration": expiration(-1)}, "pispa", "3301", "3301"),
    ("expiring now", {}, {"expiration": expiration(0)}, "pispa", "3301", "3301"),
    ("unparseable expiration", {}, {"expiration": "tomorrow"}, "pispa", "3100", "3100"),
]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("overrides", "request_args", "sender", "spec", "reference"),
    [pytest.param(*row[1:], id=row[0]) for row in REFUSED],
)
def test_a_refused_request(
    profile: str,
    overrides: dict[str, Any],
    request_args: dict[str, Any],
    sender: str,
    spec: str,
    reference: str,
) -> None:
    flow = build(profile, **overrides)
    [error] = flow.request(sender, **request_args).messages
    assert (error.path, error.destination) == (f"{TX}/{REQUEST_ID}/error", sender)
    assert error_code(error) == (spec if profile == "spec" else reference)
    assert posted(flow) == []
    assert flow.get(sender) == "REJECTED"


def test_refusals_say_what_to_fix() -> None:
    flow = build()
    [error] = flow.request(amount="1000.01").messages
    info = (error.body or {})["errorInformation"]
    assert info["errorDescription"] == "amount.amount: account dfspa.alice.chequing holds 1000 USD"


def test_the_payer_must_be_a_third_party_link() -> None:
    flow = build()
    body = transaction_request(REQUEST_ID, expiration=expiration(60))
    body["payer"]["partyIdType"] = "MSISDN"
    [error] = flow.send("dfspa", "POST", TX, body, source="pispa").messages
    assert error_code(error) == "6104"
    assert "payer.partyIdType must be THIRD_PARTY_LINK, not MSISDN" in str(error.body)


# --- the transaction fails after it was received ----------------------------------------


def two_verified(flow: Flow) -> None:
    """Two transfers of 600 authorized before either reserves: the second has no funds."""
    first = Flow(flow.roles, SECOND_ID)
    for each in (first, flow):
        each.until_authorization(amount="600")
        each.authorize()
    first.verified()
    flow.verified()


def advance_to_timeout(flow: Flow, seconds: float) -> None:
    """Move the clock ``seconds`` on and fire the authorization timer the payer asked for."""
    flow.roles.clock.advance(seconds)
    effects = flow.roles.role("dfspa").on_timer(f"authorization:{flow.request_id}")
    flow.sent.extend(effects.messages)


# (case, config overrides, what happens, spec code, reference code, postings on Alice's)
FAILURES: list[tuple[str, dict[str, Any], Any, str, str, list[tuple[str, str]]]] = [
    (
        "fees exceed the funds at the quote",
        {"behaviour": {"payee_fees": {"fee": "1"}}},
        lambda f: f.until_authorization(amount="1000", amount_type="RECEIVE"),
        "4001", "7101", [],
    ),
    (
        "funds spent by another transfer before verification",
        {},
        two_verified,
        "4001", "7101", [("RESERVE", "600")],
    ),
    (
        "the payee's quote error",
        {},
        lambda f: f.deliver(quote_error(f)),
        "6003", "7103", [],
    ),
    (
        "the request expires while authorizing",
        {},
        lambda f: (f.until_authorization(expiration=expiration(10)), advance_to_timeout(f, 10)),
        "3301", "3301", [],
    ),
    (
        "the quote expires while authorizing",
        {"behaviour": {"quote_expiry_s": 5}},
        lambda f: (f.until_authorization(), advance_to_timeout(f, 5)),
        "3302", "3302", [],
    ),
    (
        "no authorization in time",
        {"behaviour": {"authorization_timeout_s": 3}},
        lambda f: (f.until_authorization(), advance_to_timeout(f, 3)),
        "2004", "7107", [],
    ),
    (
        "the PISP's authorization error",
        {},
        lambda f: (f.until_authorization(), authorization_error(f, "pispa")),
        "6000", "7107", [],
    ),
    (
        "the switch cannot reach the PISP",
        {},
        lambda f: (f.until_authorization(), authorization_error(f, "switch")),
        "6000", "7107", [],
    ),
    (
        "the auth-service does not verify",
        {},
        lambda f: (f.until_authorization(), f.authorize(), verification_error(f)),
        "6201", "7300", [],
    ),
    (
        "the payee's transfer error",
        {},
        lambda f: (verified(f), transfer_answer(f, error=True)),
        "6003", "7108", [("RESERVE", "100"), ("RELEASE", "100")],
    ),
    (
        "the payee's transfer is ABORTED",
        {},
        lambda f: (verified(f), transfer_answer(f, state="ABORTED")),
        "6003", "7108", [("RESERVE", "100"), ("RELEASE", "100")],
    ),
    (
        "the switch cannot deliver the PISP's callback",
        {},
        lambda f: (f.until_authorization(), undelivered(f)),
        "6000", "7102", [],
    ),
]  # fmt: skip


def quote_error(flow: Flow) -> Message:
    """dfspb refuses the quote (its PUT /quotes/{ID}/error)."""
    [_, quote] = flow.request().messages
    quote_id = (quote.body or {})["quoteId"]
    return flow.roles.message(
        "PUT", f"/quotes/{quote_id}/error", error_body("5101"), source="dfspb", destination="dfspa"
    )


def authorization_error(flow: Flow, source: str) -> None:
    path = f"{AUTHZ}/{flow.authorization_id}/error"
    flow.send("dfspa", "PUT", path, error_body("1001"), source=source)


def verification_error(flow: Flow) -> None:
    path = f"{VERIFY}/{flow.verification_id}/error"
    flow.send("dfspa", "PUT", path, error_body("6201"), source="central-auth")


def verified(flow: Flow) -> None:
    flow.until_authorization()
    flow.authorize()
    flow.verified()


def transfer_answer(flow: Flow, *, error: bool = False, state: str = "") -> None:
    transfer_id = (flow.last("POST", "/transfers").body or {})["transferId"]
    if error:
        flow.send(
            "dfspa", "PUT", f"/transfers/{transfer_id}/error", error_body("5000"), source="dfspb"
        )
    else:
        flow.send(
            "dfspa", "PUT", f"/transfers/{transfer_id}", {"transferState": state}, source="dfspb"
        )


def undelivered(flow: Flow) -> None:
    path = f"{TX}/{flow.request_id}/error"
    flow.send("dfspa", "PUT", path, error_body("1001"), source="switch")


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("overrides", "happen", "spec", "reference", "postings"),
    [pytest.param(*row[1:], id=row[0]) for row in FAILURES],
)
def test_a_failed_transaction(
    profile: str,
    overrides: dict[str, Any],
    happen: Any,
    spec: str,
    reference: str,
    postings: list[tuple[str, str]],
) -> None:
    flow = build(profile, **overrides)
    happen(flow)
    error = flow.outcome()
    assert (error.path, error.destination) == (f"{TX}/{flow.request_id}/error", "pispa")
    assert error_code(error) == (spec if profile == "spec" else reference)
    assert posted(flow) == postings
    assert flow.roles.balance(BOB) == "0"
    assert flow.get() == "REJECTED"


@pytest.mark.parametrize(
    ("late", "refused"),
    [
        pytest.param(undelivered, False, id="the switch cannot deliver a PISP callback"),
        pytest.param(verification_error, True, id="the auth-service's error, repeated"),
        pytest.param(lambda f: authorization_error(f, "pispa"), True, id="the PISP's error, late"),
    ],
)
def test_once_the_transfer_is_sent_only_its_outcome_ends_the_transaction(
    late: Callable[[Flow], object], refused: bool
) -> None:
    # The payee DFSP may have credited the transfer already: an error about anything else
    # arriving now (late, or repeated by a rule) giving the debit back would create money.
    # An error callback is refused (never answered: the switch journals the refusal); the
    # switch's report that the PISP was not reached is taken quietly.
    flow = build("spec")
    verified(flow)

    if refused:
        with pytest.raises(StateRefused, match="TRANSFERRING; a 'failed' message"):
            late(flow)
    else:
        late(flow)

    assert posted(flow) == [("RESERVE", "100")]
    assert flow.get() == "ACCEPTED"
    transfer_answer(flow, state="COMMITTED")
    assert flow.outcome().method == "PATCH"
    assert posted(flow) == [("RESERVE", "100"), ("COMMIT", "100")]


# --- the user rejects -------------------------------------------------------------------


def test_a_rejection_is_a_patch_under_the_spec() -> None:
    flow = build("spec")
    flow.until_authorization()
    effects = flow.reject()
    [patch] = effects.messages
    assert hop(patch) == ("PATCH", f"{TX}/{REQUEST_ID}", "pispa")
    assert patch.body == {"transactionRequestState": "REJECTED", "transactionState": "REJECTED"}
    assert f"authorization:{REQUEST_ID}" in effects.cancel
    assert (posted(flow), flow.get()) == ([], "REJECTED")


def test_a_rejection_is_an_error_under_the_reference_profile() -> None:
    flow = build("reference")
    flow.until_authorization()
    effects = flow.reject()
    [error] = effects.messages
    assert (error.path, error_code(error)) == (f"{TX}/{REQUEST_ID}/error", "7300")
    assert f"authorization:{REQUEST_ID}" in effects.cancel
    assert (posted(flow), flow.get()) == ([], "REJECTED")


# --- duplicates (FSPIOP §3.2.5) ----------------------------------------------------------


def test_a_duplicate_in_flight_is_ignored() -> None:
    flow = build()
    flow.until_authorization()
    assert flow.request().messages == []
    assert len([m for m in flow.sent if m.method == "POST" and m.path == AUTHZ]) == 1


@pytest.mark.parametrize("ending", ["completed", "refused"])
def test_a_duplicate_of_an_ended_request_gets_the_final_callback_again(ending: str) -> None:
    flow = build()
    if ending == "completed":
        verified(flow)
        flow.transfer()
    else:
        flow.request(currency="EUR")
    final = flow.outcome()
    again = flow.request(currency="EUR") if ending == "refused" else flow.request()
    assert again.messages == [final]
    assert posted(flow) == (
        [("RESERVE", "100"), ("COMMIT", "100")] if ending == "completed" else []
    )


@pytest.mark.parametrize(
    ("change", "sender"),
    [({"amount": "101"}, "pispa"), ({}, "pispb")],
    ids=["another body", "another PISP"],
)
def test_a_modified_duplicate_is_refused(change: dict[str, Any], sender: str) -> None:
    flow = build(**with_second_pisp())
    flow.request()
    error = refused(lambda: flow.request(sender, **change))
    assert error.code == "3106"
    assert f"transaction request {REQUEST_ID} was already received with a different body" in str(
        error
    )


# --- what the payer DFSP does not accept ------------------------------------------------


def test_another_pisp_cannot_see_the_request() -> None:
    flow = build()
    flow.request()
    error = refused(lambda: flow.get("pispb"))
    assert (error.code, str(error)) == (
        "3206",
        f"dfspa has no transaction request {REQUEST_ID} from pispb",
    )


def test_another_pisp_cannot_authorize_it() -> None:
    flow = build()
    flow.until_authorization()
    assert refused(lambda: flow.authorize(source="pispb")).code == "3206"
    assert flow.get() == "PENDING"


def test_only_the_switch_reports_an_undelivered_callback() -> None:
    flow = build()
    flow.request()
    path = f"{TX}/{REQUEST_ID}/error"
    assert (
        refused(lambda: flow.send("dfspa", "PUT", path, error_body(), source="pispa")).code
        == "3206"
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/quotes/{REQUEST_ID}", None),
        (f"{AUTHZ}/{REQUEST_ID}", {"responseType": "REJECTED"}),
        (f"{VERIFY}/{REQUEST_ID}", {"authenticationResponse": "VERIFIED"}),
        (f"/transfers/{REQUEST_ID}", {"transferState": "COMMITTED"}),
    ],
    ids=["quote", "authorization", "verification", "transfer"],
)
def test_answers_to_requests_never_sent_are_refused(path: str, body: Any) -> None:
    flow = build()
    if body is None:
        body = quote_response()
    error = refused(lambda: flow.send("dfspa", "PUT", path, body, source="pispa"))
    assert error.code == "3206"


def test_a_second_quote_is_not_expected() -> None:
    flow = build()
    [_, quote] = flow.request().messages
    [answer] = flow.deliver(quote).messages
    flow.deliver(answer)
    # The same callback again (a resend, FSPIOP v1.1 §3.2.5): taken quietly; refused, the
    # payee would drop its quote, and the transfer the PISP then signs would fail.
    assert flow.deliver(answer).messages == []
    other = replace(answer, body={**(answer.body or {}), "expiration": "2031-01-01T00:00:00.000Z"})
    with pytest.raises(
        StateRefused, match="is AUTHORIZING; a 'quoted' message is not expected now"
    ):
        flow.deliver(other)


def test_a_second_authorization_is_not_expected() -> None:
    flow = build()
    flow.until_authorization()
    flow.authorize()
    with pytest.raises(
        StateRefused, match="is VERIFYING; a 'accepted' message is not expected now"
    ):
        flow.authorize()
    with pytest.raises(
        StateRefused, match="is VERIFYING; a 'rejected' message is not expected now"
    ):
        flow.reject()


def test_late_answers_after_the_end_are_refused_as_final() -> None:
    flow = build()
    verified(flow)
    flow.transfer()
    with pytest.raises(
        StateRefused, match=f"transaction request {REQUEST_ID} is already COMPLETED"
    ):
        transfer_answer(flow, state="ABORTED")
    assert posted(flow) == [("RESERVE", "100"), ("COMMIT", "100")]


def test_the_committed_transfer_told_again_is_taken_quietly() -> None:
    """FSPIOP v1.1 §3.2.5: a callback repeated (the payee resending, or the switch
    answering a resent POST /transfers with the transfer's state) changes nothing and is
    not answered with an error."""
    flow = build()
    verified(flow)
    flow.transfer()
    [commit] = [m for m in flow.sent if m.method == "PUT" and m.path.startswith("/transfers/")]
    told = len(flow.sent)

    again = flow.deliver(commit)

    assert again.messages == [] and len(flow.sent) == told
    assert posted(flow) == [("RESERVE", "100"), ("COMMIT", "100")]


def test_an_undelivered_callback_after_the_end_changes_nothing() -> None:
    flow = build()
    flow.request(currency="EUR")
    before = list(flow.sent)
    undelivered(flow)
    assert flow.sent == before


def test_the_timer_of_an_answered_authorization_does_nothing() -> None:
    flow = build()
    flow.until_authorization()
    flow.authorize()
    flow.roles.clock.advance(100)
    assert flow.roles.role("dfspa").on_timer(f"authorization:{REQUEST_ID}").messages == []
    assert flow.get() == "PENDING"


def test_the_authorization_deadline_is_the_earliest_expiry() -> None:
    flow = build(behaviour={"quote_expiry_s": 30})
    effects = flow.until_authorization(expiration=expiration(20))
    [timer] = effects.timers
    assert timer.at == START.replace(second=20)
    request = effects.messages[0].body or {}
    assert request["expiration"] == "2030-01-01T00:00:20.000Z"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda f: transfer_answer(f, error=True), id="error-callback"),
        pytest.param(lambda f: transfer_answer(f, state="ABORTED"), id="answered-aborted"),
    ],
)
def test_a_transfer_the_payee_credited_completes_whatever_it_answers(
    answer: Callable[[Flow], object],
) -> None:
    """dfspb shares the ledger: once it has credited Bob, an error callback (its answer to
    a resent POST /transfers whose quote it has used up) or an ABORTED (a rule's override)
    must not give Alice her debit back, which would create money."""
    flow = build()
    verified(flow)
    flow.deliver(flow.last("POST", "/transfers"))  # Bob credited; its COMMITTED lost

    answer(flow)

    assert flow.outcome().method == "PATCH"
    assert (flow.outcome().body or {})["transactionState"] == "COMPLETED"
    assert posted(flow) == [("RESERVE", "100"), ("COMMIT", "100")]
    assert flow.roles.balance(BOB) == "100"


@pytest.mark.parametrize("error", [False, True], ids=["VERIFIED", "error"])
def test_only_the_auth_service_asked_answers_the_verification(error: bool) -> None:
    # The auth-service checks the PISP's signature: its answer, from anyone else (the PISP
    # that signed), would move money on a signature nobody verified.
    flow = build()
    flow.until_authorization()
    flow.authorize()
    path = f"{VERIFY}/{flow.verification_id}"
    body = {"authenticationResponse": "VERIFIED"}
    if error:
        path, body = f"{path}/error", error_body("6201")
    assert refused(lambda: flow.send("dfspa", "PUT", path, body, source="pispa")).code == "3206"
    assert not [m for m in flow.sent if (m.method, m.path) == ("POST", "/transfers")]
    assert flow.get() == "PENDING"
    flow.verified()  # the auth-service's own answer still counts
    assert flow.last("POST", "/transfers").destination == "dfspb"


@pytest.mark.parametrize("error", [False, True], ids=["quote", "error"])
def test_only_the_payee_dfsp_answers_the_quote(error: bool) -> None:
    flow = build()
    [_, quote] = flow.request().messages
    quote_id = (quote.body or {})["quoteId"]
    path, body = f"/quotes/{quote_id}", quote_response()
    if error:
        path, body = f"{path}/error", error_body("3200")
    assert refused(lambda: flow.send("dfspa", "PUT", path, body, source="pispa")).code == "3206"
    assert flow.get() == "RECEIVED"  # still waiting for dfspb's quote


# --- a timer run before its deadline ------------------------------------------------------


def test_a_transfer_timer_run_early_waits_on_and_a_late_credit_completes_it() -> None:
    # The wall clock stepped back after the timer was set (or it ran early for any other
    # reason): the transfer has not expired, dfspb may still credit it (a rule delays the
    # POST /transfers). Giving Alice's debit back now, while Bob is credited later, would
    # create money: the wait goes on to the expiration.
    flow = build()
    flow.until_authorization()
    flow.authorize()
    [timer] = flow.verified().timers
    flow.roles.clock.advance(30)  # before the transfer's expiration

    assert flow.roles.role("dfspa").on_timer(timer.key) == Effects(timers=[timer])
    assert flow.get() == "ACCEPTED" and posted(flow) == [("RESERVE", "100")]
    flow.transfer()  # the delayed POST /transfers reaches dfspb, which credits Bob

    assert (flow.outcome().body or {})["transactionState"] == "COMPLETED"
    assert posted(flow) == [("RESERVE", "100"), ("COMMIT", "100")]
    assert flow.roles.balance(BOB) == "100"


# (wait, how the flow gets to it: the effects that set its timer, the state it waits in)
WAITS: list[tuple[str, Callable[[Flow], Effects], str]] = [
    ("quote", lambda f: f.request(), "RECEIVED"),
    ("authorization", lambda f: f.until_authorization(), "PENDING"),
    ("verification", lambda f: (f.until_authorization(), f.authorize())[1], "PENDING"),
]


@pytest.mark.parametrize(("wait", "reach", "state"), WAITS, ids=[w[0] for w in WAITS])
def test_a_timer_run_before_its_deadline_is_set_again_at_it(
    wait: str, reach: Callable[[Flow], Effects], state: str
) -> None:
    flow = build()
    [timer] = reach(flow).timers
    assert timer.key == f"{wait}:{REQUEST_ID}"
    payer = flow.roles.role("dfspa")

    assert payer.on_timer(timer.key) == Effects(timers=[timer])  # the same deadline
    assert flow.get() == state

    flow.roles.clock.advance((timer.at - START).total_seconds())
    flow.sent.extend(payer.on_timer(timer.key).messages)
    assert flow.outcome().path == f"{TX}/{REQUEST_ID}/error"
    assert flow.get() == "REJECTED"
