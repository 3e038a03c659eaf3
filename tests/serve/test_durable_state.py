"""``tpsim serve --state PATH``: a kill -9 and a restart on the same file lose nothing.

The issue (11, item 8): with state in memory only, a kill -9 undid completed transfers,
left those in flight without a final callback, and reset the FIDO sign counters, so an
assertion accepted before the restart was accepted again. Here a ``Simulation`` keeps its
state in a file; a kill -9 is played by ``crash_image`` (the file and its write-ahead log
as they are on disk at that moment, the process never closed) and the restart is a new
``Simulation`` on that image. The PISP is a ``Recording`` transport: no socket.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from pydantic import BaseModel

from tests.core.test_sqlite_store import crash_image
from tests.obie.support import payment_body, scheduled_body
from tests.support.linking import CAROL_CHEQUING
from tests.support.linking_roles import (
    credential_put,
    deliver,
    exchange,
    grant_consent,
    link,
    request_body,
)
from tests.support.pisp import future_expiration
from tests.support.roles import Roles, executing
from tests.support.scheme import (
    BOB_MSISDN,
    CREDENTIALS,
    FIDO_ACCOUNT,
    FIDO_CONSENT,
    transaction_request,
)
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.psu import WrongPassword
from tpsim.config import Config, load_config, overlay, parse_config
from tpsim.core.clock import ManualClock
from tpsim.core.settlement import SettlementOutcome, SettlementRequest, SettlementResult
from tpsim.core.sqlite_store import SqliteStore
from tpsim.errors import ConfigError
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.common import new_message
from tpsim.mojaloop.roles.psu import consent_request_journey
from tpsim.mojaloop.roles.state import PICKLING
from tpsim.mojaloop.steps import DeliveryResult
from tpsim.obie.api import ObieRequest
from tpsim.obie.states import Kind, PaymentStatus
from tpsim.serve.simulation import Simulation
from tpsim.serve.transports import Recording, Transports, accept
from tpsim.xs2a.api import ApiRequest

START = datetime(2030, 1, 1, tzinfo=UTC)
TX = "/thirdpartyRequests/transactions"
AUTHZ = "/thirdpartyRequests/authorizations"
BOB = "dfspb.bob.chequing"
DONE, IN_FLIGHT, REPLAY = (
    "0b1e6f2a-3c4d-4e5f-8a9b-0c1d2e3f4a01",
    "0b1e6f2a-3c4d-4e5f-8a9b-0c1d2e3f4a02",
    "0b1e6f2a-3c4d-4e5f-8a9b-0c1d2e3f4a03",
)
LINKED, REGISTERING = "5d0c3b1a-2e4f-4a6b-9c8d-7e6f5a4b3c01", "5d0c3b1a-2e4f-4a6b-9c8d-7e6f5a4b3c02"
LINKING = "5d0c3b1a-2e4f-4a6b-9c8d-7e6f5a4b3c03"
RELINKED = "5d0c3b1a-2e4f-4a6b-9c8d-7e6f5a4b3c04"
REDIRECT_URI = "https://tpp.example/cb"  # tpp-one's (the built-in config)


class Tpsim:
    """One tpsim process on a state file: its ``Simulation`` and what its PISP received."""

    def __init__(self, path: Path, clock: ManualClock, config: Config) -> None:
        self.path, self.clock, self.pisp = path, clock, Recording()
        self.sim = Simulation(
            config, clock=clock, transports=Transports(lambda _: self.pisp), state=path
        )

    def message(self, method: str, path: str, body: dict[str, Any] | None = None) -> Message:
        now = self.clock.now()
        return new_message(method, path, source="pispa", destination="dfspa", body=body, now=now)

    async def from_pisp(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        """What the edge does with the PISP's message (keep it, answer, route it), and all
        it causes, to the end."""
        self.sim.router.submit(self.message(method, path, body))
        await self.sim.router.drain()

    async def restarted(self) -> None:
        """The server is up again: what the restart left unfinished is done."""
        self.sim.resume()
        await self.sim.router.drain()

    async def until_authorization(self, request_id: str) -> Message:
        """Alice asks for 100 USD to Bob from her FIDO-linked account: the authorization
        request the PISP gets."""
        expiration = future_expiration(300, now=self.clock.now())
        await self.from_pisp("POST", TX, transaction_request(request_id, expiration=expiration))
        return self.last("POST", AUTHZ)

    async def approve(self, authorization: Message, authenticator: SoftwareAuthenticator) -> None:
        body = authorization.body or {}
        await self.from_pisp(
            "PUT", f"{AUTHZ}/{body['authorizationRequestId']}", answer(body, authenticator)
        )

    def last(self, method: str, path: str) -> Message:
        return [m for m in self.pisp.received if (m.method, m.path) == (method, path)][-1]

    def outcome(self, request_id: str) -> Message:
        """The one final callback the PISP got for ``request_id``."""
        final = {("PATCH", f"{TX}/{request_id}"), ("PUT", f"{TX}/{request_id}/error")}
        [message] = [m for m in self.pisp.received if (m.method, m.path) in final]
        return message

    async def state_of(self, request_id: str) -> str:
        """What ``GET /thirdpartyRequests/transactions/{ID}`` reports."""
        await self.from_pisp("GET", f"{TX}/{request_id}")
        return str((self.last("PUT", f"{TX}/{request_id}").body or {})["transactionRequestState"])

    def available(self, address: str) -> Decimal:
        return self.sim.state.bank.ledger.available(address)

    def sign_count(self) -> int:
        return self.sim.state.auth_consents[FIDO_CONSENT].credential.sign_count

    @property
    def file(self) -> SqliteStore:
        assert self.sim.file is not None
        return self.sim.file


def answer(authorization: dict[str, Any], authenticator: SoftwareAuthenticator) -> dict[str, Any]:
    """The PISP's ``PUT /thirdpartyRequests/authorizations/{ID}``: accepted, signed."""
    assertion = authenticator.assertion(authorization["challenge"])
    signed = {"signedPayloadType": "FIDO", "fidoSignedPayload": assertion}
    return {"responseType": "ACCEPTED", "signedPayload": signed}


