"""How a message reaches a participant: one ``Transport`` interface, three implementations.

As httpx has one transport interface (``handle_async_request``) with interchangeable
implementations, tpsim has ``Transport.deliver(message) -> DeliveryResult``:

- ``InProcess(role)`` hands the message to a simulated role (httpx's ``ASGITransport``);
- ``Http(participant, client)`` sends it over the scheme's one keep-alive ``HttpClient``;
- ``Recording(handler)`` keeps what it got and answers with ``handler`` (httpx's
  ``MockTransport``), so router tests need no socket.

``Transports`` picks one per participant: simulated ones in-process, external ones through
``remote`` (HTTP in production). A transport never raises for the participant's trouble:
it reports it as a ``DeliveryResult`` for the switch to judge.
"""

from __future__ import annotations

import errno
import inspect
import json
import os
import re
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp

from tpsim.core.errors import TpsimError
from tpsim.mojaloop.message import Message, SimulatedRole
from tpsim.mojaloop.registry import External, Participant, Simulated
from tpsim.mojaloop.steps import Answered, DeliveryResult, Handled, Raised, Unreachable
from tpsim.serve import http1

# The most of a failed delivery's answer (or error) the switch is told, and so reports.
REASON_CHARS = 200
TIMED_OUT = "no answer within"  # how an answer that never came is reported
REFUSED = os.strerror(errno.ECONNREFUSED).lower()  # "connection refused"
# aiohttp's automatic request headers a callback goes without.
_SKIPPED_HEADERS = ("User-Agent", "Accept", "Accept-Encoding")

__all__ = [
    "Claims",
    "DeliveryResult",
    "Http",
    "HttpClient",
    "InProcess",
    "Recording",
    "Transport",
    "TransportFactory",
    "Transports",
    "failure_reason",
    "plain_reason",
]


class Transport(Protocol):
    """Carries a message to one participant and reports how it went."""

    async def deliver(self, message: Message) -> DeliveryResult: ...


TransportFactory = Callable[[Participant], Transport]


class InProcess:
    """Delivers to a simulated role: its ``Effects``, or the coded error it raised.

    Only ``TpsimError`` is a refusal; anything else is a bug and propagates to the router.
    """

    def __init__(self, role: SimulatedRole) -> None:
        self.role = role

    async def deliver(self, message: Message) -> DeliveryResult:
        try:
            return Handled(self.role.handle(message))
        except TpsimError as exc:
            return Raised(exc)


class HttpClient:
    """The scheme's one keep-alive client session, opened on first use; never raises for
    network trouble.

    Each message is sent exactly once: aiohttp resends an idempotent request (a PUT
    callback) on a fresh connection when the peer closed the reused keep-alive one, which
    would deliver a callback twice while the journal shows one send; that retry is off,
    and a dropped connection is reported as the failed delivery it is.
    """

    def __init__(self, timeout_s: float = 10.0) -> None:
        self._timeout_s = timeout_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None  # for https:// and odd paths
        self._pool = http1.Http1Pool()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
            # A callback needs none of the client's conveniences, and each costs CPU on
            # every request (issue 17's profile): no cookie jar (a participant's cookies
            # are never sent back), none of aiohttp's automatic headers (User-Agent,
            # Accept, Accept-Encoding: the FSPIOP headers say what is sent), no
            # decompression (only the start of an answer is read, for a reason).
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=_SKIPPED_HEADERS,
            )
            # No public option turns the retry off (aio-libs/aiohttp#10790); this is the
            # switch aiohttp's own TestClient uses (aiohttp/test_utils.py).
            self._session._retry_connection = False
        return self._session

    # Signs what tpsim's own participants send (FSPIOP-Signature and the headers Mojaloop
    # sends with it): (method, path, headers, body bytes) -> headers to add; the scheme's
    # ``mojaloop.wire.jws.Keyring.signature_headers``, set by the simulation.
    signer: Callable[[str, str, dict[str, str], bytes | None], dict[str, str]] | None = None

    async def send(self, endpoint: str, message: Message) -> Answered | Unreachable:
        """``message.method`` to ``endpoint + message.path``: the status and a short reason,
        or why it was not answered (the error's class and what happened in plain words:
        ``ClientConnectorError: connection refused``). The reason is at most
        ``REASON_CHARS`` of the answer's text on one line, never the whole body: it reaches
        the error callback's errorDescription, and tpsim must not reflect what an endpoint
        serves."""
        data = None
        if message.body is not None:
            data = json.dumps(message.body, separators=(",", ":")).encode()
        # aiohttp copies the headers into its own multidict: no copy of ours unless signed.
        headers: Mapping[str, str] = message.headers
        if self.signer is not None:  # over the very bytes sent
            unsigned = dict(headers)
            headers = unsigned | self.signer(message.method, message.path, unsigned, data)
        started = time.perf_counter()
        plain = _plain_http(endpoint, message.method, message.path)
        try:
            if plain is not None:  # the lean client (serve.http1)
                host, port, target = plain
                status, text = await self._pool.request(
                    host,
                    port,
                    message.method,
                    target,
                    headers,
                    data,
                    REASON_CHARS * 4,
                    self._timeout_s,
                )
            else:
                url = endpoint.rstrip("/") + message.path
                async with self._client().request(
                    message.method, url, data=data, headers=headers
                ) as response:
                    # Only the start of the body is read: a reason needs no more, and an
                    # endpoint streaming without end must not fill tpsim's memory.
                    status, text = response.status, await response.content.read(REASON_CHARS * 4)
            reason = _reason(text.decode("utf-8", "replace")) or None
            return Answered(status, _since(started), reason)
        except TimeoutError:
            return Unreachable(f"{TIMED_OUT} {self._timeout_s:g} s", _since(started))
        except (aiohttp.ClientError, OSError, ValueError, http1.Failed) as exc:
            return Unreachable(_reason(_failure(exc)), _since(started))

    async def close(self) -> None:
        self._pool.close()
        self._pool = http1.Http1Pool()  # the client may be used again, as its session
        if self._session is not None:
            await self._session.close()
            self._session = None


