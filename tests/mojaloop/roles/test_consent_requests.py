"""A simulated DFSP's consent requests without sockets (linking patterns §3.3-3.4, §5.2-5.3;
FSPIOP §3.2.5): every transition of ``consent_requests.TRANSITIONS`` driven by the message
or login-page call that causes it, and every refusal with its code under both profiles.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.mojaloop.roles.test_linking import REFUSED_REQUESTS
from tests.support.linking import (
    CAROL,
    CAROL_CHEQUING,
    CAROL_SAVINGS,
    PROFILES,
    TRANSFER,
    code,
    uid,
    wrong,
)
from tests.support.linking_roles import (
    CALLBACK,
    CONSENT_REQUESTS,
    CONSENTS,
    DFSP,
    PISP,
    error_code,
    error_text,
    exchange,
    otp_of,
    redirect_params,
    request_body,
    sign_in,
)
from tests.support.roles import Roles
from tpsim.auth.psu import MAX_WRONG_PASSWORDS, WrongPassword
from tpsim.errors import LoginRefused
from tpsim.mojaloop.errors import ConsentRequestNotFound
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.consent_requests import ConsentRequests, PasswordsExhausted
from tpsim.mojaloop.roles.states import CrState

REQUEST_ID = uid("unit-consent-request")
PATH = f"{CONSENT_REQUESTS}/{REQUEST_ID}"
FIXED_OTP = "246810"


def build(profile: str = "spec", **linking: Any) -> Roles:
    """The default scheme with a fixed OTP and ``linking`` settings."""
    settings = {"otp": {"fixed": FIXED_OTP}, **linking}
    return Roles.build(behaviour={"profile": profile, "linking": settings})


def requests_of(roles: Roles) -> ConsentRequests:
    requests: ConsentRequests = roles.role(DFSP).consent_requests
    return requests


def state_of(roles: Roles) -> CrState:
    return requests_of(roles).login_view(REQUEST_ID).state


def post(roles: Roles, *channels: str, source: str = PISP, **options: Any) -> Message:
    """``POST /consentRequests`` for Carol's chequing account; the one answer."""
    body = request_body(REQUEST_ID, channels=channels or ("WEB", "OTP"), **options)
    [answer] = exchange(roles, "POST", CONSENT_REQUESTS, body, source=source).messages
    return answer


def patch(roles: Roles, token: str, *, source: str = PISP) -> Message:
    [answer] = exchange(roles, "PATCH", PATH, {"authToken": token}, source=source).messages
    return answer


# --- RECEIVED → AUTHENTICATING | AWAITING_PATCH | REJECTED -----------------------------------


def test_web_request_is_answered_with_the_login_page() -> None:
    roles = build()
    answer = post(roles, "WEB")

    assert (answer.method, answer.path, answer.destination) == ("PUT", PATH, PISP)
    assert answer.source == DFSP
    assert answer.body == {
        "scopes": [{"address": CAROL_CHEQUING, "actions": TRANSFER}],
        "authChannels": ["WEB"],
        "callbackUri": CALLBACK,
        "authUri": f"http://127.0.0.1:4040/login/{DFSP}/{REQUEST_ID}",
    }
    assert state_of(roles) is CrState.AUTHENTICATING


def test_otp_request_sends_the_otp_to_the_user_only() -> None:
    roles = build()
    body = request_body(REQUEST_ID, channels=("OTP",))
    effects = exchange(roles, "POST", CONSENT_REQUESTS, body)

    [answer] = effects.messages
    assert (answer.method, answer.path) == ("PUT", PATH)
    assert answer.body is not None and answer.body["authChannels"] == ["OTP"]
    assert "authUri" not in answer.body and FIXED_OTP not in str(answer.body)
    [sms] = effects.out_of_band
    assert (sms.method, sms.path, sms.destination) == ("SMS", f"/users/{CAROL}", CAROL)
    assert sms.body == {
        "consentRequestId": REQUEST_ID,
        "otp": FIXED_OTP,
        "expiresAt": "2030-01-01T00:05:00.000Z",
    }
    assert state_of(roles) is CrState.AWAITING_PATCH


