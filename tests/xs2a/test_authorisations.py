"""``xs2a.authorisations`` and ``xs2a.journey``: every SCA approach end to end, step by step
(digest §2.3), asserting the ``scaStatus``, the ``transactionStatus`` and the ledger at each
step. erika pays max 100.00 EUR at the same bank unless said otherwise: 1000.00 → 900.00."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tpsim.auth.psu import WrongPassword
from tpsim.errors import LoginRefused
from tpsim.xs2a.api import Answer
from tpsim.xs2a.journey import OAuthApproval, RedirectJourney

from .support import (
    DECOUPLED,
    EMBEDDED,
    ERIKA,
    MAX,
    NOK_URI,
    OK_URI,
    OTP,
    PASSWORD,
    REDIRECT,
    World,
    single,
    world,
)

SCT = "payments/sepa-credit-transfers"
UNTOUCHED = {ERIKA: "1000.00", MAX: "0.00"}
PAID = {ERIKA: "900.00", MAX: "100.00"}


def money(w: World) -> dict[str, str]:
    balances = w.balances()
    return {ERIKA: balances[ERIKA], MAX: balances[MAX]}


def put(w: World, answer: Answer, body: dict[str, Any], **headers: Any) -> Answer:
    """``PUT …/authorisations/{id}`` of the payment's implicit authorisation."""
    path = f"{SCT}/{answer.payment_id}/authorisations/{answer.authorisation_id}"
    return w.call("PUT", path, body, **headers)


def code(answer: Answer) -> tuple[int, str]:
    assert answer.body is not None, answer
    return answer.status, answer.body["tppMessages"][0]["code"]


def journey(w: World, answer: Answer) -> RedirectJourney:
    assert answer.authorisation_id is not None
    return RedirectJourney(w.auths, answer.authorisation_id)


def state(w: World, answer: Answer) -> tuple[str, str, dict[str, str]]:
    """(scaStatus, transactionStatus, balances) as the TPP and the ledger see them."""
    return w.sca_status(answer), w.status(answer), money(w)


# -- redirect --------------------------------------------------------------------------------


def test_redirect_approved_at_the_banks_page_pays_and_returns_to_the_tpp() -> None:
    w = world()
    answer = w.initiate(**REDIRECT, TPP_Nok_Redirect_URI=NOK_URI)
    page = journey(w, answer)
    view = page.view()
    assert (view.requester, view.user_id, view.closed) == ("Example TPP", "erika", None)
    assert "100.00 EUR to Max Mustermann" in view.purpose
    assert state(w, answer) == ("received", "RCVD", UNTOUCHED)
    assert page.approve(None, PASSWORD, []) == OK_URI
    assert state(w, answer) == ("finalised", "ACCC", PAID)


def test_redirect_denied_returns_to_the_nok_uri_and_rejects() -> None:
    w = world()
    answer = w.initiate(**REDIRECT, TPP_Nok_Redirect_URI=NOK_URI)
    assert journey(w, answer).deny() == NOK_URI
    assert state(w, answer) == ("failed", "RJCT", UNTOUCHED)


def test_redirect_denied_without_a_nok_uri_returns_to_the_redirect_uri() -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    assert journey(w, answer).deny() == OK_URI


def test_wrong_passwords_are_counted_and_the_last_fails_to_the_nok_uri() -> None:
    w = world(behaviour={"max_attempts": 3})
    answer = w.initiate(**REDIRECT, TPP_Nok_Redirect_URI=NOK_URI)
    page = journey(w, answer)
    for left in (2, 1):
        with pytest.raises(WrongPassword) as wrong:
            page.approve(None, "guess", [])
        assert (wrong.value.left, wrong.value.redirect, wrong.value.http_status) == (
            left,
            None,
            401,
        )
        assert state(w, answer) == ("received", "RCVD", UNTOUCHED)
    with pytest.raises(WrongPassword) as wrong:
        page.approve(None, "guess", [])
    assert (wrong.value.left, wrong.value.redirect) == (0, NOK_URI)
    assert state(w, answer) == ("failed", "RJCT", UNTOUCHED)
    with pytest.raises(LoginRefused) as closed:
        page.approve(None, PASSWORD, [])
    assert closed.value.http_status == 409


