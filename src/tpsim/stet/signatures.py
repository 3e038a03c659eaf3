"""STET message signatures: ``Digest`` (RFC 3230) and ``Signature``
(draft-cavage-http-signatures-10/12), which STET requires on every PISP request and tpsim
checks only with ``behaviour.psd2.strict_signatures``.

    SignatureRefused (core.errors.TpsimError)   .status, .code, .message
      401 SIGNATURE_MISSING    no ``Signature`` header
      400 SIGNATURE_MALFORMED  ``Signature`` or ``Digest`` cannot be read, or covers too little
      400 DIGEST_MISMATCH      ``Digest`` is not the hash of the body
      401 SIGNATURE_INVALID    no key of the TPP verifies the signature, or it leaves out
                               (request-target) or x-request-id

The signer lists what it signs in ``headers``; the signing string is one ``name: value``
line per entry, joined by ``\\n`` (draft-12 §2.3), where ``(request-target)`` is
``post /path?query``. In production ``keyId`` is the URL of the TPP's QSealC; tpsim has no
certificate store, so it verifies with the TPP's configured JWK Set (the key whose ``kid``
is the keyId, else every key of the TPP). ``created``/``expires`` are signed when listed
but their times are not checked: this module takes no clock.

``check`` wants ``(request-target)`` and ``x-request-id`` signed (``STET_REQUIRED``), and
``digest`` when there is a body: a signature without the target holds for the same
headers sent to another path or with another method, one without the request id for a
replay under a new id. STET-derived bank pages ask for the same (Qonto: ``(request-target)``
always, ``Digest`` always); draft-cavage itself requires nothing but ``date``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tpsim.core.errors import TpsimError

__all__ = ["ALGORITHMS", "STET_REQUIRED", "SignatureRefused", "check", "digest", "sign"]

ALGORITHMS = ("rsa-sha256", "hs2019")
STET_COVERED = ("(request-target)", "date", "digest", "x-request-id")
STET_REQUIRED = ("(request-target)", "x-request-id")  # and digest when there is a body
MAX_HEADER = 8192  # characters of Signature, Digest and every covered header's value
MAX_COVERED = 20
_PARAM = re.compile(r'\s*([A-Za-z]{1,32})\s*=\s*(?:"([^"]*)"|([0-9.]{1,32}))\s*(?:,|\Z)')
_NUMBER = re.compile(r"\d{1,15}(?:\.\d{1,9})?")  # draft-12 §2.1.4-5: Unix time, maybe subsecond
_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]{1,64}|\((?:request-target|created|expires)\)")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_MISSING = (
    f"The Signature header is required: sign {' '.join(STET_COVERED)} with your QSealC key"
    " (draft-cavage-http-signatures, rsa-sha256)."
)
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
_PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class SignatureRefused(TpsimError):
    """A request's ``Signature`` or ``Digest`` is refused: ``status`` (400 or 401), ``code``
    (SIGNATURE_MISSING, SIGNATURE_MALFORMED, DIGEST_MISMATCH, SIGNATURE_INVALID) and a
    ``message`` saying what to fix, for the STET dialect to render as its ErrorModel."""

    status: int
    code: str
    message: str

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


@dataclass(frozen=True)
class _Signature:
    """A ``Signature`` header as read: its parameters, the covered names and the raw bytes."""

    key_id: str
    algorithm: str
    covered: tuple[str, ...]
    times: dict[str, str]  # created / expires, exactly as sent
    encoded: str  # the signature parameter, base64


def digest(body: bytes) -> str:
    """The ``Digest`` header of ``body`` (RFC 3230 with RFC 5843's SHA-256)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def check(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Iterable[Any] | None,
    *,
    required: Sequence[str] = STET_REQUIRED,
) -> None:
    """Refuse a request whose signature strict mode does not accept, with ``SignatureRefused``
    (and nothing else, whatever the input). ``target`` is the path and query as sent;
    ``headers`` any mapping (a multidict's repeated headers are joined with ", ");
    ``keys`` the TPP's joserfc keys (``oauth_jose.client_keys``) or None, when only the
    presence, the form and the digest are checked; ``required`` what the signature must
    cover (STET's; the draft's own examples need none)."""
    received = _index(headers)
    if "signature" not in received:
        raise SignatureRefused(401, "SIGNATURE_MISSING", _MISSING)
    signature = _parse(received["signature"], body)
    for name in required:
        if name not in signature.covered:
            raise SignatureRefused(
                401,
                "SIGNATURE_INVALID",
                f"Signature does not cover {name}: its headers must list {name}, as in"
                f' headers="{" ".join(STET_COVERED)}", so that it holds for this request only.',
            )
    base = _signing_string(method, target, received, signature.covered, signature.times)
    value = _base64(signature.encoded, "Signature", "signature")
    if "digest" in received:
        _check_digest(_value(received, "digest"), body)
    if keys is not None:
        _verify(signature, value, base, list(keys))


