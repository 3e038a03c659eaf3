"""What a scenario run produced: the data every report (terminal, JUnit, JSON, HTML) reads.

A ``RunResult`` holds one ``ScenarioResult`` per scenario, or per matrix cell. Each failure
has a ``FailureKind``, so a report can tell "the callback never came" from "it came and was
wrong", from "the participant under test broke the API", from "tpsim or the runner failed".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class FailureKind(StrEnum):
    NOT_RECEIVED = "not-received"  # an expected message did not arrive within the deadline
    ASSERTION = "assertion"  # something arrived (or was answered) but not as expected
    CONFORMANCE = "conformance"  # the participant under test violated the API
    ERROR = "error"  # tpsim or the runner itself failed: not the scenario's verdict


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # an expectation or a conformance check failed
    ERROR = "error"  # the scenario could not be run to its verdict
    SKIPPED = "skipped"  # a step after a failure


@dataclass(slots=True)
class Failure:
    """One thing that went wrong; ``expected``/``actual`` are human-readable text."""

    kind: FailureKind
    message: str
    step: str | None = None  # the label of the step, e.g. "3. approve"
    expected: str | None = None
    actual: str | None = None
    waited_s: float | None = None  # NOT_RECEIVED: how long the runner waited


@dataclass(slots=True)
class Violation:
    """A message from the participant under test that breaks the API (conformance mode)."""

    seq: int  # the journal entry's sequence number
    method: str
    path: str
    field: str  # JSON path into the body, or the header name, or "(message)"
    rule: str  # the rule broken: a JSON Schema keyword, "header", "status", "timing"…
    message: str


@dataclass(slots=True)
class StepResult:
    index: int  # 1-based
    label: str  # "3. approve" or "3. <the step's name>"
    action: str
    outcome: Outcome
    duration_s: float
    failures: list[Failure] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # what the step sent, for reports


@dataclass(slots=True)
class Participant:
    """A lifeline of the sequence diagram."""

    fsp_id: str
    kind: str  # pisp | dfsp | auth-service | hub | tpp (a client of the PSD2 dialects)
    simulated: bool


@dataclass(slots=True)
class ScenarioResult:
    name: str
    file: str
    outcome: Outcome
    duration_s: float
    started_at: str  # ISO 8601
    description: str = ""
    tags: list[str] = field(default_factory=list)
    cell: dict[str, Any] = field(default_factory=dict)  # the matrix parameters, if any
    steps: list[StepResult] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)  # every failure, steps' included
    violations: list[Violation] = field(default_factory=list)
    participants: list[Participant] = field(default_factory=list)
    # JournalEntry.to_json() of every hop of this scenario, in order.
    journal: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return cell_title(self.name, self.cell)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["title"] = self.title
        return data


def cell_title(name: str, cell: dict[str, Any]) -> str:
    """``name``, or ``name [k=v, …]`` for a matrix cell (a mapping or list value is ``…``)."""
    if not cell:
        return name
    shown = (f"{k}={v if isinstance(v, str | int | float) else '…'}" for k, v in cell.items())
    return f"{name} [{', '.join(shown)}]"


@dataclass(slots=True)
class RunResult:
    scenarios: list[ScenarioResult]
    started_at: str
    duration_s: float
    interrupted: bool = False  # stopped part-way (Ctrl-C): the scenarios not run are skipped

    def count(self, outcome: Outcome) -> int:
        return sum(1 for s in self.scenarios if s.outcome is outcome)

    @property
    def passed(self) -> bool:
        return all(s.outcome is Outcome.PASSED for s in self.scenarios)

    def to_json(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "total": len(self.scenarios),
            **{o.value: self.count(o) for o in (Outcome.PASSED, Outcome.FAILED, Outcome.ERROR)},
        }
        if self.interrupted:  # only then are scenarios skipped (not run)
            summary.update(
                {Outcome.SKIPPED.value: self.count(Outcome.SKIPPED), "interrupted": True}
            )
        return {
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "summary": summary,
            "scenarios": [s.to_json() for s in self.scenarios],
        }
