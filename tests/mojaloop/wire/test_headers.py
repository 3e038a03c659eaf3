"""Media types and versions (406/3001), HTTP dates, and the headers tpsim sends and forwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tpsim.mojaloop.errors import FspiopError, MissingElement, UnacceptableVersion, ValidationError
from tpsim.mojaloop.wire.headers import (
    DEFAULT_VERSIONS,
    SUPPORTED_VERSIONS,
    build_headers,
    check_accept,
    check_content_type,
    format_http_date,
    forward_headers,
    media_type,
    parse_http_date,
    parse_media_type,
)

TP = "application/vnd.interoperability.thirdparty+json"
WHEN = datetime(2019, 1, 24, 10, 23, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("resource", "version", "expected"),
    [
        ("thirdparty", None, f"{TP};version=1.0"),
        ("services", None, "application/vnd.interoperability.services+json;version=1.0"),
        ("parties", None, "application/vnd.interoperability.parties+json;version=1.1"),
        ("participants", None, "application/vnd.interoperability.participants+json;version=1.1"),
        ("parties", "1.0", "application/vnd.interoperability.parties+json;version=1.0"),
    ],
)
def test_media_type(resource: str, version: str | None, expected: str) -> None:
    assert media_type(resource, version) == expected


def test_supported_and_default_versions() -> None:
    assert SUPPORTED_VERSIONS["thirdparty"] == ("1.0",)
    assert SUPPORTED_VERSIONS["quotes"] == ("1.0", "1.1")
    assert DEFAULT_VERSIONS == {
        "thirdparty": "1.0",
        "services": "1.0",
        "parties": "1.1",
        "participants": "1.1",
        "quotes": "1.1",
        "transfers": "1.1",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"{TP};version=1.0", ("thirdparty", "1.0")),
        (f"{TP} ; version=1.1", ("thirdparty", "1.1")),
        (f"{TP};  version = 1 ;q=0.9", ("thirdparty", "1")),
        (f'{TP};charset=utf-8;version="1.0"', ("thirdparty", "1.0")),
        ("Application/Vnd.Interoperability.Parties+JSON;version=1.1", ("parties", "1.1")),
        (TP, ("thirdparty", "")),
        ("application/json", ("json", "")),
        ("application/json; charset=utf-8", ("json", "")),
        ("text/plain", None),
        ("application/vnd.interoperability.thirdparty+xml;version=1.0", None),
        ("", None),
    ],
)
def test_parse_media_type(value: str, expected: tuple[str, str] | None) -> None:
    assert parse_media_type(value) == expected


@pytest.mark.parametrize(
    ("resource", "value"),
    [
        ("thirdparty", f"{TP};version=1.0"),
        ("thirdparty", f"{TP} ; version=1.0"),
        ("thirdparty", "application/json"),
        ("parties", "application/vnd.interoperability.parties+json;version=1.0"),
        ("parties", "application/vnd.interoperability.parties+json;version=1.1"),
        ("services", "application/vnd.interoperability.services+json;version=1.0"),
    ],
)
def test_content_type_accepted(resource: str, value: str) -> None:
    check_content_type(resource, value)


@pytest.mark.parametrize(
    ("resource", "value", "kind", "detail"),
    [
        ("thirdparty", None, MissingElement, "required"),
        ("thirdparty", f"{TP};version=1.1", UnacceptableVersion, "supported versions: 1.0"),
        ("thirdparty", f"{TP};version=2.0", UnacceptableVersion, "version 2.0 is not supported"),
        (
            "parties",
            "application/vnd.interoperability.parties+json;version=1.2",
            UnacceptableVersion,
            "supported versions: 1.0, 1.1",
        ),
        (
            "thirdparty",
            "application/vnd.interoperability.parties+json;version=1.0",
            ValidationError,
            f"must be {TP};version=1.0",
        ),
        ("services", f"{TP};version=1.0", ValidationError, "services+json"),
        ("thirdparty", "text/plain", ValidationError, "got 'text/plain'"),
        ("thirdparty", TP, ValidationError, "must carry version=x.y"),
    ],
)
def test_content_type_refused(
    resource: str, value: str | None, kind: type[FspiopError], detail: str
) -> None:
    with pytest.raises(kind) as caught:
        check_content_type(resource, value)
    assert type(caught.value) is kind
    assert caught.value.field == "Content-Type"
    assert detail in caught.value.detail


def test_unacceptable_version_is_406_3001_with_supported_versions() -> None:
    with pytest.raises(UnacceptableVersion) as caught:
        check_accept("quotes", "application/vnd.interoperability.quotes+json;version=2")
    error = caught.value
    assert (error.code, error.http_status, error.field) == ("3001", 406, "Accept")
    assert error.extensions == {"supportedVersions": "1.0, 1.1"}


@pytest.mark.parametrize(
    ("resource", "value"),
    [
        ("thirdparty", f"{TP};version=1"),
        ("thirdparty", f"{TP};version=1.0"),
        ("thirdparty", TP),
        ("thirdparty", "application/json"),
        ("thirdparty", "*/*"),
        ("thirdparty", "application/*"),
        ("thirdparty", f"{TP};version=2.0, {TP};version=1"),
        ("thirdparty", f"text/html, {TP} ; version=1.0 ; q=0.5"),
        ("parties", "application/vnd.interoperability.parties+json;version=1"),
        ("parties", "application/vnd.interoperability.parties+json;version=1.1"),
    ],
)
def test_accept_accepted(resource: str, value: str) -> None:
    check_accept(resource, value)


@pytest.mark.parametrize(
    ("resource", "value", "kind", "detail"),
    [
        ("thirdparty", "", MissingElement, "required"),
        ("thirdparty", f"{TP};version=2", UnacceptableVersion, "supported versions: 1.0"),
        (
            "thirdparty",
            f"{TP};version=1.1, {TP};version=2",
            UnacceptableVersion,
            "version 1.1, 2 is not supported",
        ),
        ("thirdparty", f"{TP};version=latest", UnacceptableVersion, "latest"),
        ("thirdparty", "text/html", ValidationError, f"must list {TP};version=1.0"),
        (
            "thirdparty",
            "application/vnd.interoperability.parties+json;version=1",
            ValidationError,
            "must list",
        ),
    ],
)
def test_accept_refused(resource: str, value: str, kind: type[FspiopError], detail: str) -> None:
    with pytest.raises(kind) as caught:
        check_accept(resource, value)
    assert type(caught.value) is kind
    assert caught.value.field == "Accept"
    assert detail in caught.value.detail


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (WHEN, "Thu, 24 Jan 2019 10:23:12 GMT"),
        (datetime(2019, 1, 24, 10, 23, 12, 999_999), "Thu, 24 Jan 2019 10:23:12 GMT"),
        (
            datetime(2019, 1, 24, 12, 23, 12, tzinfo=timezone(timedelta(hours=2))),
            "Thu, 24 Jan 2019 10:23:12 GMT",
        ),
        (datetime(2024, 2, 29, 0, 0, 5, tzinfo=UTC), "Thu, 29 Feb 2024 00:00:05 GMT"),
        (datetime(2026, 11, 1, 9, 5, 0, tzinfo=UTC), "Sun, 01 Nov 2026 09:05:00 GMT"),
        # Cut to the second below, before 1970 too (the last second formatted is cached).
        (datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC), "Wed, 31 Dec 1969 23:59:59 GMT"),
    ],
)
def test_format_http_date(when: datetime, expected: str) -> None:
    assert format_http_date(when) == expected


@pytest.mark.parametrize(
    "value",
    [
        "Thu, 24 Jan 2019 10:23:12 GMT",
        "Thu, 24 Jan 2019 11:23:12 +0100",
        "24 Jan 2019 10:23:12 GMT",
    ],
)
def test_parse_http_date(value: str) -> None:
    parsed = parse_http_date(value)
    assert parsed == WHEN
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("value", ["yesterday", "2019-01-24T10:23:12Z", "Thu, 99 Foo 2019"])
def test_parse_http_date_refuses_garbage(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_http_date(value)
    assert (caught.value.code, caught.value.field) == ("3100", "Date")
    assert "Thu, 24 Jan 2019 10:23:12 GMT" in caught.value.detail


def test_parse_http_date_missing() -> None:
    with pytest.raises(MissingElement):
        parse_http_date(None)


# --- what tpsim sends and forwards ------------------------------------------------------------


def test_build_headers_for_a_request() -> None:
    assert build_headers("POST", "thirdparty", "pispa", "dfspa", WHEN) == {
        "Content-Type": f"{TP};version=1.0",
        "Accept": f"{TP};version=1",
        "Date": "Thu, 24 Jan 2019 10:23:12 GMT",
        "FSPIOP-Source": "pispa",
        "FSPIOP-Destination": "dfspa",
    }


def test_build_headers_for_a_callback_and_a_lookup() -> None:
    put = build_headers("PUT", "parties", "dfspb", "pispa", WHEN)
    assert "Accept" not in put
    assert put["Content-Type"] == "application/vnd.interoperability.parties+json;version=1.1"
    get = build_headers("GET", "parties", "pispa", None, WHEN, version="1.0")
    assert "FSPIOP-Destination" not in get
    assert get["Accept"] == "application/vnd.interoperability.parties+json;version=1"
    check_accept("parties", get["Accept"])
    check_content_type("parties", get["Content-Type"])


INCOMING = {
    "Content-Type": f"{TP};version=1.0",
    "Accept": f"{TP};version=1",
    "Content-Length": "123",
    "Host": "switch:3000",
    "Accept-Encoding": "gzip",
    "Transfer-Encoding": "chunked",
    "Connection": "keep-alive",
    "Date": "Thu, 24 Jan 2019 11:23:12 +0100",
    "FSPIOP-Source": "dfspa",
    "FSPIOP-Destination": "pispa",
    "FSPIOP-Signature": '{"signature":"abc","protectedHeader":"def"}',
    "FSPIOP-HTTP-Method": "POST",
    "FSPIOP-URI": "/thirdpartyRequests/transactions/t1",
    "X-Trace": "1",
}


def test_forward_headers_as_the_switch_does() -> None:
    out = forward_headers(INCOMING, "put", WHEN + timedelta(hours=1), hub_name="Hub")
    assert out == {
        "Content-Type": f"{TP};version=1.0",
        "Date": "Thu, 24 Jan 2019 10:23:12 GMT",
        "FSPIOP-Source": "dfspa",
        "FSPIOP-Destination": "pispa",
        "FSPIOP-Signature": '{"signature":"abc","protectedHeader":"def"}',
        "FSPIOP-HTTP-Method": "PUT",
        "FSPIOP-URI": "/thirdpartyRequests/transactions/t1",
        "X-Trace": "1",
    }


def test_forward_headers_keeps_accept_on_requests_and_drops_the_hubs_signature() -> None:
    incoming = {k: v for k, v in INCOMING.items() if k != "Date"}
    incoming.update({"FSPIOP-Source": "hub", "date": "garbage"})
    out = forward_headers(incoming, "POST", WHEN, hub_name="Hub")
    assert out["Accept"] == f"{TP};version=1"
    assert "FSPIOP-Signature" not in out
    assert out["date"] == "Thu, 24 Jan 2019 10:23:12 GMT"
    assert "Date" not in out


def test_forward_headers_adds_a_date_when_there_is_none() -> None:
    out = forward_headers({"FSPIOP-Source": "dfspa"}, "GET", WHEN, hub_name="Hub")
    assert out == {"FSPIOP-Source": "dfspa", "Date": "Thu, 24 Jan 2019 10:23:12 GMT"}
    assert forward_headers({"Date": "junk"}, "GET", hub_name="Hub") == {"Date": "junk"}
