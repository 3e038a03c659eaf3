"""The debtor bank's side of a settlement through the switch (``core.settlement``).

A payment whose creditor is at another bank is settled as a DFSP would pay it (FSPIOP
quotes §6.5 and transfers §6.7), by the simulated DFSP that holds the debtor's account:

    start(request)                      → POST /quotes to request.to_bank
    PUT /quotes/{ID}                    → POST /transfers on the quote's terms
    PUT /transfers/{ID} COMMITTED       → SETTLED: the reserved debit is committed
    PUT /transfers/{ID} (other state),
    PUT /quotes/{ID}/error,
    PUT /transfers/{ID}/error,
    the quote's timer                   → FAILED, with the reason: the debit is released
                                          (SETTLED when the shared ledger shows the
                                          transfer credited: see ``_conclude``)

The intent is EXECUTING (its debit reserved) before it gets here; the outcome is applied
by ``Payments.conclude`` and then reported to the listener given at construction. A
settlement waits for the quote until the quote request's expiration
(``behaviour.quote_expiry_s`` from now). Once POST /transfers is sent, the creditor's bank
may commit the transfer up to its expiration and its answer may come later still, so
failing it without knowing (giving the debit back) could create money. A simulated
creditor's bank shares the ledger and refuses an expired transfer: at the transfer's
expiration (the quote's) the ledger says whether it was credited (SETTLED: its answer was
lost) or not (FAILED), as after a restart (``recover``). For a bank tpsim does not
simulate the settlement waits for the answer, as a transaction does
(``transaction_timers``): the hub holds the transfer and tells 3303 at its expiration
(``hub_transfers``), also after a restart. Its record is indexed by quote id while
QUOTING and by transfer id while TRANSFERRING, and dropped once concluded, so a callback
after that finds nothing here and gets the DFSP's usual "unknown id" answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tpsim.config import is_iban
from tpsim.core.errors import StateRefused, UnknownPayment
from tpsim.core.payment import PaymentEvent, Payments
from tpsim.core.records import Records
from tpsim.core.settlement import SettlementOutcome, SettlementRequest, SettlementResult
from tpsim.mojaloop.errors import (
    FspiopError,
    QuoteExpired,
    QuoteNotFound,
    TransferNotFound,
    ValidationError,
)
from tpsim.mojaloop.message import Effects, Message, Timer
from tpsim.mojaloop.roles.common import (
    downstream_error,
    format_amount,
    format_datetime,
    parse_datetime,
)
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.hub_transfers import nothing_held
from tpsim.mojaloop.wire.models import (
    AmountType,
    PartyIdType,
    QuotesIDPutResponse,
    TransactionInitiator,
    TransactionInitiatorType,
    TransactionScenario,
    TransfersIDPutResponse,
    TransferState,
)

Listener = Callable[[SettlementResult], None]

TIMER_PREFIX = "settlement:"
# FSPIOP v1.1 §7.5.6 MSISDN (E.164 digits, no "+").
_MSISDN = re.compile(r"^[1-9]\d{4,14}$")
# The party id types an FSPIOP quote may name a payee by (no CONSENT, THIRD_PARTY_LINK).
_FSPIOP_TYPES = frozenset(PartyIdType) - {PartyIdType.CONSENT, PartyIdType.THIRD_PARTY_LINK}


class Phase(StrEnum):
    QUOTING = "QUOTING"
    TRANSFERRING = "TRANSFERRING"


@dataclass(slots=True)
class Settling:
    """One settlement in flight: what was asked, the Mojaloop ids it goes by, its deadline.

    ``transfer_id`` is also the quote's ``transactionId``, so the journal links the quote
    and the transfer into one conversation.
    """

    request: SettlementRequest
    quote_id: str
    transfer_id: str
    deadline: datetime
    phase: Phase = Phase.QUOTING


def payee_party(creditor: str) -> tuple[PartyIdType, str]:
    """How the quote names ``creditor`` at the creditor's bank.

    ``TYPE identifier`` (as the payer DFSP writes an intent's creditor, ``MSISDN 1613…``)
    names its type; otherwise an MSISDN is an MSISDN, an IBAN an IBAN, and anything else an
    account address (ACCOUNT_ID). The creditor's bank resolves it among its parties.
    """
    kind, _, identifier = creditor.partition(" ")
    if identifier and kind in _FSPIOP_TYPES:
        return PartyIdType(kind), identifier
    if _MSISDN.match(creditor):
        return PartyIdType.MSISDN, creditor
    if is_iban(creditor):
        return PartyIdType.IBAN, creditor
    return PartyIdType.ACCOUNT_ID, creditor


class Settler:
    """Settlements started at one simulated DFSP (the debtor's bank)."""

    def __init__(self, ctx: RoleContext, report: Listener | None = None) -> None:
        self.ctx = ctx
        self._report = report
        # Settlements under way, by intent id; "quote:{ID}" and "transfer:{ID}" are aliases.
        self._settling: Records[Settling] = ctx.records("settlements")

    @property
    def payments(self) -> Payments:
        return self.ctx.state.bank.payments

    # -- which messages are ours -------------------------------------------------------

    def owns_quote(self, quote_id: str) -> bool:
        """Whether ``quote_id`` is the quote of a settlement waiting for it."""
        return self._waiting("quote", quote_id, Phase.QUOTING) is not None

    def owns_transfer(self, transfer_id: str) -> bool:
        """Whether ``transfer_id`` is the transfer of a settlement waiting for it."""
        return self._waiting("transfer", transfer_id, Phase.TRANSFERRING) is not None

    @staticmethod
    def owns_timer(key: str) -> bool:
        return key.startswith(TIMER_PREFIX)

    # -- start → POST /quotes ----------------------------------------------------------

    def start(self, request: SettlementRequest) -> Effects:
        """Quote ``request`` at its creditor's bank; the timer ends it at the deadline.

        Refused (``UnknownPayment``, ``StateRefused``) unless the intent exists, is
        EXECUTING and is not being settled already; ``request.from_bank`` is this DFSP.
        """
        self._check(request)
        now = self.ctx.clock.now()
        deadline = now + timedelta(seconds=self.ctx.config.behaviour.quote_expiry_s)
        settling = Settling(request, self.ctx.ids.new_id(), self.ctx.ids.new_id(), deadline)
        self._settling.put(request.intent_id, settling)
        self._settling.alias(f"quote:{settling.quote_id}", request.intent_id)
        quote = self._message("POST", "/quotes", settling, self._quote_request(settling))
        return Effects(messages=[quote], timers=[Timer(_timer_key(settling), deadline)])

    def _check(self, request: SettlementRequest) -> None:
        """The request is this bank's to settle now: its intent EXECUTING, not settling yet."""
        if request.from_bank != self.ctx.fsp_id:  # a caller's mistake: see serve.settlement
            raise TypeError(f"{self.ctx.fsp_id} cannot settle a payment of {request.from_bank}")
        intent = self.payments.get(request.intent_id)
        settling = self._settling.get(request.intent_id)
        if settling is not None:
            what = f"settlement of {intent.what}"
            raise StateRefused(what, settling.phase.value, "submit", final=False)
        intent.moved(PaymentEvent.SETTLE)  # only checked: settling needs EXECUTING

    def _quote_request(self, settling: Settling) -> dict[str, Any]:
        """``POST /quotes`` for the amount as sent (SEND: the payee's fees come off what
        the creditor receives, so the transfer is exactly the reserved debit)."""
        request = settling.request
        id_type, identifier = payee_party(request.creditor)
        return {
            "quoteId": settling.quote_id,
            "transactionId": settling.transfer_id,
            "payee": {
                "partyIdInfo": {
                    "partyIdType": id_type.value,
                    "partyIdentifier": identifier,
                    "fspId": request.to_bank,
                }
            },
            "payer": {
                "partyIdInfo": {
                    "partyIdType": PartyIdType.ACCOUNT_ID.value,
                    "partyIdentifier": request.debtor[:128],
                    "fspId": request.from_bank,
                }
            },
            "amountType": AmountType.SEND.value,
            "amount": {"currency": request.currency, "amount": format_amount(request.amount)},
            "transactionType": {
                "scenario": TransactionScenario.TRANSFER.value,
                "initiator": TransactionInitiator.PAYER.value,
                "initiatorType": TransactionInitiatorType.CONSUMER.value,
            },
            "expiration": format_datetime(settling.deadline),
        }

    # -- PUT /quotes → POST /transfers -------------------------------------------------

    def put_quote(self, message: Message, params: dict[str, str]) -> Effects:
        settling = self._answered("quote", Phase.QUOTING, message, QuoteNotFound)
        quote: QuotesIDPutResponse = message.model()
        refusal = self._unusable(settling, quote)
        if refusal is not None:
            effects = self._conclude(settling, SettlementOutcome.FAILED, refusal.detail)
            # Tell the creditor's bank its quote will not be used, so it can forget it.
            error = self.ctx.error(f"/quotes/{settling.quote_id}", refusal, to=message.source)
            return effects.extend(Effects(messages=[error]))
        expiry = parse_datetime(quote.expiration)
        assert expiry is not None  # noqa: S101 - checked by _unusable
        settling.phase, settling.deadline = Phase.TRANSFERRING, expiry
        intent_id = settling.request.intent_id
        self._settling.put(intent_id, settling)
        self._settling.alias(f"transfer:{settling.transfer_id}", intent_id)
        transfer = self._message("POST", "/transfers", settling, _transfer_request(settling, quote))
        # The deadline is now the transfer's expiration, where the ledger tells (module
        # docstring); with a bank tpsim does not simulate, none: its answer, or the hub's
        # 3303 at the expiration (hub_transfers), is awaited.
        effects = Effects(messages=[transfer], cancel=[_timer_key(settling)])
        if self._timed(settling):
            effects.timers.append(Timer(_timer_key(settling), expiry))
        return effects

    def _timed(self, settling: Settling) -> bool:
        """Whether a timer ends the settlement's wait: the quote's always; the transfer's
        only at a simulated creditor's bank, whose ledger then tells how it ended."""
        quoting = settling.phase is Phase.QUOTING
        return quoting or self.ctx.shares_ledger(settling.request.to_bank)

    def _unusable(self, settling: Settling, quote: QuotesIDPutResponse) -> FspiopError | None:
        """Why ``quote`` cannot settle the request (the transfer must move exactly the
        amount asked, before the quote expires), or None when it can."""
        request, amount = settling.request, quote.transferAmount
        if amount.currency != request.currency or Decimal(amount.amount) != request.amount:
            return ValidationError(
                f"the quote's transferAmount {amount.amount} {amount.currency} differs from"
                f" the {format_amount(request.amount)} {request.currency} being settled",
                field="transferAmount",
            )
        expiry = parse_datetime(quote.expiration)
        if expiry is None or expiry <= self.ctx.clock.now():
            return QuoteExpired(
                f"quote {settling.quote_id} expired at {quote.expiration}, before its transfer"
            )
        return None

    def put_quote_error(self, message: Message, params: dict[str, str]) -> Effects:
        settling = self._answered("quote", Phase.QUOTING, message, QuoteNotFound)
        who = self._who(message, "quote")
        return self._conclude(settling, SettlementOutcome.FAILED, _reason(who, message))

    # -- PUT /transfers → SETTLED | FAILED ---------------------------------------------

    def put_transfer(self, message: Message, params: dict[str, str]) -> Effects:
        settling = self._answered("transfer", Phase.TRANSFERRING, message, TransferNotFound)
        transfer: TransfersIDPutResponse = message.model()
        if transfer.transferState is TransferState.COMMITTED:
            return self._conclude(settling, SettlementOutcome.SETTLED)
        reason = f"{message.source}'s transfer is {transfer.transferState.value}"
        return self._conclude(settling, SettlementOutcome.FAILED, reason)

    def put_transfer_error(self, message: Message, params: dict[str, str]) -> Effects:
        settling = self._answered("transfer", Phase.TRANSFERRING, message, TransferNotFound)
        who = self._who(message, "transfer")
        return self._conclude(settling, SettlementOutcome.FAILED, _reason(who, message))

    # -- the deadline ------------------------------------------------------------------

    def on_timer(self, key: str) -> Effects:
        """The deadline passed with no answer: no quote, the settlement fails (funds
        released); no transfer answer, the ledger says how it ended (module docstring)."""
        settling = self._settling.get(key.removeprefix(TIMER_PREFIX))
        if settling is None:
            return Effects()  # answered meanwhile
        if self.ctx.clock.now() < settling.deadline:
            # Early (the wall clock stepped back since it was set, or the quote's timer
            # once transferring): the wait goes on, or nothing would ever end it.
            timed = self._timed(settling)
            return Effects(timers=[Timer(key, settling.deadline)] if timed else [])
        transferring = settling.phase is Phase.TRANSFERRING
        answer = (
            f"/transfers/{settling.transfer_id}" if transferring else f"/quotes/{settling.quote_id}"
        )
        deadline = format_datetime(settling.deadline)
        reason = f"no PUT {answer} from {settling.request.to_bank} by {deadline}"
        return self._conclude(settling, SettlementOutcome.FAILED, reason)

    # -- helpers -----------------------------------------------------------------------

    def _waiting(self, kind: str, key: str, phase: Phase) -> Settling | None:
        """The settlement whose ``kind`` id is ``key``, if it waits for that answer now."""
        settling = self._settling.find(f"{kind}:{key}")
        return settling if settling is not None and settling.phase is phase else None

    def _answered(
        self, kind: str, phase: Phase, message: Message, missing: type[FspiopError]
    ) -> Settling:
        """The settlement ``message`` answers (its path id, a ``kind`` id awaited in
        ``phase``), when it comes from the bank asked (or, for an error callback, from the
        switch that could not deliver the request); else ``missing``, as for an id this
        DFSP never sent."""
        key = message.params["ID"]
        settling = self._waiting(kind, key, phase)
        if settling is None or message.source not in self._answerers(settling, message):
            raise missing(f"{self.ctx.fsp_id} sent {message.source} no request for {key}")
        return settling

    def _answerers(self, settling: Settling, message: Message) -> set[str]:
        error_callback = message.route is not None and message.route.is_error_callback
        hub = {self.ctx.hub_name} if error_callback else set()
        return {settling.request.to_bank, *hub}

    def _who(self, message: Message, what: str) -> str:
        if message.source == self.ctx.hub_name:
            return "the switch"
        return f"{message.source}'s {what}"

    def _conclude(
        self, settling: Settling, outcome: SettlementOutcome, reason: str = ""
    ) -> Effects:
        """Apply the outcome to the intent, tell the listener, drop the records.

        A transfer the creditor's bank credited in the shared ledger is SETTLED whatever
        ended it here (a late answer's timer, a restart, an error callback to a resent
        ``POST /transfers``, an answer a rule turned ABORTED): giving the debit back while
        the credit stays would create money. An intent that ended meanwhile by another
        way (its dialect failed or cancelled it) refuses the outcome: the listener is told
        FAILED, with the refusal as the reason."""
        request = settling.request
        if outcome is SettlementOutcome.FAILED and self._credited(settling):
            outcome, reason = SettlementOutcome.SETTLED, ""
        result = SettlementResult(request.intent_id, outcome, reason)
        try:
            self.payments.conclude(result, at=self.ctx.clock.now())
        except (StateRefused, UnknownPayment) as refused:
            why = f"the payment could not take the outcome: {refused}"
            result = SettlementResult(request.intent_id, SettlementOutcome.FAILED, why)
        self._settling.drop(request.intent_id)
        if self._report is not None:
            self._report(result)
        return Effects(cancel=[_timer_key(settling)])

    def under_way(self) -> list[str]:
        """The intent ids of the settlements under way (kept, so also after a restart)."""
        return [settling.request.intent_id for settling in self._settling]

    def recover(
        self, held: Callable[[str], bool] = nothing_held, *, cause: str = "tpsim restarted"
    ) -> Effects:
        """After a restart: every settlement still under way ends (its timer and messages
        died with the process) and its listener is told. It fails, its funds released
        (``cause`` starts the reason), unless the creditor's bank (simulated, same ledger)
        had credited its transfer: then only ``PUT /transfers`` was lost, and it is
        settled. A transfer the hub holds for a bank tpsim does not simulate (``held``, by
        transfer id: ``HubTransfers.holds``) is still that bank's to commit: the bank's
        answer or its expiry ends it; one the hub never received fails."""
        effects = Effects()
        for settling in list(self._settling):
            if settling.phase is Phase.TRANSFERRING and held(settling.transfer_id):
                continue
            reason = f"{cause} while the settlement was under way"
            effects = effects.extend(self._conclude(settling, SettlementOutcome.FAILED, reason))
        return effects

    def _credited(self, settling: Settling) -> bool:
        """Whether the creditor's bank credited the settlement's transfer (a simulated
        bank credits under the transfer's id in the shared ledger)."""
        transferring = settling.phase is Phase.TRANSFERRING
        return transferring and self.ctx.state.bank.ledger.is_credited(settling.transfer_id)

    def _message(self, method: str, path: str, settling: Settling, body: dict[str, Any]) -> Message:
        """A message to the creditor's bank, tied in the journal to the intent's id."""
        request = settling.request
        return self.ctx.message(
            method, path, to=request.to_bank, body=body, related=(request.intent_id,)
        )


def _transfer_request(settling: Settling, quote: QuotesIDPutResponse) -> dict[str, Any]:
    """``POST /transfers`` on the quote's terms (its condition, ILP packet, expiration)."""
    request = settling.request
    return {
        "transferId": settling.transfer_id,
        "payeeFsp": request.to_bank,
        "payerFsp": request.from_bank,
        "amount": quote.transferAmount.model_dump(mode="json", by_alias=True, exclude_none=True),
        "ilpPacket": quote.ilpPacket,
        "condition": quote.condition,
        "expiration": quote.expiration,
    }


def _reason(who: str, message: Message) -> str:
    """An error callback as a settlement's failure reason: who answered, code and text."""
    return downstream_error(FspiopError, who, message).detail


def _timer_key(settling: Settling) -> str:
    return f"{TIMER_PREFIX}{settling.request.intent_id}"
