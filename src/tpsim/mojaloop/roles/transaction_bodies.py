"""The bodies the payer DFSP sends for a transaction, built from its ``Transaction``.

Objects the PISP or the payee DFSP sent (payee, payer, amounts, transactionType, the
signed payload) are copied from the raw bodies, so they go on byte-identical; what the
payer DFSP decides (ids, fees, expirations) comes from the typed models.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from tpsim.config_settings import Profile
from tpsim.mojaloop.roles.common import format_amount, format_datetime
from tpsim.mojaloop.roles.transaction_state import Transaction
from tpsim.mojaloop.wire.models import (
    PartyIdType,
    QuotesIDPutResponse,
    SignedPayloadType,
    TransactionRequestState,
    TransactionState,
)


def _quoted(tx: Transaction) -> QuotesIDPutResponse:
    assert tx.quote_model is not None  # noqa: S101 - only built once the quote arrived
    return tx.quote_model


def quote_request(tx: Transaction, *, payer_fsp: str, account: str) -> dict[str, Any]:
    """``POST /quotes`` to the payee's DFSP: the payer is ``account`` at ``payer_fsp``."""
    body = tx.request
    return {
        "quoteId": tx.quote_id,
        "transactionId": tx.transaction_id,
        "transactionRequestId": tx.request_id,
        "payee": body["payee"],
        "payer": {
            "partyIdInfo": {
                "partyIdType": PartyIdType.ACCOUNT_ID.value,
                "partyIdentifier": account[:128],
                "fspId": payer_fsp,
            }
        },
        "amountType": tx.model.amountType.value,
        "amount": body["amount"],
        "transactionType": body["transactionType"],
    }


def authorization_request(
    tx: Transaction, *, now: datetime, profile: Profile = Profile.SPEC
) -> dict[str, Any]:
    """``POST /thirdpartyRequests/authorizations`` without its ``challenge``: the quoted
    amounts, the fees they imply, and the earlier of the quote's and request's expiry
    (reference: the quote's ``expiration`` as the payee DFSP wrote it, digest §4.4 step 4)."""
    quote = _quoted(tx)
    transfer = tx.quote["transferAmount"]
    receive = quote.payeeReceiveAmount or quote.transferAmount
    fees = Decimal(quote.transferAmount.amount) - Decimal(receive.amount)
    expiry = tx.quote_expiry or now
    if profile is Profile.REFERENCE:
        expiration = quote.expiration
    else:
        expiration = format_datetime(min(expiry, tx.request_expiry or expiry))
    return {
        "authorizationRequestId": tx.authorization_id,
        "transactionRequestId": tx.request_id,
        "transferAmount": transfer,
        "payeeReceiveAmount": tx.quote.get("payeeReceiveAmount", transfer),
        "fees": {
            "currency": quote.transferAmount.currency,
            "amount": format_amount(max(fees, Decimal(0))),
        },
        "payer": tx.request["payer"],
        "payee": tx.request["payee"],
        "transactionType": tx.request["transactionType"],
        "expiration": expiration,
    }


def verification_request(
    tx: Transaction, kind: SignedPayloadType, signed: dict[str, Any]
) -> dict[str, Any]:
    """``POST /thirdpartyRequests/verifications``: the PISP's ``signed`` payload as sent."""
    body: dict[str, Any] = {
        "verificationRequestId": tx.verification_id,
        "challenge": tx.challenge,
        "consentId": tx.consent_id,
        "signedPayloadType": kind.value,
    }
    for name in ("fidoSignedPayload", "genericSignedPayload"):
        if name in signed:
            body[name] = signed[name]
    return body


def transfer_request(tx: Transaction, *, payer_fsp: str, profile: Profile) -> dict[str, Any]:
    """``POST /transfers`` on the quote's terms (its expiration: ``transfer_expiration``)."""
    quote = _quoted(tx)
    return {
        "transferId": tx.transaction_id,
        "payeeFsp": tx.payee_fsp,
        "payerFsp": payer_fsp,
        "amount": tx.quote["transferAmount"],
        "ilpPacket": quote.ilpPacket,
        "condition": quote.condition,
        "expiration": tx.transfer_expiration(profile)[0],
    }


def completed(*, now: datetime, profile: Profile) -> dict[str, Any]:
    """The final ``PATCH /thirdpartyRequests/transactions/{ID}`` of a committed transfer.

    The reference DFSP sends exactly ``{transactionRequestState: ACCEPTED,
    transactionState: COMPLETED}`` (thirdparty-sdk ``dfspTransaction.model.ts``, digest §4.4
    step 7); the spec's optional ``completedTimestamp`` is added only under ``spec``.
    """
    patch = {
        "transactionRequestState": TransactionRequestState.ACCEPTED.value,
        "transactionState": TransactionState.COMPLETED.value,
    }
    if profile is not Profile.REFERENCE:
        patch["completedTimestamp"] = format_datetime(now)
    return patch
