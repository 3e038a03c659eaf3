"""Consents at the simulated DFSP ``dfspa``, over real HTTP: credential registration errors,
``GET`` and ``DELETE /consents/{ID}``, revocation through the admin API, duplicates, and what
another PISP may see (linking patterns §3.6, §4.1; FSPIOP §3.2.5).
"""

from __future__ import annotations

import pytest

from tests.conftest import MakeScheme
from tests.support.flows import complete_transfer, error_code, extensions
from tests.support.linking import (
    CAROL,
    CAROL_CHEQUING,
    CAROL_SAVINGS,
    CONSENT_REQUESTS,
    CONSENTS,
    PROFILES,
    TRANSFER,
    admin,
    admin_otp,
    authenticate,
    code,
    consent_request,
    grant_consent,
    link,
    new_authenticator,
    pay,
    register,
    request_consent,
    send,
    transfer_refused,
    uid,
    wait_callback,
    wait_grant,
    web_login,
)
from tests.support.overrides import with_second_pisp
from tests.support.pisp import Received
from tests.support.scheme import FIDO_ACCOUNT, FIDO_CONSENT, Scheme
from tpsim.auth.challenge import consent_challenge
from tpsim.journal import Hop
from tpsim.mojaloop.roles.common import format_datetime

REQUEST_ID = uid("consent-request-1")
PAYMENT = uid("payment-1")
SECOND_PAYMENT = uid("payment-2")


def journaled(scheme: Scheme, method: str, path: str, destination: str) -> list[Hop]:
    assert scheme.sim is not None
    return [
        e.hop
        for e in scheme.sim.journal.entries()
        if (e.method, e.path, e.destination) == (method, path, destination)
        and e.hop in (Hop.DELIVERED, Hop.SENT)
    ]


# --- credential registration (linking patterns §3.6) ----------------------------------------

# fmt: off
# (case, credential type, attestation format, defect)
BAD_CREDENTIALS = [
    ("tampered attestation", "FIDO", "packed", "tampered_signature"),
    ("attestation over another challenge", "FIDO", "none", "wrong_challenge"),
    ("attestation for another RP", "FIDO", "none", "wrong_rp_id"),
    ("GENERIC signature over another challenge", "GENERIC", "none", "wrong_challenge"),
    ("tampered GENERIC signature", "GENERIC", "none", "tampered_signature"),
]
# fmt: on


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("case", "kind", "fmt", "broken"), BAD_CREDENTIALS, ids=[r[0] for r in BAD_CREDENTIALS]
)
async def test_invalid_credential_is_refused(
    make_scheme: MakeScheme, profile: str, case: str, kind: str, fmt: str, broken: str
) -> None:
    scheme = await make_scheme(behaviour={"profile": profile})
    grant = await grant_consent(scheme, REQUEST_ID, channel="OTP")
    consent_id = (grant.body or {})["consentId"]

    outcome = await register(scheme, grant, new_authenticator(kind), fmt=fmt, broken=broken)
    assert outcome.path == f"{CONSENTS}/{consent_id}/error", outcome.body
    assert outcome.headers["FSPIOP-Source"] == "dfspa"
    assert error_code(outcome) == code(profile, "6200", "7213")
    # The auth-service's own code travels along: 6200 (spec) / 2000 (as Mojaloop's).
    assert extensions(outcome)["downstreamErrorCode"] == code(profile, "6200", "2000")
    await scheme.settle()
    assert scheme.sim is not None
    assert consent_id not in scheme.sim.state.consents
    assert ("THIRD_PARTY_LINK", CAROL_CHEQUING) not in scheme.sim.state.oracle
    refused = await transfer_refused(scheme, PAYMENT, CAROL_CHEQUING)
    assert refused == code(profile, "6103", "7101")

    # The refusal is final: the right credential is too late for this consent.
    late = await register(scheme, grant, new_authenticator(kind))
    assert error_code(late) == code(profile, "6200", "7213")