def test_the_page_refuses_a_user_who_does_not_hold_the_account() -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    with pytest.raises(WrongPassword):
        journey(w, answer).approve("max", PASSWORD, [])
    assert state(w, answer) == ("received", "RCVD", UNTOUCHED)


def test_headless_approval_pays_without_a_password() -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    decision = journey(w, answer).decide_headless(True, "erika")
    assert (decision.redirect, decision.sca_status.value) == (OK_URI, "finalised")
    assert state(w, answer) == ("finalised", "ACCC", PAID)


def test_headless_approval_by_someone_else_is_a_login_refusal() -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    with pytest.raises(LoginRefused) as refused:
        journey(w, answer).decide_headless(True, "max")
    assert refused.value.http_status == 401
    assert state(w, answer) == ("received", "RCVD", UNTOUCHED)


def test_an_expired_redirect_link_leads_nowhere_and_fails_the_authorisation() -> None:
    w = world(profile={"redirect_url_expiration_time_ms": 600_000})
    answer = w.initiate(**REDIRECT)
    w.clock.advance(599)
    assert journey(w, answer).view().closed is None
    w.clock.advance(1)
    assert "expired" in str(journey(w, answer).view().closed)
    with pytest.raises(LoginRefused) as refused:
        journey(w, answer).approve(None, PASSWORD, [])
    assert refused.value.http_status == 409
    assert state(w, answer) == ("failed", "RJCT", UNTOUCHED)


def test_a_cancelled_payment_has_nothing_left_to_approve() -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    assert w.call("DELETE", f"{SCT}/{answer.payment_id}").status == 204
    with pytest.raises(LoginRefused) as refused:
        journey(w, answer).approve(None, PASSWORD, [])
    assert refused.value.http_status == 409
    assert state(w, answer) == ("failed", "CANC", UNTOUCHED)


def test_psu_data_on_a_redirect_authorisation_is_service_blocked() -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    assert code(put(w, answer, {"psuData": {"password": PASSWORD}}, PSU_ID="erika")) == (
        403,
        "SERVICE_BLOCKED",
    )
    assert code(put(w, answer, {"scaAuthenticationData": OTP})) == (403, "SERVICE_BLOCKED")
    assert state(w, answer) == ("received", "RCVD", UNTOUCHED)


def test_psu_data_when_starting_a_redirect_authorisation_starts_nothing() -> None:
    w = world(profile={"start_authorisation_mode": "explicit"})
    answer = w.initiate(**REDIRECT)
    path = f"{SCT}/{answer.payment_id}/authorisations"
    refused = w.call("POST", path, {"psuData": {"password": PASSWORD}}, PSU_ID="erika")
    assert code(refused) == (403, "SERVICE_BLOCKED")
    assert w.call("GET", path).body == {"authorisationIds": []}
    assert w.call("POST", path).status == 201  # the TPP can still start the redirect SCA


# -- confirmation of the authorisation --------------------------------------------------------


def confirmation_code(url: str) -> str:
    [value] = parse_qs(urlsplit(url).query)["confirmationCode"]
    return value


def test_a_mandated_confirmation_holds_the_payment_until_the_tpp_confirms() -> None:
    w = world(profile={"authorisation_confirmation_request_mandated": True})
    answer = w.initiate(**REDIRECT)
    back = journey(w, answer).approve(None, PASSWORD, [])
    assert back.startswith(OK_URI + "?confirmationCode=")
    assert state(w, answer) == ("unconfirmed", "RCVD", UNTOUCHED)
    confirmed = put(w, answer, {"confirmationCode": confirmation_code(back)})
    assert confirmed.status == 200
    assert confirmed.body is not None
    assert confirmed.body["scaStatus"] == "finalised"
    assert state(w, answer) == ("finalised", "ACCC", PAID)


