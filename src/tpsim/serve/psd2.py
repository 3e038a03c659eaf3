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
(``build_kept``), so its timers and settlements carry on after a restart.
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

    def build_kept(self, kinds: Iterable[str]) -> None:
        """Build now each dialect that the state's record ``kinds`` show has records (a
        restart from a state file), so what it has due or settling carries on
        (``kept_banks`` reads the kinds)."""
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
        ]

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._armed_for = None, None


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
        f"urn:tpsim:{fsp_id}",
        [oauth_client(tpp) for tpp in config.tpps],
        store,
        clock,
        ids,
        retention_s=behaviour.retention_s,
        max_ended=behaviour.retention_max,
    )
