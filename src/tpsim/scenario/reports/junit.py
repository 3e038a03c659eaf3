"""JUnit XML in the common Jenkins/Ant format, for CI servers.

``<testsuites>`` holds one ``<testsuite>`` per scenario file and one ``<testcase>`` per
scenario or matrix cell. A failed case carries ``<failure>`` (an error, ``<error>``) whose
text lists every failure and conformance violation, then the last hops of the journal.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

from tpsim.scenario.reports.text import (
    clean,
    failure_lines,
    hub_id,
    journal_line,
    seconds,
    shorten,
    violation_line,
)
from tpsim.scenario.results import FailureKind, Outcome, RunResult, ScenarioResult

JOURNAL_EXCERPT = 30  # the hops just before the verdict are the ones that explain it
MESSAGE_LIMIT = 300
NOT_RUN = "not run: the run was interrupted (Ctrl-C) before this scenario finished"
_VERDICT_TAG = {Outcome.FAILED: "failure", Outcome.ERROR: "error"}


def write_junit(run: RunResult, path: Path) -> None:
    """Write ``run`` to ``path`` as JUnit XML (UTF-8, with an XML declaration)."""
    tree = ET.ElementTree(junit_element(run))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def junit_element(run: RunResult) -> ET.Element:
    """The ``<testsuites>`` element of ``run``."""
    root = _element("testsuites", name="tpsim", time=seconds(run.duration_s))
    _set_counts(root, run.scenarios)
    root.set("timestamp", clean(run.started_at))
    if run.interrupted:  # no JUnit attribute says so: CI servers ignore one they do not know
        root.set("interrupted", "true")
    for file, scenarios in _by_file(run.scenarios).items():
        root.append(_suite(file, scenarios, interrupted=run.interrupted))
    return root


def _element(tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.Element(tag, {name: clean(value) for name, value in attributes.items()})
    if text is not None:
        element.text = clean(text)
    return element


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> None:
    parent.append(_element(tag, text, **attributes))


def _set_counts(element: ET.Element, scenarios: list[ScenarioResult]) -> None:
    outcomes = [s.outcome for s in scenarios]
    element.set("tests", str(len(outcomes)))
    element.set("failures", str(outcomes.count(Outcome.FAILED)))
    element.set("errors", str(outcomes.count(Outcome.ERROR)))
    element.set("skipped", str(outcomes.count(Outcome.SKIPPED)))


def _by_file(scenarios: list[ScenarioResult]) -> dict[str, list[ScenarioResult]]:
    files: dict[str, list[ScenarioResult]] = {}
    for scenario in scenarios:
        files.setdefault(scenario.file, []).append(scenario)
    return files


def _suite(file: str, scenarios: list[ScenarioResult], *, interrupted: bool) -> ET.Element:
    suite = _element("testsuite", name=file, time=seconds(sum(s.duration_s for s in scenarios)))
    _set_counts(suite, scenarios)
    suite.set("timestamp", clean(min(s.started_at for s in scenarios)))
    if interrupted:
        suite.set("interrupted", "true")
    for scenario, name in zip(scenarios, case_names(scenarios), strict=True):
        suite.append(_testcase(scenario, name))
    return suite


def case_names(scenarios: list[ScenarioResult]) -> list[str]:
    """The scenarios' titles, a repeated one numbered from its second use (``… (2)``).

    Matrix cells that differ only in a mapping or list share a title (``[body=…]``), and
    CI servers key a case by classname and name: of two alike they keep one (GitLab the
    last), so a failing cell would vanish behind a passing one."""
    names: list[str] = []
    taken: set[str] = set()
    for scenario in scenarios:
        name, number = scenario.title, 1
        while name in taken:
            number += 1
            name = f"{scenario.title} ({number})"
        taken.add(name)
        names.append(name)
    return names


def classname(file: str) -> str:
    """``scenarios/pisp/transfer.yaml`` → ``scenarios.pisp.transfer``: how CI tools group."""
    path = PurePosixPath(file.replace("\\", "/")).with_suffix("")
    parts = [p for p in path.parts if p not in ("/", ".", "..")]
    return ".".join(parts) or "tpsim"


def _testcase(scenario: ScenarioResult, name: str) -> ET.Element:
    case = _element(
        "testcase",
        classname=classname(scenario.file),
        name=name,
        time=seconds(scenario.duration_s),
    )
    case.append(_properties(scenario))
    tag = _VERDICT_TAG.get(scenario.outcome)
    if tag is not None:
        message, kind = _headline(scenario)
        _sub(case, tag, verdict_text(scenario), message=message, type=kind)
    elif scenario.outcome is Outcome.SKIPPED:  # only a run stopped part-way skips one
        _sub(case, "skipped", message=NOT_RUN)
    _sub(case, "system-out", _step_list(scenario))
    return case


def _properties(scenario: ScenarioResult) -> ET.Element:
    properties = ET.Element("properties")
    values = {"started_at": scenario.started_at, "tags": ", ".join(scenario.tags)}
    if scenario.description:
        values["description"] = scenario.description
    values.update({f"cell.{name}": str(value) for name, value in scenario.cell.items()})
    for name, value in values.items():
        _sub(properties, "property", name=name, value=value)
    return properties


def _headline(scenario: ScenarioResult) -> tuple[str, str]:
    """(message, type) of the ``<failure>``/``<error>``: the first thing that went wrong."""
    if scenario.failures:
        first = scenario.failures[0]
        return shorten(first.message, MESSAGE_LIMIT), first.kind.value
    if scenario.violations:
        return shorten(scenario.violations[0].message, MESSAGE_LIMIT), FailureKind.CONFORMANCE.value
    return f"scenario {scenario.outcome.value}", scenario.outcome.value


def verdict_text(scenario: ScenarioResult) -> str:
    """Every failure, every violation, then the journal's last hops: what a CI page shows."""
    lines: list[str] = []
    if scenario.failures:
        lines.append("Failures:")
        lines.extend("  " + line for f in scenario.failures for line in failure_lines(f))
    if scenario.violations:
        lines.append("Conformance violations:")
        lines.extend("  " + violation_line(v) for v in scenario.violations)
    excerpt = scenario.journal[-JOURNAL_EXCERPT:]
    if excerpt:
        lines.append(f"Journal (last {len(excerpt)} of {len(scenario.journal)} hops):")
        hub = hub_id(scenario)
        lines.extend("  " + journal_line(entry, hub) for entry in excerpt)
    return "\n".join(lines)


def _step_list(scenario: ScenarioResult) -> str:
    return "\n".join(
        f"{step.label}  {step.outcome.value}  {seconds(step.duration_s)} s"
        for step in scenario.steps
    )
