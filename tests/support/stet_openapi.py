"""STET 1.4.2's payment-request API from the PISP's side, for the tests of the served edge.

No official STET OpenAPI ships with tpsim, so ``document`` builds an OpenAPI 3.0 document
of the five payment-request operations from tpsim's own wire models
(``stet.models``: ``PaymentRequestResource``, ``ConfirmationRequest`` as request bodies;
``PaymentRequestCreated``, ``PaymentRequestAnswer``, ``ErrorModel`` as answers), with the
security the edge applies (an OAuth bearer token; ``X-Request-ID``, ``Signature``,
``Digest``). Pydantic writes JSON Schema 2020-12; ``openapi30`` rewrites it as OpenAPI 3.0
reads it (a member that may be left out instead of a null branch, ``minItems`` for an
array's length). The models check codes, IBANs and URLs in Python, not in their schema,
so ``HINTS`` gives those members STET's code lists and, for the members the bank acts on
(accounts, report URLs, currencies), real values of the built-in config: positive data
then reaches the bank instead of stopping at the first check. The answers' schemas
(``Sent…``) are the models as they are, without hints. Schemathesis fuzzes the document
(``tests/serve/test_stet_fuzz.py``).

``Pisp`` is a STET PISP over aiohttp (its token from ``/stet/{fspId}/token``, the calls,
every answer checked as STET allows it), ``PsuBrowser`` the PSU's browser on the bank's
approval page (it fills and submits the page's one form as a person would), ``headless``
the ``sim_decision`` shortcut on an approval link, and ``with_stet`` the built-in
participants with a bank's STET profile changed.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import aiohttp
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from tests.stet.support import (
    CLAIRE,
    LIVRET,
    LOUIS,
    LUCA,
    NOK_URL,
    OK_URL,
    OUTSIDE,
    payment_request,
)
from tests.stet.support import check_answer as check_stet_answer
from tests.support.scheme import Scheme, default_config_data
from tpsim.stet import datatypes as dt
from tpsim.stet.api import Answer
from tpsim.stet.models import (
    ConfirmationRequest,
    ErrorModel,
    PaymentRequestAnswer,
    PaymentRequestCreated,
    PaymentRequestResource,
)

Body = dict[str, Any]
CLIENT = ("tpp-one", "tpp-one-secret")
CALLBACK = "https://tpp.example/cb"  # under tpp-one's redirect URIs; never contacted
REQUESTS = "payment-requests"

# -- the OpenAPI document ---------------------------------------------------------------

REQUEST = "/payment-requests"
RESOURCE = f"{REQUEST}/{{paymentRequestResourceId}}"
# (method, path, its body's model, its success status and model)
OPERATIONS: list[tuple[str, str, str | None, int, str]] = [
    ("POST", REQUEST, "PaymentRequestResource", 201, "PaymentRequestCreated"),
    ("GET", RESOURCE, None, 200, "PaymentRequestAnswer"),
    ("PUT", RESOURCE, "PaymentRequestResource", 200, "PaymentRequestAnswer"),
    ("POST", f"{RESOURCE}/confirmation", "ConfirmationRequest", 200, "PaymentRequestAnswer"),
    ("POST", f"{RESOURCE}/o-confirmation", "ConfirmationRequest", 200, "PaymentRequestAnswer"),
]
# What the edge answers besides success: 400 (the body, a header), 401 (the token, the
# signature), 403 (the token's scope or kind), 404, 405 (BPCE's flavour, a method), 406
# (Accept), 413 (a body too large), 415 (not JSON).
REFUSALS = (400, 401, 403, 404, 405, 406, 413, 415)
SENT = "Sent"  # the prefix of the answers' components: the models as they are, no hints
_TEXT = {"type": "string"}
HINTS: dict[str, Body] = {
    "paymentInformationStatus": {"enum": list(dt.PAYMENT_STATUSES)},
    "transactionStatus": {"enum": list(dt.TRANSACTION_STATUSES)},
    "statusReasonInformation": {"enum": list(dt.REASON_CODES)},
    "acceptedAuthenticationApproach": {"items": {"enum": list(dt.APPROACHES)}},
    "categoryPurpose": {"enum": list(dt.CATEGORY_PURPOSES)},
    "frequency": {"enum": list(dt.FREQUENCIES)},
    "serviceLevel": {"enum": ["SEPA"]},
    "chargeBearer": {"enum": ["SLEV"]},
    "currency": {"enum": ["EUR"]},
    "amount": {"pattern": r"^[1-9][0-9]{0,3}\.[0-9]{2}$"},
    "iban": {"enum": [CLAIRE, LIVRET, LOUIS, LUCA, OUTSIDE]},
    "successfulReportUrl": {"enum": [OK_URL, "https://elsewhere.example/ok"]},
    "unsuccessfulReportUrl": {"enum": [NOK_URL]},
    "creationDateTime": {"format": "date-time"},
    "requestedExecutionDate": {"format": "date-time"},
    "endDate": {"format": "date-time"},
    "country": {"pattern": "^[A-Z]{2}$"},
    "bicFi": {"pattern": "^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$"},
    # The codes stet.models checks inline, and its identifiers (a subset of STET's set).
    "instructionPriority": {"enum": ["HIGH", "NORM"]},
    "purpose": {"enum": ["ACCT", "CASH", "COMC", "CPKC", "TRPT"]},
    "executionRule": {"enum": ["FWNG", "PREC"]},
    "scaHint": {"enum": ["noScaExemption", "scaExemption"]},
    **{
        name: {"pattern": "^[a-zA-Z0-9]{1,35}$"}
        for name in ("id", "resourceId", "instructionId", "endToEndId", "paymentInformationId")
    },
}
_READ: tuple[type[BaseModel], ...] = (PaymentRequestResource, ConfirmationRequest)
_SENT: tuple[type[BaseModel], ...] = (
    *_READ,
    PaymentRequestCreated,
    PaymentRequestAnswer,
    ErrorModel,
)


def document() -> Body:
    """The OpenAPI 3.0 document of the five payment-request operations (module docstring)."""
    schemas: Body = {}
    for model in _READ:
        _components(schemas, model, "validation", "")
    for model in _SENT:
        _components(schemas, model, "serialization", SENT)
    paths: Body = {}
    for method, path, body, status, success in OPERATIONS:
        paths.setdefault(path, {})[method.lower()] = _operation(body, status, success)
        if path != REQUEST:
            paths[path]["parameters"] = [_path_id()]
    return {
        "openapi": "3.0.3",
        "info": {"title": "STET PSD2 PIS (tpsim's models)", "version": "1.4.2"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _components(schemas: Body, model: type[BaseModel], mode: JsonSchemaMode, prefix: str) -> None:
    """``model``'s schema, and every one it names, among the components as ``prefix`` +
    its name: a request's with ``HINTS``, an answer's as the model says."""
    template = f"#/components/schemas/{prefix}{{model}}"
    schema = model.model_json_schema(ref_template=template, mode=mode)
    hints = {} if prefix else HINTS
    for name, definition in schema.pop("$defs", {}).items():
        schemas[prefix + name] = openapi30(definition, hints)
    schemas[prefix + model.__name__] = openapi30(schema, hints)


def _json(model: str) -> Body:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}


def _operation(body: str | None, status: int, success: str) -> Body:
    """One operation: its headers, its JSON body, its success and its ErrorModels."""
    refused = {"description": "refused", "content": _json(SENT + "ErrorModel")}
    responses: Body = {str(code): refused for code in REFUSALS}
    responses[str(status)] = {"description": "done", "content": _json(SENT + success)}
    if status == 201:
        responses["201"]["headers"] = {"Location": {"required": True, "schema": _TEXT}}
    operation: Body = {"parameters": _headers(), "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _json(body)}
    return operation


def _headers() -> list[Body]:
    """``X-Request-ID`` (visible ASCII, what tpsim echoes), and the optional signature and
    PSU context headers."""
    request_id = {"type": "string", "pattern": "^[!-~]{1,128}$"}
    required = {"name": "X-Request-ID", "in": "header", "required": True, "schema": request_id}
    optional = [
        {"name": name, "in": "header", "required": False, "schema": _TEXT}
        for name in ("Signature", "Digest", "PSU-IP-Address")
    ]
    return [required, *optional]


def _path_id() -> Body:
    schema = {"type": "string", "pattern": "^[a-zA-Z0-9-]{1,64}$"}
    return {"name": "paymentRequestResourceId", "in": "path", "required": True, "schema": schema}


def openapi30(schema: Any, hints: dict[str, Body], name: str | None = None) -> Any:
    """A pydantic JSON Schema (2020-12) as OpenAPI 3.0 reads it: a null branch dropped (the
    member is left out instead: STET reads null as absent and tpsim never sends one), no
    titles or null defaults, an array's lengths as items, and ``hints`` by member name."""
    if isinstance(schema, list):
        return [openapi30(item, hints) for item in schema]
    if not isinstance(schema, dict):
        return schema
    branches = [b for b in schema.get("anyOf", ()) if b != {"type": "null"}]
    if "anyOf" in schema and len(branches) == 1:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return openapi30({**rest, **branches[0]}, hints, name)
    found: Body = {}
    for key, value in schema.items():
        if key == "title" or (key == "default" and value is None):
            continue
        if key == "properties":
            found[key] = {member: openapi30(sub, hints, member) for member, sub in value.items()}
        else:
            found[key] = openapi30(value, hints)
    if found.get("type") == "array":
        for length, items in (("minLength", "minItems"), ("maxLength", "maxItems")):
            if length in found:
                found[items] = found.pop(length)
    if "$ref" in found:
        return {"$ref": found["$ref"]}  # OpenAPI 3.0 ignores a reference's siblings
    hint = hints.get(name or "", {})
    if "items" in hint:
        return {**found, "items": {**found.get("items", {}), **hint["items"]}}
    return {**found, **hint}


