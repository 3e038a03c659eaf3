"""The switch's decisions, sans-IO: where a message goes and what follows its delivery.

Mojaloop's switch routes by ``FSPIOP-Destination`` only (thirdparty-api-svc never reads
the body to route); a message without one goes to the hub's own services. ``Switch``
turns a message into ``Step``s for a driver to carry out, in order, and turns what a
transport reports back (``DeliveryResult``) into the next steps:

    route(message)        known destination    → Deliver(participant, message as sent)
                          unknown destination  → Record(DROPPED), the hub's 3201 callback
    settle(deliver, result)
                          Handled(effects)     → Record(DELIVERED), Apply(effects)
                          Raised(error)        → Record(DELIVERED, error), that role's callback
                          Answered(2xx)        → Record(SENT)
                          Answered(4xx)        → Record(SENT), the hub's 3000 callback
                          Answered(other)      → Record(SENT), the hub's 1001 callback
                          Unreachable(why)     → Record(SENT, why), the hub's 1001 callback
    reject(message, error, sender)
                          → ErrorCallback(PUT …/error to the source), or Unanswered when
                            none applies (an error callback, no source, an unknown source)

Forwarding to an external participant applies the switch's header transform
(``wire.headers.forward_headers``); a simulated participant gets the message as sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tpsim.config import Profile
from tpsim.core.clock import Clock
from tpsim.core.errors import TpsimError
from tpsim.journal import Hop
from tpsim.mojaloop.errors import (
    ClientError,
    DestinationCommunicationError,
    DestinationFspError,
    FspiopError,
    coded,
)
from tpsim.mojaloop.message import Effects, Message, make_headers
from tpsim.mojaloop.registry import External, Participant, Registry
from tpsim.mojaloop.roles.common import error_callback
from tpsim.mojaloop.wire import headers as wire_headers
from tpsim.mojaloop.wire import routes

# --- what a transport reports ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Handled:
    """A simulated role took the message and wants ``effects`` done."""

    effects: Effects


@dataclass(frozen=True, slots=True)
class Raised:
    """A simulated role refused the message with a coded (or neutral) error."""

    error: TpsimError


@dataclass(frozen=True, slots=True)
class Answered:
    """A remote participant answered synchronously with ``status`` (and maybe a body)."""

    status: int
    elapsed_ms: float = 0.0
    body: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A remote participant never answered: ``error`` says why (refused, timed out…)."""

    error: str
    elapsed_ms: float = 0.0


DeliveryResult = Handled | Raised | Answered | Unreachable


# --- what the switch decides ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deliver:
    """Hand ``message`` (headers already as ``participant`` gets them) to its transport."""

    participant: Participant
    message: Message


@dataclass(frozen=True, slots=True)
class Record:
    """Journal one hop of ``message`` (``path_id``: its correlation id from the path)."""

    hop: Hop
    message: Message
    path_id: str | None = None
    status: int | None = None
    duration_ms: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Apply:
    """Carry out what simulated ``fsp_id`` returned: timers, notes, then its messages."""

    fsp_id: str
    effects: Effects


@dataclass(frozen=True, slots=True)
class ErrorCallback:
    """Route ``message``, the ``PUT …/error`` answering a message that failed."""

    message: Message


@dataclass(frozen=True, slots=True)
class Unanswered:
    """``error`` about ``message`` reaches nobody (``reason`` says why): log it, send nothing."""

    message: Message
    error: FspiopError
    reason: str


Step = Deliver | Record | Apply | ErrorCallback | Unanswered


