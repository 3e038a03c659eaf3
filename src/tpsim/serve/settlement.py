"""The core settlement port, implemented through tpsim's Mojaloop switch.

A dialect hands ``Simulation.settlement`` a ``SettlementRequest`` for an EXECUTING intent;
the debtor's simulated DFSP (``mojaloop.roles.settlement.Settler``) starts the quote and
transfer, and the router carries its messages as if that DFSP had sent them, so every hop
is journaled like any other. The outcome is applied to the intent by the settler and then
reported to whoever ``listen``s (a dialect that must tell its TPP, a scenario).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import structlog

from tpsim.core.errors import UnknownBank
from tpsim.core.settlement import SettlementRequest, SettlementResult
from tpsim.mojaloop.roles.dfsp import SimulatedDfsp
from tpsim.mojaloop.roles.settlement import Listener
from tpsim.serve.router import Router

log = structlog.get_logger("tpsim.settlement")


class SwitchSettlement:
    """``core.settlement.Settlement`` by quote and transfer through the switch.

    ``banks`` gives the scheme's simulated DFSPs as they are now (a ``Simulation.load``
    replaces them), so this object, and its listeners, outlive a reload.
    """

    def __init__(self, banks: Callable[[], Mapping[str, SimulatedDfsp]], router: Router) -> None:
        self._banks, self._router = banks, router
        self._listeners: list[Listener] = []
        # Outcomes reached while the simulation is built (a restart's recovery): told at
        # once to the listeners there were at ``hold`` (the first ``_holding`` ones), which
        # write what they keep with the recovery itself, and at ``release``, once the
        # server is up, to those that listen from then on.
        self._held: list[SettlementResult] | None = None
        self._holding = 0

    def submit(self, request: SettlementRequest) -> None:
        """Start settling ``request`` in the background (call it on the running loop).

        Refused at once with ``UnknownBank`` when ``from_bank`` is not a simulated DFSP,
        and as ``Settler.start`` refuses (an unknown intent, one not EXECUTING, one being
        settled already); the outcome comes later, to the listeners.
        """
        bank = self._banks().get(request.from_bank)
        if bank is None:
            raise UnknownBank(request.from_bank)
        effects = bank.settler.start(request)
        self._router.submit_effects(bank.fsp_id, effects)

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` with every settlement's outcome, once it is applied."""
        self._listeners.append(listener)

    def report(self, result: SettlementResult) -> None:
        """Tell every listener; one that fails is logged, since the intent has already
        concluded and a listener's bug must not turn into an error callback."""
        if self._held is None:
            self._tell(self._listeners, result)
            return
        self._held.append(result)
        self._tell(self._listeners[: self._holding], result)

    def hold(self) -> None:
        """Keep outcomes back, until ``release``, from the listeners that listen from now
        on (those listening already are told at once: a restart that ends settlements
        writes what they keep in the same write, so a kill before the server is up, or a
        server that cannot start, loses none of it)."""
        self._held, self._holding = [], len(self._listeners)

    def release(self) -> None:
        """Tell the listeners that came since ``hold`` every outcome held back, in order."""
        held, self._held = self._held or [], None
        for result in held:
            self._tell(self._listeners[self._holding :], result)

    @staticmethod
    def _tell(listeners: list[Listener], result: SettlementResult) -> None:
        for listener in list(listeners):
            try:
                listener(result)
            except Exception:
                log.exception("settlement listener failed", intent=result.intent_id)
