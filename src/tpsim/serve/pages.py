"""The PSU page family: a simulated bank's page where a user signs in, picks accounts and
approves or denies what a PISP / TPP asks, for any dialect's ``PsuJourney``.

    GET  {path}   the form: who asks what, the accounts to choose from, the form's token;
                  for a view with ``sign_in_first``: user id and password, no accounts
    POST {path}   decision=approve (password, account…, optional user) → 303 to the
                  journey's redirect; decision=deny → 303 to its redirect
                  decision=sign_in (user, password; a ``SigningInJourney`` only, else
                  400) → the user's accounts from ``journey.sign_in`` with the proof
                  that they signed in (``signed_in``); decision=approve with that proof
                  (user, account) → ``journey.approve_signed_in`` → 303, a proof that is
                  not this user's on this journey → 403 "sign in again", nothing decided
                  a form that cannot be read → 400 (413 when too large) saying why;
                  an unknown journey → 404; a journey that no longer waits → 409;
                  without the page's token (``csrf``) → 403, nothing decided;
                  refused input → the form again with the reason (401, 400; a sign-in
                  journey's first step); a wrong password that ends the journey
                  (``auth.psu.WrongPassword`` with a redirect: the journey counts them)
                  → 403 with the way back; a refusal that ended the journey
                  (``auth.psu.JourneyEnded``: its requester is told) → 303 to its redirect

A dialect mounts the family at its own path with ``{fsp_id}`` and ``{journey_id}`` and a
``JourneyFinder`` (``add_psu_pages``). Everything shown is escaped; no page is cached,
framed by another site (clickjacking) or named in a ``Referer``.

The token is an HMAC of the journey under a key drawn when the family is mounted, so a
page of another site, which cannot read this one (same-origin policy), cannot submit it
for the user (cross-site request forgery). Only a form with the token counts towards the
wrong passwords, so another site cannot lock a user out either. The sign-in proof is an
HMAC of the journey and the user under the same key: the second step needs no password
again, and no one can make one for another user or another journey.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from base64 import urlsafe_b64encode
from collections.abc import Callable
from html import escape
from importlib import resources
from string import Template
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict

from tpsim.auth.psu import (
    JourneyEnded,
    PsuJourney,
    PsuView,
    SigningInJourney,
    UnknownJourney,
    WrongPassword,
)
from tpsim.errors import LoginRefused
from tpsim.serve.body import BodyRefused, read_at_most
from tpsim.serve.edge import SIMULATION
from tpsim.serve.simulation import Simulation

__all__ = ["CSRF_FIELD", "SIGNED_IN_FIELD", "JourneyFinder", "PsuPages", "add_psu_pages"]

_PAGE = Template(resources.files("tpsim.serve").joinpath("login.html").read_text("utf-8"))
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    # The page needs its own inline style and nothing else; frame-ancestors is what current
    # browsers obey instead of X-Frame-Options.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",  # the URL names the journey
}
_FORM_TYPE = "application/x-www-form-urlencoded"  # what the page's <form> sends
_MAX_FORM_FIELDS = 100
_MAX_FORM_BYTES = 64 * 1024  # a password, a few accounts and the token

CSRF_FIELD = "csrf"
SIGNED_IN_FIELD = "signed_in"  # the second step's proof that its user signed in

# (the simulation, fspId, the journey's id) → the journey, or ``UnknownJourney``.
JourneyFinder = Callable[[Simulation, str, str], PsuJourney]
JourneyKey = tuple[str, str]  # (fspId, the journey's id), as in the page's path
Form = MultiDict[str]


class SignInGuard:
    """The form's token per journey, and the proof that a user signed in on a journey's
    page: HMACs under a key drawn when the pages are mounted."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def token(self, journey: JourneyKey) -> str:
        return self._mac(*journey)

    def genuine(self, journey: JourneyKey, sent: str | None) -> bool:
        """Whether ``sent`` is the token of ``journey``'s form (compared in constant time)."""
        return _same(sent, self.token(journey))

    def signed_in(self, journey: JourneyKey, user: str) -> str:
        """The proof that ``user`` signed in on ``journey``'s page, which the second step
        carries instead of the password (labelled, so it is never a form's token)."""
        return self._mac("signed-in", *journey, user)

    def vouches(self, journey: JourneyKey, user: str, sent: str | None) -> bool:
        """Whether ``sent`` proves that ``user`` signed in on ``journey``'s page."""
        return _same(sent, self.signed_in(journey, user))

    def _mac(self, *parts: str) -> str:
        mac = hmac.new(self._key, json.dumps(parts).encode(), hashlib.sha256)
        return urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def _same(sent: str | None, expected: str) -> bool:
    """``sent`` is ``expected``, compared in constant time."""
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