# -- a STET PISP --------------------------------------------------------------------------


def with_stet(fsp_id: str = "dfspa", **stet: Any) -> list[Body]:
    """The built-in participants, bank ``fsp_id`` with this STET profile."""
    participants: list[Body] = default_config_data()["participants"]
    for participant in participants:
        if participant["fsp_id"] == fsp_id:
            participant["psd2"] = {"stet": stet}
    return participants


def basic(client_id: str, secret: str) -> str:
    """``client_secret_basic`` (RFC 6749 §2.3.1)."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class Answered:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Pisp:
    """A STET PISP: tokens from the bank's OAuth server, the payment-request calls, and of
    tpsim only what its answers say (Location, links). Every API answer is checked
    (``check_answer``: ``sent_problems``, the status, ``WWW-Authenticate``) and must echo
    the ``X-Request-ID`` sent."""

    scheme: Scheme
    http: aiohttp.ClientSession
    bank: str = "dfspa"
    client: tuple[str, str] = CLIENT

    @property
    def base(self) -> str:
        return f"{self.scheme.url}/stet/{self.bank}"

    async def token(self, **form: str) -> str:
        """An access token (client_credentials, scope pisp, unless ``form`` says else)."""
        sent = form or {"grant_type": "client_credentials", "scope": "pisp"}
        headers = {"Authorization": basic(*self.client)}
        async with self.http.post(f"{self.base}/token", data=sent, headers=headers) as answer:
            assert answer.status == 200, await answer.text()
            return str((await answer.json())["access_token"])

    async def call(
        self,
        method: str,
        path_or_url: str,
        body: Body | None = None,
        *,
        token: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answered:
        """One STET call (``path_or_url`` under ``/v1/`` or a link), checked; a fresh
        ``X-Request-ID`` unless ``headers`` give one; JSON when there is a body."""
        url = path_or_url if "://" in path_or_url else f"{self.base}/v1/{path_or_url}"
        sent = {"X-Request-ID": str(uuid.uuid4())}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if body is not None or raw is not None:
            sent["Content-Type"] = "application/json"
        sent |= headers or {}
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        async with self.http.request(method, url, data=data, headers=sent) as response:
            got = Answered(response.status, await response.json(), dict(response.headers))
        assert got.headers["X-Request-ID"] == sent["X-Request-ID"], got.headers
        check_stet_answer(Answer(got.status, got.body, got.headers))
        return got

    async def create(self, token: str, body: Body | None = None) -> Answered:
        """A new payment request (201): the brief's example unless ``body``."""
        created = await self.call("POST", REQUESTS, body or payment_request(), token=token)
        assert created.status == 201, created.body
        return created

    async def resource(self, location: str, token: str) -> Body:
        """The payment request as GET gives it."""
        got = await self.call("GET", location, token=token)
        assert got.status == 200, got.body
        return dict(got.body["paymentRequest"])

    async def statuses(self, location: str, token: str) -> tuple[str, str | None]:
        """(paymentInformationStatus, statusReasonInformation) as GET gives them."""
        resource = await self.resource(location, token)
        return resource["paymentInformationStatus"], resource.get("statusReasonInformation")


