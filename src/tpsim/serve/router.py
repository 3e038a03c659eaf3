"""The switch's asyncio driver: it carries out what ``mojaloop.switch.Switch`` decides.

``send`` asks the switch where a message goes, delivers it through the participant's
``Transport`` (``serve.transports``), journals every hop and follows up as the switch says:
a simulated role's ``Effects`` are applied in order (out-of-band notes, timers, then its
messages), a failed delivery is answered with an error callback. The router owns the
tasks and the roles' timers; every decision about a message is the switch's.

With a durable state (``--state``, ``Durability``) the router also says when to write it:
a message from outside is kept before the edge answers it (``accept``) and forgotten once
delivered; a callback leaving the process (an HTTP delivery) is kept too, in the same write
as what simulated roles changed to send it, and forgotten once delivered (a request going
out is not: ``KEPT_ON_THE_WAY_OUT``); and a task's changes are committed when its work
ends. So a ``kill -9`` loses no message the edge acknowledged and no callback tpsim
decided to send (one cut off is sent at the next start: at least once), and nobody
outside hears of a change that was not written. In-process hops between two commits are
written together: a role handles a message without awaiting anything, so whatever a
crash cuts off is a whole number of hops, never half of one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Coroutine
from datetime import datetime
from typing import Any, Protocol, assert_never

import structlog

from tpsim.config_settings import Profile
from tpsim.core.clock import Clock, TimerHandle
from tpsim.core.errors import TpsimError
from tpsim.journal import Hop, Journal
from tpsim.mojaloop.errors import InternalServerError
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.registry import External, Participant, Registry, Simulated
from tpsim.mojaloop.steps import (
    Apply,
    Deliver,
    ErrorCallback,
    Later,
    Record,
    Step,
    Unanswered,
)
from tpsim.mojaloop.switch import Switch
from tpsim.mojaloop.wire.routes import Route
from tpsim.serve.traffic import UNMATCHED, Seen, Traffic
from tpsim.serve.transports import TransportFactory

log = structlog.get_logger("tpsim.router")

# What a message leaving the process is kept until delivered for: a callback (PUT; PATCH,
# a notification), the final word on something, safe to send again. Not a request (POST,
# GET, DELETE): sent again after a restart, it would start work for what the restart ended
# (an authorization request for a transaction failed with 2001); its timer covers its loss.
KEPT_ON_THE_WAY_OUT = frozenset({"PUT", "PATCH"})


class Durability(Protocol):
    """Where the router makes the scheme's state durable (``serve.simulation`` gives one
    over the ``--state`` file)."""

    def accept(self, message: Message) -> str | None:
        """Keep ``message`` (just arrived from outside, before its sender is answered; or
        about to leave the process), writing every change so far with it; the receipt to
        hand ``handled`` (None: nothing was kept)."""
        ...

    def handled(self, receipt: str) -> None:
        """The message of ``receipt`` was delivered: forget it with the next commit."""
        ...

    def commit(self) -> None:
        """Write every change since the last commit, now."""
        ...


class Volatile:
    """State in memory only (no ``--state``): nothing to keep, nothing to write."""

    def accept(self, message: Message) -> str | None:
        return None

    def handled(self, receipt: str) -> None:
        pass

    def commit(self) -> None:
        pass


class Router:
    """Delivers messages between participants and owns the roles' timers."""

    def __init__(
        self,
        switch: Switch,
        *,
        journal: Journal,
        transports: TransportFactory,
        durable: Durability | None = None,
    ) -> None:
        self.switch = switch
        self.journal = journal
        self.transports = transports
        self.durable: Durability = durable or Volatile()
        self.traffic = Traffic()  # every hop, for the log and the metrics
        self._timers: dict[tuple[str, str], TimerHandle] = {}
        self._later: dict[int, TimerHandle] = {}  # messages a rule delays, by a counter
        self._later_seq = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def registry(self) -> Registry:
        return self.switch.registry

    @property
    def hub_name(self) -> str:
        return self.switch.hub_name

    @property
    def profile(self) -> Profile:
        return self.switch.profile

    @property
    def clock(self) -> Clock:
        return self.switch.clock

    def load(self, switch: Switch, durable: Durability | None = None) -> None:
        """Route by ``switch`` from now on (a new scheme, whose state ``durable`` writes);
        the old scheme's timers end."""
        self.cancel_timers()
        self.switch = switch
        self.durable = durable or Volatile()

    # -- entry points ---------------------------------------------------------------

    def submit(self, message: Message, *, receipt: str | None = None) -> None:
        """Route ``message`` in the background; it is kept first (``Durability.accept``),
        since the edge answers as soon as this returns. ``receipt``: it was kept already
        (a message replayed after a restart)."""
        if receipt is None:
            receipt = self._accept(message)
        self._spawn(self.send(message, receipt=receipt))

    async def send(self, message: Message, *, receipt: str | None = None) -> None:
        """Deliver ``message`` and everything it causes; never raises. ``receipt``: the
        kept message to forget once delivered."""
        await self._committed(self._send_safely(message, receipt))

    async def _send_safely(self, message: Message, receipt: str | None) -> None:
        try:
            await self._run(self.switch.route(message), receipt)
        except Exception:  # a bug in a role must not take the switch down
            log.exception("routing failed", method=message.method, path=message.path)
            if receipt is not None:  # not to be replayed: it would fail again
                self.durable.handled(receipt)
            failure = InternalServerError("tpsim failed to process the message")
            await self._run(self.switch.reject(message, failure))

    def submit_effects(self, fsp_id: str, effects: Effects) -> None:
        """Apply, in the background, what simulated ``fsp_id`` wants done outside a message
        (its login page was used, the admin API revoked a consent); what it changed to
        decide them is committed first."""
        self.commit()
        self._spawn(self._committed(self._apply(fsp_id, effects)))

    async def drain(self) -> None:
        """Wait until every background delivery has finished (tests, shutdown).

        Each round takes the tasks out of the set before awaiting them, so the loop ends
        without relying on their done-callbacks: since Python 3.12 ``gather`` over tasks
        that are all done returns without yielding to the loop, and those callbacks would
        never get to run.
        """
        while self._tasks:
            tasks = list(self._tasks)
            self._tasks.difference_update(tasks)
            await asyncio.gather(*tasks, return_exceptions=True)

    def cancel_timers(self) -> None:
        """End the roles' timers and the messages rules delay (not kept across a reload
        or a restart, like the timers)."""
        for handle in [*self._timers.values(), *self._later.values()]:
            handle.cancel()
        self._timers.clear()
        self._later.clear()

    # -- carrying out the switch's steps --------------------------------------------

    async def _send(self, message: Message) -> None:
        await self._run(self.switch.route(message))

    async def _run(
        self,
        steps: list[Step],
        receipt: str | None = None,
        delivery: tuple[Participant, float] | None = None,
    ) -> None:
        """Carry out ``steps``; ``receipt`` is forgotten with the first delivery (or at the
        end, when nothing was delivered). ``delivery``: the steps settle a delivery to
        this participant, which took that many milliseconds (for the traffic log)."""
        for step in steps:
            match step:
                case Deliver():
                    await self._deliver(step, receipt)
                    receipt = None
                case Record():
                    self._record(step, delivery)
                case Apply(fsp_id, effects):
                    await self._apply(fsp_id, effects)
                case ErrorCallback(callback):
                    await self._send(callback)
                case Unanswered(message, error, reason):
                    code = error.code_for(self.profile)
                    self.traffic.unanswered(message, code, error.detail, reason)
                case Later(message, at):
                    self._send_later(message, at)
                case _:
                    assert_never(step)
        if receipt is not None:
            self.durable.handled(receipt)

    async def _deliver(self, step: Deliver, receipt: str | None = None) -> None:
        if not isinstance(step.participant, Simulated):
            # The message leaves the process: what it tells is written, and a callback kept
            # with it until delivered (the module docstring), unless it is kept already
            # (``receipt``: from outside, or replayed after a restart).
            if receipt is None and step.message.method in KEPT_ON_THE_WAY_OUT:
                receipt = self._accept(step.message)
            else:
                self.commit()
        started = time.perf_counter()
        result = await self.transports(step.participant).deliver(step.message)
        took = (time.perf_counter() - started) * 1000
        if receipt is not None:
            self.durable.handled(receipt)
        await self._run(self.switch.settle(step, result), delivery=(step.participant, took))

    async def _apply(self, fsp_id: str, effects: Effects) -> None:
        for note in effects.out_of_band:
            self.journal.record(Hop.OUT_OF_BAND, note, at=self.clock.now())
        for key in effects.cancel:
            handle = self._timers.pop((fsp_id, key), None)
            if handle is not None:
                handle.cancel()
        for timer in effects.timers:
            self._schedule(fsp_id, timer.key, timer.at)
        for outgoing in effects.messages:
            await self._send(outgoing)

    def _record(self, step: Record, delivery: tuple[Participant, float] | None) -> None:
        entry = self.journal.record(
            step.hop,
            step.message,
            at=self.clock.now(),
            path_id=step.path_id,
            status=step.status,
            duration_ms=step.duration_ms,
            error=step.error,
            rule=step.rule,
        )
        rule = step.message.rule
        if rule is not None and rule.note is not None:
            log.warning("a rule's override was not applied", rule=rule.rule_name, why=rule.note)
        if not self.traffic.watched():
            return
        participant, took = delivery or (None, None)
        endpoint = (
            participant.url_for(step.message.path) if isinstance(participant, External) else None
        )
        ms = took if step.duration_ms is None else step.duration_ms
        route = _template(step.message.route)
        receiver = None if participant is None else participant.fsp_id
        seen = Seen(entry, route, step.status, ms, receiver=receiver, endpoint=endpoint)
        self.traffic.seen(seen)

    # -- timers ---------------------------------------------------------------------

    def _schedule(self, fsp_id: str, key: str, at: datetime) -> None:
        previous = self._timers.pop((fsp_id, key), None)
        if previous is not None:
            previous.cancel()

        def fire() -> None:
            self._timers.pop((fsp_id, key), None)
            self._spawn(self._fire(fsp_id, key))

        self._timers[(fsp_id, key)] = self.clock.call_at(at, fire)

    def _send_later(self, message: Message, at: datetime) -> None:
        """Route ``message`` at ``at`` on the clock (a rule's ``delay_s``)."""
        self._later_seq += 1
        seq = self._later_seq

        def fire() -> None:
            if self._later.pop(seq, None) is not None:
                self._spawn(self._committed(self._send(message)))

        self._later[seq] = self.clock.call_at(at, fire)

    async def _fire(self, fsp_id: str, key: str) -> None:
        role = self.registry.role(fsp_id)
        if role is None:  # the scheme was reloaded without this participant
            return
        try:
            effects = role.on_timer(key)
        except TpsimError:
            log.exception("timer failed", participant=fsp_id, key=key)
            return
        await self._committed(self._apply(fsp_id, effects))

    async def _committed(self, work: Awaitable[None]) -> None:
        """``work`` (a task's), then commit what it changed in-process since it last sent
        something out of the process."""
        try:
            await work
        finally:
            self.commit()

    def _accept(self, message: Message) -> str | None:
        """``Durability.accept``; a failure is logged and the message routed all the same."""
        try:
            return self.durable.accept(message)
        except Exception:
            log.exception("the message could not be kept", method=message.method, path=message.path)
            return None

    def commit(self) -> None:
        """Write the state's changes; a failure is logged, and what was not written stays
        to be written with the next commit (the scheme runs on in memory meanwhile)."""
        try:
            self.durable.commit()
        except Exception:
            log.exception("the state could not be written to its file")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _template(route: Route | None) -> str:
    return UNMATCHED if route is None else route.template
