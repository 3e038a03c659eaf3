"""The switch's transfer timeout, for a payee DFSP tpsim does not simulate.

A Mojaloop switch holds every transfer it forwards until the payee DFSP answers or the
transfer's ``expiration`` passes; then its timeout handler ends the transfer and tells both
DFSPs ``PUT /transfers/{ID}/error`` with 3303 "Transfer expired", and a fulfil arriving
later is refused with the same code. tpsim's payer DFSP reads its simulated payees' books
to end a transfer that was never answered (``transaction_timers``); an external payee's
books are out of its sight, so the hub does what Mojaloop's does:

    POST /transfers to an external payee   held (``prepared``) until its expiration; one
                                           already expired is refused (3303 to the payer)
    PUT /transfers/{ID}[/error] from it    in time: let through, no longer held
                                           (``answered``); after the expiration: refused
                                           (``late``, 3303 to the payee), not forwarded
    the expiration passes first            3303 to the payer and to the payee (``on_timer``)

What the hub holds is a record (kind ``{hub}/transfers``), so a restart with ``--state``
carries on: ``rearm`` sets the timers again, and one whose expiration passed while tpsim
was stopped fires at once.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from tpsim.core.records import Records, evolvable
from tpsim.mojaloop.errors import FspiopError, TransferExpired
from tpsim.mojaloop.message import Effects, Message, Timer
from tpsim.mojaloop.roles.common import format_datetime, parse_datetime
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.wire.models import TransfersPostRequest

PREFIX = "transfer:"  # the timer keys of the hub's transfers


@evolvable  # kept in --state files
@dataclasses.dataclass(slots=True)
class HeldTransfer:
    """A transfer the hub forwarded to an external payee DFSP and has not seen end."""

    transfer_id: str
    payer: str
    payee: str
    expiration: datetime
    expired: bool = False


class HubTransfers:
    """The transfers the hub holds for their payee DFSPs' answers."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        self._held: Records[HeldTransfer] = ctx.records("transfers")

    def prepared(self, message: Message) -> Effects:
        """Hold the ``POST /transfers`` on its way to an external payee until its expiration
        (a resend keeps the first one's). Raises ``TransferExpired`` for a transfer expired
        already: it is not forwarded."""
        try:
            request: TransfersPostRequest = message.model()
        except FspiopError:  # a rule's unchecked override: the payee refuses it
            return Effects()
        transfer_id = request.transferId
        expiration = parse_datetime(request.expiration)
        if transfer_id in self._held or expiration is None or not message.destination:
            return Effects()
        if expiration <= self.ctx.clock.now():
            raise TransferExpired(
                f"transfer {transfer_id} expired at {request.expiration}, before the switch"
                " received it: send it again with a later expiration"
            )
        held = HeldTransfer(transfer_id, message.source, message.destination, expiration)
        self._held.put(transfer_id, held)
        return Effects(timers=[Timer(PREFIX + transfer_id, expiration)])

    def late(self, message: Message, transfer_id: str) -> FspiopError | None:
        """3303 for the payee's answer to a transfer the hub expired; None otherwise."""
        held = self._held.get(transfer_id)
        if held is None or not held.expired or message.source != held.payee:
            return None
        return TransferExpired(
            f"transfer {transfer_id} expired at {format_datetime(held.expiration)} before"
            f" {held.payee} answered: the switch aborted it and told {held.payer}"
        )

    def answered(self, message: Message, transfer_id: str) -> Effects:
        """The payee answered in time: the transfer is no longer the hub's to end."""
        held = self._held.get(transfer_id)
        if held is None or held.expired or message.source != held.payee:
            return Effects()
        self._held.drop(transfer_id)
        return Effects(cancel=[PREFIX + transfer_id])

    def on_timer(self, key: str) -> Effects:
        """The expiration passed with no answer: both DFSPs are told 3303."""
        transfer_id = key.removeprefix(PREFIX)
        held = self._held.get(transfer_id)
        if held is None or held.expired:
            return Effects()
        held.expired = True
        self._held.put(transfer_id, held)
        self._held.end(transfer_id, at=self.ctx.clock.now())  # late answers refused meanwhile
        error = TransferExpired(
            f"transfer {transfer_id} expired at {format_datetime(held.expiration)} before"
            f" the payee DFSP {held.payee} answered: the switch aborted it"
        )
        path = f"/transfers/{transfer_id}"
        told = [self.ctx.error(path, error, to=fsp_id) for fsp_id in (held.payer, held.payee)]
        return Effects(messages=told)

    def rearm(self) -> Effects:
        """The timers of the transfers still held (after a restart: timers die with the
        process); one past its expiration fires at once."""
        timers = [Timer(PREFIX + h.transfer_id, h.expiration) for h in self._held if not h.expired]
        return Effects(timers=timers)
