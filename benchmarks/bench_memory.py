"""Memory of a long-running tpsim: RSS per transfer, and after refused oversize requests.

Two measurements against a fresh ``tpsim serve`` process (its resident set size read from
``/proc/<pid>/status``), with the same PISP as ``bench_transfer.py``:

1. **Growth per transfer**: complete transfers back to back at ``--concurrency``; RSS is
   printed every ``--every`` transfers, then the growth between ``--from`` and the end
   (the hardening issue's goal: under 40 MB from transfer 2,000 to 12,000). The journal
   keeps its default size (10,000 entries), so it is full well before ``--from``: what
   grows after that is what tpsim keeps per transfer.
2. **Refused oversize requests** (``--refused N``): N POSTs of a ``--body-mb`` MB JSON
   body that fails validation, then RSS (goal: under 300 MB after 60 of 4 MB).

``--retention-s`` sets ``behaviour.retention_s`` (default: tpsim's own); ``--tpsim-src``
runs another version of tpsim (e.g. ``git archive <commit> src``) with the same client.

    python benchmarks/bench_memory.py [--transfers 12000] [--from 2000] [--every 2000]
        [--concurrency 20] [--refused 60] [--body-mb 4] [--retention-s S] [--tpsim-src DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from bench_transfer import (  # noqa: E402 - the sibling benchmark's PISP and server helpers
    Pisp,
    free_port,
    make_config,
    serve_pisp,
    start_server,
    transfer,
    wait_healthy,
)

from tpsim.mojaloop.wire.headers import build_headers  # noqa: E402


def rss_mb(pid: int) -> float:
    """The resident set size of process ``pid``, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def grow(
    session: aiohttp.ClientSession,
    tpsim: str,
    pisp: Pisp,
    authenticators: list[Any],
    pid: int,
    *,
    transfers: int,
    start: int,
    every: int,
) -> tuple[float, float]:
    """Run ``transfers`` transfers; RSS at ``start`` and at the end (printed as it goes)."""
    done, at_start = 0, rss_mb(pid)
    lock = asyncio.Lock()
    started = time.perf_counter()

    async def worker(i: int) -> None:
        nonlocal done, at_start
        auth = authenticators[i]
        while True:
            async with lock:
                if done >= transfers:
                    return
                done += 1
                n = done
            await transfer(session, tpsim, pisp, auth, f"dfspa.bench.{i}")
            if n == start:
                at_start = rss_mb(pid)
            if n % every == 0:
                elapsed = time.perf_counter() - started
                print(f"  after {n:6d} transfers: RSS {rss_mb(pid):7.1f} MB ({elapsed:.0f} s)")

    await asyncio.gather(*(worker(i) for i in range(len(authenticators))))
    return at_start, rss_mb(pid)


async def refuse(session: aiohttp.ClientSession, tpsim: str, count: int, mb: int) -> list[int]:
    """POST ``count`` bodies of ``mb`` MB that fail validation; the statuses answered.

    The body is many small objects (``{"k":1}``), the costliest JSON to hold decoded: each
    item becomes a dict, so a journal that kept decoded bodies would hold ~10x the bytes."""
    items = mb * 1024 * 1024 // len('{"k":1},')
    filler = "[" + ",".join(['{"k":1}'] * items) + "]"
    body = ('{"transactionRequestId":"not-a-uuid","filler":' + filler + "}").encode()
    statuses = []
    for _ in range(count):
        headers = build_headers("POST", "thirdparty", "pispa", "dfspa", datetime.now(UTC))
        path = "/thirdpartyRequests/transactions"
        async with session.post(tpsim + path, data=body, headers=headers) as answer:
            await answer.read()
            statuses.append(answer.status)
    return statuses


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    pisp = Pisp()
    runner, pisp_port = await serve_pisp(pisp.handle)
    config, authenticators = make_config(f"http://127.0.0.1:{pisp_port}", args.concurrency)
    if args.retention_s is not None:
        config["behaviour"] = {"retention_s": args.retention_s}
    port = free_port()
    tpsim = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config_path, report = Path(tmp) / "bench.yaml", Path(tmp) / "tpsim-file"
            config_path.write_text(yaml.safe_dump(config))
            server = start_server(config_path, port, report, args.tpsim_src)
            try:
                connector = aiohttp.TCPConnector(limit=0)
                async with aiohttp.ClientSession(connector=connector) as session:
                    await wait_healthy(session, tpsim, server)
                    print(
                        f"tpsim from {report.read_text()}; RSS at start {rss_mb(server.pid):.1f} MB"
                    )
                    if args.transfers:
                        before, after = await grow(
                            session,
                            tpsim,
                            pisp,
                            authenticators,
                            server.pid,
                            transfers=args.transfers,
                            start=args.start,
                            every=args.every,
                        )
                        print(
                            f"RSS growth from transfer {args.start} to {args.transfers}:"
                            f" {after - before:.1f} MB ({before:.1f} → {after:.1f} MB)"
                        )
                    if args.refused:
                        before = rss_mb(server.pid)
                        statuses = await refuse(session, tpsim, args.refused, args.body_mb)
                        print(
                            f"after {args.refused} refused POSTs of {args.body_mb} MB"
                            f" (answers {sorted(set(statuses))}):"
                            f" RSS {rss_mb(server.pid):.1f} MB (before: {before:.1f} MB)"
                        )
            finally:
                server.terminate()
                server.wait(10)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=12_000)
    parser.add_argument("--from", dest="start", type=int, default=2_000)
    parser.add_argument("--every", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--refused", type=int, default=60)
    parser.add_argument("--body-mb", type=int, default=4)
    parser.add_argument("--retention-s", type=float, default=None)
    parser.add_argument("--tpsim-src", type=Path, default=None, metavar="DIR")
    parsed = parser.parse_args()
    if parsed.tpsim_src is not None:
        parsed.tpsim_src = parsed.tpsim_src.resolve()
    asyncio.run(main(parsed))
