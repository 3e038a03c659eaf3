"""Who an unlinking message is about, and what reaches an external auth-service.

(A) The ALS answers ``POST`` and ``DELETE /participants/THIRD_PARTY_LINK/{address}`` with
the same ``PUT /participants/THIRD_PARTY_LINK/{address}[/error]``, naming no request. When
the user revokes one consent while a second consent to the same account is being linked,
the ALS's refusal of the first consent's link deletion is the first consent's: it must not
fail the second consent, tell its PISP 6000 (7214), or have its auth-service revoke it.
The DFSP keeps the requests it sent per address, oldest first, and the ALS answers them in
that order (``roles/link_registrations.py``).

(B) A PISP's ``DELETE /consents/{ID}`` of a hub-hosted consent is addressed to the DFSP and
redirected to the auth-service (linking patterns §4.2). The PISP's ``FSPIOP-Signature``
protects the FSPIOP-Destination it wrote (sdk-standard-components ``jwsSigner``), and a
recipient checking it refuses a request whose FSPIOP-Destination header differs from it
(``jwsValidator``; ``wire.jws.verify``: 3105). Re-addressed, the request keeps its
FSPIOP-Source (the auth-service answers and checks the PISP) and its Date, but not a
signature that no longer holds; Mojaloop's own senders never sign a DELETE (no body).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.mojaloop.roles.test_unlinking import Held, Intercept, hop, link_entry, linked, trace
from tests.support.linking import CAROL_CHEQUING, CAROL_SAVINGS, CONSENTS, new_authenticator, uid
from tests.support.linking_roles import (
    DFSP,
    PISP,
    credential_put,
    exchange,
    otp_of,
    request_body,
)
from tests.support.roles import Roles
from tests.support.scheme import FIDO_CONSENT, default_config_data
from tpsim.auth import keys
from tpsim.auth.jws_keys import JwsPrivateKey
from tpsim.mojaloop.message import Message, make_headers
from tpsim.mojaloop.roles.common import new_message
from tpsim.mojaloop.roles.states import LinkState
from tpsim.mojaloop.steps import Deliver
from tpsim.mojaloop.wire import jws

AUTH, HUB, PISPB = "central-auth", "switch", "pispb"
LINK = "/participants/THIRD_PARTY_LINK"
CHEQUING = f"{LINK}/{CAROL_CHEQUING}"
SAVINGS = f"{LINK}/{CAROL_SAVINGS}"
REFUSED = {"errorInformation": {"errorCode": "3200", "errorDescription": "refused by a rule"}}


def two_pisps() -> dict[str, Any]:
    participants = default_config_data()["participants"]
    participants.append({"fsp_id": PISPB, "kind": "pisp", "endpoint": "http://127.0.0.1:1"})
    return {"participants": participants}


def verified_by(
    roles: Roles,
    pisp: str,
    label: str,
    addresses: Sequence[str],
    held: Held,
    intercept: Intercept | None = None,
) -> tuple[str, str, list[tuple[Any, ...]]]:
    """``pisp``'s consent to Carol's ``addresses``, its credential verified by the hub's
    auth-service while ``held`` keeps back a DFSP's ALS registration (``intercept`` may
    answer another): its id, its path, and the hops carried."""
    request_id = uid(label)
    body = request_body(request_id, addresses=addresses, channels=("OTP",))
    exchange(roles, "POST", "/consentRequests", body, source=pisp)
    patch = {"authToken": otp_of(roles, request_id)}
    [grant] = exchange(
        roles, "PATCH", f"/consentRequests/{request_id}", patch, source=pisp
    ).messages
    assert (grant.method, grant.path, grant.destination) == ("POST", CONSENTS, pisp), grant.body
    path, put = credential_put(grant, new_authenticator("GENERIC"))
    hops = trace(roles, exchange(roles, "PUT", path, put, source=pisp).messages, intercept, held)
    return str((grant.body or {})["consentId"]), path, list(hops)


def als_refusal(roles: Roles, path: str) -> Message:
    """The ALS's ``PUT {path}/error`` to the DFSP (a rule refusing the request at ``path``)."""
    return new_message(
        "PUT", f"{path}/error", source=HUB, destination=DFSP, body=REFUSED, now=roles.clock.now()
    )


def link_requests(roles: Roles) -> list[object]:
    """The ALS requests the DFSP still awaits an answer to (none once all are answered)."""
    return list(roles.sim.state.bank.store.records(f"{DFSP}/link-requests"))


# --- (A) a refused link deletion is the revoked consent's --------------------------------------


def test_a_refused_link_deletion_does_not_fail_another_consent_to_the_account() -> None:
    roles = Roles.build(**two_pisps())
    first = linked(roles)  # pispa's consent to Carol's chequing account
    # Carol revokes it at her bank; the ALS has yet to answer the DELETE of its link.
    deletion = Held("DELETE", CHEQUING, DFSP)
    trace(roles, roles.role(DFSP).linking.revoke(first).messages, held=deletion)
    assert [m.path for m in deletion.messages] == [CHEQUING]
    # Meanwhile pispb links the same account; the ALS has yet to answer that registration.
    registration = Held("POST", CHEQUING, DFSP)
    second, path, _ = verified_by(roles, PISPB, "second-pisp", [CAROL_CHEQUING], registration)
    linking = roles.role(DFSP).linking
    assert linking.consent(second).state is LinkState.LINKING

    # The ALS refuses the deletion (sent first, answered first).
    refusal = als_refusal(roles, CHEQUING)
    hops = trace(roles, [refusal])

    # Nothing follows: pispb is not told its consent failed, central-auth does not revoke
    # it, and its link is not deleted.
    assert hops == [hop(refusal)], [h[:4] for h in hops]
    assert linking.consent(second).state is LinkState.LINKING
    assert linking.consent(first).state is LinkState.REVOKED
    # The registration is answered next, and links pispb's consent.
    assert trace(roles, registration.messages)[-1] == (
        "PATCH",
        path,
        DFSP,
        PISPB,
        {"credential": {"status": "VERIFIED"}},
    )
    assert linking.consent(second).state is LinkState.ACTIVE
    assert roles.sim.state.auth_consents[second].status == "ISSUED"
    assert link_entry(roles, CAROL_CHEQUING) == DFSP
    assert link_requests(roles) == []


