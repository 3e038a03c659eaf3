"""A kill -9 and a restart of ``tpsim serve --state FILE`` in the middle of transfers: what is lost.

tpsim runs as its own process with a new state file; this script plays the PISP of
``bench_transfer.py`` (its callback server, its config, its requests). ``--concurrency``
workers run complete transfers back to back; once ``--kill-after`` of them have completed,
the server gets SIGKILL, whatever it is doing. It is started again on the same state file
(a new port, the same PISP), and the PISP carries on: it answers any authorization request
that reaches it (a request tpsim had acknowledged but not handled is handled after the
restart), waits ``--settle`` seconds for callbacks, then asks tpsim for every transfer it
sent (``GET /thirdpartyRequests/transactions/{ID}``) and reads the balances
(``GET /admin/accounts``). It prints:

- completed before the kill, and how many of those are still completed after the restart;
- in flight at the kill (acknowledged, no final callback yet), and for those after the
  restart: error callbacks, completions (the transfer resumed), final callbacks lost in the
  kill's instant but reported by GET, and **lost** (no final word at all: must be 0);
- whether the balances agree with the transfers GET reports completed (each 1 USD from its
  worker's account to Bob's; the total unchanged), and that no funds stay reserved;
- that a FIDO assertion whose counter was used before the kill is refused after it.

Exit code 0 when nothing was lost and the balances agree, 1 otherwise.

    python benchmarks/bench_restart.py [--transfers 600] [--kill-after 300]
        [--concurrency 20] [--settle 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import yaml
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent))
from bench_transfer import (  # noqa: E402 - the sibling benchmark's PISP and server helpers
    Pisp,
    authorization_answer,
    free_port,
    make_config,
    send,
    serve_pisp,
    start_server,
    transaction_body,
    wait_healthy,
)

from tpsim.auth.authenticator import SoftwareAuthenticator  # noqa: E402
from tpsim.mojaloop.wire.headers import build_headers  # noqa: E402

TX = "/thirdpartyRequests/transactions"
T = TypeVar("T")


@dataclass
class Transfer:
    request_id: str
    worker: int
    accepted: bool = False  # tpsim answered the POST with 202
    final: str | None = None  # "PATCH", or the error code of PUT …/error


@dataclass
class Run:
    """Every transfer the PISP sent, by request id."""

    transfers: dict[str, Transfer] = field(default_factory=dict)


class RecordingPisp(Pisp):
    """``bench_transfer.Pisp`` that also records each transfer's final callback and, once
    told to (after the restart), answers every authorization request it gets."""

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run
        self.answer: tuple[aiohttp.ClientSession, str, list[SoftwareAuthenticator]] | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request.method, request.path, body)
        if self.answer is not None and request.path == "/thirdpartyRequests/authorizations":
            task = asyncio.get_running_loop().create_task(self._authorize(body))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await super().handle(request)

    def _record(self, method: str, path: str, body: dict[str, Any]) -> None:
        request_id = path.removeprefix(f"{TX}/").removesuffix("/error")
        transfer = self.run.transfers.get(request_id)
        if transfer is None or transfer.final is not None:
            return
        if method == "PATCH":
            transfer.final = "PATCH"
        elif method == "PUT" and path.endswith("/error"):
            transfer.final = body["errorInformation"]["errorCode"]
        else:
            return

    async def _authorize(self, request: dict[str, Any]) -> None:
        assert self.answer is not None
        session, tpsim, authenticators = self.answer
        transfer = self.run.transfers.get(request["transactionRequestId"])
        if transfer is None:
            return
        await send(
            session, tpsim, "PUT", *authorization_answer(authenticators[transfer.worker], request)
        )


class Killed(Exception):
    """The server was killed while a worker waited for it."""


async def until(work: Awaitable[T], killed: asyncio.Event) -> T:
    """``work``'s result, or ``Killed`` once the server was killed."""
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(killed.wait())
    done, _ = await asyncio.wait([task, stop], return_when=asyncio.FIRST_COMPLETED)
    for pending in (task, stop):
        if pending not in done:
            pending.cancel()
    if task not in done:
        raise Killed
    return task.result()


async def worker(
    i: int,
    session: aiohttp.ClientSession,
    tpsim: str,
    pisp: RecordingPisp,
    auth: SoftwareAuthenticator,
    left: list[int],
    killed: asyncio.Event,
) -> None:
    """Transfers back to back until ``left`` runs out or the server is killed."""
    while left[0] > 0 and not killed.is_set():
        left[0] -= 1
        transfer = Transfer(str(uuid.uuid4()), i)
        pisp.run.transfers[transfer.request_id] = transfer
        authorization = pisp.expect("POST", "authorization:" + transfer.request_id)
        try:
            body = transaction_body(transfer.request_id, f"dfspa.bench.{i}")
            await until(send(session, tpsim, "POST", TX, body), killed)
            transfer.accepted = True
            request = await until(authorization, killed)
            await until(send(session, tpsim, "PUT", *authorization_answer(auth, request)), killed)
            while transfer.final is None and not killed.is_set():
                await asyncio.sleep(0.005)
        except (Killed, aiohttp.ClientError, RuntimeError):
            return  # the kill came (or cut a request off)


