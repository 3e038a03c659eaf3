"""OpenAPI 3.0 Schema Objects checked with ``jsonschema``, and what breaks them said plainly.

An OpenAPI 3.0 schema is JSON Schema Draft 4 (Wright-00) with a few changes. This module
applies them as keyword overrides of ``Draft4Validator``, so the bundled file is never
rewritten:

- ``nullable: true`` admits ``null`` next to ``type`` and ``enum``;
- ``discriminator``, ``readOnly``, ``writeOnly``, ``example`` and ``xml`` carry no
  constraint, and Draft 4 already ignores unknown keywords;
- ``pattern`` is searched as JavaScript's ``RegExp.test`` would search it (the bundles are
  written for JavaScript validators), see ``js_search``;
- ``format`` is checked for ``date``, ``date-time`` (RFC 3339), ``uuid`` and ``ipv4``,
  the formats PSD2 puts on identifiers, timestamps and the PSU's address. Other formats
  (``uri``, ``url``, ``byte``, ``int32``, ``time``) are not checked;
- ``oneOf`` is read as ``anyOf``. Some alternatives in the bundles overlap and have no
  discriminator: a Berlin Group periodic payment is also a valid single payment, and an
  OBIE ``OBFrequency6`` code also matches its pattern. Under strict ``oneOf`` every such
  body would fail, and the sender cannot avoid it;
- an integer-valued number (``1.0``) is an integer, as in JavaScript.

Every ``$ref`` resolves inside the bundle: the whole document is registered as one
``referencing`` resource, so ``#/components/...`` pointers work from any depth.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

from jsonschema import Draft4Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tpsim.errors import TpsimError

__all__ = ["Problem", "Schemas", "SpecError", "js_search", "show"]


class SpecError(TpsimError):
    """A bundle tpsim cannot use as written (an unknown name, a pattern Python cannot
    evaluate). This is tpsim's fault or the bundle's, not the fault of whoever sent a message."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One way a message breaks its OpenAPI operation.

    ``where`` is the place, ready to be shown: ``body.instructedAmount.amount``,
    ``body.payments[0]``, ``header X-Request-ID``, ``path payment-service``, ``status``.
    ``message`` says what is wrong there and what the spec allows.
    """

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


# --- patterns as JavaScript evaluates them -------------------------------------------------

# ECMAScript's WhiteSpace and LineTerminator (ECMA-262 §22.2.2.9, CharacterClassEscape \s).
_JS_SPACE = (
    "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
)
# "." stops at every JavaScript line terminator, not only at "\n".
_JS_DOT = "[^\\n\\r\\u2028\\u2029]"


@cache
def js_search(pattern: str) -> Callable[[str], bool]:
    """``RegExp(pattern).test``: does ``pattern`` occur in a string, as JavaScript finds it.

    Python's ``re`` differs from JavaScript in ways the bundles expose. ``$`` also matches
    before a final newline, so ``"10.00\\n"`` would pass ``^\\d{1,13}$``. ``\\d`` and
    ``\\w`` match any Unicode digit or letter. ``\\s`` uses another set of spaces, and
    ``.`` matches ``\\r``. Compiling with ``re.ASCII`` fixes ``\\d \\w \\b`` and their
    negations. The rest is rewritten here. A construct Python cannot express raises
    ``SpecError``.
    """
    try:
        compiled = re.compile(_translate(pattern), re.ASCII)
    except re.error as error:
        raise SpecError(f"pattern {pattern!r} cannot be evaluated as JavaScript: {error}") from None
    return lambda value: compiled.search(value) is not None


def _translate(pattern: str) -> str:
    """Rewrite the JavaScript-only meanings of ``$ . \\s \\S`` for ``re``."""
    out: list[str] = []
    class_start: int | None = None  # len(out) where the open [...] class began
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(_escape(pattern[index + 1], class_start is not None, pattern))
            index += 2
            continue
        if class_start is not None:
            if char == "]" and len(out) == class_start:
                raise SpecError(f"pattern {pattern!r}: an empty class [] or [^] has no Python form")
            class_start = None if char == "]" else class_start
            # Literal in a JavaScript class; Python reserves them for future set operations.
            char = "\\" + char if char in "[&~|" else char
        elif char == "[":
            if pattern.startswith("^", index + 1):
                char, index = "[^", index + 1
            class_start = len(out) + 1
        elif char == ".":
            char = _JS_DOT
        elif char == "$":
            char = "\\Z"
        out.append(char)
        index += 1
    return "".join(out)


def _escape(letter: str, in_class: bool, pattern: str) -> str:
    if letter == "s":
        return _JS_SPACE if in_class else f"[{_JS_SPACE}]"
    if letter == "S":
        if in_class:
            raise SpecError(f"pattern {pattern!r}: \\S inside a class has no Python form")
        return f"[^{_JS_SPACE}]"
    return "\\" + letter


# --- formats ----------------------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATE_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))", re.ASCII
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", re.ASCII)
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date")
def _is_date(value: object) -> bool:
    """RFC 3339 ``full-date``; ``date.fromisoformat`` alone also takes ``20240101``."""
    if not isinstance(value, str):
        return True
    return _DATE.fullmatch(value) is not None and _parses(dt.date.fromisoformat, value)


@FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    """RFC 3339 ``date-time``: a ``T``, seconds, and an offset are all required."""
    if not isinstance(value, str):
        return True
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    date, time, _fraction, _zone, hours, minutes = match.groups()
    offset_ok = hours is None or (int(hours) < 24 and int(minutes) < 60)
    return offset_ok and _parses(dt.datetime.fromisoformat, f"{date}T{time}")


@FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or _UUID.fullmatch(value) is not None


@FORMATS.checks("ipv4")
def _is_ipv4(value: object) -> bool:
    return not isinstance(value, str) or _parses(ipaddress.IPv4Address, value)


def _parses(parse: Callable[[str], object], value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


# --- the validator ----------------------------------------------------------------------------

_DRAFT4 = Draft4Validator.VALIDATORS
_Resolve = Callable[[object], object]
_Keyword = Callable[[Validator, Any, Any, Mapping[str, Any]], Iterator[ValidationError]]


def _unless_null(keyword: str) -> _Keyword:
    """Draft 4's ``keyword``, skipped for ``null`` where the schema says ``nullable: true``."""
    check: _Keyword = _DRAFT4[keyword]

    def nullable(
        validator: Validator, value: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if instance is None and schema.get("nullable") is True:
            return
        yield from check(validator, value, instance, schema)

    return nullable


def _pattern(
    validator: Validator, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not js_search(pattern)(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _required(
    validator: Validator, required: Sequence[str], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """Draft 4's ``required``, but each error sits at the missing member's own path."""
    if not isinstance(instance, dict):
        return
    for name in required:
        if name not in instance:
            yield ValidationError(f"{name!r} is a required property", path=(name,))


def _is_integer(checker: object, instance: object) -> bool:
    if isinstance(instance, bool):
        return False
    return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())


_OpenApi30Validator: Any = validators.extend(  # type: ignore[no-untyped-call]
    Draft4Validator,
    {
        "type": _unless_null("type"),
        "enum": _unless_null("enum"),
        "pattern": _pattern,
        "required": _required,
        "oneOf": _DRAFT4["anyOf"],
    },
    type_checker=Draft4Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


class Schemas:
    """The schemas of one OpenAPI document, each compiled once when first used.

    A schema is named by its JSON pointer in the document (``/components/schemas/amount``,
    ``/paths/~1v1~1consents/post/requestBody/content/application~1json/schema``). The
    validators are cached by pointer, so a schema that many operations share (an error
    body, a header) is built once for all of them.
    """

    def __init__(self, uri: str, document: Mapping[str, Any]) -> None:
        self._uri = uri
        resource: Resource[Any] = Resource.from_contents(document, default_specification=DRAFT4)
        self._registry: Registry[Any] = Registry().with_resource(uri, resource)
        self._validators: dict[str, Any] = {}

    def problems(self, pointer: str, instance: object, where: str) -> list[Problem]:
        """Every way ``instance`` breaks the schema at ``pointer``; ``where`` names its root."""
        validator = self._validators.get(pointer)
        if validator is None:
            ref = f"{self._uri}#{quote(pointer, safe='/~')}"
            validator = _OpenApi30Validator(
                {"$ref": ref}, registry=self._registry, format_checker=FORMATS
            )
            self._validators[pointer] = validator
        return list(_describe(validator.iter_errors(instance), where, "", self._resolve))

    def _resolve(self, schema: object) -> object:
        """``schema`` after its ``$ref`` chain (an alternative of a ``oneOf`` is usually one)."""
        resolver = self._registry.resolver(base_uri=self._uri)
        while isinstance(schema, dict) and "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            schema, resolver = resolved.contents, resolved.resolver
        return schema


# --- problems in plain words --------------------------------------------------------------


def _describe(
    errors: Iterable[ValidationError], root: str, note: str, resolve: _Resolve
) -> Iterator[Problem]:
    """One ``Problem`` for each error. For a failed ``oneOf``/``anyOf``, the errors come
    from the alternative closest to the instance, so the reader sees what to fix rather
    than "not valid under any of the given schemas"."""
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        if error.validator in ("oneOf", "anyOf") and error.context:
            yield from _closest(error, root, resolve)
        elif error.validator == "additionalProperties" and error.validator_value is False:
            allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            members: Any = error.instance
            for extra in sorted(set(members) - set(allowed)):
                where = _where(root, [*error.absolute_path, extra])
                yield Problem(where, f"is not a member this object may have{note}")
        else:
            yield Problem(_where(root, error.absolute_path), _message(error) + note)


def _closest(error: ValidationError, root: str, resolve: _Resolve) -> Iterator[Problem]:
    """Describe the errors of the alternative that comes closest. In order of preference:
    one that fits the instance's type, one that declares more of the members the instance
    has (a single payment sent as a single payment, not as a bulk one that lacks
    ``payments``), the one missing fewer required members, the one with fewer errors, and
    finally the first."""
    value: Any = error.validator_value
    alternatives: list[Any] = list(value)
    by_alternative: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        by_alternative.setdefault(int(sub.relative_schema_path[0]), []).append(sub)

    def distance(item: tuple[int, list[ValidationError]]) -> tuple[bool, int, int, int, int]:
        index, subs = item
        wrong_type = any(s.validator == "type" and not s.relative_path for s in subs)
        missing = sum(s.validator == "required" for s in subs)
        return (
            wrong_type,
            -_known(resolve(alternatives[index]), error.instance),
            missing,
            len(subs),
            index,
        )

    index, subs = min(by_alternative.items(), key=distance)
    names = [_name(alternative, n) for n, alternative in enumerate(alternatives)]
    note = f" (by {names[index]}, the closest of the schemas allowed here: {', '.join(names)})"
    yield from _describe(subs, root, note, resolve)


def _name(alternative: object, index: int) -> str:
    """An alternative as a reader can look it up: its schema's name, or its position."""
    ref = alternative.get("$ref", "") if isinstance(alternative, dict) else ""
    return str(ref).rsplit("/", 1)[-1] or f"alternative {index + 1}"


def _known(schema: object, instance: object) -> int:
    """How many of the instance's members ``schema`` declares in its ``properties``."""
    if not isinstance(schema, dict) or not isinstance(instance, dict):
        return 0
    return len(instance.keys() & schema.get("properties", {}).keys())


def _where(root: str, path: Iterable[object]) -> str:
    """``body`` + ``.member`` / ``[index]``: the place as a reader of the JSON names it."""
    return root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


_JSON_TYPES = {type(None): "null", bool: "boolean", int: "number", float: "number"}
_JSON_TYPES |= {str: "string", list: "array", dict: "object"}


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def show(value: object) -> str:
    """``value`` as JSON, cut to 80 characters: how a message quotes what was sent."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def _message(error: ValidationError) -> str:
    """The error in words that say what to send instead."""
    value: Any = error.validator_value
    instance: Any = error.instance
    match error.validator:
        case "required":
            return "is required but missing"
        case "type":
            wanted = " or ".join(_a(t) for t in ([value] if isinstance(value, str) else value))
            got = _JSON_TYPES.get(type(instance), type(instance).__name__)
            return f"must be {wanted}, not {_a(got)} ({show(instance)})"
        case "enum":
            return f"{show(instance)} is not one of {', '.join(show(v) for v in value)}"
        case "format":
            return f"{show(instance)} is not a valid {value}"
        case "pattern":
            return f"{show(instance)} does not match the pattern {value}"
        case "maxLength":
            return f"{show(instance)} is {len(instance)} characters long; at most {value} allowed"
        case "minLength":
            return f"{show(instance)} is {len(instance)} characters long; at least {value} needed"
    return str(error.message)
