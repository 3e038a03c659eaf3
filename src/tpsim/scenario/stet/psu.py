"""The PSU at their bank for the built-in STET PISP: the ``consentApproval`` link of a
REDIRECT payment request (``stet.approve``), the same link as the bank's OAuth
``/authorize`` in the o-confirmation variant (``stet.authorize``), and the PSU's decision
in the bank's app (``stet.decide``).

The PISP sends the PSU's browser to the link. The bank answers at once with
``sim_decision`` (headless), or through its approval page, used as a browser would (seed
002's two steps when the request names no debtor account: sign in, then choose among the
accounts that can pay and approve), or waits for the admin API's decision. Where the bank
sends the browser back (the report URL, or the PISP's ``redirect_uri`` with the code) is
the step's outcome; it is not followed, as it is no server of the test. A code that comes
back is exchanged at ``/token`` for the PSU's token, bound to that payment request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tpsim.scenario.browser import browse
from tpsim.scenario.harness import Answer
from tpsim.scenario.obie.client import redirect_params
from tpsim.scenario.registry import Sent
from tpsim.scenario.results import FailureKind
from tpsim.scenario.session import Session
from tpsim.scenario.stet import params as p
from tpsim.scenario.stet.client import bank_of, failed, memory, token_request
from tpsim.scenario.xs2a.client import form_fields

# An account the page offers: its radio (or checkbox) and the label after it, which names
# the account's IBAN in parentheses.
_OFFERED = re.compile(
    r'<input type="(?:radio|checkbox)" name="account" value="([^"]*)"[^>]*>([^<]*)'
)
_SIGN_IN = 'name="decision" value="sign_in"'  # the first of seed 002's two steps
_OAUTH_LINK = "/authorize"


@dataclass(frozen=True, slots=True)
class Offered:
    """An account on the page: what its input sends, and the label the PSU reads."""

    value: str
    label: str

    def named(self, name: str) -> bool:
        """Whether ``name`` (an address or an alias such as the IBAN) is this account."""
        return name == self.value or f"({name})" in self.label


async def approve(session: Session, params: p.StetApprove, within: float) -> Sent:
    link = _approval_link(session, params, oauth=False)
    records: list[dict[str, Any]] = []
    if _headless(params):
        query = {"sim_decision": params.decision, "sim_psu": params.psu}
        answer = await browse(session, "GET", _with_query(link, query | _account(params)), records)
        return _back(params, answer, 302, records)
    answer = await on_page(session, link, params, records)
    if _stopped(params):
        session.variables.set("approval_page", link)  # the PSU has yet to decide
        return Sent(answer, 200, params.payment_request, records)
    return _back(params, answer, 303, records)


async def authorize(session: Session, params: p.StetAuthorize, within: float) -> Sent:
    link = _approval_link(session, params, oauth=True)
    query: dict[str, str | None] = {"redirect_uri": params.redirect_uri, "state": params.state}
    if _headless(params):
        query |= {"sim_decision": params.decision, "sim_psu": params.psu} | _account(params)
    records: list[dict[str, Any]] = []
    answer = await browse(session, "GET", _with_query(link, query | params.query), records)
    location = answer.headers.get("Location")
    if _headless(params) or answer.status != 302 or location is None:
        return await _returned(session, params, answer, 302, records)
    if _stopped(params):
        session.variables.set("approval_page", location)  # the PSU decides in the app
        return Sent(answer, 302, params.payment_request, records, redirect_params(location))
    answer = await on_page(session, location, params, records)
    return await _returned(session, params, answer, 303, records)


async def decide(session: Session, params: p.StetDecide, within: float) -> Sent:
    path = f"/admin/psd2/authorisations/{params.payment_request}/decision"
    given = {
        "decision": params.decision,
        "psu": params.psu,
        "account": params.account,
        "otp": params.otp,
    }
    body = {key: value for key, value in given.items() if value is not None}
    answer = await session.target.admin("POST", path, body)
    records: list[dict[str, Any]] = [{"method": "POST", "path": path, "body": body}]
    found = answer.body.get("redirect") if isinstance(answer.body, dict) else None
    if answer.status != 200 or not isinstance(found, str):
        return Sent(answer, 200, params.payment_request, records)
    return await _code_exchanged(session, params, answer, found, records)


# --- the bank's page, as a browser uses it ----------------------------------------------------


async def on_page(
    session: Session, page: str, params: p.StetPsu, records: list[dict[str, Any]]
) -> Answer:
    """Open the approval page and use it as a browser would: deny at once, or, given the
    password, sign in first when the page asks (seed 002), then choose the account and
    approve. The last answer is the page's redirect, or its refusal (or the page itself
    when the PSU is left there)."""
    shown = await browse(session, "GET", page, records)
    html = str(shown.body)
    if shown.status != 200:
        return shown
    if params.decision == "deny":  # a click: no sign-in needed
        return await _submit(session, page, records, form_fields(html), decision="deny")
    if params.password is None:
        return shown  # left open (_stopped)
    password: str | None = params.password
    if _SIGN_IN in html:
        if params.psu is None:
            raise failed(session, "the bank's page asks who signs in first: give psu (claire)")
        signed_in = [("user", params.psu), ("password", params.password)]
        shown = await _submit(
            session, page, records, form_fields(html) + signed_in, decision="sign_in"
        )
        if shown.status != 200:
            return shown
        html, password = str(shown.body), None  # the page vouches for the sign-in now
    fields = form_fields(html)
    chosen = _choose(session, html, params)
    if chosen is not None:
        fields.append(("account", chosen.value))
    if password is not None:
        fields.append(("password", password))
        if params.psu is not None:
            fields.append(("user", params.psu))
    return await _submit(session, page, records, fields, decision="approve")


def _headless(params: p.StetPsu) -> bool:
    """Whether the decision is ``sim_decision`` on the link (no page, no password)."""
    return params.headless and params.password is None


def _stopped(params: p.StetPsu) -> bool:
    """Whether the PSU is left at the page, to decide in the bank's app (stet.decide): an
    approval without the password to sign in with."""
    return params.decision == "approve" and params.password is None


async def _submit(
    session: Session,
    page: str,
    records: list[dict[str, Any]],
    fields: list[tuple[str, str]],
    *,
    decision: str,
) -> Answer:
    form = urlencode([*fields, ("decision", decision)]).encode()
    return await browse(session, "POST", page, records, form)


def _choose(session: Session, html: str, params: p.StetPsu) -> Offered | None:
    """The account to pay from among those the page offers (the step's, else the one the
    page chose); the page must offer exactly ``params.offered`` when given."""
    offered = [Offered(value, unescape(label).strip()) for value, label in _OFFERED.findall(html)]
    shown = ", ".join(o.label or o.value for o in offered) or "none"
    if params.offered is not None:
        missing = [n for n in params.offered if not any(o.named(n) for o in offered)]
        extra = [o for o in offered if not any(o.named(n) for n in params.offered)]
        if missing or extra:
            raise failed(
                session,
                f"the page offers {shown}, not exactly {', '.join(params.offered) or 'none'}",
                FailureKind.ASSERTION,
            )
    if params.account is None:
        return offered[0] if offered else None
    found = next((o for o in offered if o.named(params.account)), None)
    if found is None:
        raise failed(
            session,
            f"the page does not offer {params.account} to pay from (it offers {shown})",
            FailureKind.ASSERTION,
        )
    return found


# --- links and redirects ---------------------------------------------------------------------


def _approval_link(session: Session, params: p.PaymentRequestCall, *, oauth: bool) -> str:
    """The payment request's ``consentApproval`` link, of the kind the action drives (the
    bank's page, or its ``/authorize`` in the o-confirmation variant)."""
    known = memory(session).requests.get(params.payment_request)
    link = known.approval if known else None
    if link is None:
        how = f"its approach is {known.approach}" if known else "it was made elsewhere"
        raise failed(
            session,
            f"payment request {params.payment_request} has no consentApproval link ({how}):"
            " only REDIRECT sends the PSU to the bank (DECOUPLED: stet.decide;"
            " EMBEDDED-1-FACTOR: stet.confirm with the otp)",
        )
    if (urlsplit(link).path.endswith(_OAUTH_LINK)) != oauth:
        hint = (
            "its bank approves through OAuth (o_confirmation): use stet.authorize"
            if not oauth
            else "its bank approves on its own page: use stet.approve"
        )
        raise failed(session, f"payment request {params.payment_request}: {hint}")
    return link