class Claims(Protocol):
    """Messages tpsim takes itself instead of sending them to an external participant
    (``serve.sdk.SdkLookups``: the ``PUT /parties`` callback a ``/sdk`` party lookup waits
    for)."""

    def claim(self, fsp_id: str, message: Message) -> bool:
        """Whether ``message`` to ``fsp_id`` was taken (then it is not sent)."""
        ...


class Http:
    """Delivers to an external participant over the shared ``client``, at the base URL of
    the message's resource family (``External.url_for``); a message ``claims`` takes is
    answered ``200`` without HTTP, as the participant's adapter would."""

    def __init__(
        self, participant: External, client: HttpClient, claims: Claims | None = None
    ) -> None:
        self.participant = participant
        self.client = client
        self.claims = claims

    @property
    def endpoint(self) -> str:
        """The participant's default base URL."""
        return self.participant.endpoint

    async def deliver(self, message: Message) -> DeliveryResult:
        if self.claims is not None and self.claims.claim(self.participant.fsp_id, message):
            return Answered(200, 0.0, "taken by tpsim's /sdk party lookup")
        return await self.client.send(self.participant.url_for(message.path), message)


Handler = Callable[[Message], DeliveryResult | Awaitable[DeliveryResult]]


def accept(message: Message) -> DeliveryResult:
    """What a well-behaved FSPIOP participant answers: ``202 Accepted``."""
    return Answered(202)


class Recording:
    """Keeps every message in ``received`` and answers with ``handler`` (sync or async;
    ``202 Accepted`` by default)."""

    def __init__(self, handler: Handler = accept) -> None:
        self.handler = handler
        self.received: list[Message] = []

    async def deliver(self, message: Message) -> DeliveryResult:
        self.received.append(message)
        result = self.handler(message)
        return await result if inspect.isawaitable(result) else result


class Transports:
    """The transport for each participant: in-process for a simulated one, ``remote`` for an
    external one (``Transports.http(client)`` in production, a ``Recording`` in tests)."""

    def __init__(self, remote: Callable[[External], Transport]) -> None:
        self.remote = remote
        # One transport per participant, made on its first delivery; a reloaded scheme's
        # participant (a new object under the same fspId) replaces its entry.
        self._made: dict[str, tuple[Participant, Transport]] = {}

    @classmethod
    def http(cls, client: HttpClient, claims: Claims | None = None) -> Transports:
        """Every external participant over ``client``; ``claims``: the messages tpsim takes
        itself instead (``Http``)."""
        return cls(lambda participant: Http(participant, client, claims))

    def __call__(self, participant: Participant) -> Transport:
        made = self._made.get(participant.fsp_id)
        if made is not None and made[0] is participant:
            return made[1]
        transport: Transport
        if isinstance(participant, Simulated):
            transport = InProcess(participant.role)
        else:
            transport = self.remote(participant)
        self._made[participant.fsp_id] = (participant, transport)
        return transport


