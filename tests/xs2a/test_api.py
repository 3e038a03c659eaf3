"""``xs2a.api``: the XS2A PIS interface as a TPP meets it (NextGenPSD2 1.3.11, digest §2.2–2.7),
request → answer, without sockets. Every answer is checked against the official OpenAPI
(``support.World.call``). The SCA flows are ``test_authorisations.py``; the money is
``test_bank.py``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tpsim.config_psd2 import TppConfig
from tpsim.core.execution import MAX_DAYS_AHEAD
from tpsim.xs2a.api import Answer
from tpsim.xs2a.errors import StatusInvalid
from tpsim.xs2a.resources import Approach

from .support import (
    CAROL,
    DECOUPLED,
    EMBEDDED,
    ERIKA,
    MAX,
    NOBODY,
    OK_URI,
    PASSWORD,
    REDIRECT,
    REQUEST_ID,
    SITE,
    TODAY,
    TPP,
    World,
    bulk,
    periodic,
    single,
    world,
)

SCT = "payments/sepa-credit-transfers"
BASE = f"{SITE}/xs2a/dfspa/v1"


def error(answer: Answer) -> tuple[int, str, str | None]:
    """(status, code, path) of a refusal with one ERROR tppMessage."""
    assert answer.body is not None, answer
    [message] = answer.body["tppMessages"]
    assert message["category"] == "ERROR"
    assert message["text"]  # every refusal says what to fix
    return answer.status, message["code"], message.get("path")


def links(answer: Answer) -> set[str]:
    assert answer.body is not None
    return set(answer.body["_links"])


# -- initiation refusals ------------------------------------------------------------------


def usd_second_entry() -> dict[str, Any]:
    """A bulk whose second entry is in USD, from erika's EUR account."""
    body = bulk("1.00", "2.00")
    body["payments"][1]["instructedAmount"] = {"currency": "USD", "amount": "2.00"}
    return body


