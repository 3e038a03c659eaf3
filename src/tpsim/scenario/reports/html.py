"""The HTML report: one self-contained page (inline CSS, no network) a person reads.

A run summary, an index, then one ``<details>`` per scenario (open when it did not pass)
with its steps, failures, conformance violations and sequence diagram.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from tpsim.scenario.reports.sequence import sequence_svg
from tpsim.scenario.reports.text import clean, seconds
from tpsim.scenario.results import Failure, Outcome, RunResult, ScenarioResult, StepResult

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
  color:#1c2529;background:#f6f8f9}
header,main{padding:16px 24px}header{background:#263238;color:#fff}
h1{font-size:20px;margin:0 0 8px}h2{font-size:15px;margin:18px 0 6px}
.summary{display:flex;flex-wrap:wrap;gap:18px;margin:0}.summary div{display:flex;gap:6px}
.summary dt{opacity:.7}.summary dd{margin:0;font-weight:600}
.badge{display:inline-block;min-width:56px;text-align:center;border-radius:3px;
  padding:1px 6px;font-size:12px;font-weight:600;text-transform:uppercase;color:#fff}
.passed{background:#2e7d32}.failed{background:#c62828}.error{background:#6a1b9a}
.skipped{background:#78909c}
details.scenario{background:#fff;border:1px solid #cfd8dc;border-radius:4px;margin:10px 0}
details.scenario>summary{cursor:pointer;padding:8px 12px;font-weight:600}
details.scenario>div{padding:0 16px 14px}
.meta{color:#546e7a;margin:4px 0}.meta code{color:#1c2529}
table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #dfe5e8;
  padding:3px 8px;text-align:left;vertical-align:top}th{background:#eceff1}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:12px}
.failure{border-left:4px solid #c62828;background:#fff5f5;padding:6px 10px;margin:6px 0}
.failure p{margin:2px 0}.failure pre{white-space:pre-wrap}
.kind{font:600 12px ui-monospace,monospace;background:#ffebee;color:#b71c1c;padding:0 4px}
.diagram{overflow-x:auto;border:1px solid #eceff1;background:#fff}
.diagram svg{display:block}
.tools button{margin-right:6px}
"""
_SCRIPT = """
document.querySelector('.tools').hidden=false;
function setAll(open){document.querySelectorAll('details.scenario')
  .forEach(function(d){d.open=open;});}
"""
# Nothing on the page may load anything: the bodies shown are the participants' input.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def write_html(run: RunResult, path: Path) -> None:
    """Write ``run`` to ``path`` as one self-contained UTF-8 HTML page."""
    path.write_text(html_page(run), encoding="utf-8")


def html_page(run: RunResult) -> str:
    """The whole page of ``run``."""
    verdict = "passed" if run.passed else "failed"
    sections = "\n".join(_scenario(i, s) for i, s in enumerate(run.scenarios, 1))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tpsim run: {verdict}</title>
<style>{_STYLE}</style>
</head>
<body>
{_header(run)}
<main>
{_index(run)}
<p class="tools" hidden><button type="button" onclick="setAll(true)">Expand all</button>\
<button type="button" onclick="setAll(false)">Collapse all</button></p>
{sections}
</main>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def _e(value: object) -> str:
    return escape(clean(value))


def _badge(outcome: Outcome) -> str:
    return f'<span class="badge {outcome.value}">{outcome.value}</span>'


def _header(run: RunResult) -> str:
    figures = [
        ("total", len(run.scenarios)),
        *((o.value, run.count(o)) for o in (Outcome.PASSED, Outcome.FAILED, Outcome.ERROR)),
        ("duration", f"{seconds(run.duration_s)} s"),
        ("started", run.started_at),
    ]
    items = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in figures)
    verdict = Outcome.PASSED if run.passed else Outcome.FAILED
    return f'<header><h1>tpsim run {_badge(verdict)}</h1><dl class="summary">{items}</dl></header>'


def _index(run: RunResult) -> str:
    rows = "".join(
        f'<tr><td>{_badge(s.outcome)}</td><td><a href="#s{i}">{_e(s.title)}</a></td>'
        f"<td>{_e(s.file)}</td><td>{seconds(s.duration_s)} s</td></tr>"
        for i, s in enumerate(run.scenarios, 1)
    )
    head = "<tr><th>outcome</th><th>scenario</th><th>file</th><th>duration</th></tr>"
    return f"<h2>Scenarios</h2><table>{head}{rows}</table>"


def _scenario(number: int, s: ScenarioResult) -> str:
    opened = " open" if s.outcome in (Outcome.FAILED, Outcome.ERROR) else ""
    parts = [
        _meta(s),
        f"<p>{_e(s.description)}</p>" if s.description else "",
        _steps(s.steps),
        _failures(s.failures),
        _violations(s),
        f'<h2>Sequence</h2><div class="diagram">{sequence_svg(s)}</div>',
    ]
    return (
        f'<details class="scenario {s.outcome.value}" id="s{number}"{opened}>'
        f"<summary>{_badge(s.outcome)} {_e(s.title)} "
        f'<span class="meta">{seconds(s.duration_s)} s</span></summary>'
        f"<div>{''.join(parts)}</div></details>"
    )


def _meta(s: ScenarioResult) -> str:
    facts = [("file", s.file), ("started", s.started_at)]
    if s.tags:
        facts.append(("tags", ", ".join(s.tags)))
    facts.extend((f"cell {k}", str(v)) for k, v in s.cell.items())
    return "".join(f'<p class="meta">{_e(k)}: <code>{_e(v)}</code></p>' for k, v in facts)


def _steps(steps: list[StepResult]) -> str:
    if not steps:
        return ""
    rows = "".join(
        f"<tr><td>{_e(step.label)}</td><td>{_e(step.action)}</td>"
        f"<td>{_badge(step.outcome)}</td><td>{seconds(step.duration_s)} s</td></tr>"
        for step in steps
    )
    head = "<tr><th>step</th><th>action</th><th>outcome</th><th>duration</th></tr>"
    return f"<h2>Steps</h2><table>{head}{rows}</table>"


def _failures(failures: list[Failure]) -> str:
    if not failures:
        return ""
    return "<h2>Failures</h2>" + "".join(_failure(f) for f in failures)


def _failure(f: Failure) -> str:
    """Kind, step and message; then expected against actual, and how long it waited."""
    step = f" <b>{_e(f.step)}</b>" if f.step else ""
    rows = "".join(
        f"<tr><th>{name}</th><td><pre>{_e(value)}</pre></td></tr>"
        for name, value in (("expected", f.expected), ("actual", f.actual))
        if value is not None
    )
    waited = f"<p>waited {f.waited_s:g} s</p>" if f.waited_s is not None else ""
    return (
        f'<div class="failure"><p><span class="kind">{_e(f.kind.value)}</span>{step}: '
        f"{_e(f.message)}</p>{f'<table>{rows}</table>' if rows else ''}{waited}</div>"
    )


def _violations(s: ScenarioResult) -> str:
    if not s.violations:
        return ""
    rows = "".join(
        f"<tr><td>#{v.seq}</td><td>{_e(v.method)} {_e(v.path)}</td><td>{_e(v.field)}</td>"
        f"<td>{_e(v.rule)}</td><td>{_e(v.message)}</td></tr>"
        for v in s.violations
    )
    head = "<tr><th>seq</th><th>message</th><th>field</th><th>rule</th><th>problem</th></tr>"
    return f"<h2>Conformance violations</h2><table>{head}{rows}</table>"
