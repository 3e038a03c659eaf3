"""The simulated banks' OAuth 2.0 / OpenID Connect authorisation server, sans-IO.

One implementation for every dialect that authorises through OAuth (UK Open Banking,
Berlin Group's OAuth SCA approach, STET): it knows clients, codes, tokens, PKCE and
id_tokens, never a payment. What a request is for (its *intent*: a payment, a consent) is
read by the dialect's ``IntentReader``; what the user is shown and decides goes through
the dialect's ``IntentApproval`` (a ``SigningInApproval`` when the user signs in before
choosing the account to pay from), which ``OAuthJourney`` turns into a PSU page journey.

    authorize(query)        → PendingAuthorization  (a record, until the user decides)
    grant(pending, psu)     → the client's redirect URL with code (+ id_token) and state
    refuse(pending)         → the client's redirect URL with error=access_denied
    token(form, header)     → the JSON of RFC 6749 5.1
    access(token)           → AccessToken: what a resource server needs to know

Modules: ``oauth_request`` (reading an authorisation request), ``oauth_tokens`` (the token
endpoint), ``oauth_client_auth``, ``oauth_pkce``, ``oauth_jose`` (keys, id_tokens, request
objects, all through joserfc), ``oauth_records`` (what is kept, bounded), ``oauth_model``.

Errors:

    TpsimError (core.errors)
    ├── OAuthError              ``error`` (an RFC code), ``description``, ``status``,
    │   │                       ``redirect``, ``www_authenticate``
    │   │   authorization endpoint (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6): invalid_request,
    │   │   unsupported_response_type, invalid_scope, access_denied, invalid_request_object,
    │   │   request_uri_not_supported; ``redirect`` None until the client's redirect URI
    │   │   is trusted (the page shows it, 400), then the URL that carries it (302)
    │   │   token endpoint (RFC 6749 5.2): invalid_request, invalid_client (401 with
    │   │   WWW-Authenticate), invalid_grant, unauthorized_client, unsupported_grant_type,
    │   │   invalid_scope
    │   └── PendingClosed       no such pending authorisation (404), or expired or decided (409)
    ├── TokenRefused            a bearer token a resource server must refuse (each dialect
    │   │                       gives it its code: XS2A TOKEN_UNKNOWN / TOKEN_EXPIRED, UK 401)
    │   ├── TokenUnknown        never issued, revoked, or forgotten
    │   ├── TokenExpired        past its ``expires_at``
    │   └── TokenElsewhere      issued by another issuer (another base of the server)
    ├── ConfigError (tpsim.errors)   a client's jwks that is no JWK Set (at construction)
    └── LoginRefused (tpsim.errors)  ``OAuthJourney``: what the PSU page shows (auth.psu;
                                     ``JourneyEnded``: a refusal ended the intent, so the
                                     request is refused, access_denied, back at the client)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from tpsim.auth.oauth_errors import (
    ErrorCode,
    OAuthError,
    PendingClosed,
    TokenElsewhere,
    TokenExpired,
    TokenRefused,
    TokenUnknown,
)
from tpsim.auth.oauth_jose import REQUEST_OBJECT_ALGS, SigningKey
from tpsim.auth.oauth_model import (
    HYBRID,
    AccessToken,
    AuthorizationParameters,
    CodeGrant,
    Grant,
    IntentReader,
    OAuthClient,
    PendingAuthorization,
    SupportedScopes,
    TokenKind,
    intent_from_claims,
    intent_from_scope,
)
from tpsim.auth.oauth_pkce import METHODS
from tpsim.auth.oauth_records import OAuthRecords, key_of, new_secret
from tpsim.auth.oauth_request import Registered, Rules, read_authorization
from tpsim.auth.oauth_tokens import Lifetimes, TokenEndpoint
from tpsim.auth.psu import JourneyEnded, PsuView, UnknownJourney, WrongPassword
from tpsim.errors import LoginRefused

if TYPE_CHECKING:
    from tpsim.core.clock import Clock, IdGenerator
    from tpsim.core.store import Store

__all__ = [
    "AccessToken",
    "AuthorizationParameters",
    "AuthorizationServer",
    "IntentApproval",
    "IntentReader",
    "OAuthClient",
    "OAuthError",
    "OAuthJourney",
    "PendingAuthorization",
    "PendingClosed",
    "SigningInApproval",
    "TokenElsewhere",
    "TokenExpired",
    "TokenKind",
    "TokenRefused",
    "TokenUnknown",
    "intent_from_claims",
    "intent_from_scope",
]

# What the bank's clients may ask for: UK (payments, accounts, fundsconfirmations), STET
# (pisp, aisp, cbpii); openid for an id_token. The first after openid is the default of
# a client_credentials request that names none. Berlin Group's PIS:{paymentId} is per
# request and not listed: a dialect names it as a template (``scope_templates``).
DEFAULT_SCOPES = ("openid", "payments", "accounts", "fundsconfirmations", "pisp", "aisp", "cbpii")
_T = TypeVar("_T")
_CLAIMS = "iss sub aud exp iat auth_time nonce acr openbanking_intent_id c_hash s_hash".split()


class AuthorizationServer:
    """One simulated bank's authorisation server (see the module docstring).

    ``issuer`` names the server: its records' namespace in ``store``, and the ``iss`` of
    its id_tokens unless ``authorize`` is told the issuer a request was made at (served
    under several bases, each base is an issuer, OIDC Discovery 4.3). ``intent`` reads a
    request's intent unless ``authorize`` is given its own reader. An authorisation
    request may ask for ``scopes`` and scopes matching ``scope_templates``; PKCE is
    ``pkce_required`` or not, with any of RFC 7636's methods (each is the default of
    ``authorize``, which a dialect may override). ``key`` signs its
    id_tokens (a new PS256 key by default; give the old one to keep a published JWK Set
    valid across a reset). Codes, tokens and pending requests are records kept until they
    expire and ``retention_s`` after, at most ``max_ended`` of each kind once ended
    (``core.records``).
    """

    def __init__(
        self,
        issuer: str,
        clients: Iterable[OAuthClient],
        store: Store,
        clock: Clock,
        ids: IdGenerator,
        *,
        code_ttl_s: int = 60,
        access_ttl_s: int = 3600,
        refresh_ttl_s: int = 86400,
        pending_ttl_s: int = 600,
        pkce_required: bool = False,
        intent: IntentReader | None = None,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        scope_templates: Sequence[str] = (),
        key: SigningKey | None = None,
        retention_s: float = 300,
        max_ended: int = 2000,
    ) -> None:
        self.issuer, self.scopes = issuer, tuple(scopes)
        self._scope_templates = tuple(scope_templates)
        self._registered = {c.client_id: Registered.of(c) for c in clients}
        self._clock, self._ids = clock, ids
        self._pkce_required, self._intent = pkce_required, intent
        self._lifetimes = Lifetimes(code_ttl_s, access_ttl_s, refresh_ttl_s, pending_ttl_s)
        retention = timedelta(seconds=retention_s)
        self._records = OAuthRecords(
            store, f"oauth:{issuer}", clock, retention=retention, max_ended=max_ended
        )
        self.key = key or SigningKey()
        self._tokens = TokenEndpoint(
            {client_id: r.client for client_id, r in self._registered.items()},
            self._records,
            self.key,
            clock,
            lifetimes=self._lifetimes,
            client_scopes=[s for s in self.scopes if s != "openid"],
            issuer=issuer,
        )

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set its id_tokens verify with (``{base}/jwks``)."""
        return self.key.jwks()

    def metadata(self, base_url: str, *, pkce_methods: Sequence[str] = METHODS) -> dict[str, Any]:
        """The discovery document (OIDC Discovery 3, RFC 8414 2) of the server served at
        ``base_url``, which is its issuer (OIDC Discovery 4.3), taking the PKCE
        ``pkce_methods`` there."""
        return {
            "issuer": base_url,
            "authorization_endpoint": f"{base_url}/authorize",
            "token_endpoint": f"{base_url}/token",
            "jwks_uri": f"{base_url}/jwks",
            "response_types_supported": ["code", HYBRID],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": list(pkce_methods),
            "scopes_supported": list(self.scopes),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [self.key.alg],
            "request_object_signing_alg_values_supported": [*REQUEST_OBJECT_ALGS, "none"],
            "request_parameter_supported": True,
            "request_uri_parameter_supported": False,
            "claims_parameter_supported": True,
            "claims_supported": list(_CLAIMS),
            "acr_values_supported": ["urn:openbanking:psd2:sca"],
        }

    def authorize(
        self,
        params: Mapping[str, str],
        *,
        intent: IntentReader | None = None,
        issuer: str | None = None,
        repeated: Collection[str] = (),
        pkce_required: bool | None = None,
        pkce_methods: Sequence[str] = METHODS,
        scope_templates: Sequence[str] | None = None,
    ) -> PendingAuthorization:
        """Check an authorisation request (its query ``params``; ``repeated``: the names
        it sent twice) made at ``issuer`` (None: the server's) and keep it until the user
        decides, or raise ``OAuthError``. With a reader (``intent``, else the server's), a
        request that names no intent is refused. ``pkce_required``, ``pkce_methods`` and
        ``scope_templates`` override the server's for this request (a dialect whose
        specification requires PKCE with S256 and names the payment in the scope, as
        XS2A's OAuth SCA approach does)."""
        now, issuer = self._clock.now(), issuer or self.issuer
        templates = self._scope_templates if scope_templates is None else scope_templates
        rules = Rules(
            issuer,
            SupportedScopes(self.scopes, tuple(templates)),
            self._pkce_required if pkce_required is None else pkce_required,
            tuple(pkce_methods),
        )
        request = read_authorization(params, self._registered, rules, now=now, repeated=repeated)
        reader = intent or self._intent
        intent_id = None if reader is None else reader(request)
        if reader is not None and intent_id is None:
            raise request.target.error(
                "invalid_request",
                "the request does not name the payment or consent it authorises (e.g. scope"
                " PIS:{paymentId}, or the openbanking_intent_id claim)",
            )
        pending = PendingAuthorization(
            self._ids.new_id(),
            request.client_id,
            self._registered[request.client_id].client.name,
            request,
            intent_id,
            issuer,
            now + timedelta(seconds=self._lifetimes.pending_s),
        )
        self._records.keep(self._records.pending, pending.id, pending, pending.expires_at)
        return pending

    def pending(self, pending_id: str) -> PendingAuthorization:
        """The authorisation request ``pending_id``, decided or not, or ``PendingClosed``
        (unknown)."""
        found = self._records.pending.get(pending_id)
        if found is None:
            raise PendingClosed(pending_id, "unknown")
        return found

    def waiting(self, pending_id: str) -> PendingAuthorization:
        """The authorisation request ``pending_id`` if it still waits for a decision, or
        ``PendingClosed`` saying why not."""
        found = self.pending(pending_id)
        closed = found.closed(self._clock.now())
        if closed is not None:
            raise PendingClosed(pending_id, closed)
        return found

    def waiting_for(self, intent_id: str) -> PendingAuthorization | None:
        """The latest request still waiting for a decision about ``intent_id`` (the admin
        API decides it as the user would), or None."""
        now = self._clock.now()
        waiting = [
            p for p in self._records.pending if p.intent_id == intent_id and p.closed(now) is None
        ]
        return max(waiting, key=lambda p: p.expires_at, default=None)

    def grant(self, pending_id: str, psu_id: str, *, accounts: Sequence[str] = ()) -> str:
        """The user ``psu_id`` approved (with ``accounts``): a code for the client, and
        the URL that brings it back (with an id_token in the hybrid flow)."""
        pending = self._decide(pending_id, "granted")
        params, now = pending.params, self._clock.now()
        grant = Grant(
            self._ids.new_id(),
            pending.client_id,
            psu_id,
            pending.intent_id,
            " ".join(params.scope),
            tuple(accounts),
            pending.issuer,
            now,
            params.nonce,
        )
        code, until = new_secret(), now + timedelta(seconds=self._lifetimes.code_s)
        record = CodeGrant(
            grant,
            params.redirect_uri,
            params.redirect_uri_given,
            params.code_challenge,
            params.code_challenge_method,
            until,
        )
        self._records.keep(self._records.codes, key_of(code), record, until)
        answer = {"code": code}
        if params.response_type == HYBRID:
            answer["id_token"] = self.key.id_token(
                issuer=pending.issuer,
                subject=psu_id,
                audience=pending.client_id,
                now=now,
                lifetime_s=self._lifetimes.access_s,
                auth_time=now,
                nonce=params.nonce,
                intent_id=pending.intent_id,
                code=code,
                state=params.state,
            )
        return params.target.url(answer)

    def refuse(
        self,
        pending_id: str,
        *,
        error: ErrorCode = "access_denied",
        description: str = "the user denied the request",
    ) -> str:
        """The request is refused (by the user, or by the bank: ``error``): the URL that
        tells the client."""
        pending = self._decide(pending_id, "refused")
        return pending.params.target.error_url(error, description)

    def token(
        self, form: Mapping[str, str], authorization: str | None, *, issuer: str | None = None
    ) -> dict[str, Any]:
        """The token endpoint (``oauth_tokens``) of ``issuer`` (None: any of this server's):
        the JSON answer, or ``OAuthError``."""
        return self._tokens.token(form, authorization, issuer=issuer)

    def access(self, token: str, *, issuer: str | None = None) -> AccessToken:
        """What a bearer token allows at the API of ``issuer`` (None: any of this
        server's), or ``TokenUnknown`` / ``TokenExpired`` / ``TokenElsewhere`` (a token
        another base issued: each base is its own issuer)."""
        return self._tokens.access(token, issuer=issuer)

    def _decide(self, pending_id: str, decision: str) -> PendingAuthorization:
        """Record the one decision a pending request gets."""
        decided = replace(self.waiting(pending_id), decision=decision)
        self._records.pending.put(pending_id, decided)
        self._records.pending.end(pending_id, at=self._clock.now())
        return decided