def test_random_otp_is_six_digits() -> None:
    roles = Roles.build()
    post(roles, "OTP")
    otp = otp_of(roles, REQUEST_ID)
    assert len(otp) == 6 and otp.isdigit()


def test_scopes_are_echoed_as_sent() -> None:
    # Extra properties, action order: the PUT carries the scopes byte for byte.
    roles = build()
    body = request_body(REQUEST_ID, channels=("OTP",))
    body["scopes"] = [{"address": CAROL_CHEQUING, "actions": TRANSFER[::-1], "note": "x"}]
    [answer] = exchange(roles, "POST", CONSENT_REQUESTS, body).messages
    assert answer.body is not None and answer.body["scopes"] == body["scopes"]


@pytest.mark.parametrize(
    ("offered", "user_channels", "chosen"),
    [
        (("OTP", "WEB"), [], "WEB"),  # the DFSP's preference, whatever the PISP's order
        (("WEB", "OTP"), ["OTP"], "OTP"),  # the user's own
        (("WEB",), ["OTP", "WEB"], "WEB"),  # the first the PISP also offers
    ],
)
def test_channel_follows_the_dfsp_and_the_user(
    offered: tuple[str, ...], user_channels: list[str], chosen: str
) -> None:
    user = {"user_id": CAROL, "fsp_id": DFSP, "auth_channels": user_channels or None}
    roles = Roles.build(users=[user])
    answer = post(roles, *offered)
    assert answer.body is not None and answer.body["authChannels"] == [chosen]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("row", REFUSED_REQUESTS, ids=[row[0] for row in REFUSED_REQUESTS])
def test_request_is_refused_on_arrival(profile: str, row: tuple[Any, ...]) -> None:
    _, changes, linking, spec, reference = row  # the HTTP test's table
    roles = build(profile, **linking)
    options = {k: v for k, v in changes.items() if k in ("channels", "actions", "callback")}
    user, addresses = changes.get("user", CAROL), changes.get("addresses", [CAROL_CHEQUING])
    body = request_body(REQUEST_ID, user, addresses, **options)

    [refused] = exchange(roles, "POST", CONSENT_REQUESTS, body).messages

    assert (refused.method, refused.path, refused.destination) == ("PUT", f"{PATH}/error", PISP)
    assert error_code(refused) == code(profile, spec, reference)
    assert requests_of(roles).login_view(REQUEST_ID).state is CrState.REJECTED
    # REJECTED is final: the PATCH and the GET are told why, again.
    for method, sent in (("PATCH", {"authToken": FIXED_OTP}), ("GET", None)):
        [again] = exchange(roles, method, PATH, sent).messages
        assert again.body == refused.body, method


def test_refusal_says_what_the_dfsp_grants() -> None:
    roles = build(scope_actions=["ACCOUNTS_GET_BALANCE"])
    [refused] = exchange(roles, "POST", CONSENT_REQUESTS, request_body(REQUEST_ID)).messages
    info = (refused.body or {})["errorInformation"]
    assert info["errorDescription"] == (
        "scopes.0.actions: dfspa does not grant ACCOUNTS_TRANSFER; it grants ACCOUNTS_GET_BALANCE"
    )


# --- AUTHENTICATING: the login page --------------------------------------------------------


def test_approval_redirects_with_a_secret_the_patch_must_carry() -> None:
    roles = build()
    post(roles, "WEB")
    url, effects = sign_in(roles, REQUEST_ID)

    params = redirect_params(url)
    assert url.startswith(f"{CALLBACK}?") and params["consentRequestId"] == REQUEST_ID
    [redirect] = effects.out_of_band
    assert (redirect.method, redirect.destination) == ("REDIRECT", CAROL)
    assert redirect.body is not None and redirect.body["location"] == url
    assert not effects.messages  # the PISP learns of it through the browser only
    assert state_of(roles) is CrState.AWAITING_PATCH

    [grant] = exchange(roles, "PATCH", PATH, {"authToken": params["secret"]}).messages
    assert (grant.method, grant.path, grant.destination) == ("POST", CONSENTS, PISP)