def test_a_refused_link_deletion_leaves_a_failed_consent_to_remove_its_link() -> None:
    # The second consent (chequing and savings) fails on its savings link while the
    # deletion of the first consent's chequing link and its own chequing registration are
    # both unanswered. The deletion's refusal is not that registration's answer: once the
    # registration is confirmed, the failed consent's link is deleted, not left in the ALS.
    roles = Roles.build()
    first = linked(roles)
    deletion = Held("DELETE", CHEQUING, DFSP)
    trace(roles, roles.role(DFSP).linking.revoke(first).messages, held=deletion)

    def refuse_savings(message: Message) -> Message | None:
        if (message.method, message.path) == ("POST", SAVINGS):
            return als_refusal(roles, SAVINGS)
        return None

    registration = Held("POST", CHEQUING, DFSP)
    addresses = (CAROL_CHEQUING, CAROL_SAVINGS)
    second, path, hops = verified_by(
        roles, PISP, "second-two", addresses, registration, refuse_savings
    )
    assert [h[:2] for h in hops if h[3] == PISP] == [("PUT", f"{path}/error")]
    linking = roles.role(DFSP).linking
    assert linking.consent(second).state is LinkState.FAILED

    refusal = als_refusal(roles, CHEQUING)  # of the first consent's deletion
    assert trace(roles, [refusal]) == [hop(refusal)]
    late = trace(roles, registration.messages)

    assert late == [
        ("POST", CHEQUING, DFSP, HUB, {"fspId": DFSP}),
        ("PUT", CHEQUING, HUB, DFSP, {"fspId": DFSP}),
        ("DELETE", CHEQUING, DFSP, HUB, None),  # the failed consent's link, removed
        ("PUT", CHEQUING, HUB, DFSP, {}),
    ]
    assert link_entry(roles, CAROL_CHEQUING) is None
    assert link_requests(roles) == []


# --- (B) what an external auth-service receives ------------------------------------------------


def external_auth_service(key: JwsPrivateKey) -> Roles:
    """The default scheme with central-auth external (its endpoint never called here) and
    pispa's public key configured: pispa must sign, and signs every request but GETs."""
    participants = default_config_data()["participants"]
    for participant in participants:
        if participant["fsp_id"] == AUTH:
            participant.pop("simulated")
            participant["endpoint"] = "http://127.0.0.1:1"
        if participant["fsp_id"] == PISP:
            participant["jws_public_key_pem"] = keys.public_key_pem(key.public_key())
    return Roles.build(participants=participants)


def signed_by_pisp(roles: Roles, key: JwsPrivateKey, method: str, path: str, to: str) -> Message:
    message = new_message(
        method, path, source=PISP, destination=to, body=None, now=roles.clock.now()
    )
    headers = dict(message.headers)
    headers.update(jws.signature_headers(method, path, headers, None, key))
    signed = dataclasses.replace(message, headers=make_headers(headers))
    jws.Keyring.of(roles.config).check(method, path, signed.headers, None)  # the edge admits it
    return signed


def as_delivered_to_auth_service(roles: Roles, message: Message) -> dict[str, str]:
    """The headers the switch sends ``message`` to the external auth-service with: its
    transform (``forward_headers``) and what the HTTP client signs for tpsim."""
    [delivery] = [s for s in roles.sim.router.switch.route(message) if isinstance(s, Deliver)]
    assert delivery.participant.fsp_id == AUTH
    sent = dict(delivery.message.headers)
    signer = roles.sim.http.signer
    assert signer is not None
    return sent | signer(message.method, message.path, sent, None)


@pytest.mark.parametrize("addressed_to", [DFSP, AUTH], ids=["redirected-by-dfsp", "to-auth"])
def test_a_pisp_delete_reaches_an_external_auth_service_without_a_void_signature(
    addressed_to: str,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    roles = external_auth_service(key)
    path = f"{CONSENTS}/{FIDO_CONSENT}"  # seeded: registered with central-auth, hub-hosted
    sent = signed_by_pisp(roles, key, "DELETE", path, addressed_to)
    if addressed_to == DFSP:  # §4.2: the DFSP stands in for the switch's redirection
        [onward] = roles.role(DFSP).handle(sent).messages
    else:
        onward = sent

    received = make_headers(as_delivered_to_auth_service(roles, onward))

    # Who asks, for whom, when: as the PISP sent it, re-addressed.
    assert received["FSPIOP-Source"] == PISP
    assert received["FSPIOP-Destination"] == AUTH
    assert received["Date"] == sent.headers["Date"]
    # A signature the auth-service receives holds against what it receives.
    signature = received.get("FSPIOP-Signature")
    if signature is not None:
        jws.verify(signature, "DELETE", path, received, None, key.public_key())
    # Only the PISP's own request to central-auth carries its signature; the redirected
    # one carries none (no one may sign in pispa's name).
    assert (signature is not None) is (addressed_to == AUTH)