def sign(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    private_key: Any,
    key_id: str,
    *,
    algorithm: str = "rsa-sha256",
    covered: Sequence[str] = STET_COVERED,
    created: int | None = None,
    expires: int | None = None,
) -> dict[str, str]:
    """The ``Digest`` and ``Signature`` headers a PISP adds to a request, signed with
    ``private_key`` (cryptography RSA/EC P-256, or a joserfc key). ``headers`` must carry
    every covered header but ``digest``. Raises ``SignatureRefused`` (malformed) for what
    ``check`` would refuse: an unknown algorithm, a key that does not fit it, a missing
    header."""
    params = [f'keyId="{key_id}"', f'algorithm="{algorithm}"', f'headers="{" ".join(covered)}"']
    params += [f"{n}={v}" for n, v in (("created", created), ("expires", expires)) if v is not None]
    parsed = _parse([",".join([*params, 'signature=""'])], body)  # read as check reads it
    received = {**_index(headers), "digest": [digest(body)]}
    base = _signing_string(method, target, received, parsed.covered, parsed.times)
    value = _sign_bytes(getattr(private_key, "private_key", private_key), parsed.algorithm, base)
    signature = base64.b64encode(value).decode("ascii")
    return {
        "Digest": received["digest"][0],
        "Signature": ",".join([*params, f'signature="{signature}"']),
    }


def _index(headers: Mapping[str, str]) -> dict[str, list[str]]:
    """Every header's values by lower-case name (``items()`` yields a multidict's repeats)."""
    index: dict[str, list[str]] = {}
    for name, value in headers.items():
        index.setdefault(name.lower(), []).append(value)
    return index


def _value(received: Mapping[str, list[str]], name: str) -> str:
    """A header's canonical value (draft-12 §2.3): each trimmed, repeats joined by ", "."""
    value = ", ".join(v.strip(" \t") for v in received[name])
    if len(value) > MAX_HEADER:
        raise _malformed(f"the {name} header is longer than {MAX_HEADER} characters")
    return value


def _parse(values: list[str], body: bytes) -> _Signature:
    """The parameters of one ``Signature`` header, or SIGNATURE_MALFORMED saying what is off
    (a request with a body must sign its digest)."""
    if len(values) != 1:
        raise _malformed("send exactly one Signature header")
    params = _params(values[0])
    key_id, value = params.get("keyId"), params.get("signature")
    if not key_id:
        raise _malformed('keyId is missing: name your signing key (keyId="…")')
    if value is None:
        raise _malformed('the signature parameter is missing (signature="<base64>")')
    # draft-12 §2.1.3: without algorithm the key decides, which is what hs2019 means.
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in ALGORITHMS:
        raise _malformed(
            f"algorithm {algorithm[:32]!r} is not supported: use " + " or ".join(ALGORITHMS),
        )
    covered = _covered(params.get("headers", "(created)" if "created" in params else "date"))
    if body and "digest" not in covered:
        raise _malformed("the request has a body, so headers must list digest")
    if algorithm != "hs2019" and "(created)" in covered:
        raise _malformed("(created) may only be signed with hs2019 (draft-12 §2.3)")
    times: dict[str, str] = {n: params[n] for n in ("created", "expires") if n in params}
    if any(_NUMBER.fullmatch(t) is None for t in times.values()):
        raise _malformed("created and expires must be Unix times (e.g. created=1700000000)")
    return _Signature(key_id, algorithm, covered, times, value)


