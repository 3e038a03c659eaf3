"""When the payer DFSP stops waiting, and what it tells the PISP then.

Before any money moves, a transaction waits three times, each with its own timer
(``Timer("{wait}:{request id}")``):

    wait            for                                    until
    quote           PUT /quotes from the payee DFSP        quote_expiry_s, or the request's
                                                           expiration if sooner
    authorization   PUT …/authorizations from the PISP     authorization_timeout_s, or the
                                                           request's or quote's expiration
    verification    PUT …/verifications from the           authorization_timeout_s, or the
                    auth-service                           request's expiration

A timer that fires while the transaction still waits for that answer fails it; one that
fires after the answer came does nothing; one that fires before its deadline (the wall
clock stepped back after it was set) is set again at the deadline
(``Transaction.deadline``), as the settler's is. Once the transfer is sent, a fourth wait:

    transfer        PUT /transfers from the payee DFSP     the transfer's expiration (the
                                                           quote's; the request's under the
                                                           reference profile), when tpsim
                                                           simulates the payee DFSP

The payee DFSP may commit the transfer up to its expiration and its answer may arrive
later still, so failing it then without knowing (giving the debit back) could create
money. A simulated payee shares the ledger: at the expiration the payer DFSP reads there
whether it credited the transfer (its ``PUT /transfers`` was lost or is late: the
transaction completes), or not (it never will, it refuses an expired transfer: the
transaction fails), as ``PayerDfsp.recover`` does after a restart. For a payee tpsim does
not simulate, the transaction waits for its answer, as a Mojaloop payer DFSP waits for
the hub's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tpsim.config_settings import BehaviourConfig
from tpsim.mojaloop.errors import (
    AuthorizationTimedOut,
    DownstreamFailure,
    FspiopError,
    QuoteExpired,
    TransactionRequestExpired,
    TransferFailed,
    VerificationFailed,
)
from tpsim.mojaloop.message import Timer
from tpsim.mojaloop.roles.common import format_datetime
from tpsim.mojaloop.roles.transaction_state import Transaction, TxEvent, TxState

WAITING = {
    "quote": TxState.QUOTING,
    "authorization": TxState.AUTHORIZING,
    "verification": TxState.VERIFYING,
    "transfer": TxState.TRANSFERRING,
}


def key(wait: str, tx: Transaction) -> str:
    return f"{wait}:{tx.request_id}"


def timer(wait: str, tx: Transaction, *, now: datetime, behaviour: BehaviourConfig) -> Timer:
    """The timer of ``wait`` (a key of ``WAITING``), starting ``now``."""
    quote_wait = now + timedelta(seconds=behaviour.quote_expiry_s)
    if wait == "transfer":
        return Timer(key(wait, tx), tx.transfer_expiration(behaviour.profile)[1] or quote_wait)
    if wait == "quote":
        deadline = _soonest(quote_wait, tx.request_expiry)
    else:
        timeout = now + timedelta(seconds=behaviour.authorization_timeout_s)
        expiries = (tx.request_expiry, tx.quote_expiry if wait == "authorization" else None)
        deadline = _soonest(timeout, *expiries)
    return Timer(key(wait, tx), deadline)


def expired(
    wait: str, tx: Transaction, *, now: datetime, behaviour: BehaviourConfig
) -> tuple[FspiopError, TxEvent]:
    """What the PISP is told when ``wait`` ran out, and the event that ends the transaction."""
    payee = tx.payee_fsp
    if wait == "quote":
        text = f"no PUT /quotes/{tx.quote_id} from {payee} by {format_datetime(now)}"
        return DownstreamFailure(text), TxEvent.FAILED
    if wait == "transfer":
        text = f"no PUT /transfers/{tx.transaction_id} from {payee} by {format_datetime(now)}"
        return TransferFailed(f"{text}: the transfer expired"), TxEvent.ABORTED
    if wait == "verification":
        path = f"/thirdpartyRequests/verifications/{tx.verification_id}"
        return VerificationFailed(f"no PUT {path} by {format_datetime(now)}"), TxEvent.FAILED
    if tx.request_expiry is not None and tx.request_expiry <= now:
        return TransactionRequestExpired(
            f"the request expired at {tx.model.expiration} before the PISP authorized it"
        ), TxEvent.EXPIRED
    if tx.quote_model is not None and tx.quote_expiry is not None and tx.quote_expiry <= now:
        return QuoteExpired(
            f"the quote expired at {tx.quote_model.expiration} before the PISP authorized it"
        ), TxEvent.EXPIRED
    seconds = behaviour.authorization_timeout_s
    return AuthorizationTimedOut(
        f"no PUT /thirdpartyRequests/authorizations/{tx.authorization_id} within {seconds:g} s"
    ), TxEvent.EXPIRED


def _soonest(first: datetime, *others: datetime | None) -> datetime:
    return min([first, *(other for other in others if other is not None)])
