"""A simulated DFSP's consents without sockets (linking patterns §3.2, §3.5-3.6, §4.1): every
transition of ``consent_state.TRANSITIONS`` driven by the message that causes it, relayed
through the simulated auth-service and the hub's ALS, and every refusal with its code.

The DFSP keeps one record per consent: the one ``SchemeState.consents`` publishes to the
payer side once the credential is verified, so its revocation reaches transfers at once.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.mojaloop.roles.test_linking_consents import BAD_CREDENTIALS
from tests.support.linking import (
    CAROL,
    CAROL_CHEQUING,
    CAROL_SAVINGS,
    CONSENTS,
    PROFILES,
    TRANSFER,
    code,
    new_authenticator,
    uid,
)
from tests.support.linking_roles import (
    DFSP,
    PISP,
    credential_put,
    deliver,
    error_code,
    error_text,
    exchange,
    grant_consent,
    link,
    register,
    relay,
)
from tests.support.overrides import with_consent
from tests.support.roles import Roles
from tests.support.scheme import FIDO_ACCOUNT, FIDO_CONSENT, GENERIC_CONSENT
from tpsim.mojaloop.errors import ConsentNotFound, ConsentNotValid
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.consent_state import Consent
from tpsim.mojaloop.roles.states import LinkState

REQUEST_ID = uid("unit-linking")
AUTH, HUB = "central-auth", "switch"
REVOKED_AT = "2030-01-01T00:00:00.000Z"  # the clock of tests.support.roles does not move


def consent_of(roles: Roles, consent_id: str) -> Consent:
    """The DFSP's record of ``consent_id``."""
    consent: Consent | None = roles.role(DFSP).linking.consent(consent_id)
    assert consent is not None, consent_id
    return consent


def consent_id_of(grant: Message) -> str:
    return str((grant.body or {})["consentId"])


def put_credential(roles: Roles, grant: Message, **changes: Any) -> Message:
    """The PISP's ``PUT /consents/{ID}`` (a FIDO credential) as far as the DFSP: its one
    message (``POST /consents`` to the auth-service, or the refusal)."""
    body = grant.body or {}
    put = {"scopes": body["scopes"], "credential": fido_credential(), **changes}
    [answer] = exchange(roles, "PUT", f"{CONSENTS}/{body['consentId']}", put).messages
    return answer


def fido_credential() -> dict[str, Any]:
    signer = new_authenticator("FIDO")
    return {"credentialType": "FIDO", "status": "PENDING", "fidoPayload": signer.attestation("00")}


def transfer_consent(roles: Roles, address: str) -> Consent | None:
    """What the payer side finds for a transfer from ``address`` (transaction_checks.py)."""
    return roles.sim.state.consent_for_link(DFSP, address, PISP)


# --- GET /accounts/{ID} ------------------------------------------------------------------------


def test_accounts_of_a_user() -> None:
    [reply] = exchange(Roles.build(), "GET", f"/accounts/{CAROL}").messages
    assert (reply.method, reply.path, reply.destination) == ("PUT", f"/accounts/{CAROL}", PISP)
    assert [a["address"] for a in (reply.body or {})["accounts"]] == [CAROL_CHEQUING, CAROL_SAVINGS]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("user", ["username1234", "bob"])
def test_unknown_user_has_no_accounts(profile: str, user: str) -> None:
    roles = Roles.build(behaviour={"profile": profile})
    [refused] = exchange(roles, "GET", f"/accounts/{user}").messages
    assert error_code(refused) == code(profile, "6205", "7202")


# --- ISSUED → REGISTERING → LINKING → ACTIVE ---------------------------------------------------


def test_grant_issues_a_consent_for_the_approved_scopes() -> None:
    roles = Roles.build()
    grant = grant_consent(roles, REQUEST_ID)

    consent_id = consent_id_of(grant)
    assert grant.body == {
        "consentId": consent_id,
        "consentRequestId": REQUEST_ID,
        "scopes": [{"address": CAROL_CHEQUING, "actions": TRANSFER}],
        "status": "ISSUED",
    }
    consent = consent_of(roles, consent_id)
    assert (consent.state, consent.pisp, consent.dfsp) == (LinkState.ISSUED, PISP, DFSP)
    assert consent_id not in roles.sim.state.consents  # not for transfers yet
    assert transfer_consent(roles, CAROL_CHEQUING) is None


def test_credential_goes_to_the_auth_service_as_sent() -> None:
    roles = Roles.build()
    grant = grant_consent(roles, REQUEST_ID)
    credential = fido_credential()

    forwarded = put_credential(roles, grant, credential=credential)

    assert (forwarded.method, forwarded.path, forwarded.destination) == ("POST", CONSENTS, AUTH)
    assert forwarded.source == DFSP
    assert forwarded.body == {
        "consentId": consent_id_of(grant),
        "scopes": (grant.body or {})["scopes"],
        "credential": credential,
        "status": "ISSUED",
    }
    assert consent_of(roles, consent_id_of(grant)).state is LinkState.REGISTERING