async def killer(run: Run, kill_after: int, server_pid: int, killed: asyncio.Event) -> None:
    while sum(t.final == "PATCH" for t in run.transfers.values()) < kill_after:
        await asyncio.sleep(0.001)
    os.kill(server_pid, signal.SIGKILL)
    killed.set()


async def transaction_state(
    session: aiohttp.ClientSession, tpsim: str, pisp: Pisp, request_id: str
) -> str:
    """What GET reports for ``request_id``: its transactionRequestState, or the error code."""
    path = f"{TX}/{request_id}"
    answered = pisp.expect("PUT", path)
    refused = pisp.expect("PUT", f"{path}/error")
    headers = build_headers("GET", "thirdparty", "pispa", "dfspa", datetime.now(UTC))
    async with session.get(tpsim + path, headers=headers) as response:
        if response.status != 202:
            return f"GET answered {response.status}"
    done, _ = await asyncio.wait(
        [answered, refused], timeout=10, return_when=asyncio.FIRST_COMPLETED
    )
    for future in (answered, refused):
        future.cancel()
    if answered in done:
        return str(answered.result()["transactionRequestState"])
    if refused in done:
        return "error " + str(refused.result()["errorInformation"]["errorCode"])
    return "no answer"


async def balances(session: aiohttp.ClientSession, tpsim: str) -> dict[str, Decimal]:
    async with session.get(f"{tpsim}/admin/accounts") as response:
        accounts = (await response.json())["accounts"]
    return {a["address"]: Decimal(a["balance"]) for a in accounts}


async def main(transfers: int, kill_after: int, concurrency: int, settle: float) -> int:
    run = Run()
    pisp = RecordingPisp(run)
    runner, pisp_port = await serve_pisp(pisp.handle)
    config, authenticators = make_config(f"http://127.0.0.1:{pisp_port}", concurrency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config_path, report = Path(tmp) / "bench.yaml", Path(tmp) / "tpsim-file"
            config_path.write_text(yaml.safe_dump(config))
            state = Path(tmp) / "state.db"
            options = Options(transfers, kill_after, concurrency, settle)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                return await measure(
                    session, pisp, run, authenticators, config_path, report, state, options
                )
    finally:
        await runner.cleanup()


async def measure(
    session: aiohttp.ClientSession,
    pisp: RecordingPisp,
    run: Run,
    authenticators: list[SoftwareAuthenticator],
    config_path: Path,
    report: Path,
    state: Path,
    options: Options,
) -> int:
    """Transfers until the kill, the restart, then what it comes to (the exit code)."""
    port = free_port()
    tpsim = f"http://127.0.0.1:{port}"
    server = start_server(config_path, port, report, None, state)
    await wait_healthy(session, tpsim, server)
    opening = await balances(session, tpsim)
    killed, left = asyncio.Event(), [options.transfers]
    kill = asyncio.ensure_future(killer(run, options.kill_after, server.pid, killed))
    workers = [
        worker(i, session, tpsim, pisp, authenticators[i], left, killed)
        for i in range(options.concurrency)
    ]
    await asyncio.gather(*workers)
    if not killed.is_set():
        kill.cancel()
        server.terminate()
        server.wait(10)
        print("every transfer ended before the kill: raise --transfers or lower --kill-after")
        return 1
    await kill
    server.wait(10)
    at_kill = Snapshot.of(run, state)

    port = free_port()
    tpsim = f"http://127.0.0.1:{port}"
    pisp.answer = (session, tpsim, authenticators)
    started = time.monotonic()
    server = start_server(config_path, port, report, None, state)
    try:
        await wait_healthy(session, tpsim, server)
        up = time.monotonic() - started
        await asyncio.sleep(options.settle)
        sent = list(run.transfers)
        states = {r: await transaction_state(session, tpsim, pisp, r) for r in sent}
        after = await balances(session, tpsim)
        replay = await replayed_assertion(session, tpsim, pisp, authenticators)
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"state file and its WAL at the kill: {at_kill.size / 1024:.0f} kB;"
        f" restarted and healthy in {up:.2f} s"
    )
    lost = at_kill.report(run, states)
    done = [r for r, s in states.items() if s == "ACCEPTED"]
    consistent, why = check_balances(opening, after, done, run)
    print(f"balances consistent with the {len(done)} transfers GET reports completed: {why}")
    print(f"an assertion whose sign counter was used before the kill, after it: {replay}")
    return 0 if not lost and consistent and replay.startswith("refused") else 1


@dataclass(frozen=True)
class Options:
    transfers: int
    kill_after: int
    concurrency: int
    settle: float


