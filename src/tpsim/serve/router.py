"""The switch's router: header routing by ``FSPIOP-Destination``, as Mojaloop's
thirdparty-api-svc does it (the body is never inspected for routing).

``send`` journals a message, finds the participant and delivers it: in-process to a
simulated role (whose ``Effects`` are applied in order), over HTTP to an external one.
A message that cannot be delivered is answered with the switch's ``PUT …/{ID}/error``
back to its source, from the hub. A coded error raised by a simulated role becomes that
role's ``PUT …/{ID}/error`` back to the source.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine
from typing import Any

import structlog

from tpsim.config import Profile
from tpsim.core.clock import Clock, TimerHandle
from tpsim.errors import TpsimError
from tpsim.journal import Hop, Journal
from tpsim.mojaloop.errors import (
    ClientError,
    DestinationCommunicationError,
    DestinationFspError,
    FspiopError,
    InternalServerError,
    coded,
)
from tpsim.mojaloop.message import Effects, Message, make_headers
from tpsim.mojaloop.registry import External, Registry, Simulated
from tpsim.mojaloop.roles.common import error_callback
from tpsim.mojaloop.wire import headers as wire_headers
from tpsim.mojaloop.wire import routes
from tpsim.serve.delivery import HttpDelivery

log = structlog.get_logger("tpsim.router")


class Router:
    """Delivers messages between participants and owns the roles' timers."""

    def __init__(
        self,
        *,
        hub_name: str,
        registry: Registry,
        journal: Journal,
        clock: Clock,
        delivery: HttpDelivery,
        profile: Profile = Profile.SPEC,
    ) -> None:
        self.hub_name = hub_name
        self.registry = registry
        self.journal = journal
        self.clock = clock
        self.delivery = delivery
        self.profile = profile
        self._timers: dict[tuple[str, str], TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- entry points ---------------------------------------------------------------

    def submit(self, message: Message) -> None:
        """Route ``message`` in the background (the edge has already answered)."""
        self._spawn(self.send(message))

    async def send(self, message: Message) -> None:
        """Deliver ``message`` and everything it causes; never raises."""
        try:
            await self._send(message)
        except Exception:  # a bug in a role must not take the switch down
            log.exception("routing failed", method=message.method, path=message.path)
            await self._reject(message, InternalServerError("tpsim failed to process the message"))

    def submit_effects(self, fsp_id: str, effects: Effects) -> None:
        """Apply, in the background, what simulated ``fsp_id`` wants done outside a message
        (its login page was used, the admin API revoked a consent)."""
        self._spawn(self._apply(fsp_id, effects))

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
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    # -- routing --------------------------------------------------------------------

    async def _send(self, message: Message) -> None:
        target = message.destination or self.hub_name
        participant = self.registry.get(target)
        if participant is None:
            self._record(Hop.DROPPED, message, error=f"unknown destination {target!r}")
            await self._reject_from_hub(
                message,
                DestinationFspError(
                    f"FSPIOP-Destination {target!r} is not a participant of this scheme",
                    field="FSPIOP-Destination",
                ),
            )
            return
        if isinstance(participant, Simulated):
            await self._deliver_in_process(participant, message)
        else:
            await self._deliver_http(participant, message)

    async def _deliver_in_process(self, participant: Simulated, message: Message) -> None:
        status = message.route.sync_status if message.route else 202
        try:
            effects = participant.role.handle(message)
        except TpsimError as exc:
            error = coded(exc)
            self._record(Hop.DELIVERED, message, status=status, error=error.detail)
            await self._reject(message, error, sender=participant.fsp_id)
            return
        self._record(Hop.DELIVERED, message, status=status)
        await self._apply(participant.fsp_id, effects)

    async def _deliver_http(self, participant: External, message: Message) -> None:
        forwarded = wire_headers.forward_headers(
            message.headers, message.method, self.clock.now(), hub_name=self.hub_name
        )
        outgoing = dataclasses.replace(message, headers=make_headers(forwarded))
        result = await self.delivery.deliver(participant.endpoint, outgoing)
        self._record(
            Hop.SENT,
            outgoing,
            status=result.status,
            duration_ms=result.elapsed_ms,
            error=result.error if not result.ok else None,
        )
        if result.ok:
            return
        if result.status is None:
            error: FspiopError = DestinationCommunicationError(
                f"{participant.fsp_id} at {participant.endpoint}: {result.error}"
            )
        elif 400 <= result.status < 500:
            error = ClientError(
                f"{participant.fsp_id} answered {result.status}: {result.body or ''}".strip()
            )
        else:
            error = DestinationCommunicationError(
                f"{participant.fsp_id} answered {result.status}: {result.body or ''}".strip()
            )
        await self._reject_from_hub(message, error)

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

    # -- timers ---------------------------------------------------------------------

    def _schedule(self, fsp_id: str, key: str, at: Any) -> None:
        previous = self._timers.pop((fsp_id, key), None)
        if previous is not None:
            previous.cancel()

        def fire() -> None:
            self._timers.pop((fsp_id, key), None)
            self._spawn(self._fire(fsp_id, key))

        self._timers[(fsp_id, key)] = self.clock.call_at(at, fire)

    async def _fire(self, fsp_id: str, key: str) -> None:
        participant = self.registry.get(fsp_id)
        if not isinstance(participant, Simulated):
            return
        try:
            effects = participant.role.on_timer(key)
        except TpsimError:
            log.exception("timer failed", participant=fsp_id, key=key)
            return
        await self._apply(fsp_id, effects)

    # -- errors ---------------------------------------------------------------------

    async def _reject_from_hub(self, message: Message, error: FspiopError) -> None:
        await self._reject(message, error, sender=self.hub_name)

    async def _reject(
        self, message: Message, error: FspiopError, *, sender: str | None = None
    ) -> None:
        """Send ``PUT …/error`` for ``message`` back to its source, if one applies."""
        callback = error_callback(
            message,
            error,
            sender=sender or self.hub_name,
            profile=self.profile,
            now=self.clock.now(),
        )
        if callback is None:
            log.warning(
                "no error callback applies",
                method=message.method,
                path=message.path,
                code=error.code_for(self.profile),
                detail=error.detail,
            )
            return
        if self.registry.get(callback.destination) is None:
            return  # the source is unknown: nobody to tell
        await self._send(callback)

    # -- bookkeeping ----------------------------------------------------------------

    def _record(
        self,
        hop: Hop,
        message: Message,
        *,
        status: int | None = None,
        duration_ms: float | None = None,
        error: str | None = None,
    ) -> None:
        route = message.route
        path_id = (
            None if route is None else routes.correlation_id(route, message.params, message.body)
        )
        self.journal.record(
            hop,
            message,
            at=self.clock.now(),
            path_id=path_id,
            status=status,
            duration_ms=duration_ms,
            error=error,
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
