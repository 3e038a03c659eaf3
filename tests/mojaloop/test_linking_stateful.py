"""Account linking and unlinking against a model, socket-free (hypothesis stateful).

The machine plays the PISP and the user over the simulated DFSP, auth-service and ALS of
the built-in scheme (``tests/support/linking_roles.py``): it starts linkings for Carol's and
Alice's accounts, completes or abandons them (a wrong OTP, an OTP left to expire), unlinks
from the PISP or revokes at the bank at any moment, and holds back the slow messages (the
ALS's registrations, the auth-service's answers) to release them in any order, or have the
ALS refuse one. Once nothing is held back the DFSP, the auth-service and the ALS must agree,
and the PISP must have been told what became of each consent; a transfer completes only
over an ACTIVE consent, and always over one when nothing is in flight.

Every run is the same run: no socket, no task, no wall clock (a ``ManualClock``; the steps
carry each message depth first as the router does, so a step ends with the scheme
quiescent but for what the machine holds back), sequential ids, a fixed OTP, keys derived
from numbers, and hypothesis derandomized with nothing timed (no deadline, no too-slow
health check, one bug reported, so it never searches "10 more seconds" for others).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, Phase, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.support.linking import (
    CAROL_CHEQUING,
    CAROL_SAVINGS,
    CONSENT_REQUESTS,
    CONSENTS,
    signed_with,
    uid,
    wrong,
)
from tests.support.linking_roles import (
    DFSP,
    PISP,
    credential_put,
    deliver,
    error_code,
    request_body,
    simulated,
)
from tests.support.pisp import future_expiration
from tests.support.roles import Roles
from tests.support.scheme import (
    CREDENTIALS,
    FIDO_ACCOUNT,
    FIDO_CONSENT,
    GENERIC_ACCOUNT,
    GENERIC_CONSENT,
    transaction_request,
)
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.message import Message, Timer
from tpsim.mojaloop.roles.states import LINK_TERMINAL, LinkState

AUTH, HUB = "central-auth", "switch"
TX = "/thirdpartyRequests/transactions"
AUTHZ = "/thirdpartyRequests/authorizations"
ACCOUNTS = {"carol": (CAROL_CHEQUING, CAROL_SAVINGS), "alice": (FIDO_ACCOUNT, GENERIC_ACCOUNT)}
ADDRESSES = [a for pair in ACCOUNTS.values() for a in pair]
SLOW = ("als", "auth")
OTP = "135790"  # behaviour.linking.otp.fixed: the user's OTP, the same on every run
OTP_TTL = timedelta(seconds=300)  # behaviour.linking.otp.ttl_s
MAX_ATTEMPTS = 3  # behaviour.linking.max_attempts: the third wrong OTP closes the request
SEEDED = {FIDO_CONSENT: "alice-fido.json", GENERIC_CONSENT: "alice-generic.json"}


def slowness(message: Message) -> str | None:
    """Which slow participant ``message`` waits on: a registration the ALS has yet to
    make, or an answer of the auth-service to the DFSP."""
    if message.method == "POST" and message.path.startswith("/participants/"):
        return "als"
    if message.source == AUTH and message.destination == DFSP and "/consents/" in message.path:
        return "auth"
    return None


def authenticator(kind: str, n: int) -> SoftwareAuthenticator:
    """The ``n``th credential of a run: its key and id derived from ``n``, not drawn."""
    key = ec.derive_private_key(1000 + n, ec.SECP256R1())
    if kind == "FIDO":
        return SoftwareAuthenticator(key, credential_type="FIDO", credential_id=n.to_bytes(64))
    return SoftwareAuthenticator(key, credential_type="GENERIC")


@dataclass
class Request:
    """A consent request awaiting its OTP, as the model knows it."""

    addresses: tuple[str, ...]
    expires: datetime
    wrong: int = 0

    def closed(self, now: datetime) -> bool:
        return now >= self.expires or self.wrong >= MAX_ATTEMPTS


@dataclass
class Linked:
    """One consent as the model knows it: its accounts, its key, what the PISP heard."""

    addresses: tuple[str, ...]
    authenticator: SoftwareAuthenticator
    grant: Message
    told: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    last: LinkState = LinkState.ISSUED  # the DFSP's state when last looked at

    def heard(self, what: str) -> int:
        return sum(1 for t in self.told if _said(t) == what)


def _said(told: tuple[str, str, dict[str, Any]]) -> str:
    method, path, body = told
    if path.endswith("/error"):
        return "error"
    if method == "PATCH" and body.get("status") == "REVOKED":
        return "revoked"
    if method == "PATCH" and body.get("credential", {}).get("status") == "VERIFIED":
        return "verified"
    return "other"


def event(value: str) -> None:
    """Counted in ``--hypothesis-show-statistics``; the regression tests run the machine
    by hand, outside any hypothesis test."""
    if currently_in_test_context():
        hypothesis_event(value)


class Linking(RuleBasedStateMachine):
    """The model of one scheme's consents, with the messages held back on the way."""

    @initialize()
    def build(self) -> None:
        overrides = {"linking": {"otp": {"fixed": OTP, "ttl_s": OTP_TTL.total_seconds()}}}
        self.roles = Roles.build(behaviour=overrides)
        self.held: list[Message] = []
        self.holding: frozenset[str] = frozenset()
        self.requests: dict[str, Request] = {}
        self.consents: dict[str, Linked] = {}
        load = SoftwareAuthenticator.from_json
        self.keys = {c: load((CREDENTIALS / f).read_text()) for c, f in SEEDED.items()}
        self.internal_errors: list[Message] = []
        self.timers: dict[tuple[str, str], Timer] = {}  # (owner, key): what the roles set
        self.received: list[Message] = []  # everything the PISP was sent
        self.count = 0

    # -- carrying messages -------------------------------------------------------------

    def carry(self, messages: list[Message], *, released: bool = False) -> None:
        """Every message as the switch carries it, depth first; a slow one the machine
        holds back is kept in ``held``; what leaves tpsim is recorded."""
        for message in messages:
            if not released and slowness(message) in self.holding:
                self.held.append(message)
                continue
            to = message.destination or self.roles.config.hub.name
            if not simulated(self.roles, to):
                self.to_pisp(message)
                continue
            excused = self.excused(message)
            effects = deliver(self.roles, message)
            for key in effects.cancel:
                self.timers.pop((to, key), None)
            self.timers.update(((to, t.key), t) for t in effects.timers)
            # A role refusing another simulated role's message is a wrong answer somewhere
            # (the ALS refusing a deletion, the DFSP an auth-service's PATCH), but in the
            # races where that is the answer: see ``excused``.
            refused = [error_code(m) for m in effects.messages if m.path == f"{message.path}/error"]
            if message.source != PISP and refused and refused != [excused]:
                self.internal_errors.append(message)
            self.carry(effects.messages)

    def excused(self, message: Message) -> str | None:
        """The error code with which ``message`` may be refused, crossing another message:
        the DFSP's ``DELETE /consents/{ID}`` (its user revoked at the bank) of a consent the
        auth-service revoked already, its PATCH REVOKED still on its way to the DFSP (6103,
        "Consent not valid ... has been revoked", data model §3.3; the DFSP takes it
        quietly); the auth-service's ``DELETE /participants/CONSENT/{ID}`` after it stopped
        waiting for a registration the ALS has yet to make (3200, no such entry); the
        auth-service's ``PUT /consents/{ID}`` VERIFIED after the DFSP gave up on the consent
        and forgot it (3200, unknown consent: the auth-service then withdraws it)."""
        state, last = self.roles.sim.state, message.path.rsplit("/", 1)[-1]
        if (message.method, message.source, message.destination) == ("DELETE", DFSP, AUTH):
            held = state.auth_consents.get(last)
            return "6103" if held is not None and held.status == "REVOKED" else None
        if (message.method, message.source, message.destination) == ("PUT", AUTH, DFSP):
            forgotten = self.roles.role(DFSP).linking.consent(last) is None
            return "3200" if forgotten and last in self.consents else None
        if (message.method, message.source) == ("DELETE", AUTH):
            registering = any((m.method, m.path) == ("POST", message.path) for m in self.held)
            return "3200" if registering else None
        return None

    def to_pisp(self, message: Message) -> None:
        self.received.append(message)
        parts = message.path.split("/")
        if len(parts) >= 3 and parts[1] == "consents" and parts[2] in self.consents:
            self.consents[parts[2]].told.append((message.method, message.path, message.body or {}))

    def send(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, to: str = DFSP
    ) -> list[Message]:
        """The PISP sends ``method path``, carried with all it causes; what the PISP is
        sent meanwhile."""
        start = len(self.received)
        self.carry([self.roles.message(method, path, body, source=PISP, destination=to)])
        return self.received[start:]

    def new_id(self, label: str) -> str:
        self.count += 1
        return uid(f"stateful-{label}-{self.count}")

    # -- the PISP and the user -----------------------------------------------------------

    @rule(user=st.sampled_from(sorted(ACCOUNTS)), which=st.sampled_from([(0,), (1,), (0, 1)]))
    def request_consent(self, user: str, which: tuple[int, ...]) -> None:
        request_id = self.new_id("cr")
        addresses = tuple(ACCOUNTS[user][i] for i in which)
        body = request_body(request_id, user, addresses, channels=("OTP",))
        [answer] = self.send("POST", CONSENT_REQUESTS, body)
        assert answer.path == f"{CONSENT_REQUESTS}/{request_id}", answer.body
        self.requests[request_id] = Request(addresses, self.roles.clock.now() + OTP_TTL)

    @precondition(lambda self: self.requests)
    @rule(
        data=st.data(),
        fumbles=st.integers(0, MAX_ATTEMPTS),
        right=st.booleans(),
        kind=st.sampled_from(["GENERIC", "FIDO"]),
    )
    def send_otp(self, data: st.DataObject, fumbles: int, right: bool, kind: str) -> None:
        """The user types the OTP wrong ``fumbles`` times, then right or wrong."""
        request_id = data.draw(st.sampled_from(sorted(self.requests)))
        for _ in range(fumbles):
            self.send_otp_to(request_id, False, kind)
        self.send_otp_to(request_id, right, kind)

    def send_otp_to(self, request_id: str, right: bool, kind: str) -> None:
        """The right OTP grants while the request is open (not expired, fewer than
        ``MAX_ATTEMPTS`` wrong ones); anything else is refused."""
        request = self.requests[request_id]
        closed = request.closed(self.roles.clock.now())
        patch = {"authToken": OTP if right else wrong(OTP)}
        path = f"{CONSENT_REQUESTS}/{request_id}"
        [answer] = self.send("PATCH", path, patch)
        if not right or closed:
            assert answer.path == f"{path}/error", (right, closed, answer.body)
            request.wrong += 0 if right else 1
            event(f"OTP refused, {'closed' if closed else 'wrong'}")
            return
        assert (answer.method, answer.path) == ("POST", CONSENTS), answer.body
        del self.requests[request_id]
        consent_id = str((answer.body or {})["consentId"])
        key = authenticator(kind, len(self.consents))
        self.consents[consent_id] = Linked(request.addresses, key, answer)
        self.keys[consent_id] = key

    @rule(
        user=st.sampled_from(sorted(ACCOUNTS)),
        which=st.sampled_from([(0,), (1,), (0, 1)]),
        linking=st.booleans(),
    )
    def link_at_once(self, user: str, which: tuple[int, ...], linking: bool = False) -> None:
        """Request, authenticate and register in one step: deeper runs for the same budget;
        ``linking``: left LINKING, the ALS holding its account links."""
        self.request_consent(user, which)
        self.send_otp_to(list(self.requests)[-1], True, "GENERIC")
        holding, self.holding = self.holding, self.holding | {"als"} if linking else self.holding
        start = len(self.held)
        self.register(list(self.consents)[-1])
        if linking and len(self.held) > start:  # the auth-service's CONSENT registration
            self.carry([self.held.pop(start)], released=True)
        self.holding = holding

    @rule(seconds=st.sampled_from([5, 65, 400]))
    def time_passes(self, seconds: float) -> None:
        """The clock moves on, each timer the roles set firing when it falls due, as the
        router fires them (what it sends is carried, or held, as any message)."""
        clock = self.roles.clock
        end = clock.now() + timedelta(seconds=seconds)
        while due := sorted((t.at, o, k) for (o, k), t in self.timers.items() if t.at <= end):
            at, owner, key = due[0]
            del self.timers[(owner, key)]
            clock.advance(max(0.0, (at - clock.now()).total_seconds()))
            self.carry(self.roles.role(owner).on_timer(key).messages)
        clock.advance((end - clock.now()).total_seconds())

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def register_credential(self, data: st.DataObject) -> None:
        self.register(data.draw(st.sampled_from(sorted(self.consents))))

    def register(self, consent_id: str) -> None:
        linked = self.consents[consent_id]
        path, body = credential_put(linked.grant, linked.authenticator)
        self.send("PUT", path, body)

    @precondition(lambda self: self.consents)
    @rule(data=st.data(), to=st.sampled_from([DFSP, AUTH]))
    def pisp_unlinks(self, data: st.DataObject, to: str) -> None:
        consent_id = data.draw(st.sampled_from(sorted(self.consents)))
        linking = self.roles.role(DFSP).linking
        before = linking.consent(consent_id)
        self.send("DELETE", f"{CONSENTS}/{consent_id}", to=to)
        # Its authority revokes a consent (§4.1 the DFSP: an ISSUED one; §4.2 the
        # auth-service, to which the DFSP passes the DELETE on: a linking or linked one).
        hosts = (LinkState.LINKING, LinkState.ACTIVE)
        revocable = before is not None and before.state in (*hosts, LinkState.ISSUED)
        if revocable and (to == DFSP or before.state in hosts) and not self.held:
            assert linking.consent(consent_id).state is LinkState.REVOKED, (before, to)

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def bank_revokes(self, data: st.DataObject) -> None:
        self.revoke_at_bank(data.draw(st.sampled_from(sorted(self.consents))))

    def revoke_at_bank(self, consent_id: str) -> None:
        linking = self.roles.role(DFSP).linking
        before = linking.consent(consent_id)
        try:
            effects = linking.revoke(consent_id)
        except FspiopError as exc:
            # The admin API's 409: only while the auth-service verifies, or already ended
            # (or ended so long ago that the DFSP forgot it).
            ended = (LinkState.REGISTERING, *LINK_TERMINAL)
            assert before is None or before.state in ended, exc
            return
        self.carry(effects.messages)

    # -- slow participants -------------------------------------------------------------

    @rule(slow=st.sampled_from([frozenset(), *map(frozenset, [["als"], ["auth"], SLOW])]))
    def slow_down(self, slow: frozenset[str]) -> None:
        self.holding = slow

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        message = self.held.pop(data.draw(st.integers(0, len(self.held) - 1)))
        self.carry([message], released=True)

    def refusable(self, message: Message) -> bool:
        """Whether the ALS may refuse ``message``: any registration it holds back."""
        return slowness(message) == "als"

    @precondition(lambda self: any(self.refusable(m) for m in self.held))
    @rule(data=st.data())
    def als_refuses(self, data: st.DataObject) -> None:
        waiting = [i for i, m in enumerate(self.held) if self.refusable(m)]
        self.refuse(self.held.pop(data.draw(st.sampled_from(waiting))))

    def refuse(self, registration: Message) -> None:
        """The ALS refuses ``registration`` (3200)."""
        body = {"errorInformation": {"errorCode": "3200", "errorDescription": "refused"}}
        path, to = f"{registration.path}/error", registration.source
        self.carry([self.roles.message("PUT", path, body, source=HUB, destination=to)])

    @rule()
    def everything_arrives(self) -> None:
        self.holding = frozenset()
        while self.held:
            self.carry([self.held.pop(0)])

    # -- paying with a linked account ------------------------------------------------------

    @rule(data=st.data())
    def transfer(self, data: st.DataObject) -> None:
        """Pay 1 from an account's link (one the machine linked, mostly), signing with the
        credential of the consent the DFSP finds for it."""
        linked = sorted({a for c in self.consents.values() for a in c.addresses})
        self.transfer_from(data.draw(st.sampled_from(linked or ADDRESSES)))

    def transfer_from(self, address: str) -> None:
        state = self.roles.sim.state
        chosen = state.consent_for_link(DFSP, address, PISP)
        was = None if chosen is None else chosen.state
        key = self.keys.get(chosen.consent_id) if chosen is not None else None
        request_id = self.new_id("tx")
        expiration = future_expiration(300, now=self.roles.clock.now())
        body = transaction_request(request_id, payer=address, amount="1", expiration=expiration)
        out = self.send("POST", TX, body)
        asked = [m for m in out if (m.method, m.path) == ("POST", AUTHZ)]
        if asked:
            [authorization] = asked
            auth_body = authorization.body or {}
            answer = {
                "responseType": "ACCEPTED",
                "signedPayload": signed_with(
                    key or authenticator("GENERIC", -1), auth_body["challenge"]
                ),
            }
            path = f"{AUTHZ}/{auth_body['authorizationRequestId']}"
            out += self.send("PUT", path, answer)
        done = [
            m
            for m in out
            if m.method == "PATCH" and (m.body or {}).get("transactionState") == "COMPLETED"
        ]
        event(f"transfer over a {was and was.value} consent: {'completed' if done else 'refused'}")
        if done:
            assert chosen is not None
            now = state.consents.get(chosen.consent_id)
            assert was is LinkState.ACTIVE, (chosen.consent_id, was)
            assert now is not None and now.state is LinkState.ACTIVE, (chosen.consent_id, now)
        # Linked, and no revocation on its way: the user's signature pays.
        live = was is LinkState.ACTIVE and key is not None and not self.held
        assert done or not live, (chosen, [(m.method, m.path, m.body) for m in out])

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def roles_refuse_no_message_of_one_another(self) -> None:
        assert not self.internal_errors, [
            (m.method, m.path, m.source) for m in self.internal_errors
        ]

    @invariant()
    def consents_agree_once_nothing_is_in_flight(self) -> None:
        linking, state = self.roles.role(DFSP).linking, self.roles.sim.state
        for consent_id, linked in self.consents.items():
            consent = linking.consent(consent_id)
            # Forgotten only behaviour.retention_s after it failed (seen FAILED before).
            assert consent is not None or linked.last is LinkState.FAILED, consent_id
            linked.last = linked.last if consent is None else consent.state
        if self.held:
            return
        for consent_id, linked in self.consents.items():
            consent = linking.consent(consent_id)
            if consent is None:
                continue
            event(f"consent {consent.state.value}, PISP heard {sorted(map(_said, linked.told))}")
            held = state.auth_consents.get(consent_id)
            where = (consent_id, consent.state, held and held.status, linked.told)
            if held is None:
                assert consent.state in (LinkState.ISSUED, *LINK_TERMINAL), where
            else:
                assert (held.status == "REVOKED") == (consent.state in LINK_TERMINAL), where
            # The PISP knows where each consent stands: PATCH VERIFIED once linked (§3.6),
            # PATCH REVOKED for every revocation (§4.1, §4.2), an error for a failure.
            verified, revoked = linked.heard("verified"), linked.heard("revoked")
            if consent.state is LinkState.ACTIVE:
                assert verified and not revoked, where
            if consent.state is LinkState.REVOKED:
                assert revoked, where
            if consent.state is LinkState.FAILED:
                assert linked.heard("error") and not verified, where
            if verified:
                assert consent.state in (LinkState.ACTIVE, LinkState.REVOKED), where
            if revoked:  # by its authority: the DFSP may have failed it meanwhile
                assert consent.state in LINK_TERMINAL, where

    @invariant()
    def the_als_links_exactly_the_active_consents(self) -> None:
        if self.held:
            return
        state = self.roles.sim.state
        for address in ADDRESSES:
            active = [
                c.consent_id
                for _, c in state.consents.covering(address)
                if c.state is LinkState.ACTIVE
            ]
            entry = state.oracle.get(("THIRD_PARTY_LINK", address))
            assert entry == (DFSP if active else None), (address, entry, active)

    @invariant()
    def the_als_names_the_consents_the_auth_service_holds(self) -> None:
        if self.held:
            return
        state = self.roles.sim.state
        for consent_id in self.consents:
            held = state.auth_consents.get(consent_id)
            live = held is not None and held.status != "REVOKED"
            named = state.oracle.get(("CONSENT", consent_id))
            assert named == (AUTH if live else None), (consent_id, held and held.status, named)