def _account(params: p.StetPsu) -> dict[str, str | None]:
    return {"sim_account": params.account}


def _with_query(url: str, query: dict[str, str | None]) -> str:
    """``url`` with ``query`` merged into its own (a null removes a parameter)."""
    parts = urlsplit(url)
    merged: dict[str, str | None] = {**dict(parse_qsl(parts.query)), **query}
    given = {k: v for k, v in merged.items() if v is not None}
    return urlunsplit(parts._replace(query=urlencode(given)))


def _back(params: p.PaymentRequestCall, answer: Answer, required: int, records: list[Any]) -> Sent:
    """The browser sent back to the PISP (the report URL), as the step's redirect."""
    location = answer.headers.get("Location")
    redirect = redirect_params(location) if answer.status == required and location else None
    return Sent(answer, required, params.payment_request, records, redirect)


async def _returned(
    session: Session,
    params: p.StetAuthorize,
    answer: Answer,
    required: int,
    records: list[dict[str, Any]],
) -> Sent:
    location = answer.headers.get("Location")
    if answer.status != required or location is None:
        return Sent(answer, required, params.payment_request, records)
    return await _code_exchanged(session, params, answer, location, records)


async def _code_exchanged(
    session: Session,
    params: p.StetCodeExchange,
    answer: Answer,
    location: str,
    records: list[dict[str, Any]],
) -> Sent:
    """The browser back at the PISP: the code exchanged for the PSU's token (the step's
    answer is then the token's), or the redirect as it came (a report URL, an error)."""
    redirect = redirect_params(location)
    code = redirect.get("code")
    if code is None or not params.exchange:
        if code is not None:
            session.variables.set("auth_code", code)
        return Sent(answer, answer.status, params.payment_request, records, redirect)
    session.variables.set("auth_code", code)
    token_params = p.StetToken(
        bank=bank_of(session, params, params.payment_request),
        grant_type="authorization_code",
        code=code,
        redirect_uri=params.redirect_uri,
        client_id=params.client_id,
        client_secret=params.client_secret,
    )
    exchanged = await token_request(session, token_params, params.payment_request)
    messages = records + exchanged.messages
    return Sent(exchanged.answer, 200, params.payment_request, messages, redirect)
