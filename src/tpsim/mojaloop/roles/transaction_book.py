"""Where the payer DFSP keeps its Third Party transactions, and the final callback that
tells the PISP how one ended (``roles/transactions.py`` works through it).

Each transaction is one record (``roles/transaction_state.py``) of kind
``{fspId}/transactions``, keyed by its ``transactionRequestId``; the quote, authorization,
verification and transfer ids of its conversation are aliases (``quote:{ID}``, …), so each
callback finds it. A request seen before (FSPIOP §3.2.5, kind
``{fspId}/transaction-requests-seen``) is answered with the final callback again, or
nothing while there is none yet. The final callback (``PATCH`` or ``PUT …/error``) is sent
once: it ends the record, which is forgotten ``behaviour.retention_s`` later.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from tpsim.core import errors as refusals
from tpsim.core.idempotency import Idempotency
from tpsim.core.records import Records
from tpsim.core.sca import ScaMethod
from tpsim.mojaloop.errors import FspiopError, ModifiedRequest, TransactionRequestNotFound
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.roles import transaction_timers as timers
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.transaction_state import Step, Transaction, TxEvent, advance


class TransactionBook:
    """The Third Party transactions of one simulated (payer) DFSP."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        # FSPIOP §3.2.5: a request seen before, by transactionRequestId → its last callback.
        self._seen: Idempotency[Message] = Idempotency(ctx.records("transaction-requests-seen"))
        # By transactionRequestId; the quote, authorization, verification and transfer ids
        # of its conversation are aliases ("quote:{ID}", …). Forgotten with the retention.
        self._txs: Records[Transaction] = ctx.records("transactions")

    def repeat(self, message: Message, request_id: str) -> Effects | None:
        """What answers ``message`` when its request was received before: the final
        callback again, or nothing yet; None for a new request. The same id with another
        body is ``ModifiedRequest``."""
        try:
            seen = self._seen.check(
                request_id, (message.source, message.body), now=self.ctx.clock.now()
            )
        except refusals.KeyReused:
            raise ModifiedRequest(
                f"transaction request {request_id} was already received with a different"
                " body; use a new transactionRequestId"
            ) from None
        if seen is None:
            return None
        return Effects(messages=[seen.answer] if seen.answer else [])

    def keep(self, tx: Transaction) -> None:
        """Keep a new transaction under its request id."""
        self._txs.put(tx.request_id, tx)

    def alias(self, kind: str, key: str, tx: Transaction) -> None:
        """``find(kind, key)`` finds ``tx`` from now on (its quote id, …)."""
        self._txs.alias(f"{kind}:{key}", tx.request_id)

    def get(self, request_id: str) -> Transaction | None:
        """The transaction of ``request_id``, or None (never one, or forgotten)."""
        return self._txs.get(request_id)

    def find(self, kind: str, key: str) -> Transaction:
        """The transaction whose ``kind`` id is ``key`` (``transaction``: its request id)."""
        tx = self._txs.get(key) if kind == "transaction" else self._txs.find(f"{kind}:{key}")
        if tx is None:
            raise TransactionRequestNotFound(f"{self.ctx.fsp_id} sent no {_WHAT[kind]} {key}")
        return tx

    def __iter__(self) -> Iterator[Transaction]:
        return iter(self._txs)

    def advance(
        self,
        tx: Transaction,
        event: TxEvent,
        *,
        debit: Decimal | None = None,
        method: ScaMethod | None = None,
    ) -> None:
        """Apply ``event`` to ``tx``'s payment intent (``transaction_state.advance``)."""
        advance(self.ctx.state.bank.payments, tx, event, Step(self.ctx.clock.now(), debit, method))

    def fail(self, tx: Transaction, error: FspiopError, event: TxEvent = TxEvent.FAILED) -> Effects:
        """End the transaction (the core gives reserved funds back), tell the PISP once."""
        self.advance(tx, event)
        return self.to_pisp(tx, self.error(tx, error))

    def to_pisp(self, tx: Transaction, message: Message) -> Effects:
        """The final callback: sent now, and again to a duplicate of the request until the
        transaction is forgotten; it waits for nothing any more."""
        now = self.ctx.clock.now()
        self._seen.answer(tx.request_id, message, at=now)
        self._txs.end(tx.request_id, at=now)
        return Effects(messages=[message], cancel=[timers.key(w, tx) for w in timers.WAITING])

    def message(self, method: str, tx: Transaction, body: dict[str, Any]) -> Message:
        """``{method} /thirdpartyRequests/transactions/{ID}`` to the PISP."""
        return self.ctx.message(
            method, f"/thirdpartyRequests/transactions/{tx.request_id}", to=tx.pisp, body=body
        )

    def error(self, tx: Transaction, error: FspiopError) -> Message:
        """``PUT /thirdpartyRequests/transactions/{ID}/error`` to the PISP."""
        path = f"/thirdpartyRequests/transactions/{tx.request_id}"
        return self.ctx.error(path, error, to=tx.pisp)


_WHAT = {
    "transaction": "transaction request",
    "quote": "quote",
    "authorization": "authorization request",
    "verification": "verification request",
    "transfer": "transfer",
}
