"""What the payer DFSP checks of a Third Party transaction request before it asks for a quote.

In this order, each refusal naming the field and what to fix: a readable, future
``expiration``; a payee DFSP to route the quote to; a payer that is a ``THIRD_PARTY_LINK``
this PISP's ACTIVE consent grants ``ACCOUNTS_TRANSFER`` on; an account of this DFSP in the
request's currency; for a SEND amount, the funds. A refused request fails with
``PUT /thirdpartyRequests/transactions/{ID}/error`` (``roles/transactions.py``).
"""

from __future__ import annotations

from decimal import Decimal

from tpsim.core import errors as refusals
from tpsim.core.bank import Account
from tpsim.mojaloop.errors import (
    ConsentNotValid,
    ConsentOfAnotherPisp,
    InsufficientFunds,
    PayeeFspNotFound,
    PayerPermissionError,
    PayerUnsupportedCurrency,
    TransactionRequestExpired,
    TransactionRequestInvalid,
    UnknownThirdPartyLink,
    ValidationError,
)
from tpsim.mojaloop.roles.common import format_amount
from tpsim.mojaloop.roles.consent_state import Consent
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.states import LinkState
from tpsim.mojaloop.roles.transaction_state import Transaction
from tpsim.mojaloop.wire.models import AmountType, PartyIdType, ScopeAction


def check_request(ctx: RoleContext, tx: Transaction) -> Account:
    """The payer's account at this DFSP (``ctx``) that pays ``tx``, once every check passed;
    then ``tx`` names its consent and payer address. Raises the first check's
    ``FspiopError`` that fails (the module docstring)."""
    request = tx.model
    if tx.request_expiry is None:
        raise ValidationError(
            f"{request.expiration!r} is not a date-time such as 2030-01-01T00:00:00.000Z",
            field="expiration",
        )
    if tx.request_expiry <= ctx.clock.now():
        raise TransactionRequestExpired(f"the request expired at {request.expiration}")
    if not request.payee.partyIdInfo.fspId:
        raise PayeeFspNotFound(
            "payee.partyIdInfo.fspId is required to route the quote: look the payee"
            " up with GET /parties first",
            field="payee.partyIdInfo.fspId",
        )
    payer = request.payer
    if payer.partyIdType is not PartyIdType.THIRD_PARTY_LINK:
        raise TransactionRequestInvalid(
            f"payer.partyIdType must be THIRD_PARTY_LINK, not {payer.partyIdType.value}",
            field="payer.partyIdType",
        )
    address = payer.partyIdentifier
    consent = ctx.state.consent_for_link(ctx.fsp_id, address, tx.pisp)
    if consent is None:
        raise UnknownThirdPartyLink(
            f"no consent at {ctx.fsp_id} links THIRD_PARTY_LINK {address}",
            field="payer.partyIdentifier",
        )
    if consent.pisp != tx.pisp:
        raise ConsentOfAnotherPisp(
            f"consent {consent.consent_id} was granted to another PISP, not {tx.pisp}",
            field="payer.partyIdentifier",
        )
    if consent.state is not LinkState.ACTIVE:
        raise ConsentNotValid(_not_linked(consent), field="payer.partyIdentifier")
    if not consent.grants(address, ScopeAction.ACCOUNTS_TRANSFER):
        raise PayerPermissionError(
            f"consent {consent.consent_id} does not grant ACCOUNTS_TRANSFER on {address}",
            field="payer.partyIdentifier",
        )
    account = ctx.state.accounts.get(address)
    if account is None or account.fsp_id != ctx.fsp_id:
        raise UnknownThirdPartyLink(
            f"{ctx.fsp_id} holds no account {address}", field="payer.partyIdentifier"
        )
    amount = request.amount
    if amount.currency != account.currency:
        raise PayerUnsupportedCurrency(
            f"account {address} is in {account.currency}, not {amount.currency}",
            field="amount.currency",
        )
    available = ctx.state.bank.ledger.available(address)
    if request.amountType is AmountType.SEND and Decimal(amount.amount) > available:
        raise InsufficientFunds(
            f"account {address} holds {format_amount(available)} {account.currency}",
            field="amount.amount",
        )
    tx.consent_id = consent.consent_id
    tx.payer_address = address
    return account


def no_funds(ctx: RoleContext, refusal: refusals.InsufficientFunds) -> InsufficientFunds:
    """The error to send when the payer's account cannot cover a transfer (fees included)."""
    currency = ctx.state.accounts[refusal.account].currency
    return InsufficientFunds(
        f"the transfer of {format_amount(refusal.needed)} {currency} exceeds the"
        f" {format_amount(refusal.available)} held in {refusal.account}",
        field="amount.amount",
    )


def _not_linked(consent: Consent) -> str:
    """Why a consent that is not ACTIVE cannot pay yet, or any more."""
    if consent.state is LinkState.LINKING:
        return (
            f"consent {consent.consent_id} is not linked yet: the ALS is still registering its"
            " accounts (pay once the PISP is told the credential is VERIFIED)"
        )
    return f"consent {consent.consent_id} is {consent.state.value}"
