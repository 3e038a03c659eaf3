"""What a request's ``Accept`` admits, for the dialects that answer only JSON."""

from __future__ import annotations

_JSON_RANGES = frozenset({"application/json", "application/*", "*/*", "*"})


def admits_json(accept: str | None) -> bool:
    """Whether ``accept`` admits ``application/json`` (RFC 9110 §12.5.1: no Accept, or an
    empty one, admits anything). Parameters (``;q=…``) are not weighed: a listed range
    admits JSON even at ``q=0``, as the dialects' sandboxes do."""
    if not accept or not accept.strip():
        return True
    ranges = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(ranges & _JSON_RANGES)
