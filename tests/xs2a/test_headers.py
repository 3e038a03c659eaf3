"""The XS2A PIS request headers: every rule → FORMAT_ERROR on the header's name with a text
saying what to send; and what a valid request says, read case-insensitively."""

from __future__ import annotations

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from tpsim.config_psd2 import TppConfig
from tpsim.xs2a.errors import FormatError
from tpsim.xs2a.headers import RequestHeaders, require_json

REQUEST_ID = "99391c7e-ad88-49ec-a2ad-99ddcb1f7721"
MINIMAL = {"X-Request-ID": REQUEST_ID}
INITIATION = {**MINIMAL, "PSU-IP-Address": "192.168.8.78"}
BOOLEANS = (
    "TPP-Redirect-Preferred",
    "TPP-Decoupled-Preferred",
    "TPP-Explicit-Authorisation-Preferred",
    "TPP-Rejection-NoFunds-Preferred",
)


def refusal(headers: dict[str, str] | CIMultiDict[str], *, initiation: bool) -> FormatError:
    with pytest.raises(FormatError) as caught:
        RequestHeaders.parse(headers, initiation=initiation)
    return caught.value


def test_every_header_a_pis_request_may_carry_is_read() -> None:
    headers = {
        "X-Request-ID": REQUEST_ID,
        "PSU-IP-Address": "2001:db8::1",
        "PSU-ID": "PSU-Successful",
        "PSU-ID-Type": "login",
        "PSU-Corporate-ID": "ACME",
        "PSU-Corporate-ID-Type": "corp",
        "TPP-Redirect-URI": "https://tpp.example/ok?state=1",
        "TPP-Nok-Redirect-URI": "https://tpp.example/nok",
        "TPP-Redirect-Preferred": "true",
        "TPP-Decoupled-Preferred": "FALSE",
        "TPP-Explicit-Authorisation-Preferred": "True",
        "TPP-Rejection-NoFunds-Preferred": "false",
        "TPP-Client-ID": "tpp-one",
        "Authorization": "Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl",
    }
    assert RequestHeaders.parse(headers, initiation=True) == RequestHeaders(
        x_request_id=REQUEST_ID,
        psu_ip_address="2001:db8::1",
        psu_id="PSU-Successful",
        psu_id_type="login",
        psu_corporate_id="ACME",
        psu_corporate_id_type="corp",
        tpp_redirect_uri="https://tpp.example/ok?state=1",
        tpp_nok_redirect_uri="https://tpp.example/nok",
        tpp_redirect_preferred=True,
        tpp_decoupled_preferred=False,
        tpp_explicit_authorisation_preferred=True,
        tpp_rejection_nofunds_preferred=False,
        tpp_client_id="tpp-one",
        bearer="eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl",
    )


def test_only_x_request_id_is_needed_after_the_initiation() -> None:
    assert RequestHeaders.parse(MINIMAL, initiation=False) == RequestHeaders(REQUEST_ID)


def test_header_names_are_case_insensitive() -> None:
    headers = {"x-request-id": REQUEST_ID, "psu-ip-address": "10.0.0.1", "psu-id": "alice"}
    parsed = RequestHeaders.parse(headers, initiation=True)
    assert (parsed.psu_ip_address, parsed.psu_id) == ("10.0.0.1", "alice")


def test_a_header_repeated_with_the_same_value_is_read_once() -> None:
    headers = CIMultiDict([("X-Request-ID", REQUEST_ID), ("x-request-id", REQUEST_ID)])
    assert RequestHeaders.parse(headers, initiation=False).x_request_id == REQUEST_ID


@pytest.mark.parametrize("value", ["Bearer abc", "bearer abc==", "BEARER a-b_c.d~e+f/g="])
def test_a_bearer_token_is_taken_from_authorization(value: str) -> None:
    token = value.split(" ", 1)[1]
    assert RequestHeaders.parse({**MINIMAL, "Authorization": value}, initiation=False).bearer == (
        token
    )


#: headers beyond the minimal ones (None: left out), initiation, header in the error, and
#: part of its text
Rule = tuple[dict[str, str | None], bool, str, str]


def not_a_boolean(name: str) -> Rule:
    return ({name: "yes"}, False, name, f"{name} 'yes' is not a boolean: send true or false")


