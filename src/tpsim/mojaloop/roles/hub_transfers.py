"""The switch's transfer timeout, for a payee DFSP tpsim does not simulate.

A Mojaloop switch holds every transfer it forwards until the payee DFSP answers or the
transfer's ``expiration`` passes; then its timeout handler ends the transfer and tells both
DFSPs ``PUT /transfers/{ID}/error`` with 3303 "Transfer expired", and a fulfil arriving
later is refused with the same code. tpsim's payer DFSP reads its simulated payees' books
to end a transfer that was never answered (``transaction_timers``); an external payee's
books are out of its sight, so the hub does what Mojaloop's does (central-ledger's prepare,
fulfil and timeout handlers). A held transfer's states, one table (``core.states``):

    HELD ─answer→ ANSWERED      the payee's PUT /transfers/{ID}[/error] to the payer, in time
    HELD ─expire→ EXPIRED       the expiration passed first: 3303 to the payer and the payee

What arrives about it:

    POST /transfers to an external payee   held (``prepared``), a timer at its expiration;
                                           expired already: refused (3303 to the payer)
      the same again (payer and body)      HELD: ignored, not forwarded (the first is on its
                                           way); ANSWERED: the payee's answer told the payer
                                           again, from the hub; EXPIRED: 3303
      its transferId, another body/payer   refused (3106), not forwarded
    PUT /transfers/{ID}[/error]            from another participant than the payee, or
                                           to another than the payer: refused (3100, as
                                           central-ledger's "FSPIOP-Source does not match
                                           payee fsp"); at or after the expiration, whether
                                           or not the timer ran yet: refused (3303); else
                                           let through (``answered``)

A ``POST /transfers`` the payee did not take (unreachable, or answered 4xx/5xx) stays held:
Mojaloop's notification handler only logs a failed delivery, and the transfer, reserved,
ends at its expiration. What the hub holds is a record (kind ``{hub}/transfers``), so a
restart with ``--state`` carries on: ``rearm`` sets the timers again, and one whose
expiration passed while tpsim was stopped fires at once; an ended transfer is remembered
``behaviour.retention_s`` (for resends and late answers).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from tpsim.core.records import Records, evolvable
from tpsim.core.states import next_state
from tpsim.mojaloop.errors import FspiopError, ModifiedRequest, TransferExpired, ValidationError
from tpsim.mojaloop.message import Effects, Message, Timer
from tpsim.mojaloop.roles.common import format_datetime, parse_datetime
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.wire.models import TransfersPostRequest

PREFIX = "transfer:"  # the timer keys of the hub's transfers


class HoldState(StrEnum):
    HELD = "HELD"
    ANSWERED = "ANSWERED"
    EXPIRED = "EXPIRED"


class HoldEvent(StrEnum):
    ANSWER = "answer"
    EXPIRE = "expire"


TABLE = {
    (HoldState.HELD, HoldEvent.ANSWER): HoldState.ANSWERED,
    (HoldState.HELD, HoldEvent.EXPIRE): HoldState.EXPIRED,
}
TERMINAL = frozenset({HoldState.ANSWERED, HoldState.EXPIRED})


@evolvable  # kept in --state files
@dataclasses.dataclass(slots=True)
class HeldTransfer:
    """A transfer the hub forwarded to an external payee DFSP: ``request`` is the body of
    its ``POST /transfers`` (a resend is the same body from the same payer), ``answer`` the
    payee's (``PUT /transfers/{ID}`` or, ``refused``, its ``/error``) once ANSWERED."""

    transfer_id: str
    payer: str
    payee: str
    expiration: datetime
    request: dict[str, Any] | None = None
    state: HoldState = HoldState.HELD
    answer: dict[str, Any] | None = None
    refused: bool = False

    def advance(self, event: HoldEvent) -> None:
        what = f"transfer {self.transfer_id}"
        self.state = next_state(TABLE, TERMINAL, self.state, event, what=what)


class Prepared(NamedTuple):
    """What the hub does with a ``POST /transfers``: ``effects`` (the hold's timer, or the
    payee's answer told the payer again), and whether it is forwarded; ``why`` not."""

    effects: Effects
    forward: bool = True
    why: str | None = None


