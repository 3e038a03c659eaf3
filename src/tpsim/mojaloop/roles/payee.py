"""The payee side of a simulated DFSP: parties, FSPIOP quotes and transfers.

Answers ``GET /parties`` from the party fixtures, prices ``POST /quotes`` with the
configured fee and commission, and credits the payee's account on ``POST /transfers``
whose condition matches a quote it issued (its fee less its commission going to its own
fee account: ``core.bank.Bank.book_fees``). The ILP packet is ours to define (the PISP
never sees it): base64url of the quote terms; the fulfilment is an HMAC of the packet.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tpsim.config import PartyConfig
from tpsim.config_settings import BehaviourConfig
from tpsim.core.records import Records
from tpsim.mojaloop.errors import (
    ClientError,
    PartyNotFound,
    PayeeRejectedQuote,
    PayeeUnsupportedCurrency,
    QuoteExpired,
    TransferExpired,
)
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.roles.common import format_amount, format_datetime, parse_datetime
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.wire.models import (
    AmountType,
    QuotesPostRequest,
    TransfersPostRequest,
    TransferState,
)


def party_body(party: PartyConfig) -> dict[str, Any]:
    """The FSPIOP ``Party`` for a party fixture."""
    id_info: dict[str, Any] = {
        "partyIdType": party.party_id_type,
        "partyIdentifier": party.party_identifier,
        "fspId": party.fsp_id,
    }
    if party.party_sub_id_or_type:
        id_info["partySubIdOrType"] = party.party_sub_id_or_type
    body: dict[str, Any] = {"partyIdInfo": id_info}
    if party.merchant_classification_code:
        body["merchantClassificationCode"] = party.merchant_classification_code
    if party.name:
        body["name"] = party.name
    names = {
        k: v
        for k, v in (
            ("firstName", party.first_name),
            ("middleName", party.middle_name),
            ("lastName", party.last_name),
        )
        if v
    }
    personal: dict[str, Any] = {}
    if names:
        personal["complexName"] = names
    if party.date_of_birth:
        personal["dateOfBirth"] = party.date_of_birth
    if personal:
        body["personalInfo"] = personal
    return body


@dataclass(frozen=True, slots=True)
class IssuedQuote:
    """A quote this DFSP gave, until the transfer that uses it (or its error) arrives."""

    quote_id: str
    payee: PartyConfig
    currency: str
    transfer_amount: Decimal
    receive_amount: Decimal
    fulfilment: str
    condition: str  # SHA-256 of the fulfilment: the key a transfer names the quote by
    expires_at: datetime
    expiration: str  # expires_at as the quote said it


class PayeeDfsp:
    """Payee behaviour of one simulated DFSP."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        # Open quotes by condition (their quote id an alias): forgotten when the transfer
        # or the quote's error arrives, or the retention after the quote expired.
        self._quotes: Records[IssuedQuote] = ctx.records("quotes")

    @property
    def behaviour(self) -> BehaviourConfig:
        return self.ctx.config.behaviour

    def get_party(self, message: Message, params: dict[str, str]) -> Effects:
        party = self.ctx.state.find_party(params["Type"], params["ID"], params.get("SubId"))
        if party is None or party.fsp_id != self.ctx.fsp_id:
            raise PartyNotFound(
                f"{params['Type']} {params['ID']} is not a party of {self.ctx.fsp_id}",
                field="partyIdentifier",
            )
        reply = self.ctx.message(
            "PUT", message.path, to=message.source, body={"party": party_body(party)}
        )
        return Effects(messages=[reply])

    def post_quote(self, message: Message, params: dict[str, str]) -> Effects:
        request: QuotesPostRequest = message.model()
        info = request.payee.partyIdInfo
        party = self.ctx.state.find_party(
            info.partyIdType.value, info.partyIdentifier, info.partySubIdOrType
        )
        if party is None or party.fsp_id != self.ctx.fsp_id:
            raise PartyNotFound(
                f"{info.partyIdType.value} {info.partyIdentifier} is not a party of"
                f" {self.ctx.fsp_id}",
                field="payee.partyIdInfo",
            )
        currency = request.amount.currency
        account = self.ctx.state.accounts.get(party.account or "")
        if account is not None and account.currency != currency:
            raise PayeeUnsupportedCurrency(
                f"the payee's account is in {account.currency}, the quote asks for {currency}",
                field="amount.currency",
            )
        transfer, receive = self._price(Decimal(request.amount.amount), request.amountType)
        expires_at = _whole_ms(
            self.ctx.clock.now() + timedelta(seconds=self.behaviour.quote_expiry_s)
        )
        expiration = format_datetime(expires_at)
        packet = _ilp_packet(request.quoteId, request.transactionId, currency, transfer)
        secret = hmac.new(self.ctx.fsp_id.encode(), packet.encode(), hashlib.sha256).digest()
        fulfilment, condition = _b64url(secret), _b64url(hashlib.sha256(secret).digest())
        fees = self.behaviour.payee_fees
        reply_body: dict[str, Any] = {
            "transferAmount": {"currency": currency, "amount": format_amount(transfer)},
            "payeeReceiveAmount": {"currency": currency, "amount": format_amount(receive)},
            "payeeFspFee": {"currency": currency, "amount": fees.fee},
            "payeeFspCommission": {"currency": currency, "amount": fees.commission},
            "expiration": expiration,
            "ilpPacket": packet,
            "condition": condition,
        }
        self._quotes.put(
            condition,
            IssuedQuote(
                request.quoteId,
                party,
                currency,
                transfer,
                receive,
                fulfilment,
                condition,
                expires_at,
                expiration,
            ),
        )
        self._quotes.alias(request.quoteId, condition)
        self._quotes.end(condition, at=expires_at)
        reply = self.ctx.message(
            "PUT", f"/quotes/{request.quoteId}", to=message.source, body=reply_body
        )
        return Effects(messages=[reply])

    def post_transfer(self, message: Message, params: dict[str, str]) -> Effects:
        request: TransfersPostRequest = message.model()
        quote = self._quotes.get(request.condition)
        if quote is None:
            raise ClientError(
                f"{self.ctx.fsp_id} issued no quote with this condition", field="condition"
            )
        amount = request.amount
        if amount.currency != quote.currency or Decimal(amount.amount) != quote.transfer_amount:
            raise ClientError(
                f"the transfer amount {amount.amount} {amount.currency} differs from"
                f" the quoted {format_amount(quote.transfer_amount)} {quote.currency}",
                field="amount",
            )
        now = self.ctx.clock.now()
        if quote.expires_at <= now:
            raise QuoteExpired(f"quote {quote.quote_id} expired at {quote.expiration}")
        expiry = parse_datetime(request.expiration) if request.expiration else None
        if expiry is not None and expiry <= now:  # the payer stops waiting then
            raise TransferExpired(f"transfer {request.transferId} expired at {request.expiration}")
        self._quotes.drop(request.condition)
        account = self.ctx.state.accounts.get(quote.payee.account or "")
        if account is not None:
            bank = self.ctx.state.bank
            bank.ledger.credit(
                account.address,
                quote.receive_amount,
                currency=quote.currency,
                ref=request.transferId,
                at=now,
            )
            # transferAmount = payeeReceiveAmount + payeeFspFee − payeeFspCommission: the
            # difference is this DFSP's (its fee earned, its commission paid), booked on
            # its fee account so the payer's debit equals what was credited.
            bank.book_fees(
                self.ctx.fsp_id,
                quote.transfer_amount - quote.receive_amount,
                currency=quote.currency,
                ref=request.transferId,
                at=now,
            )
        reply = self.ctx.message(
            "PUT",
            f"/transfers/{request.transferId}",
            to=message.source,
            body={
                "fulfilment": quote.fulfilment,
                "completedTimestamp": format_datetime(now),
                "transferState": TransferState.COMMITTED.value,
            },
        )
        return Effects(messages=[reply])

    def issued(self, quote_id: str) -> bool:
        """Whether this DFSP issued the (still open) quote ``quote_id``."""
        return self._quotes.find(quote_id) is not None

    def put_quote_error(self, message: Message, params: dict[str, str]) -> Effects:
        """The payer DFSP could not use our quote (its transaction failed): forget it."""
        quote = self._quotes.find(params["ID"])
        if quote is not None:
            self._quotes.drop(quote.condition)
        return Effects()

    def _price(self, amount: Decimal, amount_type: AmountType) -> tuple[Decimal, Decimal]:
        """(transferAmount, payeeReceiveAmount) under the configured fee and commission."""
        fee = Decimal(self.behaviour.payee_fees.fee)
        commission = Decimal(self.behaviour.payee_fees.commission)
        if amount_type is AmountType.SEND:
            transfer, receive = amount, amount - fee + commission
        else:
            transfer, receive = amount + fee - commission, amount
        if receive <= 0 or transfer <= 0:
            raise PayeeRejectedQuote(
                f"fees of {fee} leave nothing to transfer for {format_amount(amount)}",
                field="amount",
            )
        return transfer, receive


def _whole_ms(moment: datetime) -> datetime:
    """``moment`` as an FSPIOP DateTime says it: to the millisecond."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _ilp_packet(quote_id: str, transaction_id: str, currency: str, amount: Decimal) -> str:
    terms = {"quoteId": quote_id, "transactionId": transaction_id, "currency": currency}
    terms["amount"] = format_amount(amount)
    return _b64url(json.dumps(terms, sort_keys=True, separators=(",", ":")).encode())
