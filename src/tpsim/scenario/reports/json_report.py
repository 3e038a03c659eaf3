"""The machine-readable report: ``RunResult.to_json()`` under a format tag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tpsim.scenario.results import RunResult

FORMAT = "tpsim-run/1"


def json_document(run: RunResult) -> dict[str, Any]:
    """``run`` as the JSON document: ``{"format": "tpsim-run/1", **run.to_json()}``."""
    return {"format": FORMAT, **run.to_json()}


def write_json(run: RunResult, path: Path) -> None:
    """Write ``run`` to ``path`` as pretty-printed UTF-8 JSON."""
    # default=str: a stray non-JSON value in a journal body must not lose the whole report.
    text = json.dumps(json_document(run), indent=2, ensure_ascii=False, default=str)
    # A lone surrogate cannot be encoded; its backslash escape is a valid JSON string escape.
    path.write_text(text + "\n", encoding="utf-8", errors="backslashreplace")