@dataclass(frozen=True)
class Snapshot:
    """What the PISP knew when the server was killed."""

    completed: frozenset[str]
    in_flight: frozenset[str]  # acknowledged, no final callback yet
    cut_off: frozenset[str]  # the POST was sent, its 202 never came
    size: int

    @classmethod
    def of(cls, run: Run, state: Path) -> Snapshot:
        ts = run.transfers.values()
        return cls(
            frozenset(t.request_id for t in ts if t.accepted and t.final == "PATCH"),
            frozenset(t.request_id for t in ts if t.accepted and t.final is None),
            frozenset(t.request_id for t in ts if not t.accepted),
            sum(p.stat().st_size for p in state.parent.glob(state.name + "*")),
        )

    def report(self, run: Run, states: dict[str, str]) -> list[str]:
        """Print what became of each transfer; the ones lost."""
        finals = {r: run.transfers[r].final for r in run.transfers}
        still = sum(states[r] == "ACCEPTED" for r in self.completed)
        print(
            f"completed before the kill: {len(self.completed)};"
            f" still completed after the restart: {still}"
        )
        flight = [finals[r] for r in self.in_flight]
        by_get = [r for r in self.in_flight if finals[r] is None and _final(states[r])]
        lost = [r for r in self.in_flight if finals[r] is None and r not in by_get]
        lost += [r for r in self.completed if states[r] != "ACCEPTED"]
        print(f"in flight at the kill (acknowledged, no final callback): {len(self.in_flight)}")
        print(
            f"  after the restart: {sum(f not in (None, 'PATCH') for f in flight)} error"
            f" callbacks, {flight.count('PATCH')} completed (resumed), {len(by_get)} whose"
            f" final callback died with the process (GET reports the outcome)"
        )
        known = [r for r in self.cut_off if finals[r] is not None or _final(states[r])]
        completed = sum(states[r] == "ACCEPTED" for r in known)
        print(
            f"POSTs the kill cut off before their 202: {len(self.cut_off)}; tpsim had"
            f" {len(known)} of them, ended after the restart ({completed} completed, the"
            f" others with an error callback); the rest never reached it"
        )
        print(f"lost (acknowledged, then no final word at all): {len(lost)}")
        for request_id in lost:
            print(f"    lost: {request_id} (GET: {states[request_id]})")
        return lost


def _final(state: str) -> bool:
    return state in ("ACCEPTED", "REJECTED")


def check_balances(
    opening: dict[str, Decimal], after: dict[str, Decimal], done: list[str], run: Run
) -> tuple[bool, str]:
    """Whether each worker's account lost 1 USD per completed transfer and Bob gained as
    much, the total unchanged (``/admin/accounts`` shows available funds: nothing is still
    reserved when they agree)."""
    expected = dict(opening)
    for request_id in done:
        worker = run.transfers[request_id].worker
        expected[f"dfspa.bench.{worker}"] -= 1
        expected["dfspb.bob"] += 1
    if after == expected:
        return True, f"yes (total {sum(after.values())} USD, as opened)"
    wrong = {a: (after.get(a), expected.get(a)) for a in expected if after.get(a) != expected[a]}
    return False, f"NO: (shown, expected) {wrong}"


async def replayed_assertion(
    session: aiohttp.ClientSession,
    tpsim: str,
    pisp: RecordingPisp,
    authenticators: list[SoftwareAuthenticator],
) -> str:
    """A transfer signed by a copy of worker 0's FIDO authenticator set back two counts."""
    fido = authenticators[0]
    stale = SoftwareAuthenticator.from_json(fido.to_json())
    stale.counter = max(0, fido.counter - 2)
    transfer = Transfer(str(uuid.uuid4()), 0)
    pisp.run.transfers[transfer.request_id] = transfer
    pisp.answer = None  # this one the PISP answers itself, with the stale copy
    authorization = pisp.expect("POST", "authorization:" + transfer.request_id)
    await send(session, tpsim, "POST", TX, transaction_body(transfer.request_id, "dfspa.bench.0"))
    async with asyncio.timeout(10):
        request = await authorization
    await send(session, tpsim, "PUT", *authorization_answer(stale, request))
    for _ in range(1000):
        if transfer.final is not None:
            break
        await asyncio.sleep(0.01)
    if transfer.final is None or transfer.final == "PATCH":
        return f"ACCEPTED ({transfer.final})"
    return f"refused ({transfer.final})"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=600, help="transfers at most")
    parser.add_argument("--kill-after", type=int, default=300, help="completed before the kill")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait after restart")
    args = parser.parse_args()
    if not 0 < args.kill_after < args.transfers or args.concurrency < 1:
        parser.error("need 0 < --kill-after < --transfers and --concurrency >= 1")
    sys.exit(asyncio.run(main(args.transfers, args.kill_after, args.concurrency, args.settle)))