def test_an_unconfirmed_authorisation_links_its_confirmation() -> None:
    w = world(profile={"authorisation_confirmation_request_mandated": True})
    answer = w.initiate(**REDIRECT)
    journey(w, answer).approve(None, PASSWORD, [])
    wrong = put(w, answer, {"confirmationCode": "not-the-code"})
    assert code(wrong) == (401, "PSU_CREDENTIALS_INVALID")
    assert "2 attempt(s) left" in wrong.body["tppMessages"][0]["text"]  # type: ignore[index]
    assert state(w, answer) == ("unconfirmed", "RCVD", UNTOUCHED)


def test_wrong_confirmation_codes_fail_the_authorisation_at_the_last() -> None:
    w = world(
        profile={"authorisation_confirmation_request_mandated": True},
        behaviour={"max_attempts": 2},
    )
    answer = w.initiate(**REDIRECT)
    back = journey(w, answer).approve(None, PASSWORD, [])
    for _ in range(2):
        assert code(put(w, answer, {"confirmationCode": "nope"})) == (
            401,
            "PSU_CREDENTIALS_INVALID",
        )
    assert state(w, answer) == ("failed", "RJCT", UNTOUCHED)
    late = put(w, answer, {"confirmationCode": confirmation_code(back)})
    assert code(late) == (400, "SCA_INVALID")


def test_a_confirmation_code_before_the_psu_approved_is_out_of_order() -> None:
    w = world(profile={"authorisation_confirmation_request_mandated": True})
    answer = w.initiate(**REDIRECT)
    assert code(put(w, answer, {"confirmationCode": "early"})) == (409, "STATUS_INVALID")


# -- OAuth -----------------------------------------------------------------------------------


def test_oauth_approval_finalises_the_payments_authorisation() -> None:
    w = world(profile={"sca_approaches_supported": ["OAUTH"]})
    answer = w.initiate()
    assert answer.payment_id is not None
    approval = OAuthApproval(w.auths)
    assert approval.view(answer.payment_id).closed is None
    assert approval.approve(answer.payment_id, None, PASSWORD, []) == "erika"
    assert state(w, answer) == ("finalised", "ACCC", PAID)
    assert "ACCC" in str(approval.view(answer.payment_id).closed)


def test_oauth_approval_of_an_explicit_payment_starts_its_authorisation() -> None:
    w = world(
        profile={"sca_approaches_supported": ["OAUTH"], "start_authorisation_mode": "explicit"}
    )
    answer = w.initiate()
    assert answer.payment_id is not None
    OAuthApproval(w.auths).approve(answer.payment_id, None, PASSWORD, [])
    assert w.status(answer) == "ACCC"
    listed = w.call("GET", f"{SCT}/{answer.payment_id}/authorisations")
    assert listed.body is not None
    assert len(listed.body["authorisationIds"]) == 1


def test_oauth_denial_rejects() -> None:
    w = world(profile={"sca_approaches_supported": ["OAUTH"]})
    answer = w.initiate()
    assert answer.payment_id is not None
    OAuthApproval(w.auths).deny(answer.payment_id)
    assert state(w, answer) == ("failed", "RJCT", UNTOUCHED)


# -- embedded ----------------------------------------------------------------------------------


def test_embedded_password_then_method_then_otp() -> None:
    w = world()
    answer = w.initiate(**EMBEDDED)
    assert state(w, answer) == ("psuIdentified", "RCVD", UNTOUCHED)

    authenticated = put(w, answer, {"psuData": {"password": PASSWORD}}, PSU_ID="erika")
    assert authenticated.body is not None
    assert authenticated.body["scaStatus"] == "psuAuthenticated"
    assert authenticated.body["scaMethods"] == [
        {"authenticationType": "SMS_OTP", "authenticationMethodId": "sms", "name": "SMS"},
        {"authenticationType": "PUSH_OTP", "authenticationMethodId": "push", "name": "App"},
    ]
    assert "selectAuthenticationMethod" in authenticated.body["_links"]

    selected = put(w, answer, {"authenticationMethodId": "push"})
    assert selected.body is not None
    assert selected.body["scaStatus"] == "scaMethodSelected"
    assert selected.body["chosenScaMethod"]["authenticationMethodId"] == "push"
    assert "otpMaxLength" in selected.body["challengeData"]
    assert "authoriseTransaction" in selected.body["_links"]
    assert state(w, answer) == ("scaMethodSelected", "RCVD", UNTOUCHED)

    finalised = put(w, answer, {"scaAuthenticationData": OTP})
    assert finalised.body is not None
    assert finalised.body["scaStatus"] == "finalised"
    assert state(w, answer) == ("finalised", "ACCC", PAID)


