"""What a scenario runs against: the tpsim under it (the built-in PISP: ``builtin_pisp``).

``InProcessTpsim`` serves a fresh ``Simulation`` on an ephemeral loopback port for one
scenario (``tpsim run``'s default); ``RemoteTpsim`` drives a running tpsim through its admin
API (``--server URL``). Both answer the same questions: the journal since a sequence
number (optionally one conversation's), and admin calls. Each scenario replaces the running
tpsim's config (its PISP becomes the runner's); ``config_restored`` puts back the config
that was in force before the run, however the run ends.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import structlog
from aiohttp import web

from tpsim.config import Config
from tpsim.errors import ScenarioError, TpsimError
from tpsim.journal import JournalEntry
from tpsim.scenario.quiet import Activity, WatchedClock
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

log = structlog.get_logger("tpsim.run")

LOOPBACK = "127.0.0.1"
HIDDEN_KEY = "<set>"  # what GET /admin/config shows for a signing key (serve/admin.py)


class HarnessError(TpsimError):
    """tpsim (or the network between) failed the runner: the scenario errors, not fails."""


class Unanswered(HarnessError):
    """A request got no answer (refused, reset, timed out); ``reason`` says why. Sent to
    tpsim it is the runner's error; sent to a participant under test (``trigger``), a
    failure of that participant."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        super().__init__(f"{method} {url}: {reason}")
        self.reason = reason


@dataclass(slots=True)
class Answer:
    """The synchronous HTTP answer to something a step sent."""

    status: int
    body: Any
    elapsed_ms: float
    headers: dict[str, str] = field(default_factory=dict)
    cut: bool = False  # the body was longer than the request's limit: its start only


class Target(Protocol):
    """The tpsim a scenario runs against."""

    url: str
    poll_s: float  # how often a wait looks at the journal again, when it cannot be told

    async def entries(
        self, *, since: int = 0, correlation_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The journal's entries after ``since`` (one conversation's, when given), as
        ``JournalEntry.to_json`` gives them: read-only."""
        ...

    async def last_seq(self) -> int: ...

    @property
    def recorded(self) -> int:
        """A mark of the journal's progress, for ``news``."""
        ...

    async def news(self, mark: int, deadline: float) -> None:
        """Return once the journal may hold entries recorded after ``mark`` (a
        ``recorded`` value), or at the loop time ``deadline``."""
        ...

    async def quiet(self, deadline: float) -> bool:
        """Wait until nothing this tpsim does can be journaled before the loop time
        ``deadline`` (True), or the deadline (False). Only the tpsim's own work counts:
        whether anyone outside it may still send it something is the caller's to know."""
        ...

    async def admin(self, method: str, path: str, body: Any = None) -> Answer: ...

    async def settle(self) -> None: ...

    async def close(self) -> None: ...


def payload(body: Any, raw: str | None) -> bytes | None:
    """The bytes a step sends: its ``raw`` text as written, else its ``body`` as JSON, else
    none."""
    if raw is not None:
        return raw.encode()
    return None if body is None else json.dumps(body).encode()


async def http_request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    skip: list[str] | None = None,
    limit: int | None = None,
    timeout: float | None = None,
) -> Answer:
    """Send a request and read its whole answer; with ``limit``, at most that many bytes
    of the body (``Answer.cut`` says there was more, left unread); with ``timeout``, within
    that many seconds (else the session's). Raises ``Unanswered`` (a ``HarnessError``) when
    no answer arrives."""
    started = asyncio.get_running_loop().time()
    # Not timeout=None, which aiohttp reads as "no timeout at all".
    bounded = session.timeout if timeout is None else aiohttp.ClientTimeout(total=timeout)
    try:
        async with session.request(
            method,
            url,
            data=None if data is None else io.BytesIO(data),
            headers=headers,
            skip_auto_headers=skip or [],
            allow_redirects=False,
            timeout=bounded,
        ) as response:
            raw = await _read(response.content, limit)
            text = _decoded(raw[:limit], response.charset)
            received = dict(response.headers)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Unanswered(method, url, _why(exc, bounded.total)) from None
    elapsed = (asyncio.get_running_loop().time() - started) * 1000
    cut = limit is not None and len(raw) > limit
    try:
        body: Any = json.loads(text) if text and not cut else None
    except (json.JSONDecodeError, RecursionError):  # too deeply nested is no JSON to read
        body = text
    return Answer(response.status, text if cut else body, elapsed, received, cut)


