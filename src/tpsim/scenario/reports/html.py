"""The HTML report: one self-contained page (inline CSS and script, nothing loaded) that
a person reads, for one scenario or a library of hundreds.

A header with the verdict, the figures and the environment (tpsim, Python, command,
config and its SHA-256, profile); a toolbar (filter by outcome, search, group by file, tag
or matrix, sort, failures first by default); then one ``<details>`` per scenario in run
order (open when it did not pass): its failures, violations, steps, sequence diagram
(the failing messages marked), every hop's headers and bodies as text, and the diagram
as Mermaid text. Without a script the page still shows all but the hop details and the
Mermaid text.

Sizes stay small: the diagram is styled by classes, not per element; the hop details and
the Mermaid texts are data (``hop_data``: every distinct header line and body stored
once, the whole gzipped) that the script unfolds and builds a scenario's part of when it
is opened. The page is ``report.html`` (package data) with its ``<!--@…-->`` slots
filled.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from importlib import resources
from pathlib import Path

from tpsim.scenario.reports.diagram import diagram
from tpsim.scenario.reports.environment import Environment
from tpsim.scenario.reports.hop_data import HopData
from tpsim.scenario.reports.mermaid import mermaid_of
from tpsim.scenario.reports.sequence import MAX_ARROWS, SVG_STYLE, draw
from tpsim.scenario.reports.text import clean, seconds
from tpsim.scenario.results import Failure, Outcome, RunResult, ScenarioResult, StepResult

# Nothing on the page may load anything: the bodies shown are the participants' input.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
_NOT_PASSED = (Outcome.FAILED, Outcome.ERROR)


def write_html(run: RunResult, path: Path, *, environment: Environment | None = None) -> None:
    """Write ``run`` to ``path`` as one self-contained UTF-8 HTML page."""
    path.write_text(html_page(run, environment), encoding="utf-8")


def html_page(run: RunResult, environment: Environment | None = None) -> str:
    """The whole page of ``run``; ``environment``: where it ran (default: what this process
    knows, its tpsim and Python)."""
    data = HopData()
    sections = "\n".join(_scenario(f"s{i}", i, s, data) for i, s in enumerate(run.scenarios, 1))
    slots = {
        "csp": _CSP,
        "title": _e(f"tpsim run: {_verdict(run)}"),
        "svg-style": SVG_STYLE,
        "header": _header(run, environment or Environment()),
        "filters": _filters(run),
        "scenarios": sections,
        "data": data.folded(),
    }
    page = _template()
    for name, value in slots.items():
        page = page.replace(f"<!--@{name}-->", value)
    return page


def _template() -> str:
    return resources.files("tpsim.scenario.reports").joinpath("report.html").read_text("utf-8")


def _e(value: object) -> str:
    return escape(clean(value))


def _badge(outcome: Outcome) -> str:
    return f'<span class="badge {outcome.value}">{outcome.value}</span>'


def _verdict(run: RunResult) -> str:
    if run.interrupted:
        return "interrupted"
    return "passed" if run.passed else "failed"


def _header(run: RunResult, environment: Environment) -> str:
    figures = [
        ("total", len(run.scenarios)),
        *((o.value, run.count(o)) for o in (Outcome.PASSED, Outcome.FAILED, Outcome.ERROR)),
        ("duration", f"{seconds(run.duration_s)} s"),
        ("started", run.started_at),
    ]
    if run.interrupted:
        figures.append(("interrupted", f"Ctrl-C: {run.count(Outcome.SKIPPED)} not run"))
    verdict = Outcome.PASSED if run.passed else Outcome.FAILED
    return (
        f"<h1>tpsim run {_badge(verdict)}</h1>"
        f'<dl class="summary">{_pairs(figures)}</dl>'
        f'<dl class="env" aria-label="environment">{_pairs(environment.items())}</dl>'
    )


def _pairs(items: Sequence[tuple[str, object]]) -> str:
    return "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in items)


def _filters(run: RunResult) -> str:
    """One button per outcome that occurred, with its count, and one for all."""
    counts = [("all", len(run.scenarios))]
    shown = (*_NOT_PASSED, Outcome.PASSED, Outcome.SKIPPED)
    counts += [(o.value, n) for o in shown if (n := run.count(o))]
    return "".join(
        f'<button type="button" data-status="{name}" aria-pressed="{str(name == "all").lower()}">'
        f"{name} {count}</button>"
        for name, count in counts
    )


def _scenario(section: str, number: int, s: ScenarioResult, data: HopData) -> str:
    """The scenario's ``<details>``; its ``data-*`` attributes are what the toolbar
    filters, groups and sorts by."""
    opened = " open" if s.outcome in _NOT_PASSED else ""
    attributes = {
        "outcome": s.outcome.value,
        "title": s.title,
        "name": s.name,
        "file": s.file,
        "tags": ",".join(s.tags),
        "cell": "yes" if s.cell else "",
        "duration": seconds(s.duration_s),
        "order": str(number),
    }
    data_attributes = "".join(f' data-{k}="{_e(v)}"' for k, v in attributes.items())
    tags = "".join(f'<span class="tag">{_e(t)}</span>' for t in s.tags)
    summary = (
        f'<summary>{_badge(s.outcome)}<span class="t">{_e(s.title)}</span>'
        f'<span class="d">{seconds(s.duration_s)} s</span>'
        f'<span class="f">{_e(s.file)}{tags}</span></summary>'
    )
    parts = [
        _meta(s),
        f"<p>{_e(s.description)}</p>" if s.description else "",
        _failures(s.failures),
        _violations(s),
        _steps(s.steps),
        _sequence(section, s, data),
    ]
    return (
        f'<details class="scenario {s.outcome.value}" id="{section}"{data_attributes}{opened}>'
        f"{summary}<div>{''.join(parts)}</div></details>"
    )


def _sequence(section: str, s: ScenarioResult, data: HopData) -> str:
    """The diagram, then the places the script fills from ``data``: its hop details and
    its Mermaid text."""
    d = diagram(s)
    mermaid = mermaid_of(d, comments=[s.title, f"{s.file}: {s.outcome.value}"])
    data.add(section, d.arrows[:MAX_ARROWS], mermaid)
    hops = (
        '<h2>Messages</h2><p class="meta hops-note">Click an arrow, or a message below, for'
        " its times, headers and bodies.</p>"
        if d.arrows
        else ""
    )
    return (
        '<div class="bar"><h2>Sequence</h2><button type="button" class="show-mermaid"'
        ' aria-expanded="false">Mermaid</button></div>'
        '<div class="mermaid"><button type="button" class="copy">Copy</button><pre></pre></div>'
        f'<div class="diagram">{draw(d, standalone=False)}</div>'
        f'{hops}<div class="hops"></div>'
    )


def _meta(s: ScenarioResult) -> str:
    facts = [("file", s.file), ("started", s.started_at)]
    if s.tags:
        facts.append(("tags", ", ".join(s.tags)))
    facts.extend((f"cell {k}", str(v)) for k, v in s.cell.items())
    listed = "".join(f'<p class="meta">{_e(k)}: <code>{_e(v)}</code></p>' for k, v in facts)
    return f'<div class="facts">{listed}</div>'


def _steps(steps: list[StepResult]) -> str:
    if not steps:
        return ""
    rows = "".join(
        f"<tr><td>{_e(step.label)}</td><td>{_e(step.action)}</td>"
        f"<td>{_badge(step.outcome)}</td><td>{seconds(step.duration_s)} s</td></tr>"
        for step in steps
    )
    head = "<tr><th>step</th><th>action</th><th>outcome</th><th>duration</th></tr>"
    return f'<h2>Steps</h2><div class="scroll"><table>{head}{rows}</table></div>'


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
    return f'<h2>Conformance violations</h2><div class="scroll"><table>{head}{rows}</table></div>'
