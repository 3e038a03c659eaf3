"""The simulated banks' OAuth 2.0 / OIDC authorisation server over HTTP (the server itself
is ``auth.oauth``), mounted under a dialect's base (``/xs2a/{fsp_id}``, ``/obie/{fsp_id}``):

    GET  {base}/.well-known/openid-configuration     the discovery document (OIDC
    GET  {base}/.well-known/oauth-authorization-server   Discovery 4, RFC 8414 3): the same
    GET  {base}/jwks                                 the bank's public signing keys
    POST {base}/token                                RFC 6749 5.1 JSON; every refusal the
                                                     JSON of 5.2; never cached
    GET  {base}/authorize                            checks the request, then 302 to the
                                                     PSU page, or (headless) straight back

Every refusal is an OAuth error: before the client's redirect URI is trusted, a plain-text
page that says what is wrong (400); after, a 302 to the client with ``error``,
``error_description`` and ``state``. An intent the dialect does not know or that no longer
waits is refused that way too (``invalid_request``). A bank with no server here is a 404
with the JSON error on every route.

Headless SCA (DESIGN.md): while the bank's ``psd2.headless`` is on, ``sim_decision=approve``
or ``deny`` (with optional ``sim_psu`` and ``sim_account``, repeatable) on ``/authorize``
decides at once and answers the final 302, no HTML. An approval the dialect refuses
(unknown PSU, account…) goes back to the client as ``access_denied`` saying why; so does a
``sim_account`` the admin decision would refuse (``serve.account_choice``: the debtor
account the intent names, else one of the PSU's in its currency), before anything is
decided.
Otherwise the browser goes to the PSU page family (``serve.pages``) at
``/login/{fsp_id}/oauth/{pending id}``, shared by every mount; the page finds its mount
by the issuer the request was made at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote_plus

from aiohttp import web
from multidict import MultiDict, MultiMapping

from tpsim.auth.oauth_errors import OAuthError, PendingClosed
from tpsim.auth.oauth_pkce import METHODS
from tpsim.auth.psu import JourneyEnded, PsuJourney, UnknownJourney, WrongPassword
from tpsim.core.errors import TpsimError
from tpsim.errors import LoginRefused
from tpsim.serve.account_choice import AccountChoice, ChoiceFinder
from tpsim.serve.body import BodyRefused, read_at_most
from tpsim.serve.edge import SIMULATION
from tpsim.serve.pages import add_psu_pages
from tpsim.serve.simulation import Simulation

if TYPE_CHECKING:  # the server itself (and joserfc) is imported with its first request
    from tpsim.auth.oauth import AuthorizationServer, IntentApproval, PendingAuthorization
    from tpsim.auth.oauth_model import IntentReader

__all__ = [
    "ENDPOINTS",
    "PAGE_PATH",
    "OAuthFinder",
    "UnknownAuthorizationServer",
    "add_oauth_routes",
    "issuer_at",
    "malformed_refusal",
    "method_refusal",
]

PAGE_PATH = "/login/{fsp_id}/oauth/{journey_id}"
# Each endpoint under a mount's base and the one method it takes (a GET: and HEAD). The
# routes and the edge's refusal of a method aiohttp cannot parse (``serve.parser_refusals``)
# both read it, so both send one ``Allow``.
ENDPOINTS: Mapping[str, str] = {
    "/.well-known/openid-configuration": "GET",
    "/.well-known/oauth-authorization-server": "GET",
    "/jwks": "GET",
    "/token": "POST",
    "/authorize": "GET",
}
# (the simulation, fspId) → the bank's server and the mount's dialect, or
# ``UnknownAuthorizationServer``.
OAuthFinder = Callable[[Simulation, str], "tuple[AuthorizationServer, IntentApproval]"]

_FORM_TYPE = "application/x-www-form-urlencoded"  # RFC 6749 4.1.3
_MAX_FORM_BYTES = 16 * 1024  # a code, a verifier, a redirect URI, a refresh token
_MAX_FORM_FIELDS = 50
_SIM = frozenset({"sim_decision", "sim_psu", "sim_account"})
# What decides where an error may go (RFC 6749 4.1.2.1): never read as anything but sent.
_TRUSTED_FIRST = frozenset({"client_id", "redirect_uri"})
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 5.1
_REDIRECT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class UnknownAuthorizationServer(TpsimError):
    """``fsp_id`` is no bank whose authorisation server is mounted here (404)."""

    def __init__(self, fsp_id: str) -> None:
        self.fsp_id = fsp_id
        super().__init__(f"{fsp_id} is not a bank tpsim simulates with an authorisation server")


@dataclass(frozen=True, slots=True)
class _Mount:
    base: str  # the route prefix, with {fsp_id}
    find: OAuthFinder
    intent: IntentReader | None
    pkce_required: bool | None = None  # None: as the server says
    pkce_methods: tuple[str, ...] = METHODS
    scope_templates: tuple[str, ...] | None = None  # None: as the server says
    choice: ChoiceFinder | None = None  # None: the dialect's own checks only

    def issuer(self, sim: Simulation, fsp_id: str) -> str:
        return issuer_at(sim, self.base, fsp_id)

    def choice_of(
        self, sim: Simulation, fsp_id: str, pending: PendingAuthorization
    ) -> AccountChoice | None:
        if self.choice is None or pending.intent_id is None:
            return None
        return self.choice(sim, fsp_id, pending.intent_id)


def issuer_at(sim: Simulation, base: str, fsp_id: str) -> str:
    """The issuer of bank ``fsp_id`` at ``base`` (a prefix with ``{fsp_id}``), as a browser
    reaches it: what its tokens are bound to, and what its API takes."""
    return _public_url(sim) + base.replace("{fsp_id}", quote(fsp_id, safe=""))


def _public_url(sim: Simulation) -> str:
    """Where users' browsers reach tpsim (as the login pages say, ``serve.server``)."""
    return (sim.config.behaviour.linking.web.public_url or sim.site.url).rstrip("/")


