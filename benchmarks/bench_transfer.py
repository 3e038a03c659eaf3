"""Throughput and CPU cost of complete Third Party transfers through tpsim, from an external PISP.

tpsim runs as its own process (``tpsim serve``) on a loopback port; this script plays
the PISP: an aiohttp server that receives tpsim's callbacks and a keep-alive client that
sends the requests. Each of ``--concurrency`` workers runs transfers back to back with
its own consent and credential (a FIDO counter must increase, so one credential cannot
sign concurrent transfers out of order). Every transfer is complete: POST transactions →
PUT RECEIVED + POST authorizations → signed PUT authorizations → PATCH COMPLETED.

Each run starts a fresh tpsim server, runs ``--warmup`` transfers that are not measured,
then times ``--transfers`` transfers. For the timed phase it reports throughput, p50/p99
latency per credential type, and the CPU time (user + system, all threads, read from
``/proc/<pid>/stat``) per transfer of the tpsim server process and, for context, of this
PISP process. Wall-clock numbers swing on a shared machine; CPU time per transfer is the
steadier measure. ``--repeat N`` does N runs and prints the medians.

``--tpsim-src DIR`` makes the server import tpsim from ``DIR`` (prepended to its
PYTHONPATH; the server reports the ``tpsim.__file__`` it imported and the run fails if
that is not under ``DIR``), so two versions of tpsim can be compared with the same PISP.

``--state`` serves with ``tpsim serve --state FILE`` (a new SQLite file in the run's
temporary directory): the CPU per transfer then includes writing the state durably.

For scale, the script finally measures the raw aiohttp request rate on this machine: a
trivial POST → 202 handler driven by the same client at the same concurrency.

    python benchmarks/bench_transfer.py [--transfers 2000] [--concurrency 20]
        [--warmup 300] [--repeat 1] [--tpsim-src DIR] [--state]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
        "journal": {"max_entries": 1000},
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
    request = await asyncio.wait_for(authorization, 30)
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
# tpsim.__file__ it got to REPORT_FILE, then runs tpsim exactly as ``python -m tpsim``.
BOOTSTRAP = """\
import runpy, sys
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


@dataclass(frozen=True)
class RunResult:
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


def start_server(
    config: Path, port: int, report: Path, tpsim_src: Path | None, state: Path | None = None
) -> subprocess.Popen[bytes]:
    """``tpsim serve`` of ``config`` on ``port`` (with ``--state state`` when given)."""
    env = dict(os.environ)
    if tpsim_src is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(tpsim_src), *filter(None, [env.get("PYTHONPATH")])]
        )
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
            "warning",
            *(["--state", str(state)] if state is not None else []),
        ],
        env=env,
    )


async def wait_healthy(
    session: aiohttp.ClientSession, tpsim: str, server: subprocess.Popen[bytes]
) -> None:
    for _ in range(200):
        if server.poll() is not None:
            raise RuntimeError(f"tpsim server exited with code {server.returncode}")
        try:
            async with session.get(tpsim + "/health") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"tpsim server at {tpsim} not healthy after 20 s")


