"""Throughput of complete Third Party transfers through tpsim, measured from an external PISP.

tpsim runs as its own process (``tpsim serve``) on a loopback port; this script plays
the PISP: an aiohttp server that receives tpsim's callbacks and a keep-alive client that
sends the requests. Each of ``--concurrency`` workers runs transfers back to back with
its own consent and credential (a FIDO counter must increase, so one credential cannot
sign concurrent transfers out of order). Every transfer is complete: POST transactions →
PUT RECEIVED + POST authorizations → signed PUT authorizations → PATCH COMPLETED.

For scale, the same run also measures the raw aiohttp request rate on this machine: a
trivial POST → 202 handler driven by the same client at the same concurrency.

    python benchmarks/bench_transfer.py [--transfers 2000] [--concurrency 20]
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from tpsim.crypto.authenticator import SoftwareAuthenticator
from tpsim.wire.headers import build_headers


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


def make_config(pisp_url: str, workers: int) -> tuple[dict[str, Any], list[SoftwareAuthenticator]]:
    accounts, consents, authenticators = [], [], []
    for i in range(workers):
        kind = "FIDO" if i % 2 == 0 else "GENERIC"
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
    expiration = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    body = {
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
    await send(session, tpsim, "POST", "/thirdpartyRequests/transactions", body)
    request = await asyncio.wait_for(authorization, 30)
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
    await send(session, tpsim, "PUT", path, {"responseType": "ACCEPTED", "signedPayload": signed})
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


async def main(transfers: int, concurrency: int) -> None:
    pisp = Pisp()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", pisp.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    pisp_port, tpsim_port = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", pisp_port).start()

    config, authenticators = make_config(f"http://127.0.0.1:{pisp_port}", concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump(config))
        server = subprocess.Popen(  # noqa: S603 - our own CLI
            [
                sys.executable,
                "-m",
                "tpsim",
                "serve",
                "--config",
                str(path),
                "--port",
                str(tpsim_port),
                "--log-level",
                "warning",
            ],
            env={**os.environ},
        )
        try:
            await run(
                pisp, authenticators, f"http://127.0.0.1:{tpsim_port}", transfers, concurrency
            )
        finally:
            server.terminate()
            server.wait(10)
            await runner.cleanup()


async def run(
    pisp: Pisp,
    authenticators: list[SoftwareAuthenticator],
    tpsim: str,
    transfers: int,
    concurrency: int,
) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(100):
            try:
                async with session.get(tpsim + "/health") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        latencies: dict[str, list[float]] = {"FIDO": [], "GENERIC": []}
        per_worker = max(1, transfers // concurrency)

        async def worker(i: int) -> None:
            auth = authenticators[i]
            for _ in range(per_worker):
                latency = await transfer(session, tpsim, pisp, auth, f"dfspa.bench.{i}")
                latencies[auth.credential_type].append(latency)

        for i in range(concurrency):  # warm-up: one transfer per worker
            await transfer(session, tpsim, pisp, authenticators[i], f"dfspa.bench.{i}")
        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
        done = sum(len(v) for v in latencies.values())
        raw = await raw_rate(session, 20_000, concurrency)

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"complete transfers: {done} in {elapsed:.2f} s at concurrency {concurrency}")
    print(
        f"  throughput: {done / elapsed:.0f} transfers/s "
        f"(each = 2 requests from the PISP + 3 callbacks to it, over HTTP)"
    )
    for flow, values in latencies.items():
        if values:
            print(
                f"  {flow:7s} n={len(values):5d}  p50 {statistics.median(values) * 1000:6.1f} ms"
                f"  p99 {percentile(values, 0.99) * 1000:6.1f} ms"
            )
    print(
        f"raw aiohttp POST->202 on this machine, same client,"
        f" concurrency {concurrency}: {raw:.0f} req/s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.transfers, args.concurrency))
