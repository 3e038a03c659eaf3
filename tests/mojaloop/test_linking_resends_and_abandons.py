"""Account linking under a resending or abandoning participant.

(A) An auth-service may deliver its ``PUT /consents/{ID}`` VERIFIED again (a resend, the
switch's retry). The DFSP has verified the consent already: the repeat changes nothing.
An error callback would be taken by the auth-service for the DFSP abandoning the consent
(``AuthService.put_consent_error``), and it would revoke a consent the DFSP and the PISP
hold linked.

(B) The PISP (``PUT /consents/{ID}/error``) may abandon a consent while the ALS registers
its THIRD_PARTY_LINKs. It fails as when the ALS refuses one of them: unpublished, the
links made removed from the ALS (those still awaited once confirmed), the auth-service
told it is revoked. The switch's error callback
in that state is about an answer to a ``GET`` only: the consent goes on linking.

(C) The DFSP waits for the ALS to confirm a consent's links as the auth-service waits for
its ``CONSENT`` entry: ``behaviour.linking.registration_timeout_s``. An answer a rule drops
ends the consent as a refusal does (the PISP told 6000, its links undone), as a restart
does (``tests/serve/test_durable_state.py``).

(D) The ALS is the hub's: only the hub answers a THIRD_PARTY_LINK request. A PISP's
``PUT /participants/THIRD_PARTY_LINK/{address}`` would have its own consent linked before
the ALS holds the address (or, as ``/error``, fail it): it is refused as an unknown id
(3200, the PISP told by an error callback; an error callback is refused unanswered), and
the ALS's own answer still decides.
"""

from __future__ import annotations

import pytest

from tests.mojaloop.roles.test_linking_races import Run
from tests.mojaloop.roles.test_unlinking import (
    MADE,
    SLOW,
    Held,
    late_link_removed,
    link_entry,
    linking_two,
    registered_holding,
    trace,
)
from tests.support.linking import CAROL_CHEQUING, CAROL_SAVINGS, new_authenticator, uid
from tests.support.linking_roles import (
    DFSP,
    PISP,
    credential_put,
    error_code,
    exchange,
    grant_consent,
)
from tests.support.roles import Roles
from tpsim.mojaloop.errors import IdNotFound
from tpsim.mojaloop.roles.states import LinkState

AUTH, HUB = "central-auth", "switch"
REVOKED = {"status": "REVOKED", "revokedAt": "2030-01-01T00:00:00.000Z"}
VERIFIED = {"credential": {"status": "VERIFIED"}}
GAVE_UP = {"errorInformation": {"errorCode": "5000", "errorDescription": "gave up"}}


# --- (A) the auth-service's VERIFIED delivered twice ------------------------------------------


@pytest.mark.parametrize("linked", [True, False], ids=["linked", "linking"])
def test_a_resent_verified_changes_nothing(linked: bool) -> None:
    roles = Roles.build()
    addresses = (CAROL_CHEQUING,) if linked else (CAROL_CHEQUING, CAROL_SAVINGS)
    consent_id, path, held = registered_holding(
        roles, f"resent-{linked}", lambda p: Held("PUT", p, AUTH), addresses=addresses
    )
    [verified] = held.messages
    slow = Held("POST", SLOW, DFSP)
    trace(roles, [verified], held=slow)  # verified: linked, or linking (savings awaited)

    assert trace(roles, [verified]) == [("PUT", path, AUTH, DFSP, verified.body)]

    assert roles.sim.state.auth_consents[consent_id].status == "ISSUED"
    assert roles.sim.state.oracle.get(("CONSENT", consent_id)) == AUTH
    consent = roles.role(DFSP).linking.consent(consent_id)
    assert consent.state is (LinkState.ACTIVE if linked else LinkState.LINKING)
    if not linked:  # the savings link confirmed: linked, the PISP told once
        hops = trace(roles, slow.messages)
        assert hops[-1] == ("PATCH", path, DFSP, PISP, VERIFIED)
        assert consent.state is LinkState.ACTIVE


# --- (B) a consent abandoned while its links are made -----------------------------------------


def test_a_consent_the_pisp_abandons_while_linking_leaves_nothing_behind() -> None:
    roles = Roles.build()
    consent_id, path, held = linking_two(roles, "abandoned-linking")
    error = roles.message("PUT", f"{path}/error", GAVE_UP, source=PISP, destination=DFSP)

    assert trace(roles, [error]) == [
        ("PUT", f"{path}/error", PISP, DFSP, GAVE_UP),
        ("DELETE", MADE, DFSP, HUB, None),
        ("PUT", MADE, HUB, DFSP, {}),
        ("PATCH", path, DFSP, AUTH, REVOKED),
        ("DELETE", f"/participants/CONSENT/{consent_id}", AUTH, HUB, None),
        ("PUT", f"/participants/CONSENT/{consent_id}", HUB, AUTH, {}),
    ]
    consent = roles.role(DFSP).linking.consent(consent_id)
    assert consent.state is LinkState.FAILED
    assert consent_id not in roles.sim.state.consents  # the payer side finds it no more
    assert roles.sim.state.auth_consents[consent_id].status == "REVOKED"
    late_link_removed(roles, held)  # the held link is removed once the ALS confirms it


