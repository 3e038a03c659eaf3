"""Validate bodies against the official OpenAPI bundles, independently of tpsim's models.

The test suite checks every body tpsim sends with it, and the scenario runner checks every
message a participant under test sends (conformance mode). The bundles ship with tpsim
(``tpsim/specs/mojaloop/``, unmodified, see PROVENANCE.md there); ``$TPSIM_SPEC_DIR``
points elsewhere (a newer release of the same four files). Request
bodies are checked with ``jsonschema`` (Draft 4, the JSON Schema dialect OpenAPI 3.0 is
based on) with the bundle registered as one resource, so the bundles' internal ``$ref``s -
including the ``#/paths/~1accounts~1%7BID%7D~1error/...`` pointers of the PISP/DFSP
bundles - resolve as in ajv. Patterns are searched like JavaScript's ``RegExp.test``; the one
pattern family Python's ``re`` cannot express (``\\p{L}\\p{gc=Mark}…`` in person names) is
evaluated with ``unicodedata``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator, validators
from jsonschema.exceptions import ValidationError as SchemaError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tpsim.errors import TpsimError

SHIPPED = Path(__file__).resolve().parents[2] / "specs" / "mojaloop"
ENV_VAR = "TPSIM_SPEC_DIR"
BUNDLES: dict[str, str] = {
    "pisp": "thirdparty-pisp-api.yaml",
    "dfsp": "thirdparty-dfsp-api.yaml",
    "snippets": "thirdparty-openapi3-snippets.yaml",
    "fspiop": "fspiop-rest-v1.1-openapi3-snippets.yaml",
}
METHODS = ("get", "put", "post", "patch", "delete")
FSPIOP_RESOURCES = frozenset({"parties", "participants", "quotes", "transfers"})
ROLE_BUNDLE = {"pisp": "pisp", "dfsp": "dfsp", "auth": "dfsp", "hub": "pisp"}


def spec_dir() -> Path:
    """Where the bundles are looked for: ``$TPSIM_SPEC_DIR``, else the copies tpsim ships."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured) if configured else SHIPPED


def missing_bundles(directory: Path) -> list[str]:
    return [name for name in BUNDLES.values() if not (directory / name).is_file()]


@cache
def _load(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - safe loader
    return document


# --- patterns as JavaScript evaluates them -------------------------------------------------

_PROPERTY = re.compile(r"\\p\{([^}]*)\}")
_CATEGORY_TESTS: dict[str, Callable[[str], bool]] = {
    "L": lambda c: unicodedata.category(c).startswith("L"),
    "gc=Mark": lambda c: unicodedata.category(c).startswith("M"),
    "digit": lambda c: unicodedata.category(c) == "Nd",
    "gc=Connector_Punctuation": lambda c: unicodedata.category(c) == "Pc",
    "Join_Control": lambda c: c in "\u200c\u200d",
}
_PLACEHOLDER = "\ue000"


@cache
def _matcher(pattern: str) -> Callable[[str], bool]:
    """``RegExp(pattern, "u").test`` for the bundles' patterns."""
    if "\\p{" not in pattern:
        return re.compile(pattern).search  # type: ignore[return-value]
    # Every \p{…} sits in one bracket class: stand a private-use character in for them and
    # map each input character that has one of the properties to it.
    first = pattern.index("\\p{")
    bracket = pattern.rindex("[", 0, first)
    tests = [_CATEGORY_TESTS[name] for name in _PROPERTY.findall(pattern)]
    compiled = re.compile(
        pattern[: bracket + 1] + _PLACEHOLDER + _PROPERTY.sub("", pattern[bracket + 1 :])
    )

    def search(value: str) -> bool:
        mapped = "".join(_PLACEHOLDER if any(t(c) for t in tests) else c for c in value)
        return compiled.search(mapped) is not None

    return search


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[SchemaError]:
    if validator.is_type(instance, "string") and not _matcher(pattern)(instance):
        yield SchemaError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft4Validator, {"pattern": _pattern})  # type: ignore[no-untyped-call]


# --- the validator ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One rule a body breaks: where (a JSON path, or ``(body)``), the keyword, the text."""

    field: str
    rule: str
    message: str
    depth: int = 0  # > 0: why one variant of a oneOf/anyOf above failed

    def __str__(self) -> str:
        return f"{'    ' * self.depth}{self.field}: {self.message} [{self.rule}]"


class SchemaViolation(TpsimError):
    """A body (or a message) the official OpenAPI does not allow; ``problems`` lists why."""

    def __init__(self, summary: str, problems: list[SchemaProblem] | None = None) -> None:
        self.summary = summary
        self.problems = problems or []
        listing = "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(f"{summary}:{listing}" if self.problems else summary)


