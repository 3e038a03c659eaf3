"""The OpenAPI test helper itself: it must catch what the official bundles forbid."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bodies import ERROR_EXAMPLE, fido_assertion
from tpsim.mojaloop.message import Message, make_headers
from tpsim.mojaloop.wire.openapi import (
    ENV_VAR,
    OpenApiValidator,
    SchemaViolation,
    missing_bundles,
    spec_dir,
)

TX = "/thirdpartyRequests/transactions/b51ec534-ee48-4575-b6a9-ead2955b8069"


def test_spec_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert spec_dir() == tmp_path
    assert len(missing_bundles(tmp_path)) == 4


def test_validate_lists_every_violation(openapi: OpenApiValidator) -> None:
    body = {"errorInformation": {"errorCode": "0100", "errorDescription": ""}}
    with pytest.raises(SchemaViolation) as caught:
        openapi.validate("pisp", "PUT", f"{TX}/error", body)
    text = str(caught.value)
    assert "errorInformation/errorCode" in text and "[pattern]" in text
    assert "errorInformation/errorDescription" in text and "[minLength]" in text


def test_one_of_failures_say_why_each_variant_failed(openapi: OpenApiValidator) -> None:
    body = {"responseType": "ACCEPTED", "signedPayload": {"signedPayloadType": "FIDO"}}
    with pytest.raises(SchemaViolation, match=r"(?s)\[oneOf\].*fidoSignedPayload"):
        openapi.validate("dfsp", "PUT", "/thirdpartyRequests/authorizations/a1", body)


@pytest.mark.parametrize(
    ("name", "valid"),
    [("Ünal O'Neil-Smith", True), ("José", True), ("B0b_", True), ("Bob!", False), ("   ", False)],
)
def test_person_name_pattern_is_evaluated_like_javascript(
    openapi: OpenApiValidator, name: str, valid: bool
) -> None:
    party = {
        "partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "1"},
        "personalInfo": {"complexName": {"firstName": name}},
    }
    if valid:
        openapi.validate("fspiop", "PUT", "/parties/MSISDN/1", {"party": party})
    else:
        with pytest.raises(SchemaViolation, match="firstName"):
            openapi.validate("fspiop", "PUT", "/parties/MSISDN/1", {"party": party})


def test_error_path_is_not_taken_for_a_sub_id(openapi: OpenApiValidator) -> None:
    assert openapi.template_for("pisp", "/parties/MSISDN/1/error") == "/parties/{Type}/{ID}/error"
    assert openapi.template_for("pisp", "/parties/MSISDN/1/x") == "/parties/{Type}/{ID}/{SubId}"
    assert openapi.template_for("pisp", "/parties/MSISDN//x") is None


def test_validate_sent_chooses_the_bundle(openapi: OpenApiValidator) -> None:
    headers = make_headers({"FSPIOP-Source": "dfspa"})
    put = Message("PUT", f"{TX}/error", headers, ERROR_EXAMPLE())
    openapi.validate_sent(put, "pisp")
    verification = {
        "method": "POST",
        "path": "/thirdpartyRequests/verifications",
        "body": {
            "verificationRequestId": "44b1b2a0-7e1d-4b8a-9c5e-0d3c2f6a1b7e",
            "challenge": "abc",
            "consentId": "be433b9e-9473-4b7d-bdd5-ac5b42463afb",
            "signedPayloadType": "FIDO",
            "fidoSignedPayload": fido_assertion(),
        },
    }
    openapi.validate_sent(verification, "auth")
    openapi.validate_sent({"method": "GET", "path": "/services/PISP"}, "hub")
    with pytest.raises(SchemaViolation, match="fspiop-rest"):
        openapi.validate_sent(
            {"method": "PUT", "path": "/parties/MSISDN/1", "body": {"party": {}}}, "pisp"
        )
    with pytest.raises(SchemaViolation, match="no bundle"):
        openapi.validate_sent({"method": "POST", "path": "/nowhere", "body": {}}, "dfsp")
    with pytest.raises(SchemaViolation, match="takes no body"):
        openapi.validate("pisp", "GET", "/accounts/u1", {"x": 1})
