"""The PSD2 dialects of a running simulation: each simulated bank's XS2A, UK Open Banking
and STET interfaces over the shared bank, its one OAuth authorisation server
(``auth.oauth``), and the one timer that runs what falls due on the clock (future-dated
and periodic executions, a rule's delay, decoupled approvals after their delay, consents
and payments that expire unauthorised).

Built from the config and the scheme's state whenever ``Simulation`` installs them
(``load``, ``reset``), so PSD2 state is reset with everything else. The timer is re-armed
after every PSD2 request and every tick; ``SystemClock.advance`` re-arms it too, so
``POST /admin/clock/advance`` executes what the new time makes due.

Each dialect (and the OAuth servers) is imported and built on first use, not at start
(issue 17: ``tpsim serve`` answers ``/health`` sooner): ``xs2a``, ``obie``, ``stet`` and
``oauth`` are mappings whose keys (the simulated banks) are known at once and whose values
build their dialect when first read. A dialect never built has no payment, so nothing of it
is due or settling; a state file that keeps a dialect's records builds it at start
(``build_kept``), so its timers and settlements carry on after a restart. What it keeps of
a bank no longer simulated (``Psd2.retire``) is dropped once its retention has passed, as
a simulated bank's records are (``RetiredRecords``): nothing of it executes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import structlog

from tpsim.config import Config
from tpsim.config_participants import Kind
from tpsim.config_psd2 import TppConfig, redirect_allowed
from tpsim.core.bank import Bank
from tpsim.core.clock import Clock, IdGenerator, TimerHandle
from tpsim.core.records import Records
from tpsim.core.settlement import Settlement, SettlementResult
from tpsim.core.store import Store

if TYPE_CHECKING:
    from tpsim.auth.oauth import AuthorizationServer
    from tpsim.auth.oauth_model import OAuthClient
    from tpsim.obie.api import ObieApi
    from tpsim.stet.api import StetApi
    from tpsim.xs2a.api import Xs2aApi

log = structlog.get_logger("tpsim.psd2")

A = TypeVar("A")
DIALECTS = ("xs2a", "obie", "stet")
_ISSUER = "urn:tpsim:"  # + fspId: a bank's authorisation server (``server_for``)
_OAUTH_KINDS = f"oauth:{_ISSUER}"  # its records' kinds: + fspId/… (``auth.oauth_records``)


class Built(Mapping[str, A]):
    """One dialect's API per simulated bank, built (every bank at once) when a value is
    first read: the keys, membership and length need no build."""

    def __init__(self, fsp_ids: Iterable[str], build: Callable[[str], A]) -> None:
        self._ids = tuple(fsp_ids)
        self._build: Callable[[str], A] | None = build
        self._apis: dict[str, A] = {}
        # The APIs of banks no longer simulated whose records a restart ended
        # (``Psd2.retire``): read by the admin API, told of settlements, never routed to.
        self.retired: dict[str, A] = {}

    def build(self) -> None:
        """Build every bank's API now (once: a build that raised is tried again)."""
        if self._build is not None:
            self._apis = {one: self._build(one) for one in self._ids}
            self._build = None

    def values_if_built(self) -> Iterable[A]:
        """The APIs when built, else none (without building them)."""
        return self._apis.values()

    def with_retired(self) -> list[A]:
        """Every API, the simulated banks' and then the ``retired`` ones."""
        return [*self.values(), *self.retired.values()]

    def __getitem__(self, fsp_id: str) -> A:
        if fsp_id not in self._ids:
            raise KeyError(fsp_id)
        self.build()
        return self._apis[fsp_id]

    def __contains__(self, fsp_id: object) -> bool:
        return fsp_id in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class Ticking(Protocol):
    """A dialect's bank (or its authorisations) with things due on the clock."""

    @property
    def fsp_id(self) -> str: ...

    def tick(self) -> None: ...

    def next_due(self) -> datetime | None: ...


