"""A resource request's bearer token (RFC 6750), read through a bank's authorisation
server, for every dialect that takes one (UK Open Banking, STET).

    no Authorization, or not "Bearer …"         BearerRefused (the dialect's 401)
    a token of other than visible ASCII         BearerRefused, ``invalid_token`` (the
                                                edge's undecodable bytes, RFC 6750 §2.1)
    a token never issued, revoked or forgotten  BearerRefused, ``invalid_token``
    an expired token                            BearerRefused, ``invalid_token`` naming
                                                the expiry
    a token another issuer issued (another      BearerRefused, ``invalid_token`` naming
    base of the bank's server)                  the issuer to ask

Each dialect words the refusal in its own error; ``challenge`` is the
``WWW-Authenticate`` that says why (RFC 6750 §3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tpsim.auth.oauth import AuthorizationServer
from tpsim.auth.oauth_errors import TokenRefused
from tpsim.auth.oauth_model import AccessToken
from tpsim.core.errors import TpsimError

_VISIBLE = re.compile(r"[\x21-\x7e]+")


class BearerRefused(TpsimError):
    """No usable bearer token: ``message`` says why, ``challenge`` is the header;
    ``missing``: no token was sent at all (else one was, and is refused)."""

    def __init__(self, message: str, challenge: str, *, missing: bool = False) -> None:
        self.message, self.challenge, self.missing = message, challenge, missing
        super().__init__(message)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value by case-insensitive name (the edge may hand any casing)."""
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def bearer_token(
    oauth: AuthorizationServer,
    headers: Mapping[str, str],
    *,
    realm: str,
    issuer: str | None = None,
) -> AccessToken:
    """What the request's ``Authorization: Bearer …`` allows at the API of ``issuer``
    (None: any base of the bank's server), or ``BearerRefused``."""
    authorization = header(headers, "Authorization")
    if authorization is None:
        raise BearerRefused(
            "send Authorization: Bearer <access token>", f'Bearer realm="{realm}"', missing=True
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BearerRefused(
            "the Authorization header must be Bearer <access token>",
            'Bearer error="invalid_request"',
        )
    if not _VISIBLE.fullmatch(token.strip()):
        # RFC 6750 §2.1: a token is visible ASCII. The edge hands a header's bytes that are
        # no UTF-8 as surrogates, which no token lookup can hash.
        raise BearerRefused(
            "the access token must be visible ASCII (RFC 6750 §2.1): send the one the token"
            " endpoint issued",
            'Bearer error="invalid_token"',
        )
    try:
        return oauth.access(token.strip(), issuer=issuer)
    except TokenRefused as exc:
        raise BearerRefused(str(exc), _invalid(str(exc))) from None


def _invalid(description: str) -> str:
    """RFC 6750 §3's challenge for a token the bank refuses (no quote or backslash)."""
    text = description.replace('"', "'").replace("\\", "/")
    return f'Bearer error="invalid_token", error_description="{text}"'