def test_embedded_with_one_method_skips_the_selection() -> None:
    one = [{"authentication_method_id": "sms", "authentication_type": "SMS_OTP"}]
    w = world(profile={"sca_methods": one})
    answer = w.initiate(**EMBEDDED)
    authenticated = put(w, answer, {"psuData": {"password": PASSWORD}})
    assert authenticated.body is not None
    assert authenticated.body["scaStatus"] == "scaMethodSelected"
    assert authenticated.body["chosenScaMethod"] == {
        "authenticationType": "SMS_OTP",
        "authenticationMethodId": "sms",
    }
    assert "authoriseTransaction" in authenticated.body["_links"]
    put(w, answer, {"scaAuthenticationData": OTP})
    assert state(w, answer) == ("finalised", "ACCC", PAID)


def test_embedded_psu_identified_later_by_the_psu_id_header() -> None:
    w = world()
    answer = w.initiate(TPP_Redirect_Preferred="false")
    assert w.sca_status(answer) == "received"
    assert code(put(w, answer, {})) == (400, "FORMAT_ERROR")  # no PSU-ID to identify
    identified = put(w, answer, {}, PSU_ID="erika")
    assert identified.body is not None
    assert identified.body["scaStatus"] == "psuIdentified"
    assert "updatePsuAuthentication" in identified.body["_links"]


def test_embedded_password_without_any_psu_id_is_a_format_error() -> None:
    w = world()
    answer = w.initiate(TPP_Redirect_Preferred="false")
    refused = put(w, answer, {"psuData": {"password": PASSWORD}})
    assert code(refused) == (400, "FORMAT_ERROR")
    assert refused.body is not None
    assert refused.body["tppMessages"][0]["path"] == "PSU-ID"


def test_embedded_wrong_passwords_are_counted() -> None:
    w = world()
    answer = w.initiate(**EMBEDDED)
    wrong = put(w, answer, {"psuData": {"password": "guess"}})
    assert code(wrong) == (401, "PSU_CREDENTIALS_INVALID")
    assert "2 attempt(s) left" in wrong.body["tppMessages"][0]["text"]  # type: ignore[index]
    assert state(w, answer) == ("psuIdentified", "RCVD", UNTOUCHED)
    # Another user's PSU-ID with their own password is no better: max holds no erika account.
    assert code(put(w, answer, {"psuData": {"password": PASSWORD}}, PSU_ID="max"))[0] == 401
    put(w, answer, {"psuData": {"password": PASSWORD}}, PSU_ID="erika")
    assert w.sca_status(answer) == "psuAuthenticated"


def test_embedded_wrong_otps_fail_the_authorisation_and_reject_the_payment() -> None:
    w = world(behaviour={"max_attempts": 3})
    answer = w.initiate(**EMBEDDED)
    put(w, answer, {"psuData": {"password": PASSWORD}})
    put(w, answer, {"authenticationMethodId": "sms"})
    for _ in range(2):
        assert code(put(w, answer, {"scaAuthenticationData": "000000"}))[0] == 401
        assert state(w, answer) == ("scaMethodSelected", "RCVD", UNTOUCHED)
    last = put(w, answer, {"scaAuthenticationData": "000000"})
    assert code(last) == (401, "PSU_CREDENTIALS_INVALID")
    assert "no attempts left" in last.body["tppMessages"][0]["text"]  # type: ignore[index]
    assert state(w, answer) == ("failed", "RJCT", UNTOUCHED)
    assert code(put(w, answer, {"scaAuthenticationData": OTP})) == (409, "STATUS_INVALID")


def test_an_unknown_sca_method_is_refused() -> None:
    w = world()
    answer = w.initiate(**EMBEDDED)
    put(w, answer, {"psuData": {"password": PASSWORD}})
    refused = put(w, answer, {"authenticationMethodId": "carrier-pigeon"})
    assert code(refused) == (400, "SCA_METHOD_UNKNOWN")
    assert refused.body is not None
    assert refused.body["tppMessages"][0]["path"] == "authenticationMethodId"
    assert w.sca_status(answer) == "psuAuthenticated"


