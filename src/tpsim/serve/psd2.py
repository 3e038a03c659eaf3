"""The PSD2 dialects of a running simulation: each simulated bank's XS2A, UK Open Banking
and STET interfaces over the shared bank, its one OAuth authorisation server
(``auth.oauth``), and the one timer that runs what falls due on the clock (future-dated
and periodic executions, a rule's delay, decoupled approvals after their delay, consents
and payments that expire unauthorised).

Built from the config and the scheme's state whenever ``Simulation`` installs them
(``load``, ``reset``), so PSD2 state is reset with everything else. The timer is re-armed
after every PSD2 request and every tick; ``SystemClock.advance`` re-arms it too, so
``POST /admin/clock/advance`` executes what the new time makes due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

import structlog

from tpsim.auth.oauth import AuthorizationServer
from tpsim.auth.oauth_model import OAuthClient
from tpsim.config import Config, Kind
from tpsim.config_psd2 import TppConfig, redirect_allowed
from tpsim.core.bank import Bank
from tpsim.core.clock import Clock, IdGenerator, TimerHandle
from tpsim.core.settlement import Settlement, SettlementResult
from tpsim.core.store import Store
from tpsim.obie.api import ObieApi
from tpsim.obie.bank import ObieBank
from tpsim.stet.api import StetApi
from tpsim.stet.bank import StetBank
from tpsim.xs2a.api import Xs2aApi
from tpsim.xs2a.authorisations import Authorisations
from tpsim.xs2a.bank import Xs2aBank

log = structlog.get_logger("tpsim.psd2")


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
    ) -> None:
        self.clock = clock
        self.xs2a: dict[str, Xs2aApi] = {}
        # Each bank's one OAuth 2.0 / OIDC authorisation server, under every dialect's base.
        self.oauth: dict[str, AuthorizationServer] = {}
        self.obie: dict[str, ObieApi] = {}
        self.stet: dict[str, StetApi] = {}
        password = config.behaviour.linking.web.password
        # What every dialect's bank is built with: the one clock, ids, settlement port,
        # rules and retention of the simulation.
        shared: dict[str, Any] = {
            "clock": clock,
            "ids": ids,
            "settlement": settlement,
            "rules": config.rulebook(),
            "retention": timedelta(seconds=config.behaviour.retention_s),
            "max_ended": config.behaviour.retention_max,
        }
        for fsp_id in config.ids(Kind.DFSP):
            participant = config.participant(fsp_id)
            if participant is None or not participant.simulated:
                continue
            settings = config.psd2(fsp_id)
            xs2a = Xs2aBank(fsp_id, bank, settings, **shared)
            self.xs2a[fsp_id] = Xs2aApi(xs2a, Authorisations(xs2a, password=password), config.tpps)
            oauth = self.oauth[fsp_id] = server_for(config, fsp_id, bank.store, clock, ids)
            obie = ObieBank(fsp_id, bank, settings, password=password, **shared)
            self.obie[fsp_id] = ObieApi(obie, oauth, tpps=config.tpps)
            stet = StetBank(fsp_id, bank, settings, password=password, **shared)
            self.stet[fsp_id] = StetApi(stet, oauth, tpps=config.tpps)
        self._timer: TimerHandle | None = None
        self._armed_for: datetime | None = None

    def concluded(self, result: SettlementResult) -> None:
        """The settlement port's outcome, for the bank whose payment it settled."""
        for api in self.xs2a.values():
            api.bank.concluded(result)
        for uk in self.obie.values():
            uk.bank.concluded(result)
        for stet in self.stet.values():
            stet.bank.concluded(result)

    def tick(self) -> None:
        """Do what fell due, then wait for the next thing."""
        self._timer, self._armed_for = None, None
        for bank in self._banks():
            try:
                bank.tick()
            except Exception:  # one bank's bug must not stop the others' executions
                log.exception("PSD2 tick failed", bank=bank.fsp_id)
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
        """Everything of every dialect that has something due on the clock."""
        xs2a: list[Ticking] = [b for api in self.xs2a.values() for b in (api.auths, api.bank)]
        return [
            *xs2a,
            *(api.bank for api in self.obie.values()),
            *(api.bank for api in self.stet.values()),
        ]

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._armed_for = None, None


def oauth_client(tpp: TppConfig) -> OAuthClient:
    """A TPP of the config as a client of the banks' servers, with DESIGN.md's redirect
    rule (``config_psd2.redirect_allowed``)."""
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