class PsuPages:
    """The GET and POST handlers of one mounted page family."""

    def __init__(self, find: JourneyFinder) -> None:
        self._find = find
        self._guard = SignInGuard()

    async def show(self, request: web.Request) -> web.Response:
        try:
            view = self._journey(request).view()
        except UnknownJourney as exc:
            return _unknown(exc)
        return _form(view, self._guard.token(_key(request)))

    async def submit(self, request: web.Request) -> web.Response:
        try:
            form = await _read_form(request)
            journey = self._journey(request)
        except UnknownJourney as exc:
            return _unknown(exc)
        except LoginRefused as exc:
            content = f"<p>{escape(str(exc))}</p>"
            return _page("The form could not be read", content, status=exc.http_status)
        key = _key(request)
        if not self._guard.genuine(key, form.get(CSRF_FIELD)):
            return _page("Form not accepted", _NOT_FROM_THIS_PAGE, status=403)
        return self._decide(key, journey, form)

    def _decide(self, key: JourneyKey, journey: PsuJourney, form: Form) -> web.Response:
        try:
            view = journey.view()  # as it was asked: a locked-out page still names both
            return self._act(key, view, journey, form)
        except UnknownJourney as exc:
            return _unknown(exc)
        except JourneyEnded as exc:  # its requester is told: the user goes back there
            return _redirect(exc.redirect)
        except LoginRefused as exc:
            if exc.http_status == 409:
                return _page("Nothing to approve", f"<p>{escape(str(exc))}</p>", status=409)
            if isinstance(exc, WrongPassword) and exc.redirect is not None:
                return _locked_out(view, exc)
            token = self._guard.token(key)
            error, status = str(exc), exc.http_status
            return _form(view, token, error=error, status=status, user=form.get("user"))

    def _act(self, key: JourneyKey, view: PsuView, journey: PsuJourney, form: Form) -> web.Response:
        """What the submitted decision does: a redirect, or the sign-in's second step."""
        decision = form.get("decision")
        if decision == "deny":
            return _redirect(journey.deny())
        if decision == "sign_in":
            return self._sign_in(key, _signing_in(journey), form)
        if decision != "approve":
            raise LoginRefused("choose Approve or Deny", http_status=400)
        accounts = form.getall("account", [])
        if SIGNED_IN_FIELD not in form:
            password = form.get("password") or ""
            return _redirect(journey.approve(form.get("user"), password, accounts))
        signing_in, user = _signing_in(journey), form.get("user")
        if user is None or not self._guard.vouches(key, user, form.get(SIGNED_IN_FIELD)):
            return _page("Sign in again", _NOT_SIGNED_IN, status=403, bank=view.bank)
        return _redirect(signing_in.approve_signed_in(user, accounts))

    def _sign_in(self, key: JourneyKey, journey: SigningInJourney, form: Form) -> web.Response:
        """The first step's user id and password: the user's accounts to choose from."""
        user = (form.get("user") or "").strip()
        if not user:
            raise LoginRefused("enter your user id", http_status=400)
        view = journey.sign_in(user, form.get("password") or "")
        proof = self._guard.signed_in(key, user)
        return _form(view, self._guard.token(key), user=user, signed_in=proof)

    def _journey(self, request: web.Request) -> PsuJourney:
        fsp_id, journey_id = _key(request)
        return self._find(request.app[SIMULATION], fsp_id, journey_id)


def add_psu_pages(app: web.Application, path: str, find: JourneyFinder) -> None:
    """Serve the page family at ``path`` (with ``{fsp_id}`` and ``{journey_id}``)."""
    pages = PsuPages(find)
    app.router.add_get(path, pages.show)
    app.router.add_post(path, pages.submit)


_NOT_FROM_THIS_PAGE = (
    "<p>The form was not sent from this bank's page (its token is missing or wrong), so"
    " nothing was decided. Open the page again and submit it from there.</p>"
)


_NOT_SIGNED_IN = (
    "<p>This page cannot confirm who signed in (the sign-in is missing, or is another"
    " user's), so nothing was decided. Open the page again and sign in.</p>"
)


def _key(request: web.Request) -> JourneyKey:
    return request.match_info["fsp_id"], request.match_info["journey_id"]


async def _read_form(request: web.Request) -> Form:
    """The fields of the form as the page's own form sends them (URL-encoded UTF-8, the
    page's charset), or ``LoginRefused`` (400; 413 when too large) saying what is wrong."""
    if request.content_type != _FORM_TYPE:
        raise LoginRefused(
            f"send the form as {_FORM_TYPE}, as this page does, not {request.content_type}"
        )
    timeout = request.app[SIMULATION].config.server.body_timeout_s
    try:
        data = await read_at_most(request, _MAX_FORM_BYTES, timeout)
    except BodyRefused as exc:
        raise LoginRefused(
            f"the form could not be read: {exc.detail}", http_status=exc.status
        ) from None
    try:
        fields = parse_qsl(
            data.decode(), keep_blank_values=True, errors="strict", max_num_fields=_MAX_FORM_FIELDS
        )
    except ValueError as exc:  # not UTF-8 (UnicodeDecodeError), or too many fields
        raise LoginRefused(f"the form is not URL-encoded UTF-8 form data: {exc}") from None
    return MultiDict(fields)


