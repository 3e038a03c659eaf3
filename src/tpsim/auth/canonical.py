"""RFC 8785 (JCS) canonical JSON, exactly as Mojaloop's ``json-canonicalize`` produces it.

``rfc8785`` matches Node byte for byte on every input it accepts (python-deps-notes).
We refuse up front, with the JSON path of the offending value, everything where
implementations could disagree or where the input is not JSON at all: floats (Third
Party amounts are strings, so a float means the body was built wrongly), integers
beyond ±(2^53−1), strings holding surrogate code points, non-string keys, and any other
Python type. Hashing canonical bytes the peer cannot reproduce would only produce a
challenge mismatch far from its cause.

A value that passes those checks and has only ASCII object keys (every Mojaloop body) is
written by the standard library's C encoder instead: for such values its output is
RFC 8785's (code-point order of ASCII keys is UTF-16 order, the same string escapes with
lowercase ``\\u00xx``, integers as written, no spaces) at a fraction of ``rfc8785``'s
CPU, which issue 17's profile found in every transfer's challenge. ``tests/auth`` compares
the two on every shape the checks admit.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

import rfc8785

from tpsim.auth.errors import CanonicalJsonError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    ``value`` may hold dicts with string keys, lists/tuples, strings, bools, None and
    integers within ±(2^53−1). Anything else raises ``CanonicalJsonError`` whose
    ``field`` is the JSON path (``$.scopes[0].actions``) of the refused value.
    """
    if _plain(value, 0):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    _check(value, "$", 0)
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeError) as exc:  # guarded by _check
        raise CanonicalJsonError(f"cannot canonicalize: {exc}", field="$") from exc


def sha256_hex(value: Any) -> str:
    """Lowercase hex SHA-256 of ``canonicalize(value)`` (how every Mojaloop challenge is made)."""
    return hashlib.sha256(canonicalize(value)).hexdigest()


def _plain(value: Any, depth: int) -> bool:
    """Whether ``value`` passes ``_check`` and all its object keys are ASCII; exact types
    only (a subclass takes ``_check`` and ``rfc8785``), and no JSON path is built: a
    refusal's path comes from ``_check``."""
    kind = type(value)
    if kind is str:
        return value.isascii() or _SURROGATE.search(value) is None
    if kind is dict:
        return depth < MAX_DEPTH and all(
            type(key) is str and key.isascii() and _plain(item, depth + 1)
            for key, item in value.items()
        )
    if kind is list or kind is tuple:
        return depth < MAX_DEPTH and all(_plain(item, depth + 1) for item in value)
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    return value is None or kind is bool


def _check(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CanonicalJsonError(f"nested deeper than {MAX_DEPTH} levels", field=path)
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        _check_text(value, path)
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalJsonError(
                "integer outside ±(2^53−1) cannot be represented exactly in JSON; "
                "send it as a string",
                field=path,
            )
    elif isinstance(value, float):
        raise CanonicalJsonError(
            "floats are refused: number formatting differs between JSON implementations; "
            "Mojaloop amounts are strings",
            field=path,
        )
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, dict):
        _check_object(value, path, depth)
    else:
        raise CanonicalJsonError(f"{type(value).__name__} is not a JSON type", field=path)


def _check_object(value: Mapping[Any, Any], path: str, depth: int) -> None:
    for key, item in value.items():
        if not isinstance(key, str):
            raise CanonicalJsonError(
                f"object key {key!r} is a {type(key).__name__}, JSON keys are strings", field=path
            )
        child = f"{path}.{key}" if _PLAIN_KEY.fullmatch(key) else f"{path}[{key!r}]"
        _check_text(key, child)
        _check(item, child, depth + 1)


def _check_text(text: str, path: str) -> None:
    match = _SURROGATE.search(text)
    if match is not None:
        raise CanonicalJsonError(
            f"string holds a lone surrogate U+{ord(match.group()):04X} at index {match.start()}; "
            "it has no UTF-8 encoding",
            field=path,
        )
