"""Where a report may be written: checked before a run rather than after it."""

from __future__ import annotations

import os
from pathlib import Path

# A report file name for each option that writes one, for the examples errors give.
EXAMPLE = {"--junit": "junit.xml", "--json": "report.json", "--html": "report.html"}


def unwritable(given: str, option: str) -> str | None:
    """Why the report ``option`` names cannot be written at ``given`` (None: it can),
    found before the run instead of after it: its directory is created, and the file is
    opened for appending (and removed again when it was not there)."""
    path = Path(given)
    if given.endswith(("/", os.sep)) or path.is_dir():
        return f"is a directory: name the report's file, e.g. {path / EXAMPLE[option]}"
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        return f"{blocking} is a file, so no directory can be made there for the report"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        with path.open("ab"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        return f"cannot write the report there: {exc.strerror or exc}"
    return None
