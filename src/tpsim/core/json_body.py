"""A request body as a JSON object, refusing what ``json.loads`` accepts but a client must not
be able to send: nesting deeper than the caller's limit (deep bodies end in a
``RecursionError`` while decoding, copying or validating them), numbers longer than the
caller's limit (``int()`` refuses 4,300 digits and is quadratic below that), ``NaN`` and
``Infinity``, which JSON (RFC 8259 §6) does not have, numbers too large for a double
(``1e999999`` would read as ``Infinity``, and go on as such into the journal and any body
that echoes it), and, unless the caller keeps the last
value, a key named twice in one object (RFC 8259 §4: the meaning is then unpredictable).

Every dialect reads its bodies here and renders a ``MalformedBody`` in its own format; the
message says what is wrong and what to send, in no protocol's words.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Literal

from tpsim.core.errors import MalformedBody

__all__ = ["DuplicateKeys", "Encoding", "decode_object", "json_type", "lone_surrogate_at"]

_WHITESPACE = " \t\n\r"  # JSON's own (RFC 8259 §2), not every Unicode space
_SURROGATE = re.compile("[\ud800-\udfff]")

#: ``utf-8``: RFC 8259 §8.1, nothing else; ``detect``: as ``json.loads`` reads bytes (UTF-8,
#: UTF-16 or UTF-32 told apart by RFC 4627 §3, lone surrogates let through).
Encoding = Literal["utf-8", "detect"]
#: ``refuse``: a key named twice in one object is an error; ``last``: the last value wins,
#: as in ``json.loads`` and JavaScript's ``JSON.parse``.
DuplicateKeys = Literal["refuse", "last"]


def decode_object(
    raw: bytes,
    *,
    max_depth: int,
    max_number_chars: int,
    encoding: Encoding = "utf-8",
    duplicate_keys: DuplicateKeys = "refuse",
) -> dict[str, Any]:
    """The JSON object ``raw`` holds, or ``MalformedBody`` saying what is wrong with it.

    Costs what ``json.loads`` costs on an ordinary body: the depth walk only runs when the
    text holds more brackets than ``max_depth``, and the number hooks only see numbers.
    """
    text = _text(raw, encoding)
    if not text.strip(_WHITESPACE):
        raise MalformedBody("empty", "the body is empty: send a JSON object")
    try:
        value = _decoder(max_number_chars, duplicate_keys).decode(text)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except json.JSONDecodeError as exc:
        raise MalformedBody(
            "not-json",
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
        ) from None
    if not isinstance(value, dict):
        raise MalformedBody("not-object", f"the body must be a JSON object, not {json_type(value)}")
    # Brackets inside strings count too: this is an upper bound on the depth, so a body with
    # fewer brackets than the limit cannot nest deeper than it.
    if text.count("{") + text.count("[") > max_depth and _nests_deeper(value, max_depth):
        raise _too_deep(max_depth)
    return value


def _text(raw: bytes, encoding: Encoding) -> str:
    """``raw`` as text, or ``MalformedBody`` naming the first byte that is not."""
    codec, errors = ("utf-8", "strict")
    if encoding == "detect":
        codec, errors = json.detect_encoding(raw), "surrogatepass"
    try:
        return raw.decode(codec, errors)
    except UnicodeDecodeError as exc:
        name = exc.encoding.upper().replace("_", "-")
        offset = exc.start + len(raw) - len(exc.object)  # utf-8-sig decodes after the BOM
        raise MalformedBody(
            "not-unicode",
            f"the body is not valid JSON: byte 0x{raw[offset]:02x} at offset {offset}"
            f" is not {name} (RFC 8259 §8.1); send UTF-8 JSON",
        ) from None


def lone_surrogate_at(value: Any) -> str | None:
    """The path of the first string, or object holding a member name, in decoded JSON
    ``value`` with a lone surrogate (``""``: ``value`` itself), or None. JSON's grammar lets
    ``"\\ud800"`` through, but it is no Unicode text: an answer echoing it, a digest of it
    or a state file keeping it could not encode it. Walked without recursion."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str) and _SURROGATE.search(node):
            return where
        if isinstance(node, dict):
            if any(_SURROGATE.search(name) for name in node):
                return where
            stack.extend((f"{where}.{k}" if where else k, v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(node))
    return None


def _nests_deeper(value: dict[str, Any], limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` arrays and objects (walked without recursion)."""
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _too_deep(limit: int) -> MalformedBody:
    return MalformedBody(
        "too-deep",
        f"the body nests arrays and objects more than {limit} levels deep;"
        f" at most {limit} are accepted",
    )


@functools.cache
def _decoder(max_number_chars: int, duplicate_keys: DuplicateKeys) -> json.JSONDecoder:
    """One decoder per set of limits (the hooks close over them)."""
    return json.JSONDecoder(
        parse_int=_number(int, max_number_chars),
        parse_float=_number(_finite, max_number_chars),
        parse_constant=_no_constant,
        object_pairs_hook=_unique_keys if duplicate_keys == "refuse" else None,
    )


def _number(convert: Callable[[str], int | float], limit: int) -> Callable[[str], int | float]:
    """A ``json`` number hook that refuses numbers longer than ``limit`` characters."""

    def parse(text: str) -> int | float:
        if len(text) > limit:
            raise MalformedBody(
                "long-number",
                f"a number in the body has {len(text)} characters; at most {limit} are accepted",
            )
        return convert(text)

    return parse


def _finite(text: str) -> float:
    """``float(text)``, refusing what overflows a double (RFC 8259 §6: beyond its range)."""
    value = float(text)
    if not math.isfinite(value):
        raise MalformedBody(
            "not-a-number",
            f"a number in the body, {text[:40]}, is beyond what a double holds"
            " (RFC 8259 §6): send a smaller one",
        )
    return value


def _no_constant(name: str) -> None:
    raise MalformedBody(
        "not-a-number", f"the body is not valid JSON: {name} is not a JSON number (RFC 8259 §6)"
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are distinct: one with two ``amount`` members is ambiguous."""
    value = dict(pairs)
    if len(value) != len(pairs):
        twice = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise MalformedBody(
            "duplicate-key", f"the body names {twice!r} twice in one object: send it once"
        )
    return value


def json_type(value: object) -> str:
    """How an error text names the JSON type of a decoded ``value`` ("a string", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, Mapping) else type(value).__name__
