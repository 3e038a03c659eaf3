"""UK message signing: ``x-jws-signature``, a detached JWS (RFC 7515 Appendix F) over the
exact body bytes, with the Open Banking protected header claims (``crit``:
``http://openbanking.org.uk/iat``, ``…/iss``, ``…/tan``), all through joserfc.

- Every answer with a body is signed by the bank's key (the one its ``/jwks`` publishes),
  over the bytes ``encode`` makes of the body: the edge must send exactly those.
- A TPP's signature is accepted and ignored by default (the digest §0). With
  ``strict_signatures`` the two POSTs must carry one that is well formed (U018 missing,
  U017 malformed: a compact JWS with an empty payload part, an ``alg``, a ``kid`` and the
  three OB claims in ``crit``; no ``b64``, which v3.1.4 dropped) and, when the TPP
  registered a ``jwks``, that verifies over the body with the key its ``kid`` names
  (U015). A TPP without a ``jwks`` is only checked for well-formedness.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.registry import HeaderParameter

from tpsim.auth import b64
from tpsim.auth.errors import CryptoError
from tpsim.auth.oauth_jose import SigningKey
from tpsim.obie.errors import SignatureInvalid, SignatureMalformed, SignatureMissing

OB = "http://openbanking.org.uk/"
CLAIMS = (f"{OB}iat", f"{OB}iss", f"{OB}tan")
TAN = "openbanking.org.uk"
ALGS = ("PS256", "ES256")
HEADER = "x-jws-signature"
REGISTRY = jws.JWSRegistry(
    header_registry={
        f"{OB}iat": HeaderParameter("signing time", "int"),
        f"{OB}iss": HeaderParameter("signer", "str"),
        f"{OB}tan": HeaderParameter("trust anchor", "str"),
    },
    algorithms=list(ALGS),
)


def encode(body: Mapping[str, Any]) -> bytes:
    """The bytes an answer's body is sent as (and signed over): compact UTF-8 JSON."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def sign(key: SigningKey, payload: bytes, *, issuer: str, now: datetime) -> str:
    """The bank's detached ``x-jws-signature`` of ``payload``."""
    header = {
        "alg": key.alg,
        "kid": key.kid,
        "typ": "JOSE",
        "cty": "application/json",
        "crit": list(CLAIMS),
        f"{OB}iat": int(now.timestamp()),
        f"{OB}iss": issuer,
        f"{OB}tan": TAN,
    }
    return key.sign_detached(payload, header, registry=REGISTRY)


def check(value: str | None, payload: bytes, keys: KeySet | None) -> None:
    """Strict mode: refuse a missing, malformed or (with ``keys``) unverified signature."""
    if value is None:
        raise SignatureMissing(
            f"{HEADER} is required (strict signatures): a detached JWS of the body",
            path=HEADER,
        )
    header = _header(value)
    if keys is None:
        return
    kid = header["kid"]
    candidates = [k for k in keys if k.kid == kid]
    for key in candidates:
        try:
            jws.deserialize_compact(
                value, key, algorithms=[header["alg"]], payload=payload, registry=REGISTRY
            )
            return
        except (JoseError, ValueError):
            continue
    why = "no key of the TPP's jwks has that kid" if not candidates else "it does not verify"
    raise SignatureInvalid(
        f"{HEADER} is refused: {why} (kid {str(kid)[:60]!r}); sign the exact body bytes",
        path=HEADER,
    )


def _header(value: str) -> dict[str, Any]:
    """The protected header of a well-formed detached signature, or U017 saying why not."""
    parts = value.split(".")
    if len(parts) != 3 or parts[1] or not parts[0] or not parts[2]:
        raise _malformed("it must be a compact JWS with the payload detached (header..signature)")
    try:
        header = json.loads(b64.decode(parts[0], what="the header", max_chars=4096))
    except (CryptoError, ValueError, RecursionError):
        raise _malformed("its protected header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise _malformed("its protected header is not a JSON object")
    if header.get("alg") not in ALGS:
        raise _malformed(f"alg must be one of {', '.join(ALGS)}")
    if not isinstance(header.get("kid"), str):
        raise _malformed("kid must name the signing key of the TPP's jwks")
    if "b64" in header:
        raise _malformed("b64 must not be sent (dropped in v3.1.4)")
    crit = header.get("crit")
    if not isinstance(crit, list) or not all(isinstance(c, str) for c in crit):
        raise _malformed("crit must be an array of header parameter names")
    missing = [c for c in CLAIMS if c not in crit or c not in header]
    if missing:
        raise _malformed(f"crit and the header must carry {', '.join(missing)}")
    return header


def _malformed(why: str) -> SignatureMalformed:
    return SignatureMalformed(f"{HEADER} is malformed: {why}", path=HEADER)
