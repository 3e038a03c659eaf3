"""Throughput and CPU cost of complete Third Party transfers through tpsim, from an external
PISP, beside a null switch doing the same HTTP and nothing else.

tpsim runs as its own process (``tpsim serve``) on a loopback port; this script plays
the PISP: an aiohttp server that receives tpsim's callbacks and a keep-alive client that
sends the requests. Each of the concurrent workers runs transfers back to back with its
own consent and credential (a FIDO counter must increase, so one credential cannot sign
concurrent transfers out of order). Every transfer is complete: POST transactions →
PUT RECEIVED + POST authorizations → signed PUT authorizations → PATCH COMPLETED.

The **null switch** (``benchmarks/null_switch.py``, its own process too) answers the same
two requests at once and sends the same three callbacks over one keep-alive aiohttp
session, with no validation, state or crypto: the HTTP floor any aiohttp switch pays. The
PISP is the same for both, and signs the null switch's fixed challenge exactly as it signs
tpsim's (FIDO assertion or GENERIC signature), so its work is identical; signing is
client-side and counts in neither server's CPU.

For each concurrency level of ``--concurrency-levels`` (default 1,20,100) and each of
``--repeat`` rounds, the script measures tpsim and the null switch side by side (the order
alternates between rounds), each in a fresh server process: ``--warmup`` transfers that
are not measured, then ``--transfers`` timed ones. For the timed phase it reports the CPU
time (user + system, all threads, read from ``/proc/<pid>/stat``) per transfer of the
server process and, for context, of this PISP process, the throughput and p50/p99 latency;
then per level the medians and the ratio tpsim/null of server CPU per transfer (the median
of the per-round ratios). Wall-clock numbers swing on a shared machine; CPU time per
transfer, and the ratio of two measured side by side, are the steadier measures.

``--tpsim-src DIR`` makes the server import tpsim from ``DIR`` (prepended to its
PYTHONPATH; the server reports the ``tpsim.__file__`` it imported and the run fails if
that is not under ``DIR``). Given more than once, every round measures each of those
trees and the null switch, one after another in an order that rotates between rounds, and
the summary has a row for each tree: two versions of tpsim compared under the same load,
which separate runs of the script would not see.

``--loop asyncio|uvloop`` picks the event loop of **both** servers in every run (default:
uvloop when it is installed, as ``tpsim serve`` does), so the ratio never compares tpsim on
one loop with the null switch on another. tpsim runs at ``--log-level`` (default ``info``,
``tpsim serve``'s own default: the per-message log line is part of its cost), its log
written to a file. ``--profile DIR`` records each server's timed phase (tpsim's and the
null switch's) with py-spy (when installed) into ``DIR`` as collapsed stacks.

``--state`` serves with ``tpsim serve --state FILE`` (a new SQLite file in the run's
temporary directory): tpsim's CPU per transfer then includes writing the state durably
(the null switch keeps none, so the ratio grows by that cost).

For scale, the script finally measures the raw aiohttp request rate on this machine at
each level: a trivial POST → 202 handler driven by the same client.

    python benchmarks/bench_transfer.py [--transfers 2000] [--warmup 300]
        [--concurrency-levels 1,20,100 | --concurrency N] [--repeat 1]
        [--tpsim-src DIR [--tpsim-src DIR2 ...]] [--state] [--loop asyncio|uvloop]
        [--log-level LEVEL] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import aiohttp
import yaml
from aiohttp import web

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.mojaloop.wire.headers import build_headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Pisp:
    """Callback server + client; callbacks resolve futures keyed by (method, path)."""

    def __init__(self) -> None:
        self.waiting: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = {}
        self.by_transaction: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def expect(self, method: str, path: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[(method, path)] = future
        return future

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if request.method == "POST" and request.path == "/thirdpartyRequests/authorizations":
            key = ("POST", "authorization:" + body["transactionRequestId"])
        else:
            key = (request.method, request.path)
        future = self.waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(body)
        return web.Response(status=202 if request.method == "POST" else 200)


async def serve_pisp(
    handle: Callable[[web.Request], Awaitable[web.Response]],
) -> tuple[web.AppRunner, int]:
    """An aiohttp server on a free loopback port answering every request with ``handle``:
    the PISP's callback endpoint (stop it with ``runner.cleanup()``)."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