Start = Callable[..., Tpsim]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    """Start a tpsim on a state file (``tmp_path/state.db`` unless given); each is closed
    at the end of the test (a killed one only then: its image was taken before)."""
    started: list[Tpsim] = []
    clock = ManualClock(START)

    def start_(path: Path | None = None, config: Config | None = None) -> Tpsim:
        started.append(Tpsim(path or tmp_path / "state.db", clock, config or load_config()))
        return started[-1]

    yield start_
    for tpsim in reversed(started):
        await tpsim.sim.close()


def alice() -> SoftwareAuthenticator:
    """Alice's FIDO authenticator as its file has it (its counter at 0)."""
    return SoftwareAuthenticator.from_json((CREDENTIALS / "alice-fido.json").read_text())


def code(message: Message) -> str:
    assert message.path.endswith("/error"), (message.method, message.path, message.body)
    return str((message.body or {})["errorInformation"]["errorCode"])


# --- kill -9, restart ---------------------------------------------------------------------


async def test_a_restart_undoes_nothing_done_and_ends_what_was_in_flight(start: Start) -> None:
    before = start()
    authenticator = alice()
    await before.approve(await before.until_authorization(DONE), authenticator)
    assert before.outcome(DONE).method == "PATCH"
    authorization = await before.until_authorization(IN_FLIGHT)  # and then: kill -9
    balances = {a: before.available(a) for a in (FIDO_ACCOUNT, BOB)}

    after = start(crash_image(before.path))
    await after.restarted()

    # Completed stays completed: the same balances, and GET still says so.
    assert {a: after.available(a) for a in (FIDO_ACCOUNT, BOB)} == balances
    assert await after.state_of(DONE) == "ACCEPTED"
    # In flight: failed with its error callback (tpsim's own 2001), nothing left held.
    assert code(after.outcome(IN_FLIGHT)) == "2001"
    assert await after.state_of(IN_FLIGHT) == "REJECTED"
    assert after.sim.state.bank.ledger.reservations() == []
    # The sign counter survived: an assertion whose counter was used is refused.
    assert after.sign_count() == 1
    await after.approve(await after.until_authorization(REPLAY), alice())
    assert code(after.outcome(REPLAY)) == "6201"
    # The PISP's late answer to the lost authorization request moves no money.
    await after.approve(authorization, authenticator)
    assert {a: after.available(a) for a in (FIDO_ACCOUNT, BOB)} == balances