# (steps before, the step out of order) → 409 STATUS_INVALID, the status unchanged
OUT_OF_ORDER = [
    pytest.param([], {"authenticationMethodId": "sms"}, id="method before password"),
    pytest.param([], {"scaAuthenticationData": OTP}, id="otp before password"),
    pytest.param([{"psuData": {"password": PASSWORD}}], {"scaAuthenticationData": OTP},
                 id="otp before method"),
    pytest.param([{"psuData": {"password": PASSWORD}}], {"psuData": {"password": PASSWORD}},
                 id="password twice"),
    pytest.param([{"psuData": {"password": PASSWORD}}, {"authenticationMethodId": "sms"}],
                 {"authenticationMethodId": "push"}, id="method twice"),
]  # fmt: skip


@pytest.mark.parametrize(("before", "step"), OUT_OF_ORDER)
def test_embedded_steps_out_of_order_are_status_invalid(
    before: list[dict[str, Any]], step: dict[str, Any]
) -> None:
    w = world()
    answer = w.initiate(**EMBEDDED)
    for body in before:
        assert put(w, answer, body).status == 200
    status = w.sca_status(answer)
    assert code(put(w, answer, step)) == (409, "STATUS_INVALID")
    assert state(w, answer) == (status, "RCVD", UNTOUCHED)


def test_a_confirmation_code_on_an_embedded_authorisation_is_a_format_error() -> None:
    w = world()
    answer = w.initiate(**EMBEDDED)
    assert code(put(w, answer, {"confirmationCode": "abc"})) == (400, "FORMAT_ERROR")


# -- decoupled --------------------------------------------------------------------------------


def test_decoupled_approved_in_the_app() -> None:
    w = world()
    answer = w.initiate(**DECOUPLED)
    assert state(w, answer) == ("started", "RCVD", UNTOUCHED)
    got = w.call("GET", f"{SCT}/{answer.payment_id}/authorisations/{answer.authorisation_id}")
    assert got.body is not None
    assert "app" in got.body["psuMessage"]
    assert answer.authorisation_id is not None
    decision = w.auths.approve(answer.authorisation_id, None, None)
    assert (decision.redirect, decision.sca_status.value) == (None, "finalised")
    assert state(w, answer) == ("finalised", "ACCC", PAID)


def test_decoupled_denied_in_the_app() -> None:
    w = world()
    answer = w.initiate(**DECOUPLED)
    assert answer.authorisation_id is not None
    assert w.auths.deny(answer.authorisation_id).sca_status.value == "failed"
    assert state(w, answer) == ("failed", "RJCT", UNTOUCHED)


# (PSU-ID at initiation, profile, extra headers) → the initiation's answer. Decoupled, the
# authorisation that starts with the payment pushes to PSU-ID's app at once: the account's
# holder or a sandbox persona is asked; anyone else is PSU_CREDENTIALS_INVALID, and since a
# 401 carries no paymentId the initiation is refused whole (nothing kept).
_DECOUPLED_ONLY = {"sca_approaches_supported": ["DECOUPLED"]}
DECOUPLED_STARTS = [
    pytest.param("erika", {}, {"TPP-Decoupled-Preferred": "true"}, (201, "started"),
                 id="the holder"),
    pytest.param("PSU-Rejected", {}, {"TPP-Decoupled-Preferred": "true"}, (201, "started"),
                 id="a sandbox persona"),
    pytest.param("max", {}, {"TPP-Decoupled-Preferred": "true"},
                 (401, "PSU_CREDENTIALS_INVALID"), id="TPP-Decoupled-Preferred, not the holder"),
    pytest.param("max", _DECOUPLED_ONLY, {}, (401, "PSU_CREDENTIALS_INVALID"),
                 id="the bank's only approach, not the holder"),
    pytest.param("max", _DECOUPLED_ONLY, {"TPP-Explicit-Authorisation-Preferred": "true"},
                 (201, "no authorisation yet"), id="explicit start: nobody is asked yet"),
]  # fmt: skip


