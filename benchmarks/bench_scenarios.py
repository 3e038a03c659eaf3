"""How fast ``tpsim run`` gets through scenarios: the runner's own overhead.

Run: ``python benchmarks/bench_scenarios.py [--count 200] [--jobs 1 4 16]``. Each run is
``--count`` copies of one complete FIDO transfer scenario (four steps, nine messages),
each against its own in-process tpsim on an ephemeral port, as ``tpsim run`` does.
Prints scenarios per second and the p50/p99 of a scenario's duration for each ``--jobs``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from tpsim.scenario.results import Outcome
from tpsim.scenario.runner import RunOptions, run

SCENARIO = """\
name: transfer {index}
steps:
  - initiate_transfer: {{amount: "1"}}
    expect:
      messages:
        - PUT /thirdpartyRequests/transactions/{{ID}}
        - POST /thirdpartyRequests/authorizations
  - approve:
    expect:
      messages:
        - method: PATCH
          path: /thirdpartyRequests/transactions/{{ID}}
          body: {{transactionState: COMPLETED}}
  - check_balances: {{balances: {{dfspb.bob.chequing: "1"}}}}
"""


async def measure(folder: Path, jobs: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    result = await run([str(folder)], RunOptions(jobs=jobs))
    elapsed = time.perf_counter() - started
    failed = [s.title for s in result.scenarios if s.outcome is not Outcome.PASSED]
    if failed:
        raise SystemExit(f"{len(failed)} scenarios did not pass, e.g. {failed[0]}")
    return elapsed, [s.duration_s for s in result.scenarios]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {args.count} scenarios")
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        for index in range(args.count):
            (folder / f"s{index:04}.yaml").write_text(SCENARIO.format(index=index))
        for jobs in args.jobs:
            elapsed, durations = asyncio.run(measure(folder, jobs))
            cuts = statistics.quantiles(durations, n=100)
            print(
                f"--jobs {jobs:>2}: {args.count / elapsed:7.1f} scenarios/s"
                f"  (wall {elapsed:.2f} s; per scenario p50 {cuts[49] * 1000:.0f} ms,"
                f" p99 {cuts[98] * 1000:.0f} ms)"
            )


if __name__ == "__main__":
    main()
