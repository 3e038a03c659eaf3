"""The PSU page family: a simulated bank's page where a user signs in, picks accounts and
approves or denies what a PISP / TPP asks, for any dialect's ``PsuJourney``.

    GET  {path}   the form: who asks what, the accounts to choose from
    POST {path}   decision=approve (password, account…, optional user) → 303 to the
                  journey's redirect; decision=deny → 303 to its redirect
                  refused input → the form again with the reason (401, 400);
                  a journey that no longer waits → 409; an unknown one → 404

A dialect mounts the family at its own path with ``{fsp_id}`` and ``{journey_id}`` and a
``JourneyFinder`` (``add_psu_pages``). Everything shown is escaped; the pages are never
cached.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from importlib import resources
from string import Template

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from tpsim.auth.psu import PsuJourney, PsuView, UnknownJourney
from tpsim.errors import LoginRefused
from tpsim.serve.edge import SIMULATION
from tpsim.serve.simulation import Simulation

_PAGE = Template(resources.files("tpsim.serve").joinpath("login.html").read_text("utf-8"))
_NO_STORE = {"Cache-Control": "no-store"}

# (the simulation, fspId, the journey's id) → the journey, or ``UnknownJourney``.
JourneyFinder = Callable[[Simulation, str, str], PsuJourney]
Form = MultiDictProxy[str | bytes | bytearray | FileField]


class PsuPages:
    """The GET and POST handlers of one mounted page family."""

    def __init__(self, find: JourneyFinder) -> None:
        self._find = find

    async def show(self, request: web.Request) -> web.Response:
        try:
            view = self._journey(request).view()
        except UnknownJourney as exc:
            return _unknown(exc)
        return _form(view)

    async def submit(self, request: web.Request) -> web.Response:
        form = await request.post()
        try:
            journey = self._journey(request)
        except UnknownJourney as exc:
            return _unknown(exc)
        try:
            location = _decide(journey, form)
        except UnknownJourney as exc:
            return _unknown(exc)
        except LoginRefused as exc:
            if exc.http_status == 409:
                return _page("Nothing to approve", f"<p>{escape(str(exc))}</p>", status=409)
            return _form(journey.view(), error=str(exc), status=exc.http_status)
        return web.Response(status=303, headers={"Location": location, **_NO_STORE})

    def _journey(self, request: web.Request) -> PsuJourney:
        info = request.match_info
        return self._find(request.app[SIMULATION], info["fsp_id"], info["journey_id"])


def add_psu_pages(app: web.Application, path: str, find: JourneyFinder) -> None:
    """Serve the page family at ``path`` (with ``{fsp_id}`` and ``{journey_id}``)."""
    pages = PsuPages(find)
    app.router.add_get(path, pages.show)
    app.router.add_post(path, pages.submit)


def _decide(journey: PsuJourney, form: Form) -> str:
    decision = form.get("decision")
    if decision == "deny":
        return journey.deny()
    if decision != "approve":
        raise LoginRefused("choose Approve or Deny", http_status=400)
    user, password = _text(form, "user"), _text(form, "password")
    accounts = [v for v in form.getall("account", []) if isinstance(v, str)]
    return journey.approve(user, password or "", accounts)


def _text(form: Form, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _unknown(exc: UnknownJourney) -> web.Response:
    return _page(f"Unknown {exc.what}", f"<p>{escape(str(exc))}</p>", status=404)


def _form(view: PsuView, *, error: str | None = None, status: int = 200) -> web.Response:
    if view.closed is not None:
        content = f"<p>{escape(view.closed)}</p>"
        return _page("Nothing to approve", content, status=409, bank=view.bank)
    rows = "".join(
        f'<label><input type="checkbox" name="account" value="{escape(a.value)}" checked>'
        f' {escape(a.label)} <span class="actions">{escape(a.detail)}</span></label>'
        for a in view.accounts
    )
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    content = (
        f"<p><strong>{escape(view.requester)}</strong> {escape(view.purpose)}</p>{alert}"
        '<form method="post">'
        f"<p>Signing in as <strong>{escape(view.user_name)}</strong>"
        f" ({escape(view.user_id)})</p>"
        '<label>Password <input type="password" name="password"'
        ' autocomplete="current-password"></label>'
        f"<fieldset><legend>{escape(view.accounts_legend)}</legend>{rows}</fieldset>"
        '<button type="submit" name="decision" value="approve">Approve</button>'
        '<button type="submit" name="decision" value="deny">Deny</button>'
        "</form>"
    )
    return _page(f"Sign in to {view.bank}", content, status=status, bank=view.bank)


def _page(heading: str, content: str, *, status: int, bank: str | None = None) -> web.Response:
    title = f"{bank}: {heading}" if bank else heading
    html = _PAGE.substitute(title=escape(title), heading=escape(heading), content=content)
    return web.Response(text=html, content_type="text/html", status=status, headers=_NO_STORE)
