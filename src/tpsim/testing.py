"""tpsim inside a test: the whole simulator in-process, on 127.0.0.1 and an ephemeral port.

``Tpsim`` is what the pytest plugin's ``tpsim`` fixture yields (``tpsim.pytest_plugin``),
and works without pytest as an async context manager::

    async with Tpsim("my-scheme.yaml", pisp_url="http://127.0.0.1:5000") as tpsim:
        ...  # send requests to tpsim.url; read tpsim.journal(), tpsim.accounts()

It serves exactly what ``tpsim serve`` serves (the same application, the same connection
limits, the wall clock that ``advance`` moves on), on the running event loop, so the code
under test talks to it over real HTTP while the test reads the scheme's state directly:
no admin round trip, nothing to parse. Nothing here reads a file of the repository: the
built-in config and credentials ship in the package.

    TpsimError (core.errors)
    └── AdminRefused       the admin API answered 4xx/5xx (``.status``, ``.body``)
"""

from __future__ import annotations

import json as jsonlib
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from tpsim.config import Config, load_config, overlay, parse_config, with_pisp_url
from tpsim.core.errors import TpsimError
from tpsim.serve.app import create_app
from tpsim.serve.server import GuardedSite, Runner, make_runner
from tpsim.serve.simulation import Simulation

__all__ = ["AdminRefused", "ConfigSource", "Tpsim", "resolve_config"]

HOST = "127.0.0.1"

# A config as a test names it: parsed already, a YAML file, or None for the built-in one.
ConfigSource = Config | str | os.PathLike[str] | None


