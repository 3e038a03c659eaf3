"""An ALS answer about a THIRD_PARTY_LINK lost, or late, and the next consent to the account.

The ALS answers ``POST`` and ``DELETE /participants/THIRD_PARTY_LINK/{address}`` with a
``PUT`` on the same path that names no request (``roles/link_registrations.py``). When a
rule drops its answer to a consent's registration (or a restart loses a delayed one), the
consent fails once ``behaviour.linking.registration_timeout_s`` has passed (6000). Before,
the request it never heard answered stayed first in the DFSP's queue for the address: the
ALS's confirmation of the next consent to the same account was credited to the failed
one, and the new consent failed in its turn (and with it every later link of the account).

A confirmation naming this DFSP says the ALS holds the address for it, whichever request
it answers: each consent still linking the address has its link; an answer the DFSP no
longer waits for still removes a link no live consent holds. Whatever the order - the
first answer lost for good, or late: before the next consent asks, after it asked but
before its own answer, after its own answer; a deletion of the failed consent's other link
crossing them - the new consent links as soon as the ALS confirms the address, the ALS
ends up naming the DFSP exactly for the accounts a live consent links, and the DFSP's
queue of unanswered requests empties (or, for answers lost for good, stays bounded).

``Run`` (``roles/test_linking_races.py``) carries each message as the switch does, depth
first, fires the roles' timers as the clock moves, and leaves uncarried what a ``Held``
keeps back; the last tests go through the router with real message rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest

from tests.mojaloop.roles.test_linking_races import Run
from tests.mojaloop.roles.test_unlinking import Held, link_entry
from tests.support.linking import CAROL_CHEQUING, CAROL_SAVINGS, new_authenticator, uid
from tests.support.linking_roles import DFSP, PISP, credential_put, grant_consent
from tests.support.roles import START, Roles
from tpsim.config import load_config, overlay, parse_config
from tpsim.core.clock import ManualClock, SequentialIds
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.states import LinkState
from tpsim.mojaloop.wire import headers as wire_headers
from tpsim.serve.simulation import Simulation
from tpsim.serve.transports import Recording, Transports

HUB = "switch"
LINK = "/participants/THIRD_PARTY_LINK"
CHEQUING, SAVINGS = f"{LINK}/{CAROL_CHEQUING}", f"{LINK}/{CAROL_SAVINGS}"
VERIFIED = {"credential": {"status": "VERIFIED"}}
CONFIRMED = {"fspId": DFSP}  # the ALS's answer to a registration
WAIT = 60  # behaviour.linking.registration_timeout_s


class Answer(Held):
    """The ALS's next confirmation of ``path`` to the DFSP, kept back: the ALS made the
    link, and a rule drops or delays its answer (carried later, or never)."""

    def __init__(self, path: str) -> None:
        super().__init__("PUT", path, HUB)

    def keeps(self, message: Message) -> bool:
        if self.messages or message.body != CONFIRMED:
            return False
        return super().keeps(message)


class DeletionAnswer(Held):
    """The ALS's answer to the DFSP's deletion of ``path`` (fspId empty), kept back."""

    def __init__(self, path: str) -> None:
        super().__init__("PUT", path, HUB)

    def keeps(self, message: Message) -> bool:
        return message.body == {} and super().keeps(message)


def awaited(roles: Roles) -> list[tuple[str, str]]:
    """The ALS requests the DFSP still awaits an answer to: (method, consentId) each."""
    queues = roles.sim.state.bank.store.records(f"{DFSP}/link-requests")
    return [(method, consent_id) for queue in queues for method, consent_id, _ in queue]


def state_of(roles: Roles, consent_id: str) -> LinkState:
    consent = roles.role(DFSP).linking.consent(consent_id)
    assert consent is not None, consent_id
    state: LinkState = consent.state
    return state


def verify(
    roles: Roles,
    run: Run,
    label: str,
    addresses: Sequence[str] = (CAROL_CHEQUING,),
    held: Held | None = None,
) -> tuple[str, str]:
    """A consent to Carol's ``addresses``, its credential sent and verified, its links
    asked of the ALS (what ``held`` keeps back not carried): its id and its path."""
    grant = grant_consent(roles, uid(label), addresses=addresses)
    path, body = credential_put(grant, new_authenticator("GENERIC"))
    run.carry([roles.message("PUT", path, body, source=PISP, destination=DFSP)], held)
    return str((grant.body or {})["consentId"]), path


def failed_in_time(roles: Roles, run: Run, consent_id: str, path: str) -> None:
    """The consent waits ``WAIT`` seconds for the ALS, then fails: the PISP told 6000."""
    assert state_of(roles, consent_id) is LinkState.LINKING
    assert run.wait(WAIT - 1) == []
    run.wait(1)
    assert state_of(roles, consent_id) is LinkState.FAILED
    [told] = run.told_pisp(path)
    assert told[:2] == ("PUT", f"{path}/error")
    assert (told[4] or {})["errorInformation"]["errorCode"] == "6000"


def revoked(roles: Roles, run: Run, consent_id: str, held: Held | None = None) -> None:
    """Carol revokes the consent at her bank."""
    run.carry(roles.role(DFSP).linking.revoke(consent_id).messages, held)
    assert state_of(roles, consent_id) is LinkState.REVOKED


def unlinked_at_the_bank(roles: Roles, run: Run, consent_id: str) -> None:
    """Carol revokes the consent at her bank: none of her links stays at the ALS."""
    revoked(roles, run, consent_id)
    assert link_entry(roles, CAROL_CHEQUING) is None
    assert link_entry(roles, CAROL_SAVINGS) is None


# --- the first consent's answer lost for good --------------------------------------------------


@pytest.mark.parametrize("lost", ["answer", "request"])
def test_a_lost_answer_does_not_keep_the_next_consent_to_the_account_from_linking(
    lost: str,
) -> None:
    # answer: a rule drops the ALS's confirmation (the ALS made the link); request: the
    # DFSP's registration never reached the ALS.
    roles = Roles.build()
    run = Run(roles)
    dropped = Answer(CHEQUING) if lost == "answer" else Held("POST", CHEQUING, DFSP)
    first, first_path = verify(roles, run, f"lost-{lost}", held=dropped)
    assert len(dropped.messages) == 1
    failed_in_time(roles, run, first, first_path)

    second, path = verify(roles, run, f"after-lost-{lost}")

    assert run.told_pisp(path) == [("PATCH", path, DFSP, PISP, VERIFIED)]
    assert state_of(roles, second) is LinkState.ACTIVE
    assert link_entry(roles, CAROL_CHEQUING) == DFSP
    # Still awaited: the failed consent's registration, not the new one's.
    assert awaited(roles) == [("POST", first)]
    assert run.wait(3600) == []  # no timer left to fail it
    assert state_of(roles, second) is LinkState.ACTIVE
    unlinked_at_the_bank(roles, run, second)
    assert awaited(roles) == []  # forgotten (registration_timeout_s + retention_s)


def test_every_later_consent_links_after_several_lost_answers() -> None:
    roles = Roles.build()
    run = Run(roles)
    for n in range(3):
        consent_id, path = verify(roles, run, f"lost-again-{n}", held=Answer(CHEQUING))
        failed_in_time(roles, run, consent_id, path)
    for n in range(2):
        consent_id, path = verify(roles, run, f"linked-again-{n}")
        assert state_of(roles, consent_id) is LinkState.ACTIVE, n
        assert link_entry(roles, CAROL_CHEQUING) == DFSP
        unlinked_at_the_bank(roles, run, consent_id)


def test_a_confirmation_links_every_consent_linking_the_account() -> None:
    # Two PISPs' consents (here: two of one PISP) link the account at once; the ALS's answer
    # to the first registration is lost. The second's confirmation says the ALS holds the
    # account for the DFSP: both link, neither waits for an answer that will not come.
    roles = Roles.build()
    run = Run(roles)
    first, first_path = verify(roles, run, "together-first", held=Answer(CHEQUING))
    second, path = verify(roles, run, "together-second")

    for consent_id, told in ((first, first_path), (second, path)):
        assert state_of(roles, consent_id) is LinkState.ACTIVE
        assert run.told_pisp(told) == [("PATCH", told, DFSP, PISP, VERIFIED)]
    assert link_entry(roles, CAROL_CHEQUING) == DFSP
    # The lost answer's registration stays awaited (forgotten in time): an answer coming
    # after all is still taken for it.
    assert awaited(roles) == [("POST", second)]  # the oldest registration was answered
    assert run.wait(3600) == []
    revoked(roles, run, first)
    assert link_entry(roles, CAROL_CHEQUING) == DFSP  # the second still holds it
    unlinked_at_the_bank(roles, run, second)
    assert awaited(roles) == []


def test_a_registration_the_als_makes_after_its_consents_ended_is_removed() -> None:
    # The ALS is slow to take the registrations of two consents to the account (the
    # requests held back); it makes the first: both link. Both are revoked (the link is
    # deleted); then the ALS takes the second registration and makes the link again. Its
    # confirmation answers a registration the DFSP sent, and no live consent holds the
    # link: it is removed.
    roles = Roles.build()
    run = Run(roles)
    slow = Held("POST", CHEQUING, DFSP)
    first, _ = verify(roles, run, "slow-first", held=slow)
    second, _ = verify(roles, run, "slow-second", held=slow)
    one, other = slow.messages
    run.carry([one])
    assert state_of(roles, first) is state_of(roles, second) is LinkState.ACTIVE
    revoked(roles, run, first)
    unlinked_at_the_bank(roles, run, second)

    assert run.carry([other]) == [
        ("POST", CHEQUING, DFSP, HUB, CONFIRMED),
        ("PUT", CHEQUING, HUB, DFSP, CONFIRMED),
        ("DELETE", CHEQUING, DFSP, HUB, None),
        ("PUT", CHEQUING, HUB, DFSP, {}),
    ]
    assert link_entry(roles, CAROL_CHEQUING) is None
    assert awaited(roles) == []


# --- the first consent's answer late ------------------------------------------------------------


def test_a_late_answer_before_the_next_consent_asks_removes_the_failed_consents_link() -> None:
    roles = Roles.build()
    run = Run(roles)
    late = Answer(CHEQUING)
    first, first_path = verify(roles, run, "late-early", held=late)
    failed_in_time(roles, run, first, first_path)

    assert run.carry(late.messages) == [
        ("PUT", CHEQUING, HUB, DFSP, CONFIRMED),
        ("DELETE", CHEQUING, DFSP, HUB, None),  # nobody links the account now
        ("PUT", CHEQUING, HUB, DFSP, {}),
    ]
    assert link_entry(roles, CAROL_CHEQUING) is None
    assert awaited(roles) == []

    second, path = verify(roles, run, "late-early-next")
    assert run.told_pisp(path) == [("PATCH", path, DFSP, PISP, VERIFIED)]
    assert state_of(roles, second) is LinkState.ACTIVE
    assert link_entry(roles, CAROL_CHEQUING) == DFSP
    assert awaited(roles) == []
    unlinked_at_the_bank(roles, run, second)
    assert awaited(roles) == []


@pytest.mark.parametrize("first_late", [True, False], ids=["late-first", "own-first"])
def test_a_late_answer_crossing_the_next_consents_registration(first_late: bool) -> None:
    # The failed consent's late confirmation and the new consent's own arrive in either
    # order: the new consent links at the first (the ALS holds the account for the DFSP
    # either way), the other changes nothing, and the link stays.
    roles = Roles.build()
    run = Run(roles)
    late = Answer(CHEQUING)
    first, first_path = verify(roles, run, f"crossing-{first_late}", held=late)
    failed_in_time(roles, run, first, first_path)
    own = Answer(CHEQUING)
    second, path = verify(roles, run, f"crossing-next-{first_late}", held=own)
    assert state_of(roles, second) is LinkState.LINKING

    one, other = (late, own) if first_late else (own, late)
    assert run.carry(one.messages) == [
        ("PUT", CHEQUING, HUB, DFSP, CONFIRMED),
        ("PATCH", path, DFSP, PISP, VERIFIED),
    ]
    assert state_of(roles, second) is LinkState.ACTIVE
    assert run.carry(other.messages) == [("PUT", CHEQUING, HUB, DFSP, CONFIRMED)]

    assert run.told_pisp(path) == [("PATCH", path, DFSP, PISP, VERIFIED)]
    assert state_of(roles, second) is LinkState.ACTIVE
    assert state_of(roles, first) is LinkState.FAILED
    assert link_entry(roles, CAROL_CHEQUING) == DFSP
    assert awaited(roles) == []
    assert run.wait(3600) == []
    unlinked_at_the_bank(roles, run, second)
    assert awaited(roles) == []


# --- the failed consent's deletion of its other link crossing them ------------------------------


@pytest.mark.parametrize("late", ["never", "before-own", "after-own"])
@pytest.mark.parametrize("deletion", ["answered", "late", "lost"])
def test_a_failed_consents_deletion_and_late_answer_crossing_the_next_consent(
    late: str, deletion: str
) -> None:
    # The first consent to both accounts has its chequing link made; the ALS's answer for
    # the savings link is lost. It fails in time, and its chequing link is deleted
    # (the ALS's answer to that: at once, late, or never). The next consent to both
    # accounts links as soon as the ALS confirms them, the failed consent's late savings
    # answer (never, before or after the new consent's own) notwithstanding.
    roles = Roles.build()
    run = Run(roles)
    both = (CAROL_CHEQUING, CAROL_SAVINGS)
    savings_answer = Answer(SAVINGS)
    first, first_path = verify(roles, run, f"x-{late}-{deletion}", both, held=savings_answer)
    assert state_of(roles, first) is LinkState.LINKING
    assert link_entry(roles, CAROL_CHEQUING) == DFSP
    deleted = DeletionAnswer(CHEQUING) if deletion != "answered" else None
    assert run.wait(WAIT - 1, deleted) == []
    undone = run.wait(1, deleted)
    assert ("DELETE", CHEQUING, DFSP, HUB, None) in undone
    assert state_of(roles, first) is LinkState.FAILED
    assert link_entry(roles, CAROL_CHEQUING) is None

    own_savings = Answer(SAVINGS)
    second, path = verify(roles, run, f"y-{late}-{deletion}", both, held=own_savings)
    assert link_entry(roles, CAROL_CHEQUING) == DFSP
    assert state_of(roles, second) is LinkState.LINKING  # its savings link unconfirmed
    if late == "before-own":
        run.carry(savings_answer.messages)
        assert state_of(roles, second) is LinkState.ACTIVE
    run.carry(own_savings.messages)
    assert state_of(roles, second) is LinkState.ACTIVE
    if late == "after-own":
        assert run.carry(savings_answer.messages) == [("PUT", SAVINGS, HUB, DFSP, CONFIRMED)]
    if deletion == "late" and deleted is not None:
        assert run.carry(deleted.messages) == [("PUT", CHEQUING, HUB, DFSP, {})]

    assert run.told_pisp(path) == [("PATCH", path, DFSP, PISP, VERIFIED)]
    assert link_entry(roles, CAROL_CHEQUING) == link_entry(roles, CAROL_SAVINGS) == DFSP
    assert state_of(roles, first) is LinkState.FAILED
    assert run.wait(3600) == []
    assert state_of(roles, second) is LinkState.ACTIVE
    unlinked_at_the_bank(roles, run, second)
    assert awaited(roles) == []


# --- the queue stays bounded ----------------------------------------------------------------------


def test_answers_lost_for_good_do_not_pile_up() -> None:
    # Every registration's answer dropped, then every deletion's: what the DFSP stopped
    # waiting for is forgotten registration_timeout_s + retention_s (60 + 300 s) after it
    # was sent, so at one request a minute the DFSP awaits the last six at most.
    roles = Roles.build()
    run = Run(roles)
    consents = []
    for n in range(12):
        consent_id, path = verify(roles, run, f"pile-{n}", held=Answer(CHEQUING))
        failed_in_time(roles, run, consent_id, path)
        consents.append(consent_id)
        assert len(awaited(roles)) <= 6, n
    assert awaited(roles) == [("POST", c) for c in consents[-6:]]
    ended = []
    for n in range(12):
        consent_id, _ = verify(roles, run, f"pile-deleted-{n}")
        assert state_of(roles, consent_id) is LinkState.ACTIVE
        ended.append(consent_id)
        revoked(roles, run, consent_id, DeletionAnswer(CHEQUING))
        run.wait(WAIT)
        assert len(awaited(roles)) <= 6, n
    assert awaited(roles) == [("DELETE", c) for c in ended[-6:]]


# --- through the router, with message rules ---------------------------------------------------


def first_minute_rule(then: dict[str, Any]) -> dict[str, Any]:
    """A rule about the ALS's answers to the DFSP's THIRD_PARTY_LINK registrations sent in
    the clock's first minute (its Date header): the first consent's, not the next's."""
    date = wire_headers.format_http_date(START)
    assert date.endswith(" 00:00:00 GMT"), date
    minute = date.removesuffix(" 00:00:00 GMT")
    return {
        "name": "als-answer",
        "when": {
            "method": "POST",
            "receiver": HUB,
            "type": "THIRD_PARTY_LINK",
            "header.Date": f"re:{minute} 00:00:.. GMT",
        },
        "then": then,
    }