async def test_a_consent_being_registered_at_a_kill_fails_after_the_restart(start: Start) -> None:
    # The auth-service awaited the ALS for a consent's registration, and the DFSP the
    # auth-service, when tpsim was killed: their timers died with it. The restart ends
    # both waits: the PISP hears the credential was not verified (6200), and neither the
    # auth-service nor the ALS keeps the consent (before, it stayed REGISTERING for ever).
    before = start()
    roles = Roles(before.sim, before.clock)
    grant = grant_consent(roles, REGISTERING)
    consent_id = str((grant.body or {})["consentId"])
    path, body = credential_put(grant, SoftwareAuthenticator.create())
    [registration] = exchange(roles, "PUT", path, body).messages
    deliver(roles, registration)  # the auth-service's POST to the ALS is lost at the kill
    before.file.flush()

    after = start(crash_image(before.path))
    await after.restarted()

    [told] = [m for m in after.pisp.received if m.path == f"{path}/error"]
    assert code(told) == "6200"
    consent = after.sim.dfsps["dfspa"].linking.consent(consent_id)
    assert consent is not None and consent.state.value == "FAILED"
    assert consent_id not in after.sim.state.auth_consents
    assert ("CONSENT", consent_id) not in after.sim.state.oracle


async def test_a_consent_being_linked_at_a_kill_fails_after_the_restart(start: Start) -> None:
    # A rule delayed the ALS's answer to the DFSP's THIRD_PARTY_LINK registration when
    # tpsim was killed: the delayed answer died with it. The restart ends the wait: the PISP
    # hears the links were not registered (6000), and the auth-service stops vouching for
    # the consent (before, it stayed LINKING for ever, the PISP told nothing).
    before = start()
    roles = Roles(before.sim, before.clock)
    grant = grant_consent(roles, LINKING)
    consent_id = str((grant.body or {})["consentId"])
    path, body = credential_put(grant, SoftwareAuthenticator.create())
    [message] = exchange(roles, "PUT", path, body).messages
    while message.path != f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}":
        [message] = deliver(roles, message).messages  # on to the auth-service, the ALS, back
    before.file.flush()

    after = start(crash_image(before.path))
    await after.restarted()

    [told] = [m for m in after.pisp.received if m.path == f"{path}/error"]
    assert code(told) == "6000"
    consent = after.sim.dfsps["dfspa"].linking.consent(consent_id)
    assert consent is not None and consent.state.value == "FAILED"
    assert consent_id not in after.sim.state.consents
    assert after.sim.state.auth_consents[consent_id].status == "REVOKED"
    assert ("CONSENT", consent_id) not in after.sim.state.oracle