async def _read(content: aiohttp.StreamReader, limit: int | None) -> bytes:
    """The body, or its first ``limit`` + 1 bytes (one more than allowed: there was more)."""
    if limit is None:
        return await content.read()
    read = bytearray()
    while len(read) <= limit:
        chunk = await content.read(limit + 1 - len(read))
        if not chunk:
            break
        read += chunk
    return bytes(read)


def _decoded(raw: bytes, charset: str | None) -> str:
    """``raw`` as text in the answer's charset (UTF-8 when it names none, or one Python does
    not know). An answer may be a participant under test's (``trigger``): bytes that are not
    its charset are shown replaced, never a crash of the runner."""
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def url_problem(url: str, whose: str = "tpsim's") -> str | None:
    """Why ``url`` is no base URL a client can send to (None: it is one); ``whose`` base
    URL it should be, for the hint (``tpsim run --server``, ``tpsim load --switch``…)."""
    hint = f"give {whose} base URL, e.g. http://127.0.0.1:4040"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError as exc:
        return f"not a URL ({exc}): {hint}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http:// or https:// URL: {hint}"
    try:  # as the resolver will (a UnicodeError, no OSError, from deep in a connect)
        parts.hostname.encode("idna")
    except UnicodeError as exc:
        return f"not a URL (its host {parts.hostname!r}: {exc}): {hint}"
    return None


