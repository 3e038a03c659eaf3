"""A PISP client for a running tpsim: what ``tpsim pisp`` plays with (and ``tpsim load``
may build on).

It is the scenario runner's built-in PISP (``builtin_pisp.BuiltinPisp``: sends FSPIOP requests
with the headers the API requires, answers tpsim's callbacks with the statuses the route
table gives) plus what a program that is not a scenario needs, since it cannot wait on the
journal as scenario steps do:

- ``ListeningPisp`` keeps every callback it answers, in order, in an ``Inbox``, tells the
  inbox's listeners as each arrives (to print it), and can listen on a fixed address too
  (``tpsim pisp listen``);
- ``Inbox.first`` waits for the first callback a predicate wants; ``Inbox.watch`` follows
  one conversation from before its request is sent (``tpsim load``: nothing kept beyond
  it, so thousands of transfers cost no more than one);
- ``pointed_here`` points a running tpsim's PISP at this one for a block, through the
  admin API, and puts back the config it replaced (``harness.config_restored``, as
  ``tpsim run --server`` does);
- ``builtin_signers`` finds which built-in test credential signs for which linked account.

    TpsimError (core.errors)
    ├── CannotPlay       the flow could not start: no such participant, account, credential
    └── FlowFailed       tpsim answered with an error, or an awaited callback did not come;
                         ``code`` says which (``FSPIOP 4001``, ``HTTP 400``, ``timeout``)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.cli import _builtins as builtin_credential_files
from tpsim.auth.keys import load_public_key, spki_der
from tpsim.config import Config, parse_config
from tpsim.errors import TpsimError
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.wire import routes
from tpsim.scenario.builtin_pisp import BuiltinPisp
from tpsim.scenario.harness import RemoteTpsim

SOURCE = "FSPIOP-Source"


class CannotPlay(TpsimError):
    """The flow cannot start against this tpsim (a usage problem: exit code 2)."""


class FlowFailed(TpsimError):
    """tpsim refused a request, sent an error callback, or did not send an awaited one.
    ``code`` names the failure for counting: ``FSPIOP <errorCode>`` (an error callback, or
    a refusal that carries one), ``HTTP <status>`` (a refusal without one), ``timeout``."""

    def __init__(self, message: str, *, code: str = "other") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Callback:
    """One message tpsim sent this PISP, and the status the PISP answered it with."""

    method: str
    path: str
    source: str
    body: Any
    status: int
    template: str = ""  # the route's ("" for a path the route table does not know)
    params: dict[str, str] = field(default_factory=dict)
    arrived: float = field(default_factory=time.perf_counter)  # for hop latencies

    @classmethod
    def of(cls, method: str, path: str, source: str, body: Any, status: int) -> Callback:
        """The callback with its route template and path parameters, when it has a route."""
        try:
            route, params = routes.match(method, path)
        except FspiopError:
            return cls(method, path, source, body, status)
        return cls(method, path, source, body, status, route.template, params)

    def is_(self, method: str, template: str, **params: str) -> bool:
        """Whether this is ``method`` on ``template`` with these path parameters."""
        if (self.method, self.template) != (method, template):
            return False
        return all(self.params.get(name) == value for name, value in params.items())

    @property
    def error(self) -> tuple[str, str] | None:
        """``(errorCode, errorDescription)`` of an error callback, else None."""
        if not self.template.endswith("/error") or not isinstance(self.body, dict):
            return None
        info = self.body.get("errorInformation") or {}
        return str(info.get("errorCode", "?")), str(info.get("errorDescription", ""))

    def get(self, name: str) -> Any:
        """A top-level member of the body (None when absent or the body is not an object)."""
        return self.body.get(name) if isinstance(self.body, dict) else None

    def ids(self) -> set[str]:
        """The conversation ids this callback carries: its path parameters and the body's
        ids of the conversation it answers (``POST /thirdpartyRequests/authorizations``
        names its transfer only in the body)."""
        found = {self.get(name) for name in _CONVERSATION_IDS}
        return {*self.params.values(), *(str(v) for v in found if v)}


_CONVERSATION_IDS = ("transactionRequestId", "consentRequestId", "consentId")


Wanted = Callable[[Callback], bool]


class Inbox:
    """Every callback, in the order it arrived; listeners hear of each as it arrives, and
    each ``watch`` of an id it carries gets it. ``keep=False`` (a PISP that only shows what
    arrives, or follows conversations through watches) keeps none, so nothing grows."""

    def __init__(self, *, keep: bool = True) -> None:
        self.received: list[Callback] = []
        self.listeners: list[Callable[[Callback], None]] = []
        self._keep = keep
        self._arrived = asyncio.Condition()
        self._watches: dict[str, Watch] = {}

    async def add(self, callback: Callback) -> None:
        if self._keep:
            self.received.append(callback)
        for listener in self.listeners:
            listener(callback)
        for key in callback.ids():
            watch = self._watches.get(key)
            if watch is not None:
                watch.add(callback)
        async with self._arrived:
            self._arrived.notify_all()

    @property
    def watched(self) -> frozenset[str]:
        """The conversations followed now (what a PISP holds beyond ``received``)."""
        return frozenset(self._watches)

    def watch(self, key: str) -> Watch:
        """Follow the conversation ``key`` (a transactionRequestId, …) from now on: start
        watching before sending its first request, so no callback can come first; close
        the watch when the conversation is over."""
        watch = Watch(key, self._watches)
        self._watches[key] = watch
        return watch

    async def first(self, wanted: Wanted, *, timeout: float) -> Callback:
        """The first callback ``wanted`` accepts, arrived already or within ``timeout``
        seconds (``TimeoutError`` otherwise)."""

        def found() -> Callback | None:
            return next((c for c in self.received if wanted(c)), None)

        async with self._arrived:
            async with asyncio.timeout(timeout):
                await self._arrived.wait_for(lambda: found() is not None)
        callback = found()
        assert callback is not None  # noqa: S101 - the wait ended because it is there
        return callback


class Watch:
    """The callbacks of one conversation, in order, since ``Inbox.watch``."""

    def __init__(self, key: str, watches: dict[str, Watch]) -> None:
        self.key = key
        self.received: list[Callback] = []
        self._watches = watches
        self._arrived = asyncio.Event()

    def add(self, callback: Callback) -> None:
        self.received.append(callback)
        self._arrived.set()

    async def first(self, wanted: Wanted, *, timeout: float) -> Callback:
        """The first callback of the conversation ``wanted`` accepts, arrived already or
        within ``timeout`` seconds (``TimeoutError`` otherwise)."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            found = next((c for c in self.received[seen:] if wanted(c)), None)
            if found is not None:
                return found
            seen = len(self.received)
            self._arrived.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            async with asyncio.timeout(left):
                await self._arrived.wait()

    def close(self) -> None:
        """Stop following the conversation: later callbacks of it are not kept."""
        if self._watches.get(self.key) is self:
            del self._watches[self.key]


