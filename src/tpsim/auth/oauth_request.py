"""Reading an authorisation request: RFC 6749 4.1.1 with OpenID Connect's additions
(OIDC Core 3.1.2.1 and 3.3.2.1: nonce, the hybrid response type; 6.1: the request object)
and PKCE (RFC 7636).

The order of the checks is RFC 6749 4.1.2.1's: until the client and its redirect URI are
known good, an error is shown to the user (``OAuthError.redirect`` None), never sent to an
unchecked URI (an open redirector); after that, every error goes back to the client's
redirect URI, in the query or the fragment its response mode says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc.jwk import KeySet

from tpsim.auth.oauth_errors import OAuthError
from tpsim.auth.oauth_jose import client_keys, read_request_object
from tpsim.auth.oauth_model import (
    HYBRID,
    AuthorizationParameters,
    OAuthClient,
    RedirectTarget,
    ResponseMode,
    SupportedScopes,
)
from tpsim.auth.oauth_pkce import METHODS, check_challenge

__all__ = ["Registered", "Rules", "read_authorization"]

# The parameters that are text on the wire; a request object must give them as strings.
_TEXT = frozenset(
    {
        "client_id",
        "redirect_uri",
        "response_type",
        "response_mode",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    }
)
# A request object's own JWT claims (RFC 7519 4.1), not authorisation parameters.
_JWT_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti"})
_NOT_EXTRA = _TEXT | {"claims", "request", "request_uri"}
_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f]")
# RFC 6749 Appendix A.5: state is 1*VSCHAR (printable ASCII); OIDC's s_hash hashes its ASCII.
_VSCHAR = re.compile(r"[\x20-\x7e]*")


@dataclass(frozen=True, slots=True)
class Registered:
    """A client with its JWK Set read once (``ConfigError`` when it is none)."""

    client: OAuthClient
    keys: KeySet | None

    @classmethod
    def of(cls, client: OAuthClient) -> Registered:
        return cls(client, client_keys(client.client_id, client.jwks))


@dataclass(frozen=True, slots=True)
class Rules:
    """What an authorisation request asked of ``issuer`` must be, beyond RFC 6749: its
    ``scopes``, whether it must carry PKCE (``pkce_required``) and with which challenge
    methods (``pkce_methods``: XS2A's OAuth SCA approach takes S256 only)."""

    issuer: str
    scopes: SupportedScopes
    pkce_required: bool = False
    pkce_methods: tuple[str, ...] = METHODS


def read_authorization(
    query: Mapping[str, str],
    clients: Mapping[str, Registered],
    rules: Rules,
    *,
    now: datetime,
    repeated: Collection[str] = (),
) -> AuthorizationParameters:
    """The request ``query`` makes (``repeated``: the names it sent more than once), or
    ``OAuthError`` with ``redirect`` set once the client's redirect URI is trusted."""
    registered = _client(query, clients, repeated)
    try:
        merged = _merged(query, registered, now, rules.issuer)
    except OAuthError as exc:
        raise _redirected(exc, _query_target(query, registered.client, repeated)) from None
    redirect_uri, given = _redirect_uri(merged, registered.client, repeated)
    state = merged.get("state")
    target = RedirectTarget(redirect_uri, _error_mode(merged), state)
    try:
        return _checked(merged, redirect_uri, given, repeated, rules)
    except OAuthError as exc:
        raise _redirected(exc, target) from None


def _client(
    query: Mapping[str, str], clients: Mapping[str, Registered], repeated: Collection[str]
) -> Registered:
    if "client_id" in repeated:
        raise OAuthError("invalid_request", "send client_id once (RFC 6749 3.1)")
    client_id = query.get("client_id")
    if not client_id:
        raise OAuthError(
            "invalid_request", "client_id is missing: name your registered client (RFC 6749 4.1.1)"
        )
    found = clients.get(client_id)
    if found is None:
        raise OAuthError(
            "invalid_request", f"client_id {client_id!r} is not a client registered at this bank"
        )
    return found


def _merged(
    query: Mapping[str, str], registered: Registered, now: datetime, issuer: str
) -> dict[str, Any]:
    """The query with the request object's claims over it (OIDC Core 6.3.3); its
    client_id and response_type must be those of the query."""
    merged: dict[str, Any] = dict(query)
    text = merged.pop("request", None)
    if text is None:
        return merged
    client_id = registered.client.client_id
    claims = read_request_object(text, registered.keys, now, issuer=issuer, client_id=client_id)
    for name in sorted(_TEXT & claims.keys()):
        if not isinstance(claims[name], str):
            raise OAuthError("invalid_request_object", f"{name} in the request object must be text")
    if claims.get("client_id", registered.client.client_id) != registered.client.client_id:
        raise OAuthError(
            "invalid_request_object", "client_id in the request object differs from the query's"
        )
    ours, theirs = _response_type(query.get("response_type")), claims.get("response_type")
    if theirs is not None and ours is not None and _response_type(theirs) != ours:
        raise OAuthError(
            "invalid_request_object", "response_type in the request object differs from the query's"
        )
    merged.update((k, v) for k, v in claims.items() if k not in _JWT_CLAIMS and k != "request")
    return merged


def _redirect_uri(
    params: Mapping[str, Any], client: OAuthClient, repeated: Collection[str]
) -> tuple[str, bool]:
    """The redirect URI to answer at, and whether the request named it: the one it
    names, if the client's; or the client's only one (RFC 6749 3.1.2.3)."""
    if "redirect_uri" in repeated:
        raise OAuthError("invalid_request", "send redirect_uri once (RFC 6749 3.1)")
    uri = params.get("redirect_uri")
    if uri is None:
        if len(client.redirect_uris) == 1:
            return client.redirect_uris[0], False
        raise OAuthError(
            "invalid_request",
            f"client {client.client_id} registered several redirect URIs: name one in redirect_uri",
        )
    # No fragment (RFC 6749 3.1.2); no space or control character, which urlsplit drops
    # before a rule compares paths but a Location header would carry.
    if "#" in uri or _UNSAFE.search(uri) or not client.allows(uri):
        raise OAuthError(
            "invalid_request",
            f"redirect_uri {uri!r} is not one of client {client.client_id}'s registered"
            f" redirect URIs ({', '.join(client.redirect_uris)})",
        )
    return uri, True


def _query_target(
    query: Mapping[str, str], client: OAuthClient, repeated: Collection[str]
) -> RedirectTarget | None:
    """Where an error in the request object goes: the query's redirect URI when it is
    the client's (the object's cannot be read), else nowhere."""
    try:
        uri, _ = _redirect_uri(query, client, repeated)
    except OAuthError:
        return None
    return RedirectTarget(uri, _error_mode(query), query.get("state"))


def _redirected(exc: OAuthError, target: RedirectTarget | None) -> OAuthError:
    return exc if target is None else target.carrying(exc)


def _checked(
    params: Mapping[str, Any],
    redirect_uri: str,
    given: bool,
    repeated: Collection[str],
    rules: Rules,
) -> AuthorizationParameters:
    """The rest of the request, once errors can go back to the client."""
    if repeated:
        names = ", ".join(sorted(repeated))
        raise OAuthError("invalid_request", f"send each parameter once (RFC 6749 3.1): {names}")
    if "request_uri" in params:
        raise OAuthError(
            "request_uri_not_supported",
            "send the request object by value (request), not request_uri",
        )
    response_type = _checked_response_type(params.get("response_type"))
    scope = tuple(str(params.get("scope") or "").split())
    unsupported = rules.scopes.unsupported(scope)
    if unsupported:
        raise OAuthError(
            "invalid_scope",
            f"scope {' '.join(unsupported)} is not supported at {rules.issuer}: ask for"
            f" scopes among {rules.scopes}",
        )
    nonce = params.get("nonce") or None
    if response_type == HYBRID and "openid" not in scope:
        raise OAuthError(
            "invalid_scope", "response_type 'code id_token' is OpenID Connect: add openid to scope"
        )
    if response_type == HYBRID and nonce is None:
        raise OAuthError(
            "invalid_request", "response_type 'code id_token' needs a nonce (OIDC Core 3.3.2.11)"
        )
    state = params.get("state")
    if state is not None and not _VSCHAR.fullmatch(state):
        raise OAuthError(
            "invalid_request",
            "state must be printable ASCII (RFC 6749 Appendix A.5): encode anything else,"
            " e.g. as base64url",
        )
    challenge = params.get("code_challenge")
    method = check_challenge(
        challenge,
        params.get("code_challenge_method"),
        required=rules.pkce_required,
        methods=rules.pkce_methods,
    )
    return AuthorizationParameters(
        client_id=params["client_id"],
        redirect_uri=redirect_uri,
        redirect_uri_given=given,
        response_type=response_type,
        response_mode=_checked_mode(params.get("response_mode"), response_type),
        scope=scope,
        state=state,
        nonce=nonce,
        code_challenge=challenge,
        code_challenge_method=method,
        claims=_claims(params.get("claims")),
        extra={k: v for k, v in params.items() if isinstance(v, str) and k not in _NOT_EXTRA},
    )


def _response_type(value: object) -> str | None:
    """``code`` or the hybrid ``code id_token`` (in either order, OAuth 2.0 Multiple
    Response Types 5), else None."""
    names = frozenset(value.split()) if isinstance(value, str) else frozenset()
    return {frozenset({"code"}): "code", frozenset({"code", "id_token"}): HYBRID}.get(names)


def _checked_response_type(value: object) -> str:
    if not value:
        raise OAuthError("invalid_request", "response_type is missing: use code or 'code id_token'")
    found = _response_type(value)
    if found is None:
        raise OAuthError(
            "unsupported_response_type",
            f"response_type {value!r} is not supported: use code or 'code id_token'",
        )
    return found


_MODES: dict[object, ResponseMode] = {"query": "query", "fragment": "fragment"}


def _default_mode(response_type: object) -> ResponseMode:
    """Fragment for the hybrid flow, query for a code (OAuth 2.0 Multiple Response Types 3,
    5)."""
    return "fragment" if _response_type(response_type) == HYBRID else "query"


def _error_mode(params: Mapping[str, Any]) -> ResponseMode:
    """Where an error goes: the response mode asked for, else the response type's."""
    return _MODES.get(params.get("response_mode")) or _default_mode(params.get("response_type"))


def _checked_mode(value: object, response_type: str) -> ResponseMode:
    if value is None:
        return _default_mode(response_type)
    mode = _MODES.get(value)
    if mode is None:
        raise OAuthError(
            "invalid_request", f"response_mode {value!r} is not supported: use query or fragment"
        )
    if mode == "query" and response_type == HYBRID:
        raise OAuthError(
            "invalid_request",
            "response_mode query cannot carry an id_token (OAuth 2.0 Multiple Response Types 3):"
            " use fragment",
        )
    return mode


def _claims(value: object) -> dict[str, Any]:
    """The OIDC claims request (OIDC Core 5.5): a JSON object, as text in the query or as
    an object in the request object."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
            value = None
    if not isinstance(value, dict):
        raise OAuthError("invalid_request", "claims must be a JSON object (OIDC Core 5.5)")
    return value