class IntentApproval(Protocol):
    """How a dialect shows a pending authorisation's intent to the user and applies the
    decision (it knows the payment; the server does not). Each method may raise
    ``UnknownJourney``; ``approve`` returns the PSU's id or raises ``LoginRefused`` /
    ``WrongPassword`` (the dialect counts them, and at the last one ends the intent as a
    denial would). ``password`` None is a headless decision (``sim_decision``): no
    password is checked. ``client_of`` names the client (TPP) that created the intent:
    only that client's requests may have the user decide it (``intent_owned``)."""

    def client_of(self, intent_id: str) -> str | None: ...

    def view(self, intent_id: str) -> PsuView: ...

    def approve(
        self, intent_id: str, user: str | None, password: str | None, accounts: Sequence[str]
    ) -> str: ...

    def deny(self, intent_id: str) -> None: ...


@runtime_checkable
class SigningInApproval(IntentApproval, Protocol):
    """An ``IntentApproval`` whose user signs in before choosing (its view has
    ``sign_in_first``: the intent names no account, so the user is not known yet).
    ``sign_in`` checks ``user``'s ``password`` for ``intent_id`` and returns the view of
    that user's accounts that can pay (``choose_one``), deciding nothing; it raises as
    ``approve`` does (``WrongPassword``, counted by the dialect; ``LoginRefused`` 400 when
    the user holds no account that can pay). ``approve`` with ``password`` None then
    approves as the signed-in user, and still checks the accounts are theirs and can pay.
    """

    def sign_in(self, intent_id: str, user: str, password: str) -> PsuView: ...


