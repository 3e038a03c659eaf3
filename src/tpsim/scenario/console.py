"""``tpsim run``'s terminal output: progress while scenarios run, then a summary that says,
for each failure, what was expected and what arrived."""

from __future__ import annotations

import sys
from typing import TextIO

from tpsim.scenario.reports.text import failure_lines
from tpsim.scenario.results import Outcome, RunResult, ScenarioResult

_MARK = {Outcome.PASSED: "PASS", Outcome.FAILED: "FAIL", Outcome.ERROR: "ERROR"}
_COLOUR = {Outcome.PASSED: "32", Outcome.FAILED: "31", Outcome.ERROR: "33"}


class Console:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        # sys.stdout as it is now, not as it was at import (pytest's capsys replaces it).
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()

    def _paint(self, outcome: Outcome, text: str) -> str:
        return f"\033[{_COLOUR[outcome]}m{text}\033[0m" if self.tty else text

    def started(self, title: str) -> None:
        if self.tty:
            self.stream.write(f"\r\033[K[{self.done}/{self.total}] running {title[:60]}…")
            self.stream.flush()

    def finished(self, result: ScenarioResult) -> None:
        self.done += 1
        mark = self._paint(result.outcome, f"{_MARK.get(result.outcome, '?'):5}")
        line = f"[{self.done}/{self.total}] {mark} {result.title} ({result.duration_s:.2f} s)"
        self.stream.write(("\r\033[K" if self.tty else "") + line + "\n")
        self.stream.flush()

    def summary(self, run: RunResult) -> None:
        write = self.stream.write
        for result in run.scenarios:
            if result.outcome in (Outcome.PASSED, Outcome.SKIPPED):
                continue
            write(f"\n{self._paint(result.outcome, _MARK[result.outcome])} {result.title}")
            write(f"  ({result.file})\n")
            for failure in result.failures:
                write("".join(f"  {line}\n" for line in failure_lines(failure)))
        counts = [
            f"{run.count(o)} {o.value}"
            for o in (Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED)
            if run.count(o) or o is Outcome.PASSED
        ]
        total = len(run.scenarios)
        noun = "scenario" if total == 1 else "scenarios"
        stopped = (
            " (interrupted: the skipped ones did not run or finish)" if run.interrupted else ""
        )
        write(f"\n{total} {noun}: {', '.join(counts)} in {run.duration_s:.1f} s{stopped}\n")