async def test_credential_over_other_scopes_is_refused(scheme: Scheme) -> None:
    grant = await grant_consent(scheme, REQUEST_ID, channel="OTP")
    body = grant.body or {}
    other = [{"address": CAROL_SAVINGS, "actions": TRANSFER}]
    signer = new_authenticator("FIDO")
    credential = {
        "credentialType": "FIDO",
        "status": "PENDING",
        "fidoPayload": signer.attestation(consent_challenge(body["consentId"], other)),
    }
    path = f"{CONSENTS}/{body['consentId']}"
    await send(scheme, "PUT", path, {"scopes": other, "credential": credential})
    refused = await wait_callback(scheme.pisp, "PATCH", path)
    assert error_code(refused) == "6101"

    # The consent still waits for a credential over its own scopes.
    assert (await register(scheme, grant, signer)).method == "PATCH"


async def test_second_credential_for_a_linked_consent_is_refused(scheme: Scheme) -> None:
    grant = await grant_consent(scheme, REQUEST_ID, channel="OTP")
    assert (await register(scheme, grant, new_authenticator("FIDO"))).method == "PATCH"
    again = await register(scheme, grant, new_authenticator("FIDO"))
    assert error_code(again) == "3000"
    assert "ACTIVE" in (again.body or {})["errorInformation"]["errorDescription"]


# --- GET /consents/{ID} ------------------------------------------------------------------------


