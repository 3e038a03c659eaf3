"""What a run has finished so far: a run stopped part-way (Ctrl-C) still has a result to
report, the scenarios that finished with their verdicts and the others as not run.

A user who stops a long run must not lose the JUnit, JSON and HTML results of everything
it did: ``execute`` records each scenario here as it finishes, and the caller that saw the
``KeyboardInterrupt`` asks for ``result(interrupted=True)``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tpsim.scenario.results import Outcome, RunResult, ScenarioResult

if TYPE_CHECKING:
    from tpsim.scenario.cells import Cell


@dataclass(slots=True)
class Progress:
    """The run of ``cells``: their results by index, as each finishes."""

    cells: Sequence[Cell]
    finished: dict[int, ScenarioResult] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    clock: float = field(default_factory=time.monotonic)

    def result(self, *, interrupted: bool = False) -> RunResult:
        """The run so far, in the cells' order; a cell not finished is ``SKIPPED``."""
        scenarios = [
            self.finished.get(index) or self._not_run(cell) for index, cell in enumerate(self.cells)
        ]
        started = self.started.isoformat(timespec="seconds")
        return RunResult(scenarios, started, time.monotonic() - self.clock, interrupted)

    def _not_run(self, cell: Cell) -> ScenarioResult:
        scenario = cell.loaded.scenario
        return ScenarioResult(
            name=cell.name,
            file=str(cell.loaded.path),
            outcome=Outcome.SKIPPED,
            duration_s=0.0,
            started_at=self.started.isoformat(timespec="milliseconds"),
            description=scenario.description,
            tags=list(scenario.tags),
            cell=dict(cell.values),
        )
