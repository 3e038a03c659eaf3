"""Reports of a scenario run: JUnit XML for CI, JSON for tools, HTML for people, Mermaid
text of each sequence diagram."""

from __future__ import annotations

from tpsim.scenario.reports.html import write_html
from tpsim.scenario.reports.json_report import write_json
from tpsim.scenario.reports.junit import write_junit
from tpsim.scenario.reports.mermaid import write_mermaid

__all__ = ["write_html", "write_json", "write_junit", "write_mermaid"]