async def test_get_consent_reports_it_as_it_stands(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(**with_second_pisp())
    grant = await grant_consent(scheme, REQUEST_ID, channel="OTP")
    consent_id = (grant.body or {})["consentId"]
    path = f"{CONSENTS}/{consent_id}"

    early = await get_consent(scheme, path)
    assert error_code(early) == "3000"
    assert "no credential yet" in str(early.body)

    signer = new_authenticator("GENERIC")
    await register(scheme, grant, signer)
    reply = await get_consent(scheme, path)
    assert (reply.method, reply.path) == ("PUT", path)
    assert reply.body is not None
    assert reply.body["status"] == "ISSUED"
    assert reply.body["scopes"] == [{"address": CAROL_CHEQUING, "actions": TRANSFER}]
    credential = reply.body["credential"]
    assert (credential["credentialType"], credential["status"]) == ("GENERIC", "VERIFIED")
    assert credential["genericPayload"]["publicKey"] == signer.generic_public_key()

    pispb = scheme.pisps["pispb"]
    await send(scheme, "GET", path, pisp=pispb)
    hidden = await wait_callback(pispb, "PUT", path)
    assert error_code(hidden) == "3200"

    start = len(scheme.pisp.received)
    await send(scheme, "DELETE", path)
    revoked = await scheme.pisp.wait_for("PATCH", path, start=start)
    assert (revoked.body or {})["status"] == "REVOKED"
    again = await get_consent(scheme, path)  # the revocation, once more
    assert (again.method, again.path, again.body) == (revoked.method, revoked.path, revoked.body)


async def test_get_consent_seeded_from_a_public_key(scheme: Scheme) -> None:
    reply = await get_consent(scheme, f"{CONSENTS}/{FIDO_CONSENT}")
    assert error_code(reply) == "2002"


async def get_consent(scheme: Scheme, path: str) -> Received:
    start = len(scheme.pisp.received)
    await send(scheme, "GET", path)
    return await scheme.pisp.wait_until(
        lambda r: r.path in (path, f"{path}/error") and r.method in ("PUT", "PATCH"), start=start
    )


# --- revocation (linking patterns §4.1) --------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("how", ["DELETE", "admin"])
async def test_revoked_consent_refuses_transfers(
    make_scheme: MakeScheme, profile: str, how: str
) -> None:
    scheme = await make_scheme(behaviour={"profile": profile})
    await complete_transfer(scheme, PAYMENT)
    path = f"{CONSENTS}/{FIDO_CONSENT}"
    start = len(scheme.pisp.received)

    if how == "DELETE":
        await send(scheme, "DELETE", path)
    else:
        status, body = await admin(scheme, "POST", f"/admin/consents/{FIDO_CONSENT}/revoke")
        assert status == 200, body
        assert body == {
            "consentId": FIDO_CONSENT,
            "fspId": "dfspa",
            "status": "REVOKED",
            "revokedAt": format_datetime(scheme.clock.now()),
        }
    patch = await scheme.pisp.wait_for("PATCH", path, start=start)
    assert patch.headers["FSPIOP-Source"] == "central-auth"  # hub-hosted: §4.2
    assert patch.body == {"status": "REVOKED", "revokedAt": format_datetime(scheme.clock.now())}
    await scheme.settle()
    assert scheme.sim is not None
    assert scheme.sim.state.consents[FIDO_CONSENT].status == "REVOKED"
    assert scheme.sim.state.auth_consents[FIDO_CONSENT].status == "REVOKED"
    assert journaled(scheme, "PATCH", path, "dfspa") == [Hop.DELIVERED]  # from central-auth

    refused = await transfer_refused(scheme, SECOND_PAYMENT, FIDO_ACCOUNT)
    assert refused == code(profile, "6103", "7213")
    assert scheme.balance(FIDO_ACCOUNT) == "900"

    # Revoked is final: a second DELETE is told so, the admin API says so.
    start = len(scheme.pisp.received)
    await send(scheme, "DELETE", path)
    again = await wait_callback(scheme.pisp, "PATCH", path, start=start)
    assert error_code(again) == code(profile, "6103", "7213")
    status, body = await admin(scheme, "POST", f"/admin/consents/{FIDO_CONSENT}/revoke")
    assert status == 409 and "revoked" in body["error"]


async def test_consent_revoked_before_its_credential(scheme: Scheme) -> None:
    grant = await grant_consent(scheme, REQUEST_ID, channel="OTP")
    path = f"{CONSENTS}/{(grant.body or {})['consentId']}"
    await send(scheme, "DELETE", path)
    revoked = await scheme.pisp.wait_for("PATCH", path)
    assert (revoked.body or {})["status"] == "REVOKED"
    assert journaled(scheme, "PATCH", path, "central-auth") == []  # it never held it

    late = await register(scheme, grant, new_authenticator("FIDO"))
    assert error_code(late) == "6103"


async def test_relinked_account_pays_with_the_new_credential(scheme: Scheme) -> None:
    await send(scheme, "DELETE", f"{CONSENTS}/{FIDO_CONSENT}")
    await scheme.pisp.wait_for("PATCH", f"{CONSENTS}/{FIDO_CONSENT}")
    signer = new_authenticator("FIDO")
    await link(scheme, REQUEST_ID, signer, "alice", [FIDO_ACCOUNT])

    outcome = await pay(scheme, PAYMENT, FIDO_ACCOUNT, signer)
    assert outcome.method == "PATCH", outcome.body


async def test_revocation_of_an_unknown_consent(scheme: Scheme) -> None:
    status, body = await admin(scheme, "POST", f"/admin/consents/{uid('nothing')}/revoke")
    assert status == 404 and "no DFSP" in body["error"]


# --- another PISP sees nothing (its existence is not theirs) --------------------------------


async def test_another_pisp_cannot_touch_a_consent_or_request(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(**with_second_pisp())
    pispb = scheme.pisps["pispb"]
    grant = await grant_consent(scheme, REQUEST_ID, channel="WEB")
    consent_id = (grant.body or {})["consentId"]
    attempts = [
        ("GET", f"{CONSENT_REQUESTS}/{REQUEST_ID}", None),
        ("PATCH", f"{CONSENT_REQUESTS}/{REQUEST_ID}", {"authToken": "123456"}),
        ("GET", f"{CONSENTS}/{consent_id}", None),
        ("DELETE", f"{CONSENTS}/{consent_id}", None),
    ]
    for method, path, body in attempts:
        start = len(pispb.received)
        await send(scheme, method, path, body, pisp=pispb)
        refused = await wait_callback(pispb, "PUT", path, start=start)
        assert error_code(refused) == "3200", (method, path)
    assert (await register(scheme, grant, new_authenticator("FIDO"))).method == "PATCH"


# --- consent requests: GET and duplicates (FSPIOP §3.2.5) -----------------------------------


async def test_get_consent_request_reports_what_the_user_chose(scheme: Scheme) -> None:
    answer = await request_consent(
        scheme, REQUEST_ID, CAROL, [CAROL_CHEQUING, CAROL_SAVINGS], channels=("WEB",)
    )
    login = await web_login(answer, accounts=[CAROL_SAVINGS])  # the user unticks chequing

    start = len(scheme.pisp.received)
    await send(scheme, "GET", f"{CONSENT_REQUESTS}/{REQUEST_ID}")
    reply = await wait_callback(scheme.pisp, "PUT", f"{CONSENT_REQUESTS}/{REQUEST_ID}", start=start)
    savings_only = [{"address": CAROL_SAVINGS, "actions": TRANSFER}]
    assert reply.body == dict(answer.body or {}, scopes=savings_only)

    start = len(scheme.pisp.received)
    await authenticate(scheme, REQUEST_ID, login.secret)
    grant = await wait_grant(scheme, REQUEST_ID, start=start)
    assert (grant.body or {})["scopes"] == savings_only


async def test_duplicate_consent_request(scheme: Scheme) -> None:
    body = consent_request(scheme, REQUEST_ID, CAROL, [CAROL_CHEQUING], channels=("OTP",))
    first = await request_consent(scheme, REQUEST_ID, body=body)
    otp = await admin_otp(scheme, REQUEST_ID)

    again = await request_consent(scheme, REQUEST_ID, body=body)
    assert (again.path, again.body) == (first.path, first.body)
    assert await admin_otp(scheme, REQUEST_ID) == otp  # not sent twice

    changed = await request_consent(scheme, REQUEST_ID, body=dict(body, userId="alice"))
    assert error_code(changed) == "3106"

    start = len(scheme.pisp.received)
    await authenticate(scheme, REQUEST_ID, str(otp["otp"]))
    assert (await wait_grant(scheme, REQUEST_ID, start=start)).path == CONSENTS


async def test_duplicate_of_a_refused_consent_request(scheme: Scheme) -> None:
    body = consent_request(scheme, REQUEST_ID, CAROL, [CAROL_CHEQUING], callback="http://x.com")
    first = await request_consent(scheme, REQUEST_ID, body=body)
    again = await request_consent(scheme, REQUEST_ID, body=body)
    assert error_code(first) == error_code(again) == "6204"
    assert again.body == first.body


# --- the journal and the admin API ---------------------------------------------------------


async def test_journal_holds_the_whole_linking_conversation(scheme: Scheme) -> None:
    consent_id = await link(scheme, REQUEST_ID, new_authenticator("FIDO"), channel="OTP")
    await scheme.settle()
    status, body = await admin(scheme, "GET", f"/admin/journal?correlationId={REQUEST_ID}")
    assert status == 200
    hops = [(e["hop"], e["method"], e["path"]) for e in body["entries"]]
    expected = [
        ("delivered", "POST", CONSENT_REQUESTS),
        ("out-of-band", "SMS", f"/users/{CAROL}"),
        ("sent", "PUT", f"{CONSENT_REQUESTS}/{REQUEST_ID}"),
        ("delivered", "PATCH", f"{CONSENT_REQUESTS}/{REQUEST_ID}"),
        ("sent", "POST", CONSENTS),
        ("delivered", "PUT", f"{CONSENTS}/{consent_id}"),
        ("delivered", "POST", CONSENTS),
        ("delivered", "POST", f"/participants/CONSENT/{consent_id}"),
        ("delivered", "PUT", f"/participants/CONSENT/{consent_id}"),
        ("delivered", "PUT", f"{CONSENTS}/{consent_id}"),
        # The ALS's answer names only the address and an fspId: it is in the conversation
        # by the consentId of the registration it answers, not by the address.
        ("delivered", "POST", f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"),
        ("delivered", "PUT", f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"),
        ("sent", "PATCH", f"{CONSENTS}/{consent_id}"),
    ]
    assert [h for h in hops if h in expected] == expected


async def test_admin_otp_of_unknown_or_web_requests(scheme: Scheme) -> None:
    status, body = await admin(scheme, "GET", f"/admin/otp/{REQUEST_ID}")
    assert status == 404 and REQUEST_ID in body["error"]
    await request_consent(scheme, REQUEST_ID, channels=("WEB",))
    assert (await admin(scheme, "GET", f"/admin/otp/{REQUEST_ID}"))[0] == 404


# --- failures reported on a consent or request ----------------------------------------------


async def test_pisp_abandons_a_consent(scheme: Scheme) -> None:
    grant = await grant_consent(scheme, REQUEST_ID, channel="OTP")
    path = f"{CONSENTS}/{(grant.body or {})['consentId']}"
    failure = {"errorInformation": {"errorCode": "6000", "errorDescription": "user gave up"}}
    await send(scheme, "PUT", f"{path}/error", failure)

    late = await register(scheme, grant, new_authenticator("FIDO"))
    assert error_code(late) == "6103"
    assert "abandoned: pispa answered 6000: user gave up" in str(late.body)


async def test_undeliverable_grant_abandons_the_consent(scheme: Scheme) -> None:
    scheme.pisp.refuse[("POST", CONSENTS)] = 500
    grant = await grant_consent(scheme, REQUEST_ID, channel="OTP")
    await scheme.settle()
    del scheme.pisp.refuse[("POST", CONSENTS)]

    late = await register(scheme, grant, new_authenticator("FIDO"))
    assert error_code(late) == "6103"
    assert "the switch answered 1001" in str(late.body)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/accounts/{CAROL}", None),
        ("POST", CONSENT_REQUESTS, "request"),
    ],
)
async def test_undeliverable_answers_are_accepted(
    scheme: Scheme, method: str, path: str, body: str | None
) -> None:
    answer = f"/accounts/{CAROL}" if method == "GET" else f"{CONSENT_REQUESTS}/{REQUEST_ID}"
    scheme.pisp.refuse[("PUT", answer)] = 503
    sent = consent_request(scheme, REQUEST_ID, CAROL, [CAROL_CHEQUING]) if body else None
    await send(scheme, method, path, sent)
    await scheme.settle()
    assert scheme.sim is not None
    (report,) = [e for e in scheme.sim.journal.entries() if e.path == f"{answer}/error"]
    assert (report.hop, report.source, report.destination) == (Hop.DELIVERED, "switch", "dfspa")
    assert report.error is None  # the DFSP took note; nothing to undo


async def test_a_pisp_that_misses_the_verified_patch_keeps_its_consent(scheme: Scheme) -> None:
    authenticator = new_authenticator("FIDO")
    grant = await grant_consent(scheme, uid("missed-patch"), addresses=[CAROL_SAVINGS])
    consent_id = (grant.body or {})["consentId"]
    scheme.pisp.refuse[("PATCH", f"/consents/{consent_id}")] = 503
    outcome = await register(scheme, grant, authenticator)
    assert outcome.method == "PATCH"  # sent, and answered 503: the switch reports 1001
    await scheme.settle()
    assert scheme.sim is not None
    (report,) = [
        e
        for e in scheme.sim.journal.entries()
        if e.path == f"/consents/{consent_id}/error" and e.hop is Hop.DELIVERED
    ]
    assert (report.source, report.destination) == ("switch", "dfspa")
    assert report.error is None  # taken as it is, not refused as a bad report
    final = await pay(scheme, uid("missed-patch-pay"), CAROL_SAVINGS, authenticator)
    assert final.method == "PATCH", final.body