def _params(text: str) -> dict[str, str]:
    """``name="value"`` (or a bare number) pairs separated by commas, each name once."""
    if len(text) > MAX_HEADER:
        raise _malformed(f"the header is longer than {MAX_HEADER} characters")
    params: dict[str, str] = {}
    position = 0
    while position < len(text):
        found = _PARAM.match(text, position)
        if found is None:
            raise _malformed(f'expected name="value" at character {position}')
        name, quoted, bare = found.group(1, 2, 3)
        if name in params:
            raise _malformed(f"the {name} parameter is given twice")
        params[name] = bare if quoted is None else quoted
        position = found.end()
    return params


def _covered(text: str) -> tuple[str, ...]:
    """The names ``headers`` lists, lower case, each a header name or a known pseudo-header."""
    names = tuple(text.lower().split())
    if not names or len(names) > MAX_COVERED:
        raise _malformed(
            f"headers must list 1 to {MAX_COVERED} names, e.g. " + " ".join(STET_COVERED),
        )
    for name in names:
        if _NAME.fullmatch(name) is None:
            raise _malformed(
                f"headers lists {name[:64]!r}, which is no header name,"
                " (request-target), (created) or (expires)",
            )
    return names


def _signing_string(
    method: str,
    target: str,
    received: Mapping[str, list[str]],
    covered: tuple[str, ...],
    times: Mapping[str, str],
) -> bytes:
    """The bytes that are signed (draft-12 §2.3): one ``name: value`` line per covered name."""
    lines = []
    for name in covered:
        if name == "(request-target)":
            value = f"{method.lower()} {target}"
        elif name.startswith("("):
            if name[1:-1] not in times:
                raise _malformed(f"headers lists {name}, so give {name[1:-1]}=<Unix time>")
            value = times[name[1:-1]]
        elif name in received:
            value = _value(received, name)
        else:
            raise _malformed(f"headers lists {name}, which the request does not carry")
        lines.append(f"{name}: {value}")
    try:
        # aiohttp reads header bytes as UTF-8 with surrogateescape: this gives back the bytes sent.
        return "\n".join(lines).encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise _malformed("a covered header is not text") from None


def _check_digest(value: str, body: bytes) -> None:
    """Every SHA-256/SHA-512 entry of ``Digest`` must be the body's; others are ignored
    (RFC 3230 §4.3.2), but one of the two must be there."""
    actual = {name: hasher(body).digest() for name, hasher in _DIGESTS.items()}
    found = False
    for entry in value.split(","):
        name, _, encoded = entry.strip().partition("=")
        if name.lower() not in actual:
            continue
        expected = _base64(encoded, "Digest", name)
        if not hmac.compare_digest(expected, actual[name.lower()]):
            raise SignatureRefused(
                400,
                "DIGEST_MISMATCH",
                f"Digest {name} is not the hash of the body: send {digest(body)} for these bytes.",
            )
        found = True
    if not found:
        raise _malformed("give SHA-256=<base64 of the body's SHA-256> (RFC 3230)", "Digest")