@dataclass(slots=True)
class _Mounts:
    all: list[_Mount] = field(default_factory=list)


_MOUNTS = web.AppKey("tpsim_oauth_mounts", _Mounts)


def add_oauth_routes(
    app: web.Application,
    base: str,
    find: OAuthFinder,
    *,
    intent: IntentReader | None = None,
    pkce_required: bool | None = None,
    pkce_methods: tuple[str, ...] = METHODS,
    scope_templates: tuple[str, ...] | None = None,
    choice: ChoiceFinder | None = None,
) -> None:
    """Serve the authorisation server of each bank ``find`` knows under ``base`` (a prefix
    with ``{fsp_id}``); ``intent`` reads what a request authorises, for this mount's
    dialect (else the server's own reader), ``pkce_required`` whether its requests must
    carry PKCE (None: as the server says) and ``pkce_methods`` with which challenge
    methods, ``scope_templates`` the per-request scopes it may ask besides the server's
    (``PIS:{paymentId}``; None: as the server says), ``choice`` which account a headless
    ``sim_account`` may name. The PSU pages are mounted with the first."""
    mounts = app.get(_MOUNTS)
    if mounts is None:
        mounts = app[_MOUNTS] = _Mounts()
        add_psu_pages(app, PAGE_PATH, partial(_journey, mounts))
    mount = _Mount(base, find, intent, pkce_required, pkce_methods, scope_templates, choice)
    mounts.all.append(mount)
    routes = _Routes(mount)
    handlers = {
        "/.well-known/openid-configuration": routes.discovery,
        "/.well-known/oauth-authorization-server": routes.discovery,
        "/jwks": routes.jwks,
        "/token": routes.token,
        "/authorize": routes.authorize,
    }
    for endpoint, method in ENDPOINTS.items():
        path, handler = base + endpoint, handlers[endpoint]
        if method == "GET":
            app.router.add_get(path, handler)  # and HEAD
        else:
            app.router.add_route(method, path, handler)
        # Any other method on the same resource: the OAuth error JSON with a 405 (never the
        # FSPIOP catch-all's 404, nor a dialect's "no resource here").
        app.router.add_route("*", path, partial(_wrong_method, method))