class Psd2:
    """The PSD2 interfaces of every simulated bank of ``config``."""

    def __init__(
        self,
        config: Config,
        bank: Bank,
        *,
        clock: Clock,
        ids: IdGenerator,
        settlement: Settlement | None,
        commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.clock = clock
        self._commit = commit  # writes the state (--state): after a tick's executions
        self._config, self._bank, self._ids = config, bank, ids
        self._password = config.behaviour.linking.web.password
        # What every dialect's bank is built with: the one clock, ids, settlement port,
        # rules and retention of the simulation.
        self._shared: dict[str, Any] = {
            "clock": clock,
            "ids": ids,
            "settlement": settlement,
            "rules": config.rulebook(),
            "retention": timedelta(seconds=config.behaviour.retention_s),
            "max_ended": config.behaviour.retention_max,
        }
        banks = [
            fsp_id
            for fsp_id in config.ids(Kind.DFSP)
            if (participant := config.participant(fsp_id)) is not None and participant.simulated
        ]
        self.xs2a: Built[Xs2aApi] = Built(banks, self._xs2a)
        # Each bank's one OAuth 2.0 / OIDC authorisation server, under every dialect's base.
        self.oauth: Built[AuthorizationServer] = Built(banks, self._oauth)
        self.obie: Built[ObieApi] = Built(banks, self._obie)
        self.stet: Built[StetApi] = Built(banks, self._stet)
        self._timer: TimerHandle | None = None
        self._armed_for: datetime | None = None
        self._retired = RetiredRecords(bank.store, clock)

    def build_kept(self, kinds: Iterable[str]) -> None:
        """Build now each dialect that the state's record ``kinds`` show has records (a
        restart from a state file), so what it has due or settling carries on
        (``kept_banks`` reads the kinds); the records of banks no longer simulated (their
        OAuth server's too) are dropped once their retention has passed."""
        kinds = list(kinds)
        self._retired.add(k for k in kinds if bank_of(k) not in (None, *self.xs2a))
        kept = {name for names in kept_banks(kinds).values() for name in names}
        dialects: dict[str, Built[Any]] = {"xs2a": self.xs2a, "obie": self.obie, "stet": self.stet}
        for name, dialect in dialects.items():
            if name in kept:
                dialect.build()

    def retire(self, fsp_id: str, kinds: Iterable[str], cause: str) -> dict[str, list[str]]:
        """End what the bank ``fsp_id``, simulated when the state was written and no longer
        (made external or removed in the config), left open in each dialect whose records
        the state's record ``kinds`` show: each dialect bank's ``retire`` rejects (or
        cancels) it in its own words, with ``cause``. Its APIs are kept (``Built.retired``)
        for the admin API to read and to hear settlements' outcomes, never routed to nor
        ticked, so nothing of theirs executes later. The ids ended, by dialect."""
        kept = kept_banks(kinds).get(fsp_id, set())
        dialects: dict[str, tuple[Built[Any], Callable[..., Any]]] = {
            "xs2a": (self.xs2a, self._xs2a),
            "obie": (self.obie, self._obie),
            "stet": (self.stet, self._stet),
        }
        ended: dict[str, list[str]] = {}
        server: AuthorizationServer | None = None
        for name, (dialect, build) in dialects.items():
            if name not in kept:
                continue
            if name != "xs2a" and server is None:
                server = self._oauth(fsp_id)
            api = build(fsp_id) if name == "xs2a" else build(fsp_id, server)
            dialect.retired[fsp_id] = api
            ended[name] = api.bank.retire(cause)
        self._retired.add(k for k in kinds if bank_of(k) == fsp_id)
        return ended

    def _xs2a(self, fsp_id: str) -> Xs2aApi:
        from tpsim.xs2a.api import Xs2aApi
        from tpsim.xs2a.authorisations import Authorisations
        from tpsim.xs2a.bank import Xs2aBank

        config = self._config
        xs2a = Xs2aBank(fsp_id, self._bank, config.psd2(fsp_id), **self._shared)
        auths = Authorisations(xs2a, password=self._password)
        return Xs2aApi(xs2a, auths, config.tpps)

    def _oauth(self, fsp_id: str) -> AuthorizationServer:
        return server_for(self._config, fsp_id, self._bank.store, self.clock, self._ids)

    def _obie(self, fsp_id: str, server: AuthorizationServer | None = None) -> ObieApi:
        from tpsim.obie.api import ObieApi
        from tpsim.obie.bank import ObieBank

        config, password = self._config, self._password
        obie = ObieBank(fsp_id, self._bank, config.psd2(fsp_id), password=password, **self._shared)
        return ObieApi(obie, server or self.oauth[fsp_id], tpps=config.tpps)

    def _stet(self, fsp_id: str, server: AuthorizationServer | None = None) -> StetApi:
        from tpsim.stet.api import StetApi
        from tpsim.stet.bank import StetBank

        config, password = self._config, self._password
        stet = StetBank(fsp_id, self._bank, config.psd2(fsp_id), password=password, **self._shared)
        return StetApi(stet, server or self.oauth[fsp_id], tpps=config.tpps)

    def concluded(self, result: SettlementResult) -> None:
        """The settlement port's outcome, for the bank whose payment it settled (a
        retired one's too: its payment executing when tpsim stopped ends so)."""
        for api in [*self.xs2a.values_if_built(), *self.xs2a.retired.values()]:
            api.bank.concluded(result)
        for uk in [*self.obie.values_if_built(), *self.obie.retired.values()]:
            uk.bank.concluded(result)
        for stet in [*self.stet.values_if_built(), *self.stet.retired.values()]:
            stet.bank.concluded(result)

    def tick(self) -> None:
        """Do what fell due, write it, then wait for the next thing."""
        self._timer, self._armed_for = None, None
        for bank in self._banks():
            try:
                bank.tick()
            except Exception:  # one bank's bug must not stop the others' executions
                log.exception("PSD2 tick failed", bank=bank.fsp_id)
        self._commit()
        self.arm()

    def arm(self) -> None:
        """Set the timer for the earliest thing due (after any PSD2 change)."""
        due = [when for bank in self._banks() if (when := bank.next_due()) is not None]
        soonest = min(due, default=None)
        if soonest == self._armed_for:
            return
        self.close()
        if soonest is not None:
            self._timer, self._armed_for = self.clock.call_at(soonest, self.tick), soonest

    def _banks(self) -> list[Ticking]:
        """Everything of every dialect built that has something due on the clock."""
        xs2a = self.xs2a.values_if_built()
        return [
            *(b for api in xs2a for b in (api.auths, api.bank)),
            *(api.bank for api in self.obie.values_if_built()),
            *(api.bank for api in self.stet.values_if_built()),
            self._retired,
        ]

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._armed_for = None, None


class RetiredRecords:
    """The records a restart found of banks no longer simulated (``Psd2.retire``): each
    ended one is dropped once its retention has passed (``core.records``), as a simulated
    bank's are; a tick only does that, so nothing of theirs executes. Read from the store
    at each tick, so a record ended since (a settlement's outcome) is dropped in turn."""

    fsp_id = "(banks no longer simulated)"  # as ``Ticking`` names a bank in the log

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store, self._clock = store, clock
        self._kinds: set[str] = set()
        self._next: datetime | None = None

    def add(self, kinds: Iterable[str]) -> None:
        """Drop the records of ``kinds`` (a ``#…`` suffix is read as its kind) too."""
        self._kinds.update(kind.partition("#")[0] for kind in kinds)
        self.tick()

    def tick(self) -> None:
        now, due = self._clock.now(), []
        for kind in sorted(self._kinds):
            records: Records[Any] = Records(self._store, kind)
            records.sweep(now)
            if (when := records.next_due()) is not None:
                due.append(when)
        self._next = min(due, default=None)

    def next_due(self) -> datetime | None:
        return self._next


def bank_of(kind: str) -> str | None:
    """The bank whose PSD2 records the state's record ``kind`` holds (a dialect's, or its
    OAuth server's: ``server_for``), or None."""
    if kind.startswith(_OAUTH_KINDS):
        return kind.removeprefix(_OAUTH_KINDS).rpartition("/")[0] or None
    found = kept_banks([kind])
    return next(iter(found), None)


def kept_banks(kinds: Iterable[str]) -> dict[str, set[str]]:
    """The banks that the state's record ``kinds`` show have PSD2 records, each with its
    dialects: a dialect's kinds are ``{dialect}:{fspId}`` or ``{dialect}-…:{fspId}``,
    perhaps with a ``#…`` suffix (``core.records``)."""
    banks: dict[str, set[str]] = {}
    for kind in kinds:
        head, colon, tail = kind.partition(":")
        dialect = head.partition("-")[0]
        if colon and dialect in DIALECTS:
            banks.setdefault(tail.partition("#")[0], set()).add(dialect)
    return banks


def oauth_client(tpp: TppConfig) -> OAuthClient:
    """A TPP of the config as a client of the banks' servers, with DESIGN.md's redirect
    rule (``config_psd2.redirect_allowed``)."""
    from tpsim.auth.oauth_model import OAuthClient

    return OAuthClient(
        tpp.client_id,
        tpp.client_secret,
        tpp.name,
        tuple(tpp.redirect_uris),
        tpp.jwks,
        redirect_rule=partial(redirect_allowed, tpp),
    )


def server_for(
    config: Config, fsp_id: str, store: Store, clock: Clock, ids: IdGenerator
) -> AuthorizationServer:
    """Bank ``fsp_id``'s authorisation server: every TPP of ``config`` is its client, its
    records live in ``store`` as long as the bank's other records (``behaviour.retention_s``,
    ``retention_max``). Raises ``ConfigError`` for a TPP's jwks that is no JWK Set."""
    from tpsim.auth.oauth import AuthorizationServer

    behaviour = config.behaviour
    return AuthorizationServer(
        _ISSUER + fsp_id,
        [oauth_client(tpp) for tpp in config.tpps],
        store,
        clock,
        ids,
        retention_s=behaviour.retention_s,
        max_ended=behaviour.retention_max,
    )
