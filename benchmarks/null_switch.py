"""A do-nothing "null switch": the floor under ``bench_transfer.py``'s CPU per transfer.

An aiohttp server that answers the two requests of the benchmark PISP's transfer at once
and sends the PISP the same three callbacks tpsim sends, over one keep-alive aiohttp
``ClientSession`` (a ``TCPConnector`` without limits and compact JSON, as tpsim's
``HttpClient``), with FSPIOP headers built like tpsim's:

* ``POST /thirdpartyRequests/transactions`` → 202, then ``PUT
  /thirdpartyRequests/transactions/{ID}`` {RECEIVED} and ``POST
  /thirdpartyRequests/authorizations`` (a fixed challenge, a new authorizationRequestId,
  the transactionRequestId, amounts, payer, payee, transactionType, expiration);
* ``PUT /thirdpartyRequests/authorizations/{ID}`` → 200, then ``PATCH
  /thirdpartyRequests/transactions/{ID}`` {ACCEPTED, COMPLETED};
* ``GET /health`` → 200.

No validation, no state beyond a dict from authorizationRequestId to transactionRequestId,
no crypto, no access log. What tpsim spends per transfer beyond this process is the cost
of being a switch rather than HTTP plumbing.

Run on the event loop ``--loop`` names (``asyncio`` or ``uvloop``): the benchmark gives
it tpsim's, so neither is measured on a faster loop than the other.

    python benchmarks/null_switch.py --port P --pisp-url URL [--loop asyncio|uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

import aiohttp
from aiohttp import web

# A transaction challenge as tpsim sends one (64 hex digits), the same for every transfer.
CHALLENGE = "5f2b3c1d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"
THIRDPARTY = "application/vnd.interoperability.thirdparty+json;version=1.0"
ACCEPT = "application/vnd.interoperability.thirdparty+json;version=1"


def headers(method: str) -> dict[str, str]:
    """What tpsim's ``build_headers`` gives a callback from dfspa to pispa."""
    result = {"Content-Type": THIRDPARTY}
    if method != "PUT":
        result["Accept"] = ACCEPT
    result["Date"] = formatdate(usegmt=True)
    result["FSPIOP-Source"] = "dfspa"
    result["FSPIOP-Destination"] = "pispa"
    return result


class NullSwitch:
    def __init__(self, pisp_url: str) -> None:
        self.pisp_url = pisp_url.rstrip("/")
        self.authorizations: dict[str, str] = {}  # authorizationRequestId → request id
        self.tasks: set[asyncio.Task[None]] = set()
        self.session: aiohttp.ClientSession | None = None

    async def start(self, app: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def stop(self, app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    async def send(self, method: str, path: str, body: dict[str, Any]) -> None:
        assert self.session is not None  # noqa: S101 - opened on startup
        data = json.dumps(body, separators=(",", ":")).encode()
        async with self.session.request(
            method, self.pisp_url + path, data=data, headers=headers(method)
        ) as response:
            await response.read()

    def spawn(self, callbacks: Any) -> None:
        task = asyncio.get_running_loop().create_task(callbacks)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def post_transaction(self, request: web.Request) -> web.Response:
        self.spawn(self.received(await request.json()))
        return web.Response(status=202)

    async def received(self, body: dict[str, Any]) -> None:
        request_id = body["transactionRequestId"]
        authorization_id = str(uuid.uuid4())
        self.authorizations[authorization_id] = request_id
        await self.send(
            "PUT",
            f"/thirdpartyRequests/transactions/{request_id}",
            {"transactionId": str(uuid.uuid4()), "transactionRequestState": "RECEIVED"},
        )
        amount = body["amount"]
        await self.send(
            "POST",
            "/thirdpartyRequests/authorizations",
            {
                "authorizationRequestId": authorization_id,
                "transactionRequestId": request_id,
                "challenge": CHALLENGE,
                "transferAmount": amount,
                "payeeReceiveAmount": amount,
                "fees": {"currency": amount["currency"], "amount": "0"},
                "payer": body["payer"],
                "payee": body["payee"],
                "transactionType": body["transactionType"],
                "expiration": body["expiration"],
            },
        )

    async def put_authorization(self, request: web.Request) -> web.Response:
        await request.read()
        request_id = self.authorizations.pop(request.match_info["ID"], None)
        if request_id is not None:
            self.spawn(self.completed(request_id))
        return web.Response(status=200)

    async def completed(self, request_id: str) -> None:
        now = datetime.now(UTC)
        await self.send(
            "PATCH",
            f"/thirdpartyRequests/transactions/{request_id}",
            {
                "transactionRequestState": "ACCEPTED",
                "transactionState": "COMPLETED",
                "completedTimestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now:%f}"[:3] + "Z",
            },
        )


async def health(request: web.Request) -> web.Response:
    return web.Response(status=200)


def make_app(pisp_url: str) -> web.Application:
    switch = NullSwitch(pisp_url)
    app = web.Application()
    app.on_startup.append(switch.start)
    app.on_cleanup.append(switch.stop)
    app.router.add_post("/thirdpartyRequests/transactions", switch.post_transaction)
    app.router.add_put("/thirdpartyRequests/authorizations/{ID}", switch.put_authorization)
    app.router.add_get("/health", health)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--pisp-url", required=True, help="where the PISP takes callbacks")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    if args.loop == "uvloop":  # run_app makes its loop through the policy
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(
        make_app(args.pisp_url),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        handle_signals=True,
    )