async def measure(
    session: aiohttp.ClientSession,
    pisp: Pisp,
    pisp_url: str,
    transfers: int,
    warmup: int,
    concurrency: int,
    tpsim_src: Path | None,
    state: bool = False,
) -> RunResult:
    """One run: a fresh tpsim server, ``warmup`` unmeasured transfers, then the timed ones."""
    config, authenticators = make_config(pisp_url, concurrency)
    port = free_port()
    tpsim = f"http://127.0.0.1:{port}"

    async def worker(i: int, count: int, latencies: dict[str, list[float]]) -> None:
        auth = authenticators[i]
        for _ in range(count):
            latency = await transfer(session, tpsim, pisp, auth, f"dfspa.bench.{i}")
            latencies[auth.credential_type].append(latency)

    async def phase(per_worker: int) -> dict[str, list[float]]:
        latencies: dict[str, list[float]] = {"FIDO": [], "GENERIC": []}
        await asyncio.gather(*(worker(i, per_worker, latencies) for i in range(concurrency)))
        return latencies

    with tempfile.TemporaryDirectory() as tmp:
        config_path, report = Path(tmp) / "bench.yaml", Path(tmp) / "tpsim-file"
        config_path.write_text(yaml.safe_dump(config))
        state_file = Path(tmp) / "state.db" if state else None
        server = start_server(config_path, port, report, tpsim_src, state_file)
        try:
            await wait_healthy(session, tpsim, server)
            tpsim_file = report.read_text()
            if tpsim_src is not None and not Path(tpsim_file).resolve().is_relative_to(tpsim_src):
                raise RuntimeError(f"server imported tpsim from {tpsim_file}, not {tpsim_src}")
            await phase(-(-warmup // concurrency))
            server_before, client_before = cpu_seconds(server.pid), cpu_seconds(os.getpid())
            started = time.perf_counter()
            latencies = await phase(max(1, transfers // concurrency))
            elapsed = time.perf_counter() - started
            # tpsim may still be handling the PISP's responses to the last callbacks.
            await asyncio.sleep(0.2)
            server_cpu = cpu_seconds(server.pid) - server_before
            client_cpu = cpu_seconds(os.getpid()) - client_before
        finally:
            server.terminate()
            server.wait(10)
    done = sum(len(v) for v in latencies.values())
    return RunResult(tpsim_file, done, elapsed, server_cpu, client_cpu, latencies)


def report_run(n: int, repeat: int, result: RunResult, warmup: int, concurrency: int) -> None:
    print(f"run {n}/{repeat}: server imported tpsim from {result.tpsim_file}")
    print(
        f"  {result.transfers} transfers in {result.elapsed:.2f} s at concurrency {concurrency}"
        f" (after {warmup} warm-up): {result.throughput:.0f} transfers/s"
    )
    print(
        f"  CPU per transfer: server {result.server_ms:.3f} ms ({result.server_cpu:.2f} s),"
        f" client/PISP {result.client_ms:.3f} ms ({result.client_cpu:.2f} s)"
    )
    for flow, values in result.latencies.items():
        if values:
            print(
                f"  {flow:7s} n={len(values):5d}  p50 {statistics.median(values) * 1000:6.1f} ms"
                f"  p99 {percentile(values, 0.99) * 1000:6.1f} ms"
            )


async def main(
    transfers: int,
    warmup: int,
    concurrency: int,
    repeat: int,
    tpsim_src: Path | None,
    state: bool = False,
) -> None:
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]},"
        f" CPU time from /proc/<pid>/stat in 1/{CLOCK_TICKS} s ticks"
    )
    print(
        f"server tpsim source: {tpsim_src or 'as installed'}; each transfer = 2 requests"
        " from the PISP + 3 callbacks to it, over HTTP; state"
        f" {'in an SQLite file (--state)' if state else 'in memory'}"
    )
    pisp = Pisp()
    runner, pisp_port = await serve_pisp(pisp.handle)
    results: list[RunResult] = []
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            for n in range(1, repeat + 1):
                result = await measure(
                    session,
                    pisp,
                    f"http://127.0.0.1:{pisp_port}",
                    transfers,
                    warmup,
                    concurrency,
                    tpsim_src,
                    state,
                )
                results.append(result)
                report_run(n, repeat, result, warmup, concurrency)
            raw = await raw_rate(session, 20_000, concurrency)
    finally:
        await runner.cleanup()

    print(
        f"median of {repeat} run(s): server CPU"
        f" {statistics.median(r.server_ms for r in results):.3f} ms/transfer"
        f" (runs: {', '.join(f'{r.server_ms:.3f}' for r in results)}),"
        f" client/PISP CPU {statistics.median(r.client_ms for r in results):.3f} ms/transfer,"
        f" {statistics.median(r.throughput for r in results):.0f} transfers/s"
    )
    print(
        f"raw aiohttp POST->202 on this machine, same client,"
        f" concurrency {concurrency}: {raw:.0f} req/s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=2000, help="timed transfers per run")
    parser.add_argument(
        "--warmup", type=int, default=300, help="unmeasured transfers before each timed phase"
    )
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1, help="runs, each with a fresh server")
    parser.add_argument(
        "--tpsim-src",
        type=Path,
        metavar="DIR",
        help="make the server import tpsim from DIR (a directory holding tpsim/)",
    )
    parser.add_argument(
        "--state", action="store_true", help="serve with --state (a new SQLite file per run)"
    )
    args = parser.parse_args()
    if args.repeat < 1 or args.transfers < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--repeat, --transfers and --concurrency must be >= 1, --warmup >= 0")
    src: Path | None = args.tpsim_src.resolve() if args.tpsim_src else None
    if src is not None and not (src / "tpsim" / "__init__.py").is_file():
        parser.error(f"--tpsim-src {args.tpsim_src}: no tpsim/__init__.py there")
    asyncio.run(main(args.transfers, args.warmup, args.concurrency, args.repeat, src, args.state))
