"""A PISP under test for end-to-end tests: a real HTTP server that records every callback
tpsim sends it, and a client that sends FSPIOP requests to tpsim with correct headers."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.wire.headers import build_headers, format_http_date
from tpsim.mojaloop.wire.routes import match


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None

    @property
    def error_code(self) -> str | None:
        info = (self.body or {}).get("errorInformation") or {}
        code = info.get("errorCode")
        return str(code) if code is not None else None


@dataclass
class SentResponse:
    status: int
    body: dict[str, Any] | None


@dataclass
class TestPisp:
    """``fsp_id`` as registered in tpsim; ``respond_with`` overrides the sync status of
    every callback, ``refuse`` (method, path) → status only of the ones it names."""

    fsp_id: str = "pispa"
    received: list[Received] = field(default_factory=list)
    respond_with: int | None = None
    refuse: dict[tuple[str, str], int] = field(default_factory=dict)
    tpsim_url: str = ""
    url: str = ""  # where this PISP listens (set by start)
    _server: TestServer | None = None
    _session: aiohttp.ClientSession | None = None
    _arrived: asyncio.Condition | None = None

    __test__ = False  # not a pytest class

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._on_request)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self._session = aiohttp.ClientSession()
        self._arrived = asyncio.Condition()
        self.url = str(self._server.make_url("")).rstrip("/")
        return self.url

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._server is not None:
            await self._server.close()

    async def _on_request(self, request: web.Request) -> web.Response:
        text = await request.text()
        body = json.loads(text) if text else None
        self.received.append(Received(request.method, request.path, dict(request.headers), body))
        assert self._arrived is not None
        async with self._arrived:
            self._arrived.notify_all()
        status = self.refuse.get((request.method, request.path), self.respond_with)
        if status is not None:
            return web.Response(status=status)
        return web.Response(status=202 if request.method in ("POST", "GET", "DELETE") else 200)

    # -- sending -------------------------------------------------------------------

    async def send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        destination: str | None = None,
        headers: dict[str, str | None] | None = None,
        raw: bytes | None = None,
    ) -> SentResponse:
        """Send a request as this PISP; ``headers`` overrides (None removes a header).

        A path or method tpsim does not serve gets Third Party media types, so tests can
        send unknown URIs and wrong methods too."""
        try:
            resource = match(method, path)[0].resource
        except FspiopError:
            resource = "thirdparty"
        sent = build_headers(method, resource, self.fsp_id, destination, datetime.now(UTC))
        if body is None and raw is None:
            sent.pop("Content-Type", None)
        removed: list[str] = []
        for name, value in (headers or {}).items():
            sent.pop(name, None)
            if value is not None:
                sent[name] = value
            else:
                removed.append(name)
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        assert self._session is not None
        # aiohttp would add its own Accept and Content-Type where a test removed them.
        async with self._session.request(
            method,
            self.tpsim_url + path,
            data=None if data is None else io.BytesIO(data),
            headers=sent,
            skip_auto_headers=removed,
        ) as response:
            text = await response.text()
            return SentResponse(response.status, json.loads(text) if text else None)

    # -- waiting -------------------------------------------------------------------

    async def wait_for(
        self,
        method: str,
        path: str,
        *,
        timeout: float = 5.0,
        start: int = 0,
        where: Callable[[Received], bool] | None = None,
    ) -> Received:
        """The first callback at or after index ``start`` with ``method`` whose path matches
        the regular expression ``path`` entirely (and that satisfies ``where``, if given)."""
        pattern = re.compile(path)

        def wanted(item: Received) -> bool:
            if item.method != method or not pattern.fullmatch(item.path):
                return False
            return where is None or where(item)

        return await self.wait_until(wanted, timeout=timeout, start=start)

    async def wait_until(
        self, wanted: Callable[[Received], bool], *, timeout: float = 5.0, start: int = 0
    ) -> Received:
        """The first callback at or after index ``start`` for which ``wanted`` is true."""
        assert self._arrived is not None

        def found() -> Received | None:
            return next((item for item in self.received[start:] if wanted(item)), None)

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: found() is not None), timeout)
        result = found()
        assert result is not None
        return result


def future_expiration(seconds: int = 60, *, now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


__all__ = ["Received", "SentResponse", "TestPisp", "format_http_date", "future_expiration"]
