"""Mojaloop's request signature, ``FSPIOP-Signature`` (JWS, RFC 7515), sans-IO.

As Mojaloop's sdk-standard-components write it (``lib/jws/jwsSigner.js``) and check it
(``lib/jws/jwsValidator.js``):

- the header is the JSON ``{"signature": S, "protectedHeader": P}``: the last and first
  parts of a compact JWS, base64url without padding;
- ``P`` is the JSON protected header: ``alg`` (``RS256``, or ``ES256`` for an EC P-256
  key), ``FSPIOP-URI`` (the path from the service on, e.g. ``/consents/{ID}``),
  ``FSPIOP-HTTP-Method``, ``FSPIOP-Source``, and ``FSPIOP-Destination`` and ``Date`` when
  the request has them;
- ``S`` signs ``P + "." + base64url(body)``, the body as sent;
- the request also carries ``FSPIOP-URI`` and ``FSPIOP-HTTP-Method`` headers equal to the
  protected ones, and every protected value must equal the request's;
- GET requests are neither signed nor checked; any failure is ``3105`` (thirdparty-sdk's
  ``jwsValidator`` plugin answers 400 with ``INVALID_SIGNATURE``).

Where tpsim is stricter than Mojaloop: the protected ``FSPIOP-URI`` and method are held
against the request line tpsim received, not only against the headers that repeat them
(Mojaloop compares the header with itself, so a signed body could be replayed at another
path); a prefix before the path is tolerated (Mojaloop's signer writes
``//host:port/accounts/…`` for resources its URI pattern does not list). The body is the
exact bytes received (Mojaloop's validator re-serialises the parsed body, which equals
them for the compact JSON its signer sends). Mojaloop's signer cannot sign a request
without a body (``DELETE /consents/{ID}``) and its validator refuses one; tpsim signs and
checks it over the empty payload, so a DELETE is protected too.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from tpsim.auth import keys
from tpsim.auth.jws_keys import JwsPrivateKey, JwsPublicKey, jws_private_key, jws_public_key
from tpsim.config import Config
from tpsim.mojaloop.errors import InvalidSignature

SIGNATURE = "FSPIOP-Signature"
URI = "FSPIOP-URI"
HTTP_METHOD = "FSPIOP-HTTP-Method"
SOURCE = "FSPIOP-Source"
DESTINATION = "FSPIOP-Destination"
DATE = "Date"

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_ES256_BYTES = 64  # r || s, 32 bytes each (RFC 7518 §3.4)


def signed(method: str) -> bool:
    """Whether a request with ``method`` carries a signature: all but GET, as in Mojaloop
    (``baseRequests._get`` never signs; the validator plugin skips GETs)."""
    return method.upper() != "GET"


def algorithm(key: JwsPublicKey | JwsPrivateKey) -> str:
    """The ``alg`` a key signs with: RS256 for RSA, ES256 for EC P-256 (as Mojaloop's
    signer picks it from the key)."""
    return "RS256" if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey) else "ES256"


def sign(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes | None,
    private_key: JwsPrivateKey,
) -> str:
    """The ``FSPIOP-Signature`` value for a request: ``path`` is its ``FSPIOP-URI``,
    ``headers`` give ``FSPIOP-Source`` (required) and, when present, ``FSPIOP-Destination``
    and ``Date``; ``body`` is exactly the bytes that will be sent."""
    sent = _folded(headers)
    source = sent.get(SOURCE.lower())
    if not source:
        raise InvalidSignature("cannot sign a request without FSPIOP-Source", field=SOURCE)
    protected: dict[str, str] = {
        "alg": algorithm(private_key),
        URI: path,
        HTTP_METHOD: method.upper(),
        SOURCE: source,
    }
    for name in (DESTINATION, DATE):
        value = sent.get(name.lower())
        if value:
            protected[name] = value
    encoded = _b64url(json.dumps(protected, separators=(",", ":")).encode())
    raw = keys.sign(private_key, _signing_input(encoded, body))
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(raw)
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    header = {"signature": _b64url(raw), "protectedHeader": encoded}
    return json.dumps(header, separators=(",", ":"))


def signature_headers(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes | None,
    private_key: JwsPrivateKey,
) -> dict[str, str]:
    """What a signing sender adds to a request: ``FSPIOP-URI``, ``FSPIOP-HTTP-Method`` and
    ``FSPIOP-Signature`` (none for a GET)."""
    if not signed(method):
        return {}
    return {
        URI: path,
        HTTP_METHOD: method.upper(),
        SIGNATURE: sign(method, path, headers, body, private_key),
    }


def verify(
    value: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key: JwsPublicKey,
) -> None:
    """Check ``value``, a request's ``FSPIOP-Signature``, against the request: ``path`` is
    the path (and query) it was received at, ``body`` the bytes received.

    Raises ``InvalidSignature`` (3105) naming the check that failed in its text and the
    header at fault in ``field``; returns nothing when the signature holds.
    """
    encoded, signature = _parts(value)
    protected = _protected(encoded)
    _check_algorithm(protected, public_key)
    if not _valid(public_key, _signing_input(encoded, body), signature):
        raise InvalidSignature(
            "FSPIOP-Signature does not verify with the public key configured for the source:"
            " the body or the protected header was changed after signing, or another key signed",
            field=SIGNATURE,
        )
    _check_protected(protected, method, path, _folded(headers))


@dataclass(frozen=True, slots=True)
class Keyring:
    """The scheme's JWS keys by fspId: ``verifying`` for external participants (their
    requests must be signed), ``signing`` for the simulated ones and the hub."""

    verifying: Mapping[str, JwsPublicKey] = field(default_factory=dict)
    signing: Mapping[str, JwsPrivateKey] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> Keyring:
        verifying, signing = {}, {}
        for p in config.participants:
            if p.jws_public_key_pem is not None:
                verifying[p.fsp_id] = jws_public_key(p.jws_public_key_pem)
            if p.jws_private_key_pem is not None:
                signing[p.fsp_id] = jws_private_key(p.jws_private_key_pem)
        if config.hub.jws_private_key_pem is not None:
            signing[config.hub.name] = jws_private_key(config.hub.jws_private_key_pem)
        return cls(verifying, signing)

    @classmethod
    def of(cls, config: Config) -> Keyring:
        """``from_config``, parsed once per config object (a config is frozen)."""
        kept = _KEYRINGS.get(id(config))
        if kept is not None and kept[0] is config:
            return kept[1]
        keyring = cls.from_config(config)
        if len(_KEYRINGS) >= _KEPT_KEYRINGS:
            del _KEYRINGS[next(iter(_KEYRINGS))]
        _KEYRINGS[id(config)] = (config, keyring)
        return keyring

    def public(self) -> Keyring:
        """What a peer checks tpsim's messages with: the public halves of its signing keys."""
        return Keyring(verifying={fsp_id: k.public_key() for fsp_id, k in self.signing.items()})

    def check(self, method: str, path: str, headers: Mapping[str, str], body: bytes | None) -> None:
        """Refuse (3105) a request whose source has a public key unless it is a GET or
        carries a valid signature; a source without a key is not checked."""
        folded = _folded(headers)
        source = folded.get(SOURCE.lower(), "")
        key = self.verifying.get(source)
        if key is None or not signed(method):
            return
        value = folded.get(SIGNATURE.lower())
        if not value:
            raise InvalidSignature(
                f"{source!r} must sign its requests (a public key is configured for it):"
                " send FSPIOP-Signature, FSPIOP-URI and FSPIOP-HTTP-Method",
                field=SIGNATURE,
            )
        verify(value, method, path, headers, body, key)

    def signature_headers(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> dict[str, str]:
        """The headers that sign a request tpsim sends, when its source has a private key
        (none otherwise: a forwarded request keeps its sender's own signature)."""
        key = self.signing.get(_folded(headers).get(SOURCE.lower(), ""))
        return {} if key is None else signature_headers(method, path, headers, body, key)


# Keyrings of the configs in use (a test process runs many schemes); oldest dropped first.
_KEPT_KEYRINGS = 16
_KEYRINGS: dict[int, tuple[Config, Keyring]] = {}


def _folded(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` by lower-case name (HTTP names are case-insensitive, protected ones not).

    A name sent twice keeps its first value, the one the roles read (``Message.source`` is
    the multidict's ``get``): a second FSPIOP-Source must not choose whose key is checked.
    """
    folded: dict[str, str] = {}
    for name, value in headers.items():
        folded.setdefault(name.lower(), value)
    return folded


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64url_decode(text: str, what: str) -> bytes:
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidSignature(
            f"FSPIOP-Signature's {what} is not base64url without padding (A-Z a-z 0-9 - _)",
            field=SIGNATURE,
        )
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:  # unreachable after the pattern; kept as a guard
        raise InvalidSignature(
            f"FSPIOP-Signature's {what} is not base64url", field=SIGNATURE
        ) from None


def _signing_input(encoded_protected: str, body: bytes | None) -> bytes:
    return f"{encoded_protected}.{_b64url(body or b'')}".encode("ascii")


def _parts(value: str) -> tuple[str, bytes]:
    """The protected header as sent and the signature's bytes."""
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        raise InvalidSignature(
            'FSPIOP-Signature is not JSON: send {"signature": …, "protectedHeader": …}',
            field=SIGNATURE,
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidSignature("FSPIOP-Signature must be a JSON object", field=SIGNATURE)
    for name in ("signature", "protectedHeader"):
        if not isinstance(parsed.get(name), str) or not parsed[name]:
            raise InvalidSignature(
                f"FSPIOP-Signature has no {name} (a non-empty base64url string)", field=SIGNATURE
            )
    return parsed["protectedHeader"], _b64url_decode(parsed["signature"], "signature")


def _protected(encoded: str) -> dict[str, Any]:
    try:
        protected: Any = json.loads(_b64url_decode(encoded, "protectedHeader"))
    except ValueError:  # includes UnicodeDecodeError
        raise InvalidSignature(
            "FSPIOP-Signature's protectedHeader is not base64url of a JSON object",
            field=SIGNATURE,
        ) from None
    if not isinstance(protected, dict):
        raise InvalidSignature(
            "FSPIOP-Signature's protectedHeader must be a JSON object", field=SIGNATURE
        )
    if "crit" in protected:  # RFC 7515 §4.1.11: extensions tpsim does not know
        raise InvalidSignature(
            "the protected header's crit names extensions tpsim does not understand",
            field=SIGNATURE,
        )
    return protected


def _check_algorithm(protected: Mapping[str, Any], key: JwsPublicKey) -> None:
    alg = protected.get("alg")
    if alg not in ("RS256", "ES256"):
        raise InvalidSignature(
            f"the protected header's alg is {alg!r}; Mojaloop allows RS256 or ES256",
            field=SIGNATURE,
        )
    if alg != algorithm(key):
        raise InvalidSignature(
            f"the protected header's alg is {alg}, but the source's configured key signs"
            f" {algorithm(key)}",
            field=SIGNATURE,
        )


def _valid(key: JwsPublicKey, message: bytes, signature: bytes) -> bool:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if len(signature) != _ES256_BYTES:  # JWS ES256 is r || s, never DER
            return False
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        signature = encode_dss_signature(r, s)
    return keys.signature_valid(key, message, signature)


def _check_protected(
    protected: Mapping[str, Any], method: str, path: str, headers: Mapping[str, str]
) -> None:
    """Every protected value is required where Mojaloop requires it and equals the
    request's (``headers`` folded to lower case)."""
    signed_uri = _required(protected, URI)
    # Mojaloop's signer may write a prefix before the path (module docstring).
    if signed_uri != path and not (signed_uri.endswith(path) and signed_uri.startswith("/")):
        raise _differs(URI, "the path the request was sent to", signed_uri, path)
    signed_method = _required(protected, HTTP_METHOD)
    if signed_method != method.upper():
        raise _differs(HTTP_METHOD, "the request's method", signed_method, method.upper())
    for name, signed_value in ((URI, signed_uri), (HTTP_METHOD, signed_method)):
        sent = headers.get(name.lower())
        if sent is None:
            raise InvalidSignature(
                f"the {name} header is required with FSPIOP-Signature (Mojaloop's validator"
                " needs it): send the value of the protected header",
                field=name,
            )
        if sent != signed_value:
            raise _differs(name, f"the {name} header", signed_value, sent)
    source = _required(protected, SOURCE)
    if source != headers.get(SOURCE.lower()):
        raise _differs(SOURCE, "the FSPIOP-Source header", source, headers.get(SOURCE.lower()))
    for name in (DESTINATION, DATE):
        _optional_matches(protected, headers, name)


def _optional_matches(protected: Mapping[str, Any], headers: Mapping[str, str], name: str) -> None:
    """``Date`` and ``FSPIOP-Destination``: a protected value must equal the header; an
    ``FSPIOP-Destination`` header must also be protected (it routes the request)."""
    signed_value, sent = protected.get(name), headers.get(name.lower())
    if signed_value is None:
        if name == DESTINATION and sent:
            raise InvalidSignature(
                f"the request has {name} {sent!r} but the protected header does not sign it",
                field=name,
            )
        return
    if signed_value != sent:
        raise _differs(name, f"the {name} header", signed_value, sent)


def _required(protected: Mapping[str, Any], name: str) -> str:
    value = protected.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidSignature(f"the protected header has no {name}", field=SIGNATURE)
    return value


def _differs(name: str, what: str, signed_value: object, actual: object) -> InvalidSignature:
    return InvalidSignature(
        f"the protected header's {name} {signed_value!r} differs from {what} ({actual!r})",
        field=name,
    )