class AdminRefused(TpsimError):
    """The admin API refused a request made with ``Tpsim.admin`` (its own words in ``body``)."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.status, self.body = status, body
        said = body.get("error") if isinstance(body, dict) else body
        super().__init__(f"{method} {path} answered {status}: {said}")


def resolve_config(
    source: ConfigSource = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    pisp_url: str | None = None,
) -> Config:
    """The config a test asked for: ``source`` (a ``Config``, a YAML path, or None for the
    built-in one) with ``overrides`` laid over it (mappings merge key by key, lists
    replace, as ``tpsim.config.overlay`` does) and every external PISP's endpoint set to
    ``pisp_url``. Raises ``ConfigError`` naming the file and key path of a mistake."""
    if isinstance(source, Config):
        config, name = source, "<the Config given>"
    else:
        config = load_config(None if source is None else Path(source))
        name = str(source) if source is not None else "<built-in default config>"
    if overrides:
        data = overlay(config.model_dump(mode="json"), overrides)
        config = parse_config(data, file=f"{name} with the overrides given")
    return with_pisp_url(config, pisp_url, given_as="the PISP URL given") if pisp_url else config


class Tpsim:
    """One tpsim for a test: ``start`` it (or ``async with``), point the code under test
    at ``url``, then check what happened with ``journal``, ``accounts`` and ``admin``.

    ``config``: a ``Config``, a YAML path, or None for the built-in scheme; ``overrides``
    and ``pisp_url`` as ``resolve_config`` applies them; ``port`` 0 (the default) lets the
    system choose a free one, so any number of instances run side by side. The admin API
    needs no token: it listens on loopback only.
    """

    def __init__(
        self,
        config: ConfigSource = None,
        *,
        overrides: Mapping[str, Any] | None = None,
        pisp_url: str | None = None,
        port: int = 0,
    ) -> None:
        self._config = resolve_config(config, overrides=overrides, pisp_url=pisp_url)
        self._port = port
        self._sim: Simulation | None = None
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> Tpsim:
        """Serve the scheme on the running loop; ``url`` says where (no trailing slash)."""
        if self._runner is not None:
            raise RuntimeError("this Tpsim is already running: make another for a second one")
        sim = Simulation(self._config)
        runner: Runner | None = None
        try:
            runner = make_runner(create_app(sim), self._config.server, access_log=False)
            await runner.setup()
            await GuardedSite(runner, HOST, self._port, self._config.server).start()
        except BaseException as exc:  # all or nothing: close what was started, then say why
            if runner is not None:
                await runner.cleanup()  # its site, and the simulation once it was set up
            await sim.close()
            if isinstance(exc, OSError):
                message = f"tpsim cannot listen on {HOST}:{self._port}: {exc}"
                raise OSError(exc.errno, message) from exc
            raise
        self._sim, self._runner = sim, runner
        self.url = f"http://{HOST}:{runner.addresses[0][1]}"
        sim.site.url = self.url  # the login pages' and SCA links' base
        self._http = aiohttp.ClientSession()
        return self

    async def close(self) -> None:
        """Stop serving; deliveries under way finish first. Closing twice is harmless."""
        http, runner = self._http, self._runner
        self._http = self._runner = None
        if http is not None:
            await http.close()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Tpsim:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- what a test reads ------------------------------------------------------------

    @property
    def simulation(self) -> Simulation:
        """The running scheme itself (``serve.simulation``), for what the methods here do
        not cover; its API is tpsim's internal one and may change between releases."""
        if self._sim is None:
            raise RuntimeError("tpsim is not running: use 'async with Tpsim()' or start()")
        return self._sim

    @property
    def config(self) -> Config:
        """The config in force (after ``set_pisp_url``, the one with the new endpoint)."""
        return self._sim.config if self._sim is not None else self._config

    def journal(self, correlation_id: str | None = None) -> list[dict[str, Any]]:
        """Every hop journaled so far, oldest first, as ``GET /admin/journal`` shows them;
        with ``correlation_id``, the hops of that conversation only (a Mojaloop transfer,
        an XS2A ``paymentId``, a consent…)."""
        entries = self.simulation.journal.entries(correlation_id=correlation_id)
        return [entry.to_json() for entry in entries]

    def accounts(self) -> dict[str, Decimal]:
        """Every account's available balance by address (``dfspa.erika.giro``): funds
        reserved for a transfer under way are already gone, as ``GET /admin/accounts``
        shows. Decimals, so ``== 42`` and ``== Decimal("42.00")`` both hold."""
        bank = self.simulation.state.bank
        return {address: bank.ledger.available(address) for address in bank.accounts}

    # -- what a test does -------------------------------------------------------------

    def reset(self) -> None:
        """Start the scheme afresh from the config in force and forget the journal, as
        ``POST /admin/reset`` does (the clock is not turned back)."""
        self.simulation.reset()
        self.simulation.journal.clear()

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward (``POST /admin/clock/advance``): expiries,
        timeouts and future-dated payments that fall due run at once."""
        if seconds < 0:
            raise ValueError(f"advance({seconds}): the clock only moves forward")
        self.simulation.clock.advance(seconds)

    def set_pisp_url(self, url: str) -> None:
        """Send what goes to the config's external PISP(s) to ``url`` from now on: for a
        PISP that can only start once it knows ``tpsim.url``. The scheme is loaded again
        (its state afresh, as after ``reset``), so call it before the test's traffic."""
        self.simulation.load(with_pisp_url(self.simulation.config, url, given_as="set_pisp_url"))

    async def settle(self) -> None:
        """Wait until tpsim has finished delivering everything it is working on (callbacks,
        a payment's settlement between two simulated banks), so the journal and balances
        are final."""
        await self.simulation.router.drain()

    async def admin(self, method: str, path: str, json: Any = None) -> Any:
        """Call the admin API over HTTP (``admin("GET", "/admin/consents")``,
        ``admin("PUT", "/admin/fixtures", {...})``) and return its JSON answer (None when it
        has no body); a 4xx or 5xx raises ``AdminRefused`` with what the API said."""
        if self._http is None:
            raise RuntimeError("tpsim is not running: use 'async with Tpsim()' or start()")
        url = f"{self.url}/{path.lstrip('/')}"
        async with self._http.request(method, url, json=json) as response:
            text = await response.text()
            status = response.status
        body = _json_or_text(text)
        if status >= 400:
            raise AdminRefused(method, path, status, body)
        return body


def _json_or_text(text: str) -> Any:
    """An admin answer's body: its JSON, None when empty, the text itself when it is not
    JSON (a 500 from aiohttp, a proxy's page), so a refusal still says something."""
    if not text:
        return None
    try:
        return jsonlib.loads(text)
    except ValueError:
        return text
