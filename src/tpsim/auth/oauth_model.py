"""The values of the OAuth 2.0 / OIDC authorisation server: clients, authorisation
requests, what is kept for a code or a token, and how a dialect finds the intent a request
is for.

Everything kept in the store (``PendingAuthorization``, ``CodeGrant``, ``RefreshGrant``,
``AccessToken``) is a frozen dataclass of plain values, so ``core.sqlite_store`` pickles it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from tpsim.auth.oauth_errors import ErrorCode, OAuthError
from tpsim.core.records import evolvable

__all__ = [
    "HYBRID",
    "AccessToken",
    "AuthorizationParameters",
    "CodeGrant",
    "Grant",
    "IntentReader",
    "OAuthClient",
    "PendingAuthorization",
    "RedirectTarget",
    "RefreshGrant",
    "ResponseMode",
    "SupportedScopes",
    "TokenKind",
    "intent_from_claims",
    "intent_from_scope",
]

HYBRID = "code id_token"  # OIDC Core 3.3: the response type of UK Open Banking (FAPI 1)
ResponseMode = Literal["query", "fragment"]


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """A registered client (a TPP). ``client_secret`` None: a public client, which names
    itself by ``client_id`` alone. ``jwks``: its public keys (a JWK Set) that sign its
    request objects. ``redirect_rule`` says whether a redirect URI is one of its own (the
    deployment's rule, e.g. DESIGN.md's scheme + host + path prefix); without one, a URI
    must equal a registered one (RFC 6749 3.1.2.3, simple string comparison)."""

    client_id: str
    client_secret: str | None
    name: str
    redirect_uris: tuple[str, ...]
    jwks: Mapping[str, Any] | None = None
    redirect_rule: Callable[[str], bool] | None = field(default=None, compare=False)

    def allows(self, uri: str) -> bool:
        """Whether ``uri`` may receive this client's codes and errors."""
        if self.redirect_rule is not None:
            return self.redirect_rule(uri)
        return uri in self.redirect_uris


@dataclass(frozen=True, slots=True)
class RedirectTarget:
    """Where an authorisation's answer goes: the client's ``uri``, in its query or its
    fragment, with ``state`` echoed (RFC 6749 4.1.2)."""

    uri: str
    mode: ResponseMode
    state: str | None

    def url(self, answer: Mapping[str, str]) -> str:
        """``uri`` carrying ``answer`` and the state; a query the client registered is kept
        (RFC 6749 3.1.2)."""
        fields = dict(answer)
        if self.state is not None:
            fields["state"] = self.state
        encoded = urlencode(fields)
        parts = urlsplit(self.uri)
        if self.mode == "fragment":
            return urlunsplit(parts._replace(fragment=encoded))
        query = f"{parts.query}&{encoded}" if parts.query else encoded
        return urlunsplit(parts._replace(query=query))

    def error_url(self, error: ErrorCode, description: str) -> str:
        """The URL that tells the client of the error ``error`` (RFC 6749 4.1.2.1)."""
        return self.url(OAuthError(error, description).body())

    def error(self, error: ErrorCode, description: str) -> OAuthError:
        """The error ``error`` on its way back to the client."""
        return self.carrying(OAuthError(error, description))

    def carrying(self, refusal: OAuthError) -> OAuthError:
        """``refusal`` with the URL that carries it back to the client (302)."""
        url = self.url(refusal.body())
        return OAuthError(refusal.error, refusal.description, status=302, redirect=url)


@dataclass(frozen=True, slots=True)
class AuthorizationParameters:
    """An authorisation request once read and checked: the query with the request
    object's claims applied. ``redirect_uri_given`` says whether the client named its
    redirect URI (then the token request must name it again, RFC 6749 4.1.3);
    ``claims`` is the OIDC claims request; ``extra`` every other text parameter
    (``openbanking_intent_id``…)."""

    client_id: str
    redirect_uri: str
    redirect_uri_given: bool
    response_type: str  # "code" or HYBRID
    response_mode: ResponseMode
    scope: tuple[str, ...]
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> RedirectTarget:
        return RedirectTarget(self.redirect_uri, self.response_mode, self.state)


# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_CHARS = r"[\x21\x23-\x5b\x5d-\x7e]+"
_TEMPLATE_NAME = re.compile(r"\{[^{}]+\}")


