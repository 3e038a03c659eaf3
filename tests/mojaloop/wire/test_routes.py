"""The route table against the OpenAPI bundles, path matching, correlation and error paths."""

from __future__ import annotations

from typing import Any

import pytest

from tpsim.mojaloop.errors import MethodNotAllowed, MissingElement, UnknownUri
from tpsim.mojaloop.wire.openapi import OpenApiValidator
from tpsim.mojaloop.wire.routes import (
    ROUTES,
    ROUTES_BY_NAME,
    Route,
    correlation_id,
    error_path,
    expand,
    match,
    parse_body,
)

TX_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"
THIRD_PARTY_FIRST_SEGMENTS = {"accounts", "consentRequests", "consents", "thirdpartyRequests"}


def _route(method: str, template: str) -> Route | None:
    return next((r for r in ROUTES if r.method == method and r.template == template), None)


def _success_statuses(
    openapi: OpenApiValidator, bundle: str, method: str, template: str
) -> set[int]:
    operation = openapi.document(bundle)["paths"][template][method.lower()]
    return {int(code) for code in operation["responses"] if code.startswith("2")}


# --- the table against the bundles ----------------------------------------------------------


@pytest.mark.parametrize("bundle", ["pisp", "dfsp"])
def test_every_operation_of_the_third_party_bundles_is_served(
    openapi: OpenApiValidator, bundle: str
) -> None:
    operations = openapi.operations(bundle)
    assert len(operations) >= 27  # DFSP 27, PISP 32
    missing = [f"{m} {t}" for m, t in operations if _route(m, t) is None]
    assert not missing, f"{bundle} operations without a route: {missing}"


@pytest.mark.parametrize("bundle", ["pisp", "dfsp", "fspiop"])
def test_sync_status_and_body_presence_follow_the_bundle(
    openapi: OpenApiValidator, bundle: str
) -> None:
    wrong = []
    for method, template in openapi.operations(bundle):
        route = _route(method, template)
        if route is None:
            continue  # FSPIOP operations tpsim does not serve (bulk, transactionRequests…)
        if route.sync_status not in _success_statuses(openapi, bundle, method, template):
            wrong.append(f"{route.name}: sync {route.sync_status}")
        operation = openapi.document(bundle)["paths"][template][method.lower()]
        if ("requestBody" in operation) != (route.body is not None):
            wrong.append(f"{route.name}: body {route.body is not None}")
    assert not wrong


def test_every_route_is_an_operation_of_some_bundle(openapi: OpenApiValidator) -> None:
    invented = []
    for route in ROUTES:
        first = route.template.split("/")[1]
        bundles = (
            ["pisp", "dfsp"] if first in THIRD_PARTY_FIRST_SEGMENTS | {"services"} else ["fspiop"]
        )
        if not any((route.method, route.template) in openapi.operations(b) for b in bundles):
            invented.append(route.name)
    assert not invented


def test_route_names_are_unique_and_follow_the_convention() -> None:
    assert len(ROUTES_BY_NAME) == len(ROUTES) == 55
    assert ROUTES_BY_NAME["thirdpartyRequests.transactions.post"].template == (
        "/thirdpartyRequests/transactions"
    )
    assert ROUTES_BY_NAME["parties.put_error"].template == "/parties/{Type}/{ID}/error"
    assert ROUTES_BY_NAME["parties.put_sub_error"].template == "/parties/{Type}/{ID}/{SubId}/error"


@pytest.mark.parametrize(
    ("name", "sync", "destination", "resource"),
    [
        ("consentRequests.put", 202, True, "thirdparty"),  # spec and switch: 202
        ("consents.put", 202, True, "thirdparty"),  # spec allows 200 and 202; switch 202
        ("consents.patch", 200, True, "thirdparty"),
        ("consentRequests.patch", 202, True, "thirdparty"),
        ("thirdpartyRequests.transactions.patch", 200, True, "thirdparty"),  # switch says 202
        ("thirdpartyRequests.transactions.put_error", 200, True, "thirdparty"),
        ("services.get", 202, False, "services"),
        ("services.put", 200, True, "services"),
        ("parties.get", 202, False, "parties"),
        ("parties.get_sub", 202, False, "parties"),
        ("parties.put_error", 200, True, "parties"),
        ("participants.post", 202, False, "participants"),
        ("participants.get", 202, False, "participants"),
        ("participants.put", 200, True, "participants"),
        ("quotes.post", 202, True, "quotes"),
        ("transfers.patch", 200, True, "transfers"),
    ],
)
def test_route_attributes(name: str, sync: int, destination: bool, resource: str) -> None:
    route = ROUTES_BY_NAME[name]
    assert (route.sync_status, route.destination_required, route.resource) == (
        sync,
        destination,
        resource,
    )


