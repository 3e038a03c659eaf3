"""HTTP delivery to external participants over one shared keep-alive client session."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import aiohttp

from tpsim.mojaloop.message import Message


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What the receiver answered synchronously (``status`` None when it never answered)."""

    status: int | None
    elapsed_ms: float
    error: str | None = None
    body: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class HttpDelivery:
    """Sends messages to ``endpoint + path``; never raises for network trouble."""

    def __init__(self, timeout_s: float = 10.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=connector, auto_decompress=False
            )
        return self._session

    async def deliver(self, endpoint: str, message: Message) -> DeliveryResult:
        """POST/PUT/… ``message`` to the endpoint; report the status or the failure."""
        url = endpoint.rstrip("/") + message.path
        data = None if message.body is None else json.dumps(message.body, separators=(",", ":"))
        started = time.perf_counter()
        try:
            async with self._client().request(
                message.method, url, data=data, headers=dict(message.headers)
            ) as response:
                text = await response.text(errors="replace")
                elapsed = (time.perf_counter() - started) * 1000
                return DeliveryResult(response.status, elapsed, body=text[:2000] or None)
        except TimeoutError:
            elapsed = (time.perf_counter() - started) * 1000
            return DeliveryResult(None, elapsed, f"no answer from {url} within the timeout")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return DeliveryResult(None, elapsed, f"cannot reach {url}: {exc}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