# (path, body, headers) → (status, code, path): nothing is kept.
INITIATION_ERRORS = [
    pytest.param("payments/foo-transfers", single(), REDIRECT,
                 (404, "PRODUCT_UNKNOWN", "payment-product"), id="unknown product"),
    pytest.param("payments/target-2-payments", single(), REDIRECT,
                 (404, "PRODUCT_UNKNOWN", "payment-product"), id="a product offered nowhere"),
    pytest.param("standing-orders/sepa-credit-transfers", single(), REDIRECT,
                 (404, "RESOURCE_UNKNOWN", "payment-service"), id="unknown service"),
    pytest.param(SCT, single(debtor=CAROL), REDIRECT,
                 (400, "FORMAT_ERROR", "debtorAccount.iban"), id="debtor at another bank"),
    pytest.param(SCT, single(debtor=NOBODY), REDIRECT,
                 (400, "FORMAT_ERROR", "debtorAccount.iban"), id="debtor at no bank"),
    pytest.param(SCT, {**single(), "instructedAmount": {"currency": "USD", "amount": "5.00"}},
                 REDIRECT, (400, "FORMAT_ERROR", "instructedAmount.currency"),
                 id="currency not the debtor account's"),
    pytest.param("bulk-payments/sepa-credit-transfers", usd_second_entry(), REDIRECT,
                 (400, "FORMAT_ERROR", "payments.1.instructedAmount.currency"),
                 id="bulk entry in another currency"),
    pytest.param(SCT, single(requestedExecutionDate=str(TODAY - timedelta(days=1))), REDIRECT,
                 (400, "EXECUTION_DATE_INVALID", "requestedExecutionDate"),
                 id="requestedExecutionDate in the past"),
    pytest.param("periodic-payments/sepa-credit-transfers",
                 periodic(start=str(TODAY - timedelta(days=1))), REDIRECT,
                 (400, "EXECUTION_DATE_INVALID", "startDate"), id="startDate in the past"),
    pytest.param(SCT, single(requestedExecutionDate=str(TODAY + timedelta(days=367))),
                 REDIRECT, (400, "EXECUTION_DATE_INVALID", "requestedExecutionDate"),
                 id="requestedExecutionDate over MAX_DAYS_AHEAD days ahead"),
    pytest.param("periodic-payments/sepa-credit-transfers",
                 periodic(start=str(TODAY + timedelta(days=367))), REDIRECT,
                 (400, "EXECUTION_DATE_INVALID", "startDate"),
                 id="startDate over MAX_DAYS_AHEAD days ahead"),
    pytest.param("periodic-payments/sepa-credit-transfers",
                 {**periodic(start="2030-02-10", frequency="Monthly", end="2030-02-27"),
                  "dayOfExecution": "31"}, REDIRECT,
                 (400, "EXECUTION_DATE_INVALID", "endDate"),
                 id="periodic: dayOfExecution ultimo after endDate"),
    pytest.param("periodic-payments/sepa-credit-transfers",
                 periodic(start="2030-01-12", frequency="Daily", end="2030-01-13"), REDIRECT,
                 (400, "EXECUTION_DATE_INVALID", "endDate"),
                 id="periodic: startDate to endDate a weekend"),
    pytest.param(SCT, single(), {"TPP-Redirect-Preferred": "true"},
                 (400, "FORMAT_ERROR", "TPP-Redirect-URI"), id="redirect without TPP-Redirect-URI"),
    pytest.param(SCT, single(), {**REDIRECT, "TPP-Redirect-URI": "https://evil.example/cb"},
                 (400, "FORMAT_ERROR", "TPP-Redirect-URI"), id="redirect URI not registered"),
    pytest.param(SCT, single(), {**REDIRECT, "TPP-Redirect-URI": "https://tpp.example/cbx"},
                 (400, "FORMAT_ERROR", "TPP-Redirect-URI"), id="redirect URI not a sub-path"),
    pytest.param(SCT, single(), {**REDIRECT, "TPP-Redirect-URI": "https://tpp.example/cb/../x"},
                 (400, "FORMAT_ERROR", "TPP-Redirect-URI"), id="redirect URI leaving the path"),
    pytest.param(SCT, single(), {**REDIRECT, "TPP-Nok-Redirect-URI": "http://tpp.example/cb"},
                 (400, "FORMAT_ERROR", "TPP-Nok-Redirect-URI"), id="NOK URI not registered"),
    pytest.param(SCT, single(), {**REDIRECT, "TPP-Client-ID": "tpp-two"},
                 (401, "CERTIFICATE_INVALID", "TPP-Client-ID"), id="unknown TPP-Client-ID"),
    pytest.param(SCT, single(), {**DECOUPLED, "PSU-ID": "PSU-Unknown"},
                 (401, "PSU_CREDENTIALS_INVALID", "PSU-ID"), id="sandbox persona PSU-Unknown"),
    # Decoupled, the authorisation starting with the payment pushes to PSU-ID's app at
    # once: max holds no account this payment debits. A 401 names no paymentId, so the
    # whole initiation is refused rather than a payment kept that its TPP cannot reach.
    pytest.param(SCT, single(), {**DECOUPLED, "PSU-ID": "max"},
                 (401, "PSU_CREDENTIALS_INVALID", "PSU-ID"),
                 id="decoupled PSU-ID not holding the debtor account"),
    pytest.param(SCT, single(), {**REDIRECT, "X-Request-ID": None},
                 (400, "FORMAT_ERROR", "X-Request-ID"), id="no X-Request-ID"),
    pytest.param(SCT, single(), {**REDIRECT, "PSU-IP-Address": None},
                 (400, "FORMAT_ERROR", "PSU-IP-Address"), id="no PSU-IP-Address"),
    pytest.param(SCT, single(), {**REDIRECT, "Content-Type": "text/plain"},
                 (400, "FORMAT_ERROR", "Content-Type"), id="not JSON"),
    pytest.param(SCT, {**single(), "creditorName": None, "creditorNme": "Max"}, REDIRECT,
                 (400, "FORMAT_ERROR", "creditorName"), id="a body the schema refuses"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "headers", "expected"), INITIATION_ERRORS)