@dataclass(frozen=True, slots=True)
class SupportedScopes:
    """The scopes an authorisation request may ask for: ``names`` (the discovery
    document's ``scopes_supported``) and the ``templates`` of a dialect's per-request
    scopes, where ``{name}`` stands for any scope-token (XS2A's ``PIS:{paymentId}``)."""

    names: tuple[str, ...]
    templates: tuple[str, ...] = ()

    def unsupported(self, scope: Iterable[str]) -> list[str]:
        """The scopes of ``scope`` that are none of these."""
        patterns = [_template_pattern(t) for t in self.templates]
        return [
            s for s in scope if s not in self.names and not any(p.fullmatch(s) for p in patterns)
        ]

    def __str__(self) -> str:
        return " ".join([*self.names, *self.templates])


def _template_pattern(template: str) -> re.Pattern[str]:
    literals = _TEMPLATE_NAME.split(template)
    return re.compile(_SCOPE_CHARS.join(re.escape(part) for part in literals))


# What an authorisation request is for (a payment, a consent), as the dialect names it.
IntentReader = Callable[[AuthorizationParameters], str | None]


def intent_from_scope(params: AuthorizationParameters) -> str | None:
    """Berlin Group's OAuth SCA approach: the payment is the scope ``PIS:{paymentId}``."""
    found = [s.removeprefix("PIS:") for s in params.scope if s.startswith("PIS:")]
    return found[0] if len(found) == 1 and found[0] else None


def intent_from_claims(params: AuthorizationParameters) -> str | None:
    """UK Open Banking: the ConsentId is the requested claim
    ``claims.id_token.openbanking_intent_id.value`` (or ``userinfo``'s), or a plain
    ``openbanking_intent_id`` parameter."""
    for member in ("id_token", "userinfo"):
        requested = params.claims.get(member)
        claim = requested.get("openbanking_intent_id") if isinstance(requested, dict) else None
        value = claim.get("value") if isinstance(claim, dict) else None
        if isinstance(value, str) and value:
            return value
    return params.extra.get("openbanking_intent_id") or None


@dataclass(frozen=True, slots=True)
class PendingAuthorization:
    """An authorisation request waiting for the user's decision (kept until
    ``expires_at``). ``issuer`` is the issuer it was asked of (its id_token's ``iss``);
    ``decision`` is ``granted`` or ``refused`` once decided."""

    id: str
    client_id: str
    client_name: str
    params: AuthorizationParameters
    intent_id: str | None
    issuer: str
    expires_at: datetime
    decision: str | None = None

    def closed(self, now: datetime) -> Literal["expired", "decided"] | None:
        """Why the request no longer waits for a decision, or None."""
        if self.decision is not None:
            return "decided"
        return "expired" if now >= self.expires_at else None


class TokenKind(StrEnum):
    """Whom an access token speaks for: the client itself (client_credentials) or a PSU
    who authorised it (authorization_code, refresh_token)."""

    CLIENT = "CLIENT"
    PSU = "PSU"


@dataclass(frozen=True, slots=True)
class Grant:
    """What a PSU authorised a client to do: the same for the code, every token issued
    from it and every refresh. ``id`` names the family (revoked together, RFC 6749
    4.1.2)."""

    id: str
    client_id: str
    psu_id: str
    intent_id: str | None
    scope: str
    accounts: tuple[str, ...]
    issuer: str
    auth_time: datetime
    nonce: str | None = None


@dataclass(frozen=True, slots=True)
class CodeGrant:
    """An authorisation code, bound to its redirect URI and PKCE challenge; ``used`` once
    exchanged (kept to detect its reuse)."""

    grant: Grant
    redirect_uri: str
    redirect_uri_given: bool
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: datetime
    used: bool = False


@dataclass(frozen=True, slots=True)
class RefreshGrant:
    grant: Grant
    expires_at: datetime


@evolvable
@dataclass(frozen=True, slots=True)
class AccessToken:
    """What a resource server learns from a bearer token (``AuthorizationServer.access``).
    ``psu_id`` and ``intent_id`` are None for a client's own token; ``scope`` is as on the
    wire (space-separated); ``issuer`` is the issuer that issued it (the base whose token
    endpoint the client asked), and only that issuer's API takes it ("": kept in a state
    file by a tpsim that did not say, taken anywhere until it expires)."""

    client_id: str
    kind: TokenKind
    psu_id: str | None
    intent_id: str | None
    scope: str
    accounts: tuple[str, ...]
    expires_at: datetime
    grant_id: str | None = None
    issuer: str = ""

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())
