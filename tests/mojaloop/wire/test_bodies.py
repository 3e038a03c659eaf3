"""Valid bodies parse into the right model and, dumped back, satisfy the official OpenAPI."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.bodies import ERROR_EXAMPLE, EXAMPLES, Body, fido_assertion, scopes
from tpsim.mojaloop.errors import ValidationError
from tpsim.mojaloop.wire import models as m
from tpsim.mojaloop.wire.openapi import BUNDLES, OpenApiValidator
from tpsim.mojaloop.wire.routes import ROUTES, ROUTES_BY_NAME, Route, expand, parse_body

PARAMS = {"ID": "x1", "Type": "MSISDN", "SubId": "s1", "ServiceType": "PISP"}


def _examples(route: Route) -> list[tuple[str, Any]]:
    if route.is_error_callback:
        return [("error", ERROR_EXAMPLE)]
    return EXAMPLES.get(route.name) or EXAMPLES.get(route.name.replace("_sub", ""), [])


BODY_CASES = [
    pytest.param(route, factory, id=f"{route.name}:{label}")
    for route in ROUTES
    if route.body is not None
    for label, factory in _examples(route)
]


def _dump(model: Any) -> Body:
    dumped: Body = model.model_dump(mode="json", exclude_none=True)
    return dumped


def test_every_route_with_a_body_has_an_example() -> None:
    assert [r.name for r in ROUTES if r.body is not None and not _examples(r)] == []


@pytest.mark.parametrize(("route", "factory"), BODY_CASES)
def test_valid_body_round_trips_and_satisfies_the_openapi(
    openapi: OpenApiValidator, route: Route, factory: Any
) -> None:
    body = factory()
    dumped = _dump(parse_body(route, body))
    assert dumped == body
    path = expand(route.template, PARAMS)
    checked = []
    for bundle in BUNDLES:
        template = openapi.template_for(bundle, path)
        operations = openapi.operations(bundle)
        if template is not None and (route.method, template) in operations:
            openapi.validate(bundle, route.method, path, dumped)
            checked.append(bundle)
    assert checked, f"no bundle has {route.method} {route.template}"


@pytest.mark.parametrize(
    ("name", "label", "expected"),
    [
        ("consentRequests.put", "web", m.ConsentRequestsIDPutResponseWeb),
        ("consentRequests.put", "otp", m.ConsentRequestsIDPutResponseOTP),
        ("consents.post", "to PISP", m.ConsentsPostRequestPISP),
        ("consents.post", "to auth-service", m.ConsentsPostRequestAUTH),
        ("consents.put", "signed FIDO", m.ConsentsIDPutResponseSigned),
        ("consents.put", "signed GENERIC", m.ConsentsIDPutResponseSigned),
        ("consents.put", "verified FIDO", m.ConsentsIDPutResponseVerified),
        ("consents.patch", "verified", m.ConsentsIDPatchResponseVerified),
        ("consents.patch", "revoked", m.ConsentsIDPatchResponseRevoked),
        (
            "thirdpartyRequests.authorizations.put",
            "rejected",
            m.ThirdpartyRequestsAuthorizationsIDPutResponseRejected,
        ),
        (
            "thirdpartyRequests.authorizations.put",
            "FIDO",
            m.ThirdpartyRequestsAuthorizationsIDPutResponseFIDO,
        ),
        (
            "thirdpartyRequests.authorizations.put",
            "GENERIC",
            m.ThirdpartyRequestsAuthorizationsIDPutResponseGeneric,
        ),
        (
            "thirdpartyRequests.verifications.post",
            "FIDO",
            m.ThirdpartyRequestsVerificationsPostRequestFIDO,
        ),
        (
            "thirdpartyRequests.verifications.post",
            "GENERIC",
            m.ThirdpartyRequestsVerificationsPostRequestGeneric,
        ),
    ],
)
def test_one_of_bodies_pick_their_variant(name: str, label: str, expected: type) -> None:
    factory = dict(EXAMPLES[name])[label]
    assert type(parse_body(ROUTES_BY_NAME[name], factory())) is expected


def test_enum_fields_parse_to_enums() -> None:
    route = ROUTES_BY_NAME["thirdpartyRequests.transactions.post"]
    request = parse_body(route, dict(EXAMPLES[route.name])["full"]())
    assert isinstance(request, m.ThirdpartyRequestsTransactionsPostRequest)
    assert request.amountType is m.AmountType.SEND
    assert request.payer.partyIdType is m.PartyIdType.THIRD_PARTY_LINK
    assert request.payee.partyIdInfo.fspId == "dfspb"


def test_open_schemas_ignore_unknown_properties_closed_ones_refuse_them() -> None:
    route = ROUTES_BY_NAME["thirdpartyRequests.transactions.put"]
    body = {"transactionRequestState": "RECEIVED", "vendorField": 1}
    assert _dump(parse_body(route, body)) == {"transactionRequestState": "RECEIVED"}
    with pytest.raises(ValidationError):
        parse_body(ROUTES_BY_NAME["thirdpartyRequests.authorizations.post"], {"vendorField": 1})


def test_models_built_in_python_dump_to_valid_bodies(openapi: OpenApiValidator) -> None:
    assertion = m.FIDOPublicKeyCredentialAssertion.model_validate(fido_assertion())
    accepted = m.ThirdpartyRequestsAuthorizationsIDPutResponseFIDO(
        responseType=m.AuthorizationResponseType.ACCEPTED,
        signedPayload=m.SignedPayloadFIDO(
            signedPayloadType=m.SignedPayloadType.FIDO, fidoSignedPayload=assertion
        ),
    )
    path = "/thirdpartyRequests/authorizations/5f8ee7f9-290f-4e03-ae1c-1e81ecf398df"
    openapi.validate("dfsp", "PUT", path, _dump(accepted))
    patch = m.ThirdpartyRequestsTransactionsIDPatchResponse(
        transactionRequestState=m.TransactionRequestState.REJECTED,
        transactionState=m.TransactionState.REJECTED,
    )
    openapi.validate("pisp", "PATCH", "/thirdpartyRequests/transactions/t1", _dump(patch))
    revoked = m.ConsentsIDPatchResponseRevoked(
        status=m.ConsentStatus.REVOKED, revokedAt="2026-01-01T00:00:00.000+02:00"
    )
    openapi.validate("pisp", "PATCH", "/consents/c1", _dump(revoked))
    consent = m.ConsentsPostRequestPISP.model_validate(
        {
            "consentId": "be433b9e-9473-4b7d-bdd5-ac5b42463afb",
            "consentRequestId": "6988c34f-055b-4ed5-b223-b10c8a2e2329",
            "scopes": scopes(),
            "status": "ISSUED",
        }
    )
    openapi.validate("pisp", "POST", "/consents", _dump(consent))


def test_models_are_frozen() -> None:
    revoked = m.ConsentsIDPatchResponseRevoked(
        status=m.ConsentStatus.REVOKED, revokedAt="2026-01-01T00:00:00.000Z"
    )
    with pytest.raises(Exception, match="frozen"):
        revoked.revokedAt = "x"


def test_parsing_is_fast_enough_for_the_hub() -> None:
    route = ROUTES_BY_NAME["thirdpartyRequests.authorizations.post"]
    body = dict(EXAMPLES[route.name])["full"]()
    start = time.perf_counter()
    for _ in range(1000):
        parse_body(route, body)
    assert time.perf_counter() - start < 1.0  # ~30 µs each on a laptop
