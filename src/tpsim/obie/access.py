"""Who may call: the bearer token of a UK request, read through the bank's OAuth server.

no Authorization, or not "Bearer …"         401, no body (WWW-Authenticate says why)
a token never issued, revoked or forgotten  401, no body
a token another base issued (e.g. XS2A's)   401, no body; WWW-Authenticate names the
                                            issuer to ask
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

from tpsim.auth.bearer import BearerRefused, bearer_token, header
from tpsim.auth.oauth import AuthorizationServer
from tpsim.auth.oauth_model import AccessToken, TokenKind
from tpsim.obie.errors import InvalidConsentStatus, Unauthorized

__all__ = ["bearer", "bound", "header"]

SCOPE = "payments"


def bearer(
    oauth: AuthorizationServer,
    headers: Mapping[str, str],
    kind: TokenKind,
    *,
    issuer: str | None = None,
) -> AccessToken:
    """The request's access token, if it is of ``kind``, allows payments and was issued
    by ``issuer`` (the UK base's; None: any)."""
    try:
        access = bearer_token(oauth, headers, realm="open-banking", issuer=issuer)
    except BearerRefused as exc:
        raise Unauthorized(exc.message, challenge=exc.challenge) from None
    if SCOPE not in access.scopes:
        raise _forbidden(f"the access token's scope must include {SCOPE}")
    if access.kind is not kind:
        raise _forbidden(_wrong_kind(kind))
    return access


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
