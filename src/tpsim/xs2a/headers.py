"""The request headers the XS2A PIS endpoints read (NextGenPSD2 1.3.11 "Request header").

``RequestHeaders.parse`` reads them once at the edge, case-insensitively, and raises a
``FormatError`` whose ``path`` is the header's name and whose text says what to send (adorsys
answers a malformed header with 400 FORMAT_ERROR too). Headers tpsim does not read (the
PSU-context ones, ``Digest``/``Signature`` unless a bank checks signatures) are not looked
at here.

Choices where the spec leaves room:

* ``PSU-IP-Address`` accepts IPv6 as well as IPv4: the 1.3.11 schema says ``format: ipv4``,
  but a PSU behind an IPv6 network has no IPv4 address to forward (later versions of the
  guidelines allow both).
* A header tpsim reads that is sent twice (with different values) is refused: which one
  the bank would use is not defined.
* ``TPP-Client-ID`` is tpsim's own (DESIGN.md "TPPs": XS2A has no client id, a request
  names its TPP by this header; without it the first configured TPP is assumed).
* A body-carrying request must say ``Content-Type: application/json``: 415 is not in the
  XS2A error table, so ``require_json`` answers 400 FORMAT_ERROR on ``Content-Type``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from tpsim.config_psd2 import CLIENT_ID_PATTERN
from tpsim.xs2a.errors import FormatError

__all__ = ["RequestHeaders", "require_json"]

T = TypeVar("T")

UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# RFC 6750 §2.1 b64token.
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")
# As config's ``tpps[].client_id`` (``TppConfig``): 1 to 128 visible ASCII characters.
_CLIENT_ID = re.compile(CLIENT_ID_PATTERN)
_CLIENT_ID_MAX = 128
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")

_READ = (
    "X-Request-ID",
    "PSU-IP-Address",
    "PSU-ID",
    "PSU-ID-Type",
    "PSU-Corporate-ID",
    "PSU-Corporate-ID-Type",
    "TPP-Redirect-URI",
    "TPP-Nok-Redirect-URI",
    "TPP-Redirect-Preferred",
    "TPP-Decoupled-Preferred",
    "TPP-Explicit-Authorisation-Preferred",
    "TPP-Rejection-NoFunds-Preferred",
    "TPP-Client-ID",
    "Authorization",
)


@dataclass(frozen=True, slots=True)
class RequestHeaders:
    """What a PIS request says in its headers, checked; absent optional headers are None."""

    x_request_id: str
    psu_ip_address: str | None = None
    psu_id: str | None = None
    psu_id_type: str | None = None
    psu_corporate_id: str | None = None
    psu_corporate_id_type: str | None = None
    tpp_redirect_uri: str | None = None
    tpp_nok_redirect_uri: str | None = None
    tpp_redirect_preferred: bool | None = None
    tpp_decoupled_preferred: bool | None = None
    tpp_explicit_authorisation_preferred: bool | None = None
    tpp_rejection_nofunds_preferred: bool | None = None
    tpp_client_id: str | None = None
    bearer: str | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str], *, initiation: bool) -> RequestHeaders:
        """The headers of one request; ``initiation`` for the POST that creates a payment
        (it must carry ``PSU-IP-Address``). Raises ``FormatError(path=<header name>)``."""
        read = _Reader(headers)
        if initiation:
            psu_ip_address: str | None = read.required("PSU-IP-Address", _ip_address)
        else:
            psu_ip_address = read.optional("PSU-IP-Address", _ip_address)
        return cls(
            x_request_id=read.required("X-Request-ID", _uuid),
            psu_ip_address=psu_ip_address,
            psu_id=read.optional("PSU-ID", _text),
            psu_id_type=read.optional("PSU-ID-Type", _text),
            psu_corporate_id=read.optional("PSU-Corporate-ID", _text),
            psu_corporate_id_type=read.optional("PSU-Corporate-ID-Type", _text),
            tpp_redirect_uri=read.optional("TPP-Redirect-URI", _absolute_uri),
            tpp_nok_redirect_uri=read.optional("TPP-Nok-Redirect-URI", _absolute_uri),
            tpp_redirect_preferred=read.optional("TPP-Redirect-Preferred", _boolean),
            tpp_decoupled_preferred=read.optional("TPP-Decoupled-Preferred", _boolean),
            tpp_explicit_authorisation_preferred=read.optional(
                "TPP-Explicit-Authorisation-Preferred", _boolean
            ),
            tpp_rejection_nofunds_preferred=read.optional(
                "TPP-Rejection-NoFunds-Preferred", _boolean
            ),
            tpp_client_id=read.optional("TPP-Client-ID", _client_id),
            bearer=read.optional("Authorization", _bearer),
        )


class _Reader:
    """The headers tpsim reads, by lower-case name; a header sent twice is refused."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        wanted = {name.lower(): name for name in _READ}
        self._values: dict[str, str] = {}
        # A multidict (aiohttp's CIMultiDictProxy) gives every value of a repeated header.
        for name, value in headers.items():
            key = name.lower()
            if key not in wanted:
                continue
            if key in self._values and self._values[key] != value:
                raise FormatError(
                    f"{wanted[key]} is sent twice with different values: send it once",
                    path=wanted[key],
                )
            _utf8(wanted[key], value)
            self._values[key] = value

    def optional(self, name: str, check: Callable[[str, str], T]) -> T | None:
        value = self._values.get(name.lower())
        return None if value is None else check(name, value.strip())

    def required(self, name: str, check: Callable[[str, str], T]) -> T:
        value = self._values.get(name.lower())
        if value is None:
            raise FormatError(f"{name} is missing: this request must carry it", path=name)
        return check(name, value.strip())