def test_an_undelivered_answer_to_a_get_while_linking_leaves_the_consent_linking() -> None:
    roles = Roles.build()
    consent_id, path, held = linking_two(roles, "get-undelivered")
    error = roles.message("PUT", f"{path}/error", GAVE_UP, source=HUB, destination=DFSP)

    assert trace(roles, [error]) == [("PUT", f"{path}/error", HUB, DFSP, GAVE_UP)]

    assert trace(roles, held.messages)[-1] == ("PATCH", path, DFSP, PISP, VERIFIED)
    assert roles.role(DFSP).linking.consent(consent_id).state is LinkState.ACTIVE
    assert link_entry(roles, CAROL_CHEQUING) == link_entry(roles, CAROL_SAVINGS) == DFSP


# --- (C) the ALS's confirmation of a link never comes -----------------------------------------


def test_a_link_the_als_never_confirms_fails_the_consent_in_time() -> None:
    roles = Roles.build()
    run = Run(roles)
    grant = grant_consent(roles, uid("als-drops"), addresses=(CAROL_CHEQUING, CAROL_SAVINGS))
    consent_id = str((grant.body or {})["consentId"])
    path, body = credential_put(grant, new_authenticator("GENERIC"))
    dropped = Held("POST", SLOW, DFSP)  # its answer is never heard: a rule drops it
    run.carry([roles.message("PUT", path, body, source=PISP, destination=DFSP)], dropped)
    consent = roles.role(DFSP).linking.consent(consent_id)
    assert consent.state is LinkState.LINKING

    assert run.wait(59) == []  # behaviour.linking.registration_timeout_s: 60
    [(told, error), *undone] = [(h[:4], h[4]) for h in run.wait(2)]

    assert told == ("PUT", f"{path}/error", DFSP, PISP)
    assert error is not None and error["errorInformation"]["errorCode"] == "6000"
    assert CAROL_SAVINGS in error["errorInformation"]["errorDescription"]
    assert [hop for hop, _ in undone] == [
        ("DELETE", MADE, DFSP, HUB),
        ("PUT", MADE, HUB, DFSP),
        ("PATCH", path, DFSP, AUTH),
        ("DELETE", f"/participants/CONSENT/{consent_id}", AUTH, HUB),
        ("PUT", f"/participants/CONSENT/{consent_id}", HUB, AUTH),
    ]
    assert consent.state is LinkState.FAILED
    assert consent_id not in roles.sim.state.consents
    assert roles.sim.state.auth_consents[consent_id].status == "REVOKED"
    assert link_entry(roles, CAROL_CHEQUING) is None
    assert run.wait(3600) == []  # told once


# --- (D) an answer of the ALS from someone else -------------------------------------------


def test_only_the_hub_confirms_a_link_registration() -> None:
    roles = Roles.build()
    consent_id, path, held = linking_two(roles, "pisp-confirms")

    [told] = exchange(roles, "PUT", SLOW, {"fspId": DFSP}, source=PISP).messages

    assert (told.method, told.path, told.source, told.destination) == (
        "PUT", f"{SLOW}/error", DFSP, PISP,
    )  # fmt: skip
    assert error_code(told) == "3200"
    consent = roles.role(DFSP).linking.consent(consent_id)
    assert consent.state is LinkState.LINKING  # the savings link still awaited
    assert trace(roles, held.messages)[-1] == ("PATCH", path, DFSP, PISP, VERIFIED)
    assert consent.state is LinkState.ACTIVE


def test_only_the_hub_refuses_a_link_registration() -> None:
    roles = Roles.build()
    consent_id, path, held = linking_two(roles, "pisp-refuses")
    refusal = roles.message("PUT", f"{SLOW}/error", GAVE_UP, source=PISP, destination=DFSP)

    with pytest.raises(IdNotFound, match=f"only {HUB}"):
        roles.role(DFSP).handle(refusal)

    assert roles.role(DFSP).linking.consent(consent_id).state is LinkState.LINKING
    assert trace(roles, held.messages)[-1] == ("PATCH", path, DFSP, PISP, VERIFIED)
    assert link_entry(roles, CAROL_CHEQUING) == link_entry(roles, CAROL_SAVINGS) == DFSP


@pytest.mark.parametrize(
    ("suffix", "body"), [("", {"fspId": AUTH}), ("/error", GAVE_UP)], ids=["confirms", "refuses"]
)
def test_only_the_hub_answers_the_auth_services_consent_registration(
    suffix: str, body: dict[str, object]
) -> None:
    # The auth-service registers each consent it verifies at the ALS (CONSENT entries):
    # a PISP's answer in the ALS's stead would have it vouch for a consent the ALS does
    # not know of, or drop one it does.
    roles = Roles.build()
    path = f"/participants/CONSENT/{uid('pisp-answers-the-als')}{suffix}"
    answer = roles.message("PUT", path, body, source=PISP, destination=AUTH)

    with pytest.raises(IdNotFound, match=f"only {HUB}"):
        roles.role(AUTH).handle(answer)