def test_an_initiation_refused_keeps_nothing(
    path: str, body: dict[str, Any], headers: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    w = world()
    before = w.balances()
    assert error(w.call("POST", path, body, **headers)) == expected
    assert w.kept() == {}  # no payment, intent, authorisation, due time or reservation
    assert w.balances() == before


@pytest.mark.parametrize(
    ("path", "field", "dated"),
    [
        (SCT, "requestedExecutionDate", lambda d: single(requestedExecutionDate=d)),
        ("periodic-payments/sepa-credit-transfers", "startDate", lambda d: periodic(start=d)),
    ],
)
def test_a_payment_may_be_dated_up_to_max_days_ahead_as_at_every_bank(
    path: str, field: str, dated: Any
) -> None:
    # core.execution.MAX_DAYS_AHEAD, as STET's banks: a later date would leave the
    # payment (and its TPP) waiting for ever.
    w = world()
    latest = TODAY + timedelta(days=MAX_DAYS_AHEAD)
    refused = w.call("POST", path, dated(str(latest + timedelta(days=1))), **REDIRECT)
    assert error(refused)[:2] == (400, "EXECUTION_DATE_INVALID")
    assert refused.body is not None
    assert f"give {latest} or earlier" in refused.body["tppMessages"][0]["text"]
    assert w.call("POST", path, dated(str(latest)), **REDIRECT).status == 201
    assert field in refused.body["tppMessages"][0]["path"]


def test_a_product_offered_for_another_service_only_is_product_invalid() -> None:
    matrix = {
        "payments": ["sepa-credit-transfers"],
        "bulk-payments": ["instant-sepa-credit-transfers"],
    }
    w = world(profile={"supported_payment_type_and_product_matrix": matrix})
    answer = w.call("POST", "payments/instant-sepa-credit-transfers", single(), **REDIRECT)
    assert error(answer) == (403, "PRODUCT_INVALID", "payment-product")
    assert answer.body is not None
    assert "bulk-payments" in answer.body["tppMessages"][0]["text"]


def test_a_bank_with_no_tpp_configured_knows_no_caller() -> None:
    answer = world(tpps=[]).call("POST", SCT, single(), **REDIRECT)
    assert error(answer) == (401, "CERTIFICATE_MISSING", "TPP-Client-ID")


def test_tpp_client_id_names_the_tpp_whose_redirect_uris_apply() -> None:
    other = TppConfig(client_id="tpp-two", name="Other", redirect_uris=["https://two.example/"])
    w = world(tpps=[TPP, other])
    assert w.call("POST", SCT, single(), **REDIRECT, TPP_Client_ID="tpp-two").status == 400
    taken = w.call(
        "POST", SCT, single(), **{**REDIRECT, "TPP-Redirect-URI": "https://two.example/ok"},
        TPP_Client_ID="tpp-two",
    )  # fmt: skip
    assert taken.status == 201
    assert taken.payment_id is not None
    assert w.xs2a.payments[taken.payment_id].tpp.tpp_name == "Other"


def test_without_tpp_client_id_the_first_configured_tpp_is_assumed() -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    assert answer.payment_id is not None
    assert w.xs2a.payments[answer.payment_id].tpp.tpp == "tpp-one"


# -- X-Request-ID ---------------------------------------------------------------------------


def test_x_request_id_is_echoed_on_success_and_on_refusal() -> None:
    w = world()
    assert w.initiate(**REDIRECT).headers["X-Request-ID"] == REQUEST_ID
    refused = w.call("POST", "payments/foo-transfers", single(), **REDIRECT)
    assert refused.headers["X-Request-ID"] == REQUEST_ID
    unknown = w.call("GET", f"{SCT}/no-such-payment/status")
    assert unknown.headers["X-Request-ID"] == REQUEST_ID


def test_without_a_uuid_x_request_id_the_answer_carries_a_new_one() -> None:
    # The spec makes X-Request-ID mandatory in every answer: there is nothing to echo.
    w = world()
    for sent in (None, "not-a-uuid"):
        answer = w.call("POST", SCT, single(), **REDIRECT, X_Request_ID=sent)
        assert error(answer)[1:] == ("FORMAT_ERROR", "X-Request-ID")
        assert answer.headers["X-Request-ID"] not in (REQUEST_ID, sent)
        assert re.fullmatch(r"[0-9a-f-]{36}", answer.headers["X-Request-ID"])


# -- the approach and the links of the 201 ------------------------------------------------

ALL = ["REDIRECT", "EMBEDDED", "DECOUPLED"]
# (approaches the bank offers, the TPP's preference headers) → the approach chosen
APPROACHES = [
    pytest.param(ALL, {}, Approach.REDIRECT, id="no preference: the bank's first"),
    pytest.param(ALL, {"TPP-Redirect-Preferred": "true"}, Approach.REDIRECT, id="redirect"),
    pytest.param(ALL, {"TPP-Redirect-Preferred": "false"}, Approach.EMBEDDED, id="not redirect"),
    pytest.param(ALL, {"TPP-Decoupled-Preferred": "true"}, Approach.DECOUPLED, id="decoupled"),
    pytest.param(ALL, {"TPP-Redirect-Preferred": "true", "TPP-Decoupled-Preferred": "true"},
                 Approach.DECOUPLED, id="both preferred: decoupled"),
    pytest.param(["DECOUPLED", "EMBEDDED"], {"TPP-Decoupled-Preferred": "false"},
                 Approach.EMBEDDED, id="decoupled not preferred"),
    pytest.param(["DECOUPLED", "EMBEDDED", "REDIRECT"],
                 {"TPP-Decoupled-Preferred": "false", "TPP-Redirect-Preferred": "false"},
                 Approach.EMBEDDED, id="neither redirect nor decoupled"),
    pytest.param(["EMBEDDED", "DECOUPLED"], {"TPP-Redirect-Preferred": "false"},
                 Approach.EMBEDDED, id="embedded before decoupled"),
    pytest.param(["DECOUPLED"], {"TPP-Redirect-Preferred": "false"},
                 Approach.DECOUPLED, id="not redirect: decoupled where no embedded"),
    pytest.param(["EMBEDDED"], {"TPP-Redirect-Preferred": "true"},
                 Approach.EMBEDDED, id="preference not offered: the bank's own"),
    pytest.param(["REDIRECT"], {"TPP-Decoupled-Preferred": "true"},
                 Approach.REDIRECT, id="decoupled not offered: the bank's own"),
    pytest.param(["OAUTH", "EMBEDDED"], {"TPP-Redirect-Preferred": "true"},
                 Approach.OAUTH, id="redirect preferred: OAuth is a redirect"),
]  # fmt: skip


@pytest.mark.parametrize(("offered", "headers", "chosen"), APPROACHES)
def test_the_approach_follows_the_tpp_preference_within_the_profile(
    offered: list[str], headers: dict[str, str], chosen: Approach
) -> None:
    w = world(profile={"sca_approaches_supported": offered})
    answer = w.initiate(**headers, TPP_Redirect_URI=OK_URI, PSU_ID="erika")
    assert answer.headers["ASPSP-SCA-Approach"] == chosen.header
    assert answer.payment_id is not None
    assert w.xs2a.payments[answer.payment_id].approach is chosen


# (profile, headers) → (scaStatus of the implicit authorisation or None, the next links)
LINKS = [
    pytest.param({}, REDIRECT, "received", {"scaRedirect", "scaStatus"}, id="redirect"),
    pytest.param({"sca_approaches_supported": ["OAUTH"]}, {}, "received",
                 {"scaOAuth", "scaStatus"}, id="oauth"),
    pytest.param({}, EMBEDDED, "psuIdentified", {"updatePsuAuthentication", "scaStatus"},
                 id="embedded with PSU-ID"),
    pytest.param({}, {"TPP-Redirect-Preferred": "false"}, "received",
                 {"updatePsuIdentification", "scaStatus"}, id="embedded without PSU-ID"),
    pytest.param({}, DECOUPLED, "started", {"scaStatus"}, id="decoupled with PSU-ID: push sent"),
    pytest.param({}, {"TPP-Decoupled-Preferred": "true"}, "received",
                 {"updatePsuIdentification", "scaStatus"}, id="decoupled without PSU-ID"),
    pytest.param({}, {**REDIRECT, "TPP-Explicit-Authorisation-Preferred": "true"}, None,
                 {"startAuthorisation"}, id="explicit redirect"),
    pytest.param({}, {**EMBEDDED, "TPP-Explicit-Authorisation-Preferred": "true"}, None,
                 {"startAuthorisationWithPsuAuthentication"}, id="explicit embedded with PSU-ID"),
    pytest.param({}, {"TPP-Redirect-Preferred": "false",
                      "TPP-Explicit-Authorisation-Preferred": "true"}, None,
                 {"startAuthorisationWithPsuIdentification"}, id="explicit embedded without"),
    pytest.param({}, {**DECOUPLED, "TPP-Explicit-Authorisation-Preferred": "true"}, None,
                 {"startAuthorisation"}, id="explicit decoupled"),
    pytest.param({"start_authorisation_mode": "explicit"}, REDIRECT, None,
                 {"startAuthorisation"}, id="profile explicit"),
    pytest.param({"start_authorisation_mode": "implicit"},
                 {**REDIRECT, "TPP-Explicit-Authorisation-Preferred": "true"}, "received",
                 {"scaRedirect", "scaStatus"}, id="profile implicit beats the preference"),
]  # fmt: skip


@pytest.mark.parametrize(("profile", "headers", "sca", "expected"), LINKS)
def test_the_201_links_the_next_step(
    profile: dict[str, Any], headers: dict[str, str], sca: str | None, expected: set[str]
) -> None:
    w = world(profile=profile)
    answer = w.initiate(**headers)
    assert answer.body is not None
    assert answer.body["transactionStatus"] == "RCVD"
    assert answer.body.get("scaStatus") == sca
    assert links(answer) == {"self", "status"} | expected
    assert (answer.authorisation_id is None) is (sca is None)
    payment = f"{BASE}/{SCT}/{answer.payment_id}"
    assert answer.headers["Location"] == payment
    assert answer.body["_links"]["self"] == {"href": payment}
    assert answer.body["_links"]["status"] == {"href": f"{payment}/status"}


def test_the_sca_redirect_link_is_the_banks_login_page_for_the_authorisation() -> None:
    answer = world().initiate(**REDIRECT)
    assert answer.body is not None
    href = answer.body["_links"]["scaRedirect"]["href"]
    assert href == f"{SITE}/login/dfspa/xs2a/{answer.authorisation_id}"
    assert answer.body["_links"]["scaStatus"]["href"] == (
        f"{BASE}/{SCT}/{answer.payment_id}/authorisations/{answer.authorisation_id}"
    )


def test_the_oauth_link_is_the_banks_authorisation_server_metadata() -> None:
    answer = world(profile={"sca_approaches_supported": ["OAUTH"]}).initiate()
    assert answer.body is not None
    assert answer.headers["ASPSP-SCA-Approach"] == "REDIRECT"
    assert answer.body["_links"]["scaOAuth"] == {
        "href": f"{SITE}/xs2a/dfspa/.well-known/oauth-authorization-server"
    }


def test_a_decoupled_start_asks_the_psu_to_confirm_in_their_app() -> None:
    answer = world().initiate(**DECOUPLED)
    assert answer.body is not None
    assert "app" in answer.body["psuMessage"]


def test_rejection_no_funds_preferred_rejects_at_once_without_authorisation() -> None:
    w = world()
    answer = w.initiate(single("1000.01"), **DECOUPLED, TPP_Rejection_NoFunds_Preferred="true")
    assert answer.body is not None
    assert answer.body["transactionStatus"] == "RJCT"
    assert links(answer) == {"self", "status"}
    assert answer.authorisation_id is None
    status = w.call("GET", f"{SCT}/{answer.payment_id}/status")
    assert status.body is not None
    assert status.body["fundsAvailable"] is False
    assert status.body["psuMessage"] == "Rejected: insufficient-funds"
    assert w.available(ERIKA) == 1000


def test_rejection_no_funds_preferred_takes_a_payment_the_funds_cover() -> None:
    answer = world().initiate(
        single("1000.00"), **DECOUPLED, TPP_Rejection_NoFunds_Preferred="true"
    )
    assert answer.body is not None
    assert answer.body["transactionStatus"] == "RCVD"


# -- reading a payment -----------------------------------------------------------------------


def test_get_returns_the_payment_as_initiated_with_its_status() -> None:
    w = world()
    body = single(endToEndIdentification="E2E-1")
    answer = w.initiate(body, **REDIRECT)
    got = w.call("GET", f"{SCT}/{answer.payment_id}")
    assert got.status == 200
    assert got.body == {**body, "transactionStatus": "RCVD"}


# (method, path after the payment) → (status, code): the payment exists, the request does not fit
NOT_THERE = [
    ("GET", "payments/instant-sepa-credit-transfers/{id}", 404, "RESOURCE_UNKNOWN"),
    ("GET", "bulk-payments/sepa-credit-transfers/{id}", 404, "RESOURCE_UNKNOWN"),
    ("GET", f"{SCT}/{{id}}/authorisations/not-an-authorisation", 404, "RESOURCE_UNKNOWN"),
    ("GET", f"{SCT}/{{id}}/cancellation-authorisations/{{auth}}", 404, "RESOURCE_UNKNOWN"),
    ("GET", f"{SCT}/{{id}}/somewhere", 404, "RESOURCE_UNKNOWN"),
    ("GET", f"{SCT}/unknown-payment", 404, "RESOURCE_UNKNOWN"),
    ("GET", "payments", 404, "RESOURCE_UNKNOWN"),
    ("PUT", f"{SCT}/{{id}}", 405, "SERVICE_INVALID"),
    ("POST", f"{SCT}/{{id}}/status", 405, "SERVICE_INVALID"),
    ("GET", SCT, 405, "SERVICE_INVALID"),
    ("DELETE", f"{SCT}/{{id}}/authorisations", 405, "SERVICE_INVALID"),
    ("POST", f"{SCT}/{{id}}/authorisations/{{auth}}", 405, "SERVICE_INVALID"),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), NOT_THERE)
