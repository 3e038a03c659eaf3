"""A small PISP that is not tpsim's, for conformance-mode tests of the scenario runner.

It has its own API (``POST /transfer {"switch": URL}`` starts a transfer from Alice's
chequing account to Bob) and an FSPIOP endpoint where tpsim calls it back. When the
authorization request arrives it signs the challenge with Alice's FIDO credential and
answers. ``behaviour`` makes it misbehave in one way:

- ``good``: as the API requires;
- ``schema``: its ``PUT /thirdpartyRequests/authorizations/{ID}`` breaks the OpenAPI
  (``responseType: accepted``, lower case);
- ``silent``: it never answers the authorization request;
- ``rude``: it answers tpsim's callbacks with 500;
- ``stale``: its clock is an hour behind (the ``Date`` header);
- ``nameless``: its requests carry no ``FSPIOP-Source``.

Its ``fsp_id`` is what it sends as ``FSPIOP-Source``: another than the scenario's PISP is a
misspelled one.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.pisp import future_expiration
from tests.support.scheme import CREDENTIALS, transaction_request
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.mojaloop.wire.headers import build_headers


@dataclass
class ExternalPisp:
    behaviour: str = "good"
    fsp_id: str = "pispa"
    url: str = ""
    switch: str = ""
    signer: SoftwareAuthenticator = field(
        default_factory=lambda: SoftwareAuthenticator.from_json(
            (CREDENTIALS / "alice-fido.json").read_text()
        )
    )
    _server: TestServer | None = None
    _session: aiohttp.ClientSession | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> ExternalPisp:
        app = web.Application()
        app.router.add_post("/transfer", self._api_transfer)
        app.router.add_route("*", "/{tail:.*}", self._fspiop)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self._session = aiohttp.ClientSession()
        self.url = str(self._server.make_url("")).rstrip("/")
        return self

    async def close(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._server is not None:
            await self._server.close()

    async def _api_transfer(self, request: web.Request) -> web.Response:
        self.switch = (await request.json())["switch"]
        request_id = str(uuid.uuid4())
        body = transaction_request(request_id, expiration=future_expiration(300))
        status = await self._send("POST", "/thirdpartyRequests/transactions", body, "dfspa")
        return web.json_response({"transactionRequestId": request_id, "switch": status})

    async def _fspiop(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        if self.behaviour == "rude":
            return web.Response(status=500)
        if request.method == "POST" and request.path == "/thirdpartyRequests/authorizations":
            if self.behaviour != "silent":
                task = asyncio.create_task(self._authorize(body, request.headers))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return web.Response(status=202)
        return web.Response(status=200 if request.method in ("PUT", "PATCH") else 202)

    async def _authorize(self, body: dict[str, Any], headers: Any) -> None:
        assertion = self.signer.assertion(body["challenge"])
        answer = {
            "responseType": "accepted" if self.behaviour == "schema" else "ACCEPTED",
            "signedPayload": {"signedPayloadType": "FIDO", "fidoSignedPayload": assertion},
        }
        path = f"/thirdpartyRequests/authorizations/{body['authorizationRequestId']}"
        await self._send("PUT", path, answer, headers["FSPIOP-Source"])

    async def _send(self, method: str, path: str, body: dict[str, Any], to: str) -> int:
        now = datetime.now(UTC) - (timedelta(hours=1) if self.behaviour == "stale" else timedelta())
        headers = build_headers(method, "thirdparty", self.fsp_id, to, now)
        if self.behaviour == "nameless":
            del headers["FSPIOP-Source"]
        assert self._session is not None
        async with self._session.request(
            method, self.switch + path, data=json.dumps(body), headers=headers
        ) as response:
            return response.status