async def headless(http: aiohttp.ClientSession, link: str, **query: str) -> tuple[int, str]:
    """``sim_…`` added to an approval link: (status, the Location or the page's text)."""
    url = f"{link}{'&' if '?' in link else '?'}{urlencode(query)}"
    async with http.get(url, allow_redirects=False) as answer:
        return answer.status, answer.headers.get("Location") or await answer.text()


async def balances(http: aiohttp.ClientSession, scheme: Scheme) -> dict[str, str]:
    """Every IBAN's balance, as ``/admin/accounts`` shows them."""
    async with http.get(f"{scheme.url}/admin/accounts") as answer:
        accounts = (await answer.json())["accounts"]
    return {a["iban"]: a["balance"] for a in accounts if "iban" in a}


# -- the PSU's browser ------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    kind: str  # hidden, text, password, radio, checkbox, button
    name: str
    value: str
    checked: bool


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[Field] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("input", "button"):
            return
        named = dict(attrs)
        kind = "button" if tag == "button" else named.get("type") or "text"
        value = named.get("value") or ""
        self.found.append(Field(kind, named.get("name") or "", value, "checked" in named))


@dataclass
class Page:
    url: str
    status: int
    html: str
    fields: list[Field]

    def named(self, kind: str) -> list[str]:
        """The names of the page's inputs of ``kind``."""
        return [f.name for f in self.fields if f.kind == kind]

    def offered(self) -> list[str]:
        """The accounts the page offers to pay from."""
        return [f.value for f in self.fields if f.name == "account"]

    def decisions(self) -> list[str]:
        return [f.value for f in self.fields if f.kind == "button"]


@dataclass
class PsuBrowser:
    """The PSU's browser: opens a page, fills its one form as a person would (the hidden
    fields, the radio button left checked unless another value is given) and submits a
    decision; redirects are not followed."""

    http: aiohttp.ClientSession

    async def open(self, url: str) -> Page:
        async with self.http.get(url, allow_redirects=False) as response:
            return _page(url, response.status, await response.text())

    async def submit(self, page: Page, decision: str, **typed: str) -> tuple[Page, str | None]:
        """The form sent with ``decision``: the next page and where it redirects."""
        chosen = [f for f in page.fields if f.kind == "radio" and f.checked and f.name not in typed]
        form = [(f.name, f.value) for f in page.fields if f.kind == "hidden"]
        form += [(f.name, f.value) for f in chosen] + [*typed.items(), ("decision", decision)]
        async with self.http.post(page.url, data=form, allow_redirects=False) as response:
            answered = _page(page.url, response.status, await response.text())
            return answered, response.headers.get("Location")


def _page(url: str, status: int, html: str) -> Page:
    reader = _Fields()
    reader.feed(html)
    return Page(url, status, html, reader.found)
