"""Account linking against the simulated DFSP ``dfspa``, over real HTTP (linking patterns
§3-5, digest §2.1-2.2, §4.5), then transfers over the new link.

The test PISP discovers DFSPs, lists Carol's accounts, requests a consent, authenticates over
WEB (the login page, for real) or OTP (read from the admin API), registers a credential made
by the software authenticator, pays with it, and unlinks. Every rejection is a table row with
its code under each profile (spec 6xxx, reference 7xxx).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import MakeScheme
from tests.support.flows import error_code
from tests.support.linking import (
    CAROL,
    CAROL_CHEQUING,
    CAROL_SAVINGS,
    CONSENT_REQUESTS,
    CONSENTS,
    PROFILES,
    TRANSFER,
    admin_otp,
    authenticate,
    code,
    consent_request,
    description,
    link,
    new_authenticator,
    obtain_token,
    pay,
    register,
    request_consent,
    send,
    transfer_refused,
    uid,
    wait_callback,
    wait_grant,
    web_login,
    wrong,
)
from tests.support.overrides import with_participant
from tests.support.scheme import Scheme
from tpsim.journal import Hop

REQUEST_ID = uid("consent-request-1")
PAYMENT = uid("payment-1")
SECOND_PAYMENT = uid("payment-2")


# --- discovery (linking patterns §3.1-3.2, §5.1) ---------------------------------------------


async def test_accounts_of_a_user(scheme: Scheme) -> None:
    await send(scheme, "GET", f"/accounts/{CAROL}")
    reply = await wait_callback(scheme.pisp, "PUT", f"/accounts/{CAROL}")

    assert reply.headers["FSPIOP-Source"] == "dfspa"
    assert reply.body == {
        "accounts": [
            {
                "accountNickname": "Carol's chequing account",
                "address": CAROL_CHEQUING,
                "currency": "USD",
            },
            {
                "accountNickname": "Carol's savings account",
                "address": CAROL_SAVINGS,
                "currency": "USD",
            },
        ]
    }


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("user", ["username1234", "bob"])  # unknown, and a user of dfspb
async def test_unknown_user_has_no_accounts(
    make_scheme: MakeScheme, profile: str, user: str
) -> None:
    scheme = await make_scheme(behaviour={"profile": profile})
    await send(scheme, "GET", f"/accounts/{user}")
    reply = await wait_callback(scheme.pisp, "PUT", f"/accounts/{user}")

    assert reply.path == f"/accounts/{user}/error"
    assert reply.headers["FSPIOP-Source"] == "dfspa"
    assert error_code(reply) == code(profile, "6205", "7202")


async def test_every_dfsp_is_a_third_party_provider(make_scheme: MakeScheme) -> None:
    # Simulated DFSPs link accounts themselves; an external one is there to be tested doing so.
    scheme = await make_scheme(**with_participant("dfspx", "dfsp", "http://127.0.0.1:1"))
    await scheme.pisp.send("GET", "/services/THIRD_PARTY_DFSP")
    reply = await wait_callback(scheme.pisp, "PUT", "/services/THIRD_PARTY_DFSP")
    assert reply.body == {"providers": ["dfspa", "dfspb", "dfspx"]}


async def test_unknown_service_type_is_refused_by_the_switch(scheme: Scheme) -> None:
    sent = await scheme.pisp.send("GET", "/services/BANKS")
    assert sent.status == 202
    reply = await wait_callback(scheme.pisp, "PUT", "/services/BANKS")

    assert reply.path == "/services/BANKS/error"
    assert reply.headers["FSPIOP-Source"] == "switch"
    assert error_code(reply) == "3100"
    assert "THIRD_PARTY_DFSP" in (reply.body or {})["errorInformation"]["errorDescription"]


# --- the whole journey: link, pay, unlink, refused -----------------------------------------


@pytest.mark.parametrize("credential", ["FIDO", "GENERIC"])
@pytest.mark.parametrize("channel", ["WEB", "OTP"])
async def test_link_pay_unlink(scheme: Scheme, channel: str, credential: str) -> None:
    signer = new_authenticator(credential)
    answer = await request_consent(
        scheme, REQUEST_ID, CAROL, [CAROL_CHEQUING, CAROL_SAVINGS], channels=(channel,)
    )
    assert answer.path == f"{CONSENT_REQUESTS}/{REQUEST_ID}", answer.body
    assert answer.headers["FSPIOP-Source"] == "dfspa"
    assert (answer.body or {})["authChannels"] == [channel]
    assert ("authUri" in (answer.body or {})) == (channel == "WEB")

    start = len(scheme.pisp.received)
    await authenticate(scheme, REQUEST_ID, await obtain_token(scheme, REQUEST_ID, answer))
    grant = await wait_grant(scheme, REQUEST_ID, start=start)
    body = grant.body or {}
    consent_id = body["consentId"]
    scopes = [{"address": a, "actions": TRANSFER} for a in (CAROL_CHEQUING, CAROL_SAVINGS)]
    assert (grant.method, grant.path) == ("POST", CONSENTS)
    assert body == {
        "consentId": consent_id,
        "consentRequestId": REQUEST_ID,
        "scopes": scopes,
        "status": "ISSUED",
    }

    outcome = await register(scheme, grant, signer)
    assert (outcome.method, outcome.path) == ("PATCH", f"{CONSENTS}/{consent_id}")
    assert outcome.headers["FSPIOP-Source"] == "dfspa"
    assert outcome.body == {"credential": {"status": "VERIFIED"}}
    await scheme.settle()
    assert scheme.sim is not None
    oracle = scheme.sim.state.oracle
    assert oracle[("THIRD_PARTY_LINK", CAROL_CHEQUING)] == "dfspa"
    assert oracle[("THIRD_PARTY_LINK", CAROL_SAVINGS)] == "dfspa"
    assert oracle[("CONSENT", consent_id)] == "central-auth"

    paid = await pay(scheme, PAYMENT, CAROL_SAVINGS, signer)
    assert paid.method == "PATCH", paid.body
    assert scheme.balance(CAROL_SAVINGS) == "200"

    start = len(scheme.pisp.received)
    await send(scheme, "DELETE", f"{CONSENTS}/{consent_id}")
    revoked = await scheme.pisp.wait_for("PATCH", f"{CONSENTS}/{consent_id}", start=start)
    assert revoked.body is not None
    assert revoked.body["status"] == "REVOKED"
    assert set(revoked.body) == {"status", "revokedAt"}

    assert await transfer_refused(scheme, SECOND_PAYMENT, CAROL_SAVINGS) == "6103"
    assert scheme.balance(CAROL_SAVINGS) == "200"


# --- consent requests refused on arrival (linking patterns §5.2) ---------------------------

# fmt: off
# (case, POST /consentRequests changes, behaviour.linking override, spec code, reference code)
REFUSED_REQUESTS = [
    ("address of no account", {"addresses": ["dfspa.carol.pension"]}, {}, "6101", "7204"),
    ("another user's account", {"addresses": ["dfspa.alice.chequing"]}, {}, "6101", "7204"),
    ("account at another DFSP", {"addresses": ["dfspb.bob.chequing"]}, {}, "6101", "7204"),
    ("unknown user", {"user": "username1234"}, {}, "6101", "7204"),
    ("unsupported action", {"actions": ["ACCOUNTS_STATEMENT"]}, {}, "6101", "7204"),
    ("action the DFSP does not grant", {},
     {"scope_actions": ["ACCOUNTS_GET_BALANCE"]}, "6101", "7204"),
    ("http callback", {"callback": "http://phishing.com"}, {}, "6204", "7210"),
    ("javascript callback", {"callback": "javascript:alert(1)"}, {}, "6204", "7210"),
    ("callback outside the allowlist", {"callback": "https://pisp.example.evil/cb"},
     {"callback_uri_allowlist": ["https://pisp.example/"]}, "6204", "7210"),
    ("no channel in common", {"user": "alice", "addresses": ["dfspa.alice.chequing"],
                              "channels": ("WEB",)}, {"auth_channels": ["OTP"]}, "6104", "7203"),
]
# fmt: on


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("case", "changes", "linking", "spec", "reference"),
    REFUSED_REQUESTS,
    ids=[row[0] for row in REFUSED_REQUESTS],
)
async def test_consent_request_is_refused(
    make_scheme: MakeScheme,
    profile: str,
    case: str,
    changes: dict[str, Any],
    linking: dict[str, Any],
    spec: str,
    reference: str,
) -> None:
    scheme = await make_scheme(behaviour={"profile": profile, "linking": linking})
    body = consent_request(
        scheme,
        REQUEST_ID,
        changes.get("user", CAROL),
        changes.get("addresses", [CAROL_CHEQUING]),
        **{k: v for k, v in changes.items() if k in ("channels", "actions", "callback")},
    )
    answer = await request_consent(scheme, REQUEST_ID, body=body)

    assert answer.path == f"{CONSENT_REQUESTS}/{REQUEST_ID}/error", answer.body
    assert answer.headers["FSPIOP-Source"] == "dfspa"
    assert error_code(answer) == code(profile, spec, reference)
    # The request stays refused: a PATCH gets the same error, and nothing is granted.
    await authenticate(scheme, REQUEST_ID, "123456")
    again = await wait_callback(scheme.pisp, "PATCH", f"{CONSENT_REQUESTS}/{REQUEST_ID}", start=1)
    assert error_code(again) == code(profile, spec, reference)
    assert not [r for r in scheme.pisp.received if r.path == CONSENTS]


async def test_allowlisted_callback_is_trusted(make_scheme: MakeScheme) -> None:
    allow = {"callback_uri_allowlist": ["pisp-app://callback", "https://pisp.example/"]}
    scheme = await make_scheme(behaviour={"linking": allow})
    answer = await request_consent(
        scheme, REQUEST_ID, callback="pisp-app://callback?state=x", channels=("OTP",)
    )
    assert answer.path == f"{CONSENT_REQUESTS}/{REQUEST_ID}", answer.body
    assert answer.body == {
        "scopes": [{"address": CAROL_CHEQUING, "actions": TRANSFER}],
        "authChannels": ["OTP"],
        "callbackUri": "pisp-app://callback?state=x",
    }


@pytest.mark.parametrize(
    ("offered", "user_channels", "chosen"),
    [
        (("WEB", "OTP"), None, "WEB"),  # the DFSP's preference
        (("OTP", "WEB"), None, "WEB"),  # the PISP's order does not matter
        (("OTP",), None, "OTP"),
        (("WEB", "OTP"), ["OTP"], "OTP"),  # the user's own channels
    ],
)
async def test_channel_is_chosen_per_config_and_user(
    make_scheme: MakeScheme,
    offered: tuple[str, ...],
    user_channels: list[str] | None,
    chosen: str,
) -> None:
    users = [{"user_id": CAROL, "fsp_id": "dfspa", "auth_channels": user_channels}]
    scheme = await make_scheme(users=users)
    answer = await request_consent(scheme, REQUEST_ID, channels=offered)
    assert (answer.body or {})["authChannels"] == [chosen]


# --- authentication: OTP (linking patterns §3.4.2, §5.3) ------------------------------------


@pytest.mark.parametrize("profile", ["spec"])  # reference: one try (test_reference_profile)
async def test_wrong_otp_then_right_one(make_scheme: MakeScheme, profile: str) -> None:
    scheme = await make_scheme(behaviour={"profile": profile})
    await request_consent(scheme, REQUEST_ID, channels=("OTP",))
    otp = str((await admin_otp(scheme, REQUEST_ID))["otp"])
    assert len(otp) == 6 and otp.isdigit()

    start = len(scheme.pisp.received)
    await authenticate(scheme, REQUEST_ID, wrong(otp))
    refused = await wait_grant(scheme, REQUEST_ID, start=start)
    assert refused.path == f"{CONSENT_REQUESTS}/{REQUEST_ID}/error"
    assert refused.headers["FSPIOP-Source"] == "dfspa"
    assert error_code(refused) == code(profile, "6203", "7205")
    assert "2 attempt(s) left" in description(refused)
    assert (await admin_otp(scheme, REQUEST_ID))["attemptsLeft"] == 2

    start = len(scheme.pisp.received)
    await authenticate(scheme, REQUEST_ID, otp)
    grant = await wait_grant(scheme, REQUEST_ID, start=start)
    assert (grant.method, grant.path) == ("POST", CONSENTS)


@pytest.mark.parametrize("profile", ["spec"])  # reference: one try (test_reference_profile)
async def test_too_many_wrong_otps_close_the_request(make_scheme: MakeScheme, profile: str) -> None:
    scheme = await make_scheme(behaviour={"profile": profile, "linking": {"max_attempts": 2}})
    await request_consent(scheme, REQUEST_ID, channels=("OTP",))
    otp = str((await admin_otp(scheme, REQUEST_ID))["otp"])

    for attempt in range(2):
        start = len(scheme.pisp.received)
        await authenticate(scheme, REQUEST_ID, wrong(otp))
        refused = await wait_grant(scheme, REQUEST_ID, start=start)
        assert error_code(refused) == code(profile, "6203", "7205"), attempt
    assert "closed" in description(refused)

    start = len(scheme.pisp.received)
    await authenticate(scheme, REQUEST_ID, otp)  # right, but too late
    closed = await wait_grant(scheme, REQUEST_ID, start=start)
    assert error_code(closed) == code(profile, "6203", "7205")
    assert (await admin_otp(scheme, REQUEST_ID))["state"] == "FAILED"


@pytest.mark.parametrize("profile", PROFILES)
async def test_expired_otp_is_refused(make_scheme: MakeScheme, profile: str) -> None:
    scheme = await make_scheme(behaviour={"profile": profile, "linking": {"otp": {"ttl_s": 60}}})
    await request_consent(scheme, REQUEST_ID, channels=("OTP",))
    otp = str((await admin_otp(scheme, REQUEST_ID))["otp"])
    scheme.advance(60)

    await authenticate(scheme, REQUEST_ID, otp)
    expired = await wait_grant(scheme, REQUEST_ID)
    assert error_code(expired) == code(profile, "6203", "7205")
    assert "expired" in description(expired)
    assert not [r for r in scheme.pisp.received if r.path == CONSENTS]


async def test_otp_is_journaled_and_never_sent_to_the_pisp(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(behaviour={"linking": {"otp": {"fixed": "246810"}}})
    await link(scheme, REQUEST_ID, new_authenticator("FIDO"), channel="OTP")
    await scheme.settle()
    assert scheme.sim is not None

    (note,) = [e for e in scheme.sim.journal.entries() if e.hop is Hop.OUT_OF_BAND]
    assert (note.method, note.path, note.source, note.destination) == (
        "SMS",
        f"/users/{CAROL}",
        "dfspa",
        CAROL,
    )
    assert note.body is not None and note.body["otp"] == "246810"
    assert REQUEST_ID in note.correlation_ids
    assert all("246810" not in str(r.body) for r in scheme.pisp.received)
    conversation = scheme.sim.journal.entries(correlation_id=REQUEST_ID)
    assert {e.method for e in conversation} >= {"POST", "PUT", "PATCH", "SMS"}


# --- authentication: WEB (linking patterns §3.4.1) ------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
async def test_user_denies_on_the_login_page(make_scheme: MakeScheme, profile: str) -> None:
    scheme = await make_scheme(behaviour={"profile": profile})
    answer = await request_consent(scheme, REQUEST_ID, channels=("WEB",))
    start = len(scheme.pisp.received)

    login = await web_login(answer, decision="deny")
    assert login.status == 303
    assert login.params == {"consentRequestId": REQUEST_ID, "error": "access_denied"}
    denied = await wait_grant(scheme, REQUEST_ID, start=start)
    assert denied.path == f"{CONSENT_REQUESTS}/{REQUEST_ID}/error"
    assert error_code(denied) == code(profile, "6102", "7200")

    start = len(scheme.pisp.received)
    await authenticate(scheme, REQUEST_ID, "anything")
    again = await wait_grant(scheme, REQUEST_ID, start=start)
    assert error_code(again) == code(profile, "6102", "7200")


@pytest.mark.parametrize("profile", PROFILES)
async def test_patch_before_the_user_signed_in(make_scheme: MakeScheme, profile: str) -> None:
    scheme = await make_scheme(behaviour={"profile": profile})
    await request_consent(scheme, REQUEST_ID, channels=("WEB",))
    await authenticate(scheme, REQUEST_ID, "guessed-secret")
    refused = await wait_grant(scheme, REQUEST_ID)
    assert error_code(refused) == code(profile, "6203", "7205")
    assert "not signed in" in description(refused)


async def test_wrong_web_secret_is_refused(scheme: Scheme) -> None:
    answer = await request_consent(scheme, REQUEST_ID, channels=("WEB",))
    login = await web_login(answer)
    await authenticate(scheme, REQUEST_ID, wrong(login.secret))
    refused = await wait_grant(scheme, REQUEST_ID)
    assert error_code(refused) == "6203"

    start = len(scheme.pisp.received)
    await authenticate(scheme, REQUEST_ID, login.secret)
    assert (await wait_grant(scheme, REQUEST_ID, start=start)).path == CONSENTS


async def test_expired_web_secret_is_refused(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(behaviour={"linking": {"web": {"secret_ttl_s": 30}}})
    answer = await request_consent(scheme, REQUEST_ID, channels=("WEB",))
    login = await web_login(answer)
    scheme.advance(30)
    await authenticate(scheme, REQUEST_ID, login.secret)
    expired = await wait_grant(scheme, REQUEST_ID)
    assert error_code(expired) == "6203" and "expired" in description(expired)