def _why(exc: Exception, within: float | None) -> str:
    """What went wrong with a request: the request's total timeout (``within`` seconds)
    raises a ``TimeoutError`` that says nothing (an exception is always true, so ``exc or
    …`` never fell back): it is said with its bound, as tpsim says a callback's."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return "no answer in time" if within is None else f"no answer within {within:g} s"
    return str(exc) or type(exc).__name__


def _now() -> float:
    return asyncio.get_running_loop().time()


class _AdminClient:
    url: str
    session: aiohttp.ClientSession
    admin_token: str | None = None  # sent as a Bearer token on every admin call
    timeout: float | None = None  # seconds each admin call may take (None: the session's)

    async def admin(self, method: str, path: str, body: Any = None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if self.admin_token:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        return await http_request(
            self.session,
            method,
            self.url + path,
            data=data,
            headers=headers or None,
            timeout=self.timeout,
        )


class InProcessTpsim(_AdminClient):
    """A fresh tpsim for one scenario, on an ephemeral loopback port. Waits are told of
    each journal entry as it is recorded, and of the tpsim falling quiet
    (``quiet.Activity``), rather than polling."""

    poll_s = 0.005

    def __init__(self, config: Config, session: aiohttp.ClientSession) -> None:
        clock = WatchedClock()
        self.sim = Simulation(config, clock=clock)
        self.activity = Activity(self.sim.journal, self.sim.router, clock)
        self.session = session
        self.url = ""
        self._runner: web.AppRunner | None = None
        # seq -> (the entry, its JSON): an entry never changes once recorded, and a wait
        # reads the scenario's entries each time one more arrives.
        self._json: dict[int, tuple[JournalEntry, dict[str, Any]]] = {}

    async def start(self) -> InProcessTpsim:
        self._runner = web.AppRunner(create_app(self.sim), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, LOOPBACK, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = self.sim.site.url = f"http://{LOOPBACK}:{port}"
        return self

    async def entries(
        self, *, since: int = 0, correlation_id: str | None = None
    ) -> list[dict[str, Any]]:
        found = self.sim.journal.entries(correlation_id=correlation_id, since=since)
        return [self._as_json(e) for e in found]

    def _as_json(self, entry: JournalEntry) -> dict[str, Any]:
        cached = self._json.get(entry.seq)
        if cached is None or cached[0] is not entry:
            cached = self._json[entry.seq] = (entry, entry.to_json())
        return cached[1]

    async def last_seq(self) -> int:
        last = self.sim.journal.entries(limit=1)
        return last[0].seq if last else 0

    @property
    def recorded(self) -> int:
        return self.activity.recorded

    async def news(self, mark: int, deadline: float) -> None:
        await self.activity.news(mark, deadline)

    async def quiet(self, deadline: float) -> bool:
        return await self.activity.quiet(deadline)

    async def settle(self) -> None:
        await self.activity.settled()

    async def close(self) -> None:
        self.activity.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.activity.settled()  # a drain a wait left running holds its tasks
        await self.sim.close()


class RemoteTpsim(_AdminClient):
    """A running tpsim (``--server URL``): fixtures go through ``PUT /admin/fixtures``.
    Each admin call gives up after ``timeout`` seconds (``tpsim run --timeout``): a server
    that accepts and never answers fails the run within it, not after aiohttp's five
    minutes."""

    poll_s = 0.05  # each look is a GET /admin/journal

    def __init__(
        self,
        url: str,
        session: aiohttp.ClientSession,
        *,
        admin_token: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.session = session
        self.admin_token = admin_token
        self.timeout = timeout

    async def load(self, config: Config) -> None:
        await self.put_fixtures(config.model_dump(mode="json"), "the scenario's fixtures")
        await self.admin("DELETE", "/admin/journal")

    async def put_fixtures(self, config: dict[str, Any], what: str) -> None:
        """``PUT /admin/fixtures``: ``config`` (JSON) in force; ``what`` it is, for errors."""
        answer = await self.admin("PUT", "/admin/fixtures", config)
        if answer.status != 200:
            raise HarnessError(f"{self.url} refused {what}: {answer.body}")

    async def entries(
        self, *, since: int = 0, correlation_id: str | None = None
    ) -> list[dict[str, Any]]:
        query = f"?since={since}" + (f"&correlationId={correlation_id}" if correlation_id else "")
        answer = await self.admin("GET", "/admin/journal" + query)
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise HarnessError(f"{self.url}/admin/journal answered {answer.status}")
        entries: list[dict[str, Any]] = answer.body["entries"]
        return entries

    async def last_seq(self) -> int:
        answer = await self.admin("GET", "/admin/journal?limit=1")
        entries = answer.body.get("entries", []) if isinstance(answer.body, dict) else []
        return int(entries[-1]["seq"]) if entries else 0

    @property
    def recorded(self) -> int:
        return 0  # the journal is read over HTTP: every look may find news

    async def news(self, mark: int, deadline: float) -> None:
        await asyncio.sleep(min(self.poll_s, max(0.0, deadline - _now())))

    async def quiet(self, deadline: float) -> bool:
        """Never known of a running tpsim: others may be using it."""
        await asyncio.sleep(max(0.0, deadline - _now()))
        return False

    async def settle(self) -> None:
        await asyncio.sleep(0.05)

    async def close(self) -> None:
        return None

    async def point(self, fsp_id: str, endpoint: str) -> str:
        """``PUT /admin/participants/{fspId}/endpoint``: the external participant ``fsp_id``
        answered at ``endpoint``, the server's state kept; the endpoint it had."""
        path = f"/admin/participants/{fsp_id}/endpoint"
        answer = await self.admin("PUT", path, {"endpoint": endpoint})
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise HarnessError(f"{self.url}{path} answered {answer.status}: {said(answer.body)}")
        if not isinstance(answer.body.get("previous"), str):
            raise HarnessError(
                f"{self.url}{path} answered {answer.status} without the previous endpoint:"
                f" {answer.body} (is {self.url} a tpsim?)"
            )
        return str(answer.body["previous"])

    async def config_in_force(self) -> dict[str, Any]:
        """The running tpsim's config, as ``GET /admin/config`` shows it."""
        answer = await self.admin("GET", "/admin/config")
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise HarnessError(
                f"{self.url}/admin/config answered {answer.status}: {said(answer.body)}"
            )
        problem = _not_a_config(answer.body)
        if problem is not None:
            raise HarnessError(
                f"{self.url}/admin/config is no tpsim config ({problem}): is {self.url} a tpsim?"
            )
        return answer.body