def make_config(pisp_url: str, workers: int) -> tuple[dict[str, Any], list[SoftwareAuthenticator]]:
    accounts, consents, authenticators = [], [], []
    for i in range(workers):
        kind: Literal["FIDO", "GENERIC"] = "FIDO" if i % 2 == 0 else "GENERIC"
        auth = SoftwareAuthenticator.create(credential_type=kind)
        authenticators.append(auth)
        address = f"dfspa.bench.{i}"
        accounts.append(
            {
                "address": address,
                "fsp_id": "dfspa",
                "owner": f"user{i}",
                "currency": "USD",
                "balance": "100000000",
            }
        )
        credential: dict[str, Any] = {"type": kind, "public_key_pem": auth.public_key_pem}
        if auth.credential_id_b64url:
            credential["credential_id"] = auth.credential_id_b64url
        consents.append(
            {
                "consent_id": str(uuid.uuid4()),
                "pisp": "pispa",
                "dfsp": "dfspa",
                "scopes": [{"address": address, "actions": ["ACCOUNTS_TRANSFER"]}],
                "credential": credential,
            }
        )
    accounts.append(
        {
            "address": "dfspb.bob",
            "fsp_id": "dfspb",
            "owner": "bob",
            "currency": "USD",
            "balance": "0",
        }
    )
    config = {
        "participants": [
            {"fsp_id": "pispa", "kind": "pisp", "endpoint": pisp_url},
            {"fsp_id": "dfspa", "kind": "dfsp", "simulated": True},
            {"fsp_id": "dfspb", "kind": "dfsp", "simulated": True},
            {"fsp_id": "central-auth", "kind": "auth-service", "simulated": True},
        ],
        "parties": [{"party_identifier": "16135551212", "fsp_id": "dfspb", "account": "dfspb.bob"}],
        "accounts": accounts,
        "consents": consents,
    }
    return config, authenticators


def transaction_body(request_id: str, address: str) -> dict[str, Any]:
    """``POST /thirdpartyRequests/transactions``: 1 USD from ``address`` to Bob at dfspb."""
    expiration = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "transactionRequestId": request_id,
        "payee": {
            "partyIdInfo": {
                "partyIdType": "MSISDN",
                "partyIdentifier": "16135551212",
                "fspId": "dfspb",
            }
        },
        "payer": {"partyIdType": "THIRD_PARTY_LINK", "partyIdentifier": address, "fspId": "dfspa"},
        "amountType": "SEND",
        "amount": {"currency": "USD", "amount": "1"},
        "transactionType": {
            "scenario": "TRANSFER",
            "initiator": "PAYER",
            "initiatorType": "CONSUMER",
        },
        "expiration": expiration,
    }


