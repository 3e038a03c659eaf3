"""Representative valid bodies for every route that carries one, as plain JSON dicts.

``EXAMPLES`` maps a route name (``tpsim.mojaloop.wire.routes``) to ``(label, factory)`` pairs; a
factory returns a fresh dict each call so tests may mutate it. The FIDO payloads are sized
like a security key's (64-byte credential id, fido-u2f attestation) but are not signed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

Body = dict[str, Any]

TRANSACTION_REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"
AUTHORIZATION_REQUEST_ID = "5f8ee7f9-290f-4e03-ae1c-1e81ecf398df"
CONSENT_ID = "be433b9e-9473-4b7d-bdd5-ac5b42463afb"
CONSENT_REQUEST_ID = "6988c34f-055b-4ed5-b223-b10c8a2e2329"
VERIFICATION_REQUEST_ID = "44b1b2a0-7e1d-4b8a-9c5e-0d3c2f6a1b7e"
QUOTE_ID = "7c23e80c-d078-4077-8263-2c047876fcf6"
TRANSFER_ID = "85feac2f-39b2-491b-817e-4a03203d4f14"
TRANSACTION_ID = "a8323bc6-c228-4df2-ae82-e5a997baf899"
DATE_TIME = "2026-06-15T12:00:00.000Z"
CONDITION = "f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA"  # 43 base64url chars


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_CREDENTIAL_ID = bytes(range(64))


def _client_data(kind: str) -> str:
    data = {
        "type": kind,
        "challenge": "YWJiYmYyNGJlZTMzNjRhMGFh",
        "origin": "http://localhost:8080",
    }
    return _b64(json.dumps(data).encode())


def money(amount: str = "100", currency: str = "USD") -> Body:
    return {"currency": currency, "amount": amount}


def payee() -> Body:
    return {
        "partyIdInfo": {
            "partyIdType": "MSISDN",
            "partyIdentifier": "+4412345678",
            "fspId": "dfspb",
        },
        "name": "Bob Payee",
        "personalInfo": {
            "complexName": {"firstName": "Bob", "lastName": "O'Neil-Ünal"},
            "dateOfBirth": "1980-02-29",
        },
    }


def payer_link() -> Body:
    return {"partyIdType": "THIRD_PARTY_LINK", "partyIdentifier": "qwerty-123456", "fspId": "dfspa"}


def transaction_type() -> Body:
    return {"scenario": "TRANSFER", "initiator": "PAYER", "initiatorType": "CONSUMER"}


def scopes() -> list[Body]:
    return [
        {
            "address": "dfspa.username.1234",
            "actions": ["ACCOUNTS_TRANSFER", "ACCOUNTS_GET_BALANCE"],
        },
        {"address": "dfspa.username.5678", "actions": ["ACCOUNTS_TRANSFER"]},
    ]


def extension_list() -> Body:
    return {"extension": [{"key": "traceId", "value": "abc-123"}]}


def fido_attestation() -> Body:
    return {
        "id": _b64url(_CREDENTIAL_ID),
        "rawId": _b64(_CREDENTIAL_ID),
        "response": {
            "clientDataJSON": _client_data("webauthn.create"),
            "attestationObject": _b64(b"\xa3cfmthfido-u2f" + bytes(300)),
        },
        "type": "public-key",
    }


def fido_assertion() -> Body:
    return {
        "id": _b64url(_CREDENTIAL_ID),
        "rawId": _b64(_CREDENTIAL_ID),
        "response": {
            "authenticatorData": _b64(bytes(37)),
            "clientDataJSON": _client_data("webauthn.get"),
            "signature": _b64(b"\x30\x45" + bytes(69)),
        },
        "type": "public-key",
    }


def generic_credential() -> Body:
    return {"publicKey": _b64url(b"\x30\x59" + bytes(89)), "signature": _b64url(bytes(70))}


def credential(status: str, kind: str = "FIDO") -> Body:
    payload = (
        {"fidoPayload": fido_attestation()}
        if kind == "FIDO"
        else {"genericPayload": generic_credential()}
    )
    return {"credentialType": kind, "status": status, **payload}


def transaction_request() -> Body:
    return {
        "transactionRequestId": TRANSACTION_REQUEST_ID,
        "payee": payee(),
        "payer": payer_link(),
        "amountType": "SEND",
        "amount": money(),
        "transactionType": transaction_type(),
        "note": "Lunch money",
        "expiration": DATE_TIME,
        "extensionList": extension_list(),
    }


def authorization_request() -> Body:
    return {
        "authorizationRequestId": AUTHORIZATION_REQUEST_ID,
        "transactionRequestId": TRANSACTION_REQUEST_ID,
        "challenge": "0fd916df0d0f9ecac2df16906027838bae2aa87935cf3e1a3a71971635da1844",
        "transferAmount": money("100"),
        "payeeReceiveAmount": money("99"),
        "fees": money("1"),
        "payer": payer_link(),
        "payee": payee(),
        "transactionType": transaction_type(),
        "expiration": DATE_TIME,
    }


def error_information() -> Body:
    return {
        "errorInformation": {
            "errorCode": "6003",
            "errorDescription": "Downstream failure",
            "extensionList": extension_list(),
        }
    }


def fspiop_party() -> Body:
    party = payee()
    party["merchantClassificationCode"] = "4321"
    return party


def quote_request() -> Body:
    return {
        "quoteId": QUOTE_ID,
        "transactionId": TRANSACTION_ID,
        "transactionRequestId": TRANSACTION_REQUEST_ID,
        "payee": fspiop_party(),
        "payer": {
            "partyIdInfo": {
                "partyIdType": "MSISDN",
                "partyIdentifier": "+4487654321",
                "fspId": "dfspa",
            }
        },
        "amountType": "SEND",
        "amount": money(),
        "transactionType": transaction_type(),
        "geoCode": {"latitude": "51.5072", "longitude": "-0.1276"},
        "note": "Lunch money",
        "expiration": DATE_TIME,
    }


def quote_response() -> Body:
    return {
        "transferAmount": money("100"),
        "payeeReceiveAmount": money("99"),
        "payeeFspFee": money("1"),
        "payeeFspCommission": money("0"),
        "expiration": DATE_TIME,
        "ilpPacket": "AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3AxLm1lci45T2RTOF81MDdqUUZERmZlakgyOVc4bXFmNEpLMHlGTFGCAUBQU0svMS4wCk5vbmNlOiB1SXlweUYzY3pYSXBFdzVVc05TYWh3CkVuY3J5cHRpb246IG5vbmUKUGF5bWVudC1JZDogMTMyMzZhM2ItOGZhOC00MTYzLTg0NDctNGMzZWQzZGE5OGE3CgpDb250ZW50LUxlbmd0aDogMTM1CkNvbnRlbnQtVHlwZTogYXBwbGljYXRpb24vanNvbgpTZW5kZXItSWRlbnRpZmllcjogOTI4MDYzOTEKCiJ7XCJmZWVcIjowLFwidHJhbnNmZXJDb2RlXCI6XCJpbnZvaWNlXCIsXCJkZWJpdE5hbWVcIjpcImFsaWNlIGNvb3BlclwiLFwiY3JlZGl0TmFtZVwiOlwibWVyIGNoYW50XCIsXCJkZWJpdElkZW50aWZpZXJcIjpcIjkyODA2MzkxXCJ9IgA",  # noqa: E501
        "condition": CONDITION,
    }


def _factories() -> dict[str, list[tuple[str, Callable[[], Body]]]]:
    tx = "thirdpartyRequests.transactions"
    authz = "thirdpartyRequests.authorizations"
    verify = "thirdpartyRequests.verifications"
    return {
        "services.put": [
            ("providers", lambda: {"providers": ["dfspa", "dfspb"]}),
            ("no providers", lambda: {"providers": []}),
        ],
        "accounts.put": [
            (
                "accounts",
                lambda: {
                    "accounts": [
                        {
                            "accountNickname": "Chequing Account",
                            "address": "dfspa.username.1234",
                            "currency": "ZAR",
                        }
                    ]
                },
            )
        ],
        "consentRequests.post": [
            (
                "web+otp",
                lambda: {
                    "consentRequestId": CONSENT_REQUEST_ID,
                    "userId": "username1234",
                    "scopes": scopes(),
                    "authChannels": ["WEB", "OTP"],
                    "callbackUri": "pisp-app://callback?x=1",
                    "extensionList": extension_list(),
                },
            )
        ],
        "consentRequests.put": [
            (
                "web",
                lambda: {
                    "scopes": scopes(),
                    "authChannels": ["WEB"],
                    "callbackUri": "pisp-app://callback",
                    "authUri": "https://dfspa.example/authorize",
                },
            ),
            ("otp", lambda: {"scopes": scopes(), "authChannels": ["OTP"]}),
        ],
        "consentRequests.patch": [("token", lambda: {"authToken": "123456"})],
        "consents.post": [
            (
                "to PISP",
                lambda: {
                    "consentId": CONSENT_ID,
                    "consentRequestId": CONSENT_REQUEST_ID,
                    "scopes": scopes(),
                    "status": "ISSUED",
                },
            ),
            (
                "to auth-service",
                lambda: {
                    "consentId": CONSENT_ID,
                    "scopes": scopes(),
                    "credential": credential("PENDING"),
                    "status": "ISSUED",
                },
            ),
        ],
        "consents.put": [
            (
                "signed FIDO",
                lambda: {
                    "status": "ISSUED",
                    "scopes": scopes(),
                    "credential": credential("PENDING"),
                },
            ),
            (
                "signed GENERIC",
                lambda: {"scopes": scopes(), "credential": credential("PENDING", "GENERIC")},
            ),
            ("verified FIDO", lambda: {"scopes": scopes(), "credential": credential("VERIFIED")}),
        ],
        "consents.patch": [
            ("verified", lambda: {"credential": {"status": "VERIFIED"}}),
            ("revoked", lambda: {"status": "REVOKED", "revokedAt": DATE_TIME}),
        ],
        f"{tx}.post": [("full", transaction_request)],
        f"{tx}.put": [
            (
                "received",
                lambda: {"transactionId": TRANSACTION_ID, "transactionRequestState": "RECEIVED"},
            )
        ],
        f"{tx}.patch": [
            (
                "completed",
                lambda: {
                    "completedTimestamp": DATE_TIME,
                    "transactionRequestState": "ACCEPTED",
                    "transactionState": "COMPLETED",
                },
            )
        ],
        f"{authz}.post": [("full", authorization_request)],
        f"{authz}.put": [
            ("rejected", lambda: {"responseType": "REJECTED"}),
            (
                "FIDO",
                lambda: {
                    "responseType": "ACCEPTED",
                    "signedPayload": {
                        "signedPayloadType": "FIDO",
                        "fidoSignedPayload": fido_assertion(),
                    },
                },
            ),
            (
                "GENERIC",
                lambda: {
                    "responseType": "ACCEPTED",
                    "signedPayload": {
                        "signedPayloadType": "GENERIC",
                        "genericSignedPayload": _b64url(bytes(70)),
                    },
                },
            ),
        ],
        f"{verify}.post": [
            (
                "FIDO",
                lambda: {
                    "verificationRequestId": VERIFICATION_REQUEST_ID,
                    "challenge": "unimplemented123",
                    "consentId": CONSENT_ID,
                    "signedPayloadType": "FIDO",
                    "fidoSignedPayload": fido_assertion(),
                },
            ),
            (
                "GENERIC",
                lambda: {
                    "verificationRequestId": VERIFICATION_REQUEST_ID,
                    "challenge": "abc",
                    "consentId": CONSENT_ID,
                    "signedPayloadType": "GENERIC",
                    "genericSignedPayload": _b64url(bytes(70)),
                },
            ),
        ],
        f"{verify}.put": [("verified", lambda: {"authenticationResponse": "VERIFIED"})],
        "parties.put": [("party", lambda: {"party": fspiop_party()})],
        "participants.post": [
            ("auth-service", lambda: {"fspId": "central-auth", "currency": "USD"})
        ],
        "participants.put": [("fspId", lambda: {"fspId": "central-auth"})],
        "quotes.post": [("full", quote_request)],
        "quotes.put": [("full", quote_response)],
        "transfers.post": [
            (
                "full",
                lambda: {
                    "transferId": TRANSFER_ID,
                    "payeeFsp": "dfspb",
                    "payerFsp": "dfspa",
                    "amount": money(),
                    "ilpPacket": quote_response()["ilpPacket"],
                    "condition": CONDITION,
                    "expiration": DATE_TIME,
                },
            )
        ],
        "transfers.put": [
            (
                "committed",
                lambda: {
                    "fulfilment": CONDITION,
                    "completedTimestamp": DATE_TIME,
                    "transferState": "COMMITTED",
                },
            )
        ],
        "transfers.patch": [
            ("committed", lambda: {"completedTimestamp": DATE_TIME, "transferState": "COMMITTED"})
        ],
    }


EXAMPLES = _factories()
ERROR_EXAMPLE = error_information