def _verify(signature: _Signature, value: bytes, base: bytes, keys: list[Any]) -> None:
    """Accept the signature when the key its keyId names verifies it, or (no kid matches)
    any of the TPP's keys does: a keyId is a QSealC URL in production, no kid."""
    named = [k for k in keys if getattr(k, "kid", None) == signature.key_id]
    for key in named or keys:
        public = getattr(key, "public_key", key)
        if isinstance(public, _PublicKey) and _verifies(public, signature.algorithm, value, base):
            return
    which = "the key whose kid is the keyId" if named else "any key of the TPP's jwks"
    raise SignatureRefused(
        401,
        "SIGNATURE_INVALID",
        f"Signature (keyId {signature.key_id[:64]!r}, {signature.algorithm}) does not verify"
        f" with {which}: sign the lines of {' '.join(signature.covered)} as received,"
        " joined by newlines, with that key.",
    )


def _verifies(public: _PublicKey, algorithm: str, value: bytes, base: bytes) -> bool:
    """Whether ``public`` verifies ``value`` over ``base`` under ``algorithm`` (a key of
    another type, or an EC key for rsa-sha256, does not)."""
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(value, base, *_rsa_scheme(algorithm, signing=False))
            return True
        if algorithm != "hs2019" or public.curve.name != "secp256r1":
            return False
        for form in _ecdsa_forms(value):
            try:
                public.verify(form, base, ec.ECDSA(hashes.SHA256()))
                return True
            except InvalidSignature:
                continue
    except (InvalidSignature, ValueError):
        return False
    return False


def _rsa_scheme(
    algorithm: str, *, signing: bool
) -> tuple[padding.AsymmetricPadding, hashes.HashAlgorithm]:
    """rsa-sha256 is RSASSA-PKCS1-v1_5 with SHA-256; hs2019 over RSA is RSASSA-PSS with
    SHA-512 (RFC 9421 calls it rsa-pss-sha512). The drafts fix no salt length: tpsim signs
    with the hash's length and accepts any (Node's crypto signs with the longest)."""
    if algorithm == "rsa-sha256":
        return padding.PKCS1v15(), hashes.SHA256()
    salt = padding.PSS.DIGEST_LENGTH if signing else padding.PSS.AUTO
    return padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=salt), hashes.SHA512()


def _ecdsa_forms(value: bytes) -> list[bytes]:
    """An ECDSA signature as DER (openssl, Java) and, at 64 bytes, also as raw r||s (JOSE)."""
    if len(value) != 64:
        return [value]
    raw = encode_dss_signature(int.from_bytes(value[:32], "big"), int.from_bytes(value[32:], "big"))
    return [value, raw]


def _sign_bytes(key: Any, algorithm: str, base: bytes) -> bytes:
    """The signature of ``base`` under ``algorithm`` with ``key``; refused when they do not fit."""
    try:
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(base, *_rsa_scheme(algorithm, signing=True))
        if isinstance(key, ec.EllipticCurvePrivateKey) and algorithm == "hs2019":
            if key.curve.name == "secp256r1":
                return key.sign(base, ec.ECDSA(hashes.SHA256()))
    except ValueError as exc:  # an RSA key too small for PSS with SHA-512
        raise _malformed(f"the key cannot sign {algorithm} ({exc})") from None
    raise _malformed(f"{algorithm} signs with an RSA key, or (hs2019) an EC P-256 key")


def _base64(text: str, header: str, what: str) -> bytes:
    """Strict standard base64 (with padding), as both drafts and RFC 3230 send it."""
    if not text or len(text) % 4 or _BASE64.fullmatch(text) is None:
        raise _malformed(f"{what} is not padded standard base64 (A-Z a-z 0-9 + /, then =)", header)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise _malformed(f"{what} is not padded standard base64", header) from None


def _malformed(why: str, header: str = "Signature") -> SignatureRefused:
    """SIGNATURE_MALFORMED: ``header`` cannot be read; ``why`` says what to send instead."""
    return SignatureRefused(400, "SIGNATURE_MALFORMED", f"{header} is malformed: {why}.")