async def test_an_account_being_linked_at_a_kill_links_again_after_the_restart(
    start: Start,
) -> None:
    # The ALS made the link, and a rule delayed its answer when tpsim was killed: the answer
    # died with the process. The consent fails after the restart; the registration it sent
    # is still awaited (the records are durable), but the ALS's confirmation of the next
    # consent to the same account is that consent's (before, it was credited to the failed
    # one: the next consent failed too, and so did every later one to the account).
    before = start()
    roles = Roles(before.sim, before.clock)
    grant = grant_consent(roles, LINKING)
    consent_id = str((grant.body or {})["consentId"])
    path, body = credential_put(grant, SoftwareAuthenticator.create())
    [message] = exchange(roles, "PUT", path, body).messages
    link_path = f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"
    while message.path != link_path:
        [message] = deliver(roles, message).messages  # on to the auth-service, the ALS, back
    [answer] = deliver(roles, message).messages  # the ALS makes the link; its answer is lost
    assert (answer.path, answer.body) == (link_path, {"fspId": "dfspa"})
    before.file.flush()

    after = start(crash_image(before.path))
    await after.restarted()
    linking = after.sim.dfsps["dfspa"].linking
    assert linking.consent(consent_id).state.value == "FAILED"

    relinked = link(Roles(after.sim, after.clock), RELINKED, SoftwareAuthenticator.create())

    assert linking.consent(relinked).state.value == "ACTIVE"
    assert after.sim.state.oracle.get(("THIRD_PARTY_LINK", CAROL_CHEQUING)) == "dfspa"
    # Awaited still (until forgotten): the failed consent's registration, not the new one's.
    [awaited] = after.sim.state.bank.store.records("dfspa/link-requests")
    assert [request[:2] for request in awaited] == [("POST", consent_id)]


async def test_what_the_pisp_hears_of_was_written_before_it_heard(start: Start) -> None:
    tpsim = start()
    images: list[Path] = []

    def killed_as_it_arrives(message: Message) -> DeliveryResult:
        """The PISP's endpoint: the process is killed as each message reaches it."""
        images.append(crash_image(tpsim.path, f"at-{len(images)}-{message.method}"))
        return accept(message)

    tpsim.pisp.handler = killed_as_it_arrives
    await tpsim.approve(await tpsim.until_authorization(DONE), alice())
    assert [image.parent.name for image in images] == ["at-0-PUT", "at-1-POST", "at-2-PATCH"]

    # Restarted from each moment, tpsim knows what it had told the PISP: RECEIVED and the
    # authorization request of a transfer then ended by the restart, or its completion.
    restarted = [start(image) for image in images]

    assert [await after.state_of(DONE) for after in restarted] == ["REJECTED"] * 2 + ["ACCEPTED"]
    assert restarted[-1].available(BOB) == Decimal(100)


async def test_a_message_acknowledged_but_not_yet_handled_is_handled_after_a_restart(
    start: Start,
) -> None:
    before = start()
    expiration = future_expiration(300, now=START)
    post = before.message("POST", TX, transaction_request(DONE, expiration=expiration))
    before.sim.router.submit(post)  # the edge answers 202 now; the kill comes before routing
    image = crash_image(before.path)
    await before.sim.router.drain()

    after = start(image)
    await after.restarted()

    assert (after.last("PUT", f"{TX}/{DONE}").body or {})["transactionRequestState"] == "RECEIVED"
    assert (after.last("POST", AUTHZ).body or {})["transactionRequestId"] == DONE


async def test_a_transfer_the_payee_had_credited_completes_after_a_restart(start: Start) -> None:
    before = start()
    roles = Roles(before.sim, before.clock)
    body = (await before.until_authorization(DONE)).body or {}
    path = f"{AUTHZ}/{body['authorizationRequestId']}"
    # By hand, hop by hop as the router carries them, until the payee DFSP credits Bob;
    # the kill comes before its PUT /transfers reaches the payer DFSP.
    [verification] = exchange(roles, "PUT", path, answer(body, alice())).messages
    [verified] = deliver(roles, verification).messages
    [transfer] = deliver(roles, verified).messages
    [committed] = deliver(roles, transfer).messages
    assert committed.path == f"/transfers/{(transfer.body or {})['transferId']}"
    assert before.available(BOB) == Decimal(100)
    debited = before.available(FIDO_ACCOUNT)
    before.file.flush()

    after = start(crash_image(before.path))
    await after.restarted()

    assert after.outcome(DONE).method == "PATCH"
    assert (after.available(FIDO_ACCOUNT), after.available(BOB)) == (debited, Decimal(100))
    assert after.sim.state.bank.ledger.reservations() == []


# --- every kind of record ------------------------------------------------------------------


