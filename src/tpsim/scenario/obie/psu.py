"""The PSU at their bank for the built-in UK TPP: the OAuth 2.0 authorisation request
(``obie.authorise``) and the PSU's decision in the bank's app (``obie.decide``).

The TPP sends the PSU's browser to ``/obie/{bank}/authorize`` with the consent as the
``openbanking_intent_id`` claim of a request object (OIDC Core §6; unsigned, which the
lenient default bank accepts) or as a plain parameter. The bank answers at once with
``sim_decision`` (headless), or through its consent page, signed in as a browser would,
or waits for the admin API's decision. The browser's return to the TPP's redirect URI is
the step's outcome (it is not followed: the redirect URI is no server of the test); the
code in it is exchanged at ``/token`` for the PSU's token, bound to that consent.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from tpsim.scenario.browser import browse
from tpsim.scenario.harness import Answer
from tpsim.scenario.obie import params as p
from tpsim.scenario.obie.client import (
    failed,
    redirect_params,
    token_request,
    unsigned_jwt,
    where,
)
from tpsim.scenario.registry import Sent
from tpsim.scenario.session import Session
from tpsim.scenario.xs2a.client import form_fields

_CHOSEN = re.compile(r'<input type="radio" name="account" value="([^"]+)" checked>')
_SIGN_IN = 'name="decision" value="sign_in"'  # a consent that names no debtor account


async def authorise(session: Session, params: p.AuthoriseConsent, within: float) -> Sent:
    at = where(session, params, consent=params.consent)
    base = f"{session.target.url}/obie/{at.bank}"
    url = f"{base}/authorize?{urlencode(_query(params, base))}"
    records: list[dict[str, Any]] = []
    answer = await browse(session, "GET", url, records)
    location = answer.headers.get("Location")
    if params.password is not None and answer.status == 302 and location is not None:
        answer = await _sign_in(session, location, params, records)
        location = answer.headers.get("Location")
        required = 303
    else:
        required = 302
    if answer.status != required or location is None:
        return Sent(answer, required, params.consent, records)
    if not params.headless and params.password is None:
        session.variables.set("consent_page", location)  # the PSU has yet to decide
        return Sent(answer, required, params.consent, records, redirect_params(location))
    return await _returned(session, params, answer, location, records)


def _query(params: p.AuthoriseConsent, issuer: str) -> dict[str, str]:
    """The authorisation request's parameters: OAuth's, the intent (in a request object
    or plain), the headless decision, then the step's ``query``."""
    oauth = {
        "response_type": params.response_type,
        "client_id": params.client_id,
        "redirect_uri": params.redirect_uri,
        "scope": params.scope,
        "state": params.state,
        "nonce": params.nonce,
        "response_mode": params.response_mode,
    }
    query: dict[str, str | None] = dict(oauth)
    if params.request_object:
        intent = {"openbanking_intent_id": {"value": params.consent, "essential": True}}
        claims = {k: v for k, v in oauth.items() if v is not None}
        claims |= {"iss": params.client_id, "aud": issuer}
        query["request"] = unsigned_jwt(claims | {"claims": {"id_token": intent}})
    else:
        query["openbanking_intent_id"] = params.consent
    if params.headless and params.password is None:
        query |= {"sim_decision": params.decision, "sim_psu": params.psu}
        query["sim_account"] = params.account
    query |= params.query
    return {k: v for k, v in query.items() if v is not None}


async def _sign_in(
    session: Session, page: str, params: p.AuthoriseConsent, records: list[dict[str, Any]]
) -> Answer:
    """Open the consent page and submit its form as a browser would (its token, the
    account chosen, the password, the decision button). A consent that names no debtor
    account has the PSU sign in first (``psu``), then choose among their accounts."""
    shown = await browse(session, "GET", page, records)
    if shown.status != 200:
        return shown
    html, password = str(shown.body), params.password
    if _SIGN_IN in html and params.decision == "approve":
        if params.psu is None:
            raise failed(session, "the consent page asks who signs in first: give psu (mits)")
        signing_in = [("user", params.psu), ("password", password or ""), ("decision", "sign_in")]
        shown = await _post(session, page, records, form_fields(html) + signing_in)
        if shown.status != 200:
            return shown
        html, password = str(shown.body), None  # the page vouches for the sign-in now
    form = form_fields(html)
    account = params.account or next(iter(_CHOSEN.findall(html)), None)
    if account is not None:
        form.append(("account", account))
    if password is not None:
        form.append(("password", password))
    form.append(("decision", params.decision))
    if params.psu is not None and all(name != "user" for name, _ in form):
        form.append(("user", params.psu))
    return await _post(session, page, records, form)


async def _post(
    session: Session, page: str, records: list[dict[str, Any]], form: list[tuple[str, str]]
) -> Answer:
    return await browse(session, "POST", page, records, urlencode(form).encode())


async def _returned(
    session: Session,
    params: p.CodeExchange,
    answer: Answer,
    location: str,
    records: list[dict[str, Any]],
) -> Sent:
    """The browser back at the TPP: the code exchanged for the PSU's token (the step's
    answer is then the token's), or the redirect as it came (an error, no exchange)."""
    redirect = redirect_params(location)
    code = redirect.get("code")
    required = answer.status
    if code is None or not params.exchange:
        if code is not None:
            session.variables.set("auth_code", code)
        return Sent(answer, required, params.consent, records, redirect)
    session.variables.set("auth_code", code)
    token_params = p.Token(
        bank=where(session, params, consent=params.consent).bank,
        grant_type="authorization_code",
        code=code,
        redirect_uri=params.redirect_uri,
        client_id=params.client_id,
        client_secret=params.client_secret,
    )
    exchanged = await token_request(session, token_params, params.consent)
    return Sent(exchanged.answer, 200, params.consent, records + exchanged.messages, redirect)


async def decide(session: Session, params: p.DecideConsent, within: float) -> Sent:
    path = f"/admin/psd2/authorisations/{params.consent}/decision"
    given = {"decision": params.decision, "psu": params.psu, "account": params.account}
    body = {key: value for key, value in given.items() if value is not None}
    answer = await session.target.admin("POST", path, body)
    records: list[dict[str, Any]] = [{"method": "POST", "path": path, "body": body}]
    found = answer.body.get("redirect") if isinstance(answer.body, dict) else None
    if answer.status != 200 or not isinstance(found, str):
        return Sent(answer, 200, params.consent, records)
    return await _returned(session, params, answer, found, records)