def test_user_unticks_an_account() -> None:
    roles = build()
    body = request_body(REQUEST_ID, addresses=[CAROL_CHEQUING, CAROL_SAVINGS], channels=("WEB",))
    [first] = exchange(roles, "POST", CONSENT_REQUESTS, body).messages
    url, _ = sign_in(roles, REQUEST_ID, [CAROL_SAVINGS])

    savings_only = [{"address": CAROL_SAVINGS, "actions": TRANSFER}]
    [reported] = exchange(roles, "GET", PATH).messages
    assert reported.body == dict(first.body or {}, scopes=savings_only)
    [grant] = exchange(roles, "PATCH", PATH, {"authToken": redirect_params(url)["secret"]}).messages
    assert (grant.body or {})["scopes"] == savings_only


def test_login_view_shows_who_asks_for_what() -> None:
    roles = build()
    post(roles, "WEB")
    view = requests_of(roles).login_view(REQUEST_ID)
    assert (view.dfsp, view.pisp, view.user_id, view.user_name) == (
        DFSP,
        PISP,
        CAROL,
        "Carol Cheng",
    )
    [(scope, account)] = view.accounts
    assert scope["address"] == CAROL_CHEQUING
    assert account is not None and account.nickname == "Carol's chequing account"


# (case, password, accounts, HTTP status of the refusal)
LOGIN_REFUSALS = [
    ("wrong password", "nope", [CAROL_CHEQUING], 401),
    ("no account chosen", "tpsim", [], 400),
    ("an account not asked for", "tpsim", [CAROL_SAVINGS], 400),
]


@pytest.mark.parametrize(
    ("case", "password", "accounts", "status"), LOGIN_REFUSALS, ids=[r[0] for r in LOGIN_REFUSALS]
)
def test_login_is_refused(case: str, password: str, accounts: list[str], status: int) -> None:
    roles = build()
    post(roles, "WEB")
    with pytest.raises(LoginRefused) as refused:
        sign_in(roles, REQUEST_ID, accounts, password=password)
    assert refused.value.http_status == status
    assert state_of(roles) is CrState.AUTHENTICATING  # the user may try again


@pytest.mark.parametrize("profile", PROFILES)
def test_user_denies(profile: str) -> None:
    roles = build(profile)
    post(roles, "WEB")
    url, effects = requests_of(roles).deny(REQUEST_ID)

    assert redirect_params(url) == {"consentRequestId": REQUEST_ID, "error": "access_denied"}
    [denied] = effects.messages
    assert (denied.path, denied.destination) == (f"{PATH}/error", PISP)
    assert error_code(denied) == code(profile, "6102", "7200")
    assert state_of(roles) is CrState.DENIED
    assert patch(roles, "anything").body == denied.body


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_only_a_request_waiting_for_a_sign_in_can_be_decided(decision: str) -> None:
    roles = build()
    post(roles, "OTP")
    requests = requests_of(roles)
    with pytest.raises(LoginRefused, match="not waiting for a sign-in") as refused:
        if decision == "deny":
            requests.deny(REQUEST_ID)
        else:
            requests.approve(REQUEST_ID, "tpsim", [CAROL_CHEQUING])
    assert refused.value.http_status == 409


def test_login_page_of_an_unknown_request() -> None:
    with pytest.raises(ConsentRequestNotFound, match=REQUEST_ID):
        requests_of(build()).login_view(REQUEST_ID)


@pytest.mark.parametrize("profile", ["spec"])  # reference: one try (test_reference_profile)
def test_patch_before_the_user_signed_in(profile: str) -> None:
    roles = build(profile, max_attempts=2)
    post(roles, "WEB")

    first = patch(roles, "guessed")
    assert error_code(first) == code(profile, "6203", "7205")
    assert "not signed in yet; 1 attempt(s) left" in error_text(first)
    assert state_of(roles) is CrState.AUTHENTICATING

    closed = patch(roles, "guessed")
    assert "2 times: the consent request is closed" in error_text(closed)
    assert state_of(roles) is CrState.FAILED


