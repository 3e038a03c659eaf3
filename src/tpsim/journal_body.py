"""What a journal entry keeps of a message's body and headers (``journal.Journal.record``).

A body is kept whole, or only as an excerpt (its first ``EXCERPT_BYTES`` as text) when it
is too big or not a JSON object; its size is what arrived (the bytes read, or the
``Content-Length`` they were read by), never measured by walking it. Headers are kept as
they are when read-only, copied when their caller could still change them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping
from typing import Any, NamedTuple

EXCERPT_BYTES = 4096  # what an entry keeps, as text, of a body it does not keep whole


class Kept(NamedTuple):
    """What an entry keeps of a message's body: the body, or only an excerpt of it."""

    body: dict[str, Any] | None
    size: int  # the whole body's bytes, counted against the ring's bound
    excerpt: str | None = None  # set when the body is not kept whole
    truncated: bool = False  # the excerpt is not all of it

    @property
    def cost(self) -> int:
        """What the kept body costs the ring when no JSONL line measures it."""
        return self.size if self.excerpt is None else len(self.excerpt)


_MUTABLE: dict[type, bool] = {}  # a headers type → whether it is a MutableMapping


def kept_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """Headers as an entry keeps them: read-only ones (a Mojaloop message's) as they are,
    a mapping its caller could still change copied."""
    kind = type(headers)
    mutable = _MUTABLE.get(kind)
    if mutable is None:  # the ABC check once per type: it costs more than the whole lookup
        mutable = _MUTABLE[kind] = isinstance(headers, MutableMapping)
    return dict(headers) if mutable else headers


def arrived_size(body: dict[str, Any] | None, headers: Mapping[str, str], raw: bytes | None) -> int:
    """A received body's size without walking it: the bytes read, else the Content-Length
    the edge read it by; only a request that had neither is measured as JSON."""
    if raw is not None:
        return len(raw)
    if body is None:
        return 0
    length = headers.get("Content-Length", "")
    if length.isdigit():
        return int(length)
    return len(json.dumps(body, separators=(",", ":")))


def cut(body: dict[str, Any] | None, raw: bytes | None, size: int) -> Kept:
    """The body as an excerpt: its first ``EXCERPT_BYTES`` as text (the bytes as they
    arrived when the caller has them, else its JSON)."""
    data = raw if raw is not None else json.dumps(body, separators=(",", ":")).encode()
    excerpt = data[:EXCERPT_BYTES].decode("utf-8", "replace")
    return Kept(None, size, excerpt, len(data) > EXCERPT_BYTES)