@dataclass(frozen=True, slots=True)
class _Headless:
    """A decision made on the authorisation URL itself (``sim_decision``)."""

    approve: bool
    psu: str | None
    accounts: list[str]


class _Routes:
    """The handlers of one mount."""

    def __init__(self, mount: _Mount) -> None:
        self._mount = mount

    async def discovery(self, request: web.Request) -> web.Response:
        sim, fsp_id = request.app[SIMULATION], request.match_info["fsp_id"]
        try:
            server, _ = self._mount.find(sim, fsp_id)
        except UnknownAuthorizationServer as exc:
            return _unknown_bank(exc)
        issuer = self._mount.issuer(sim, fsp_id)
        return web.json_response(server.metadata(issuer, pkce_methods=self._mount.pkce_methods))

    async def jwks(self, request: web.Request) -> web.Response:
        try:
            server, _ = self._mount.find(request.app[SIMULATION], request.match_info["fsp_id"])
        except UnknownAuthorizationServer as exc:
            return _unknown_bank(exc)
        return web.json_response(server.jwks())

    async def token(self, request: web.Request) -> web.Response:
        sim = request.app[SIMULATION]
        try:
            fsp_id = request.match_info["fsp_id"]
            server, _ = self._mount.find(sim, fsp_id)
            form = await _read_form(request, sim.config.server.body_timeout_s)
            issuer = self._mount.issuer(sim, fsp_id)
            answer = server.token(form, request.headers.get("Authorization"), issuer=issuer)
        except UnknownAuthorizationServer as exc:
            return _unknown_bank(exc)
        except OAuthError as exc:
            return _json_error(exc)
        return web.json_response(answer, headers=_NO_STORE)

    async def authorize(self, request: web.Request) -> web.Response:
        sim, fsp_id = request.app[SIMULATION], request.match_info["fsp_id"]
        try:
            server, approval = self._mount.find(sim, fsp_id)
        except UnknownAuthorizationServer as exc:
            return _unknown_bank(exc)
        try:
            query = _sent_query(request.rel_url.raw_query_string)
            params, repeated = _single_values(query)
            headless = _headless(query, sim.config.psd2(fsp_id).headless)
            pending = server.authorize(
                params,
                intent=self._mount.intent,
                issuer=self._mount.issuer(sim, fsp_id),
                repeated=repeated,
                pkce_required=self._mount.pkce_required,
                pkce_methods=self._mount.pkce_methods,
                scope_templates=self._mount.scope_templates,
            )
            page = _public_url(sim) + PAGE_PATH.format(
                fsp_id=quote(fsp_id, safe=""), journey_id=quote(pending.id, safe="")
            )
            choice = None if headless is None else self._mount.choice_of(sim, fsp_id, pending)
            location = _next(server, approval, pending, headless, page, choice)
        except OAuthError as exc:
            if exc.redirect is None:
                return _error_page(exc)
            location = exc.redirect
        return web.Response(status=302, headers={"Location": location, **_REDIRECT_HEADERS})