# --- AWAITING_PATCH: the OTP or the web secret --------------------------------------------


@pytest.mark.parametrize("profile", ["spec"])  # reference: one try (test_reference_profile)
def test_wrong_otp_then_the_right_one(profile: str) -> None:
    roles = build(profile)
    post(roles, "OTP")

    refused = patch(roles, wrong(FIXED_OTP))
    assert (refused.path, refused.destination) == (f"{PATH}/error", PISP)
    assert error_code(refused) == code(profile, "6203", "7205")
    assert error_text(refused) == "authToken: wrong OTP; 2 attempt(s) left"
    assert requests_of(roles).otp(REQUEST_ID) == {
        "consentRequestId": REQUEST_ID,
        "fspId": DFSP,
        "userId": CAROL,
        "otp": FIXED_OTP,
        "expiresAt": "2030-01-01T00:05:00.000Z",
        "attemptsLeft": 2,
        "state": "AWAITING_PATCH",
    }

    grant = patch(roles, FIXED_OTP)
    assert (grant.method, grant.path, grant.destination) == ("POST", CONSENTS, PISP)
    assert grant.body == {
        "consentId": (grant.body or {})["consentId"],
        "consentRequestId": REQUEST_ID,
        "scopes": [{"address": CAROL_CHEQUING, "actions": TRANSFER}],
        "status": "ISSUED",
    }
    assert state_of(roles) is CrState.GRANTED


@pytest.mark.parametrize("profile", ["spec"])  # reference: one try (test_reference_profile)
def test_too_many_wrong_otps_close_the_request(profile: str) -> None:
    roles = build(profile, max_attempts=2)
    post(roles, "OTP")
    patch(roles, wrong(FIXED_OTP))
    closed = patch(roles, wrong(FIXED_OTP))
    assert error_text(closed) == "authToken: wrong OTP, 2 times: the consent request is closed"

    late = patch(roles, FIXED_OTP)
    assert late.body == closed.body
    assert error_code(late) == code(profile, "6203", "7205")
    assert state_of(roles) is CrState.FAILED


@pytest.mark.parametrize(
    ("channel", "ttl"),
    [("OTP", {"otp": {"fixed": FIXED_OTP, "ttl_s": 60}}), ("WEB", {"web": {"secret_ttl_s": 60}})],
)
def test_expired_token_closes_the_request(channel: str, ttl: dict[str, Any]) -> None:
    roles = build(**ttl)  # the clock starts at 2030-01-01T00:00:00Z
    post(roles, channel)
    token = (
        FIXED_OTP if channel == "OTP" else redirect_params(sign_in(roles, REQUEST_ID)[0])["secret"]
    )
    roles.clock.advance(60)

    expired = patch(roles, token)
    assert error_code(expired) == "6203"
    assert "expired at 2030-01-01T00:01:00.000Z" in error_text(expired)
    assert state_of(roles) is CrState.FAILED
    assert patch(roles, token).body == expired.body


def test_otp_just_before_its_expiry_is_accepted() -> None:
    roles = build(otp={"fixed": FIXED_OTP, "ttl_s": 60})
    post(roles, "OTP")
    roles.clock.advance(59.999)
    assert patch(roles, FIXED_OTP).path == CONSENTS


# --- GET, other PISPs, duplicates (FSPIOP §3.2.5) -------------------------------------------


def test_get_reports_the_request_as_it_stands() -> None:
    roles = build()
    first = post(roles, "OTP")
    [again] = exchange(roles, "GET", PATH).messages
    assert (again.method, again.path, again.body) == (first.method, first.path, first.body)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", PATH, None),
        ("PATCH", PATH, {"authToken": FIXED_OTP}),
        ("GET", f"{CONSENT_REQUESTS}/{uid('never-sent')}", None),
    ],
    ids=["GET", "PATCH", "unknown"],
)
def test_another_pisp_sees_no_request(method: str, path: str, body: Any) -> None:
    roles = build()
    post(roles, "OTP")
    [refused] = exchange(roles, method, path, body, source="pispb").messages
    assert (refused.path, refused.destination) == (f"{path}/error", "pispb")
    assert error_code(refused) == "3200"
    assert state_of(roles) is CrState.AWAITING_PATCH


