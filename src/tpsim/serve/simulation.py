"""Wiring a config into a running scheme: state, simulated roles, registry and router.

With ``state`` (``tpsim serve --state PATH``) the scheme's state lives in an SQLite file
(``core.sqlite_store``): seeded from the config when the file is new, read back from it
after a restart (the config still gives participants, parties and behaviour). The router
writes it (``StateFile`` is its ``Durability``) and keeps each message from outside, from
before the edge acknowledges it, and each callback leaving the process, in the same write
as what it tells, until it has been delivered. A restart ends each transaction that was in
flight (or completes it, when the payee had already been credited), keeping the callbacks
that say so in the same write; what a DFSP the edited config no longer simulates had in
flight ends too (its linkings and PSD2 records with it), its callbacks dropped, the log
saying why (``_recover_orphans``). Once the server is up (``resume``) every message kept
but not yet delivered is delivered, in the order it was decided. Timers, the journal and
the clock's offset are not kept.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import cast

import structlog

from tpsim.config import Config
from tpsim.config_participants import Kind, check_endpoint
from tpsim.core.clock import Clock, IdGenerator, UuidIds
from tpsim.core.settlement import SettlementResult
from tpsim.core.sqlite_store import SqliteStore, StateFileError
from tpsim.core.store import MemoryStore
from tpsim.errors import ConfigError
from tpsim.journal import Journal
from tpsim.mojaloop.message import Effects, Message, SimulatedRole
from tpsim.mojaloop.registry import External, Registry, Simulated
from tpsim.mojaloop.roles.auth_service import AuthService
from tpsim.mojaloop.roles.consent_book import unique
from tpsim.mojaloop.roles.context import RoleContext, Site, origin_policy
from tpsim.mojaloop.roles.dfsp import SimulatedDfsp
from tpsim.mojaloop.roles.hub_services import HubServices
from tpsim.mojaloop.roles.hub_transfers import nothing_held
from tpsim.mojaloop.roles.orphans import undo_at_hub
from tpsim.mojaloop.roles.state import PICKLING, SchemeState
from tpsim.mojaloop.roles.states import LinkState
from tpsim.mojaloop.switch import Switch
from tpsim.mojaloop.wire.jws import Keyring
from tpsim.serve.clock import SystemClock
from tpsim.serve.psd2 import Psd2, kept_banks
from tpsim.serve.router import Durability, Router, Volatile
from tpsim.serve.sdk import SdkLookups
from tpsim.serve.settlement import SwitchSettlement
from tpsim.serve.transports import HttpClient, TransportFactory, Transports

log = structlog.get_logger("tpsim.simulation")
# The kinds of records in which a simulated DFSP keeps what is in flight: what moves money,
# and account linkings (its consents once verified are the scheme's, ``consents``).
_IN_FLIGHT = ("/transactions", "/settlements", "/consent-requests", "/pending-consents")


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
    ``state``: the SQLite file the state lives in (module docstring); ``load`` and ``reset``
    start it afresh from the config.
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        journal: Journal | None = None,
        transports: TransportFactory | None = None,
        state: str | Path | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.ids = ids or UuidIds()
        self.site = Site()
        self.dfsps: dict[str, SimulatedDfsp] = {}
        bounds = config.journal
        self.journal = journal or Journal(
            bounds.max_entries,
            _sink(config),
            max_bytes=bounds.max_bytes,
            max_body_bytes=bounds.max_body_bytes,
        )
        self.http = HttpClient(config.behaviour.delivery_timeout_s)
        # The /sdk party lookups waiting for their callback (``serve.sdk``).
        self.sdk = SdkLookups()
        self.config = config
        self.state = SchemeState()
        self.router = Router(
            self._switch(config, Registry()),
            journal=self.journal,
            transports=transports or Transports.http(self.http, self.sdk),
        )
        self.settlement = SwitchSettlement(lambda: self.dfsps, self.router)
        self.settlement.listen(self._psd2_concluded)
        self._psd2: Psd2 | None = None
        self._closed = False
        self.file = None if state is None else _open(Path(state))
        # Messages kept but not delivered when tpsim stopped, with their receipts: sent by
        # ``resume`` (first those kept before, then those ending what was in flight).
        self.unfinished: list[tuple[str, Message]] = []
        try:
            if self.file is not None and SchemeState.seeded(self.file):
                self._restore(config, self.file)
            else:
                self.load(config)
        except BaseException:
            if self.file is not None:
                self.file.close()
            raise

    def load(self, config: Config) -> None:
        """Replace the scheme with ``config``'s, its state seeded afresh (raises
        ``ConfigError`` and keeps the old one)."""
        seed = MemoryStore()  # checked whole before the file changes
        state = SchemeState.from_config(config, origin_policy(config), seed)
        if self.file is not None:
            self.file = self.file.renewed(seed)
            state = SchemeState.restore(config, self.file, where=str(self.file.path))
        self._install(config, state)
        self.unfinished = []

    def reset(self) -> None:
        self.load(self.config)

    def point(self, fsp_id: str, endpoint: str) -> str:
        """Make ``endpoint`` the base URL of the external participant ``fsp_id`` (checked as
        config checks it), leaving the scheme's state as it is: the endpoint it had. Only
        the default base URL changes: resource families with their own
        (``participants[].endpoints``) keep theirs.
        ``ConfigError`` when ``fsp_id`` is no external participant or the URL is no base
        URL."""
        found = next((p for p in self.config.participants if p.fsp_id == fsp_id), None)
        if found is None or found.endpoint is None:
            external = [p.fsp_id for p in self.config.participants if p.endpoint is not None]
            raise ConfigError(
                f"{fsp_id} is no external participant here (external: {', '.join(external)})"
            )
        try:
            check_endpoint(endpoint)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        pointed = found.model_copy(update={"endpoint": endpoint})
        participants = [pointed if p is found else p for p in self.config.participants]
        self.config = self.config.model_copy(update={"participants": participants})
        self.router.registry.add(External(fsp_id, found.kind, endpoint, dict(found.endpoints)))
        return found.endpoint

    def _psd2_concluded(self, result: SettlementResult) -> None:
        """A PSD2 payment's settlement ended: its bank keeps why and starts its retention
        (one listener for the simulation's life: the settlement port outlives reloads)."""
        if self._psd2 is not None:
            self._psd2.concluded(result)

    @property
    def psd2(self) -> Psd2:
        """The PSD2 dialects of the scheme in force (``serve.psd2``)."""
        assert self._psd2 is not None  # noqa: S101 - installed by __init__ (load or restore)
        return self._psd2

    def _restore(self, config: Config, file: SqliteStore) -> None:
        """The scheme over the state ``file`` kept; what it left unfinished is ended now
        (transactions in flight, funds released) and told at ``resume``."""
        self._install(config, SchemeState.restore(config, file, where=str(file.path)))
        # A dialect is built on its first request, but one whose records were kept has
        # timers to re-arm and settlements to hear of now (``serve.psd2``).
        self.psd2.build_kept(file.counts())
        self.settlement.hold()  # the PSD2 dialects hear now, any later listener at resume
        kept = cast("list[tuple[str, Message]]", list(file.records(StateFile.INBOX)))
        # The messages that end what was in flight are kept in the same write as its end,
        # so a kill before they are sent cannot lose them: the next start sends them.
        ending = [StateFile(file).keep(message) for message in self._recover().messages]
        ending.extend(StateFile(file).keep(message) for message in self._recover_orphans(file))
        self.unfinished = [*kept, *ending]  # in the order they were decided
        file.flush()

    def _recover(self) -> Effects:
        """What each simulated role ends of what it had in flight when tpsim stopped."""
        effects = Effects()
        hub = self.router.switch.transfers  # what it holds is left to it
        held = nothing_held if hub is None else hub.holds
        for participant in self.router.registry:
            role = participant.role if isinstance(participant, Simulated) else None
            if isinstance(role, SimulatedDfsp):
                effects.extend(role.payer.recover(held)).extend(role.settler.recover(held))
                effects.extend(role.linking.recover())
            elif isinstance(role, AuthService):
                effects.extend(role.recover())
        return effects

    def _recover_orphans(self, file: SqliteStore) -> list[Message]:
        """End what a DFSP simulated before the restart, and no longer (made external or
        removed in the config), had in flight: nothing else ever would, and its payers'
        debits would stay reserved for ever. It ends as any restart ends it (funds
        released with the reason, or committed when the payee's credit is in the ledger),
        even a transfer the hub holds: its answer would now go to the DFSP outside, not to
        the role that reserved. Its account linkings not complete fail, and its PSD2
        records not final are rejected by their dialect (``Psd2.retire``; none executes
        later). Its callbacks are dropped, since tpsim no longer speaks for it;
        settlement listeners hear as usual, and the log says why. What a failed linking
        left at the hub is undone there (``orphans.undo_at_hub``; what the hub's roles send for
        that is returned, to be sent at ``resume``).
        Its linked (ACTIVE) consents stay as they are: the DFSP outside owns them.

        Not refused: a restart ends in-flight work anyway, and refusing would make the
        user go back to the old config only to have it ended there."""
        kept = file.counts()
        owners = {kind.partition("/")[0] for kind in kept if kind.endswith(_IN_FLIGHT)}
        owners |= {c.dfsp for c in self.state.consents if c.state is LinkState.LINKING}
        owners |= set(kept_banks(kept))
        undone: list[Message] = []
        for fsp_id in sorted(owners - set(self.dfsps) - {self.config.hub.name}):
            gone = "made external" if self.config.participant(fsp_id) else "removed"
            cause = f"tpsim restarted with {fsp_id} no longer simulated ({gone})"
            # First: the outcome of a settlement ended below reaches its PSD2 payment.
            psd2 = {name: ids for name, ids in self.psd2.retire(fsp_id, kept, cause).items() if ids}
            ctx = self._context(fsp_id, self.config, self.state)
            role = SimulatedDfsp(ctx, settled=self.settlement.report)
            transactions, settlements = role.payer.in_flight(), role.settler.under_way()
            if transactions or settlements:
                role.payer.recover(cause=cause)
                role.settler.recover(cause=cause)
            linked = {c.consent_id: unique(c.scopes) for c in role.linking.book.linking()}
            withdrawn = role.linking.withdraw(cause)
            undone.extend(undo_at_hub(self.state, self.router.registry, role, withdrawn, linked))
            linkings = [*role.consent_requests.withdraw(cause), *withdrawn]
            if not (transactions or settlements or linkings or psd2):
                continue
            log.warning(
                "ended what a DFSP no longer simulated had in flight",
                fsp_id=fsp_id,
                transactions=transactions,
                settlements=settlements,
                linkings=linkings,
                psd2=psd2,
                why=f"{fsp_id} was {gone} in the config since the state was written",
            )
        return undone

    def resume(self) -> None:
        """Send what a restart left unfinished (once the server is up, so callbacks can be
        answered): the messages kept but not delivered before tpsim stopped, then the error
        callbacks of the transactions that were in flight; the timers of the transfers the
        hub holds are set again."""
        unfinished, self.unfinished = self.unfinished, []
        self.settlement.release()
        self.psd2.arm()  # future-dated and periodic payments kept in the state file
        for receipt, message in unfinished:
            self.router.submit(message, receipt=receipt)
        held = self.router.switch.transfers  # the transfers the hub holds: their timers
        if held is not None:
            self.router.submit_effects(self.config.hub.name, held.rearm())

    def _install(self, config: Config, state: SchemeState) -> None:
        registry, self.dfsps = self._registry(config, state)
        if config.journal != self.config.journal:
            # Fixtures change the journal's bounds, never its file: an admin client must
            # not make tpsim append to a file of its choosing.
            bounds = config.journal
            self.journal.reconfigure(
                max_entries=bounds.max_entries,
                max_bytes=bounds.max_bytes,
                max_body_bytes=bounds.max_body_bytes,
                sink=self.journal.sink_path,
            )
        self.config, self.state = config, state
        if self._psd2 is not None:
            self._psd2.close()
        self._psd2 = Psd2(
            config,
            state.bank,
            clock=self.clock,
            ids=self.ids,
            settlement=self.settlement,
            commit=self.router.commit,
        )
        # What tpsim's participants and the switch send over HTTP is signed with their keys.
        self.http.signer = Keyring.of(config).signature_headers
        durable: Durability = Volatile() if self.file is None else StateFile(self.file)
        self.router.load(self._switch(config, registry), durable)
        durable.commit()

    def _registry(
        self, config: Config, state: SchemeState
    ) -> tuple[Registry, dict[str, SimulatedDfsp]]:
        registry, dfsps = Registry(), {}
        hub_ctx = self._context(config.hub.name, config, state)
        registry.add(Simulated(config.hub.name, Kind.HUB, HubServices(hub_ctx)))
        for p in config.participants:
            if p.endpoint is not None:
                registry.add(External(p.fsp_id, p.kind, p.endpoint, dict(p.endpoints)))
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
        """The switch over ``registry``, applying the config's message rules."""
        profile, rules = config.behaviour.profile, config.rulebook()
        hub = registry.role(config.hub.name)
        held = hub.transfers if isinstance(hub, HubServices) else None
        return Switch(registry, config.hub.name, self.clock, profile, rules=rules, transfers=held)

    def _context(self, fsp_id: str, config: Config, state: SchemeState) -> RoleContext:
        return RoleContext(fsp_id, config.hub.name, config, state, self.clock, self.ids, self.site)

    async def close(self) -> None:
        """Stop its timers, finish the deliveries under way, close its client, journal and
        state file. Closing twice is harmless (a failed start closes what it began)."""
        if self._closed:
            return
        self._closed = True
        self.router.cancel_timers()
        self.psd2.close()
        await self.router.drain()
        await self.http.close()
        self.journal.close()
        if self.file is not None:
            self.file.close()


class StateFile:
    """The router's ``Durability`` over the ``--state`` file: a message from outside, or
    leaving the process, is kept (kind ``inbox``, committed at once) until delivered; a
    commit is a ``flush``."""

    INBOX = "inbox"

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def accept(self, message: Message) -> str:
        receipt = self.keep(message)[0]
        self._store.flush()
        return receipt

    def keep(self, message: Message) -> tuple[str, Message]:
        """Keep ``message`` with the next commit: (its receipt, the message)."""
        receipt = uuid.uuid4().hex
        self._store.put_record(self.INBOX, receipt, (receipt, message))
        return receipt, message

    def handled(self, receipt: str) -> None:
        self._store.drop_record(self.INBOX, receipt)

    def commit(self) -> None:
        self._store.flush()


def _sink(config: Config) -> Path | None:
    return Path(config.journal.jsonl) if config.journal.jsonl else None


def _open(path: Path) -> SqliteStore:
    """The state file at ``path`` (created when missing), or the ``ConfigError`` saying why
    it cannot be used."""
    try:
        return SqliteStore(path, reducers=PICKLING)
    except StateFileError as exc:
        raise ConfigError(str(exc)) from None