# A passing run takes about 7 s; a failing one needs longer to shrink to its few steps.
@pytest.mark.timeout(300)
def test_linking_and_unlinking_keep_the_scheme_consistent() -> None:
    run_state_machine_as_test(
        Linking,
        settings=settings(
            max_examples=120,
            stateful_step_count=35,
            deadline=None,
            derandomize=True,  # the same examples on every run
            database=None,
            # No "explain" stage: tracing every line of a failing run slows its shrinking
            # several times over, and the shrunk steps say enough.
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            # Nothing timed: the too-slow check and the search for further bugs once one is
            # found (for 10 s) depend on the machine's speed.
            report_multiple_bugs=False,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# -- what the machine found -------------------------------------------------------------------


def machine_with(*steps: str) -> Linking:
    """A machine that took ``steps`` (``link carol 0 1``, ``slow als``...) as its rules do."""
    machine = Linking()
    machine.build()
    for step in steps:
        match step.split():
            case ["link", user, *which]:
                machine.link_at_once(user, tuple(int(i) for i in which))
            case ["slow", *slow]:
                machine.slow_down(frozenset(slow))
            case ["release"]:  # the first message held
                machine.carry([machine.held.pop(0)], released=True)
    return machine


def check(machine: Linking) -> None:
    """Everything arrives; every invariant holds."""
    machine.everything_arrives()
    machine.roles_refuse_no_message_of_one_another()
    machine.consents_agree_once_nothing_is_in_flight()
    machine.the_als_links_exactly_the_active_consents()
    machine.the_als_names_the_consents_the_auth_service_holds()


def test_a_consent_still_linking_cannot_pay() -> None:
    """Fixed in 86cf190: a LINKING consent (an ALS link still unconfirmed) paid."""
    machine = machine_with("slow als", "link carol 0 1", "release")  # its CONSENT entry
    [consent_id] = machine.consents
    assert machine.roles.role(DFSP).linking.consent(consent_id).state is LinkState.LINKING
    machine.transfer_from(CAROL_CHEQUING)  # asserts that only an ACTIVE consent completes
    check(machine)


def test_a_link_the_als_makes_after_the_consent_failed_is_removed() -> None:
    """Fixed in a91aaf8: when the ALS refused one link of a consent and then made another,
    the DFSP had forgotten it awaited that one, and left it at the ALS."""
    machine = machine_with("slow als", "link carol 0 1", "release")
    chequing, savings = machine.held  # POST /participants/THIRD_PARTY_LINK/{each}
    machine.held.clear()
    machine.refuse(chequing)  # the consent fails
    machine.carry([savings], released=True)  # the ALS makes the savings link
    check(machine)


def test_a_link_kept_for_a_consent_that_then_fails_is_removed() -> None:
    machine = machine_with("link carol 0", "slow als", "link carol 0", "release")
    first, second = machine.consents  # the second LINKING, its link's registration held
    machine.revoke_at_bank(first)  # the link stays: the second consent is linking it
    [registration] = machine.held  # POST /participants/THIRD_PARTY_LINK/{Carol's chequing}
    machine.held.clear()
    machine.refuse(registration)  # the second consent fails
    check(machine)


def test_a_consent_entry_the_als_makes_after_the_registration_timed_out_is_removed() -> None:
    machine = machine_with("slow als", "link carol 0")
    [registration] = machine.held  # POST /participants/CONSENT/{ID}
    machine.time_passes(65)  # the auth-service stops waiting: the consent fails
    machine.carry([registration], released=True)  # the ALS makes the entry after all
    check(machine)


def test_a_credential_verified_after_the_dfsp_forgot_the_consent_is_revoked() -> None:
    """The DFSP gave up on a credential the auth-service had not answered (70 s) and
    forgot the failed consent (retention_s); the auth-service's VERIFIED then gets 3200
    (unknown consent): the auth-service withdraws the consent and its ALS entry."""
    machine = machine_with("slow auth", "link carol 0")
    [verified] = machine.held  # PUT /consents/{ID} VERIFIED, from the auth-service
    machine.time_passes(400)  # the DFSP gives up at 70 s: FAILED, the PISP told 6200
    machine.consents_agree_once_nothing_is_in_flight()  # as after every step: seen FAILED
    machine.held.clear()
    machine.link_at_once("alice", (0,))  # the DFSP keeps a consent: it sweeps the failed one
    machine.carry([verified], released=True)
    check(machine)
