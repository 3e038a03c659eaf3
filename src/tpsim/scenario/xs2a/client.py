"""The built-in TPP's client side: requests to a simulated bank's XS2A interface with the
headers a TPP sends, what it remembers of its payments and authorisations, and a browser's
way of submitting the bank's SCA page.

Every request carries a new ``X-Request-ID`` (a UUID), ``PSU-IP-Address``, ``Content-Type``
with a body, and ``TPP-Client-ID`` / ``PSU-ID`` when the step names them; a step's
``headers`` override these (null removes one, so header errors can be written). What the
TPP learns from the answers (the bank, service and product of each payment, the approach
the bank chose, each authorisation's ``scaStatus`` and links) is kept in the scenario's
variables (``XS2A``) for later steps, beside the ``${payment_id}``, ``${authorisation_id}``,
``${sca_redirect}`` and ``${links}`` the user sees.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tpsim.scenario.harness import Answer, payload
from tpsim.scenario.registry import Sent
from tpsim.scenario.results import Failure, FailureKind
from tpsim.scenario.session import Session, StepFailed
from tpsim.scenario.tpp_token import overridden, tpp_request
from tpsim.scenario.xs2a.params import TppCall

XS2A = "xs2a"  # the variable the TPP's memory is kept in
_RELATIVE = re.compile(r"^([+-])(\d{1,4})d$")
_AUTHORISATION_LINK = re.compile(r"/(cancellation-)?authorisations/([^/?#]+)$")


@dataclass(slots=True)
class KnownPayment:
    """A payment the TPP initiated: where it is, and what the bank said of its SCA."""

    bank: str
    service: str
    product: str
    approach: str | None = None  # ASPSP-SCA-Approach, upper case
    psu_id: str | None = None


@dataclass(slots=True)
class KnownAuthorisation:
    """An authorisation of a payment (or its cancellation), as its answers described it."""

    payment: str
    cancellation: bool
    sca_status: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)  # authenticationMethodIds offered


@dataclass(slots=True)
class Memory:
    """What the TPP knows of the payments and authorisations of one scenario."""

    payments: dict[str, KnownPayment] = field(default_factory=dict)
    authorisations: dict[str, KnownAuthorisation] = field(default_factory=dict)

    def latest(self, payment: str, *, cancellation: bool) -> str | None:
        """The payment's authorisation started last (of that kind), if any."""
        found = [
            auth_id
            for auth_id, auth in self.authorisations.items()
            if auth.payment == payment and auth.cancellation == cancellation
        ]
        return found[-1] if found else None


def memory(session: Session) -> Memory:
    """The scenario's ``Memory`` (made on first use; each matrix cell has its own)."""
    return session.variables.kept(XS2A, Memory)


@dataclass(frozen=True, slots=True)
class Where:
    """A payment's resource: ``/xs2a/{bank}/v1/{service}/{product}/{payment}``."""

    bank: str
    service: str
    product: str
    payment: str

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.product}/{self.payment}"

    def authorisations(self, cancellation: bool) -> str:
        kind = "cancellation-authorisations" if cancellation else "authorisations"
        return f"{self.path}/{kind}"


def where(
    session: Session, payment: str, bank: str | None, service: str | None, product: str | None
) -> Where:
    """The payment's resource: what the step names, else what its initiation said, else the
    built-in defaults (dfspa, payments, sepa-credit-transfers)."""
    known = memory(session).payments.get(payment)
    return Where(
        bank or (known.bank if known else "dfspa"),
        service or (known.service if known else "payments"),
        product or (known.product if known else "sepa-credit-transfers"),
        payment,
    )


