"""Every (method, path) tpsim serves, as one literal table, and how to match a request to it.

The table covers all operations of the Third Party PISP and DFSP bundles (accounts,
consentRequests, consents, thirdpartyRequests/{transactions,authorizations,verifications},
services, parties) plus the FSPIOP v1.1 operations the flows use (parties, participants,
quotes, transfers). Synchronous statuses are the OpenAPI ones; where a spec allows two
(``PUT /consents/{ID}``: 200 or 202) the one Mojaloop's switch answers is used (202).

``Route.answers`` holds every synchronous status the OpenAPI lets the receiver answer with
(what the conformance checks accept from a participant under test).

Paths are matched as given (already percent-decoded, query string ignored); a path
parameter is one non-empty segment, so it never contains ``/``. A literal last segment
``error`` wins over a ``{SubId}`` parameter, as in Mojaloop: ``GET /parties/MSISDN/1/error``
is a 405 on the error callback, not a lookup of sub-id ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from tpsim.mojaloop.errors import MethodNotAllowed, MissingElement, UnknownUri
from tpsim.mojaloop.wire.models import (
    AccountsIDPutResponse,
    ConsentRequestsIDPatchRequest,
    ConsentRequestsIDPutResponse,
    ConsentRequestsPostRequest,
    ConsentsIDPatchResponse,
    ConsentsIDPutResponse,
    ConsentsPostRequest,
    ErrorInformationObject,
    ParticipantsTypeIDPutResponse,
    ParticipantsTypeIDSubIDPostRequest,
    PartiesTypeIDPutResponse,
    QuotesIDPutResponse,
    QuotesPostRequest,
    ServicesServiceTypePutResponse,
    ThirdpartyRequestsAuthorizationsIDPutResponse,
    ThirdpartyRequestsAuthorizationsPostRequest,
    ThirdpartyRequestsTransactionsIDPatchResponse,
    ThirdpartyRequestsTransactionsIDPutResponse,
    ThirdpartyRequestsTransactionsPostRequest,
    ThirdpartyRequestsVerificationsIDPutResponse,
    ThirdpartyRequestsVerificationsPostRequest,
    TransfersIDPatchResponse,
    TransfersIDPutResponse,
    TransfersPostRequest,
)
from tpsim.mojaloop.wire.models.common import field_of
from tpsim.mojaloop.wire.validation import validate

__all__ = [
    "ROUTES",
    "ROUTES_BY_NAME",
    "Route",
    "allowed_methods",
    "correlation_id",
    "error_path",
    "expand",
    "match",
    "parse_body",
]


@dataclass(frozen=True, slots=True)
class Route:
    """One operation: what it carries, what its receiver answers, how it is correlated."""

    name: str
    method: str
    template: str
    resource: str
    body: TypeAdapter[Any] | None
    sync_status: int
    destination_required: bool
    correlation: str
    error_template: str | None
    is_error_callback: bool
    # The path id names a party or an account (``MSISDN/…``, ``THIRD_PARTY_LINK/{address}``),
    # which outlives every conversation it appears in: the journal tags a hop with it and
    # links nothing by it.
    path_id_tags: bool = False
    # Every status the OpenAPI allows the receiver to answer with (``sync_status`` is the
    # one tpsim answers); empty: ``sync_status`` alone.
    also_allowed: frozenset[int] = frozenset()

    @property
    def answers(self) -> frozenset[int]:
        """The synchronous statuses the API allows for this operation."""
        return self.also_allowed | {self.sync_status}


# Media-type resource by first path segment (digest §3.1).
_RESOURCE = {
    "accounts": "thirdparty",
    "consentRequests": "thirdparty",
    "consents": "thirdparty",
    "thirdpartyRequests": "thirdparty",
    "services": "services",
    "parties": "parties",
    "participants": "participants",
    "quotes": "quotes",
    "transfers": "transfers",
}
# Resources whose path id names a party or an account, not a conversation.
_NAMING = frozenset({"parties", "participants"})
_ADAPTERS: dict[int, TypeAdapter[Any]] = {}


def path_id_tags(path: str) -> bool:
    """``Route.path_id_tags`` for a path no route matched (a request the edge refused)."""
    return path.split("/", 2)[1] in _NAMING if path.startswith("/") else False


def _adapter(body: Any) -> TypeAdapter[Any]:
    """One adapter per body type, shared by its routes (``Annotated`` unions are unhashable)."""
    if id(body) not in _ADAPTERS:
        _ADAPTERS[id(body)] = TypeAdapter(body)
    return _ADAPTERS[id(body)]


def _name(method: str, template: str) -> str:
    """``thirdpartyRequests.transactions.put_error``, ``parties.get_sub`` …"""
    segments = template.split("/")[1:]
    words = [s for s in segments if not s.startswith("{") and s != "error"]
    suffix = method.lower() + ("_sub" if "{SubId}" in segments else "")
    return ".".join(words) + "." + suffix + ("_error" if segments[-1] == "error" else "")


def _route(
    method: str,
    template: str,
    body: Any = None,
    *,
    sync: int | None = None,
    also: frozenset[int] = frozenset(),
    destination: bool = True,
    id_field: str | None = None,
) -> Route:
    """A table row; ``id_field`` names the body field holding the id of a collection POST,
    ``also`` the other statuses the OpenAPI allows its receiver to answer with."""
    segments = template.split("/")[1:]
    params = [s[1:-1] for s in segments if s.startswith("{")]
    is_error = segments[-1] == "error"
    if id_field is not None:
        correlation, error_template = f"body:{id_field}", f"{template}/{{ID}}/error"
    else:
        correlation, error_template = "path:" + ",".join(params), f"{template}/error"
    return Route(
        name=_name(method, template),
        method=method,
        template=template,
        resource=_RESOURCE[segments[0]],
        body=None if body is None else _adapter(body),
        sync_status=sync if sync is not None else (200 if method in ("PUT", "PATCH") else 202),
        destination_required=destination,
        correlation=correlation,
        error_template=None if is_error else error_template,
        is_error_callback=is_error,
        path_id_tags=segments[0] in _NAMING,
        also_allowed=also,
    )


_ERROR = ErrorInformationObject
_TX = "/thirdpartyRequests/transactions"
_AUTHZ = "/thirdpartyRequests/authorizations"
_VERIFY = "/thirdpartyRequests/verifications"
_PARTY = "/parties/{Type}/{ID}"
_PARTICIPANT = "/participants/{Type}/{ID}"

# fmt: off
ROUTES: tuple[Route, ...] = (
    # --- Third Party: discovery (digest §2.1); GET /services is answered by the switch ---
    _route("GET", "/services/{ServiceType}", destination=False),
    _route("PUT", "/services/{ServiceType}", ServicesServiceTypePutResponse),
    _route("PUT", "/services/{ServiceType}/error", _ERROR),
    _route("GET", "/accounts/{ID}"),
    _route("PUT", "/accounts/{ID}", AccountsIDPutResponse),
    _route("PUT", "/accounts/{ID}/error", _ERROR),
    # --- Third Party: linking (digest §2.2) ---
    _route("POST", "/consentRequests", ConsentRequestsPostRequest, id_field="consentRequestId"),
    _route("GET", "/consentRequests/{ID}"),
    _route("PUT", "/consentRequests/{ID}", ConsentRequestsIDPutResponse, sync=202),
    _route("PATCH", "/consentRequests/{ID}", ConsentRequestsIDPatchRequest, sync=202),
    _route("PUT", "/consentRequests/{ID}/error", _ERROR),
    _route("POST", "/consents", ConsentsPostRequest, id_field="consentId"),
    _route("GET", "/consents/{ID}"),
    _route("PUT", "/consents/{ID}", ConsentsIDPutResponse, sync=202, also=frozenset({200})),
    _route("PATCH", "/consents/{ID}", ConsentsIDPatchResponse),
    _route("DELETE", "/consents/{ID}"),
    _route("PUT", "/consents/{ID}/error", _ERROR),
    # --- Third Party: transfer (digest §2.3) ---
    _route("POST", _TX, ThirdpartyRequestsTransactionsPostRequest, id_field="transactionRequestId"),
    _route("GET", f"{_TX}/{{ID}}"),
    _route("PUT", f"{_TX}/{{ID}}", ThirdpartyRequestsTransactionsIDPutResponse),
    _route("PATCH", f"{_TX}/{{ID}}", ThirdpartyRequestsTransactionsIDPatchResponse),  # impl: 202
    _route("PUT", f"{_TX}/{{ID}}/error", _ERROR),
    _route("POST", _AUTHZ, ThirdpartyRequestsAuthorizationsPostRequest,
           id_field="authorizationRequestId"),
    _route("GET", f"{_AUTHZ}/{{ID}}"),
    _route("PUT", f"{_AUTHZ}/{{ID}}", ThirdpartyRequestsAuthorizationsIDPutResponse),
    _route("PUT", f"{_AUTHZ}/{{ID}}/error", _ERROR),
    _route("POST", _VERIFY, ThirdpartyRequestsVerificationsPostRequest,
           id_field="verificationRequestId"),
    _route("GET", f"{_VERIFY}/{{ID}}"),
    _route("PUT", f"{_VERIFY}/{{ID}}", ThirdpartyRequestsVerificationsIDPutResponse),
    _route("PUT", f"{_VERIFY}/{{ID}}/error", _ERROR),
    # --- FSPIOP v1.1 parties, via the ALS: the lookup carries no FSPIOP-Destination ---
    _route("GET", _PARTY, destination=False),
    _route("PUT", _PARTY, PartiesTypeIDPutResponse),
    _route("PUT", f"{_PARTY}/error", _ERROR),
    _route("GET", f"{_PARTY}/{{SubId}}", destination=False),
    _route("PUT", f"{_PARTY}/{{SubId}}", PartiesTypeIDPutResponse),
    _route("PUT", f"{_PARTY}/{{SubId}}/error", _ERROR),
    # --- FSPIOP v1.1 participants: ALS registrations of CONSENT / THIRD_PARTY_LINK ids ---
    _route("POST", _PARTICIPANT, ParticipantsTypeIDSubIDPostRequest, destination=False),
    _route("GET", _PARTICIPANT, destination=False),
    _route("PUT", _PARTICIPANT, ParticipantsTypeIDPutResponse),
    _route("PUT", f"{_PARTICIPANT}/error", _ERROR),
    _route("DELETE", _PARTICIPANT, destination=False),  # on revocation (linking §4)
    _route("POST", f"{_PARTICIPANT}/{{SubId}}", ParticipantsTypeIDSubIDPostRequest,
           destination=False),
    _route("GET", f"{_PARTICIPANT}/{{SubId}}", destination=False),
    _route("DELETE", f"{_PARTICIPANT}/{{SubId}}", destination=False),
    _route("PUT", f"{_PARTICIPANT}/{{SubId}}", ParticipantsTypeIDPutResponse),
    _route("PUT", f"{_PARTICIPANT}/{{SubId}}/error", _ERROR),
    # --- FSPIOP v1.1 quotes and transfers between the simulated DFSPs ---
    _route("POST", "/quotes", QuotesPostRequest, id_field="quoteId"),
    _route("GET", "/quotes/{ID}"),
    _route("PUT", "/quotes/{ID}", QuotesIDPutResponse),
    _route("PUT", "/quotes/{ID}/error", _ERROR),
    _route("POST", "/transfers", TransfersPostRequest, id_field="transferId"),
    _route("GET", "/transfers/{ID}"),
    _route("PUT", "/transfers/{ID}", TransfersIDPutResponse),
    _route("PATCH", "/transfers/{ID}", TransfersIDPatchResponse),
    _route("PUT", "/transfers/{ID}/error", _ERROR),
)
# fmt: on

ROUTES_BY_NAME: Mapping[str, Route] = {route.name: route for route in ROUTES}


# --- matching ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Template:
    template: str
    literals: tuple[tuple[int, str], ...]  # (segment index, literal text)
    params: tuple[tuple[int, str], ...]  # (segment index, parameter name)
    methods: Mapping[str, Route]


def _index(routes: tuple[Route, ...]) -> dict[tuple[str, int], tuple[_Template, ...]]:
    """Templates by (first segment, segment count), most literal segments first."""
    by_template: dict[str, dict[str, Route]] = {}
    for route in routes:
        by_template.setdefault(route.template, {})[route.method] = route
    index: dict[tuple[str, int], list[_Template]] = {}
    for template, methods in by_template.items():
        segments = template.split("/")[1:]
        entry = _Template(
            template=template,
            literals=tuple((i, s) for i, s in enumerate(segments) if not s.startswith("{")),
            params=tuple((i, s[1:-1]) for i, s in enumerate(segments) if s.startswith("{")),
            methods=methods,
        )
        index.setdefault((segments[0], len(segments)), []).append(entry)
    return {
        key: tuple(sorted(entries, key=lambda t: -len(t.literals)))
        for key, entries in index.items()
    }


_INDEX = _index(ROUTES)


def _fits(entry: _Template, segments: list[str]) -> bool:
    """Whether ``segments`` have ``entry``'s literal segments and a value for each of its
    parameters (plain loops: every message tpsim builds is matched)."""
    for i, text in entry.literals:
        if segments[i] != text:
            return False
    for i, _ in entry.params:
        if not segments[i]:
            return False
    return True


def _template_of(path: str) -> tuple[_Template, list[str]] | None:
    """The template ``path`` fits and its segments, or None: no resource there."""
    segments = path.split("?", 1)[0].split("/")[1:]
    for entry in _INDEX.get((segments[0], len(segments)), ()) if segments else ():
        if _fits(entry, segments):
            return entry, segments
    return None


def allowed_methods(path: str) -> tuple[str, ...] | None:
    """The methods the resource at ``path`` takes, or None: no resource there. ``match``
    and the edge's refusal of a method aiohttp cannot parse (``serve.parser_refusals``)
    both read it, so both send one ``Allow``."""
    found = _template_of(path)
    return None if found is None else tuple(found[0].methods)


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for ``method`` and ``path`` and its path parameters.

    Raises ``UnknownUri`` (3002, 404) when no template matches the path and
    ``MethodNotAllowed`` (3000, 405) naming the allowed methods when one does.
    """
    found = _template_of(path)
    if found is None:
        raise UnknownUri(f"no Third Party or FSPIOP resource at {path}")
    entry, segments = found
    route = entry.methods.get(method.upper())
    if route is None:
        allow = tuple(entry.methods)
        raise MethodNotAllowed(
            f"{method.upper()} is not allowed on {entry.template}; allowed: {', '.join(allow)}",
            allow=allow,
        )
    return route, {name: segments[i] for i, name in entry.params}