def test_a_request_no_resource_answers_is_refused_with_its_code(
    method: str, path: str, status: int, code: str
) -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    where = path.format(id=answer.payment_id, auth=answer.authorisation_id)
    refused = w.call(method, where, {} if method in ("PUT", "POST") else None)
    assert error(refused)[:2] == (status, code)


def test_the_authorisation_lists_name_each_authorisation() -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    got = w.call("GET", f"{SCT}/{answer.payment_id}/authorisations")
    assert got.body == {"authorisationIds": [answer.authorisation_id]}
    got = w.call("GET", f"{SCT}/{answer.payment_id}/cancellation-authorisations")
    assert got.body == {"authorisationIds": []}


# -- lifecycle: expiry, no second authorisation, finalised payments ------------------------


def test_an_unauthorised_payment_expires_lazily_and_refuses_new_authorisations() -> None:
    w = world(
        profile={
            "not_confirmed_payment_expiration_time_ms": 60_000,
            "start_authorisation_mode": "explicit",
        }
    )
    answer = w.initiate(**REDIRECT)
    w.clock.advance(59)
    assert w.status(answer) == "RCVD"
    w.clock.advance(1)  # no tick: the next read finds it expired
    assert w.status(answer) == "RJCT"
    refused = w.call("POST", f"{SCT}/{answer.payment_id}/authorisations", **REDIRECT)
    assert error(refused)[:2] == (403, "RESOURCE_EXPIRED")


