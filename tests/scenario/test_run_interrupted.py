"""Ctrl-C during ``tpsim run`` exits 130 and still writes the reports: the scenarios that
finished with their verdicts, the others as skipped (not run), the run marked as
interrupted. A ``tpsim run`` subprocess over scenarios on 127.0.0.1, stopped by SIGINT."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support.scenarios import write

QUICK = "name: quick {n}\nsteps:\n  - wait: {{for: 1ms}}\n"
SLOW = "name: slow\nsteps:\n  - wait: {for: 60s}\n"


async def test_ctrl_c_writes_the_reports_of_the_scenarios_that_finished(tmp_path: Path) -> None:
    """The reports were lost: a user stopping a long run had nothing of what was done."""
    for n in (1, 2):
        write(tmp_path / "s", f"a{n}.yaml", QUICK.format(n=n))
    write(tmp_path / "s", "b_slow.yaml", SLOW)
    write(tmp_path / "s", "c_later.yaml", QUICK.format(n=3))
    out = tmp_path / "out"
    reports = ["--json", str(out / "r.json"), "--junit", str(out / "j.xml")]
    reports += ["--html", str(out / "r.html")]
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tpsim", "run", "--jobs", "1", str(tmp_path / "s"), *reports),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        lines = []
        while len(lines) < 2:  # until both quick ones finished: the slow one runs now
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line, "tpsim run ended early"
            lines.append(line)
        await asyncio.sleep(0.3)
        process.send_signal(signal.SIGINT)
        rest, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 130, stderr
    assert b"Traceback" not in stderr
    assert b"4 scenarios: 2 passed, 2 skipped" in rest and b"interrupted" in rest, rest

    document = json.loads((out / "r.json").read_text())
    assert document["summary"] == {
        "total": 4,
        "passed": 2,
        "failed": 0,
        "error": 0,
        "skipped": 2,
        "interrupted": True,
    }
    outcomes = [(s["name"], s["outcome"]) for s in document["scenarios"]]
    expected = [("quick 1", "passed"), ("quick 2", "passed"), ("slow", "skipped")]
    assert outcomes == [*expected, ("quick 3", "skipped")]

    junit = ET.parse(out / "j.xml").getroot()  # noqa: S314 - our own output
    assert (junit.get("interrupted"), junit.get("tests"), junit.get("skipped")) == (
        "true",
        "4",
        "2",
    )
    assert {suite.get("interrupted") for suite in junit} == {"true"}
    skipped = junit.findall(".//testcase/skipped")
    assert len(skipped) == 2
    assert all("interrupted" in (s.get("message") or "") for s in skipped)

    assert "<title>tpsim run: interrupted</title>" in (out / "r.html").read_text()