def authorization_answer(
    auth: SoftwareAuthenticator, request: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The path and body of the PISP's ``PUT /thirdpartyRequests/authorizations/{ID}``
    for the authorization ``request``: accepted, its challenge signed by ``auth``."""
    if auth.credential_type == "FIDO":
        signed = {
            "signedPayloadType": "FIDO",
            "fidoSignedPayload": auth.assertion(request["challenge"]),
        }
    else:
        signed = {
            "signedPayloadType": "GENERIC",
            "genericSignedPayload": auth.generic_signature(request["challenge"]),
        }
    path = f"/thirdpartyRequests/authorizations/{request['authorizationRequestId']}"
    return path, {"responseType": "ACCEPTED", "signedPayload": signed}


async def transfer(
    session: aiohttp.ClientSession,
    tpsim: str,
    pisp: Pisp,
    auth: SoftwareAuthenticator,
    address: str,
) -> float:
    request_id = str(uuid.uuid4())
    started = time.perf_counter()
    authorization = pisp.expect("POST", "authorization:" + request_id)
    final = pisp.expect("PATCH", f"/thirdpartyRequests/transactions/{request_id}")
    error = pisp.expect("PUT", f"/thirdpartyRequests/transactions/{request_id}/error")
    body = transaction_body(request_id, address)
    await send(session, tpsim, "POST", "/thirdpartyRequests/transactions", body)
    async with asyncio.timeout(30):
        request = await authorization
    await send(session, tpsim, "PUT", *authorization_answer(auth, request))
    done, _ = await asyncio.wait([final, error], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if error in done or not done:
        raise RuntimeError(
            f"transfer {request_id} failed: {error.result() if error in done else 'timeout'}"
        )
    for future in (final, error):
        future.cancel()
    pisp.waiting.pop(("PUT", f"/thirdpartyRequests/transactions/{request_id}/error"), None)
    pisp.waiting.pop(("PUT", f"/thirdpartyRequests/transactions/{request_id}"), None)
    return time.perf_counter() - started


async def send(
    session: aiohttp.ClientSession, base: str, method: str, path: str, body: Any
) -> None:
    headers = build_headers(method, "thirdparty", "pispa", "dfspa", datetime.now(UTC))
    async with session.request(method, base + path, data=json.dumps(body), headers=headers) as r:
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {await r.text()}")


async def raw_rate(session: aiohttp.ClientSession, total: int, concurrency: int) -> float:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/ping", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/ping"
    per_worker = total // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            async with session.post(url, data=b'{"a":1}') as r:
                await r.read()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await runner.cleanup()
    return per_worker * concurrency / elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Run as ``python -P -c BOOTSTRAP REPORT_FILE serve ...``: imports tpsim, writes the
# tpsim.__file__ it got to REPORT_FILE, then runs tpsim exactly as ``python -m tpsim``, on
# the loop named by $TPSIM_LOOP (a policy, for a tpsim that calls plain ``asyncio.run``).
BOOTSTRAP = """\
import asyncio, os, runpy, sys
if os.environ.get("TPSIM_LOOP") == "uvloop":
    import uvloop
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
import tpsim
with open(sys.argv[1], "w") as report:
    report.write(tpsim.__file__ or "")
sys.argv = ["tpsim", *sys.argv[2:]]
runpy.run_module("tpsim", run_name="__main__", alter_sys=True)
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 utime, 15 stime


NULL = "null"
NULL_SWITCH = Path(__file__).resolve().with_name("null_switch.py")


@dataclass(frozen=True)
class RunResult:
    target: str
    tpsim_file: str
    transfers: int
    elapsed: float
    server_cpu: float
    client_cpu: float
    latencies: dict[str, list[float]]

    @property
    def throughput(self) -> float:
        return self.transfers / self.elapsed

    @property
    def server_ms(self) -> float:
        return self.server_cpu / self.transfers * 1000

    @property
    def client_ms(self) -> float:
        return self.client_cpu / self.transfers * 1000

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.all_latencies) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.all_latencies, 0.99) * 1000

    @property
    def all_latencies(self) -> list[float]:
        return [v for values in self.latencies.values() for v in values]


@dataclass(frozen=True)
class Serving:
    """How both servers run: ``loop`` (asyncio or uvloop), tpsim's ``log_level`` (its log
    goes to ``log_dir``), and where py-spy profiles go (None: not profiled)."""

    loop: str
    log_level: str = "info"
    log_dir: Path | None = None
    profile_dir: Path | None = None


def default_loop() -> str:
    """What ``tpsim serve`` runs on here: uvloop when it is installed."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def machine() -> str:
    """CPU model, cores, Python: what the numbers were measured on."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()},"
        f" Python {sys.version.split()[0]} ({sys.implementation.name})"
    )


def start_server(
    config: Path,
    port: int,
    report: Path,
    tpsim_src: Path | None,
    state: Path | None = None,
    serving: Serving | None = None,
) -> subprocess.Popen[bytes]:
    """``tpsim serve`` of ``config`` on ``port`` (with ``--state state`` when given), on
    ``serving``'s loop and log level, its log in ``serving.log_dir``."""
    serving = serving or Serving(default_loop(), "warning")
    env = dict(os.environ)
    env["TPSIM_LOOP"] = serving.loop
    if tpsim_src is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(tpsim_src), *filter(None, [env.get("PYTHONPATH")])]
        )
    log = None if serving.log_dir is None else (serving.log_dir / "tpsim.log").open("ab")
    try:
        return subprocess.Popen(  # noqa: S603 - our own CLI
            [
                sys.executable,
                "-P",  # no cwd ahead of PYTHONPATH
                "-c",
                BOOTSTRAP,
                str(report),
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
                "--log-level",
                serving.log_level,
                *(["--state", str(state)] if state is not None else []),
            ],
            env=env,
            stderr=log,
        )
    finally:
        if log is not None:
            log.close()  # the server has its own descriptor now