def test_verified_consent_is_published_and_linked_with_the_als() -> None:
    roles = Roles.build()
    grant = grant_consent(roles, REQUEST_ID, addresses=[CAROL_CHEQUING, CAROL_SAVINGS])
    consent_id = consent_id_of(grant)
    [to_auth] = exchange(roles, "PUT", *credential_put(grant, new_authenticator("FIDO"))).messages
    [consent_to_als] = deliver(roles, to_auth).messages
    [als_answer] = deliver(roles, consent_to_als).messages
    [verified] = deliver(roles, als_answer).messages
    assert (verified.method, verified.destination) == ("PUT", DFSP)

    registrations = deliver(roles, verified).messages
    consent = consent_of(roles, consent_id)
    assert consent.state is LinkState.LINKING
    assert roles.sim.state.consents[consent_id] is consent  # one record, published
    assert [(m.method, m.path, m.destination) for m in registrations] == [
        ("POST", f"/participants/THIRD_PARTY_LINK/{a}", HUB)
        for a in (CAROL_CHEQUING, CAROL_SAVINGS)
    ]
    assert all(m.body == {"fspId": DFSP} for m in registrations)

    [first_answer] = deliver(roles, registrations[0]).messages
    assert deliver(roles, first_answer).messages == []  # one address still unconfirmed
    [second_answer] = deliver(roles, registrations[1]).messages
    [patch] = deliver(roles, second_answer).messages
    assert (patch.method, patch.path, patch.destination) == (
        "PATCH",
        f"{CONSENTS}/{consent_id}",
        PISP,
    )
    assert patch.body == {"credential": {"status": "VERIFIED"}}
    assert consent.state is LinkState.ACTIVE
    assert roles.sim.state.oracle[("THIRD_PARTY_LINK", CAROL_SAVINGS)] == DFSP
    assert roles.sim.state.oracle[("CONSENT", consent_id)] == AUTH


@pytest.mark.parametrize("kind", ["FIDO", "GENERIC"])
def test_linked_consent_is_what_transfers_find(kind: str) -> None:
    roles = Roles.build()
    consent_id = link(roles, REQUEST_ID, new_authenticator(kind))

    found = transfer_consent(roles, CAROL_CHEQUING)
    assert found is consent_of(roles, consent_id)
    assert (found.status, found.grants(CAROL_CHEQUING, "ACCOUNTS_TRANSFER")) == ("ISSUED", True)
    assert roles.sim.state.auth_consents[consent_id].credential.credential_type == kind


# --- → FAILED ------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("case", "kind", "fmt", "broken"), BAD_CREDENTIALS, ids=[r[0] for r in BAD_CREDENTIALS]
)
def test_credential_the_auth_service_refuses(
    profile: str, case: str, kind: str, fmt: str, broken: str
) -> None:
    roles = Roles.build(behaviour={"profile": profile})
    grant = grant_consent(roles, REQUEST_ID)
    consent_id = consent_id_of(grant)

    [refused] = register(roles, grant, new_authenticator(kind), fmt=fmt, broken=broken)

    assert (refused.path, refused.destination) == (f"{CONSENTS}/{consent_id}/error", PISP)
    assert error_code(refused) == code(profile, "6200", "7213")
    extension = (refused.body or {})["errorInformation"]["extensionList"]["extension"]
    assert {"key": "downstreamErrorCode", "value": code(profile, "6200", "2000")} in extension
    assert consent_of(roles, consent_id).state is LinkState.FAILED
    assert consent_id not in roles.sim.state.consents
    assert ("THIRD_PARTY_LINK", CAROL_CHEQUING) not in roles.sim.state.oracle

    # FAILED is final: the right credential is too late.
    [late] = register(roles, grant, new_authenticator(kind))
    assert late.body == refused.body