def test_an_expired_payment_fails_its_open_authorisation() -> None:
    w = world(profile={"not_confirmed_payment_expiration_time_ms": 60_000})
    answer = w.initiate(**REDIRECT)
    w.clock.advance(60)
    assert w.sca_status(answer) == "failed"
    assert w.status(answer) == "RJCT"


def test_a_second_authorisation_while_one_is_open_is_refused() -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    refused = w.call("POST", f"{SCT}/{answer.payment_id}/authorisations")
    assert error(refused)[:2] == (409, "STATUS_INVALID")
    assert answer.authorisation_id is not None
    assert answer.body is not None
    assert answer.authorisation_id in refused.body["tppMessages"][0]["text"]  # type: ignore[index]


def test_a_finalised_payment_allows_no_additional_authorisation() -> None:
    w = world()
    answer = w.initiate(**DECOUPLED)
    assert answer.authorisation_id is not None
    w.auths.approve(answer.authorisation_id, None, None)
    assert w.status(answer) == "ACCC"
    refused = w.call("POST", f"{SCT}/{answer.payment_id}/authorisations", PSU_ID="erika")
    assert error(refused)[:2] == (409, "STATUS_INVALID")


def test_explicit_start_creates_the_authorisation_with_its_links() -> None:
    w = world(profile={"start_authorisation_mode": "explicit"})
    answer = w.initiate(**REDIRECT)
    started = w.call("POST", f"{SCT}/{answer.payment_id}/authorisations")
    assert started.status == 201
    assert started.body is not None
    assert started.body["scaStatus"] == "received"
    auth = started.body["authorisationId"]
    assert started.headers["Location"] == f"{BASE}/{SCT}/{answer.payment_id}/authorisations/{auth}"
    assert started.body["_links"]["scaRedirect"] == {"href": f"{SITE}/login/dfspa/xs2a/{auth}"}