class OAuthJourney:
    """The PSU page journey (``auth.psu.PsuJourney``, and ``SigningInJourney`` when the
    ``approval`` is a ``SigningInApproval``) of one pending authorisation: the dialect's
    ``approval`` decides the intent, then the server answers the client."""

    def __init__(
        self, server: AuthorizationServer, pending_id: str, approval: IntentApproval
    ) -> None:
        self._server, self._id, self._approval = server, pending_id, approval

    def view(self) -> PsuView:
        view = self._approval.view(self._intent(self._pending()))
        try:
            self._server.waiting(self._id)
        except PendingClosed as exc:
            return replace(view, closed=view.closed or exc.description)
        return view

    def approve(self, user: str | None, password: str | None, accounts: Sequence[str]) -> str:
        intent = self._intent(self._waiting())
        psu_id = self._checking(lambda: self._approval.approve(intent, user, password, accounts))
        return self._server.grant(self._id, psu_id, accounts=accounts)

    def sign_in(self, user: str, password: str) -> PsuView:
        """``user``'s accounts to choose from once ``password`` is right (the dialect's
        ``SigningInApproval.sign_in``); ``LoginRefused`` 400 when the dialect has no such
        step, 409 when the request no longer waits; the last wrong password refuses the
        request as ``approve``'s does."""
        intent = self._intent(self._waiting())
        approval = self._signing_in()
        return self._checking(lambda: approval.sign_in(intent, user, password))

    def approve_signed_in(self, user: str, accounts: Sequence[str]) -> str:
        """Approve as ``user``, whom the page saw sign in (no password again): ``approve``
        with password None, for a ``SigningInApproval`` only."""
        self._signing_in()
        return self.approve(user, None, accounts)

    def deny(self) -> str:
        intent = self._intent(self._waiting())
        self._checking(lambda: self._approval.deny(intent))
        return self._server.refuse(self._id)

    def _checking(self, check: Callable[[], _T]) -> _T:
        """``check`` the user's decision (or sign-in) through the dialect: its last wrong
        password (none left, and the dialect names no way back) refuses the request, and
        the user goes back to the client with ``access_denied``; so does any refusal that
        ended the intent (a payment whose date passed, or that expired while the page was
        open: ``JourneyEnded``, saying why), since nothing can be decided any more."""
        try:
            return check()
        except WrongPassword as exc:
            if exc.left > 0 or exc.redirect is not None:
                raise
            redirect = self._server.refuse(self._id, description="too many wrong passwords")
            raise WrongPassword(str(exc), left=0, redirect=redirect) from None
        except UnknownJourney:
            raise
        except LoginRefused as exc:
            back = self._ended(str(exc))
            if back is None:
                raise
            raise JourneyEnded(str(exc), redirect=back) from None

    def _ended(self, why: str) -> str | None:
        """When the intent no longer awaits the user's decision and the request still
        waits: the request refused (``access_denied``, ``why``), and the URL that tells
        the client; else None."""
        try:
            pending = self._server.waiting(self._id)
        except PendingClosed:
            return None
        if pending.intent_id is None or self._approval.view(pending.intent_id).closed is None:
            return None
        return self._server.refuse(self._id, description=why)

    def _signing_in(self) -> SigningInApproval:
        if not isinstance(self._approval, SigningInApproval):
            raise LoginRefused(
                "this bank's page has no separate sign-in: enter your password and choose"
                " Approve or Deny"
            )
        return self._approval

    def _pending(self) -> PendingAuthorization:
        try:
            return self._server.pending(self._id)
        except PendingClosed as exc:
            raise UnknownJourney("authorisation", exc.description) from None

    def _waiting(self) -> PendingAuthorization:
        self._pending()  # an unknown one is the page's 404, a closed one its 409
        try:
            return self._server.waiting(self._id)
        except PendingClosed as exc:
            raise LoginRefused(exc.description, http_status=409) from None

    def _intent(self, pending: PendingAuthorization) -> str:
        if pending.intent_id is None:
            raise UnknownJourney(
                "authorisation", f"authorisation {self._id} names no payment or consent to show"
            )
        refusal = intent_owned(self._approval, pending)
        if refusal is not None:
            raise UnknownJourney("authorisation", refusal)
        return pending.intent_id


def intent_owned(approval: IntentApproval, pending: PendingAuthorization) -> str | None:
    """Why ``pending``'s client may not have the user decide its intent (it names none,
    or one another client created: a TPP must not have a PSU authorise, or deny, another
    TPP's payment), or None."""
    if pending.intent_id is None:
        return "the request does not name the payment or consent it authorises"
    if approval.client_of(pending.intent_id) != pending.client_id:
        return f"{pending.intent_id} is no payment or consent of client {pending.client_id}"
    return None