class Routed:
    """A simulation whose messages go through its router (rules and all), its PISP a
    ``Recording`` and its clock manual: timers and delayed answers fire as it moves."""

    def __init__(self, rule: dict[str, Any]) -> None:
        data = overlay(load_config().model_dump(mode="json"), {"rules": [rule]})
        self.clock = ManualClock(START)
        self.pisp = Recording()
        self.sim = Simulation(
            parse_config(data),
            clock=self.clock,
            ids=SequentialIds(),
            transports=Transports(lambda _: self.pisp),
        )
        self.roles = Roles(self.sim, self.clock)

    async def link(self, label: str) -> tuple[str, str]:
        """A consent to Carol's chequing account, its credential sent through the router."""
        grant = grant_consent(self.roles, uid(label))
        path, body = credential_put(grant, new_authenticator("GENERIC"))
        self.sim.router.submit(self.roles.message("PUT", path, body, source=PISP, destination=DFSP))
        await self.sim.router.drain()
        return str((grant.body or {})["consentId"]), path

    async def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.sim.router.drain()

    def told(self, path: str) -> list[tuple[str, str]]:
        return [(m.method, m.path) for m in self.pisp.received if m.path in (path, f"{path}/error")]


@pytest.fixture
async def routed() -> AsyncIterator[list[Routed]]:
    made: list[Routed] = []
    yield made
    for one in made:
        await one.sim.close()