def test_explicit_embedded_start_may_carry_the_password() -> None:
    w = world(profile={"start_authorisation_mode": "explicit"})
    answer = w.initiate(**EMBEDDED)
    started = w.call(
        "POST", f"{SCT}/{answer.payment_id}/authorisations", {"psuData": {"password": PASSWORD}},
        PSU_ID="erika",
    )  # fmt: skip
    assert started.status == 201
    assert started.body is not None
    assert started.body["scaStatus"] == "psuAuthenticated"
    assert [m["authenticationMethodId"] for m in started.body["scaMethods"]] == ["sms", "push"]
    assert "selectAuthenticationMethod" in started.body["_links"]


# -- cancellation -----------------------------------------------------------------------------


def future(days: int = 5) -> dict[str, Any]:
    return single(requestedExecutionDate=str(TODAY + timedelta(days=days)))


def authorised_future(w: World) -> Answer:
    """A future-dated payment, authorised (decoupled, approved): ACTC until its date."""
    answer = w.initiate(future(), **DECOUPLED)
    assert answer.authorisation_id is not None
    w.auths.approve(answer.authorisation_id, None, None)
    assert w.status(answer) == "ACTC"
    return answer


def test_an_unauthorised_payment_is_cancelled_at_once() -> None:
    w = world(profile={"payment_cancellation_authorisation_mandated": True})
    answer = w.initiate(**REDIRECT)
    cancelled = w.call("DELETE", f"{SCT}/{answer.payment_id}")
    assert (cancelled.status, cancelled.body) == (204, None)
    assert w.status(answer) == "CANC"
    assert w.sca_status(answer) == "failed"  # nothing is left to authorise


