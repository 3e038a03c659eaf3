"""The JOSE pieces of the authorisation server, all through ``joserfc``: the bank's
signing key and its JWK Set, id_tokens, and the clients' request objects.

The bank signs with PS256 by default: UK Open Banking (FAPI 1 Advanced) requires PS256 for
id_tokens and TPPs verify exactly that, while XS2A and STET use no id_token at all, so one
default serves every dialect. ES256 (also allowed by FAPI) is available by name.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, KeyParameters, KeySet, RSAKey

from tpsim.auth.b64 import b64url_nopad
from tpsim.auth.oauth_errors import OAuthError
from tpsim.errors import ConfigError

__all__ = [
    "REQUEST_OBJECT_ALGS",
    "SigningAlg",
    "SigningKey",
    "client_keys",
    "jwks_problem",
    "read_request_object",
]

SigningAlg = Literal["PS256", "ES256"]
REQUEST_OBJECT_ALGS = ("PS256", "RS256", "ES256")  # and "none" for a client without keys
ACR_SCA = "urn:openbanking:psd2:sca"


class SigningKey:
    """The bank's key: generated once per server (when first used), named by its RFC 7638 thumbprint
    (``kid``), published as a JWK Set without its private part."""

    def __init__(self, alg: SigningAlg = "PS256") -> None:
        self.alg = alg

    @functools.cached_property
    def _key(self) -> Key:
        """Generated when first used: a 2048-bit RSA key costs some 50 ms of CPU, and most
        schemes (a Mojaloop scenario's, an XS2A bank's) never sign an id_token."""
        parameters: KeyParameters = {"use": "sig", "alg": self.alg}
        if self.alg == "ES256":
            return ECKey.generate_key("P-256", parameters=parameters, auto_kid=True)
        return RSAKey.generate_key(2048, parameters=parameters, auto_kid=True)

    @functools.cached_property
    def kid(self) -> str:
        """The key's RFC 7638 thumbprint."""
        return self._key.kid or self._key.thumbprint()

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set (``{"keys": [...]}``)."""
        return dict(KeySet([self._key]).as_dict(private=False))

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWT of ``claims``, its header naming ``kid``."""
        header = {"alg": self.alg, "kid": self.kid}
        return jwt.encode(header, dict(claims), self._key, algorithms=[self.alg])

    def sign_detached(
        self,
        payload: bytes,
        header: Mapping[str, Any],
        registry: jws.JWSRegistry | None = None,
    ) -> str:
        """A detached JWS (RFC 7515 Appendix F: ``protected..signature``) of ``payload``
        under this key, with ``header`` beside ``alg`` and ``kid`` (a message signature
        such as UK Open Banking's ``x-jws-signature``; ``registry`` admits its ``crit``
        header parameters)."""
        compact = jws.serialize_compact(
            {"alg": self.alg, "kid": self.kid, **header},
            payload,
            self._key,
            algorithms=[self.alg],
            registry=registry,
        )
        protected, _, signature = compact.split(".")
        return f"{protected}..{signature}"

    def half_hash(self, value: str) -> str:
        """OIDC Core 3.3.2.11 (``c_hash``, ``s_hash``): the left half of the hash of
        ``value`` (SHA-256 for both algs, their hash), base64url."""
        digest = hashlib.sha256(value.encode("ascii")).digest()
        return b64url_nopad(digest[: len(digest) // 2])

    def id_token(
        self,
        *,
        issuer: str,
        subject: str,
        audience: str,
        now: datetime,
        lifetime_s: int,
        auth_time: datetime,
        nonce: str | None = None,
        intent_id: str | None = None,
        code: str | None = None,
        state: str | None = None,
    ) -> str:
        """An id_token (OIDC Core 2), with UK Open Banking's ``openbanking_intent_id`` and
        ``acr``; ``c_hash`` / ``s_hash`` when it travels beside a code and a state in the
        authorisation response (hybrid flow)."""
        issued = int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": issuer,
            "sub": subject,
            "aud": audience,
            "iat": issued,
            "exp": issued + lifetime_s,
            "auth_time": int(auth_time.timestamp()),
            "acr": ACR_SCA,
        }
        optional = {
            "nonce": nonce,
            "openbanking_intent_id": intent_id,
            "c_hash": None if code is None else self.half_hash(code),
            "s_hash": None if state is None else self.half_hash(state),
        }
        claims.update((name, value) for name, value in optional.items() if value is not None)
        return self.sign(claims)


def client_keys(client_id: str, jwks: Mapping[str, Any] | None) -> KeySet | None:
    """A client's registered JWK Set, read once; ``ConfigError`` when it is none."""
    if jwks is None:
        return None
    keys = _key_set(jwks)
    if isinstance(keys, str):
        raise ConfigError(f"tpp {client_id}: jwks is {keys}", path="tpps")
    return keys


def jwks_problem(jwks: Mapping[str, Any]) -> str | None:
    """Why ``jwks`` is no JWK Set a client can register ("not a JWK Set of public keys
    (…)"), or None: the config's check of each TPP's ``jwks`` when it is loaded."""
    keys = _key_set(jwks)
    return keys if isinstance(keys, str) else None


def _key_set(jwks: Mapping[str, Any]) -> KeySet | str:
    """``jwks`` read as a JWK Set, or why it is none."""
    try:
        return KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
    except (JoseError, KeyError, TypeError, ValueError) as exc:
        return f"not a JWK Set of public keys ({exc})"


def read_request_object(
    text: str, keys: KeySet | None, now: datetime, *, issuer: str, client_id: str
) -> dict[str, Any]:
    """The claims of a request object (OIDC Core 6.1) that ``client_id`` sent to
    ``issuer``, or ``OAuthError`` invalid_request_object. A client that registered keys
    must sign it with one of them (PS256, RS256 or ES256) and name itself (``iss``) and
    the issuer (``aud``), as FAPI 1 Advanced 5.2.2 wants; one without keys may send it
    unsigned (alg none) and its signature is not checked (a local test bank's lenient
    default: PSD2 digest 0), but an ``iss`` or ``aud`` it names must still be right."""
    try:
        token = jws.extract_compact(text.encode())
    except (JoseError, ValueError) as exc:
        raise OAuthError(
            "invalid_request_object", f"request is not a compact JWS (a signed JWT): {exc}"
        ) from None
    header = token.headers()
    if not isinstance(header, dict):
        raise OAuthError("invalid_request_object", "the request object's header is no JSON object")
    if keys is not None:
        _verify(token, header.get("alg"), keys)
    try:
        claims = json.loads(token.payload)
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
        claims = None
    if not isinstance(claims, dict):
        raise OAuthError("invalid_request_object", "the request object's payload is no JSON object")
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool) and exp <= now.timestamp():
        raise OAuthError("invalid_request_object", "the request object has expired (exp)")
    _check_parties(claims, issuer, client_id, required=keys is not None)
    return claims