def start_null_switch(port: int, pisp_url: str, loop: str) -> subprocess.Popen[bytes]:
    """``benchmarks/null_switch.py`` on ``port`` and ``loop``, calling back ``pisp_url``."""
    return subprocess.Popen(  # noqa: S603 - our own script
        [
            sys.executable,
            str(NULL_SWITCH),
            *("--port", str(port), "--pisp-url", pisp_url, "--loop", loop),
        ]
    )


def start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy recording process ``pid`` into ``out`` (collapsed stacks) until stopped with
    SIGINT; None when py-spy is not installed."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        print("  (py-spy not found: no profile)")
        return None
    return subprocess.Popen(  # noqa: S603 - py-spy, found on PATH or beside python
        [spy, "record", "--pid", str(pid), "--rate", "200", "--nonblocking"]
        + ["--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


async def wait_healthy(
    session: aiohttp.ClientSession, url: str, server: subprocess.Popen[bytes], name: str = "tpsim"
) -> None:
    for _ in range(200):
        if server.poll() is not None:
            raise RuntimeError(f"{name} server exited with code {server.returncode}")
        try:
            async with session.get(url + "/health") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} server at {url} not healthy after 20 s")


async def measure(
    session: aiohttp.ClientSession,
    pisp: Pisp,
    pisp_url: str,
    transfers: int,
    warmup: int,
    concurrency: int,
    tpsim_src: Path | None,
    state: bool = False,
    target: str = "tpsim",
    serving: Serving | None = None,
) -> RunResult:
    """One run against ``target`` (a tpsim, from ``tpsim_src`` when given, or ``NULL``):
    a fresh server process, ``warmup`` unmeasured transfers, then the timed ones."""
    serving = serving or Serving(default_loop(), "warning")
    config, authenticators = make_config(pisp_url, concurrency)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    async def worker(i: int, count: int, latencies: dict[str, list[float]]) -> None:
        auth = authenticators[i]
        for _ in range(count):
            latency = await transfer(session, base, pisp, auth, f"dfspa.bench.{i}")
            latencies[auth.credential_type].append(latency)

    async def phase(per_worker: int) -> dict[str, list[float]]:
        latencies: dict[str, list[float]] = {"FIDO": [], "GENERIC": []}
        await asyncio.gather(*(worker(i, per_worker, latencies) for i in range(concurrency)))
        return latencies

    with tempfile.TemporaryDirectory() as tmp:
        tpsim_file = ""
        if target != NULL:
            config_path, report = Path(tmp) / "bench.yaml", Path(tmp) / "tpsim-file"
            config_path.write_text(yaml.safe_dump(config))
            state_file = Path(tmp) / "state.db" if state else None
            server = start_server(config_path, port, report, tpsim_src, state_file, serving)
        else:
            server = start_null_switch(port, pisp_url, serving.loop)
        try:
            await wait_healthy(session, base, server, target)
            if target != NULL:
                tpsim_file = report.read_text()
                if tpsim_src is not None and not Path(tpsim_file).resolve().is_relative_to(
                    tpsim_src
                ):
                    raise RuntimeError(f"server imported tpsim from {tpsim_file}, not {tpsim_src}")
            await phase(-(-warmup // concurrency))
            spy = None
            if serving.profile_dir is not None:
                name = "null" if target == NULL else "tpsim"
                out = serving.profile_dir / f"{name}-c{concurrency}-{server.pid}.collapsed"
                spy = start_profiler(server.pid, out)
            server_before, client_before = cpu_seconds(server.pid), cpu_seconds(os.getpid())
            started = time.perf_counter()
            latencies = await phase(max(1, transfers // concurrency))
            elapsed = time.perf_counter() - started
            # The server may still be handling the PISP's responses to the last callbacks.
            await asyncio.sleep(0.2)
            server_cpu = cpu_seconds(server.pid) - server_before
            client_cpu = cpu_seconds(os.getpid()) - client_before
            stop_profiler(spy)
        finally:
            server.terminate()
            server.wait(10)
    done = sum(len(v) for v in latencies.values())
    return RunResult(target, tpsim_file, done, elapsed, server_cpu, client_cpu, latencies)


def report_run(n: int, repeat: int, result: RunResult, warmup: int, concurrency: int) -> None:
    name = "null switch" if result.target == NULL else result.target
    print(
        f"  run {n}/{repeat} {name:11s} {result.transfers} transfers in {result.elapsed:.2f} s"
        f" (after {warmup} warm-up): {result.throughput:.0f} transfers/s;"
        f" CPU/transfer server {result.server_ms:.3f} ms ({result.server_cpu:.2f} s),"
        f" PISP {result.client_ms:.3f} ms"
    )
    flows = [
        f"{flow} n={len(values)} p50 {statistics.median(values) * 1000:.1f}"
        f" p99 {percentile(values, 0.99) * 1000:.1f}"
        for flow, values in result.latencies.items()
        if values
    ]
    print(
        f"    latency all p50 {result.p50_ms:.1f} ms p99 {result.p99_ms:.1f} ms"
        f" ({'; '.join(flows)})"
    )


@dataclass(frozen=True)
class LevelSummary:
    concurrency: int
    runs: dict[str, list[RunResult]]  # by target: each tpsim, then NULL
    raw: float

    def median(self, target: str, field: str) -> float:
        return float(statistics.median(getattr(r, field) for r in self.runs[target]))

    def ratio(self, target: str) -> float:
        """Median of the per-round ratios of ``target``'s server CPU per transfer to the
        null switch's."""
        return statistics.median(
            t.server_ms / n.server_ms if n.server_ms else float("inf")
            for t, n in zip(self.runs[target], self.runs[NULL], strict=True)
        )

    @property
    def tpsims(self) -> list[str]:
        return [target for target in self.runs if target != NULL]


def print_summary(levels: list[LevelSummary], repeat: int) -> None:
    print()
    print(
        f"summary (median of {repeat} run(s) per cell; CPU = server process user+system"
        " per timed transfer; ratio = median of per-round tpsim/null CPU ratios)"
    )
    rows = [
        (
            "concurrency",
            "tpsim",
            "tpsim CPU ms/tr",
            "null CPU ms/tr",
            "tpsim/null",
            "tpsim tr/s",
            "null tr/s",
            "tpsim p50/p99 ms",
            "null p50/p99 ms",
            "PISP CPU ms/tr t/n",
            "raw req/s",
        )
    ]
    for s in levels:
        for t in s.tpsims:
            rows.append(
                (
                    str(s.concurrency),
                    t,
                    f"{s.median(t, 'server_ms'):.3f}",
                    f"{s.median(NULL, 'server_ms'):.3f}",
                    f"{s.ratio(t):.2f}x",
                    f"{s.median(t, 'throughput'):.0f}",
                    f"{s.median(NULL, 'throughput'):.0f}",
                    f"{s.median(t, 'p50_ms'):.1f} / {s.median(t, 'p99_ms'):.1f}",
                    f"{s.median(NULL, 'p50_ms'):.1f} / {s.median(NULL, 'p99_ms'):.1f}",
                    f"{s.median(t, 'client_ms'):.2f} / {s.median(NULL, 'client_ms'):.2f}",
                    f"{s.raw:.0f}",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))


async def main(
    transfers: int,
    warmup: int,
    levels: list[int],
    repeat: int,
    tpsim_srcs: list[Path | None],
    state: bool = False,
    serving: Serving | None = None,
) -> None:
    """Measure each level: in each round every tpsim of ``tpsim_srcs`` (None: as
    installed) and the null switch, in an order rotating between rounds."""
    serving = serving or Serving(default_loop(), "warning")
    sources = {tpsim_label(i, len(tpsim_srcs)): src for i, src in enumerate(tpsim_srcs)}
    targets = [*sources, NULL]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"machine: {machine()}; load average {load} at start;"
        f" CPU time from /proc/<pid>/stat in 1/{CLOCK_TICKS} s ticks"
    )
    print(
        f"event loop of both servers: {serving.loop}; tpsim --log-level {serving.log_level}"
        " (journal, metrics, rules as shipped)"
    )
    for label, src in sources.items():
        print(f"{label} source: {src or 'as installed'}")
    print(
        f"state {'in an SQLite file (--state)' if state else 'in memory'}; each transfer = 2"
        " requests from the PISP + 3 callbacks to it, over HTTP on loopback"
    )
    print(
        "null switch: benchmarks/null_switch.py, answers at once and sends the same 3"
        " callbacks; no validation, state or crypto. The PISP signs its fixed challenge like"
        " tpsim's (client-side: in neither server's CPU)"
    )
    print(
        f"per level: {repeat} round(s) of {', '.join(targets[:-1])} and the null switch side by"
        f" side (order rotating), each a fresh server, {warmup} warm-up + {transfers} timed"
        " transfers"
    )
    print(
        "note: wall-clock figures (transfers/s, latency) swing with the load of a shared"
        " machine; trust the server CPU per transfer and the tpsim/null ratio measured side"
        " by side"
    )
    pisp = Pisp()
    runner, pisp_port = await serve_pisp(pisp.handle)
    pisp_url = f"http://127.0.0.1:{pisp_port}"
    summaries: list[LevelSummary] = []
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            for concurrency in levels:
                print(f"concurrency {concurrency}:")
                runs: dict[str, list[RunResult]] = {target: [] for target in targets}
                for n in range(1, repeat + 1):
                    shift = (n - 1) % len(targets)
                    for target in targets[shift:] + targets[:shift]:
                        result = await measure(
                            session,
                            pisp,
                            pisp_url,
                            transfers,
                            warmup,
                            concurrency,
                            sources.get(target),
                            state,
                            target,
                            serving,
                        )
                        runs[target].append(result)
                        if target != NULL and n == 1:
                            print(f"  {target} server imported tpsim from {result.tpsim_file}")
                        report_run(n, repeat, result, warmup, concurrency)
                raw = await raw_rate(session, 5_000, concurrency)
                summary = LevelSummary(concurrency, runs, raw)
                summaries.append(summary)
                print(f"  => null {_cpu(summary, NULL)}; raw aiohttp POST->202: {raw:.0f} req/s")
                for target in summary.tpsims:
                    print(
                        f"  => {target} {_cpu(summary, target)}, ratio {summary.ratio(target):.2f}x"
                    )
    finally:
        await runner.cleanup()
    print_summary(summaries, repeat)


def tpsim_label(index: int, count: int) -> str:
    """``tpsim`` when one tpsim is measured, else ``tpsim-1``, ``tpsim-2``… in the order
    their sources were given."""
    return "tpsim" if count == 1 else f"tpsim-{index + 1}"


def _cpu(summary: LevelSummary, target: str) -> str:
    runs = ", ".join(f"{r.server_ms:.3f}" for r in summary.runs[target])
    return f"server CPU {summary.median(target, 'server_ms'):.3f} ms/transfer (runs: {runs})"


def parse_levels(text: str) -> list[int]:
    levels = [int(part) for part in text.split(",") if part.strip()]
    if not levels or min(levels) < 1:
        raise ValueError(text)
    return levels


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=2000, help="timed transfers per run")
    parser.add_argument(
        "--warmup", type=int, default=300, help="unmeasured transfers before each timed phase"
    )
    parser.add_argument(
        "--concurrency-levels",
        type=parse_levels,
        default=[1, 20, 100],
        metavar="N,N,...",
        help="concurrent workers, one level after another (default 1,20,100)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        help="a single concurrency level (overrides --concurrency-levels)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds per level, each with fresh servers"
    )
    parser.add_argument(
        "--tpsim-src",
        type=Path,
        action="append",
        metavar="DIR",
        help="make the server import tpsim from DIR (a directory holding tpsim/); given"
        " more than once, each round measures every DIR",
    )
    parser.add_argument(
        "--state", action="store_true", help="serve with --state (a new SQLite file per run)"
    )
    parser.add_argument(
        "--loop",
        choices=["asyncio", "uvloop"],
        default=default_loop(),
        help="event loop of both servers (default: uvloop when installed, as tpsim serve)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="tpsim's --log-level (default info, tpsim serve's default)",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy each server's timed phase into DIR"
    )
    args = parser.parse_args()
    if args.loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        parser.error("--loop uvloop: uvloop is not installed (pip install 'tpsim[fast]')")
    levels: list[int] = (
        [args.concurrency] if args.concurrency is not None else args.concurrency_levels
    )
    if args.repeat < 1 or args.transfers < 1 or min(levels) < 1 or args.warmup < 0:
        parser.error("--repeat, --transfers and --concurrency must be >= 1, --warmup >= 0")
    srcs: list[Path | None] = [given.resolve() for given in args.tpsim_src or []] or [None]
    for given in args.tpsim_src or []:
        if not (given / "tpsim" / "__init__.py").is_file():
            parser.error(f"--tpsim-src {given}: no tpsim/__init__.py there")
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as logs:
        serving = Serving(args.loop, args.log_level, Path(logs), args.profile)
        asyncio.run(
            main(args.transfers, args.warmup, levels, args.repeat, srcs, args.state, serving)
        )