def test_an_authorised_future_dated_payment_is_cancelled_without_sca_by_default() -> None:
    w = world()
    answer = authorised_future(w)
    assert w.call("DELETE", f"{SCT}/{answer.payment_id}").status == 204
    assert w.status(answer) == "CANC"
    w.advance(days=10)
    assert w.status(answer) == "CANC"
    assert w.balances()[ERIKA] == "1000.00"


def test_a_mandated_cancellation_authorisation_is_started_and_its_sca_cancels() -> None:
    w = world(profile={"payment_cancellation_authorisation_mandated": True})
    answer = authorised_future(w)
    accepted = w.call("DELETE", f"{SCT}/{answer.payment_id}", PSU_ID="erika")
    assert accepted.status == 202
    assert accepted.body is not None
    assert accepted.body["transactionStatus"] == "ACTC"
    assert accepted.body["scaStatus"] == "started"  # decoupled: the push is sent
    cancellation = accepted.authorisation_id
    assert cancellation is not None
    assert accepted.body["_links"]["scaStatus"] == {
        "href": f"{BASE}/{SCT}/{answer.payment_id}/cancellation-authorisations/{cancellation}"
    }
    listed = w.call("GET", f"{SCT}/{answer.payment_id}/cancellation-authorisations")
    assert listed.body == {"authorisationIds": [cancellation]}
    assert w.status(answer) == "ACTC"
    w.auths.approve(cancellation, None, None)
    got = w.call("GET", f"{SCT}/{answer.payment_id}/cancellation-authorisations/{cancellation}")
    assert got.body == {"scaStatus": "finalised"}
    assert w.status(answer) == "CANC"
    w.advance(days=10)
    assert w.balances()[ERIKA] == "1000.00"


def test_an_explicit_cancellation_links_its_start() -> None:
    w = world(
        profile={"payment_cancellation_authorisation_mandated": True},
    )
    answer = authorised_future(w)
    accepted = w.call(
        "DELETE", f"{SCT}/{answer.payment_id}", TPP_Explicit_Authorisation_Preferred="true"
    )
    assert accepted.status == 202
    assert accepted.body is not None
    assert accepted.body["_links"]["startAuthorisation"] == {
        "href": f"{BASE}/{SCT}/{answer.payment_id}/cancellation-authorisations"
    }
    started = w.call(
        "POST", f"{SCT}/{answer.payment_id}/cancellation-authorisations", PSU_ID="erika"
    )
    assert started.status == 201
    assert started.body is not None
    w.auths.approve(started.body["authorisationId"], None, None)
    assert w.status(answer) == "CANC"


