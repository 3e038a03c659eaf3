"""Every way a body can be wrong → the code, the dotted field and a detail naming the rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.bodies import EXAMPLES, Body
from tpsim.mojaloop.errors import (
    FspiopError,
    MalformedSyntax,
    MissingElement,
    TooManyElements,
    ValidationError,
)
from tpsim.mojaloop.wire.openapi import OpenApiValidator
from tpsim.mojaloop.wire.routes import ROUTES_BY_NAME, parse_body

DELETE = object()
TX = "thirdpartyRequests.transactions"
AUTHZ = "thirdpartyRequests.authorizations"
VERIFY = "thirdpartyRequests.verifications"


def _example(name: str, label: str) -> Body:
    return dict(EXAMPLES[name])[label]()


def _mutate(body: Body, path: str, value: object) -> Body:
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    node: Any = body
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


# (route, example label, dotted path to change, new value, error class, code, field, detail part)
# fmt: off
CASES = [
    # missing mandatory elements → 3102
    (f"{TX}.post", "full", "transactionRequestId", DELETE, MissingElement, "3102",
     "transactionRequestId", "missing mandatory element"),
    (f"{TX}.post", "full", "payee.partyIdInfo.partyIdentifier", DELETE, MissingElement, "3102",
     "payee.partyIdInfo.partyIdentifier", "missing"),
    ("consentRequests.post", "web+otp", "scopes.1.actions", DELETE, MissingElement, "3102",
     "scopes.1.actions", "missing"),
    (f"{AUTHZ}.put", "FIDO", "signedPayload.fidoSignedPayload.response.signature", DELETE,
     MissingElement, "3102", "signedPayload.fidoSignedPayload.response.signature", "missing"),
    ("consentRequests.put", "web", "authUri", DELETE, MissingElement, "3102", "authUri", "missing"),
    ("consents.put", "signed FIDO", "credential.fidoPayload", DELETE, MissingElement, "3102",
     "credential.fidoPayload", "credentialType is FIDO"),
    ("consents.put", "signed GENERIC", "credential.genericPayload", DELETE, MissingElement, "3102",
     "credential.genericPayload", "credentialType is GENERIC"),
    ("quotes.put", "full", "condition", DELETE, MissingElement, "3102", "condition", "missing"),
    # patterns → 3100 naming the spec type
    (f"{TX}.post", "full", "transactionRequestId", "00000000-0000-0000-0000-000000000000",
     ValidationError, "3100", "transactionRequestId", "CorrelationId"),
    (f"{TX}.post", "full", "transactionRequestId", "B51EC534-EE48-4575-B6A9-EAD2955B8069",
     ValidationError, "3100", "transactionRequestId", "CorrelationId"),
    (f"{TX}.post", "full", "amount.amount", "100.00", ValidationError, "3100", "amount.amount",
     "must match Amount"),
    (f"{TX}.post", "full", "amount.amount", "01", ValidationError, "3100", "amount.amount",
     "Amount"),
    (f"{TX}.post", "full", "amount.amount", "1.12345", ValidationError, "3100", "amount.amount",
     "Amount"),
    (f"{AUTHZ}.post", "full", "expiration", "2026-06-15T12:00:00Z", ValidationError, "3100",
     "expiration", "must match DateTime"),
    (f"{AUTHZ}.post", "full", "expiration", "2026-02-30T12:00:00.000Z", ValidationError, "3100",
     "expiration", "DateTime"),
    (f"{AUTHZ}.post", "full", "expiration", "2026-06-15T12:00:00.000Z\n", ValidationError, "3100",
     "expiration", "DateTime"),
    (f"{AUTHZ}.post", "full", "expiration", "２０２６-06-15T12:00:00.000Z", ValidationError, "3100",
     "expiration", "DateTime"),
    ("consentRequests.patch", "token", "authToken", "ab+/", ValidationError, "3100", "authToken",
     "must match BinaryString"),
    (f"{VERIFY}.post", "GENERIC", "genericSignedPayload", "a/b==", ValidationError, "3100",
     "genericSignedPayload", "BinaryString"),
    ("consents.put", "signed GENERIC", "credential.genericPayload.publicKey", "abc===",
     ValidationError, "3100", "credential.genericPayload.publicKey", "BinaryString"),
    ("transfers.post", "full", "condition", "abc", ValidationError, "3100", "condition",
     "IlpCondition"),
    ("consentRequests.post", "web+otp", "scopes.0.address", "dfspa.user.", ValidationError, "3100",
     "scopes.0.address", "AccountAddress"),
    ("accounts.put", "accounts", "accounts.0.accountNickname", "   ", ValidationError, "3100",
     "accounts.0.accountNickname", "must match Name"),
    ("parties.put", "party", "party.personalInfo.complexName.firstName", "B0b!", ValidationError,
     "3100", "party.personalInfo.complexName.firstName", "FirstName"),
    ("parties.put", "party", "party.personalInfo.dateOfBirth", "1981-02-29", ValidationError,
     "3100", "party.personalInfo.dateOfBirth", "Date"),
    ("parties.put", "party", "party.merchantClassificationCode", "12345", ValidationError, "3100",
     "party.merchantClassificationCode", "MerchantClassificationCode"),
    (f"{TX}.post", "full", "transactionType.subScenario", "lower", ValidationError, "3100",
     "transactionType.subScenario", "TransactionSubScenario"),
    ("quotes.post", "full", "geoCode.latitude", "91", ValidationError, "3100", "geoCode.latitude",
     "Latitude"),
    # lengths → 3100 stating the limit
    ("transfers.post", "full", "payeeFsp", "x" * 33, ValidationError, "3100", "payeeFsp",
     "at most 32"),
    ("participants.post", "auth-service", "fspId", "", ValidationError, "3100", "fspId",
     "at least 1"),
    (f"{TX}.post", "full", "note", "n" * 257, ValidationError, "3100", "note", "at most 256"),
    (f"{AUTHZ}.put", "FIDO", "signedPayload.fidoSignedPayload.id", "A" * 43, ValidationError,
     "3100", "signedPayload.fidoSignedPayload.id", "59..118"),
    (f"{AUTHZ}.put", "FIDO", "signedPayload.fidoSignedPayload.response.clientDataJSON", "e30=",
     ValidationError, "3100", "signedPayload.fidoSignedPayload.response.clientDataJSON",
     "at least 121"),
    # additionalProperties: false → 3100
    (f"{AUTHZ}.post", "full", "vendorField", "x", ValidationError, "3100", "vendorField",
     "not allowed: additionalProperties is false"),
    ("consents.put", "signed FIDO", "credential.fidoPayload.response.extra", "x", ValidationError,
     "3100", "credential.fidoPayload.response.extra", "additionalProperties is false"),
    ("consents.put", "signed FIDO", "consentRequestId", "6988c34f-055b-4ed5-b223-b10c8a2e2329",
     ValidationError, "3100", "consentRequestId", "additionalProperties is false"),
    ("consentRequests.put", "otp", "authUri", "https://x", ValidationError, "3100",
     "authChannels.0", "WEB"),
    # enums → 3100 listing the allowed values
    (f"{TX}.post", "full", "amountType", "BOTH", ValidationError, "3100", "amountType",
     "must be one of: SEND, RECEIVE; got 'BOTH'"),
    (f"{TX}.patch", "completed", "transactionState", "COMMITTED", ValidationError, "3100",
     "transactionState", "RECEIVED, PENDING, COMPLETED, REJECTED"),
    ("consentRequests.post", "web+otp", "scopes.0.actions.0", "accounts.transfer", ValidationError,
     "3100", "scopes.0.actions.0", "ACCOUNTS_GET_BALANCE, ACCOUNTS_TRANSFER, ACCOUNTS_STATEMENT"),
    ("consentRequests.post", "web+otp", "authChannels.0", "SMS", ValidationError, "3100",
     "authChannels.0", "WEB, OTP"),
    ("parties.put", "party", "party.partyIdInfo.partyIdType", "CONSENT", ValidationError, "3100",
     "party.partyIdInfo.partyIdType", "MSISDN, EMAIL, PERSONAL_ID, BUSINESS, DEVICE, ACCOUNT_ID"),
    (f"{TX}.post", "full", "payer.partyIdType", "LINK", ValidationError, "3100",
     "payer.partyIdType", "CONSENT, THIRD_PARTY_LINK"),
    (f"{TX}.post", "full", "amount.currency", "ABC", ValidationError, "3100", "amount.currency",
     "ISO 4217"),
    (f"{VERIFY}.put", "verified", "authenticationResponse", "REJECTED", ValidationError, "3100",
     "authenticationResponse", "VERIFIED"),
    ("consents.patch", "revoked", "status", "ISSUED", ValidationError, "3100", "status", "REVOKED"),
    # oneOf selectors → 3102 / 3100 on the selecting field
    (f"{AUTHZ}.put", "FIDO", "responseType", "MAYBE", ValidationError, "3100", "responseType",
     "ACCEPTED, REJECTED"),
    (f"{AUTHZ}.put", "FIDO", "responseType", DELETE, MissingElement, "3102", "responseType",
     "selects the oneOf variant"),
    (f"{AUTHZ}.put", "FIDO", "signedPayload.signedPayloadType", "U2F", ValidationError, "3100",
     "signedPayload.signedPayloadType", "FIDO, GENERIC"),
    (f"{AUTHZ}.put", "FIDO", "signedPayload", "x", MalformedSyntax, "3101", "signedPayload",
     "JSON object"),
    ("consents.put", "verified FIDO", "credential.status", "DONE", ValidationError, "3100",
     "credential.status", "PENDING, VERIFIED"),
    (f"{VERIFY}.post", "FIDO", "signedPayloadType", DELETE, MissingElement, "3102",
     "signedPayloadType", "missing"),
    # item counts → 3103 above the maximum, 3100 below the minimum
    ("services.put", "providers", "providers", ["dfspa"] * 257, TooManyElements, "3103",
     "providers", "has 257 items; at most 256"),
    ("consentRequests.post", "web+otp", "scopes.0.actions", ["ACCOUNTS_TRANSFER"] * 33,
     TooManyElements, "3103", "scopes.0.actions", "at most 32"),
    (f"{TX}.post", "full", "extensionList.extension", [{"key": "k", "value": "v"}] * 17,
     TooManyElements, "3103", "extensionList.extension", "at most 16"),
    ("consentRequests.put", "web", "authChannels", ["WEB", "WEB"], TooManyElements, "3103",
     "authChannels", "at most 1"),
    ("accounts.put", "accounts", "accounts", [], ValidationError, "3100", "accounts", "at least 1"),
    # JSON types → 3101
    (f"{TX}.post", "full", "payee", "dfspb", MalformedSyntax, "3101", "payee",
     "must be a JSON object, got a string"),
    (f"{TX}.post", "full", "amount.amount", 100, MalformedSyntax, "3101", "amount.amount",
     "must be a JSON string, got a number"),
    ("consentRequests.post", "web+otp", "scopes", {"address": "x"}, MalformedSyntax, "3101",
     "scopes", "JSON array"),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "label", "path", "value", "kind", "code", "field", "detail"),
    [pytest.param(*case, id=f"{case[0]}:{case[2]}={case[3]!r:.20}") for case in CASES],
)
def test_body_error(
    name: str,
    label: str,
    path: str,
    value: object,
    kind: type[FspiopError],
    code: str,
    field: str,
    detail: str,
) -> None:
    body = _mutate(_example(name, label), path, value)
    with pytest.raises(kind) as caught:
        parse_body(ROUTES_BY_NAME[name], body)
    error = caught.value
    assert type(error) is kind
    assert (error.code, error.field) == (code, field)
    assert detail in error.detail


@pytest.mark.parametrize(
    ("body", "kind", "detail"),
    [
        ([1, 2], MalformedSyntax, "must be a JSON object, got an array"),
        ("text", MalformedSyntax, "must be a JSON object, got a string"),
        (None, MissingElement, "needs a JSON body"),
    ],
)
def test_body_that_is_not_an_object(body: object, kind: type[FspiopError], detail: str) -> None:
    for name in (f"{TX}.post", "consents.put", "consents.patch"):
        with pytest.raises(kind) as caught:
            parse_body(ROUTES_BY_NAME[name], body)
        assert caught.value.field is None
        assert detail in caught.value.detail


def test_further_errors_are_kept_in_extensions() -> None:
    with pytest.raises(MissingElement) as caught:
        parse_body(ROUTES_BY_NAME[f"{VERIFY}.post"], {"signedPayloadType": "FIDO"})
    assert caught.value.field == "verificationRequestId"
    assert caught.value.extensions["otherErrors"].startswith("challenge: missing")


def test_error_callback_built_from_a_parse_error_satisfies_the_openapi(
    openapi: OpenApiValidator,
) -> None:
    body = _mutate(_example(f"{AUTHZ}.put", "FIDO"), "signedPayload.fidoSignedPayload.id", "short")
    with pytest.raises(ValidationError) as caught:
        parse_body(ROUTES_BY_NAME[f"{AUTHZ}.put"], body)
    callback = caught.value.error_information()
    openapi.validate("pisp", "PUT", "/thirdpartyRequests/authorizations/a1/error", callback)
    description = callback["errorInformation"]["errorDescription"]
    assert description.startswith("signedPayload.fidoSignedPayload.id: is 5 characters")