def test_duplicate_gets_the_last_answer_again() -> None:
    roles = build()
    body = request_body(REQUEST_ID, channels=("OTP",))
    first = exchange(roles, "POST", CONSENT_REQUESTS, body)

    again = exchange(roles, "POST", CONSENT_REQUESTS, body)
    assert again.messages == first.messages
    assert not again.out_of_band  # the OTP is not sent twice


def test_duplicate_after_the_request_ended_gets_its_error() -> None:
    roles = build()
    body = request_body(REQUEST_ID, channels=("WEB",))
    exchange(roles, "POST", CONSENT_REQUESTS, body)
    _, denied = requests_of(roles).deny(REQUEST_ID)

    assert exchange(roles, "POST", CONSENT_REQUESTS, body).messages == denied.messages


@pytest.mark.parametrize(
    ("change", "source"),
    [({"userId": "alice"}, PISP), ({}, "pispb")],
    ids=["another body", "another PISP"],
)
def test_reused_request_id_is_refused(change: dict[str, str], source: str) -> None:
    roles = build()
    body = request_body(REQUEST_ID, channels=("OTP",))
    exchange(roles, "POST", CONSENT_REQUESTS, body)

    effects = exchange(roles, "POST", CONSENT_REQUESTS, {**body, **change}, source=source)
    [refused] = effects.messages
    assert (refused.path, refused.destination) == (f"{PATH}/error", source)
    assert error_code(refused) == "3106"
    assert error_text(refused) == (
        f"consent request {REQUEST_ID} was already received with a different body;"
        " use a new consentRequestId"
    )
    assert not effects.out_of_band
    assert requests_of(roles).otp(REQUEST_ID) is not None  # the first one stands
    assert patch(roles, FIXED_OTP).path == CONSENTS


def test_otp_of_a_web_request_is_not_shown() -> None:
    roles = build()
    post(roles, "WEB")
    assert requests_of(roles).otp(REQUEST_ID) is None
    assert requests_of(roles).otp(uid("never-sent")) is None


def test_a_web_request_the_user_never_opens_is_forgotten_in_time() -> None:
    # Without an end, every abandoned WEB request (and its duplicate check) was kept for
    # ever: now it goes the retention after the login page's time (web.secret_ttl_s).
    roles = Roles.build(behaviour={"retention_s": 10, "linking": {"web": {"secret_ttl_s": 60}}})
    post(roles, "WEB")
    roles.clock.advance(60 + 10)
    other = request_body(uid("unit-other-request"), channels=("OTP",))
    exchange(roles, "POST", CONSENT_REQUESTS, other, source=PISP)  # keeping a record sweeps

    with pytest.raises(ConsentRequestNotFound):
        requests_of(roles).login_view(REQUEST_ID)


def test_the_last_wrong_password_allowed_closes_the_request_as_a_denial() -> None:
    # The request counts the wrong passwords (not the page): the count is in its record,
    # kept with --state and gone with a reset.
    roles = build()
    post(roles, "WEB")
    for left in range(MAX_WRONG_PASSWORDS - 1, 0, -1):
        with pytest.raises(WrongPassword) as wrong:
            sign_in(roles, REQUEST_ID, [CAROL_CHEQUING], password="guess")
        assert (wrong.value.left, wrong.value.redirect) == (left, None)

    with pytest.raises(PasswordsExhausted) as closed:
        sign_in(roles, REQUEST_ID, [CAROL_CHEQUING], password="guess")

    assert "error=access_denied" in (closed.value.redirect or "")
    [told] = closed.value.effects.messages
    assert (told.path, error_code(told)) == (f"{PATH}/error", "6102")
    assert state_of(roles) is CrState.FAILED