def _next(
    server: AuthorizationServer,
    approval: IntentApproval,
    pending: PendingAuthorization,
    headless: _Headless | None,
    page: str,
    choice: AccountChoice | None,
) -> str:
    """Where the browser goes once the request is accepted: the PSU ``page``, or with a
    headless decision the client's redirect URI (``access_denied`` for a ``sim_account``
    that ``choice`` refuses, as the admin decision would)."""
    from tpsim.auth.oauth import OAuthJourney

    refusal = _intent_refusal(approval, pending)
    if refusal is not None:
        return server.refuse(pending.id, error="invalid_request", description=refusal)
    if headless is None:
        return page
    journey = OAuthJourney(server, pending.id, approval)
    refused = _account_refused(choice, headless)
    if refused is not None:
        return server.refuse(pending.id, description=refused)
    try:
        if headless.approve:
            return journey.approve(headless.psu, None, headless.accounts)
        return journey.deny()
    except JourneyEnded as exc:  # the journey has refused the request, saying why
        return exc.redirect
    except LoginRefused as exc:
        if isinstance(exc, WrongPassword) and exc.redirect is not None:
            return exc.redirect
        return server.refuse(pending.id, description=str(exc))


def _account_refused(choice: AccountChoice | None, headless: _Headless) -> str | None:
    """Why an approval's ``sim_account`` may not pay (``AccountChoice``), or None."""
    if choice is None or not headless.approve:
        return None
    for account in headless.accounts:
        refused = choice.refusal(headless.psu, account, "sim_account")
        if refused is not None:
            return refused
    return None


def _intent_refusal(approval: IntentApproval, pending: PendingAuthorization) -> str | None:
    """Why the dialect cannot ask the user about the request's intent, or None."""
    from tpsim.auth.oauth import intent_owned

    try:
        refusal = intent_owned(approval, pending)
        if refusal is not None or pending.intent_id is None:
            return refusal
        return approval.view(pending.intent_id).closed
    except UnknownJourney as exc:
        return str(exc)


def _headless(query: MultiMapping[str], enabled: bool) -> _Headless | None:
    """The headless decision on the URL, or None (none given, or headless is off: then
    the page asks the user, as it would without it)."""
    decision = query.get("sim_decision")
    if decision is None or not enabled:
        return None
    if decision not in ("approve", "deny"):
        raise OAuthError(
            "invalid_request", f"sim_decision must be approve or deny, not {decision!r}"
        )
    accounts = [a for a in query.getall("sim_account", []) if a]
    return _Headless(decision == "approve", query.get("sim_psu") or None, accounts)