class HubTransfers:
    """The transfers the hub holds for their payee DFSPs' answers."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        self._held: Records[HeldTransfer] = ctx.records("transfers")

    def prepared(self, message: Message) -> Prepared:
        """Hold the ``POST /transfers`` on its way to an external payee until its expiration,
        or say what becomes of a resend (the module docstring). Raises ``TransferExpired``
        for a transfer expired already (or a resend of one the hub expired) and
        ``ModifiedRequest`` for its transferId with another body or payer: not forwarded."""
        try:
            request: TransfersPostRequest = message.model()
        except FspiopError:  # a rule's unchecked override: the payee refuses it
            return Prepared(Effects())
        transfer_id = request.transferId
        known = self._held.get(transfer_id)
        if known is not None:
            return self._resent(known, message)
        expiration = parse_datetime(request.expiration)
        if expiration is None or not message.destination:
            return Prepared(Effects())
        if expiration <= self.ctx.clock.now():
            raise TransferExpired(
                f"transfer {transfer_id} expired at {request.expiration}, before the switch"
                " received it: send it again with a later expiration"
            )
        held = HeldTransfer(
            transfer_id, message.source, message.destination, expiration, message.body
        )
        self._held.put(transfer_id, held)
        return Prepared(Effects(timers=[Timer(PREFIX + transfer_id, expiration)]))

    def _resent(self, held: HeldTransfer, message: Message) -> Prepared:
        """A ``POST /transfers`` with the transferId of one the hub holds or ended."""
        if (message.source, message.body) != (held.payer, held.request):
            raise ModifiedRequest(
                f"transfer {held.transfer_id} from {held.payer} to {held.payee} was already"
                " received with another body or from another payer: use a new transferId"
            )
        match held.state:
            case HoldState.HELD:
                why = f"a resend of transfer {held.transfer_id}, on its way to {held.payee}"
                return Prepared(Effects(), False, f"{why}: ignored")
            case HoldState.ANSWERED:
                path = f"/transfers/{held.transfer_id}" + ("/error" if held.refused else "")
                again = self.ctx.message("PUT", path, to=held.payer, body=held.answer)
                why = f"a resend of transfer {held.transfer_id}, which {held.payee} answered"
                return Prepared(Effects(messages=[again]), False, f"{why}: its answer told again")
            case HoldState.EXPIRED:
                raise self._expired(held)

    def refusal(self, message: Message, transfer_id: str) -> FspiopError | None:
        """Why the switch refuses an external participant's ``PUT /transfers/{ID}[/error]``
        about a transfer it holds or ended (None: not such a transfer, or let through)."""
        held = self._held.get(transfer_id)
        if held is None:
            return None
        if message.source != held.payee:
            return ValidationError(
                f"FSPIOP-Source {message.source} is not the payee DFSP of transfer"
                f" {transfer_id}: only {held.payee} answers it",
                field="FSPIOP-Source",
            )
        if held.state is HoldState.EXPIRED or (
            held.state is HoldState.HELD and held.expiration <= self.ctx.clock.now()
        ):
            return self._expired(held)
        if message.destination != held.payer:
            return ValidationError(
                f"FSPIOP-Destination {message.destination} is not the payer DFSP of transfer"
                f" {transfer_id}: address the answer to {held.payer}",
                field="FSPIOP-Destination",
            )
        return None

    def holds(self, transfer_id: str) -> bool:
        """Whether the hub holds ``transfer_id`` for its payee's answer."""
        held = self._held.get(transfer_id)
        return held is not None and held.state is HoldState.HELD

    def answered(self, message: Message, transfer_id: str) -> Effects:
        """The payee answered in time (``refusal`` found nothing to refuse): the hold ends,
        its answer kept for a resend."""
        held = self._held.get(transfer_id)
        if held is None or held.state is not HoldState.HELD:
            return Effects()
        held.advance(HoldEvent.ANSWER)
        held.answer = message.body
        held.refused = message.route is not None and message.route.is_error_callback
        self._ended(held)
        return Effects(cancel=[PREFIX + transfer_id])

    def on_timer(self, key: str) -> Effects:
        """The expiration passed with no answer: both DFSPs are told 3303."""
        held = self._held.get(key.removeprefix(PREFIX))
        if held is None or held.state is not HoldState.HELD:
            return Effects()
        held.advance(HoldEvent.EXPIRE)
        self._ended(held)
        path, error = f"/transfers/{held.transfer_id}", self._expired(held)
        told = [self.ctx.error(path, error, to=fsp_id) for fsp_id in (held.payer, held.payee)]
        return Effects(messages=told)

    def rearm(self) -> Effects:
        """The timers of the transfers still held (after a restart: timers die with the
        process); one past its expiration fires at once."""
        timers = [
            Timer(PREFIX + h.transfer_id, h.expiration)
            for h in self._held
            if h.state is HoldState.HELD
        ]
        return Effects(timers=timers)

    def _ended(self, held: HeldTransfer) -> None:
        self._held.put(held.transfer_id, held)
        self._held.end(held.transfer_id, at=self.ctx.clock.now())

    @staticmethod
    def _expired(held: HeldTransfer) -> TransferExpired:
        return TransferExpired(
            f"transfer {held.transfer_id} expired at {format_datetime(held.expiration)} before"
            f" {held.payee} answered: the switch aborted it and told {held.payer}"
        )


def nothing_held(transfer_id: str) -> bool:
    """A hub that holds no transfer (``recover``'s default: no hub, or none of its own)."""
    return False
