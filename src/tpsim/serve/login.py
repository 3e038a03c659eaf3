"""The simulated DFSPs' login page: the ``authUri`` of a WEB consent request.

    GET  /login/{fspId}/{consentRequestId}   the form: who asks, the accounts to link
    POST /login/{fspId}/{consentRequestId}   decision=approve (password, account…) → 303 to
                                             the callbackUri with ?consentRequestId=…&secret=…
                                             decision=deny → 303 with ?…&error=access_denied
                                             (the PISP also gets PUT …/error 6102)

The user may untick accounts: the consent then covers only those left (linking patterns
§3.4.1). Everything shown is escaped; the pages are never cached.
"""

from __future__ import annotations

from html import escape
from importlib import resources
from string import Template

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from tpsim.errors import LoginRefused
from tpsim.mojaloop.errors import ConsentRequestNotFound
from tpsim.mojaloop.message import Effects
from tpsim.mojaloop.roles.consent_requests import ConsentRequests, CrState, LoginView
from tpsim.serve.edge import SIMULATION

_PAGE = Template(resources.files("tpsim.serve").joinpath("login.html").read_text("utf-8"))
_NO_STORE = {"Cache-Control": "no-store"}


async def login_form(request: web.Request) -> web.Response:
    try:
        view = _requests(request).login_view(request.match_info["request_id"])
    except ConsentRequestNotFound as exc:
        return _page("Unknown consent request", f"<p>{escape(exc.detail)}</p>", status=404)
    return _form(view)


async def login_submit(request: web.Request) -> web.Response:
    request_id = request.match_info["request_id"]
    form = await request.post()
    try:
        requests = _requests(request)
        location, effects = _decide(requests, request_id, form)
    except ConsentRequestNotFound as exc:
        return _page("Unknown consent request", f"<p>{escape(exc.detail)}</p>", status=404)
    except LoginRefused as exc:
        if exc.http_status == 409:
            return _page("Nothing to approve", f"<p>{escape(str(exc))}</p>", status=409)
        return _form(requests.login_view(request_id), error=str(exc), status=exc.http_status)
    request.app[SIMULATION].router.submit_effects(request.match_info["fsp_id"], effects)
    return web.Response(status=303, headers={"Location": location, **_NO_STORE})


def _decide(
    requests: ConsentRequests,
    request_id: str,
    form: MultiDictProxy[str | bytes | bytearray | FileField],
) -> tuple[str, Effects]:
    decision = form.get("decision")
    if decision == "deny":
        return requests.deny(request_id)
    if decision != "approve":
        raise LoginRefused("choose Approve or Deny", http_status=400)
    password = form.get("password")
    accounts = [v for v in form.getall("account", []) if isinstance(v, str)]
    return requests.approve(request_id, password if isinstance(password, str) else "", accounts)


def _requests(request: web.Request) -> ConsentRequests:
    sim = request.app[SIMULATION]
    fsp_id = request.match_info["fsp_id"]
    dfsp = sim.dfsps.get(fsp_id)
    if dfsp is None:
        raise ConsentRequestNotFound(f"{fsp_id} is not a DFSP simulated by tpsim")
    return dfsp.consent_requests


def _form(view: LoginView, *, error: str | None = None, status: int = 200) -> web.Response:
    if view.state is not CrState.AUTHENTICATING:
        text = (
            f"Consent request {view.request_id} is not waiting for a sign-in (it is {view.state})."
        )
        return _page("Nothing to approve", f"<p>{escape(text)}</p>", status=409, dfsp=view.dfsp)
    rows = []
    for scope, account in view.accounts:
        address = escape(scope["address"])
        label = escape(f"{account.nickname} ({account.currency})" if account else scope["address"])
        actions = escape(", ".join(scope["actions"]))
        rows.append(
            f'<label><input type="checkbox" name="account" value="{address}" checked> {label}'
            f' <span class="actions">{address}: {actions}</span></label>'
        )
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    content = (
        f"<p><strong>{escape(view.pisp)}</strong> asks to link your accounts at"
        f" {escape(view.dfsp)}.</p>{alert}"
        '<form method="post">'
        f"<p>Signing in as <strong>{escape(view.user_name)}</strong>"
        f" ({escape(view.user_id)})</p>"
        '<label>Password <input type="password" name="password"'
        ' autocomplete="current-password"></label>'
        f"<fieldset><legend>Accounts to link</legend>{''.join(rows)}</fieldset>"
        '<button type="submit" name="decision" value="approve">Approve</button>'
        '<button type="submit" name="decision" value="deny">Deny</button>'
        "</form>"
    )
    return _page(f"Sign in to {view.dfsp}", content, status=status, dfsp=view.dfsp)


def _page(heading: str, content: str, *, status: int, dfsp: str | None = None) -> web.Response:
    title = f"{dfsp}: {heading}" if dfsp else heading
    html = _PAGE.substitute(title=escape(title), heading=escape(heading), content=content)
    return web.Response(text=html, content_type="text/html", status=status, headers=_NO_STORE)


def add_login_routes(app: web.Application) -> None:
    app.router.add_get("/login/{fsp_id}/{request_id}", login_form)
    app.router.add_post("/login/{fsp_id}/{request_id}", login_submit)
