"""``benchmarks/bench_inprocess.py`` completes transfers through tpsim's edge, router and
roles without sockets, and says what each cost (no timing is asserted: it is a benchmark)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_inprocess.py"


def test_the_in_process_benchmark_completes_its_transfers() -> None:
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(SCRIPT), "--transfers", "20", "--warmup", "10", "--concurrency", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"20 transfers at 2 concurrent: \d+\.\d{3} ms CPU each\n", done.stdout)
    # Each transfer's last hop is the PATCH the PISP waits for, logged as tpsim serve does.
    assert done.stderr.count("sent: PATCH /thirdpartyRequests/transactions/") == 30
