"""Check PSD2 requests and responses against the official OpenAPI 3.0 files tpsim ships.

Every body tpsim sends must validate against the official OpenAPI, and the tests check
this. In conformance mode, every request an external TPP sends is also checked against it.
The files are in ``tpsim/specs/psd2/`` (their sources and licences are in ``PROVENANCE.md``
there), so the checks also work where only the installed package exists.

    spec = Spec.load("xs2a")                       # parsed once per process
    op = spec.operation("POST", "/v1/payments/sepa-credit-transfers")
    op.check_request(headers, body, content_type="application/json")   # -> [Problem]
    op.check_response(201, answer, headers=answer_headers)             # -> [Problem]

A path is matched against the bundle's own templates, so the caller first strips its base
path (``/xs2a/{fspId}``, the ``servers`` URL). How schemas are read as OpenAPI 3.0 is
described in ``tpsim.specs.schema``. Only JSON bodies are checked (``application/json``,
``*/*+json``). A body of another documented media type (XML ``pain.001``,
``multipart/form-data``, ``text/plain``, OBIE's ``application/jose+jwe``) is accepted
unchecked. Header and path parameters are checked after conversion from text (``true``
and ``false`` for booleans, digits for integers). ``Accept``, ``Content-Type`` and
``Authorization`` header parameters are ignored, as OpenAPI 3.0 §4.7.12.1 requires:
content negotiation and security schemes govern them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from tpsim.specs.schema import Problem, Schemas, SpecError, show

__all__ = ["BUNDLED", "Operation", "Problem", "Spec", "SpecError"]

BUNDLED: dict[str, str] = {
    "xs2a": "berlin-group-psd2-api-1.3.11-2021-10-01v1.adorsys.yaml",
    "obie-3.1": "obie-payment-initiation-openapi-v3.1.11r5.yaml",
    "obie-4.0": "obie-payment-initiation-openapi-v4.0-update4.yaml",
}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# OpenAPI 3.0 §4.7.12.1: header parameters with these names "SHALL be ignored".
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_INTEGER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True, slots=True)
class _Parameter:
    """A header, path or query parameter, or a response header, with its resolved schema."""

    name: str
    location: str
    required: bool
    schema: str | None  # JSON pointer of its schema
    kind: str | None  # the schema's ``type``, to turn the text on the wire into a value

    @property
    def where(self) -> str:
        return f"{self.location} {self.name}"


@dataclass(frozen=True, slots=True)
class _Content:
    """A request body or response: media type -> JSON pointer of its schema (or None)."""

    media: Mapping[str, str | None]
    required: bool = False


@dataclass(frozen=True, slots=True)
class _Response:
    content: _Content
    headers: tuple[_Parameter, ...]


@dataclass(frozen=True, slots=True)
class _Definition:
    """Everything about one (method, template) that does not depend on the request."""

    method: str
    template: str
    parameters: tuple[_Parameter, ...]
    body: _Content | None
    responses: Mapping[str, _Response]
    schemas: Schemas = field(repr=False)


class Spec:
    """One OpenAPI 3.0 document: its path templates, operations and compiled schemas."""

    def __init__(self, name: str, document: Mapping[str, Any]) -> None:
        self.name = name
        self.document: Mapping[str, Any] = _string_keys(document)
        self._schemas = Schemas(f"urn:tpsim:spec:{name}", self.document)
        self._routes = _routes(self.document.get("paths", {}))
        self._definitions: dict[tuple[str, str], _Definition] = {}

    @classmethod
    def load(cls, name: str) -> Spec:
        """The bundled spec ``name`` (``xs2a``, ``obie-3.1``, ``obie-4.0``). It is parsed once
        per process, which takes about 0.2 s per file with libyaml."""
        return _load_bundled(name)

    def operations(self) -> list[tuple[str, str]]:
        """Every documented (METHOD, template), in the document's order."""
        paths: Mapping[str, Any] = self.document.get("paths", {})
        return [(m.upper(), t) for t, item in paths.items() for m in _METHODS if m in item]

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation serving ``method`` on the concrete ``path``, or None if no template
        matches or the matched template lacks the method. As in OpenAPI, the most literal
        template wins (a literal segment beats a ``{parameter}``, earlier segments first)
        before the method is considered."""
        matched = self._match(path.split("?", 1)[0])
        if matched is None:
            return None
        template, params = matched
        item: Mapping[str, Any] = self.document["paths"][template]
        if method.lower() not in item or method.lower() not in _METHODS:
            return None
        return Operation(self._definition(method.lower(), template), params)

    def _match(self, path: str) -> tuple[str, dict[str, str]] | None:
        segments = path.split("/")
        for template, parts in self._routes.get(len(segments), ()):
            params: dict[str, str] = {}
            for part, segment in zip(parts, segments, strict=True):
                if part.startswith("{") and part.endswith("}") and segment:
                    params[part[1:-1]] = segment
                elif part != segment:
                    break
            else:
                return template, params
        return None

    def _definition(self, method: str, template: str) -> _Definition:
        key = (method, template)
        if key not in self._definitions:
            self._definitions[key] = _Reader(self.document).definition(
                method, template, self._schemas
            )
        return self._definitions[key]


@dataclass(frozen=True, slots=True)
class Operation:
    """One documented operation, with the parameters of the path that matched it."""

    definition: _Definition = field(repr=False)
    params: Mapping[str, str]

    @property
    def method(self) -> str:
        return self.definition.method.upper()

    @property
    def template(self) -> str:
        return self.definition.template

    @property
    def statuses(self) -> tuple[str, ...]:
        """The documented response keys, as written: ``"201"``, ``"4XX"``, ``"default"``."""
        return tuple(self.definition.responses)

    def check_request(
        self,
        headers: Mapping[str, str],
        body: Any | None,
        *,
        content_type: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> list[Problem]:
        """Every way a request breaks this operation. It checks that required headers are
        present (names are case-insensitive), header and path values against their schemas,
        query parameters (only when ``query`` is given) and the JSON body. ``content_type``
        defaults to the ``Content-Type`` header. ``body`` is the parsed JSON, or None for no
        body."""
        lowered = {k.lower(): v for k, v in headers.items()}
        wanted = content_type if content_type is not None else lowered.get("content-type")
        problems: list[Problem] = []
        for parameter in self.definition.parameters:
            if parameter.location == "path":
                problems += self._value(parameter, self.params.get(parameter.name))
            elif parameter.location == "header":
                problems += self._value(parameter, lowered.get(parameter.name.lower()))
            elif parameter.location == "query" and query is not None:
                problems += self._value(parameter, query.get(parameter.name))
        body_spec = self.definition.body
        if body_spec is None:
            if body is not None:
                problems.append(Problem("body", f"{self._name} takes no request body"))
            return problems
        return problems + self._body(body_spec, body, wanted, "the request")

    def check_response(
        self, status: int, body: Any | None, headers: Mapping[str, str] | None = None
    ) -> list[Problem]:
        """Every way a response breaks this operation. ``status`` must be documented (exactly,
        as ``4XX``, or by ``default``). The body must match that response's JSON schema:
        the media type comes from the ``Content-Type`` in ``headers``, else the first JSON
        type documented. If ``headers`` is given, the headers the spec marks required must
        be present and every documented header must match its schema."""
        responses = self.definition.responses
        response = next(
            (
                responses[k]
                for k in (str(status), f"{status // 100}XX", "default")
                if k in responses
            ),
            None,
        )
        if response is None:
            documented = ", ".join(responses)
            message = f"{status} is not a status {self._name} documents (it documents {documented})"
            return [Problem("status", message)]
        problems: list[Problem] = []
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        if headers is not None:
            for header in response.headers:
                problems += self._value(header, lowered.get(header.name.lower()))
        return problems + self._body(
            response.content, body, lowered.get("content-type"), f"status {status}"
        )

    @property
    def _name(self) -> str:
        return f"{self.method} {self.template}"

    def _value(self, parameter: _Parameter, text: str | None) -> list[Problem]:
        """A parameter's text, converted to its schema's type and checked against it."""
        if text is None:
            missing = Problem(parameter.where, "is required but missing")
            return [missing] if parameter.required else []
        value, error = _from_text(text, parameter.kind)
        if error is not None:
            return [Problem(parameter.where, f"{show(text)} is not {error}")]
        if parameter.schema is None:
            return []
        return self.definition.schemas.problems(parameter.schema, value, parameter.where)

    def _body(
        self, content: _Content, body: Any | None, content_type: str | None, what: str
    ) -> list[Problem]:
        if not content.media:
            message = f"the spec documents no body for {what} of {self._name}"
            return [] if body is None else [Problem("body", message)]
        if body is None:
            message = f"is missing; the spec documents one for {what} of {self._name}"
            return [Problem("body", message)] if content.required else []
        media = _media_type(content.media, content_type)
        if isinstance(media, Problem):
            return [media]
        pointer = content.media.get(media) if media is not None else None
        if pointer is None:  # not JSON, or no schema: nothing to check it against
            return []
        return self.definition.schemas.problems(pointer, body, "body")


# --- reading the document ---------------------------------------------------------------


@cache
def _load_bundled(name: str) -> Spec:
    if name not in BUNDLED:
        raise SpecError(f"no bundled OpenAPI named {name!r}; choose one of {', '.join(BUNDLED)}")
    text = files("tpsim.specs").joinpath("psd2", BUNDLED[name]).read_bytes()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return Spec(name, yaml.load(text, Loader=loader))  # noqa: S506 - a safe loader


def _string_keys(node: Any) -> Any:
    """The document as JSON sees it. YAML reads ``200:`` as an int key, and a JSON pointer
    such as ``/responses/200`` must find it."""
    if isinstance(node, dict):
        return {str(k): _string_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_string_keys(v) for v in node]
    return node


def _routes(paths: Mapping[str, Any]) -> dict[int, list[tuple[str, list[str]]]]:
    """Templates by segment count, the most literal first (literal segments on the left
    count more), so the first fit is the best."""
    by_length: dict[int, list[tuple[str, list[str]]]] = {}
    for template in paths:
        parts = template.split("/")
        by_length.setdefault(len(parts), []).append((template, parts))
    for routes in by_length.values():
        routes.sort(key=lambda route: [p.startswith("{") for p in route[1]])
    return by_length


class _Reader:
    """Turns one operation of the document into a ``_Definition``, following ``$ref``s."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def definition(self, method: str, template: str, schemas: Schemas) -> _Definition:
        base = f"/paths/{_escape(template)}"
        item_pointer, item = self._follow(base)
        operation: Mapping[str, Any] = item[method]
        merged = {
            (p.name, p.location): p
            for p in [
                *self._parameters(f"{item_pointer}/parameters", item),
                *self._parameters(f"{item_pointer}/{method}/parameters", operation),
            ]
        }
        body = None
        if "requestBody" in operation:
            body = self._content(f"{item_pointer}/{method}/requestBody")
        responses = {
            status: self._response(f"{item_pointer}/{method}/responses/{_escape(status)}")
            for status in operation.get("responses", {})
        }
        return _Definition(method, template, tuple(merged.values()), body, responses, schemas)

    def _parameters(self, pointer: str, owner: Mapping[str, Any]) -> list[_Parameter]:
        found = []
        for index in range(len(owner.get("parameters", []))):
            at, node = self._follow(f"{pointer}/{index}")
            if node["in"] == "header" and node["name"].lower() in _IGNORED_HEADERS:
                continue
            found.append(self._parameter(at, node, node["name"], node["in"]))
        return found

    def _parameter(
        self, pointer: str, node: Mapping[str, Any], name: str, location: str
    ) -> _Parameter:
        required = bool(node.get("required", False))
        if "schema" not in node:
            return _Parameter(name, location, required, None, None)
        _, schema = self._follow(f"{pointer}/schema")
        return _Parameter(name, location, required, f"{pointer}/schema", schema.get("type"))

    def _response(self, pointer: str) -> _Response:
        at, node = self._follow(pointer)
        headers = []
        for name in node.get("headers", {}):
            if name.lower() == "content-type":  # OpenAPI 3.0 §4.7.16.1: ignored
                continue
            header_at, header = self._follow(f"{at}/headers/{_escape(name)}")
            headers.append(self._parameter(header_at, header, name, "header"))
        # A response that documents content must carry it: OpenAPI has no "required" here.
        return _Response(self._content(at, always=True), tuple(headers))

    def _content(self, pointer: str, *, always: bool = False) -> _Content:
        at, node = self._follow(pointer)
        media: dict[str, str | None] = {}
        for media_type, entry in node.get("content", {}).items():
            schema = f"{at}/content/{_escape(media_type)}/schema"
            media[media_type] = schema if "schema" in entry and _is_json(media_type) else None
        return _Content(media, always or bool(node.get("required", False)))

    def _follow(self, pointer: str) -> tuple[str, Any]:
        """The node at ``pointer`` after its ``$ref`` chain, and the pointer it ends at."""
        node = self._at(pointer)
        seen = {pointer}
        while isinstance(node, dict) and "$ref" in node:
            ref = str(node["$ref"])
            if not ref.startswith("#/") or ref[1:] in seen:
                raise SpecError(f"{pointer}: $ref {ref!r} does not point inside the document")
            pointer = ref[1:]
            seen.add(pointer)
            node = self._at(pointer)
        return pointer, node

    def _at(self, pointer: str) -> Any:
        node: Any = self.document
        for part in pointer.split("/")[1:]:
            key = part.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(key)] if isinstance(node, list) else node[key]
            except (KeyError, IndexError, ValueError):
                raise SpecError(f"the document has nothing at {pointer}") from None
        return node


