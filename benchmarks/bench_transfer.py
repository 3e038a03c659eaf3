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

For scale, the script finally measures the raw aiohttp request rate on this machine: a
trivial POST → 202 handler driven by the same client at the same concurrency.

    python benchmarks/bench_transfer.py [--transfers 2000] [--concurrency 20]
        [--warmup 300] [--repeat 1] [--tpsim-src DIR]
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
from dataclasses import dataclass
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