def test_a_denied_cancellation_leaves_the_payment_to_execute() -> None:
    w = world(profile={"payment_cancellation_authorisation_mandated": True})
    answer = authorised_future(w)
    accepted = w.call("DELETE", f"{SCT}/{answer.payment_id}", PSU_ID="erika")
    assert accepted.authorisation_id is not None
    w.auths.deny(accepted.authorisation_id)
    assert w.status(answer) == "ACTC"
    w.advance(days=5)
    assert w.status(answer) == "ACCC"
    assert w.balances()[MAX] == "100.00"


def test_a_second_cancellation_while_one_is_under_way_is_refused() -> None:
    w = world(profile={"payment_cancellation_authorisation_mandated": True})
    answer = authorised_future(w)
    first = w.call("DELETE", f"{SCT}/{answer.payment_id}", PSU_ID="erika")
    assert first.status == 202
    again = w.call("DELETE", f"{SCT}/{answer.payment_id}", PSU_ID="erika")
    assert error(again)[:2] == (409, "STATUS_INVALID")
    listed = w.call("GET", f"{SCT}/{answer.payment_id}/cancellation-authorisations")
    assert listed.body == {"authorisationIds": [first.authorisation_id]}


# A cancellation to authorise, and authorisations that outlive a week (24 h by default).
CANCEL_WITH_SCA = {
    "payment_cancellation_authorisation_mandated": True,
    "authorisation_expiration_time_ms": 10 * 86_400_000,
}


def test_a_cancellation_overtaken_by_the_execution_fails() -> None:
    w = world(profile=CANCEL_WITH_SCA)
    answer = authorised_future(w)
    accepted = w.call("DELETE", f"{SCT}/{answer.payment_id}", PSU_ID="erika")
    cancellation = accepted.authorisation_id
    assert cancellation is not None
    w.advance(days=5)  # the payment's date came first
    assert w.status(answer) == "ACCC"
    got = w.call("GET", f"{SCT}/{answer.payment_id}/cancellation-authorisations/{cancellation}")
    assert got.body is not None
    assert got.body["scaStatus"] == "failed"
    with pytest.raises(StatusInvalid):
        w.auths.approve(cancellation, None, None)
    assert w.balances()[MAX] == "100.00"


def test_a_standing_orders_cancellation_overtaken_by_its_last_execution_fails() -> None:
    w = world(profile=CANCEL_WITH_SCA)
    path = "periodic-payments/sepa-credit-transfers"
    body = periodic(start=str(TODAY), end=str(TODAY + timedelta(days=7)))
    answer = w.initiate(body, path, **DECOUPLED)
    assert answer.authorisation_id is not None
    w.auths.approve(answer.authorisation_id, None, None)
    accepted = w.call("DELETE", f"{path}/{answer.payment_id}", PSU_ID="erika")
    assert accepted.status == 202
    w.advance(days=7)  # its last date came first
    assert w.status(answer, path) == "ACCC"
    got = w.call(
        "GET", f"{path}/{answer.payment_id}/cancellation-authorisations/{accepted.authorisation_id}"
    )
    assert got.body == {"scaStatus": "failed", "psuMessage": "The authorisation has failed."}


@pytest.mark.parametrize("code", ["FORMAT_ERROR", "RESOURCE_BLOCKED"])
def test_a_finalised_payment_cannot_be_cancelled(code: str) -> None:
    w = world(profile={"finalised_cancel_code": code})
    answer = w.initiate(**DECOUPLED)
    assert answer.authorisation_id is not None
    w.auths.approve(answer.authorisation_id, None, None)
    refused = w.call("DELETE", f"{SCT}/{answer.payment_id}")
    assert error(refused)[:2] == (400, code)
    assert w.status(answer) == "ACCC"


def test_a_payment_being_settled_cannot_be_recalled() -> None:
    w = world()
    answer = w.initiate(single(creditor="DE44500105175407324931"), **DECOUPLED)
    assert answer.authorisation_id is not None
    w.auths.approve(answer.authorisation_id, None, None)
    assert w.status(answer) == "ACSP"
    refused = w.call("DELETE", f"{SCT}/{answer.payment_id}")
    assert error(refused)[:2] == (405, "CANCELLATION_INVALID")
    assert refused.headers["Allow"] == "GET"  # RFC 9110 §15.5.6: it can only be read now


def test_a_cancellation_authorisation_needs_a_payment_to_cancel() -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    refused = w.call("POST", f"{SCT}/{answer.payment_id}/cancellation-authorisations")
    assert error(refused)[:2] == (409, "STATUS_INVALID")
