"""The token endpoint (RFC 6749 3.2, 4.1.3, 4.4, 6) and what a resource server asks of a
bearer token.

Grants: ``client_credentials`` (the client's own token, e.g. UK's ``payments`` scope to
create a consent), ``authorization_code`` (single use, bound to the client, the redirect
URI and the PKCE challenge of its authorisation request; a reused code revokes every token
issued from it, RFC 6749 4.1.2) and ``refresh_token`` (rotated: each use issues a new one
and forgets the old). A server served under several bases (one issuer each) takes a code or
refresh token only at the token endpoint of the issuer that granted it, as separate
servers would (RFC 9700 4.4: the client must not be able to mix them up), and an access
token is good only at its issuer's API. Every answer is
the JSON of RFC 6749 5.1; every refusal an ``OAuthError`` with the RFC 6749 5.2 code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tpsim.auth.oauth_client_auth import authenticate
from tpsim.auth.oauth_errors import OAuthError, TokenElsewhere, TokenExpired, TokenUnknown
from tpsim.auth.oauth_model import (
    AccessToken,
    CodeGrant,
    Grant,
    OAuthClient,
    RefreshGrant,
    TokenKind,
)
from tpsim.auth.oauth_pkce import verify
from tpsim.auth.oauth_records import OAuthRecords, key_of, new_secret

if TYPE_CHECKING:
    from tpsim.auth.oauth_jose import SigningKey
    from tpsim.core.clock import Clock

__all__ = ["Lifetimes", "TokenEndpoint"]

Answer = dict[str, Any]
# A grant type's handler: (the client, the form, the issuer asked) → the answer.
_GrantType = Callable[[OAuthClient, Mapping[str, str], str | None], Answer]


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """How long, in seconds, what the server issues is valid."""

    code_s: int = 60
    access_s: int = 3600
    refresh_s: int = 86400
    pending_s: int = 600


class TokenEndpoint:
    """Issues tokens to ``clients`` and answers a resource server's questions about them.
    ``scopes``: what a client may ask for itself (``client_credentials``), the first being
    its default when it names none. ``issuer`` issues a token asked at no named issuer's
    endpoint (and is the realm of a client authentication's challenge)."""

    def __init__(
        self,
        clients: Mapping[str, OAuthClient],
        records: OAuthRecords,
        key: SigningKey,
        clock: Clock,
        *,
        lifetimes: Lifetimes,
        client_scopes: Sequence[str],
        issuer: str,
    ) -> None:
        self._clients, self._records, self._key, self._clock = clients, records, key, clock
        self._lifetimes, self._client_scopes, self._issuer = lifetimes, client_scopes, issuer
        self._grant_types: dict[str, _GrantType] = {
            "client_credentials": self._client_credentials,
            "authorization_code": self._authorization_code,
            "refresh_token": self._refresh_token,
        }

    def token(
        self, form: Mapping[str, str], authorization: str | None, *, issuer: str | None = None
    ) -> Answer:
        """The answer to a token request (``form`` and its ``Authorization`` header) made
        at the token endpoint of ``issuer`` (None: any)."""
        client = authenticate(self._clients, form, authorization, realm=self._issuer)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is missing (RFC 6749 4.1.3, 4.4.2, 6)")
        handler = self._grant_types.get(grant_type)
        if handler is None:
            raise OAuthError(
                "unsupported_grant_type",
                f"grant_type {grant_type!r} is not supported: use {', '.join(self._grant_types)}",
            )
        return handler(client, form, issuer)

    def access(self, token: str, *, issuer: str | None = None) -> AccessToken:
        """What ``token`` allows at the API of ``issuer`` (None: any of this server's), or
        ``TokenUnknown`` / ``TokenExpired`` / ``TokenElsewhere`` (issued by another)."""
        found = self._records.access.get(key_of(token))
        if found is None:
            raise TokenUnknown()
        if self._clock.now() >= found.expires_at:
            raise TokenExpired(found.expires_at)
        if issuer is not None and found.issuer and issuer != found.issuer:
            raise TokenElsewhere(found.issuer, issuer)
        return found

    def _client_credentials(
        self, client: OAuthClient, form: Mapping[str, str], issuer: str | None
    ) -> Answer:
        if client.client_secret is None:
            raise OAuthError(
                "unauthorized_client",
                f"client {client.client_id} is a public client: client_credentials needs a secret",
            )
        asked = form.get("scope")
        scope = asked.split() if asked else self._client_scopes[:1]
        unknown = [s for s in scope if s not in self._client_scopes]
        if unknown:
            raise OAuthError(
                "invalid_scope",
                f"scope {' '.join(unknown)} cannot be asked with client_credentials: use"
                f" {' '.join(self._client_scopes)}",
            )
        token = AccessToken(
            client.client_id,
            TokenKind.CLIENT,
            None,
            None,
            " ".join(scope),
            (),
            self._expiry(),
            issuer=issuer or self._issuer,
        )
        return self._issue(token)

    def _authorization_code(
        self, client: OAuthClient, form: Mapping[str, str], issuer: str | None
    ) -> Answer:
        key = key_of(_required(form, "code"))
        code = self._records.codes.get(key)
        if code is None:
            raise OAuthError("invalid_grant", "the code is unknown: authorise again")
        if code.used:
            self._records.revoke(code.grant.id)
            raise OAuthError(
                "invalid_grant",
                "the code has already been used: the tokens issued from it are revoked"
                " (RFC 6749 4.1.2)",
            )
        if self._clock.now() >= code.expires_at:
            raise OAuthError("invalid_grant", "the code has expired: authorise again")
        if code.grant.client_id != client.client_id:
            raise OAuthError("invalid_grant", "the code was issued to another client")
        _check_issuer(code.grant, issuer, "code")
        _check_redirect_uri(code, form.get("redirect_uri"))
        verify(code.code_challenge, code.code_challenge_method, form.get("code_verifier"))
        self._records.codes.put(key, replace(code, used=True))
        return self._psu_tokens(code.grant, code.grant.scope, nonce=code.grant.nonce)

    def _refresh_token(
        self, client: OAuthClient, form: Mapping[str, str], issuer: str | None
    ) -> Answer:
        key = key_of(_required(form, "refresh_token"))
        refresh = self._records.refresh.get(key)
        if refresh is None:
            raise OAuthError(
                "invalid_grant",
                "the refresh token is unknown (each one is used once): authorise again",
            )
        if refresh.grant.client_id != client.client_id:
            raise OAuthError("invalid_grant", "the refresh token was issued to another client")
        _check_issuer(refresh.grant, issuer, "refresh token")
        if self._clock.now() >= refresh.expires_at:
            raise OAuthError("invalid_grant", "the refresh token has expired: authorise again")
        granted = refresh.grant.scope.split()
        asked = (form.get("scope") or "").split() or granted
        beyond = [s for s in asked if s not in granted]
        if beyond:
            # RFC 6749 6: a refresh may narrow the scope, never widen it.
            raise OAuthError("invalid_scope", f"scope {' '.join(beyond)} was not granted")
        self._records.refresh.drop(key)
        return self._psu_tokens(refresh.grant, " ".join(asked), nonce=None)

    def _psu_tokens(self, grant: Grant, scope: str, *, nonce: str | None) -> Answer:
        """Access and refresh tokens of ``grant`` (and an id_token for ``openid``; OIDC
        Core 12.2: none of a refresh carries the nonce)."""
        now = self._clock.now()
        token = AccessToken(
            grant.client_id,
            TokenKind.PSU,
            grant.psu_id,
            grant.intent_id,
            scope,
            grant.accounts,
            self._expiry(),
            grant_id=grant.id,
            issuer=grant.issuer,
        )
        answer = self._issue(token)
        refresh, until = new_secret(), now + timedelta(seconds=self._lifetimes.refresh_s)
        self._records.keep(
            self._records.refresh, key_of(refresh), RefreshGrant(grant, until), until
        )
        self._records.issued(grant.id, key_of(answer["access_token"]), key_of(refresh), until)
        answer["refresh_token"] = refresh
        if "openid" in scope.split():
            answer["id_token"] = self._key.id_token(
                issuer=grant.issuer,
                subject=grant.psu_id,
                audience=grant.client_id,
                now=now,
                lifetime_s=self._lifetimes.access_s,
                auth_time=grant.auth_time,
                nonce=nonce,
                intent_id=grant.intent_id,
            )
        return answer

    def _issue(self, token: AccessToken) -> Answer:
        """A new access token for ``token``, kept, as RFC 6749 5.1 answers it."""
        value = new_secret()
        self._records.keep(self._records.access, key_of(value), token, token.expires_at)
        return {
            "access_token": value,
            "token_type": "Bearer",
            "expires_in": self._lifetimes.access_s,
            "scope": token.scope,
        }

    def _expiry(self) -> datetime:
        return self._clock.now() + timedelta(seconds=self._lifetimes.access_s)


def _check_issuer(grant: Grant, issuer: str | None, what: str) -> None:
    """A code or refresh token is taken at its own issuer's token endpoint only."""
    if issuer is not None and issuer != grant.issuer:
        raise OAuthError(
            "invalid_grant",
            f"the {what} was issued by {grant.issuer}: send it to that issuer's token"
            f" endpoint, {grant.issuer}/token, not {issuer}/token",
        )


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise OAuthError("invalid_request", f"{name} is missing")
    return value


def _check_redirect_uri(code: CodeGrant, given: str | None) -> None:
    """RFC 6749 4.1.3: the redirect URI of the authorisation request, again and
    identical, when that request named one."""
    if given is None and not code.redirect_uri_given:
        return
    if given != code.redirect_uri:
        raise OAuthError(
            "invalid_grant",
            "redirect_uri must be the one of the authorisation request (RFC 6749 4.1.3):"
            f" {code.redirect_uri}",
        )
