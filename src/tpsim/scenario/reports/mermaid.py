"""A scenario's sequence diagram as Mermaid ``sequenceDiagram`` text: what the report's
SVG shows (``diagram.py``: the same lifelines, arrows and marks), in a form a wiki, a
pull request or mermaid.live renders, and a reviewer can diff.

``tpsim run --mermaid DIR`` writes one ``.mmd`` file per scenario (``write_mermaid``);
the HTML report shows the same text under each diagram. Mermaid reads ``#``, ``;`` and
``<``/``>`` in a message as syntax, so they are written as its entity codes (``#35;``…);
participants get identifiers Mermaid cannot mistake for keywords, shown by their names.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tpsim.scenario.reports.diagram import Arrow, Diagram, Lifeline, diagram
from tpsim.scenario.reports.junit import classname
from tpsim.scenario.reports.sequence import MAX_ARROWS
from tpsim.scenario.reports.text import clean
from tpsim.scenario.results import RunResult, ScenarioResult

SUFFIX = ".mmd"
# Words Mermaid's sequence diagrams read as syntax, which an identifier must not be.
_KEYWORDS = frozenset(
    "participant actor as end loop alt else opt par and rect critical break note over left"
    " right of activate deactivate title autonumber box links link properties details"
    " create destroy sequencediagram".split()
)
_ENTITIES = {"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;"}
_SPECIAL = re.compile("[#;<>]")
_NOT_ID = re.compile(r"\W")
_SPACES = re.compile(r"\s+")


def mermaid_text(scenario: ScenarioResult, *, max_arrows: int = MAX_ARROWS) -> str:
    """The ``sequenceDiagram`` of ``scenario``, headed by comments naming it."""
    return mermaid_of(
        diagram(scenario),
        comments=[f"{scenario.title}", f"{scenario.file}: {scenario.outcome.value}"],
        max_arrows=max_arrows,
    )


def mermaid_of(d: Diagram, *, comments: list[str], max_arrows: int = MAX_ARROWS) -> str:
    """The ``sequenceDiagram`` of a diagram already made, ``comments`` first (``%%``)."""
    ids = identifiers(d.lifelines)
    lines = [f"%% {_one_line(c)}" for c in comments]
    lines.append("sequenceDiagram")
    lines += [f"    participant {ids[x.key]} as {_text(_caption(x))}" for x in d.lifelines]
    drawn = d.arrows[:max_arrows]
    for arrow in drawn:
        lines.append(f"    {_arrow(arrow, ids)}")
        if arrow.seq in d.failing:
            lines.append(f"    {_note(ids, arrow, '✗ the scenario fails on this message')}")
    if d.lifelines:
        span = _over(ids[d.lifelines[0].key], ids[d.lifelines[-1].key])
        notes = [f"✗ {m}" for m in d.missing]
        if len(d.arrows) > len(drawn):
            notes.append(f"{len(d.arrows) - len(drawn)} more hops not drawn")
        lines += [f"    Note over {span}: {_text(note)}" for note in notes]
    return "\n".join(lines) + "\n"


def identifiers(lifelines: list[Lifeline]) -> dict[str, str]:
    """A Mermaid identifier per lifeline key: its name with every other character than a
    letter, digit or ``_`` made ``_``, prefixed where it would be a keyword, start with a
    digit, or repeat another."""
    found: dict[str, str] = {}
    for line in lifelines:
        name = _NOT_ID.sub("_", line.name) or "p"
        if name.lower() in _KEYWORDS or name[0].isdigit() or name in found.values():
            name = f"p{len(found) + 1}_{name}"
        found[line.key] = name
    return found


def _caption(line: Lifeline) -> str:
    return f"{line.name} ({line.caption})"


def _arrow(arrow: Arrow, ids: dict[str, str]) -> str:
    """``a->>b: [12] PUT /path → 200``: dashed out of band, a cross at the end when red."""
    line = "--" if arrow.dashed else "-"
    head = "x" if arrow.red else ">>"
    answer = " · ".join(part for part in (arrow.status, arrow.note, arrow.error) if part)
    label = f"[{arrow.seq}] {arrow.method} {arrow.path}" + (f" {answer}" if answer else "")
    return f"{ids[arrow.source]}{line}{head}{ids[arrow.destination]}: {_text(label)}"


def _note(ids: dict[str, str], arrow: Arrow, text: str) -> str:
    return f"Note over {_over(ids[arrow.source], ids[arrow.destination])}: {_text(text)}"


def _over(first: str, last: str) -> str:
    return first if first == last else f"{first},{last}"


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", clean(text)).strip()


def _text(text: str) -> str:
    """``text`` on one line, with what Mermaid would read as syntax as entity codes."""
    return _SPECIAL.sub(lambda m: _ENTITIES[m.group()], _one_line(text))


def directory_problem(directory: Path) -> str | None:
    """Why the ``.mmd`` files cannot be written into ``directory`` (None: they can; it is
    created), found before a run rather than after it."""
    if directory.exists() and not directory.is_dir():
        return "is a file: name a directory for the .mmd files"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot make the directory: {exc.strerror or exc}"
    if not os.access(directory, os.W_OK | os.X_OK):
        return "cannot write into the directory"
    return None


def write_mermaid(run: RunResult, path: Path) -> None:
    """Write one ``.mmd`` file per scenario of ``run`` into the directory ``path``
    (created if need be), as the other reports' writers write their file. Names follow
    the JUnit class names (``scenarios/transfers/fido.yaml`` →
    ``scenarios.transfers.fido.mmd``); a matrix cell gets its number in the file
    (``….fido-2.mmd``)."""
    path.mkdir(parents=True, exist_ok=True)
    for name, scenario in zip(file_names(run.scenarios), run.scenarios, strict=True):
        (path / name).write_text(mermaid_text(scenario), encoding="utf-8")


def file_names(scenarios: list[ScenarioResult]) -> list[str]:
    """A distinct file name per scenario (see ``write_mermaid``)."""
    per_file: dict[str, int] = {}
    for scenario in scenarios:
        per_file[scenario.file] = per_file.get(scenario.file, 0) + 1
    seen: dict[str, int] = {}
    taken: set[str] = set()
    names = []
    for scenario in scenarios:
        stem = classname(scenario.file)
        if per_file[scenario.file] > 1:
            seen[scenario.file] = seen.get(scenario.file, 0) + 1
            stem += f"-{seen[scenario.file]}"
        name, extra = stem + SUFFIX, 1
        while name in taken:  # two files with one class name (a/b.yaml and a.b.yaml)
            extra += 1
            name = f"{stem}~{extra}{SUFFIX}"
        taken.add(name)
        names.append(name)
    return names
