"""A simulated DFSP: payer (Third Party transactions), payee (parties, quotes, transfers),
account linking (accounts, consent requests, consents) and settlements of its payments.

The payer's transactions and the settler's settlements both send ``POST /quotes`` and
``POST /transfers``; their callbacks go to the settler when it sent that quote or transfer
(``Settler.owns_quote`` / ``owns_transfer``), to the transactions otherwise.

An error callback with no handler below (``PUT /parties/…/error``, ``PUT
/accounts/{ID}/error``, ``PUT /consentRequests/{ID}/error``: one of this DFSP's answers
did not reach the PISP, which may ask again) is taken quietly by ``dispatch``.
"""

from __future__ import annotations

from collections.abc import Callable

from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.roles.consent_requests import ConsentRequests
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.dispatch import Handler, HandlerTable, dispatch
from tpsim.mojaloop.roles.linking import Linking
from tpsim.mojaloop.roles.payee import PayeeDfsp
from tpsim.mojaloop.roles.settlement import Listener, Settler
from tpsim.mojaloop.roles.transactions import PayerDfsp


class SimulatedDfsp:
    """One DFSP played by tpsim; routes each message to the part that handles it.

    ``settled`` hears the outcome of every settlement this DFSP concludes.
    """

    def __init__(self, ctx: RoleContext, *, settled: Listener | None = None) -> None:
        self.fsp_id = ctx.fsp_id
        self.payer = PayerDfsp(ctx)
        self.settler = Settler(ctx, settled)
        self.payee = PayeeDfsp(ctx)
        self.linking = Linking(ctx)
        self.consent_requests = ConsentRequests(ctx, grant=self.linking.grant)
        payer, payee, linking, requests, settler = (
            self.payer,
            self.payee,
            self.linking,
            self.consent_requests,
            self.settler,
        )
        self._handlers: HandlerTable = {
            ("POST", "/thirdpartyRequests/transactions"): payer.post_transaction,
            ("GET", "/thirdpartyRequests/transactions/{ID}"): payer.get_transaction,
            ("PUT", "/thirdpartyRequests/transactions/{ID}/error"): payer.put_transaction_error,
            ("PUT", "/quotes/{ID}"): _owned(settler.owns_quote, settler.put_quote, payer.put_quote),
            ("PUT", "/thirdpartyRequests/authorizations/{ID}"): payer.put_authorization,
            ("PUT", "/thirdpartyRequests/authorizations/{ID}/error"): payer.put_authorization_error,
            ("PUT", "/thirdpartyRequests/verifications/{ID}"): payer.put_verification,
            ("PUT", "/thirdpartyRequests/verifications/{ID}/error"): payer.put_verification_error,
            ("PUT", "/transfers/{ID}"): _owned(
                settler.owns_transfer, settler.put_transfer, payer.put_transfer
            ),
            ("PUT", "/transfers/{ID}/error"): _owned(
                settler.owns_transfer, settler.put_transfer_error, payer.put_transfer_error
            ),
            ("GET", "/parties/{Type}/{ID}"): payee.get_party,
            ("GET", "/parties/{Type}/{ID}/{SubId}"): payee.get_party,
            ("POST", "/quotes"): payee.post_quote,
            # PUT /quotes/{ID}/error reaches whichever side did not send it: the settler's
            # or a transaction's quote request, or a quote this DFSP issued as payee.
            ("PUT", "/quotes/{ID}/error"): _owned(
                settler.owns_quote, settler.put_quote_error, self._quote_error
            ),
            ("POST", "/transfers"): payee.post_transfer,
            ("GET", "/accounts/{ID}"): linking.get_accounts,
            ("POST", "/consentRequests"): requests.post,
            ("GET", "/consentRequests/{ID}"): requests.get,
            ("PATCH", "/consentRequests/{ID}"): requests.patch,
            ("GET", "/consents/{ID}"): linking.get_consent,
            ("PUT", "/consents/{ID}"): linking.put_consent,
            ("PUT", "/consents/{ID}/error"): linking.put_consent_error,
            ("DELETE", "/consents/{ID}"): linking.delete_consent,
            ("PATCH", "/consents/{ID}"): linking.patch_consent,
            ("PUT", "/participants/{Type}/{ID}"): linking.links.put_participant,
            ("PUT", "/participants/{Type}/{ID}/error"): linking.links.put_participant_error,
        }

    def _quote_error(self, message: Message, params: dict[str, str]) -> Effects:
        if self.payee.issued(params["ID"]):
            return self.payee.put_quote_error(message, params)
        return self.payer.put_quote_error(message, params)

    def handle(self, message: Message) -> Effects:
        return dispatch(self._handlers, message, fsp_id=self.fsp_id)

    def on_timer(self, key: str) -> Effects:
        if self.settler.owns_timer(key):
            return self.settler.on_timer(key)
        if self.linking.owns_timer(key):
            return self.linking.on_timer(key)
        return self.payer.on_timer(key)


def _owned(owns: Callable[[str], bool], owner: Handler, otherwise: Handler) -> Handler:
    """A handler that gives a callback to ``owner`` when ``owns`` its path id, else to
    ``otherwise``: the ids tell a settlement's callbacks from a transaction's."""

    def handle(message: Message, params: dict[str, str]) -> Effects:
        return (owner if owns(params["ID"]) else otherwise)(message, params)

    return handle