# What the clients read of a config as lists of objects (a JSON server that is no tpsim
# may answer anything: it is refused here, not by an AttributeError deep in a flow).
_LISTS = ("participants", "parties", "accounts", "users", "consents")


def _not_a_config(body: dict[str, Any]) -> str | None:
    """Why ``body`` is not a config as ``GET /admin/config`` shows one (None: it is)."""
    if "participants" not in body:
        return "no participants"
    for name in _LISTS:
        value = body.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            return f"{name} is not a list of objects"
    return None


def _logged(text: str, error: str) -> None:
    log.warning(text, error=error)


Warn = Callable[[str, str], None]  # (what, the error): told rather than raised


@asynccontextmanager
async def config_restored(remote: RemoteTpsim, warn: Warn = _logged) -> AsyncIterator[None]:
    """Run the body (the scenarios against ``--server``), then put back the config that was
    in force before it, however the body ends (failed, cancelled by Ctrl-C): a running
    tpsim must not be left sending callbacks to the runner's PISP, which is gone.

    The config is read first, as ``tpsim pisp`` and ``tpsim load`` do: a server that is
    unreachable, refuses the admin token or is no tpsim raises ``HarnessError`` before
    anything runs (exit 2, "could not start"), rather than erroring every scenario in
    turn. A config holding signing keys the admin API never shows could not be put back:
    also refused before anything runs. The put-back is skipped when the config in force is
    still the one saved; what it could not do is told to ``warn`` (default: logged)."""
    saved = await remote.config_in_force()
    if _hidden_keys(saved):
        raise ScenarioError(
            f"--server {remote.url}: its config holds signing keys"
            f" ({', '.join(_hidden_keys(saved))}: jws_private_key_pem) that the admin API never"
            " shows, so tpsim run could not put that config back after the run: run without"
            " --server, or against a tpsim serving a config without them"
        )
    try:
        yield
    finally:
        await asyncio.shield(_put_back(remote, saved, warn))


async def _put_back(remote: RemoteTpsim, saved: dict[str, Any], warn: Warn) -> None:
    """``saved`` in force again, unless it still is; a failure is said, never raised (the
    run's verdict stands)."""
    try:
        if await remote.config_in_force() != saved:
            await remote.put_fixtures(saved, "the config in force before the run")
    except HarnessError as exc:
        warn(
            "--server: the config in force before the run could not be put back: PUT it"
            " with /admin/fixtures or restart the server",
            str(exc),
        )


def _hidden_keys(config: dict[str, Any]) -> list[str]:
    """Who holds a signing key the admin API hid: the hub's name, participants' fspIds."""
    holders = [config.get("hub") or {}, *(config.get("participants") or [])]
    return [
        str(h.get("name") or h.get("fsp_id"))
        for h in holders
        if isinstance(h, dict) and h.get("jws_private_key_pem") == HIDDEN_KEY
    ]


def said(body: object) -> str:
    """What an admin API answer says: a refusal's ``error`` and its ``code``, else the body
    as it came."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code = body.get("code")
        return f"{body['error']} ({code})" if isinstance(code, str) else body["error"]
    return str(body)
