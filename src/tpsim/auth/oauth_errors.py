"""What the OAuth 2.0 / OIDC authorisation server refuses (the tree is drawn in
``auth.oauth``'s docstring).

``OAuthError`` carries an RFC 6749 error code, so the authorisation and token endpoints
answer in OAuth's own words; ``TokenRefused`` is what a resource server learns about a
bearer token, in no protocol's words, so that each dialect renders it with its own code
(XS2A ``TOKEN_UNKNOWN`` / ``TOKEN_EXPIRED``, UK 401).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from tpsim.core.errors import TpsimError

__all__ = [
    "ErrorCode",
    "OAuthError",
    "PendingClosed",
    "TokenElsewhere",
    "TokenExpired",
    "TokenRefused",
    "TokenUnknown",
]

ErrorCode = Literal[
    # RFC 6749 4.1.2.1 (authorization endpoint)
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    # RFC 6749 5.2 (token endpoint)
    "invalid_client",
    "invalid_grant",
    "unsupported_grant_type",
    # OIDC Core 3.1.2.6 (request objects)
    "invalid_request_object",
    "request_uri_not_supported",
]

# RFC 6749 5.2: error_description is %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash).
_NOT_ALLOWED = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


class OAuthError(TpsimError):
    """An RFC 6749 error: ``error`` (the code), ``description`` (what to fix), ``status``
    (the HTTP status of a token endpoint answer or of the page), ``redirect`` (the client's
    redirect URL carrying the error, once the authorisation request's redirect URI is
    trusted; None: show it to the user, RFC 6749 4.1.2.1) and ``www_authenticate`` (the
    challenge of a 401, RFC 6749 5.2)."""

    def __init__(
        self,
        error: ErrorCode,
        description: str,
        *,
        status: int = 400,
        redirect: str | None = None,
        www_authenticate: str | None = None,
    ) -> None:
        self.error: ErrorCode = error
        self.description = _NOT_ALLOWED.sub("?", description)
        self.status, self.redirect, self.www_authenticate = status, redirect, www_authenticate
        super().__init__(f"{error}: {self.description}")

    def body(self) -> dict[str, str]:
        """The JSON error of RFC 6749 5.2."""
        return {"error": self.error, "error_description": self.description}


class PendingClosed(OAuthError):
    """A pending authorisation that cannot be decided: ``reason`` is ``unknown`` (never
    asked, or forgotten: 404), ``expired`` or ``decided`` (409)."""

    def __init__(self, pending_id: str, reason: Literal["unknown", "expired", "decided"]) -> None:
        self.pending_id, self.reason = pending_id, reason
        texts = {
            "unknown": f"there is no pending authorisation {pending_id}",
            "expired": f"authorisation {pending_id} has expired: the client must ask again",
            "decided": f"authorisation {pending_id} has already been decided",
        }
        super().__init__(
            "invalid_request", texts[reason], status=404 if reason == "unknown" else 409
        )


class TokenRefused(TpsimError):
    """A bearer token a resource server cannot accept."""


class TokenUnknown(TokenRefused):
    """No such token: never issued, revoked, or expired long enough ago to be forgotten."""

    def __init__(self) -> None:
        super().__init__("the access token is unknown: get one from the token endpoint")


class TokenExpired(TokenRefused):
    """The token expired at ``expired_at``."""

    def __init__(self, expired_at: datetime) -> None:
        self.expired_at = expired_at
        super().__init__(
            f"the access token expired at {expired_at.isoformat()}: get a new one"
            " (refresh_token grant, or authorise again)"
        )


class TokenElsewhere(TokenRefused):
    """The token was issued by another issuer (another base of the same server, e.g. a
    Berlin Group token on the UK API): each base is its own issuer, and a token is good
    only at the API of the issuer that issued it, as with separate servers (RFC 9700
    4.4)."""

    def __init__(self, issued_by: str, used_at: str) -> None:
        self.issued_by, self.used_at = issued_by, used_at
        super().__init__(
            f"the access token was issued by {issued_by}, not {used_at}: get one from"
            f" {used_at}/token"
        )
