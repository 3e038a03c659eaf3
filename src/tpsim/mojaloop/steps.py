"""What passes between the switch and its driver (``switch.Switch``, ``serve.router``).

What a transport reports of a delivery (``DeliveryResult``: ``Handled``, ``Raised``,
``Answered``, ``Unreachable``) and the ``Step``s the switch decides for the driver to carry
out, in order (``Deliver``, ``Record``, ``Apply``, ``ErrorCallback``, ``Unanswered``,
``Later``), with ``SyncRefusal``, a rule's error the HTTP edge answers at once. None is
kept in a state file: they live for one hop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from tpsim.core.errors import TpsimError
from tpsim.core.rules import MessageRule
from tpsim.journal import Hop
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.registry import Participant

# --- what a transport reports ---------------------------------------------------------
# (Results and steps are named tuples: several are made for every hop, and a named tuple is
# made in a third of a frozen dataclass's time; immutable all the same.)


class Handled(NamedTuple):
    """A simulated role took the message and wants ``effects`` done."""

    effects: Effects


class Raised(NamedTuple):
    """A simulated role refused the message with a coded (or neutral) error."""

    error: TpsimError


class Answered(NamedTuple):
    """A remote participant answered synchronously with ``status`` (and maybe a body)."""

    status: int
    elapsed_ms: float = 0.0
    body: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Unreachable(NamedTuple):
    """A remote participant never answered: ``error`` says why (refused, timed out…)."""

    error: str
    elapsed_ms: float = 0.0


DeliveryResult = Handled | Raised | Answered | Unreachable


# --- what the switch decides ----------------------------------------------------------


class Deliver(NamedTuple):
    """Hand ``message`` (headers already as ``participant`` gets them) to its transport."""

    participant: Participant
    message: Message


class Record(NamedTuple):
    """Journal one hop of ``message`` (``path_id``: its correlation id from the path)."""

    hop: Hop
    message: Message
    path_id: str | None = None
    status: int | None = None
    duration_ms: float | None = None
    error: str | None = None
    rule: str | None = None  # the rule that matched or touched the message


class Apply(NamedTuple):
    """Carry out what simulated ``fsp_id`` returned: timers, notes, then its messages."""

    fsp_id: str
    effects: Effects


class ErrorCallback(NamedTuple):
    """Route ``message``, the ``PUT …/error`` answering a message that failed."""

    message: Message


class Unanswered(NamedTuple):
    """``error`` about ``message`` reaches nobody (``reason`` says why): log it, send nothing."""

    message: Message
    error: FspiopError
    reason: str


class Later(NamedTuple):
    """Route ``message`` at ``at`` on the injected clock (a rule's ``delay_s``); a reload
    of the scheme cancels it, as it does the roles' timers."""

    message: Message
    at: datetime


@dataclass(frozen=True, slots=True)
class SyncRefusal:
    """The HTTP edge answers a message at once with ``error`` (``rule``'s ``sync`` error)."""

    rule: MessageRule
    error: FspiopError


Step = Deliver | Record | Apply | ErrorCallback | Unanswered | Later