def correlation_id(
    route: Route, params: Mapping[str, str], body: Mapping[str, Any] | None
) -> str | None:
    """The id correlating this message with its callbacks, ``None`` when it is absent.

    Path ids are joined with ``/`` (``MSISDN/123`` for ``/parties/{Type}/{ID}``); a
    collection POST carries its id in the body field named by ``route.correlation``.
    """
    spec = _CORRELATIONS.get(route.correlation)
    if spec is None:
        kind, _, names = route.correlation.partition(":")
        spec = _CORRELATIONS[route.correlation] = (kind == "path", tuple(names.split(",")))
    in_path, names_of = spec
    if in_path:
        values = [params.get(name, "") for name in names_of]
        return "/".join(values) if all(values) else None
    value = field_of(body, *names_of)
    return value if isinstance(value, str) and value else None


# ``Route.correlation`` → (whether the id is in the path, the names it is read by): parsed
# once, not at every hop the switch records.
_CORRELATIONS: dict[str, tuple[bool, tuple[str, ...]]] = {}


def expand(template: str, params: Mapping[str, str]) -> str:
    """``template`` with its ``{Name}`` segments filled from ``params`` (``KeyError`` if absent)."""
    return "/".join(
        params[segment[1:-1]] if segment.startswith("{") else segment
        for segment in template.split("/")
    )


def error_path(
    route: Route, params: Mapping[str, str], body: Mapping[str, Any] | None
) -> str | None:
    """The concrete path of the ``PUT …/error`` answering this message, or ``None``.

    ``None`` for error callbacks themselves and when the id is missing (a POST whose body
    lacks its id field) or cannot be a path segment.
    """
    if route.error_template is None:
        return None
    values = dict(params)
    if route.correlation.startswith("body:"):
        value = correlation_id(route, params, body)
        if value is None or "/" in value:
            return None
        values["ID"] = value
    return expand(route.error_template, values)


def parse_body(route: Route, body: object) -> Any:
    """The validated model of ``body`` for ``route`` (``None`` for GET and DELETE).

    Raises ``MissingElement`` (3102) for a missing body or field, ``MalformedSyntax`` (3101)
    for a wrong JSON type, ``TooManyElements`` (3103) for too many array items and
    ``ValidationError`` (3100) for any other broken rule; ``field`` is the dotted path.
    """
    if route.body is None:
        return None
    if body is None:
        raise MissingElement(f"{route.method} {route.template} needs a JSON body")
    return validate(route.body, body)