def test_error_callbacks_have_no_error_template_and_others_do() -> None:
    for route in ROUTES:
        assert route.is_error_callback == route.template.endswith("/error")
        assert (route.error_template is None) == route.is_error_callback
        assert route.error_template is None or route.error_template.endswith("/error")


# --- matching ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "name", "params"),
    [
        ("POST", "/thirdpartyRequests/transactions", "thirdpartyRequests.transactions.post", {}),
        (
            "PUT",
            f"/thirdpartyRequests/transactions/{TX_ID}",
            "thirdpartyRequests.transactions.put",
            {"ID": TX_ID},
        ),
        (
            "PATCH",
            f"/thirdpartyRequests/transactions/{TX_ID}",
            "thirdpartyRequests.transactions.patch",
            {"ID": TX_ID},
        ),
        (
            "PUT",
            f"/thirdpartyRequests/transactions/{TX_ID}/error",
            "thirdpartyRequests.transactions.put_error",
            {"ID": TX_ID},
        ),
        (
            "GET",
            "/thirdpartyRequests/verifications/v1",
            "thirdpartyRequests.verifications.get",
            {"ID": "v1"},
        ),
        ("DELETE", "/consents/c1", "consents.delete", {"ID": "c1"}),
        ("GET", "/services/THIRD_PARTY_DFSP", "services.get", {"ServiceType": "THIRD_PARTY_DFSP"}),
        ("PUT", "/services/PISP/error", "services.put_error", {"ServiceType": "PISP"}),
        ("GET", "/accounts/username1234", "accounts.get", {"ID": "username1234"}),
        (
            "GET",
            "/parties/MSISDN/+4412345678",
            "parties.get",
            {"Type": "MSISDN", "ID": "+4412345678"},
        ),
        (
            "GET",
            "/parties/MSISDN/123/sub",
            "parties.get_sub",
            {"Type": "MSISDN", "ID": "123", "SubId": "sub"},
        ),
        ("PUT", "/parties/MSISDN/123/error", "parties.put_error", {"Type": "MSISDN", "ID": "123"}),
        (
            "PUT",
            "/parties/MSISDN/123/sub/error",
            "parties.put_sub_error",
            {"Type": "MSISDN", "ID": "123", "SubId": "sub"},
        ),
        (
            "PUT",
            "/parties/MSISDN/123/errors",
            "parties.put_sub",
            {"Type": "MSISDN", "ID": "123", "SubId": "errors"},
        ),
        ("POST", "/participants/CONSENT/c1", "participants.post", {"Type": "CONSENT", "ID": "c1"}),
        (
            "PUT",
            "/participants/THIRD_PARTY_LINK/dfspa.a.b/error",
            "participants.put_error",
            {"Type": "THIRD_PARTY_LINK", "ID": "dfspa.a.b"},
        ),
        ("POST", "/quotes", "quotes.post", {}),
        ("PATCH", "/transfers/t1", "transfers.patch", {"ID": "t1"}),
        ("get", "/consents/c1?x=1", "consents.get", {"ID": "c1"}),
    ],
)
def test_match(method: str, path: str, name: str, params: dict[str, str]) -> None:
    route, found = match(method, path)
    assert (route.name, found) == (name, params)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "/foo",
        "/thirdpartyRequests",
        "/thirdpartyRequests/transfers",
        "/consents/",
        "/consents//error",
        "/consents/a/b/c",
        "/parties/MSISDN",
        "/parties/MSISDN/1/2/3/4",
        "/Consents/abc",
        "thirdpartyRequests/transactions",
    ],
)
def test_unknown_paths_are_3002(path: str) -> None:
    with pytest.raises(UnknownUri) as caught:
        match("GET", path)
    assert (caught.value.code, caught.value.http_status) == ("3002", 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/consents/c1", "GET, PUT, PATCH, DELETE"),
        ("GET", "/consents", "POST"),
        ("DELETE", "/thirdpartyRequests/transactions", "POST"),
        ("GET", "/parties/MSISDN/1/error", "PUT"),  # 'error' is never a SubId
        ("POST", "/thirdpartyRequests/verifications/v1/error", "PUT"),
        ("PATCH", "/quotes/q1", "GET, PUT"),
        ("OPTIONS", "/services/PISP", "GET, PUT"),
    ],
)
def test_known_paths_with_other_methods_are_405(method: str, path: str, allowed: str) -> None:
    with pytest.raises(MethodNotAllowed) as caught:
        match(method, path)
    error = caught.value
    assert (error.code, error.http_status) == ("3000", 405)
    assert error.detail.endswith(f"allowed: {allowed}")


