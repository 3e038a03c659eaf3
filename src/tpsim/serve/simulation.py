"""Wiring a config into a running scheme: state, simulated roles, registry and router."""

from __future__ import annotations

from pathlib import Path

from tpsim.config import Config, Kind
from tpsim.core.clock import Clock, IdGenerator, UuidIds
from tpsim.journal import Journal
from tpsim.mojaloop.message import SimulatedRole
from tpsim.mojaloop.registry import External, Registry, Simulated
from tpsim.mojaloop.roles.auth_service import AuthService
from tpsim.mojaloop.roles.context import RoleContext, Site, origin_policy
from tpsim.mojaloop.roles.dfsp import SimulatedDfsp
from tpsim.mojaloop.roles.hub_services import HubServices
from tpsim.mojaloop.roles.state import SchemeState
from tpsim.mojaloop.switch import Switch
from tpsim.serve.clock import SystemClock
from tpsim.serve.router import Router
from tpsim.serve.settlement import SwitchSettlement
from tpsim.serve.transports import HttpClient, TransportFactory, Transports


class Simulation:
    """One scheme: the config, its state, the roles that play it and the router between them.

    ``load`` swaps in a new config (admin API); ``reset`` rebuilds the state from the
    current one. The journal, clock, id generator, HTTP client, transports and ``site``
    (the URL users' browsers reach tpsim at, set by whoever starts the server) survive both,
    as does ``settlement`` (the core settlement port, by quote and transfer through the
    switch, ``serve.settlement``) with its listeners; settlements in flight end with the
    scheme they started in.
    ``transports`` defaults to in-process for simulated participants and HTTP for external
    ones; tests pass ``Transports(lambda participant: recording)`` to need no socket.
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        journal: Journal | None = None,
        transports: TransportFactory | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.ids = ids or UuidIds()
        self.site = Site()
        self.dfsps: dict[str, SimulatedDfsp] = {}
        sink = Path(config.journal.jsonl) if config.journal.jsonl else None
        self.journal = journal or Journal(config.journal.max_entries, sink)
        self.http = HttpClient(config.behaviour.delivery_timeout_s)
        self.config = config
        self.state = SchemeState()
        self.router = Router(
            self._switch(config, Registry()),
            journal=self.journal,
            transports=transports or Transports.http(self.http),
        )
        self.settlement = SwitchSettlement(lambda: self.dfsps, self.router)
        self.load(config)

    def load(self, config: Config) -> None:
        """Replace the scheme with ``config``'s (raises ``ConfigError`` and keeps the old one)."""
        state = SchemeState.from_config(config, origin_policy(config))
        registry, self.dfsps = self._registry(config, state)
        self.config, self.state = config, state
        self.router.load(self._switch(config, registry))

    def reset(self) -> None:
        self.load(self.config)

    def _registry(
        self, config: Config, state: SchemeState
    ) -> tuple[Registry, dict[str, SimulatedDfsp]]:
        registry, dfsps = Registry(), {}
        hub_ctx = self._context(config.hub.name, config, state)
        registry.add(Simulated(config.hub.name, Kind.HUB, HubServices(hub_ctx)))
        for p in config.participants:
            if p.endpoint is not None:
                registry.add(External(p.fsp_id, p.kind, p.endpoint))
                continue
            ctx = self._context(p.fsp_id, config, state)
            role: SimulatedRole
            if p.kind is Kind.AUTH_SERVICE:
                role = AuthService(ctx)
            else:
                role = dfsps[p.fsp_id] = SimulatedDfsp(ctx, settled=self.settlement.report)
            registry.add(Simulated(p.fsp_id, p.kind, role))
        return registry, dfsps

    def _switch(self, config: Config, registry: Registry) -> Switch:
        return Switch(registry, config.hub.name, self.clock, config.behaviour.profile)

    def _context(self, fsp_id: str, config: Config, state: SchemeState) -> RoleContext:
        return RoleContext(fsp_id, config.hub.name, config, state, self.clock, self.ids, self.site)

    async def close(self) -> None:
        self.router.cancel_timers()
        await self.router.drain()
        await self.http.close()
        self.journal.close()