@pytest.mark.parametrize(
    "then", [{"drop": True}, {"delay_s": 90}, {"delay_s": 150}], ids=["drop", "late", "later"]
)
async def test_a_rule_on_the_first_answer_leaves_the_next_consent_to_link(
    routed: list[Routed], then: dict[str, Any]
) -> None:
    # drop: lost for good; late: it arrives once the next consent linked; later: after
    # the next consent was revoked (its confirmation then names a link nobody holds).
    tpsim = Routed(first_minute_rule(then))
    routed.append(tpsim)
    first, first_path = await tpsim.link("routed-first")
    state = tpsim.sim.dfsps[DFSP].linking
    assert state.consent(first).state is LinkState.LINKING
    await tpsim.wait(WAIT)
    assert state.consent(first).state is LinkState.FAILED
    assert tpsim.told(first_path) == [("PUT", f"{first_path}/error")]

    second, path = await tpsim.link("routed-second")

    assert tpsim.told(path) == [("PATCH", path)]
    assert state.consent(second).state is LinkState.ACTIVE
    assert link_entry(tpsim.roles, CAROL_CHEQUING) == DFSP
    await tpsim.wait(45)  # 105 s: a late answer has come
    assert state.consent(second).state is LinkState.ACTIVE
    assert link_entry(tpsim.roles, CAROL_CHEQUING) == DFSP
    tpsim.sim.router.submit_effects(DFSP, state.revoke(second))
    await tpsim.sim.router.drain()
    assert link_entry(tpsim.roles, CAROL_CHEQUING) is None
    await tpsim.wait(timedelta(hours=1).total_seconds())
    assert link_entry(tpsim.roles, CAROL_CHEQUING) is None
    assert tpsim.told(path) == [("PATCH", path), ("PATCH", path)]  # VERIFIED, then REVOKED
    # Awaited still (until forgotten): the dropped answer's registration; nothing else.
    assert awaited(tpsim.roles) == ([("POST", first)] if "drop" in then else [])