def request_headers(
    call: TppCall, *, body: bool, psu_id: str | None = None, more: dict[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """The headers to send and the names the step removed (which the HTTP client must not
    add back on its own)."""
    sent = {"X-Request-ID": str(uuid.uuid4()), "PSU-IP-Address": call.psu_ip}
    if body:
        sent["Content-Type"] = "application/json"
    if call.tpp is not None:
        sent["TPP-Client-ID"] = call.tpp
    if psu_id is not None:
        sent["PSU-ID"] = psu_id
    sent.update(more or {})
    return overridden(sent, call.headers)


async def send(
    session: Session,
    call: TppCall,
    method: str,
    bank: str,
    path: str,
    body: Any = None,
    *,
    raw: str | None = None,
    psu_id: str | None = None,
    more: dict[str, str] | None = None,
) -> tuple[Answer, dict[str, Any]]:
    """One request to ``bank``'s XS2A interface (``path`` under its ``/v1``); returns the
    answer and what was sent, for the step's report."""
    data = payload(body, raw)
    headers = request_headers(call, body=data is not None, psu_id=psu_id, more=more)
    return await tpp_request(session, method, f"/xs2a/{bank}/v1{path}", body, data, headers)


def links_of(answer: Answer) -> dict[str, str]:
    """An answer's ``_links`` by name (``{"scaRedirect": "http://…", …}``)."""
    found = answer.body.get("_links") if isinstance(answer.body, dict) else None
    if not isinstance(found, dict):
        return {}
    return {
        name: str(link["href"])
        for name, link in found.items()
        if isinstance(link, dict) and "href" in link
    }


def learn(
    session: Session,
    answer: Answer,
    payment: str | None,
    auth_id: str | None = None,
    *,
    cancellation: bool = False,
) -> str | None:
    """Remember what an answer about ``payment`` says of its authorisation (``auth_id``, or
    the one its body or ``scaStatus`` link names) and set the user's variables; returns the
    authorisation's id."""
    if not isinstance(answer.body, dict) or answer.status >= 300 or payment is None:
        return auth_id
    links = links_of(answer)
    if links:
        session.variables.set("links", links)
    if "scaRedirect" in links:
        session.variables.set("sca_redirect", links["scaRedirect"])
    named = answer.body.get("authorisationId")
    linked = _AUTHORISATION_LINK.search(links.get("scaStatus", ""))
    if isinstance(named, str):
        auth_id = named
    elif auth_id is None and linked is not None:
        auth_id, cancellation = linked.group(2), linked.group(1) is not None
    if auth_id is None:
        return None
    known = memory(session).authorisations.setdefault(
        auth_id, KnownAuthorisation(payment, cancellation)
    )
    if isinstance(answer.body.get("scaStatus"), str):
        known.sca_status = answer.body["scaStatus"]
    known.links.update(links)
    methods = answer.body.get("scaMethods")
    if isinstance(methods, list):
        known.methods = [str(m.get("authenticationMethodId")) for m in methods]
    session.variables.set("authorisation_id", auth_id)
    return auth_id


def sent(
    answer: Answer | None,
    required: int | None,
    payment: str | None,
    records: list[dict[str, Any]],
    redirect: dict[str, str] | None = None,
) -> Sent:
    """What a step did; its conversation is ``payment`` (the journal links a refusal of a
    request about a payment to it too), or the whole scenario when the step names none."""
    return Sent(answer, required, payment, records, redirect)


async def clock_date(session: Session, value: str | None) -> str | None:
    """A step's date as an ISO date: ``today``, ``+Nd`` and ``-Nd`` count from tpsim's
    clock (which earlier steps may have advanced), anything else is sent as written."""
    if value is None or (value != "today" and not _RELATIVE.match(value)):
        return value
    # Advancing by 0 s answers tpsim's time and changes nothing: the admin API's only clock.
    answer = await session.target.admin("POST", "/admin/clock/advance", {"seconds": 0})
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise StepFailed(
            Failure(FailureKind.ERROR, f"tpsim's clock is unreadable: {answer.body}", session.step)
        )
    today = date.fromisoformat(str(answer.body["now"])[:10])
    found = _RELATIVE.match(value)
    if found is None:
        return today.isoformat()
    days = int(found.group(2)) * (1 if found.group(1) == "+" else -1)
    return (today + timedelta(days=days)).isoformat()


def redirect_of(location: str) -> dict[str, str]:
    """A browser redirect as a step's ``expect.redirect`` sees it: its query parameters
    and the whole URL as ``location``."""
    return {**dict(parse_qsl(urlsplit(location).query)), "location": location}


def with_query(url: str, **query: str | None) -> str:
    given = {k: v for k, v in query.items() if v is not None}
    return f"{url}{'&' if '?' in url else '?'}{urlencode(given)}" if given else url


def failed(session: Session, message: str, kind: FailureKind = FailureKind.ERROR) -> StepFailed:
    return StepFailed(Failure(kind, message, session.step))


# --- the bank's SCA page, as a browser submits it -------------------------------------------


class _Form(HTMLParser):
    """The fields a browser would submit from a page's first form: hidden inputs and
    ticked checkboxes (the submit button and the password are the user's)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._forms = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._forms += 1
        if tag != "input" or self._forms != 1 or "name" not in values:
            return
        kind = values.get("type", "text").lower()
        if kind == "hidden" or (kind == "checkbox" and "checked" in values):
            self.fields.append((values["name"], values.get("value", "")))


def form_fields(html: str) -> list[tuple[str, str]]:
    parser = _Form()
    parser.feed(html)
    return parser.fields