def _sent_query(raw: str) -> MultiDict[str]:
    """The query ``raw`` (as sent) decoded once, as RFC 6749 Appendix B's form encoding.
    Not ``request.query``: yarl decodes bytes that are not UTF-8 to U+FFFD, so a
    ``redirect_uri`` with ``%FF`` would be compared, and answered, as another URI than the
    one sent. Such a client_id or redirect_uri is refused (invalid_request, shown: it
    cannot be trusted); any other parameter is read as before, U+FFFD and all, for its
    own check to refuse it back at the client."""
    query: MultiDict[str] = MultiDict()
    for pair in raw.split("&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition("=")
        name = unquote_plus(raw_name, errors="replace")
        try:
            value = unquote_plus(raw_value, errors="strict")
        except UnicodeDecodeError:
            if name in _TRUSTED_FIRST:
                raise OAuthError(
                    "invalid_request",
                    f"{name} is not UTF-8 once its percent-encoding is decoded: send it"
                    " exactly as registered, percent-encoded as UTF-8 (a literal % as %25)",
                ) from None
            value = unquote_plus(raw_value, errors="replace")
        query.add(name, value)
    return query


def _single_values(query: MultiMapping[str]) -> tuple[dict[str, str], set[str]]:
    """The request's parameters (blank ones are omitted, RFC 6749 3.1; tpsim's own
    ``sim_*`` are not OAuth's) and the names sent more than once."""
    params: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in query.items():
        if name in _SIM or not value:
            continue
        if name in params:
            repeated.add(name)
        params.setdefault(name, value)
    return params, repeated


def _journey(mounts: _Mounts, sim: Simulation, fsp_id: str, journey_id: str) -> PsuJourney:
    """The PSU page's journey: the pending authorisation ``journey_id`` of bank
    ``fsp_id``, with the dialect of the mount it was asked at."""
    from tpsim.auth.oauth import OAuthJourney

    for mount in mounts.all:
        try:
            server, approval = mount.find(sim, fsp_id)
            pending = server.pending(journey_id)
        except (UnknownAuthorizationServer, PendingClosed):
            continue
        if pending.issuer == mount.issuer(sim, fsp_id):
            return OAuthJourney(server, journey_id, approval)
    raise UnknownJourney("authorisation", f"{fsp_id} has no OAuth authorisation {journey_id}")


async def _read_form(request: web.Request, timeout_s: float) -> dict[str, str]:
    """A token request's form (RFC 6749 3.2: form-encoded, each parameter once, a blank
    one omitted), or ``OAuthError`` invalid_request saying what is wrong."""
    if request.content_type != _FORM_TYPE:
        raise OAuthError(
            "invalid_request",
            f"send the token request as {_FORM_TYPE} (RFC 6749 4.1.3), not {request.content_type}",
        )
    try:
        data = await read_at_most(request, _MAX_FORM_BYTES, timeout_s)
    except BodyRefused as exc:
        raise OAuthError(
            "invalid_request", f"the form could not be read: {exc.detail}", status=exc.status
        ) from None
    try:
        fields = parse_qsl(data.decode(), errors="strict", max_num_fields=_MAX_FORM_FIELDS)
    except ValueError as exc:  # not UTF-8 (UnicodeDecodeError), or too many fields
        raise OAuthError(
            "invalid_request", f"the body is not URL-encoded UTF-8 form data: {exc}"
        ) from None
    form: dict[str, str] = {}
    for name, value in fields:
        if name in form:
            raise OAuthError("invalid_request", f"send each parameter once (RFC 6749 3.2): {name}")
        form[name] = value
    return form


def _json_error(exc: OAuthError) -> web.Response:
    headers = dict(_NO_STORE)
    if exc.www_authenticate is not None:
        headers["WWW-Authenticate"] = exc.www_authenticate
    return web.json_response(exc.body(), status=exc.status, headers=headers)


async def _wrong_method(allowed: str, request: web.Request) -> web.Response:
    return method_refusal(f"{request.method} is not allowed on {request.path}", allowed)


def method_refusal(text: str, allowed: str) -> web.Response:
    """405 (RFC 9110 15.5.6, with ``Allow``) in the JSON of RFC 6749 5.2: ``text`` says
    what was refused, ``allowed`` is the endpoint's method (``ENDPOINTS``)."""
    refusal = OAuthError("invalid_request", f"{text}: use {allowed}", status=405)
    response = _json_error(refusal)
    response.headers["Allow"] = f"{allowed}, HEAD" if allowed == "GET" else allowed
    return response


def malformed_refusal(text: str) -> web.Response:
    """400 ``invalid_request`` in the JSON of RFC 6749 5.2: a head the HTTP parser refused
    on an endpoint (``ENDPOINTS``), ``text`` saying what and how to fix it."""
    return _json_error(OAuthError("invalid_request", text))


def _unknown_bank(exc: UnknownAuthorizationServer) -> web.Response:
    return _json_error(OAuthError("invalid_request", str(exc), status=404))


def _error_page(exc: OAuthError) -> web.Response:
    """What the user sees when the client cannot be told (RFC 6749 4.1.2.1): plain text,
    so nothing the request carried can become markup (the description echoes the
    client_id or redirect_uri asked, as printable ASCII only: ``OAuthError``), and
    ``nosniff`` so that no browser reads it as HTML anyway."""
    text = (
        "This authorisation request cannot be answered, and the application that sent you"
        f" here cannot be told.\n\n{exc.error}: {exc.description}\n"
    )
    headers = {**_REDIRECT_HEADERS, "X-Content-Type-Options": "nosniff"}
    return web.Response(text=text, status=exc.status, headers=headers)
