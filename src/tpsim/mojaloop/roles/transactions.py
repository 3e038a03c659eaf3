"""The payer DFSP's Third Party transaction (transfer patterns §3; digest §4.4).

    POST /thirdpartyRequests/transactions        validate → PUT {RECEIVED} → POST /quotes
    PUT /quotes/{ID}                             → POST /thirdpartyRequests/authorizations
    PUT /thirdpartyRequests/authorizations/{ID}  ACCEPTED → POST …/verifications (auth-service)
                                                 REJECTED → PATCH REJECTED (spec)
                                                          | error (reference)
    PUT /thirdpartyRequests/verifications/{ID}   → reserve the debit, POST /transfers
    PUT /transfers/{ID} COMMITTED                → commit the debit, PATCH {ACCEPTED, COMPLETED}

Each transaction is a core payment intent (``roles/transaction_state.py`` maps every step
onto it); the debit is reserved, committed and released through the core ledger. Terminal
states are final. Any failure sends ``PUT …/transactions/{ID}/error`` once. A transfer's
outcome is taken from its payee DFSP or the switch only (the PISP knows the transferId: it
is the transactionId); a quote in another currency than the request's is refused before
the user is asked to sign it. The request's checks are ``roles/transaction_checks.py``;
where the transactions are kept, found by any id of their conversation, and the final
callback are ``roles/transaction_book.py``.

After a restart with ``--state``, ``recover`` ends every transaction that was in flight:
its timer and the messages under way died with the process.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tpsim.auth.challenge import transaction_challenge
from tpsim.config_settings import Profile
from tpsim.core import errors as refusals
from tpsim.core.ledger import Ledger
from tpsim.core.payment import PaymentIntent, Payments, PaymentState
from tpsim.core.sca import ScaMethod
from tpsim.mojaloop.errors import (
    AuthorizationFailed,
    DownstreamFailure,
    FspiopError,
    InternalServerError,
    PispNotReached,
    TransactionRequestNotFound,
    TransferFailed,
    UserRejected,
    VerificationFailed,
)
from tpsim.mojaloop.message import Effects, Message, Timer
from tpsim.mojaloop.roles import transaction_bodies as bodies
from tpsim.mojaloop.roles import transaction_timers as timers
from tpsim.mojaloop.roles.common import downstream_error, parse_datetime
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.hub_transfers import nothing_held
from tpsim.mojaloop.roles.transaction_book import TransactionBook
from tpsim.mojaloop.roles.transaction_checks import check_request, no_funds
from tpsim.mojaloop.roles.transaction_state import (
    REQUEST_STATE,
    Transaction,
    TxEvent,
    TxState,
    state_of,
)
from tpsim.mojaloop.wire.models import (
    QuotesIDPutResponse,
    ThirdpartyRequestsAuthorizationsIDPutResponse,
    ThirdpartyRequestsAuthorizationsIDPutResponseRejected,
    ThirdpartyRequestsTransactionsPostRequest,
    TransactionRequestState,
    TransactionState,
    TransfersIDPutResponse,
    TransferState,
)


class PayerDfsp:
    """Third Party transactions of one simulated (payer) DFSP."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        self.book = TransactionBook(ctx)

    @property
    def payments(self) -> Payments:
        return self.ctx.state.bank.payments

    @property
    def ledger(self) -> Ledger:
        return self.ctx.state.bank.ledger

    # -- POST / GET /thirdpartyRequests/transactions ----------------------------------

    def post_transaction(self, message: Message, params: dict[str, str]) -> Effects:
        request: ThirdpartyRequestsTransactionsPostRequest = message.model()
        repeat = self.book.repeat(message, request.transactionRequestId)
        if repeat is not None:  # the same again: the final callback again, or nothing yet
            return repeat
        tx = self._receive(message, request)
        try:
            account = check_request(self.ctx, tx)
        except FspiopError as exc:
            return self.book.fail(tx, exc)
        tx.quote_id = self.ctx.ids.new_id()
        self.book.alias("quote", tx.quote_id, tx)
        received = self.book.message(
            "PUT",
            tx,
            {
                "transactionId": tx.transaction_id,
                "transactionRequestState": TransactionRequestState.RECEIVED.value,
            },
        )
        quote = self.ctx.message(
            "POST",
            "/quotes",
            to=request.payee.partyIdInfo.fspId,
            body=bodies.quote_request(tx, payer_fsp=self.ctx.fsp_id, account=account.address),
        )
        return Effects(messages=[received, quote], timers=[self._timer("quote", tx)])

    def get_transaction(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self.book.get(params["ID"])
        if tx is None or tx.pisp != message.source:
            # A transaction of another PISP is reported as unknown: its existence is not
            # theirs to see.
            raise TransactionRequestNotFound(
                f"{self.ctx.fsp_id} has no transaction request {params['ID']} from {message.source}"
            )
        state = REQUEST_STATE[state_of(self.payments, tx)]
        reply: dict[str, Any] = {"transactionRequestState": state.value}
        if tx.transaction_id:
            reply["transactionId"] = tx.transaction_id
        return Effects(messages=[self.book.message("PUT", tx, reply)])

    def _receive(
        self, message: Message, request: ThirdpartyRequestsTransactionsPostRequest
    ) -> Transaction:
        """A new transaction and its payment intent (RECEIVED), before any check."""
        payee = request.payee.partyIdInfo
        tx = Transaction(
            request.transactionRequestId,
            message.source,
            message.body or {},
            request,
            self.ctx.ids.new_id(),
            request_expiry=parse_datetime(request.expiration),
        )
        self.book.keep(tx)
        self.payments.receive(
            PaymentIntent(
                tx.transaction_id,
                debtor=request.payer.partyIdentifier,
                creditor=f"{payee.partyIdType.value} {payee.partyIdentifier}",
                amount=Decimal(request.amount.amount),
                currency=request.amount.currency,
                created_at=self.ctx.clock.now(),
                expires_at=tx.request_expiry,
            )
        )
        return tx

    # -- PUT /quotes → POST /thirdpartyRequests/authorizations -----------------------

    def put_quote(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self.book.find("quote", params["ID"])
        self._check_answer(tx, message, tx.payee_fsp, "quote")
        if tx.quote and message.body == tx.quote:
            # The same callback again (a resend, FSPIOP v1.1 §3.2.5): taken quietly. Refusing
            # it would send the payee PUT /quotes/{ID}/error, and it would drop the quote.
            return Effects()
        self.book.advance(tx, TxEvent.QUOTED)
        quote: QuotesIDPutResponse = message.model()
        tx.quote, tx.quote_model = message.body or {}, quote
        tx.quote_expiry = parse_datetime(quote.expiration)
        mismatch = _other_currency(tx, quote)
        if mismatch is not None:
            return self.book.fail(tx, mismatch)
        try:
            self.ledger.check_funds(tx.payer_address, Decimal(quote.transferAmount.amount))
        except refusals.InsufficientFunds as refusal:
            return self.book.fail(tx, no_funds(self.ctx, refusal))
        tx.authorization_id = self.ctx.ids.new_id()
        self.book.alias("authorization", tx.authorization_id, tx)
        auth_body = bodies.authorization_request(
            tx, now=self.ctx.clock.now(), profile=self.ctx.profile
        )
        tx.challenge = transaction_challenge(
            self.ctx.config.behaviour.challenge, quote=tx.quote, authorization_request=auth_body
        )
        auth_body["challenge"] = tx.challenge
        request = self.ctx.message(
            "POST", "/thirdpartyRequests/authorizations", to=tx.pisp, body=auth_body
        )
        return Effects(
            messages=[request],
            timers=[self._timer("authorization", tx)],
            cancel=[timers.key("quote", tx)],
        )

    def put_quote_error(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self.book.find("quote", params["ID"])
        self._check_answer(tx, message, tx.payee_fsp, "quote")
        error = downstream_error(DownstreamFailure, "the payee DFSP's quote", message)
        return self.book.fail(tx, error)

    def _timer(self, wait: str, tx: Transaction) -> Timer:
        behaviour = self.ctx.config.behaviour
        timer = timers.timer(wait, tx, now=self.ctx.clock.now(), behaviour=behaviour)
        tx.deadline = timer.at
        return timer

    def on_timer(self, key: str) -> Effects:
        """A wait ran out (``transaction_timers``): the transaction fails, if it still waits
        and its deadline has passed; a timer run before it is set again at it."""
        wait, _, request_id = key.partition(":")
        tx = self.book.get(request_id)
        if tx is None or state_of(self.payments, tx) is not timers.WAITING.get(wait):
            return Effects()
        now, behaviour = self.ctx.clock.now(), self.ctx.config.behaviour
        if tx.deadline is not None and now < tx.deadline:
            # Early (the wall clock stepped back since it was set): the payee may still
            # credit a transfer that has not expired; releasing its debit now creates money.
            return Effects(timers=[Timer(key, tx.deadline)])
        error, event = timers.expired(wait, tx, now=now, behaviour=behaviour)
        if event is TxEvent.ABORTED:
            return self._aborted(tx, error)  # the payee may have credited it: answer lost
        return self.book.fail(tx, error, event)

    # -- PUT /thirdpartyRequests/authorizations → verification -----------------------

    def put_authorization(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self.book.find("authorization", params["ID"])
        self._check_pisp(tx, message)
        answer: ThirdpartyRequestsAuthorizationsIDPutResponse = message.model()
        cancel = [timers.key("authorization", tx)]
        if isinstance(answer, ThirdpartyRequestsAuthorizationsIDPutResponseRejected):
            return self._rejected(tx).extend(Effects(cancel=cancel))
        signed_type = answer.signedPayload.signedPayloadType
        self.book.advance(tx, TxEvent.ACCEPTED, method=ScaMethod(signed_type.value))
        tx.verification_id = self.ctx.ids.new_id()
        self.book.alias("verification", tx.verification_id, tx)
        signed = (message.body or {})["signedPayload"]
        request = self.ctx.message(
            "POST",
            "/thirdpartyRequests/verifications",
            to=self.ctx.auth_service(),
            body=bodies.verification_request(tx, signed_type, signed),
            related=(tx.request_id,),
        )
        return Effects(messages=[request], cancel=cancel, timers=[self._timer("verification", tx)])

    def _rejected(self, tx: Transaction) -> Effects:
        """The user rejected the transaction: spec PATCH REJECTED, or the reference error."""
        self.book.advance(tx, TxEvent.REJECTED)
        if self.ctx.profile is Profile.REFERENCE:
            return self.book.to_pisp(tx, self.book.error(tx, UserRejected("user rejected")))
        patch = {
            "transactionRequestState": TransactionRequestState.REJECTED.value,
            "transactionState": TransactionState.REJECTED.value,
        }
        return self.book.to_pisp(tx, self.book.message("PATCH", tx, patch))

    def put_authorization_error(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self.book.find("authorization", params["ID"])
        # The switch sends this callback itself when it cannot deliver the authorization
        # request to the PISP (DESIGN.md "The switch"); waiting for the timeout is pointless.
        from_switch = message.source == self.ctx.hub_name
        if not from_switch:
            self._check_pisp(tx, message)
        who = "the switch" if from_switch else "the PISP"
        return self.book.fail(tx, downstream_error(AuthorizationFailed, who, message))

    def put_transaction_error(self, message: Message, params: dict[str, str]) -> Effects:
        """The switch could not deliver a transaction callback to the PISP (digest §1).

        Like the reference DFSP (7102), stop the transfer rather than move money the PISP
        cannot hear about, while it is not sent; once it is, the payee may have credited
        it, and only its outcome ends the transaction. Anything else sending this callback
        is refused.
        """
        tx = self.book.find("transaction", params["ID"])
        if message.source != self.ctx.hub_name:
            raise TransactionRequestNotFound(
                f"only the switch reports failed deliveries of transaction request {tx.request_id}"
            )
        intent = self.payments.get(tx.transaction_id)
        if intent.finalised or intent.state is PaymentState.EXECUTING:
            return Effects()  # the PISP has the final word already, or will have it
        return self.book.fail(tx, downstream_error(PispNotReached, "the switch", message))

    # -- PUT /thirdpartyRequests/verifications → transfer ----------------------------

    def put_verification(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self.book.find("verification", params["ID"])
        self._check_answer(tx, message, self.ctx.auth_service(), "verification")
        self.book.advance(tx, TxEvent.VERIFIED)
        assert tx.quote_model is not None  # noqa: S101 - verified after the quote
        debit = Decimal(tx.quote_model.transferAmount.amount)
        # Reserved now (another transfer may have spent the funds since the quote): a
        # transfer that fails gives them back (see _fail).
        try:
            self.book.advance(tx, TxEvent.RESERVED, debit=debit)
        except refusals.InsufficientFunds as refusal:
            return self.book.fail(tx, no_funds(self.ctx, refusal))
        self.book.alias("transfer", tx.transaction_id, tx)
        payee = tx.payee_fsp
        request = self.ctx.message(
            "POST",
            "/transfers",
            to=payee,
            body=bodies.transfer_request(tx, payer_fsp=self.ctx.fsp_id, profile=self.ctx.profile),
        )
        # A simulated payee shares the ledger: at the transfer's expiration it tells
        # whether the transfer was credited (transaction_timers).
        waits = [self._timer("transfer", tx)] if self.ctx.shares_ledger(payee) else []
        return Effects(messages=[request], cancel=[timers.key("verification", tx)], timers=waits)

    def put_verification_error(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self.book.find("verification", params["ID"])
        self._check_answer(tx, message, self.ctx.auth_service(), "verification")
        return self.book.fail(tx, downstream_error(VerificationFailed, "the auth-service", message))

    # -- PUT /transfers → PATCH ------------------------------------------------------

    def put_transfer(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self.book.find("transfer", params["ID"])
        self._check_answer(tx, message, tx.payee_fsp, "transfer")
        transfer: TransfersIDPutResponse = message.model()
        committed = transfer.transferState is TransferState.COMMITTED
        if committed and state_of(self.payments, tx) is TxState.COMPLETED:
            # Told again (a resend, or the switch answering a resent POST /transfers,
            # FSPIOP v1.1 §3.2.5): taken quietly, as the same PUT /quotes is.
            return Effects()
        if not committed:
            state = transfer.transferState.value
            return self._aborted(tx, TransferFailed(f"the payee DFSP's transfer is {state}"))
        return self._completed(tx)

    def _aborted(self, tx: Transaction, error: FspiopError) -> Effects:
        """The transfer ended without COMMITTED (an answer, an error callback, its
        expiration): the debit goes back, unless the payee DFSP (simulated, same ledger)
        credited it. Then the credit says how it ended, whatever the answer (an error to a
        resent ``POST /transfers`` whose quote is used up, a rule's ABORTED): giving the
        debit back while the credit stays would create money."""
        if self.ledger.is_credited(tx.transaction_id):
            return self._completed(tx)
        return self.book.fail(tx, error, TxEvent.ABORTED)

    def _completed(self, tx: Transaction) -> Effects:
        """The transfer is committed: commit the debit, tell the PISP it is COMPLETED."""
        self.book.advance(tx, TxEvent.COMMITTED)
        patch = bodies.completed(now=self.ctx.clock.now(), profile=self.ctx.profile)
        return self.book.to_pisp(tx, self.book.message("PATCH", tx, patch))

    def put_transfer_error(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self.book.find("transfer", params["ID"])
        self._check_answer(tx, message, tx.payee_fsp, "transfer")
        error = downstream_error(TransferFailed, "the payee DFSP's transfer", message)
        return self._aborted(tx, error)

    # -- after a restart -------------------------------------------------------------

    def in_flight(self) -> list[str]:
        """The request ids of the transactions not yet ended (kept, so also after a
        restart)."""
        found = []
        for tx in self.book:
            try:
                ended = self.payments.get(tx.transaction_id).finalised
            except refusals.UnknownPayment:  # ended and forgotten
                continue
            if not ended:
                found.append(tx.request_id)
        return found

    def recover(
        self, held: Callable[[str], bool] = nothing_held, *, cause: str = "tpsim restarted"
    ) -> Effects:
        """End each transaction in flight when tpsim stopped (``--state``): its timer and
        messages died with the process. It fails with 2001 (tpsim's own error, its text
        starting with ``cause``: the PISP may send a new request) and its funds go back,
        unless the payee DFSP (simulated, same ledger) had credited it: then only ``PUT
        /transfers`` was lost, and it completes.
        A transfer the hub holds for a payee tpsim does not simulate (``held``, by transfer
        id: ``HubTransfers.holds``) is still the payee's to commit: the payee's answer or
        its expiry ends it. One the hub never received (a rule's delay died with the
        process) cannot have been committed: it fails, as any in flight."""
        effects = Effects()
        for tx in list(self.book):
            try:
                intent = self.payments.get(tx.transaction_id)
            except refusals.UnknownPayment:  # ended and forgotten
                continue
            sent = intent.state is PaymentState.EXECUTING
            if sent and self.ledger.is_credited(tx.transaction_id):
                effects.extend(self._completed(tx))
            elif sent and held(tx.transaction_id):
                continue
            elif not intent.finalised:
                state = state_of(self.payments, tx).value
                error = InternalServerError(f"{cause} while {tx.what} was {state}")
                effects.extend(
                    self.book.fail(tx, error, TxEvent.ABORTED if sent else TxEvent.FAILED)
                )
        return effects

    # -- helpers ---------------------------------------------------------------------

    def _check_answer(
        self, tx: Transaction, message: Message, asked: str | None, what: str
    ) -> None:
        """Only ``asked`` (the payee DFSP for a quote or a transfer, the auth-service for a
        verification), or the switch (a message it could not deliver; 3303, a transfer
        expired), answers ``tx``'s ``what``. A verification from the PISP that signed would
        move money on a signature nobody checked; a transfer's id is the transactionId the
        PISP was told, and its outcome from anyone else would commit a debit, or release
        one the payee credits."""
        if message.source not in (asked, self.ctx.hub_name):
            raise TransactionRequestNotFound(
                f"the {what} of transaction request {tx.request_id} was asked of {asked},"
                f" not {message.source}"
            )

    def _check_pisp(self, tx: Transaction, message: Message) -> None:
        if message.source != tx.pisp:
            raise TransactionRequestNotFound(
                f"authorization request {tx.authorization_id} was sent to {tx.pisp},"
                f" not {message.source}"
            )


def _other_currency(tx: Transaction, quote: QuotesIDPutResponse) -> DownstreamFailure | None:
    """Why a quote in another currency than the request's cannot be signed for, or None.

    The debit is the quote's ``transferAmount`` taken from the payer's account, in the
    account's currency (checked against the request's): a quote in another currency would
    have the user sign one amount and be debited another (FSPIOP v1.1 has no conversion)."""
    asked = tx.model.amount.currency
    quoted = [quote.transferAmount, quote.payeeReceiveAmount]
    other = next((m.currency for m in quoted if m is not None and m.currency != asked), None)
    if other is None:
        return None
    return DownstreamFailure(
        f"the payee DFSP quoted in {other} for a request in {asked}: the payer's account"
        f" cannot be debited in {other}"
    )
