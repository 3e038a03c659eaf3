"""What the report shows on demand — the messages behind its arrows (times, headers,
bodies, correlation ids) and each diagram's Mermaid text — deduplicated and folded.

A library run repeats itself: every transfer sends the same ``Content-Type``, the same
FSPIOP headers, often the same bodies. So the page carries one table of distinct values
and each hop refers to its values by index: a header line (``Name: value``), a body (as
JSON, pretty-printed by the page), a list of correlation ids. The whole is then gzipped
and base64-encoded (folded): bodies are JSON full of repeated keys, and a fifth of the
size remains. The page's script unfolds it once (the browser's ``DecompressionStream``)
and builds a scenario's hop details when the scenario is opened. Base64 cannot close the
``<script>`` element that holds it, whatever the bodies contain.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from tpsim.scenario.reports.diagram import Arrow, when

NO_BODY = -1
Part = list[Any]  # [caption, when, ids, [header lines], body]: the last three index values


class HopData:
    """Distinct values, and per scenario section its arrows' parts and Mermaid text."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[str, int] = {}
        self.sections: dict[str, dict[str, list[Part]]] = {}
        self.mermaid: dict[str, str] = {}

    def add(self, section: str, arrows: list[Arrow], mermaid: str) -> None:
        """The arrows drawn in ``section`` (the element id of the scenario) and its
        diagram's Mermaid text."""
        self.sections[section] = {
            str(arrow.seq): [self._part(caption, entry) for caption, entry in arrow.messages]
            for arrow in arrows
        }
        self.mermaid[section] = mermaid

    def _part(self, caption: str, entry: dict[str, Any]) -> Part:
        headers = entry.get("headers") or {}
        body = entry.get("body")
        return [
            caption,
            when(entry),
            self.ref(", ".join(entry.get("correlation_ids") or []) or "none"),
            [self.ref(f"{name}: {value}") for name, value in headers.items()],
            NO_BODY if body is None else self.ref(body),
        ]

    def ref(self, value: Any) -> int:
        """The index of ``value`` in the table, added if new."""
        key = json.dumps(value, default=str)
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.values)
            self.values.append(value)
        return index

    def document(self) -> dict[str, Any]:
        """What the page's script reads: ``v`` the values, ``s`` the parts by section and
        arrow seq, ``m`` the Mermaid text by section."""
        return {"v": self.values, "s": self.sections, "m": self.mermaid}

    def folded(self) -> str:
        """``document()`` as JSON (ASCII: a lone surrogate in a journal body is escaped,
        not fatal), gzipped (no timestamp: the same run gives the same page) and base64."""
        text = json.dumps(self.document(), separators=(",", ":"), default=str)
        return base64.b64encode(gzip.compress(text.encode("ascii"), mtime=0)).decode("ascii")


def unfolded(payload: str) -> dict[str, Any]:
    """``HopData.folded``'s inverse, as the page's script does it (for tests and tools)."""
    document: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(payload)))
    return document