@pytest.mark.parametrize(
    ("source", "registering", "told"),
    [
        (PISP, False, "abandoned: pispa answered 6000: gave up"),
        (HUB, False, "abandoned: the switch answered 6000: gave up"),  # grant undeliverable
        (HUB, True, "the switch answered 6000: gave up"),  # auth-service unreachable
    ],
    ids=["PISP abandons", "grant undelivered", "registration undelivered"],
)
def test_failure_reported_on_a_consent(source: str, registering: bool, told: str) -> None:
    roles = Roles.build()
    grant = grant_consent(roles, REQUEST_ID)
    consent_id = consent_id_of(grant)
    if registering:
        put_credential(roles, grant)
    failure = {"errorInformation": {"errorCode": "6000", "errorDescription": "gave up"}}

    effects = exchange(roles, "PUT", f"{CONSENTS}/{consent_id}/error", failure, source=source)

    assert consent_of(roles, consent_id).state is LinkState.FAILED
    ended = consent_of(roles, consent_id).ended
    assert ended is not None and ended.detail == told
    if registering:  # the PISP is told its credential was not verified
        [report] = effects.messages
        assert (report.path, error_code(report)) == (f"{CONSENTS}/{consent_id}/error", "6200")
    else:
        assert effects.messages == []
        assert error_code(put_credential(roles, grant)) == "6103"


def test_switch_failure_after_linking_leaves_the_consent_as_it_is() -> None:
    # The PISP missed the final PATCH: the consent stands.
    roles = Roles.build()
    consent_id = link(roles, REQUEST_ID, new_authenticator("FIDO"))
    failure = {"errorInformation": {"errorCode": "1001", "errorDescription": "unreachable"}}
    path = f"{CONSENTS}/{consent_id}/error"
    assert exchange(roles, "PUT", path, failure, source=HUB).messages == []
    assert consent_of(roles, consent_id).state is LinkState.ACTIVE


# --- refusals that leave the consent as it was --------------------------------------------


def test_credential_over_other_scopes_is_refused() -> None:
    roles = Roles.build()
    grant = grant_consent(roles, REQUEST_ID)
    other = [{"address": CAROL_SAVINGS, "actions": TRANSFER}]

    refused = put_credential(roles, grant, scopes=other)

    assert error_code(refused) == "6101"
    assert "granted for dfspa.carol.chequing" in error_text(refused)
    assert consent_of(roles, consent_id_of(grant)).state is LinkState.ISSUED
    [patch] = register(roles, grant, new_authenticator("FIDO"))
    assert patch.method == "PATCH"


def test_second_credential_for_a_linked_consent_is_refused() -> None:
    roles = Roles.build()
    grant = grant_consent(roles, REQUEST_ID)
    register(roles, grant, new_authenticator("FIDO"))
    refused = put_credential(roles, grant)
    assert error_code(refused) == "3000"
    assert "ACTIVE" in error_text(refused)


@pytest.mark.parametrize("source", [PISP, "central-auth-2"])
def test_verified_only_from_the_auth_service_asked(source: str) -> None:
    roles = Roles.build()
    grant = grant_consent(roles, REQUEST_ID)
    put_credential(roles, grant)
    consent_id = consent_id_of(grant)
    verified = {
        "scopes": (grant.body or {})["scopes"],
        "credential": {**fido_credential(), "status": "VERIFIED"},
    }

    [refused] = exchange(roles, "PUT", f"{CONSENTS}/{consent_id}", verified, source=source).messages

    assert (refused.destination, error_code(refused)) == (source, "3200")
    assert consent_of(roles, consent_id).state is LinkState.REGISTERING


def test_another_pisp_sees_no_consent() -> None:
    roles = Roles.build()
    consent_id = consent_id_of(grant_consent(roles, REQUEST_ID))
    for method in ("GET", "DELETE"):
        path = f"{CONSENTS}/{consent_id}"
        [refused] = exchange(roles, method, path, source="pispb").messages
        assert (refused.destination, error_code(refused)) == ("pispb", "3200"), method
    assert consent_of(roles, consent_id).state is LinkState.ISSUED


def test_unexpected_confirmations_are_ignored() -> None:
    roles = Roles.build()
    for kind in ("THIRD_PARTY_LINK", "CONSENT"):
        path = f"/participants/{kind}/{CAROL_CHEQUING}"
        assert exchange(roles, "PUT", path, {"fspId": DFSP}, source=HUB).messages == []


# --- GET /consents/{ID} ------------------------------------------------------------------------


def test_get_reports_the_consent_as_it_stands() -> None:
    roles = Roles.build()
    grant = grant_consent(roles, REQUEST_ID)
    consent_id = consent_id_of(grant)
    path = f"{CONSENTS}/{consent_id}"

    [early] = exchange(roles, "GET", path).messages
    assert error_code(early) == "3000" and "no credential yet" in error_text(early)

    credential = fido_credential()
    put_credential(roles, grant, credential=credential)
    [pending] = exchange(roles, "GET", path).messages
    assert (pending.method, pending.path, pending.destination) == ("PUT", path, PISP)
    assert pending.body == {
        "status": "ISSUED",
        "scopes": (grant.body or {})["scopes"],
        "credential": credential,
    }