def _signing_in(journey: PsuJourney) -> SigningInJourney:
    """``journey`` as one whose user signs in first, or ``LoginRefused`` (400)."""
    if not isinstance(journey, SigningInJourney):
        raise LoginRefused(
            "this page has no separate sign-in: enter your password and choose Approve or Deny"
        )
    return journey


def _locked_out(view: PsuView, exc: WrongPassword) -> web.Response:
    """The page after the last wrong password allowed: the journey has ended (the
    requester is told, as for a denial), with the way back."""
    assert exc.redirect is not None  # noqa: S101 - only a closing refusal comes here
    content = (
        f"<p>{escape(str(exc))}: {escape(view.bank)} has denied this request, and"
        f" {escape(view.requester)} is told so.</p>"
        f'<p><a href="{escape(exc.redirect)}">Back to {escape(view.requester)}</a></p>'
    )
    return _page("Too many wrong passwords", content, status=403, bank=view.bank)


def _unknown(exc: UnknownJourney) -> web.Response:
    return _page(f"Unknown {exc.what}", f"<p>{escape(str(exc))}</p>", status=404)


def _form(
    view: PsuView,
    token: str,
    *,
    error: str | None = None,
    status: int = 200,
    user: str | None = None,
    signed_in: str | None = None,
) -> web.Response:
    """The page's form for ``view``: password and accounts; with ``sign_in_first`` user id
    and password (``user`` as typed); with a ``signed_in`` proof, ``user``'s accounts."""
    if view.closed is not None:
        content = f"<p>{escape(view.closed)}</p>"
        return _page("Nothing to approve", content, status=409, bank=view.bank)
    hidden: list[tuple[str, str]] = [(CSRF_FIELD, token)]
    heading = f"Sign in to {view.bank}"
    if signed_in is not None and user is not None:
        hidden += [("user", user), (SIGNED_IN_FIELD, signed_in)]
        fields = _as(view, "Signed in") + _accounts(view) + _APPROVE_OR_DENY
        heading = f"Signed in to {view.bank}"
    elif view.sign_in_first:
        fields = _user_field(user or view.user_id) + _PW_INPUT + _SIGN_IN_OR_DENY
    else:
        fields = _as(view, "Signing in") + _PW_INPUT + _accounts(view) + _APPROVE_OR_DENY
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{escape(value)}">' for name, value in hidden
    )
    content = (
        f"<p><strong>{escape(view.requester)}</strong> {escape(view.purpose)}</p>{alert}"
        f'<form method="post">{inputs}{fields}</form>'
    )
    return _page(heading, content, status=status, bank=view.bank)


_PW_INPUT = (
    '<label>Password <input type="password" name="password"'
    ' autocomplete="current-password"></label>'
)
_DENY = '<button type="submit" name="decision" value="deny">Deny</button>'
_APPROVE_OR_DENY = f'<button type="submit" name="decision" value="approve">Approve</button>{_DENY}'
_SIGN_IN_OR_DENY = f'<button type="submit" name="decision" value="sign_in">Sign in</button>{_DENY}'


def _as(view: PsuView, doing: str) -> str:
    """Who the form is for: "Signing in as Pat (psu-1)"."""
    return f"<p>{doing} as <strong>{escape(view.user_name)}</strong> ({escape(view.user_id)})</p>"


def _user_field(user: str) -> str:
    return (
        f'<label>User id <input type="text" name="user" value="{escape(user)}"'
        ' autocomplete="username"></label>'
    )


def _accounts(view: PsuView) -> str:
    """The accounts to choose: one (radio, the first chosen) or any (all ticked)."""
    kind = "radio" if view.choose_one else "checkbox"
    rows = "".join(
        f'<label><input type="{kind}" name="account" value="{escape(a.value)}"'
        f"{' checked' if i == 0 or not view.choose_one else ''}>"
        f' {escape(a.label)} <span class="actions">{escape(a.detail)}</span></label>'
        for i, a in enumerate(view.accounts)
    )
    return f"<fieldset><legend>{escape(view.accounts_legend)}</legend>{rows}</fieldset>"


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, **_HEADERS})


def _page(heading: str, content: str, *, status: int, bank: str | None = None) -> web.Response:
    title = f"{bank}: {heading}" if bank else heading
    html = _PAGE.substitute(title=escape(title), heading=escape(heading), content=content)
    return web.Response(text=html, content_type="text/html", status=status, headers=_HEADERS)
