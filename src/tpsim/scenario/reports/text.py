"""Text shared by the reports: XML-safe strings, shortening, and one-line renderings of
failures, violations and journal entries, so JUnit and HTML say the same thing."""

from __future__ import annotations

import re
from typing import Any

from tpsim.scenario.results import Failure, ScenarioResult, Violation

# XML 1.0 §2.2 Char: everything else (C0 controls, lone surrogates, U+FFFE/FFFF) makes the
# document ill-formed, and a journal body can carry any of them.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")
ELLIPSIS = "…"
DEFAULT_HUB = "hub"


def clean(value: object) -> str:
    """``value`` as text without the characters XML 1.0 forbids."""
    return _NOT_XML_CHAR.sub("", str(value))


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def ellipsize_middle(text: str, limit: int) -> str:
    """``text`` cut in the middle to ``limit`` characters: a path keeps its resource and
    its id's tail (``/thirdpartyRequests/tra…5b8069/error``)."""
    if len(text) <= limit:
        return text
    head = max((limit - 1) // 2, 0)
    tail = max(limit - 1 - head, 0)
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def seconds(value: float) -> str:
    """A duration in seconds, to the millisecond."""
    return f"{value:.3f}"


def hub_id(scenario: ScenarioResult) -> str:
    """The fsp id of the hub, which a journal entry without destination goes to."""
    for participant in scenario.participants:
        if participant.kind == "hub":
            return participant.fsp_id
    return DEFAULT_HUB


def failure_lines(failure: Failure) -> list[str]:
    """One failure as lines: a headline, then expected / actual / waited when known."""
    step = f"[{failure.step}] " if failure.step else ""
    lines = [f"{step}{failure.kind.value}: {failure.message}"]
    for name, value in (("expected", failure.expected), ("actual", failure.actual)):
        if value is not None:
            lines.append(f"  {name}: " + value.replace("\n", "\n    "))
    if failure.waited_s is not None:
        lines.append(f"  waited: {failure.waited_s:g} s")
    return lines


def violation_line(violation: Violation) -> str:
    v = violation
    return f"#{v.seq} {v.method} {v.path}: {v.field} ({v.rule}): {v.message}"


def journal_line(entry: dict[str, Any], hub: str) -> str:
    """One journal entry on one line: seq, hop, source → destination, request, answer."""
    destination = entry.get("destination") or hub
    line = (
        f"#{entry.get('seq')} {entry.get('hop')} {entry.get('source')} → {destination}"
        f" {entry.get('method')} {entry.get('path')}"
    )
    if entry.get("status") is not None:
        line += f" {entry['status']}"
    if entry.get("error"):
        line += f" error: {entry['error']}"
    if entry.get("rule"):
        line += f" rule: {entry['rule']}"
    return _NEWLINES.sub(" ", line)
