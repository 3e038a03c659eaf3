"""Races in account linking around the hub auth-service, replayed without sockets (the
style of ``test_unlinking.py``: every message carried as the switch carries it, depth
first, a slow participant's messages held back until the test carries them).

1. The auth-service waits for the ALS's ``PUT /participants/CONSENT/{ID}`` for
   ``behaviour.linking.registration_timeout_s``. An answer that never comes (a rule's
   ``drop``) or comes later (a rule's ``delay_s``) fails the registration: the DFSP is
   told (6000), fails the consent and tells the PISP, and the ALS's entry is deleted.
   Before, nobody stopped waiting: the consent stayed REGISTERING for ever, and neither
   the PISP's DELETE nor the user at the bank could end it.
2. The auth-service refusing the DFSP's own ``DELETE /consents/{ID}`` after the PISP's
   unlinked the consent is harmless: only the DFSP hears it, and takes it quietly. So is
   the mirror race now: the auth-service's ``PATCH`` REVOKED reaching a consent whose links
   the ALS refused meanwhile (it was answered with an error callback).

Unlike ``test_unlinking.trace`` the ``Run`` below also keeps the roles' timers, and
``Run.wait`` moves the clock firing each one as it falls due, as the router does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from tests.mojaloop.roles.test_unlinking import Held, Hop, hop, link_entry, linked, refuse
from tests.support.linking import CAROL_CHEQUING, CAROL_SAVINGS, CONSENTS, new_authenticator, uid
from tests.support.linking_roles import (
    DFSP,
    PISP,
    credential_put,
    deliver,
    grant_consent,
    simulated,
)
from tests.support.roles import Roles
from tpsim.mojaloop.errors import TransactionStateError
from tpsim.mojaloop.message import Message, Timer
from tpsim.mojaloop.roles.states import LinkState

AUTH, HUB = "central-auth", "switch"
REVOKED_AT = "2030-01-01T00:00:00.000Z"  # the clock of tests.support.roles, unmoved
REVOKED = {"status": "REVOKED", "revokedAt": REVOKED_AT}
VERIFIED = {"credential": {"status": "VERIFIED"}}  # the DFSP's PATCH once linked
MADE = f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"
SLOW = f"/participants/THIRD_PARTY_LINK/{CAROL_SAVINGS}"


class HeldFor(Held):
    """``Held``, for one destination only (the auth-service's PATCH to the DFSP, not the
    one to the PISP)."""

    def __init__(self, method: str, path: str, source: str, destination: str) -> None:
        super().__init__(method, path, source)
        self.destination = destination

    def keeps(self, message: Message) -> bool:
        return message.destination == self.destination and super().keeps(message)


class Run:
    """Messages carried between the simulated roles as the switch carries them, depth
    first; every hop, and the timers the roles set (fired by ``wait``)."""

    def __init__(self, roles: Roles) -> None:
        self.roles = roles
        self.hops: list[Hop] = []
        self.timers: dict[tuple[str, str], Timer] = {}

    def carry(self, messages: Sequence[Message], held: Held | None = None) -> list[Hop]:
        """Carry ``messages`` and what they cause (what ``held`` keeps back is not carried);
        the hops they made."""
        start = len(self.hops)
        for message in messages:
            if held is not None and held.keeps(message):
                continue
            self.hops.append(hop(message))
            to = message.destination or self.roles.config.hub.name
            if not simulated(self.roles, to):
                continue
            effects = deliver(self.roles, message)
            for key in effects.cancel:
                self.timers.pop((to, key), None)
            for timer in effects.timers:
                self.timers[(to, timer.key)] = timer
            self.carry(effects.messages, held)
        return self.hops[start:]

    def wait(self, seconds: float, held: Held | None = None) -> list[Hop]:
        """Move the clock ``seconds`` on, firing each timer as it falls due."""
        clock = self.roles.clock
        end = clock.now() + timedelta(seconds=seconds)
        start = len(self.hops)
        while due := [(t.at, owner, t.key) for (owner, _), t in self.timers.items() if t.at <= end]:
            at, owner, key = min(due)
            del self.timers[(owner, key)]
            clock.advance(max(0.0, (at - clock.now()).total_seconds()))
            self.carry(self.roles.role(owner).on_timer(key).messages, held)
        clock.advance((end - clock.now()).total_seconds())
        return self.hops[start:]

    def told_pisp(self, path: str) -> list[Hop]:
        """What reached the PISP about ``path`` (its callbacks and error callbacks)."""
        return [h for h in self.hops if h[3] == PISP and h[1] in (path, f"{path}/error")]


def registering(
    roles: Roles, run: Run, label: str, addresses: Sequence[str] = (CAROL_CHEQUING,)
) -> tuple[str, str, Held]:
    """A consent to Carol's ``addresses`` whose credential the PISP sent, the ALS's answer
    to the auth-service's ``POST /participants/CONSENT/{ID}`` held back: its id, its
    path and what was held."""
    grant = grant_consent(roles, uid(label), addresses=addresses)
    consent_id = str((grant.body or {})["consentId"])
    path, body = credential_put(grant, new_authenticator("GENERIC"))
    held = Held("PUT", f"/participants/CONSENT/{consent_id}", HUB)
    run.carry([roles.message("PUT", path, body, source=PISP, destination=DFSP)], held)
    assert len(held.messages) == 1
    return consent_id, path, held


def state_of(roles: Roles, consent_id: str) -> LinkState:
    consent = roles.role(DFSP).linking.consent(consent_id)
    assert consent is not None
    state: LinkState = consent.state
    return state


# --- 1. the auth-service waiting for the ALS ------------------------------------------------------


def test_an_als_answer_within_the_wait_still_links() -> None:
    # A slow ALS (a rule's delay_s of 30 s) delays the link, no more.
    roles = Roles.build()
    run = Run(roles)
    consent_id, path, held = registering(roles, run, "als-slow")
    assert state_of(roles, consent_id) is LinkState.REGISTERING

    run.wait(30)
    run.carry(held.messages)

    assert run.told_pisp(path) == [("PATCH", path, DFSP, PISP, VERIFIED)]
    assert state_of(roles, consent_id) is LinkState.ACTIVE
    assert roles.sim.state.oracle.get(("CONSENT", consent_id)) == AUTH


def test_an_als_that_never_answers_fails_the_registration() -> None:
    # A rule drops the ALS's answer. The auth-service stops waiting: the PISP is told the
    # credential was not registered (once), the DFSP's consent ends, and neither the
    # auth-service nor the ALS keeps vouching for a consent nobody linked.
    roles = Roles.build()
    run = Run(roles)
    consent_id, path, _dropped = registering(roles, run, "als-silent")

    run.wait(3600)

    [told] = run.told_pisp(path)
    assert (told[0], told[1]) == ("PUT", f"{path}/error")
    assert state_of(roles, consent_id) is LinkState.FAILED
    auth = roles.sim.state.auth_consents.get(consent_id)
    assert auth is None or auth.status == "REVOKED"
    assert ("CONSENT", consent_id) not in roles.sim.state.oracle


def test_an_als_answer_after_the_auth_service_stopped_waiting() -> None:
    # The ALS answers after 400 s (a rule's delay_s). Meanwhile another registration
    # reaches the auth-service (which sweeps what it has forgotten). Whatever the outcome,
    # the consent may not stay REGISTERING, the PISP hears exactly one outcome, and the
    # ALS's CONSENT entry agrees with it.
    roles = Roles.build()
    run = Run(roles)
    consent_id, path, held = registering(roles, run, "als-late")

    run.wait(301)
    other, _, other_held = registering(roles, run, "als-other", addresses=(CAROL_SAVINGS,))
    run.carry(other_held.messages)
    assert state_of(roles, other) is LinkState.ACTIVE
    run.wait(99)
    run.carry(held.messages)

    assert state_of(roles, consent_id) is not LinkState.REGISTERING
    [told] = run.told_pisp(path)
    registered = roles.sim.state.oracle.get(("CONSENT", consent_id))
    if told[:2] == ("PATCH", path):  # linked after all
        assert state_of(roles, consent_id) is LinkState.ACTIVE and registered == AUTH
    else:
        assert told[:2] == ("PUT", f"{path}/error")
        assert state_of(roles, consent_id) is LinkState.FAILED and registered is None


def test_while_registering_nobody_but_the_auth_service_can_end_the_consent() -> None:
    # Why the auth-service must stop waiting: the DFSP refuses the PISP's DELETE (3000) and the
    # user's revocation at the bank until the auth-service answers, and the auth-service
    # does not know a consent it has not registered yet (3200).
    roles = Roles.build()
    run = Run(roles)
    consent_id, path, _held = registering(roles, run, "als-stuck")

    at_dfsp = run.carry([roles.message("DELETE", path, source=PISP, destination=DFSP)])
    at_auth = run.carry([roles.message("DELETE", path, source=PISP, destination=AUTH)])

    assert [(h[2], h[3], error_code_of(h)) for h in (at_dfsp[-1], at_auth[-1])] == [
        (DFSP, PISP, "3000"),
        (AUTH, PISP, "3200"),
    ]
    with pytest.raises(TransactionStateError, match="once the auth-service has answered"):
        roles.role(DFSP).linking.revoke(consent_id)
    assert state_of(roles, consent_id) is LinkState.REGISTERING


def error_code_of(h: Hop) -> str:
    return str((h[4] or {})["errorInformation"]["errorCode"])


def verifying(roles: Roles, run: Run, label: str) -> tuple[str, str, Held]:
    """A consent to Carol's chequing account whose credential the PISP sent, the DFSP's
    ``POST /consents`` to the auth-service held back: its id, its path and what was held."""
    grant = grant_consent(roles, uid(label))
    consent_id = str((grant.body or {})["consentId"])
    path, body = credential_put(grant, new_authenticator("GENERIC"))
    held = Held("POST", "/consents", DFSP)
    run.carry([roles.message("PUT", path, body, source=PISP, destination=DFSP)], held)
    assert len(held.messages) == 1
    return consent_id, path, held


def test_an_auth_service_that_never_answers_fails_the_credential() -> None:
    # An auth-service that takes POST /consents and never answers (an external one, or a
    # rule dropping the answers): the DFSP waits the auth-service's own wait and one
    # delivery (60 + 10 s), then tells the PISP the credential was not verified.
    roles = Roles.build()
    run = Run(roles)
    consent_id, path, _lost = verifying(roles, run, "auth-silent")

    assert run.wait(69) == []
    run.wait(1)

    [told] = run.told_pisp(path)
    assert told[:4] == ("PUT", f"{path}/error", DFSP, PISP)
    assert error_code_of(told) == "6200"
    assert state_of(roles, consent_id) is LinkState.FAILED


def test_a_credential_verified_after_the_dfsp_gave_up_is_revoked_at_the_auth_service() -> None:
    # The auth-service's VERIFIED comes after the DFSP failed the consent: the DFSP links
    # nothing and tells the auth-service it is revoked, so neither it nor the ALS vouches
    # for a consent the PISP was told failed.
    roles = Roles.build()
    run = Run(roles)
    consent_id, path, held = verifying(roles, run, "auth-late")
    run.wait(70)

    late = run.carry(held.messages)

    [revoked] = [h for h in late if h[:4] == ("PATCH", path, DFSP, AUTH)]
    assert (revoked[4] or {})["status"] == "REVOKED"
    assert not any("THIRD_PARTY_LINK" in h[1] for h in late)
    assert [h[:2] for h in run.told_pisp(path)] == [("PUT", f"{path}/error")]  # told once
    assert state_of(roles, consent_id) is LinkState.FAILED
    assert roles.sim.state.auth_consents[consent_id].status == "REVOKED"
    assert ("CONSENT", consent_id) not in roles.sim.state.oracle


# --- 2. the PISP and the DFSP both revoking a hub-hosted consent ------------------------------


def test_the_dfsp_revoking_after_the_pisp_unlinked_is_refused_quietly() -> None:
    # The PISP's DELETE has revoked the consent at the auth-service; its PATCH to the DFSP
    # is still on its way when the user revokes at the bank. The auth-service refuses the
    # DFSP's DELETE (6103: already revoked), to the DFSP only, which takes it quietly:
    # the PISP hears REVOKED once, every ALS entry is removed once.
    roles = Roles.build()
    run = Run(roles)
    consent_id = linked(roles, label="-race-a")
    path = f"{CONSENTS}/{consent_id}"
    consent_path = f"/participants/CONSENT/{consent_id}"
    to_dfsp = HeldFor("PATCH", path, AUTH, DFSP)
    run.carry([roles.message("DELETE", path, source=PISP, destination=DFSP)], to_dfsp)

    hops = run.carry(roles.role(DFSP).linking.revoke(consent_id).messages)
    late = run.carry(to_dfsp.messages)

    assert [h[:4] for h in hops] == [
        ("DELETE", path, DFSP, AUTH),
        ("PUT", f"{path}/error", AUTH, DFSP),  # nothing answers it
        ("DELETE", MADE, DFSP, HUB),
        ("PUT", MADE, HUB, DFSP),
    ]
    assert error_code_of(hops[1]) == "6103"
    assert late == [("PATCH", path, AUTH, DFSP, REVOKED)]  # taken quietly
    assert run.told_pisp(path) == [("PATCH", path, AUTH, PISP, REVOKED)]
    deletions = [h[1] for h in run.hops if h[0] == "DELETE" and h[2] != PISP]
    assert sorted(deletions) == sorted([path, consent_path, MADE])
    assert state_of(roles, consent_id) is LinkState.REVOKED
    assert roles.sim.state.auth_consents[consent_id].status == "REVOKED"
    assert link_entry(roles, CAROL_CHEQUING) is None
    assert ("CONSENT", consent_id) not in roles.sim.state.oracle


def test_the_pisps_delete_arriving_after_the_bank_revoked_is_told_it_was_revoked() -> None:
    # The other order: the user revokes at the bank while the PISP's DELETE is on its way
    # to the auth-service. The PISP hears REVOKED (from the DFSP's DELETE), then its own
    # DELETE answered 6103 "was revoked at", as any DELETE of a revoked consent is.
    roles = Roles.build()
    run = Run(roles)
    consent_id = linked(roles, label="-race-b")
    path = f"{CONSENTS}/{consent_id}"
    redirected = Held("DELETE", path, PISP)
    redirected_to_auth = deliver(
        roles, roles.message("DELETE", path, source=PISP, destination=DFSP)
    )
    run.carry(redirected_to_auth.messages, redirected)

    run.carry(roles.role(DFSP).linking.revoke(consent_id).messages)
    late = run.carry(redirected.messages)

    assert [h[:4] for h in late] == [
        ("DELETE", path, PISP, AUTH),
        ("PUT", f"{path}/error", AUTH, PISP),
    ]
    assert error_code_of(late[1]) == "6103"
    assert [h[:2] for h in run.told_pisp(path)] == [("PATCH", path), ("PUT", f"{path}/error")]
    assert state_of(roles, consent_id) is LinkState.REVOKED
    assert ("CONSENT", consent_id) not in roles.sim.state.oracle


def test_the_auth_services_revocation_of_a_consent_whose_links_failed_is_taken_quietly() -> None:
    # The PISP unlinks while the ALS registers the consent's second link. The ALS refuses
    # that link before the auth-service's PATCH REVOKED reaches the DFSP, so the DFSP
    # fails the consent (6000 to the PISP, its own PATCH REVOKED to the auth-service,
    # which takes it quietly). The auth-service's PATCH then finds a consent that has
    # ended: nothing is left to do, and the auth-service did nothing wrong.
    roles = Roles.build()
    run = Run(roles)
    grant = grant_consent(roles, uid("race-c"), addresses=(CAROL_CHEQUING, CAROL_SAVINGS))
    consent_id = str((grant.body or {})["consentId"])
    path, body = credential_put(grant, new_authenticator("GENERIC"))
    slow = Held("POST", SLOW, DFSP)
    run.carry([roles.message("PUT", path, body, source=PISP, destination=DFSP)], slow)
    to_dfsp = HeldFor("PATCH", path, AUTH, DFSP)
    run.carry([roles.message("DELETE", path, source=PISP, destination=DFSP)], to_dfsp)
    [registration] = slow.messages
    refused = refuse(roles, CAROL_SAVINGS)(registration)  # the ALS's 3200 in its place
    assert refused is not None
    failed = run.carry([refused])
    assert ("PATCH", path, DFSP, AUTH, REVOKED) in failed
    assert not any(h[2] == AUTH for h in failed)  # the auth-service took it quietly
    assert state_of(roles, consent_id) is LinkState.FAILED

    late = run.carry(to_dfsp.messages)

    assert late == [("PATCH", path, AUTH, DFSP, REVOKED)]  # no PUT /consents/{ID}/error back