def test_get_reports_the_verified_credential() -> None:
    roles = Roles.build()
    signer = new_authenticator("GENERIC")
    consent_id = link(roles, REQUEST_ID, signer)
    [reply] = exchange(roles, "GET", f"{CONSENTS}/{consent_id}").messages
    credential = (reply.body or {})["credential"]
    assert (credential["credentialType"], credential["status"]) == ("GENERIC", "VERIFIED")
    assert credential["genericPayload"]["publicKey"] == signer.generic_public_key()


def test_get_of_a_consent_seeded_from_a_public_key() -> None:
    [refused] = exchange(Roles.build(), "GET", f"{CONSENTS}/{FIDO_CONSENT}").messages
    assert error_code(refused) == "2002"


# --- → REVOKED ---------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("how", ["DELETE", "admin"])
def test_revoking_a_linked_consent(profile: str, how: str) -> None:
    roles = Roles.build(behaviour={"profile": profile})
    path = f"{CONSENTS}/{FIDO_CONSENT}"
    if how == "DELETE":
        effects = exchange(roles, "DELETE", path)
    else:
        effects = roles.role(DFSP).linking.revoke(FIDO_CONSENT)

    # The seeded consent is registered with central-auth: hub-hosted (linking patterns
    # §4.2; the whole flow: test_unlinking.py). The PISP's DELETE goes on to the
    # auth-service, the user's revocation at the bank asks it; either way the PISP hears
    # the revocation from central-auth.
    revocation = {"status": "REVOKED", "revokedAt": REVOKED_AT}
    assert [(m.method, m.destination) for m in effects.messages[:1]] == [("DELETE", AUTH)]
    told = relay(roles, effects.messages)
    assert [(m.method, m.path, m.source, m.destination, m.body) for m in told] == [
        ("PATCH", path, AUTH, PISP, revocation)
    ]
    # One record: the payer side sees the revocation at once.
    published = roles.sim.state.consents[FIDO_CONSENT]
    assert published is consent_of(roles, FIDO_CONSENT)
    assert published.status == "REVOKED" and published.revoked_at is not None
    assert transfer_consent(roles, FIDO_ACCOUNT) is published
    assert roles.sim.state.auth_consents[FIDO_CONSENT].status == "REVOKED"

    # REVOKED is final: later messages are told so.
    [again] = exchange(roles, "DELETE", path).messages
    assert error_code(again) == code(profile, "6103", "7213")
    assert f"was revoked at {REVOKED_AT}" in error_text(again)
    [reported] = exchange(roles, "GET", path).messages
    assert (reported.method, reported.body) == ("PATCH", revocation)
    with pytest.raises(ConsentNotValid):
        roles.role(DFSP).linking.revoke(FIDO_CONSENT)


def test_revoking_a_consent_before_its_credential() -> None:
    roles = Roles.build()
    grant = grant_consent(roles, REQUEST_ID)
    consent_id = consent_id_of(grant)

    [patch] = exchange(roles, "DELETE", f"{CONSENTS}/{consent_id}").messages  # no auth-service

    assert (patch.method, patch.destination) == ("PATCH", PISP)
    assert error_code(put_credential(roles, grant)) == "6103"
    assert consent_id not in roles.sim.state.consents


def test_seeded_revoked_consent_is_already_ended() -> None:
    roles = Roles.build(**with_consent(GENERIC_CONSENT, status="REVOKED"))

    consent = consent_of(roles, GENERIC_CONSENT)
    assert consent is roles.sim.state.consents[GENERIC_CONSENT]
    assert (consent.state, consent.status) == (LinkState.REVOKED, "REVOKED")
    [reported] = exchange(roles, "GET", f"{CONSENTS}/{GENERIC_CONSENT}").messages
    assert (reported.method, (reported.body or {})["status"]) == ("PATCH", "REVOKED")
    assert roles.sim.state.auth_consents[GENERIC_CONSENT].status == "REVOKED"


def test_relinked_account_resolves_to_the_new_consent() -> None:
    roles = Roles.build()
    roles.role(DFSP).linking.revoke(FIDO_CONSENT)
    grant = grant_consent(roles, REQUEST_ID, "alice", [FIDO_ACCOUNT])
    [patch] = register(roles, grant, new_authenticator("FIDO"))
    assert patch.method == "PATCH"

    found = transfer_consent(roles, FIDO_ACCOUNT)
    assert found is not None and found.consent_id == consent_id_of(grant)
    assert found.status == "ISSUED"


def test_unknown_consent() -> None:
    roles = Roles.build()
    with pytest.raises(ConsentNotFound):
        roles.role(DFSP).linking.revoke(uid("nothing"))
    assert not roles.role(DFSP).linking.holds(uid("nothing"))
    assert roles.role(DFSP).linking.revoked_at(uid("nothing")) is None
