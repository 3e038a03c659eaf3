"""The machine-readable report: ``RunResult.to_json()`` under a format tag."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tpsim.scenario.results import RunResult

FORMAT = "tpsim-run/1"
_KEY_TYPES = (str, int, float, bool, type(None))  # what ``json.dumps`` takes as a key


def json_document(run: RunResult) -> dict[str, Any]:
    """``run`` as the JSON document: ``{"format": "tpsim-run/1", **run.to_json()}``."""
    return {"format": FORMAT, **run.to_json()}


def write_json(run: RunResult, path: Path) -> None:
    """Write ``run`` to ``path`` as pretty-printed UTF-8 JSON that any JSON parser reads."""
    # default=str: a stray non-JSON value in a journal body must not lose the whole report.
    text = json.dumps(
        _strict(json_document(run)), indent=2, ensure_ascii=False, default=str, allow_nan=False
    )
    # A lone surrogate cannot be encoded; its backslash escape is a valid JSON string escape.
    path.write_text(text + "\n", encoding="utf-8", errors="backslashreplace")


def _strict(value: Any) -> Any:
    """``value`` with what ``default=str`` cannot mend made text: a mapping key that is no
    JSON key (``!!binary`` in a matrix cell: ``json.dumps`` refused it after the run, and
    the reports were lost) and a float that is no JSON number (``.nan``: ``NaN`` is
    JavaScript, which strict JSON parsers refuse)."""
    if isinstance(value, dict):
        return {
            (k if isinstance(k, _KEY_TYPES) and not _odd_float(k) else str(k)): _strict(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_strict(item) for item in value]
    if _odd_float(value):
        return str(value)
    return value


def _odd_float(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)