@pytest.mark.parametrize(("psu", "profile", "headers", "expected"), DECOUPLED_STARTS)
def test_a_decoupled_initiation_asks_psu_id_at_once_or_is_refused_whole(
    psu: str, profile: dict[str, Any], headers: dict[str, str], expected: tuple[int, str]
) -> None:
    w = world(profile=profile)
    answer = w.call("POST", SCT, single(), PSU_ID=psu, **headers)
    if answer.status == 201:
        assert answer.payment_id is not None
        started = w.sca_status(answer) if answer.authorisation_id else "no authorisation yet"
        assert (answer.status, started) == expected
        return
    assert code(answer) == expected
    assert answer.body is not None and answer.body["tppMessages"][0]["path"] == "PSU-ID"
    assert "Location" not in answer.headers and answer.payment_id is None
    assert w.kept() == {}  # no payment, intent or authorisation the TPP could never reach
    assert money(w) == UNTOUCHED


def test_a_refused_decoupled_initiation_may_come_again_corrected() -> None:
    # With the opt-in idempotent_x_request_id, the refusal is not remembered either: the
    # same X-Request-ID naming the holder is a new initiation, and it is the bank's only one.
    w = world(profile={"idempotent_x_request_id": True})
    refused = w.call("POST", SCT, single(), **{**DECOUPLED, "PSU-ID": "max"})
    assert code(refused) == (401, "PSU_CREDENTIALS_INVALID")
    taken = w.initiate(single(), SCT, **DECOUPLED)
    assert [p.payment_id for p in w.xs2a.payments] == [taken.payment_id]
    assert w.sca_status(taken) == "started"


def test_decoupled_psu_identified_later_starts_the_push() -> None:
    w = world()
    answer = w.initiate(TPP_Decoupled_Preferred="true")
    assert w.sca_status(answer) == "received"
    started = put(w, answer, {}, PSU_ID="erika")
    assert started.body is not None
    assert started.body["scaStatus"] == "started"
    assert "app" in started.body["psuMessage"]


def test_decoupled_with_a_password_starts_the_push() -> None:
    w = world()
    answer = w.initiate(TPP_Decoupled_Preferred="true")
    started = put(w, answer, {"psuData": {"password": PASSWORD}}, PSU_ID="erika")
    assert started.body is not None
    assert started.body["scaStatus"] == "started"


def test_decoupled_approval_after_the_configured_delay() -> None:
    w = world(behaviour={"decoupled_approval_delay_s": 30})
    answer = w.initiate(**DECOUPLED)
    assert w.auths.next_due() == w.clock.now().replace(second=30)
    w.advance(seconds=29)
    assert state(w, answer) == ("started", "RCVD", UNTOUCHED)
    w.advance(seconds=1)  # the edge's timer: auths.tick(), then bank.tick()
    assert w.auths.next_due() is None
    assert state(w, answer) == ("finalised", "ACCC", PAID)


def test_decoupled_approval_falls_due_on_the_next_read_too() -> None:
    w = world(behaviour={"decoupled_approval_delay_s": 30})
    answer = w.initiate(**DECOUPLED)
    w.clock.advance(30)  # no tick
    assert state(w, answer) == ("finalised", "ACCC", PAID)


def test_an_admin_decision_on_a_finished_authorisation_is_refused() -> None:
    w = world()
    answer = w.initiate(**DECOUPLED)
    assert answer.authorisation_id is not None
    w.auths.approve(answer.authorisation_id, None, None)
    with pytest.raises(Exception, match="finalised: nothing to decide"):
        w.auths.deny(answer.authorisation_id)


# -- the authorisation's own expiry ---------------------------------------------------------


def test_an_authorisation_left_too_long_fails_and_rejects_the_payment() -> None:
    w = world(profile={"authorisation_expiration_time_ms": 60_000})
    answer = w.initiate(**EMBEDDED)
    w.clock.advance(60)
    assert state(w, answer) == ("failed", "RJCT", UNTOUCHED)
    assert code(put(w, answer, {"psuData": {"password": PASSWORD}})) == (409, "STATUS_INVALID")
