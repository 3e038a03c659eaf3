"""How long ``tpsim serve`` takes to answer its first 200 on ``/health``, and the CPU time
it spent to get there.

Starts ``tpsim serve --port P --log-level warning`` (the built-in config, or ``--config``)
``--starts`` times in a row, each on a free loopback port, polls ``GET /health`` every 5 ms
from the moment the process is started, and reads the child's CPU time (user + system, all
threads, from ``/proc/<pid>/stat``) as soon as the first 200 arrives. Prints each start and
the median, min and max of both. Wall time swings with the load of a shared machine; the
CPU time is the steadier measure (most of it is importing modules: see
``python -X importtime -m tpsim serve``).

Each tree first gets one start that is not counted, with bytecode writing allowed: an
installed tpsim has its modules compiled (pip compiles them on install), and a
``PYTHONDONTWRITEBYTECODE`` environment with stale ``.pyc`` files would otherwise compile
every edited module from source on every start.

``--tpsim-src DIR`` imports tpsim from DIR (a copy of ``src/``); given more than once, the
trees' starts are interleaved (one start of each in turn, so each sees the same machine
load) and a table compares them.

    python benchmarks/bench_startup.py [--starts 10] [--config FILE] [--tpsim-src DIR]…
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POLL_S = 0.005
GIVE_UP_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 utime, 15 stime


def healthy(port: int) -> bool:
    """Whether ``GET /health`` answers 200 now (a refused connection: not yet)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def one_start(config: str | None, env: dict[str, str]) -> tuple[float, float]:
    """Start ``tpsim serve`` once: (wall seconds, child CPU seconds) to its first 200."""
    port = free_port()
    command = [sys.executable, "-m", "tpsim", "serve", "--port", str(port), "--log-level"]
    command += ["warning", *(["--config", config] if config else [])]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    try:
        while not healthy(port):
            if child.poll() is not None:
                raise RuntimeError(f"tpsim serve exited with code {child.returncode}")
            if time.perf_counter() - started > GIVE_UP_S:
                raise RuntimeError(f"no 200 on /health within {GIVE_UP_S:g} s")
            time.sleep(POLL_S)
        wall = time.perf_counter() - started
        return wall, cpu_seconds(child.pid)
    finally:
        child.terminate()
        child.wait(10)


def environment(src: Path | None) -> dict[str, str]:
    """This process's environment, importing tpsim from ``src`` when given."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src.resolve()), env.get("PYTHONPATH", "")])
    return env


def summary(values: list[float]) -> str:
    """Median (min, max) in milliseconds."""
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):6.0f} ({min(ms):.0f}–{max(ms):.0f})"


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=10, help="how many starts (default 10)")
    parser.add_argument("--config", help="serve this config (default: the built-in one)")
    parser.add_argument(
        "--tpsim-src",
        type=Path,
        metavar="DIR",
        action="append",
        help="import tpsim from DIR; repeat to compare trees (interleaved starts)",
    )
    args = parser.parse_args()
    if args.starts < 1:
        parser.error("--starts must be at least 1")
    trees: list[Path | None] = list(args.tpsim_src or [None])
    envs = [environment(tree) for tree in trees]
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]},"
        f" load average {load_average()}; {args.starts} starts of tpsim serve per tree,"
        f" /health polled every {POLL_S * 1000:g} ms"
    )
    for env in envs:  # compiles what is stale; not counted
        one_start(args.config, {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"})
    walls: list[list[float]] = [[] for _ in trees]
    cpus: list[list[float]] = [[] for _ in trees]
    for n in range(1, args.starts + 1):
        for index, (tree, env) in enumerate(zip(trees, envs, strict=True)):
            wall, cpu = one_start(args.config, env)
            walls[index].append(wall)
            cpus[index].append(cpu)
            name = f" [{tree}]" if tree is not None else ""
            print(
                f"  start {n:2d}{name}: first 200 after {wall * 1000:6.0f} ms,"
                f" CPU {cpu * 1000:5.0f} ms"
            )
    print(f"load average at the end: {load_average()}")
    print(f"{'tree':<40} {'wall ms: median (min–max)':>28} {'CPU ms: median (min–max)':>28}")
    for index, tree in enumerate(trees):
        name = str(tree) if tree is not None else "(installed tpsim)"
        print(f"{name:<40} {summary(walls[index]):>28} {summary(cpus[index]):>28}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
