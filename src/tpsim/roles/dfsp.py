"""A simulated DFSP: payer (Third Party transactions) and payee (parties, quotes, transfers)."""

from __future__ import annotations

from tpsim.message import Effects, Message
from tpsim.roles.context import RoleContext
from tpsim.roles.dispatch import HandlerTable, dispatch
from tpsim.roles.payee import PayeeDfsp
from tpsim.roles.transactions import PayerDfsp


class SimulatedDfsp:
    """One DFSP played by tpsim; routes each message to the part that handles it."""

    def __init__(self, ctx: RoleContext) -> None:
        self.fsp_id = ctx.fsp_id
        self.payer = PayerDfsp(ctx)
        self.payee = PayeeDfsp(ctx)
        payer, payee = self.payer, self.payee
        self._handlers: HandlerTable = {
            ("POST", "/thirdpartyRequests/transactions"): payer.post_transaction,
            ("GET", "/thirdpartyRequests/transactions/{ID}"): payer.get_transaction,
            ("PUT", "/thirdpartyRequests/transactions/{ID}/error"): payer.put_transaction_error,
            ("PUT", "/quotes/{ID}"): payer.put_quote,
            ("PUT", "/thirdpartyRequests/authorizations/{ID}"): payer.put_authorization,
            ("PUT", "/thirdpartyRequests/authorizations/{ID}/error"): payer.put_authorization_error,
            ("PUT", "/thirdpartyRequests/verifications/{ID}"): payer.put_verification,
            ("PUT", "/thirdpartyRequests/verifications/{ID}/error"): payer.put_verification_error,
            ("PUT", "/transfers/{ID}"): payer.put_transfer,
            ("PUT", "/transfers/{ID}/error"): payer.put_transfer_error,
            ("GET", "/parties/{Type}/{ID}"): payee.get_party,
            ("GET", "/parties/{Type}/{ID}/{SubId}"): payee.get_party,
            ("POST", "/quotes"): payee.post_quote,
            # PUT /quotes/{ID}/error reaches whichever side did not send the quote request.
            ("PUT", "/quotes/{ID}/error"): self._quote_error,
            ("POST", "/transfers"): payee.post_transfer,
        }

    def _quote_error(self, message: Message, params: dict[str, str]) -> Effects:
        if self.payee.issued(params["ID"]):
            return self.payee.put_quote_error(message, params)
        return self.payer.put_quote_error(message, params)

    def handle(self, message: Message) -> Effects:
        return dispatch(self._handlers, message, fsp_id=self.fsp_id)

    def on_timer(self, key: str) -> Effects:
        return self.payer.on_timer(key)