def plain_reason(error: str | None) -> str:
    """What a failed delivery's reason (``Unreachable.error``) says without the error's
    class: ``connection refused`` of ``ClientConnectorError: connection refused``."""
    if error is None:
        return "no reason given"
    kind, colon, plain = error.partition(": ")
    return plain if colon and kind.isidentifier() else error


def failure_reason(status: int | None, error: str | None) -> str:
    """A failed delivery in a word fit for a metric label (a bounded set):
    ``connection_refused``, ``timeout``, ``unreachable`` (any other network failure), or
    the class of a non-2xx answer (``status_4xx``, ``status_5xx``)."""
    if status is not None:
        return f"status_{status // 100}xx"
    if error is not None and error.startswith(TIMED_OUT):
        return "timeout"
    return "connection_refused" if plain_reason(error) == REFUSED else "unreachable"


# A path sent as it is: what yarl (aiohttp's URLs) would not quote or requote.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
_ENDPOINTS: dict[str, tuple[str, int, str] | None] = {}  # endpoint → host, port, base path


def _plain_http(endpoint: str, method: str, path: str) -> tuple[str, int, str] | None:
    """Host, port and request target of ``endpoint + path`` when the lean client takes it:
    ``http://`` to an ASCII host, a path that needs no quoting, not HEAD (whose answer has
    no body whatever its headers say). None: aiohttp sends it."""
    if endpoint not in _ENDPOINTS:
        if len(_ENDPOINTS) > 1024:  # endpoints come from the config: a bound all the same
            _ENDPOINTS.clear()
        url = urlsplit(endpoint)
        host, port = url.hostname, url.port
        plain = url.scheme == "http" and _PLAIN_PATH.fullmatch(url.path)
        _ENDPOINTS[endpoint] = (  # an IDN host aiohttp would send as punycode
            (host, 80 if port is None else port, url.path.rstrip("/"))
            if plain and host and host.isascii()
            else None
        )
    parts = _ENDPOINTS[endpoint]
    if parts is None or not _PLAIN_PATH.fullmatch(path) or method == "HEAD":
        return None
    host, port, base = parts
    return host, port, base + path


def _failure(exc: BaseException) -> str:
    """Why a request failed, with its kind: aiohttp's class names, which the lean client's
    failures take too (``ClientConnectorError: connection refused``), so journals and logs
    read the same whichever client sent."""
    match exc:
        case http1.NotConnected(os_error=socket.gaierror() as error):
            return f"ClientConnectorDNSError: {_os_words(error)}"
        case http1.NotConnected(os_error=error):
            return f"ClientConnectorError: {_os_words(error)}"
        case http1.Disconnected(reset=None):
            return f"ServerDisconnectedError: {exc}"
        case http1.Disconnected(reset=OSError() as reset):
            return f"ClientOSError: {_os_words(reset)}"
        case http1.BadAnswer():
            return f"ClientResponseError: {exc}"
    return f"{type(exc).__name__}: {_plain(exc)}"


def _plain(exc: BaseException) -> str:
    """Why a request failed, in plain words: ``connection refused``, not aiohttp's
    ``Cannot connect to host 127.0.0.1:5000 ssl:default [Connect call failed …]``."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _os_words(exc.os_error)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the connection was closed before an answer came"
    if isinstance(exc, OSError):  # reset, broken pipe…
        return _os_words(exc)
    return str(exc) or "no reason given"


# "[Errno 111]" in asyncio's "Multiple exceptions: …" (every address of a name failed).
_ERRNO = re.compile(r"\[Errno (\d+)\]")


def _os_words(error: OSError) -> str:
    """An OS error as the OS words it (``connection refused``), also when asyncio joined
    one per address of a name (``localhost``: ::1 and 127.0.0.1) and kept no errno."""
    if isinstance(error, socket.gaierror):
        return f"the host name could not be resolved ({error.strerror})"
    numbers = {error.errno} if error.errno else {int(n) for n in _ERRNO.findall(str(error))}
    if len(numbers) == 1:
        return os.strerror(numbers.pop()).lower()
    return str(error) or type(error).__name__


def _reason(text: str) -> str:
    """``text`` on one line, cut to ``REASON_CHARS``."""
    line = " ".join(text.split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