@dataclass(frozen=True, slots=True)
class Switch:
    """Routing decisions over one scheme's ``registry``; ``clock`` dates what the hub writes."""

    registry: Registry
    hub_name: str
    clock: Clock
    profile: Profile = Profile.SPEC

    def route(self, message: Message) -> list[Step]:
        """Where ``message`` goes: its ``FSPIOP-Destination``, else the hub's services."""
        target = message.destination or self.hub_name
        participant = self.registry.get(target)
        if participant is None:
            refusal = DestinationFspError(
                f"FSPIOP-Destination {target!r} is not a participant of this scheme",
                field="FSPIOP-Destination",
            )
            dropped = self.record(Hop.DROPPED, message, error=f"unknown destination {target!r}")
            return [dropped, *self.reject(message, refusal)]
        return [Deliver(participant, self._as_sent_to(participant, message))]

    def settle(self, delivery: Deliver, result: DeliveryResult) -> list[Step]:
        """What follows ``delivery``: journal it, then apply effects or report the failure."""
        message, fsp_id = delivery.message, delivery.participant.fsp_id
        match result:
            case Handled(effects):
                return [self._delivered(message), Apply(fsp_id, effects)]
            case Raised(raised):
                error = coded(raised)
                delivered = self._delivered(message, error=error.detail)
                return [delivered, *self.reject(message, error, sender=fsp_id)]
            case Answered(status, elapsed_ms) if result.ok:
                return [self.record(Hop.SENT, message, status=status, duration_ms=elapsed_ms)]
            case Answered(status, elapsed_ms):
                sent = self.record(Hop.SENT, message, status=status, duration_ms=elapsed_ms)
                return [sent, *self.reject(message, refused_by(fsp_id, result))]
            case Unreachable(why, elapsed_ms):
                sent = self.record(Hop.SENT, message, duration_ms=elapsed_ms, error=why)
                failure = DestinationCommunicationError(f"{_where(delivery.participant)}: {why}")
                return [sent, *self.reject(message, failure)]

    def reject(
        self, message: Message, error: FspiopError, *, sender: str | None = None
    ) -> list[Step]:
        """The ``PUT …/error`` for ``message`` from ``sender`` (the hub unless named) to
        its source, or why nobody is told: error callbacks are never answered with error
        callbacks, and a source the scheme does not know cannot be reached."""
        callback = error_callback(
            message,
            error,
            sender=sender or self.hub_name,
            profile=self.profile,
            now=self.clock.now(),
        )
        if callback is None:
            return [Unanswered(message, error, "no error callback applies")]
        if callback.destination not in self.registry:
            return [Unanswered(message, error, "the source is not a participant")]
        return [ErrorCallback(callback)]

    def record(
        self,
        hop: Hop,
        message: Message,
        *,
        status: int | None = None,
        duration_ms: float | None = None,
        error: str | None = None,
    ) -> Record:
        """The journal entry for one hop of ``message``, with its path's correlation id."""
        route = message.route
        path_id = (
            None if route is None else routes.correlation_id(route, message.params, message.body)
        )
        return Record(hop, message, path_id, status, duration_ms, error)

    def _delivered(self, message: Message, *, error: str | None = None) -> Record:
        # In-process delivery has no HTTP answer: journal the status the edge would give.
        status = message.route.sync_status if message.route else 202
        return self.record(Hop.DELIVERED, message, status=status, error=error)

    def _as_sent_to(self, participant: Participant, message: Message) -> Message:
        if not isinstance(participant, External):
            return message
        forwarded = wire_headers.forward_headers(
            message.headers, message.method, self.clock.now(), hub_name=self.hub_name
        )
        return dataclasses.replace(message, headers=make_headers(forwarded))


def refused_by(fsp_id: str, answer: Answered) -> FspiopError:
    """The switch's error for a non-2xx answer: 3000 for a 4xx (the message was refused),
    1001 otherwise (the destination failed)."""
    text = f"{fsp_id} answered {answer.status}: {answer.body or ''}".strip()
    if 400 <= answer.status < 500:
        return ClientError(text)
    return DestinationCommunicationError(text)


def _where(participant: Participant) -> str:
    if isinstance(participant, External):
        return f"{participant.fsp_id} at {participant.endpoint}"
    return participant.fsp_id