def comparable(value: Any) -> Any:
    """``value`` as plain data, to compare a record with the one read back: an error by
    its type and attributes, a dataclass by its compared fields, a model by its dump."""
    if isinstance(value, BaseException):
        return (type(value), value.args, comparable(vars(value)))
    if isinstance(value, BaseModel):
        return value.model_dump()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value), [comparable(getattr(value, f.name)) for f in fields if f.compare])
    if isinstance(value, Mapping):
        return [(k, comparable(v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [comparable(v) for v in value]
    return value


async def test_every_kind_of_record_comes_back_as_it_was(start: Start) -> None:
    tpsim = start()
    roles = Roles(tpsim.sim, tpsim.clock)
    link(roles, LINKED, SoftwareAuthenticator.create())  # consent requests, consents, ALS…
    path, body = credential_put(grant_consent(roles, REGISTERING), SoftwareAuthenticator.create())
    [registration] = exchange(roles, "PUT", path, body).messages
    deliver(roles, registration)  # the auth-service awaits the ALS: a registration pending
    await tpsim.approve(await tpsim.until_authorization(DONE), alice())  # transactions, quotes…
    await tpsim.until_authorization(IN_FLIGHT)
    payments = tpsim.sim.state.bank.payments
    executing(payments, "p-1", debtor=FIDO_ACCOUNT, creditor=BOB_MSISDN, amount="10", at=START)
    request = SettlementRequest(
        "p-1", "dfspa", FIDO_ACCOUNT, "dfspb", BOB_MSISDN, Decimal(10), "USD"
    )
    roles.role("dfspa").settler.start(request)  # a settlement under way
    tpsim.file.flush()
    kinds = tpsim.file.counts()

    image = SqliteStore(crash_image(tpsim.path), reducers=PICKLING)  # read, nothing resumed
    image.close()

    assert image.counts() == kinds
    for kind in kinds:
        kept = [comparable(r) for r in tpsim.file.records(kind)]
        assert [comparable(r) for r in image.records(kind)] == kept, kind
    assert {kind.rsplit("/", 1)[-1] for kind in kinds if "#" not in kind} >= {
        "auth-consents",
        "consent-requests",
        "consent-requests-seen",
        "consents",
        "intent",
        "oracle",
        "pending-consents",
        "quotes",
        "registrations",
        "settlements",
        "transaction-requests-seen",
        "transactions",
        "verification-requests-seen",
    }


# --- a state file and its config -----------------------------------------------------------


async def test_a_reset_seeds_the_file_again_from_the_config(start: Start) -> None:
    tpsim = start()
    opening = tpsim.available(FIDO_ACCOUNT)
    await tpsim.approve(await tpsim.until_authorization(DONE), alice())
    assert (tpsim.available(FIDO_ACCOUNT), tpsim.sign_count()) == (opening - 100, 1)

    tpsim.sim.reset()

    after = start(crash_image(tpsim.path))
    assert (after.available(FIDO_ACCOUNT), after.sign_count()) == (opening, 0)


async def test_a_state_file_seeded_from_other_accounts_is_refused(start: Start) -> None:
    tpsim = start()
    data = load_config().model_dump(mode="json")
    other = parse_config(overlay(data, {"accounts": data["accounts"][:-1]}))

    with pytest.raises(ConfigError, match="seeded from other accounts, users or consents"):
        start(crash_image(tpsim.path), other)


async def test_wrong_passwords_counted_before_a_crash_still_count_after_it(start: Start) -> None:
    # Review: a wrong password changed the request's count without a commit, so a kill -9
    # gave the user fresh attempts.
    before = start()
    request_id = "5d0c3b1a-2e4f-4a6b-9c8d-7e6f5a4b3c09"
    body = request_body(request_id, channels=("WEB",))
    before.sim.router.submit(
        new_message(
            "POST",
            "/consentRequests",
            source="pispa",
            destination="dfspa",
            body=body,
            now=before.clock.now(),
        )
    )
    await before.sim.router.drain()
    requests = before.sim.dfsps["dfspa"].consent_requests
    journey = consent_request_journey(
        requests, "dfspa", request_id, lambda e: before.sim.router.submit_effects("dfspa", e)
    )
    for _ in range(2):
        with pytest.raises(WrongPassword):
            journey.approve(None, "guess", [CAROL_CHEQUING])
    await before.sim.router.drain()  # and then: kill -9

    after = start(crash_image(before.path))
    await after.restarted()

    record = after.sim.dfsps["dfspa"].consent_requests._requests.get(request_id)
    assert record is not None and record.wrong_passwords == 2


async def test_a_settlement_under_way_at_a_crash_fails_and_its_listener_hears_it(
    start: Start,
) -> None:
    before = start()
    payments = before.sim.state.bank.payments
    executing(payments, "p-1", debtor=FIDO_ACCOUNT, creditor=BOB_MSISDN, amount="10", at=START)
    request = SettlementRequest(
        "p-1", "dfspa", FIDO_ACCOUNT, "dfspb", BOB_MSISDN, Decimal(10), "USD"
    )
    before.sim.dfsps["dfspa"].settler.start(request)  # its quote never leaves: kill -9
    before.file.flush()

    after = start(crash_image(before.path))
    heard: list[SettlementResult] = []
    after.sim.settlement.listen(heard.append)  # listening once the server is built…
    await after.restarted()  # …hears what the restart ended

    assert [(r.intent_id, r.outcome) for r in heard] == [("p-1", SettlementOutcome.FAILED)]
    assert after.available(FIDO_ACCOUNT) == before.available(FIDO_ACCOUNT) + 10


async def test_a_settlement_a_restart_ended_stays_told_if_the_server_never_comes_up(
    start: Start,
) -> None:
    # The restart ends the settlement in flight (funds back to Erika) and writes it; if
    # the server then cannot start (its port taken) or is killed before it is up, the
    # next start finds nothing in flight: the XS2A payment must have heard already.
    before = start()
    api = before.sim.psd2.xs2a["dfspa"]
    body = {
        "instructedAmount": {"currency": "EUR", "amount": "25"},
        "debtorAccount": {"iban": "DE89370400440532013000"},  # Erika, dfspa
        "creditorName": "Max Mustermann",
        "creditorAccount": {"iban": "DE02120300000000202051"},  # Max, dfspb
    }
    headers = {
        "X-Request-ID": "99391c7e-ad88-49ec-a2ad-99ddcb1f7722",
        "PSU-IP-Address": "192.168.8.78",
        "Content-Type": "application/json",
        "TPP-Decoupled-Preferred": "true",
        "PSU-ID": "erika",
    }
    path = ("payments", "sepa-credit-transfers")
    created = api.handle(ApiRequest("POST", path, headers, json.dumps(body).encode(), "http://x"))
    assert created.status == 201 and created.authorisation_id is not None
    api.auths.approve(created.authorisation_id, None, None)  # its quote never leaves: kill -9
    before.file.flush()

    never_up = start(crash_image(before.path))  # recovered, then killed before it served
    after = start(crash_image(never_up.path, "again"))
    await after.restarted()

    kept = after.sim.psd2.xs2a["dfspa"]
    payment = kept.bank.payments[str(created.payment_id)]
    assert kept.bank.transaction_status(payment).value == "RJCT"
    assert payment.reason == (
        "settlement failed: tpsim restarted while the settlement was under way"
    )
    assert after.available("dfspa.erika.giro") == Decimal(5000)


async def test_a_future_dated_xs2a_payment_survives_a_crash_and_executes_on_its_date(
    start: Start,
) -> None:
    erika, max_ = "dfspa.erika.giro", "dfspb.max.giro"
    before = start()
    api = before.sim.psd2.xs2a["dfspa"]
    due = (START + timedelta(days=3)).date().isoformat()
    body = {
        "instructedAmount": {"currency": "EUR", "amount": "25"},
        "debtorAccount": {"iban": "DE89370400440532013000"},
        "creditorName": "Luca Rossi",
        "creditorAccount": {"iban": "DE75512108001245126199"},
        "requestedExecutionDate": due,
    }
    headers = {
        "X-Request-ID": "99391c7e-ad88-49ec-a2ad-99ddcb1f7721",
        "PSU-IP-Address": "192.168.8.78",
        "Content-Type": "application/json",
        "TPP-Decoupled-Preferred": "true",
        "PSU-ID": "erika",
    }
    created = api.handle(
        ApiRequest(
            "POST",
            ("payments", "sepa-credit-transfers"),
            headers,
            json.dumps(body).encode(),
            "http://x",
        )
    )
    assert created.status == 201 and created.authorisation_id is not None
    api.auths.approve(created.authorisation_id, None, None)
    before.file.flush()

    after = start(crash_image(before.path))
    await after.restarted()  # arms the timer for the payment's date
    kept = after.sim.psd2.xs2a["dfspa"]
    payment = kept.bank.payments[str(created.payment_id)]
    assert kept.bank.transaction_status(payment).value == "ACTC"
    after.clock.advance(3 * 86_400)
    payment = kept.bank.payments[str(created.payment_id)]
    assert kept.bank.transaction_status(payment).value == "ACCC"
    assert (after.available(erika), after.available("dfspa.luca.giro")) == (
        Decimal(4975),
        Decimal(125),
    )
    assert after.available(max_) == 0


async def test_a_uk_scheduled_payment_survives_a_crash_and_executes_on_its_date(
    start: Start,
) -> None:
    mits, rora = "dfspa.mits.current", "dfspa.rora.current"
    before = start()
    api = before.sim.psd2.obie["dfspa"]
    oauth = before.sim.psd2.oauth["dfspa"]
    basic = "Basic " + base64.b64encode(b"tpp-one:tpp-one-secret").decode()
    client = oauth.token({"grant_type": "client_credentials", "scope": "payments"}, basic)[
        "access_token"
    ]

    def call(path: str, body: dict[str, Any], token: object) -> Any:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "x-idempotency-key": str(uuid.uuid4()),
            "x-jws-signature": "ignored..by-default",
        }
        raw = json.dumps(body).encode()
        return api.handle(ObieRequest("4.0", "POST", (path,), headers, raw, "http://x"))

    body = scheduled_body("4.0", START + timedelta(days=3), creditor="10000109010103")
    consent = call("domestic-scheduled-payment-consents", body, client)
    assert consent.status == 201, consent
    pending = oauth.authorize(
        {
            "response_type": "code",
            "client_id": "tpp-one",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid payments",
            "state": "s",
            "openbanking_intent_id": consent.consent_id,
        },
        intent=api.intent,
    )
    psu = api.approval.approve(consent.consent_id, "mits", None, [])  # headless: no password
    url = oauth.grant(pending.id, psu)
    code = dict(parse_qsl(urlsplit(url).query or urlsplit(url).fragment))["code"]
    token = oauth.token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        basic,
    )["access_token"]
    paid = call("domestic-scheduled-payments", payment_body(consent), token)
    assert (paid.status, paid.body["Data"]["Status"]) == (201, "PDNG"), paid
    before.file.flush()

    after = start(crash_image(before.path))
    await after.restarted()  # arms the timer for the payment's date
    kept = after.sim.psd2.obie["dfspa"]
    payment = kept.bank.orders.get(str(paid.payment_id), "4.0", kind=Kind.SCHEDULED)
    assert kept.bank.orders.status(payment) is PaymentStatus.PENDING
    assert (after.available(mits), after.available(rora)) == (Decimal(2000), Decimal(1000))
    after.clock.advance(3 * 86_400)
    payment = kept.bank.orders.get(str(paid.payment_id), "4.0", kind=Kind.SCHEDULED)
    assert kept.bank.orders.status(payment) is PaymentStatus.CREDITED
    assert (after.available(mits), after.available(rora)) == (
        Decimal("1989.50"),
        Decimal("1010.50"),
    )