class OpenApiValidator:
    """Request-body validation against the four bundles (loaded once per process)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or spec_dir()
        self._validators: dict[tuple[str, str, str], Any] = {}

    def document(self, bundle: str) -> dict[str, Any]:
        return _load(self.directory / BUNDLES[bundle])

    def operations(self, bundle: str) -> list[tuple[str, str]]:
        """Every (METHOD, template) of ``bundle``."""
        paths = self.document(bundle)["paths"]
        return [(m.upper(), t) for t, item in paths.items() for m in METHODS if m in item]

    def template_for(self, bundle: str, path: str) -> str | None:
        """The bundle's path template matching ``path``, the most literal one first."""
        segments = path.split("/")
        best: tuple[int, str] | None = None
        for template in self.document(bundle)["paths"]:
            parts = template.split("/")
            if len(parts) != len(segments):
                continue
            literal = [p for p in parts if not p.startswith("{")]
            fits = all(
                bool(seg) if part.startswith("{") else part == seg
                for part, seg in zip(parts, segments, strict=True)
            )
            if fits and (best is None or len(literal) > best[0]):
                best = (len(literal), template)
        return None if best is None else best[1]

    def validate(self, bundle: str, method: str, path: str, body: object) -> None:
        """Raise ``SchemaViolation`` listing every violation of the operation's request body."""
        template = self.template_for(bundle, path)
        operation = self._operation(bundle, method, template)
        if operation is None or template is None:
            raise SchemaViolation(f"{bundle} bundle has no operation {method.upper()} {path}")
        if "requestBody" not in operation:
            if body is not None:
                raise SchemaViolation(
                    f"{method.upper()} {template} takes no body; got {body!r}",
                    [SchemaProblem("(body)", "requestBody", "this operation takes no body")],
                )
            return
        validator = self._validator(bundle, method.lower(), template)
        problems = list(_describe(validator.iter_errors(body)))
        if problems:
            raise SchemaViolation(
                f"{method.upper()} {path} violates {BUNDLES[bundle]} ({template})", problems
            )

    def validate_sent(self, message: object, receiver_role: str) -> None:
        """Validate a ``Message`` (or a mapping with method/path/body) sent to a role.

        To a PISP → PISP bundle, to a DFSP or the auth-service → DFSP bundle (it has the
        verifications), to the hub → PISP bundle; FSPIOP resources → FSPIOP bundle. A path
        the chosen bundle lacks is looked up in the PISP, DFSP and snippets bundles in turn.
        """
        method, path, body = _parts(message)
        first = path.split("/")[1] if path.count("/") else ""
        if first in FSPIOP_RESOURCES:
            candidates = ["fspiop"]
        elif path.startswith("/thirdpartyRequests/verifications"):
            candidates = ["dfsp", "snippets"]
        else:
            candidates = [ROLE_BUNDLE[receiver_role], "pisp", "dfsp", "snippets"]
        for bundle in candidates:
            if self._operation(bundle, method, self.template_for(bundle, path)) is not None:
                self.validate(bundle, method, path, body)
                return
        raise SchemaViolation(
            f"no bundle has an operation {method} {path}",
            [SchemaProblem("(path)", "paths", f"the API has no operation {method} {path}")],
        )

    def _operation(self, bundle: str, method: str, template: str | None) -> dict[str, Any] | None:
        if template is None:
            return None
        item: dict[str, Any] = self.document(bundle)["paths"][template]
        operation: dict[str, Any] | None = item.get(method.lower())
        return operation

    def _validator(self, bundle: str, method: str, template: str) -> Any:
        key = (bundle, method, template)
        if key not in self._validators:
            uri = f"urn:tpsim:openapi:{bundle}"
            document = self.document(bundle)
            resource = Resource.from_contents(document, default_specification=DRAFT4)
            registry: Registry[Any] = Registry().with_resource(uri, resource)
            pointer = self._body_pointer(document, method, template)
            self._validators[key] = _Validator({"$ref": f"{uri}#{pointer}"}, registry=registry)
        return self._validators[key]

    @staticmethod
    def _body_pointer(document: Mapping[str, Any], method: str, template: str) -> str:
        escaped = template.replace("~", "~0").replace("/", "~1")
        pointer = f"/paths/{escaped}/{method}/requestBody"
        node = document["paths"][template][method]["requestBody"]
        if "$ref" in node:  # a shared requestBody component
            pointer = node["$ref"].lstrip("#")
        return f"{pointer}/content/application~1json/schema"


def _describe(errors: Iterator[SchemaError], depth: int = 0) -> Iterator[SchemaProblem]:
    for error in errors:
        where = "/".join(str(p) for p in error.absolute_path) or "(body)"
        yield SchemaProblem(where, str(error.validator), error.message, depth)
        if error.context:  # oneOf / anyOf: say why each variant failed
            yield from _describe(iter(error.context), depth + 1)


def _parts(message: object) -> tuple[str, str, object]:
    if isinstance(message, Mapping):
        return str(message["method"]).upper(), str(message["path"]), message.get("body")
    method, path = getattr(message, "method"), getattr(message, "path")  # noqa: B009
    return str(method).upper(), str(path), getattr(message, "body", None)
