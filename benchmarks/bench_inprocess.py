"""A complete transfer's CPU inside tpsim, without sockets: the steadier measure beside
``bench_transfer.py``.

The same transfers as ``bench_transfer.py`` (its config, PISP requests and signatures)
go through tpsim's FSPIOP edge as it runs once aiohttp has read a request
(``serve.edge.admit``: the bytes a PISP would send, validated, journaled and routed), the
router, the simulated DFSPs and auth-service, the journal, the metrics (the app
``tpsim serve`` builds is made, never served) and the per-message log line (at
``--log-level``, to stderr: redirect it). The PISP is a ``Recording`` transport that
answers 202 and hands the authorization request and the final PATCH back to the worker
waiting for them. What is left out is what the null switch pays too: aiohttp's server and
client, and the sockets.

It prints the process's CPU time per timed transfer (``time.process_time``, after
``--warmup`` transfers), which includes the PISP's signing (``--sign-ms`` measures that
alone, to subtract). On a shared machine that still moves with other jobs' load; an
instruction count does not. With valgrind installed::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python benchmarks/bench_inprocess.py --transfers N 2>/dev/null

run with ``--transfers 0`` and ``--transfers 400``: the difference of the two
``Collected`` counts over 400 is the instructions per transfer (set ``PYTHONHASHSEED=0``
for both; ``--warmup 100`` keeps the runs short). ``--profile FILE`` writes a cProfile of
the timed phase.

What a part of the recording costs is the difference with ``--leave-out PART`` (for
measuring only: tpsim always does all three):

    metrics     no Prometheus counters (the app is not made)
    traffic     no metrics and no log line, for any hop (``Traffic.seen`` does nothing)
    recording   the router records nothing: no journal entry, metrics or log line for the
                11 hops it carries (the edge still records the 2 requests it admits)

    python benchmarks/bench_inprocess.py [--transfers 4000] [--warmup 1000]
        [--concurrency 20] [--log-level info] [--profile FILE] [--leave-out PART]
        2>/dev/null
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_transfer import (  # noqa: E402 - the sibling benchmark's config and requests
    authorization_answer,
    make_config,
    transaction_body,
)

from tpsim.auth.authenticator import SoftwareAuthenticator  # noqa: E402
from tpsim.config import Config  # noqa: E402
from tpsim.logging import configure_logging  # noqa: E402
from tpsim.mojaloop.message import Message, make_headers  # noqa: E402
from tpsim.mojaloop.steps import Answered  # noqa: E402
from tpsim.mojaloop.wire import routes  # noqa: E402
from tpsim.mojaloop.wire.headers import build_headers  # noqa: E402
from tpsim.serve.app import create_app  # noqa: E402
from tpsim.serve.edge import Arrival, admit  # noqa: E402
from tpsim.serve.router import Router  # noqa: E402
from tpsim.serve.simulation import Simulation  # noqa: E402
from tpsim.serve.traffic import Traffic  # noqa: E402
from tpsim.serve.transports import Recording, Transports  # noqa: E402

LEAVE_OUT = ("metrics", "traffic", "recording")


class Pisp:
    """The PISP's side, in-process: what tpsim sends it, handed to whoever waits for it."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def expect(self, key: str) -> asyncio.Future[dict[str, Any]]:
        future = self.waiting[key] = asyncio.get_running_loop().create_future()
        return future

    def receive(self, message: Message) -> Answered:
        body = message.body or {}
        if message.path.endswith("/error"):
            raise RuntimeError(f"tpsim sent an error: {message.path} {body}")
        if message.method == "POST" and message.path == "/thirdpartyRequests/authorizations":
            self.waiting.pop("authorization:" + body["transactionRequestId"]).set_result(body)
        elif message.method == "PATCH":
            self.waiting.pop("done:" + message.path.rsplit("/", 1)[1]).set_result(body)
        return Answered(202, 0.0)


def post(sim: Simulation, method: str, path: str, body: dict[str, Any]) -> None:
    """``method path`` with ``body`` from the PISP, through tpsim's edge."""
    data = json.dumps(body).encode()
    headers = build_headers(method, "thirdparty", "pispa", "dfspa", datetime.now(UTC))
    headers["Content-Length"] = str(len(data))
    arrival = Arrival(method, path, path, make_headers(headers), has_body=True)
    answer = admit(sim, arrival, routes.match(method, path), data)
    if answer.status >= 300:
        raise RuntimeError(f"{method} {path}: {answer.status} {answer.body}")


async def transfer(sim: Simulation, pisp: Pisp, auth: SoftwareAuthenticator, i: int) -> None:
    request_id = str(uuid.uuid4())
    authorization = pisp.expect("authorization:" + request_id)
    done = pisp.expect("done:" + request_id)
    post(sim, "POST", "/thirdpartyRequests/transactions", transaction_body(request_id, _at(i)))
    post(sim, "PUT", *authorization_answer(auth, await authorization))
    await done


def _at(worker: int) -> str:
    return f"dfspa.bench.{worker}"


async def run(args: argparse.Namespace) -> None:
    pisp = Pisp()
    config, authenticators = make_config("http://127.0.0.1:9/pisp", args.concurrency)
    recording = Recording(pisp.receive)
    sim = Simulation(Config.model_validate(config), transports=Transports(lambda _: recording))
    if args.leave_out != "metrics":
        create_app(sim)  # its metrics count every hop, as they do in tpsim serve

    async def phase(per_worker: int) -> None:
        async def worker(i: int) -> None:
            for _ in range(per_worker):
                await transfer(sim, pisp, authenticators[i], i)
                recording.received.clear()

        await asyncio.gather(*(worker(i) for i in range(args.concurrency)))

    await phase(-(-args.warmup // args.concurrency))
    gc.collect()
    gc.freeze()  # as tpsim serve does once it has started
    gc.set_threshold(50_000, 20, 100)
    per_worker = args.transfers // args.concurrency
    profile = cProfile.Profile() if args.profile else None
    started = time.process_time()
    if profile is not None:
        profile.enable()
    await phase(per_worker)
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    cpu = time.process_time() - started
    done = per_worker * args.concurrency
    if done:
        each = cpu / done * 1000
        print(f"{done} transfers at {args.concurrency} concurrent: {each:.3f} ms CPU each")
    if args.sign_ms:
        auth = authenticators[0]
        started = time.process_time()
        for _ in range(200):
            authorization_answer(auth, {"challenge": "0" * 64, "authorizationRequestId": "a"})
        print(f"the PISP's signing alone: {(time.process_time() - started) / 200 * 1000:.3f} ms")
    await sim.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=4000, help="timed transfers")
    parser.add_argument("--warmup", type=int, default=1000, help="transfers before the timing")
    parser.add_argument("--concurrency", type=int, default=20, help="transfers at once")
    parser.add_argument("--log-level", default="info", help="tpsim's log level (default info)")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the timed phase into FILE")
    parser.add_argument(
        "--sign-ms", action="store_true", help="also measure the PISP's signing alone"
    )
    parser.add_argument(
        "--leave-out", choices=LEAVE_OUT, help="skip one part of the recording, to measure it"
    )
    args = parser.parse_args()
    if args.concurrency < 1 or args.transfers < 0 or args.warmup < 0:
        parser.error("--concurrency must be >= 1, --transfers and --warmup >= 0")
    if args.leave_out == "traffic":
        Traffic.seen = lambda self, seen: None  # type: ignore[method-assign]
    elif args.leave_out == "recording":
        Router._record = lambda self, step, delivery: None  # type: ignore[method-assign]
    configure_logging(level=args.log_level)
    asyncio.run(run(args))
