"""The switch's transfer timeout, for a payee DFSP tpsim does not simulate.

A Mojaloop switch holds every transfer it forwards until the payee DFSP answers or the
transfer's ``expiration`` passes; then its timeout handler ends the transfer and tells both
DFSPs ``PUT /transfers/{ID}/error`` with 3303 "Transfer expired", and a fulfil arriving
later is refused with the same code. tpsim's payer DFSP reads its simulated payees' books
to end a transfer that was never answered (``transaction_timers``); an external payee's
books are out of its sight, so the hub does what Mojaloop's does:

    POST /transfers to an external payee   held (``prepared``) until its expiration; one
                                           already expired is refused (3303 to the payer);
                                           the same again is let through while held, told
                                           3303 once expired; its transferId with another
                                           body or payer is refused (3106), not forwarded
    PUT /transfers/{ID}[/error] from it    in time, to the payer: let through, no longer
                                           held (``answered``); at or after the expiration
                                           (the clock says, whether or not the timer ran
                                           yet): refused (``refusal``, 3303 to the payee),
                                           not forwarded; to another participant: refused
                                           (3100), still held
    … from another external participant   refused (3100, central-ledger's "FSPIOP-Source
                                           does not match payee fsp"), not forwarded
    the expiration passes first            3303 to the payer and to the payee (``on_timer``)

What the hub holds is a record (kind ``{hub}/transfers``), so a restart with ``--state``
carries on: ``rearm`` sets the timers again, and one whose expiration passed while tpsim
was stopped fires at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime

from tpsim.core.records import Records, evolvable
from tpsim.mojaloop.errors import FspiopError, ModifiedRequest, TransferExpired, ValidationError
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
    fingerprint: str = ""  # of its payer and body: a resend is the same, a reuse is not


class HubTransfers:
    """The transfers the hub holds for their payee DFSPs' answers."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        self._held: Records[HeldTransfer] = ctx.records("transfers")

    def prepared(self, message: Message) -> Effects:
        """Hold the ``POST /transfers`` on its way to an external payee until its expiration
        (a resend keeps the first one's). Raises ``TransferExpired`` for a transfer expired
        already, or a resend of one the hub expired, and ``ModifiedRequest`` for its
        transferId with another body or payer (FSPIOP v1.1 §3.2.5, central-ledger's
        duplicate check): neither is forwarded."""
        try:
            request: TransfersPostRequest = message.model()
        except FspiopError:  # a rule's unchecked override: the payee refuses it
            return Effects()
        transfer_id = request.transferId
        expiration = parse_datetime(request.expiration)
        fingerprint = _fingerprint(message)
        known = self._held.get(transfer_id)
        if known is not None:
            return self._resent(known, fingerprint)
        if expiration is None or not message.destination:
            return Effects()
        if expiration <= self.ctx.clock.now():
            raise TransferExpired(
                f"transfer {transfer_id} expired at {request.expiration}, before the switch"
                " received it: send it again with a later expiration"
            )
        held = HeldTransfer(
            transfer_id, message.source, message.destination, expiration, False, fingerprint
        )
        self._held.put(transfer_id, held)
        return Effects(timers=[Timer(PREFIX + transfer_id, expiration)])

    def _resent(self, held: HeldTransfer, fingerprint: str) -> Effects:
        """A ``POST /transfers`` with the transferId of one the hub holds or expired."""
        if held.fingerprint and fingerprint != held.fingerprint:
            raise ModifiedRequest(
                f"transfer {held.transfer_id} from {held.payer} to {held.payee} was already"
                " received with another body or from another payer: use a new transferId"
            )
        if held.expired:
            raise TransferExpired(
                f"transfer {held.transfer_id} expired at {format_datetime(held.expiration)}"
                " and the switch aborted it: a resend cannot revive it"
            )
        return Effects()  # the same again, while held: the payee answers it as the first

    def refusal(self, message: Message, transfer_id: str) -> FspiopError | None:
        """Why the switch refuses an external participant's ``PUT /transfers/{ID}[/error]``
        about a transfer it holds or expired (None: not such a transfer, or let through):
        it is not the payee's (3100), it is late (3303: the expiration has passed, whether
        or not the timer has run), or addressed to another participant than the payer
        (3100: the switch tells the transfer's payer)."""
        held = self._held.get(transfer_id)
        if held is None:
            return None
        if message.source != held.payee:
            return ValidationError(
                f"FSPIOP-Source {message.source} is not the payee DFSP of transfer"
                f" {transfer_id}: only {held.payee} answers it",
                field="FSPIOP-Source",
            )
        if held.expired or held.expiration <= self.ctx.clock.now():
            return TransferExpired(
                f"transfer {transfer_id} expired at {format_datetime(held.expiration)} before"
                f" {held.payee} answered: the switch aborted it and told {held.payer}"
            )
        if message.destination != held.payer:
            return ValidationError(
                f"FSPIOP-Destination {message.destination} is not the payer DFSP of transfer"
                f" {transfer_id}: address the answer to {held.payer}",
                field="FSPIOP-Destination",
            )
        return None

    def holds(self, transfer_id: str) -> bool:
        """Whether the hub holds ``transfer_id`` for its payee's answer (not expired yet)."""
        held = self._held.get(transfer_id)
        return held is not None and not held.expired

    def answered(self, message: Message, transfer_id: str) -> Effects:
        """The payee answered in time (``refusal`` found nothing to refuse): the transfer is
        no longer the hub's to end."""
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


def _fingerprint(message: Message) -> str:
    """What makes two ``POST /transfers`` the same: their payer and body."""
    canonical = json.dumps([message.source, message.body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def nothing_held(transfer_id: str) -> bool:
    """A hub that holds no transfer (``recover``'s default: no hub, or none of its own)."""
    return False
