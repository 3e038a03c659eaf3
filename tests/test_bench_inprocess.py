"""``benchmarks/bench_inprocess.py`` completes transfers through tpsim's edge, router and
roles without sockets, and says what each cost (no timing is asserted: it is a benchmark)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_inprocess.py"
DONE = r"20 transfers at 2 concurrent: \d+\.\d{3} ms CPU each\n"


def run(*extra: str) -> subprocess.CompletedProcess[str]:
    """20 timed transfers after 10, 2 at a time."""
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(SCRIPT), "--transfers", "20", "--warmup", "10", "--concurrency", "2"]
        + list(extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_the_in_process_benchmark_completes_its_transfers() -> None:
    done = run()
    assert re.fullmatch(DONE, done.stdout)
    # Each transfer's last hop is the PATCH the PISP waits for, logged as tpsim serve does.
    assert done.stderr.count("sent: PATCH /thirdpartyRequests/transactions/") == 30


def test_leaving_out_the_routers_recording_keeps_the_edges() -> None:
    # For measuring what recording costs: the transfers still complete; only the two
    # requests the edge admits are logged.
    done = run("--leave-out", "recording")
    assert re.fullmatch(DONE, done.stdout)
    assert done.stderr.count("received: ") == 60
    assert "sent: " not in done.stderr
