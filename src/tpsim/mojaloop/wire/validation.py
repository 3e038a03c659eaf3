"""Decode a body safely, validate it with a cached ``TypeAdapter`` and turn pydantic's complaint
into a coded error.

``decode_body`` refuses (3101) what ``json.loads`` would accept but a client must not be able to
send: nesting deeper than ``MAX_JSON_DEPTH`` (deep bodies end in a ``RecursionError`` while
decoding, copying or validating them), numbers longer than ``MAX_NUMBER_CHARS`` characters
(``int()`` refuses 4,300 digits and is quadratic below that) and ``NaN`` / ``Infinity``, which
JSON (RFC 8259 §6) does not have.

The first error pydantic reports decides the code; its location becomes ``field`` as a dotted
path (``payee.partyIdInfo.fspId``, list indexes as ``scopes.0.address``) and the detail states
the rule that was broken. Codes follow Mojaloop's mapping of OpenAPI keywords
(central-services-error-handling): ``required`` → 3102, a wrong JSON type → 3101, too many
array items → 3103, everything else (pattern, enum, length, additionalProperties) → 3100.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic
from pydantic import TypeAdapter
from pydantic_core import ErrorDetails

from tpsim.core.errors import MalformedBody
from tpsim.core.json_body import decode_object, json_type
from tpsim.mojaloop.errors import MalformedSyntax, MissingElement, TooManyElements, ValidationError
from tpsim.mojaloop.wire.models.common import (
    MISSING_PAYLOAD,
    ONE_OF_ERROR,
    PATTERN_RULES,
    VARIANT_TAGS,
)

__all__ = ["MAX_JSON_DEPTH", "MAX_NUMBER_CHARS", "decode_body", "to_fspiop_error", "validate"]

T = TypeVar("T")

_JSON_TYPES = {
    "string_type": "a JSON string",
    "str_type": "a JSON string",
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
    "list_type": "a JSON array",
}
_QUOTED = re.compile(r"'([^']*)'")

# The deepest official body (POST /quotes, PUT /parties, POST /thirdpartyRequests/…) nests 6
# arrays and objects; 32 leaves room for extension data and stays far below any recursion
# limit of the decoder, pydantic, the journal or ``copy.deepcopy``.
MAX_JSON_DEPTH = 32
# No FSPIOP number comes near this (amounts are strings); a float needs at most ~25.
MAX_NUMBER_CHARS = 100


def decode_body(raw: bytes) -> dict[str, Any]:
    """The JSON object ``raw`` holds, or ``MalformedSyntax`` (3101) naming what is wrong.

    ``core.json_body`` reads it, as this edge always has: bytes as ``json.loads`` reads them
    (UTF-8, -16 or -32) and a key named twice keeping its last value, as ``JSON.parse`` does
    in Mojaloop's Node.js services.
    """
    try:
        return decode_object(
            raw,
            max_depth=MAX_JSON_DEPTH,
            max_number_chars=MAX_NUMBER_CHARS,
            encoding="detect",
            duplicate_keys="last",
        )
    except MalformedBody as exc:
        raise MalformedSyntax(str(exc)) from None


def validate(adapter: TypeAdapter[T], body: object) -> T:
    """``adapter.validate_python(body)``, raising a ``mojaloop.errors.ValidationError`` subclass."""
    try:
        return adapter.validate_python(body)
    except pydantic.ValidationError as exc:
        raise to_fspiop_error(exc) from None


def to_fspiop_error(exc: pydantic.ValidationError) -> ValidationError:
    """The coded error for the first problem pydantic found (the others go in extensions)."""
    details = exc.errors(include_url=False)
    error = _translate(details[0])
    others = [f"{_field(d['loc']) or 'body'}: {d['type']}" for d in details[1:4]]
    if others:
        extra = f" (+{len(details) - 4} more)" if len(details) > 4 else ""
        error.extensions["otherErrors"] = "; ".join(others) + extra
    return error


def _translate(detail: ErrorDetails) -> ValidationError:
    kind, field = detail["type"], _field(detail["loc"])
    ctx: Mapping[str, Any] = detail.get("ctx") or {}
    value = detail.get("input")
    if kind == "missing":
        return MissingElement("missing mandatory element", field=field)
    if kind == MISSING_PAYLOAD:
        return MissingElement(detail["msg"], field=_join(field, str(ctx["field"])))
    if kind == ONE_OF_ERROR:
        return _one_of_error(field, value, str(ctx["checks"]))
    if kind in _JSON_TYPES:
        return MalformedSyntax(f"must be {_JSON_TYPES[kind]}, got {json_type(value)}", field=field)
    if kind == "too_long":
        return TooManyElements(
            f"has {ctx['actual_length']} items; at most {ctx['max_length']} allowed", field=field
        )
    return ValidationError(_rule(kind, ctx, value, detail["msg"]), field=field)


def _rule(kind: str, ctx: Mapping[str, Any], value: object, message: str) -> str:
    if kind == "extra_forbidden":
        return "not allowed: additionalProperties is false"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx["pattern"])
        name, rule = PATTERN_RULES.get(pattern, ("the pattern", pattern))
        return f"must match {name}: {rule}; got {_shown(value)}"
    if kind in ("enum", "literal_error"):
        allowed = ", ".join(_QUOTED.findall(str(ctx["expected"])))
        return f"must be one of: {allowed}; got {_shown(value)}"
    if kind == "string_too_short":
        return f"is {len(str(value))} characters; at least {ctx['min_length']} required"
    if kind == "string_too_long":
        return f"is {len(str(value))} characters; at most {ctx['max_length']} allowed"
    if kind == "too_short":
        return f"has {ctx['actual_length']} items; at least {ctx['min_length']} required"
    return message


def _one_of_error(field: str | None, body: object, checks: str) -> ValidationError:
    """Name the field that fails to select a ``oneOf`` variant (see ``common.one_of``)."""
    for check in filter(None, checks.split(";")):
        path, _, allowed = check.partition("=")
        node, walked = body, field
        for key in path.split("."):
            if not isinstance(node, Mapping):
                return MalformedSyntax(
                    f"must be a JSON object, got {json_type(node)}", field=walked
                )
            walked = _join(walked, key)
            if key not in node:
                return MissingElement(
                    "missing mandatory element (selects the oneOf variant)", field=walked
                )
            node = node[key]
        options = allowed.split("|")
        if node not in options:
            return ValidationError(
                f"must be one of: {', '.join(options)}; got {_shown(node)}",
                field=walked,
            )
    return ValidationError("matches no variant of the oneOf", field=field)


def _field(loc: tuple[int | str, ...]) -> str | None:
    parts = [str(part) for part in loc if part not in VARIANT_TAGS]
    return ".".join(parts) or None


def _join(field: str | None, key: str) -> str:
    return f"{field}.{key}" if field else key


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