# --- correlation and error paths -----------------------------------------------------------------


def _resolve(method: str, path: str) -> tuple[Route, dict[str, str]]:
    return match(method, path)


@pytest.mark.parametrize(
    ("method", "path", "body", "correlation", "error"),
    [
        (
            "POST",
            "/thirdpartyRequests/transactions",
            {"transactionRequestId": TX_ID},
            TX_ID,
            f"/thirdpartyRequests/transactions/{TX_ID}/error",
        ),
        ("POST", "/thirdpartyRequests/transactions", {}, None, None),
        ("POST", "/thirdpartyRequests/transactions", {"transactionRequestId": 5}, None, None),
        ("POST", "/thirdpartyRequests/transactions", {"transactionRequestId": "a/b"}, "a/b", None),
        (
            "POST",
            "/thirdpartyRequests/authorizations",
            {"authorizationRequestId": "a1"},
            "a1",
            "/thirdpartyRequests/authorizations/a1/error",
        ),
        (
            "POST",
            "/thirdpartyRequests/verifications",
            {"verificationRequestId": "v1"},
            "v1",
            "/thirdpartyRequests/verifications/v1/error",
        ),
        ("POST", "/consentRequests", {"consentRequestId": "r1"}, "r1", "/consentRequests/r1/error"),
        ("POST", "/consents", {"consentId": "c1"}, "c1", "/consents/c1/error"),
        ("POST", "/quotes", {"quoteId": "q1"}, "q1", "/quotes/q1/error"),
        ("POST", "/transfers", {"transferId": "t1"}, "t1", "/transfers/t1/error"),
        (
            "GET",
            f"/thirdpartyRequests/transactions/{TX_ID}",
            None,
            TX_ID,
            f"/thirdpartyRequests/transactions/{TX_ID}/error",
        ),
        ("PATCH", "/consents/c1", {}, "c1", "/consents/c1/error"),
        ("PUT", "/consents/c1/error", {}, "c1", None),
        ("GET", "/parties/MSISDN/123", None, "MSISDN/123", "/parties/MSISDN/123/error"),
        ("GET", "/parties/MSISDN/123/s", None, "MSISDN/123/s", "/parties/MSISDN/123/s/error"),
        ("POST", "/participants/CONSENT/c1", {}, "CONSENT/c1", "/participants/CONSENT/c1/error"),
        ("GET", "/services/PISP", None, "PISP", "/services/PISP/error"),
    ],
)
def test_correlation_and_error_path(
    method: str, path: str, body: dict[str, Any] | None, correlation: str | None, error: str | None
) -> None:
    route, params = _resolve(method, path)
    assert correlation_id(route, params, body) == correlation
    assert error_path(route, params, body) == error


def test_expand_fills_every_parameter() -> None:
    route = ROUTES_BY_NAME["parties.put_sub_error"]
    assert expand(route.template, {"Type": "MSISDN", "ID": "1", "SubId": "2"}) == (
        "/parties/MSISDN/1/2/error"
    )
    with pytest.raises(KeyError):
        expand(route.template, {"Type": "MSISDN"})


def test_parse_body_of_bodiless_and_body_routes() -> None:
    assert parse_body(ROUTES_BY_NAME["consents.get"], None) is None
    with pytest.raises(MissingElement) as caught:
        parse_body(ROUTES_BY_NAME["consents.post"], None)
    assert caught.value.code == "3102"