def _escape(segment: str) -> str:
    """One JSON pointer segment (RFC 6901 §3)."""
    return segment.replace("~", "~0").replace("/", "~1")


# --- media types and parameter text --------------------------------------------------------


def _essence(media_type: str) -> str:
    """``type/subtype`` without parameters, lower-case (RFC 9110 §8.3.1)."""
    return media_type.split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    essence = _essence(media_type)
    return essence == "application/json" or essence.endswith("+json")


def _media_type(media: Mapping[str, str | None], content_type: str | None) -> str | None | Problem:
    """The documented media type a body is read as: the one ``content_type`` names
    (exactly, by essence, or by a ``type/*`` or ``*/*`` range), else the first JSON one.
    A type the operation does not document is a ``Problem`` of the Content-Type header."""
    if content_type is None:
        return next((m for m in media if _is_json(m)), None)
    normal = content_type.replace(" ", "").lower()
    essence = _essence(content_type)
    ranges = (essence, f"{essence.split('/', 1)[0]}/*", "*/*")
    for fits in (
        lambda m: m.replace(" ", "").lower() == normal,
        lambda m: _essence(m) in ranges,
    ):
        found = next((m for m in media if fits(m)), None)
        if found is not None:
            return found
    return Problem(
        "header Content-Type",
        f"{show(content_type)} is not a media type the spec documents here; "
        f"use one of {', '.join(media)}",
    )


def _from_text(text: str, kind: str | None) -> tuple[Any, str | None]:
    """A parameter's text as its schema's type (OpenAPI ``style: simple``), or what it
    should have been."""
    if kind == "boolean":
        if text in ("true", "false"):
            return text == "true", None
        return None, "a boolean (true or false)"
    if kind == "integer":
        return (int(text), None) if _INTEGER.fullmatch(text) else (None, "an integer")
    if kind == "number":
        try:
            return float(text), None
        except ValueError:
            return None, "a number"
    if kind == "array":
        return [item.strip() for item in text.split(",")], None
    return text, None
