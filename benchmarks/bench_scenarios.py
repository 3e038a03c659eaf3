"""How fast ``tpsim run`` gets through scenarios.

Two modes:

- ``python benchmarks/bench_scenarios.py [--count 200] [--jobs 1 4 16]``: the runner's own
  overhead. Each run is ``--count`` copies of one complete FIDO transfer scenario (four
  steps, nine messages), each against its own in-process tpsim on an ephemeral port, as
  ``tpsim run`` does. Prints scenarios per second and the p50/p99 of a scenario's duration
  for each ``--jobs``.
- ``python benchmarks/bench_scenarios.py --library [DIR] [--runs 3] [--jobs N] [--check-sent]``:
  100 runs drawn from the scenario library (``DIR``, by default ``scenarios/``), at
  ``tpsim run``'s defaults unless told otherwise. The draw is fixed: the fewest evenly
  spaced files (in the runner's order) whose runs, matrix cells included, reach 100, so it
  mixes the folders as the library does (Mojaloop and its error cases, XS2A, UK, STET).
  Each of ``--runs`` repetitions prepares (loads and checks) those files and runs their
  first 100 runs, as ``tpsim run`` would (in this process: imports not counted); it prints
  their wall and CPU time, then the median and the spread.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from tpsim.scenario.cells import prepare
from tpsim.scenario.results import Outcome, RunResult
from tpsim.scenario.runner import RunOptions, default_jobs, execute, run

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

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios"
DRAWN = 100


def _passed(result: RunResult, *, keep_going: bool = False) -> None:
    """Stop unless every scenario passed (a benchmark of failing scenarios measures
    something else); with ``keep_going``, only say so."""
    failed = [s for s in result.scenarios if s.outcome is not Outcome.PASSED]
    if failed:
        first = failed[0]
        reason = first.failures[0].message if first.failures else first.outcome.value
        said = f"{len(failed)} scenarios did not pass, e.g. {first.title}: {reason}"
        if not keep_going:
            raise SystemExit(said)
        print(f"  ({said[:200]})")


async def measure(folder: Path, jobs: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    result = await run([str(folder)], RunOptions(jobs=jobs))
    elapsed = time.perf_counter() - started
    _passed(result)
    return elapsed, [s.duration_s for s in result.scenarios]


def copies(args: argparse.Namespace) -> None:
    """``--count`` copies of one transfer scenario, at each ``--jobs``."""
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {args.count} scenarios")
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        for index in range(args.count):
            (folder / f"s{index:04}.yaml").write_text(SCENARIO.format(index=index))
        for jobs in args.jobs or [1, 4, 16]:
            elapsed, durations = asyncio.run(measure(folder, jobs))
            cuts = statistics.quantiles(durations, n=100)
            print(
                f"--jobs {jobs:>2}: {args.count / elapsed:7.1f} scenarios/s"
                f"  (wall {elapsed:.2f} s; per scenario p50 {cuts[49] * 1000:.0f} ms,"
                f" p99 {cuts[98] * 1000:.0f} ms)"
            )


def drawn(library: Path, options: RunOptions) -> list[str]:
    """The library's files to run, in the runner's order: the fewest evenly spaced files
    whose runs (matrix cells included) reach ``DRAWN``, so the draw mixes the folders as
    the library does."""
    cells, _ = prepare([str(library)], options)
    runs = collections.Counter(str(c.loaded.path) for c in cells)
    files = list(runs)
    for count in range(1, len(files) + 1):
        chosen = list(dict.fromkeys(files[i * len(files) // count] for i in range(count)))
        if sum(runs[f] for f in chosen) >= DRAWN:
            return chosen
    return files


async def library_once(files: list[str], options: RunOptions) -> tuple[float, float, RunResult]:
    """One repetition: prepare the drawn files and run their first ``DRAWN`` runs; the
    wall and CPU seconds it took."""
    wall, cpu = time.perf_counter(), time.process_time()
    cells, validator = prepare(files, options)
    result = await execute(cells[:DRAWN], validator, options)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _mix(library: Path, result: RunResult) -> str:
    """How many runs came from each of the library's folders."""
    folders = (Path(s.file).resolve().relative_to(library).parts[0] for s in result.scenarios)
    return ", ".join(f"{n} {folder}" for folder, n in sorted(collections.Counter(folders).items()))


def library(args: argparse.Namespace) -> None:
    """``--runs`` repetitions of the 100 runs drawn from the library."""
    jobs = args.jobs[0] if args.jobs else default_jobs()
    options = RunOptions(jobs=jobs, check_sent=args.check_sent)
    library = args.library.resolve()
    files = drawn(library, options)
    walls, cpus = [], []
    for index in range(args.runs):
        wall, cpu, result = asyncio.run(library_once(files, options))
        if index == 0:
            print(
                f"python {platform.python_version()}, {os.cpu_count()} CPUs, load"
                f" {os.getloadavg()[0]:.2f}; {len(result.scenarios)} runs of the library"
                f" from {len(files)} files ({_mix(library, result)}); --jobs {jobs}"
                + (", --check-sent" if args.check_sent else "")
            )
        _passed(result, keep_going=args.keep_going)
        slowest = max(result.scenarios, key=lambda s: s.duration_s)
        print(
            f"run {index + 1}: wall {wall:.2f} s, CPU {cpu:.2f} s"
            f" (slowest: {slowest.title}, {slowest.duration_s:.2f} s)"
        )
        walls.append(wall)
        cpus.append(cpu)
    print(
        f"median of {args.runs}: wall {statistics.median(walls):.2f} s"
        f" ({min(walls):.2f}–{max(walls):.2f}), CPU {statistics.median(cpus):.2f} s"
        f" ({min(cpus):.2f}–{max(cpus):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="copies (copy mode)")
    parser.add_argument("--jobs", type=int, nargs="+", help="copy mode: 1 4 16; library: one")
    parser.add_argument(
        "--library",
        type=Path,
        nargs="?",
        const=LIBRARY,
        help="100 runs of the scenario library (default: scenarios/)",
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions (library mode)")
    parser.add_argument("--check-sent", action="store_true", help="as tpsim run --check-sent")
    parser.add_argument(
        "--keep-going", action="store_true", help="library: time failing runs too, saying so"
    )
    args = parser.parse_args()
    if args.library:
        library(args)
    else:
        copies(args)


if __name__ == "__main__":
    main()