def _check_parties(
    claims: Mapping[str, Any], issuer: str, client_id: str, *, required: bool
) -> None:
    """FAPI 1 Advanced 5.2.2-1 and OIDC Core 6.1: ``aud`` is (or contains) the issuer and
    ``iss`` the client, so a request object made for another bank (or another base of
    this one, another issuer) or by another client is refused."""
    aud, iss = claims.get("aud"), claims.get("iss")
    if aud is None and iss is None and not required:
        return
    audiences = aud if isinstance(aud, list) else [aud]
    if issuer not in audiences:
        raise OAuthError(
            "invalid_request_object",
            f"the request object's aud must be this bank's issuer, {issuer}"
            f" (FAPI 1 Advanced 5.2.2), not {aud!r}",
        )
    if iss != client_id:
        raise OAuthError(
            "invalid_request_object",
            f"the request object's iss must be your client_id, {client_id}, not {iss!r}",
        )


def _verify(token: jws.CompactSignature, alg: object, keys: KeySet) -> None:
    """Check the request object's signature with the client's keys: the one its ``kid``
    names, or else each key in turn."""
    if alg not in REQUEST_OBJECT_ALGS:
        raise OAuthError(
            "invalid_request_object",
            f"this client registered keys: sign the request object with one of them using"
            f" {', '.join(REQUEST_OBJECT_ALGS)}, not alg {alg!r}",
        )
    kid = token.headers().get("kid")
    candidates = [k for k in keys if kid is None or k.kid == kid]
    for key in candidates:
        try:
            if jws.validate_compact(token, key, algorithms=[str(alg)]):
                return
        except JoseError:
            continue  # a key of another type or use
    named = "no key of the client has that kid" if not candidates else "it does not verify"
    raise OAuthError(
        "invalid_request_object",
        f"the request object's signature is refused: {named} (kid {kid!r}, alg {alg})",
    )
