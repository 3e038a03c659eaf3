"""Who may call: the bearer token of a UK request, read through the bank's OAuth server.

no Authorization, or not "Bearer …"         401, no body (WWW-Authenticate says why)
a token never issued, revoked or forgotten  401, no body
an expired token                            401, no body; WWW-Authenticate names the
                                            expiry (the spec's 401 documents no body)
a scope without ``payments``                403 U009
a PSU token where the TPP's own (client     403 U009: say which grant to use
credentials) token is needed, or the other
way round
a PSU token bound to another consent        403 U009

A consent or payment of another TPP is not the caller's to know of: it is answered as an
unknown id (400 U011, ``ObieBank.consent``, ``Orders.get``), not 403.
"""

from __future__ import annotations

from collections.abc import Mapping

from tpsim.auth.oauth import AuthorizationServer
from tpsim.auth.oauth_errors import TokenExpired, TokenUnknown
from tpsim.auth.oauth_model import AccessToken, TokenKind
from tpsim.obie.errors import InvalidConsentStatus, Unauthorized

SCOPE = "payments"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value by case-insensitive name (the edge may hand any casing)."""
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def bearer(oauth: AuthorizationServer, headers: Mapping[str, str], kind: TokenKind) -> AccessToken:
    """The request's access token, if it is of ``kind`` and allows payments."""
    authorization = header(headers, "Authorization")
    if authorization is None:
        raise Unauthorized(
            "send Authorization: Bearer <access token>", challenge='Bearer realm="open-banking"'
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "the Authorization header must be Bearer <access token>",
            challenge='Bearer error="invalid_request"',
        )
    try:
        access = oauth.access(token.strip())
    except TokenExpired as exc:
        raise Unauthorized(str(exc), challenge=_invalid(str(exc))) from None
    except TokenUnknown as exc:
        raise Unauthorized(str(exc), challenge=_invalid(str(exc))) from None
    if SCOPE not in access.scopes:
        raise _forbidden(f"the access token's scope must include {SCOPE}")
    if access.kind is not kind:
        raise _forbidden(_wrong_kind(kind))
    return access


def _invalid(description: str) -> str:
    """RFC 6750 §3's challenge for a token the bank refuses (no quote or backslash)."""
    text = description.replace('"', "'").replace("\\", "/")
    return f'Bearer error="invalid_token", error_description="{text}"'


def _wrong_kind(wanted: TokenKind) -> str:
    if wanted is TokenKind.CLIENT:
        return (
            "this call takes the TPP's own access token (grant_type=client_credentials,"
            f" scope={SCOPE}), not one a PSU authorised"
        )
    return (
        "this call takes the access token the PSU's authorisation of the consent gave"
        " (grant_type=authorization_code), not a client_credentials token"
    )


def bound(access: AccessToken, consent_id: str) -> None:
    """Refuse a PSU token bound to another consent."""
    if access.intent_id != consent_id:
        raise _forbidden(
            f"the access token is bound to consent {access.intent_id}, not {consent_id}:"
            " use the token of this consent's authorisation"
        )


def _forbidden(message: str) -> InvalidConsentStatus:
    return InvalidConsentStatus(message, path="Authorization", status=403)