# fmt: off
HEADER_RULES: list[Rule] = [
    ({"X-Request-ID": None}, False, "X-Request-ID", "X-Request-ID is missing"),
    ({"X-Request-ID": "abc"}, False, "X-Request-ID", "'abc' is not a UUID"),
    ({"X-Request-ID": REQUEST_ID.replace("-", "")}, False, "X-Request-ID", "is not a UUID"),
    ({"X-Request-ID": "{" + REQUEST_ID + "}"}, False, "X-Request-ID", "is not a UUID"),
    ({"X-Request-ID": "urn:uuid:" + REQUEST_ID}, False, "X-Request-ID", "is not a UUID"),
    ({}, True, "PSU-IP-Address", "PSU-IP-Address is missing"),
    ({"PSU-IP-Address": "999.1.1.1"}, True, "PSU-IP-Address", "is not an IP address"),
    ({"PSU-IP-Address": "localhost"}, False, "PSU-IP-Address", "is not an IP address"),
    ({"PSU-IP-Address": ""}, True, "PSU-IP-Address", "is not an IP address"),
    ({"PSU-ID": " "}, False, "PSU-ID", "PSU-ID is empty"),
    ({"PSU-Corporate-ID": ""}, False, "PSU-Corporate-ID", "is empty"),
    ({"TPP-Redirect-URI": "tpp.example/cb"}, False, "TPP-Redirect-URI",
     "is not an absolute URI"),
    ({"TPP-Redirect-URI": "/cb"}, False, "TPP-Redirect-URI", "is not an absolute URI"),
    ({"TPP-Nok-Redirect-URI": "https://tpp.example/a b"}, False, "TPP-Nok-Redirect-URI",
     "is not an absolute URI"),
    *[not_a_boolean(name) for name in BOOLEANS],
    ({"TPP-Redirect-Preferred": ""}, False, "TPP-Redirect-Preferred", "is not a boolean"),
    ({"TPP-Client-ID": "tpp one"}, False, "TPP-Client-ID", "is not a client id"),
    ({"TPP-Client-ID": "x" * 129}, False, "TPP-Client-ID", "1 to 128"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, False, "Authorization",
     "uses the scheme 'Basic': send 'Bearer <token>'"),
    ({"Authorization": "Bearer"}, False, "Authorization", "has no valid token after 'Bearer '"),
    ({"Authorization": "Bearer a b"}, False, "Authorization", "has no valid token"),
    ({"Authorization": "Bearer a=b"}, False, "Authorization", "has no valid token"),
    ({"Authorization": "eyJhbGciOi"}, False, "Authorization", "is not 'Bearer <token>'"),
]
# fmt: on


@pytest.mark.parametrize(
    ("extra", "initiation", "path", "text"),
    HEADER_RULES,
    ids=[" ".join(f"{k}={v}" for k, v in case[0].items()) or "none" for case in HEADER_RULES],
)
def test_every_header_rule_is_a_format_error_naming_the_header(
    extra: dict[str, str | None], initiation: bool, path: str, text: str
) -> None:
    headers = {**MINIMAL, **extra}
    present = {name: value for name, value in headers.items() if value is not None}
    error = refusal(present, initiation=initiation)
    assert (error.code, error.status, error.path) == ("FORMAT_ERROR", 400, path)
    assert text in error.text


def test_a_header_repeated_with_different_values_is_refused() -> None:
    other = "7b3f5a5e-1f7c-4d3e-9a51-3f0c2f0e8a11"
    headers = CIMultiDict([("X-Request-ID", REQUEST_ID), ("X-Request-ID", other)])
    error = refusal(headers, initiation=False)
    assert (error.code, error.path) == ("FORMAT_ERROR", "X-Request-ID")
    assert "sent twice with different values" in error.text


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "dXNlcjpwYXNzdXNlcjpwYXNz", "Bearer a b"])
def test_an_authorization_error_never_echoes_the_credential(value: str) -> None:
    error = refusal({**MINIMAL, "Authorization": value}, initiation=False)
    assert "dXNlcjpwYXNz" not in error.text and "a b" not in error.text


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"],
)
def test_a_json_body_may_be_sent(content_type: str) -> None:
    require_json(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "application/xml",
        "application/jsonx",
        "application/json; charset=iso-8859-1",
        "multipart/form-data; boundary=AaaBbbCcc",
    ],
)
def test_a_body_that_is_not_json_is_a_format_error_on_content_type(
    content_type: str | None,
) -> None:
    with pytest.raises(FormatError) as caught:
        require_json(content_type)
    assert (caught.value.code, caught.value.path) == ("FORMAT_ERROR", "Content-Type")
    assert "application/json" in caught.value.text


def _header_takes(client_id: str) -> bool:
    try:
        RequestHeaders.parse({**MINIMAL, "TPP-Client-ID": client_id}, initiation=False)
    except FormatError:
        return False
    return True


def _config_takes(client_id: str) -> bool:
    try:
        TppConfig(client_id=client_id, name="TPP", redirect_uris=["https://tpp.example/cb"])
    except pydantic.ValidationError:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(
    client_id=st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é€\u00a0"))
    | st.sampled_from(["tpp-one", "x" * 128, "x" * 129, "!~", ""])
)
def test_tpp_client_id_takes_exactly_the_client_ids_the_config_takes(client_id: str) -> None:
    """One rule for a client id (``config_psd2.CLIENT_ID_PATTERN``): a TPP named in its
    header is always one the config could have configured, and the other way round."""
    assert _header_takes(client_id) == _config_takes(client_id.strip())