def _utf8(name: str, value: str) -> None:
    """Refuse a header whose bytes are not UTF-8 (the edge decodes them as lone
    surrogates): such a value is kept (``PSU-ID``, the redirect URIs) and a redirect to it
    would send the browser elsewhere (the bytes are dropped from the ``Location``). The
    value is not quoted: it may be a credential."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise FormatError(
            f"{name} holds bytes that are not UTF-8: send the value as UTF-8 text"
            " (percent-encode the bytes of a URI)",
            path=name,
        ) from None


def _uuid(name: str, value: str) -> str:
    if not UUID.fullmatch(value):
        raise FormatError(
            f"{name} {_shown(value)} is not a UUID: send e.g."
            " '99391c7e-ad88-49ec-a2ad-99ddcb1f7721' (RFC 4122 form, any version)",
            path=name,
        )
    return value


def _ip_address(name: str, value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise FormatError(
            f"{name} {_shown(value)} is not an IP address: send the PSU's IPv4 (e.g."
            " '192.168.8.78') or IPv6 address",
            path=name,
        ) from None
    return value


def _text(name: str, value: str) -> str:
    if not value:
        raise FormatError(f"{name} is empty: send a value or leave the header out", path=name)
    return value


def _absolute_uri(name: str, value: str) -> str:
    """A URI with a scheme (RFC 3986 §4.3; the spec's ``format: uri``), no spaces."""
    try:
        url = urlsplit(value)
    except ValueError:  # e.g. "Invalid IPv6 URL": an unclosed [ in the host
        url = None
    if (
        url is None
        or not _SCHEME.fullmatch(url.scheme)
        or not (url.netloc or url.path)
        or " " in value
    ):
        raise FormatError(
            f"{name} {_shown(value)} is not an absolute URI: send e.g."
            " 'https://tpp.example/callback'",
            path=name,
        )
    return value


def _boolean(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise FormatError(f"{name} {_shown(value)} is not a boolean: send true or false", path=name)
    return lowered == "true"


def _client_id(name: str, value: str) -> str:
    if len(value) > _CLIENT_ID_MAX or not _CLIENT_ID.fullmatch(value):
        raise FormatError(
            f"{name} {_shown(value)} is not a client id: 1 to 128 visible ASCII characters,"
            " as in the config's tpps[].client_id",
            path=name,
        )
    return value


def _bearer(name: str, value: str) -> str:
    """The token of ``Bearer <token>`` (RFC 6750 §2.1). The value is never echoed back in
    the error: it may be a credential."""
    match = _BEARER.fullmatch(value)
    if match:
        return match.group(1)
    scheme, space, _ = value.partition(" ")
    if scheme.lower() == "bearer":
        text = "has no valid token after 'Bearer ' (letters, digits and -._~+/, then any '=')"
    elif space and _SCHEME.fullmatch(scheme) and len(scheme) <= 20:
        text = f"uses the scheme {scheme!r}: send 'Bearer <token>'"
    else:
        text = "is not 'Bearer <token>'"
    raise FormatError(f"{name} {text}, the access token of the bank's OAuth server", path=name)


def require_json(content_type: str | None) -> None:
    """Refuse a body-carrying request whose ``Content-Type`` is not ``application/json``
    (parameters allowed; a charset, if given, must be UTF-8, RFC 8259 §8.1)."""
    media, _, parameters = (content_type or "").partition(";")
    charset = re.search(r"charset\s*=\s*\"?([^\";\s]+)", parameters, re.IGNORECASE)
    if media.strip().lower() == "application/json" and (
        charset is None or charset.group(1).lower() in ("utf-8", "utf8")
    ):
        return
    raise FormatError(
        f"Content-Type {_shown(content_type or '')} is not accepted here: send the body as"
        " JSON with 'Content-Type: application/json'",
        path="Content-Type",
    )


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