@dataclass
class ListeningPisp(BuiltinPisp):
    """The built-in PISP, keeping what it receives in ``inbox``."""

    inbox: Inbox = field(default_factory=Inbox)

    async def _on_callback(self, request: web.Request) -> web.Response:
        answer = await super()._on_callback(request)
        data = await request.read()  # read once already: aiohttp keeps it
        try:
            body: Any = json.loads(data) if data else None
        except ValueError:
            body = data.decode("utf-8", "replace")
        source = request.headers.get(SOURCE, "?")
        await self.inbox.add(Callback.of(request.method, request.path, source, body, answer.status))
        return answer

    async def listen_also(self, host: str, port: int) -> str:
        """Listen on ``host:port`` as well (after ``start``): the endpoint a tpsim that was
        started with ``--pisp-url`` calls. Returns that URL."""
        if self._runner is None:
            raise RuntimeError("start the PISP before listen_also")
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[-1][1]  # the new site's (port 0: the one given)
        self.url = f"http://{host}:{bound}"
        return self.url


@asynccontextmanager
async def pointed_here(remote: RemoteTpsim, fsp_id: str, url: str) -> AsyncIterator[Config]:
    """Make ``url`` the endpoint of the PISP ``fsp_id`` in the running tpsim for the block,
    its state kept (``PUT /admin/participants/{fspId}/endpoint``), then put the endpoint it
    had back, however the block ends. Yields the config in force during the block."""
    data = await remote.config_in_force()  # unreachable, or a token missing: said first
    pisps = [p for p in data.get("participants", []) if p.get("kind") == "pisp"]
    if fsp_id not in [p.get("fsp_id") for p in pisps]:
        known = ", ".join(str(p.get("fsp_id")) for p in pisps)
        raise CannotPlay(f"{remote.url} has no PISP {fsp_id!r} (its PISPs: {known})")
    previous = await remote.point(fsp_id, url)
    try:
        yield parse_config(await remote.config_in_force(), file=f"{remote.url}/admin/config")
    finally:
        await remote.point(fsp_id, previous)


@dataclass(frozen=True, slots=True)
class Signers:
    """The built-in test credentials by name, and which of them signs for each account."""

    credentials: dict[str, SoftwareAuthenticator]
    by_account: dict[str, str]


def builtin_signers(config: Config, pisp: str) -> Signers:
    """The built-in credentials (shipped in the package) and, for each account a consent
    of ``config`` links to ``pisp``, the one holding that consent's public key."""
    credentials: dict[str, SoftwareAuthenticator] = {}
    by_key: dict[bytes, str] = {}
    for name, text in builtin_credential_files().items():
        credentials[name] = SoftwareAuthenticator.from_json(text, source=name)
        by_key[spki_der(load_public_key(credentials[name].public_key_pem))] = name
    by_account: dict[str, str] = {}
    for consent in config.consents:
        pem = consent.credential.public_key_pem
        signer = by_key.get(spki_der(load_public_key(pem))) if pem else None
        if signer is not None and consent.pisp == pisp:
            by_account.update((scope.address, signer) for scope in consent.scopes)
    return Signers(credentials, by_account)
