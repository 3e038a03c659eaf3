"""The built-in default scheme in-process under message rules, for the fault machine.

``FaultyScheme`` is ``tests.support.scheme.in_process`` with a config of our own (``rules``
and ``behaviour`` overrides): no socket at all. The PISP is a ``Recording`` transport
(every callback kept in ``received``, answered 202) and sends through the FSPIOP edge
without HTTP (``serve.edge.admit``: the headers a PISP sends, validation, ``sync``
refusals, the journal), so a step costs a few milliseconds and is deterministic: ids are
sequential and time is a ``SteppedClock`` that only moves when told. ``advance`` moves it
one due timer at a time and lets the router finish the work each one started, so every
expiry and every delayed message runs at its own simulated moment, in order.

``SPEC_CODES`` are the error codes the specs define (digest ``mojaloop-3p-spec.md`` §7:
FSPIOP v1.1 §7.6, the Third Party spec's 6xxx and the reference implementation's 7xxx);
``error_problem`` says what is wrong with an ``errorInformation`` body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.scheme import Scheme, default_config_data
from tpsim.config import overlay, parse_config
from tpsim.core.clock import ManualClock, SequentialIds
from tpsim.mojaloop.message import Message, make_headers
from tpsim.mojaloop.wire import routes
from tpsim.mojaloop.wire.headers import build_headers
from tpsim.serve.edge import Answer, Arrival, admit
from tpsim.serve.simulation import Simulation
from tpsim.serve.transports import Recording, Transports

START = datetime(2030, 1, 1, tzinfo=UTC)
_FSPIOP = """1000 1001 2000 2001 2002 2003 2004 2005 3000 3001 3002 3003 3100 3101 3102 3103
3104 3105 3106 3107 3200 3201 3202 3203 3204 3205 3206 3207 3208 3209 3210 3300 3301 3302 3303
4000 4001 4100 4101 4102 4103 4200 4300 4400 5000 5001 5100 5101 5102 5103 5104 5105 5106 5107
5200 5300 5400"""
_THIRD_PARTY = "6000 6001 6003 6100 6101 6102 6103 6104 6200 6201 6203 6204 6205"
_REFERENCE = """7000 7100 7101 7102 7103 7104 7105 7106 7107 7108 7109 7200 7201 7202 7203 7204
7205 7206 7207 7208 7209 7210 7211 7212 7213 7214 7300"""
SPEC_CODES = frozenset(f"{_FSPIOP} {_THIRD_PARTY} {_REFERENCE}".split())


def error_problem(body: Any) -> str | None:
    """What makes ``body`` no ``ErrorInformationObject`` with a spec code (digest §4.1:
    ``errorCode`` four digits, ``errorDescription`` 1..128 characters), or None."""
    info = body.get("errorInformation") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        return f"no errorInformation: {body!r}"
    code, text = str(info.get("errorCode", "")), info.get("errorDescription")
    if not re.fullmatch(r"[1-9]\d{3}", code) or code not in SPEC_CODES:
        return f"errorCode {code!r} is no spec code: {body!r}"
    if not isinstance(text, str) or not 1 <= len(text) <= 128:
        return f"errorDescription is not 1..128 characters: {body!r}"
    return None


class SteppedClock(ManualClock):
    """A ``ManualClock`` that tells when its next live timer is due."""

    def next_due(self) -> datetime | None:
        live = [item.when for item in self._queue if not item.cancelled]
        return min(live) if live else None


@dataclass
class FaultyScheme:
    """One scheme (see the module docstring); ``delayed`` is every message a rule's
    ``delay_s`` held: (the message, when it leaves, when it was held)."""

    sim: Simulation
    clock: SteppedClock
    pisp: Recording
    keys: Scheme = field(default_factory=Scheme)  # only its authenticators are used
    delayed: list[tuple[Message, datetime, datetime]] = field(default_factory=list)

    @classmethod
    def start(
        cls, rules: list[dict[str, Any]], *, external: tuple[str, ...] = (), **behaviour: Any
    ) -> FaultyScheme:
        """The default scheme with ``rules`` and ``behaviour`` overrides, the DFSPs named in
        ``external`` played by the test (answered by ``pisp``, the one ``Recording``; call
        it inside the event loop that will run it)."""
        data = overlay(default_config_data(), {"rules": rules, "behaviour": behaviour})
        for participant in data["participants"]:
            if participant["fsp_id"] in external:
                participant.update(simulated=False, endpoint="http://127.0.0.1:1")  # Recording
        clock, pisp = SteppedClock(START), Recording()
        sim = Simulation(
            parse_config(data),
            clock=clock,
            ids=SequentialIds(),
            transports=Transports(lambda _: pisp),
        )
        scheme = cls(sim, clock, pisp)
        later = sim.router._send_later

        def spy(message: Message, at: datetime) -> None:
            scheme.delayed.append((message, at, clock.now()))
            later(message, at)

        setattr(sim.router, "_send_later", spy)  # noqa: B010 - a spy on one instance
        return scheme

    async def send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        to: str = "dfspa",
        source: str = "pispa",
    ) -> Answer:
        """``method path`` from ``source`` through the edge (validated, ``sync`` rules, the
        journal, routed): the synchronous answer, once the router has settled."""
        route, params = routes.match(method, path)
        headers = build_headers(method, route.resource, source, to, self.clock.now())
        raw = None if body is None else json.dumps(body).encode()
        arrival = Arrival(method, path, path, make_headers(headers), has_body=raw is not None)
        answer = admit(self.sim, arrival, (route, params), raw)
        await self.settle()
        return answer

    async def settle(self) -> None:
        await self.sim.router.drain()

    async def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, one due timer at a time, settling after each."""
        await self.settle()
        target = self.clock.now() + timedelta(seconds=seconds)
        while (due := self.clock.next_due()) is not None and due <= target:
            self.clock.advance(max(0.0, (due - self.clock.now()).total_seconds()))
            await self.settle()
        self.clock.advance((target - self.clock.now()).total_seconds())
        await self.settle()

    def in_flight(self, path: str) -> bool:
        """Whether a message to ``path`` is held by a delay and not yet sent."""
        now = self.clock.now()
        return any(m.path == path and at > now for m, at, _ in self.delayed)

    def held_since(self, method: str, path: str) -> datetime | None:
        """When a rule's delay first held a ``method path`` message, or None."""
        return min(
            (since for m, _, since in self.delayed if (m.method, m.path) == (method, path)),
            default=None,
        )

    async def close(self) -> None:
        await self.sim.close()
