"""The payer DFSP's Third Party transaction (transfer patterns §3; digest §4.4).

    POST /thirdpartyRequests/transactions        validate → PUT {RECEIVED} → POST /quotes
    PUT /quotes/{ID}                             → POST /thirdpartyRequests/authorizations
    PUT /thirdpartyRequests/authorizations/{ID}  ACCEPTED → POST …/verifications (auth-service)
                                                 REJECTED → PATCH REJECTED (spec)
                                                          | error (reference)
    PUT /thirdpartyRequests/verifications/{ID}   → debit, POST /transfers
    PUT /transfers/{ID} COMMITTED                → PATCH {ACCEPTED, COMPLETED}

Every step is one transition of the table in ``roles/transaction_state.py``; terminal
states are final. Any failure sends ``PUT …/transactions/{ID}/error`` once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tpsim.auth.challenge import transaction_challenge
from tpsim.config import Profile
from tpsim.mojaloop.errors import (
    AuthorizationFailed,
    AuthorizationTimedOut,
    ConsentNotValid,
    ConsentOfAnotherPisp,
    DownstreamFailure,
    FspiopError,
    InsufficientFunds,
    ModifiedRequest,
    PayeeFspNotFound,
    PayerPermissionError,
    PayerUnsupportedCurrency,
    PispNotReached,
    QuoteExpired,
    TransactionRequestExpired,
    TransactionRequestInvalid,
    TransactionRequestNotFound,
    TransferFailed,
    UnknownThirdPartyLink,
    UserRejected,
    ValidationError,
    VerificationFailed,
)
from tpsim.mojaloop.message import Effects, Message, Timer
from tpsim.mojaloop.roles.common import (
    downstream_error,
    format_amount,
    format_datetime,
    parse_datetime,
)
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.state import Account
from tpsim.mojaloop.roles.transaction_state import (
    REQUEST_STATE,
    TERMINAL,
    Transaction,
    TxEvent,
    TxState,
)


class PayerDfsp:
    """Third Party transactions of one simulated (payer) DFSP."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        self._by_request: dict[str, Transaction] = {}
        self._by_quote: dict[str, Transaction] = {}
        self._by_authorization: dict[str, Transaction] = {}
        self._by_verification: dict[str, Transaction] = {}
        self._by_transfer: dict[str, Transaction] = {}

    # -- POST / GET /thirdpartyRequests/transactions ----------------------------------

    def post_transaction(self, message: Message, params: dict[str, str]) -> Effects:
        body = message.body or {}
        request_id = body["transactionRequestId"]
        existing = self._by_request.get(request_id)
        if existing is not None:
            return self._duplicate(existing, message)
        tx = Transaction(request_id, message.source, body, self.ctx.ids.new_id())
        self._by_request[request_id] = tx
        try:
            account = self._validate(tx)
        except FspiopError as exc:
            return self._fail(tx, exc)
        tx.quote_id = self.ctx.ids.new_id()
        self._by_quote[tx.quote_id] = tx
        received = self._transaction_message(
            "PUT",
            tx,
            {"transactionId": tx.transaction_id, "transactionRequestState": "RECEIVED"},
        )
        quote = self.ctx.message(
            "POST",
            "/quotes",
            to=body["payee"]["partyIdInfo"]["fspId"],
            body=self._quote_request(tx, account),
        )
        return Effects(messages=[received, quote])

    def get_transaction(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self._by_request.get(params["ID"])
        if tx is None or tx.pisp != message.source:
            # A transaction of another PISP is reported as unknown: its existence is not
            # theirs to see.
            raise TransactionRequestNotFound(
                f"{self.ctx.fsp_id} has no transaction request {params['ID']} from {message.source}"
            )
        reply: dict[str, Any] = {"transactionRequestState": REQUEST_STATE[tx.state]}
        if tx.transaction_id:
            reply["transactionId"] = tx.transaction_id
        return Effects(messages=[self._transaction_message("PUT", tx, reply)])

    def _duplicate(self, tx: Transaction, message: Message) -> Effects:
        """FSPIOP §3.2.5: same body → resend the final callback (or ignore in flight)."""
        if message.source != tx.pisp or message.body != tx.request:
            raise ModifiedRequest(
                f"transaction request {tx.request_id} was already received with a different"
                " body; use a new transactionRequestId"
            )
        if tx.state in TERMINAL and tx.last_callback is not None:
            return Effects(messages=[tx.last_callback])
        return Effects()

    def _validate(self, tx: Transaction) -> Account:
        body = tx.request
        expiration = parse_datetime(body["expiration"])
        if expiration is None:
            raise ValidationError(
                f"{body['expiration']!r} is not a date-time such as 2030-01-01T00:00:00.000Z",
                field="expiration",
            )
        if expiration <= self.ctx.clock.now():
            raise TransactionRequestExpired(f"the request expired at {body['expiration']}")
        if not body["payee"]["partyIdInfo"].get("fspId"):
            raise PayeeFspNotFound(
                "payee.partyIdInfo.fspId is required to route the quote: look the payee"
                " up with GET /parties first",
                field="payee.partyIdInfo.fspId",
            )
        payer = body["payer"]
        if payer["partyIdType"] != "THIRD_PARTY_LINK":
            raise TransactionRequestInvalid(
                f"payer.partyIdType must be THIRD_PARTY_LINK, not {payer['partyIdType']}",
                field="payer.partyIdType",
            )
        address = payer["partyIdentifier"]
        consent = self.ctx.state.consent_for_link(self.ctx.fsp_id, address, tx.pisp)
        if consent is None:
            raise UnknownThirdPartyLink(
                f"no consent at {self.ctx.fsp_id} links THIRD_PARTY_LINK {address}",
                field="payer.partyIdentifier",
            )
        if consent.pisp != tx.pisp:
            raise ConsentOfAnotherPisp(
                f"consent {consent.consent_id} was granted to another PISP, not {tx.pisp}",
                field="payer.partyIdentifier",
            )
        if consent.status != "ISSUED":
            raise ConsentNotValid(
                f"consent {consent.consent_id} is {consent.status}", field="payer.partyIdentifier"
            )
        if not consent.grants(address, "ACCOUNTS_TRANSFER"):
            raise PayerPermissionError(
                f"consent {consent.consent_id} does not grant ACCOUNTS_TRANSFER on {address}",
                field="payer.partyIdentifier",
            )
        account = self.ctx.state.accounts.get(address)
        if account is None or account.fsp_id != self.ctx.fsp_id:
            raise UnknownThirdPartyLink(
                f"{self.ctx.fsp_id} holds no account {address}", field="payer.partyIdentifier"
            )
        amount = body["amount"]
        if amount["currency"] != account.currency:
            raise PayerUnsupportedCurrency(
                f"account {address} is in {account.currency}, not {amount['currency']}",
                field="amount.currency",
            )
        if body["amountType"] == "SEND" and Decimal(amount["amount"]) > account.balance:
            raise InsufficientFunds(
                f"account {address} holds {format_amount(account.balance)} {account.currency}",
                field="amount.amount",
            )
        tx.consent_id = consent.consent_id
        tx.payer_address = address
        return account

    def _quote_request(self, tx: Transaction, account: Account) -> dict[str, Any]:
        body = tx.request
        return {
            "quoteId": tx.quote_id,
            "transactionId": tx.transaction_id,
            "transactionRequestId": tx.request_id,
            "payee": body["payee"],
            "payer": {
                "partyIdInfo": {
                    "partyIdType": "ACCOUNT_ID",
                    "partyIdentifier": account.address[:128],
                    "fspId": self.ctx.fsp_id,
                }
            },
            "amountType": body["amountType"],
            "amount": body["amount"],
            "transactionType": body["transactionType"],
        }

    # -- PUT /quotes → POST /thirdpartyRequests/authorizations -----------------------

    def put_quote(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self._find(self._by_quote, params["ID"], "quote")
        tx.advance(TxEvent.QUOTED)
        quote = message.body or {}
        tx.quote = quote
        shortfall = self._shortfall(tx, Decimal(quote["transferAmount"]["amount"]))
        if shortfall is not None:
            return self._fail(tx, shortfall)
        tx.authorization_id = self.ctx.ids.new_id()
        self._by_authorization[tx.authorization_id] = tx
        auth_body = self._authorization_request(tx, quote)
        tx.challenge = transaction_challenge(
            self.ctx.config.behaviour.challenge, quote=quote, authorization_request=auth_body
        )
        auth_body["challenge"] = tx.challenge
        request = self.ctx.message(
            "POST", "/thirdpartyRequests/authorizations", to=tx.pisp, body=auth_body
        )
        return Effects(messages=[request], timers=[Timer(self._timer_key(tx), self._deadline(tx))])

    def put_quote_error(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self._find(self._by_quote, params["ID"], "quote")
        return self._fail(
            tx, downstream_error(DownstreamFailure, "the payee DFSP's quote", message)
        )

    def _authorization_request(self, tx: Transaction, quote: dict[str, Any]) -> dict[str, Any]:
        transfer = quote["transferAmount"]
        receive = quote.get("payeeReceiveAmount", transfer)
        fees = max(Decimal(transfer["amount"]) - Decimal(receive["amount"]), Decimal(0))
        expiry = parse_datetime(quote["expiration"]) or self.ctx.clock.now()
        request_expiry = parse_datetime(tx.request["expiration"]) or expiry
        return {
            "authorizationRequestId": tx.authorization_id,
            "transactionRequestId": tx.request_id,
            "transferAmount": transfer,
            "payeeReceiveAmount": receive,
            "fees": {"currency": transfer["currency"], "amount": format_amount(fees)},
            "payer": tx.request["payer"],
            "payee": tx.request["payee"],
            "transactionType": tx.request["transactionType"],
            "expiration": format_datetime(min(expiry, request_expiry)),
        }

    def _deadline(self, tx: Transaction) -> datetime:
        """When to stop waiting for the PISP: the timeout, or earlier when the request or
        the quote expires (the authorization request announced the earlier expiration)."""
        timeout = timedelta(seconds=self.ctx.config.behaviour.authorization_timeout_s)
        deadline = self.ctx.clock.now() + timeout
        for expiry in (_expiry(tx.request), _expiry(tx.quote)):
            if expiry is not None:
                deadline = min(deadline, expiry)
        return deadline

    @staticmethod
    def _timer_key(tx: Transaction) -> str:
        return f"authorization:{tx.request_id}"

    def on_timer(self, key: str) -> Effects:
        tx = self._by_request.get(key.removeprefix("authorization:"))
        if tx is None or tx.state is not TxState.AUTHORIZING:
            return Effects()
        now = self.ctx.clock.now()
        request_expiry, quote_expiry = _expiry(tx.request), _expiry(tx.quote)
        if request_expiry is not None and request_expiry <= now:
            error: FspiopError = TransactionRequestExpired(
                f"the request expired at {tx.request['expiration']} before the PISP authorized it"
            )
        elif quote_expiry is not None and quote_expiry <= now:
            error = QuoteExpired(
                f"the quote expired at {tx.quote['expiration']} before the PISP authorized it"
            )
        else:
            seconds = self.ctx.config.behaviour.authorization_timeout_s
            error = AuthorizationTimedOut(
                f"no PUT /thirdpartyRequests/authorizations/{tx.authorization_id}"
                f" within {seconds:g} s"
            )
        return self._fail(tx, error)

    # -- PUT /thirdpartyRequests/authorizations → verification -----------------------

    def put_authorization(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self._find(self._by_authorization, params["ID"], "authorization request")
        self._check_pisp(tx, message)
        body = message.body or {}
        cancel = [self._timer_key(tx)]
        if body["responseType"] == "REJECTED":
            tx.advance(TxEvent.REJECTED)
            if self.ctx.profile is Profile.REFERENCE:
                effects = self._to_pisp(tx, self._error(tx, UserRejected("user rejected")))
            else:
                patch = {"transactionRequestState": "REJECTED", "transactionState": "REJECTED"}
                effects = self._to_pisp(tx, self._transaction_message("PATCH", tx, patch))
            effects.cancel.extend(cancel)
            return effects
        tx.advance(TxEvent.ACCEPTED)
        signed = body["signedPayload"]
        tx.verification_id = self.ctx.ids.new_id()
        self._by_verification[tx.verification_id] = tx
        verification: dict[str, Any] = {
            "verificationRequestId": tx.verification_id,
            "challenge": tx.challenge,
            "consentId": tx.consent_id,
            "signedPayloadType": signed["signedPayloadType"],
        }
        for name in ("fidoSignedPayload", "genericSignedPayload"):
            if name in signed:
                verification[name] = signed[name]
        request = self.ctx.message(
            "POST",
            "/thirdpartyRequests/verifications",
            to=self.ctx.auth_service(),
            body=verification,
            related=(tx.request_id,),
        )
        return Effects(messages=[request], cancel=cancel)

    def put_authorization_error(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self._find(self._by_authorization, params["ID"], "authorization request")
        # The switch sends this callback itself when it cannot deliver the authorization
        # request to the PISP (DESIGN.md "The switch"); waiting for the timeout is pointless.
        from_switch = message.source == self.ctx.hub_name
        if not from_switch:
            self._check_pisp(tx, message)
        who = "the switch" if from_switch else "the PISP"
        effects = self._fail(tx, downstream_error(AuthorizationFailed, who, message))
        effects.cancel.append(self._timer_key(tx))
        return effects

    def put_transaction_error(self, message: Message, params: dict[str, str]) -> Effects:
        """The switch could not deliver a transaction callback to the PISP (digest §1).

        Like the reference DFSP (7102), stop the transfer rather than move money the PISP
        cannot hear about; anything else sending this callback is refused.
        """
        tx = self._find(self._by_request, params["ID"], "transaction request")
        if message.source != self.ctx.hub_name:
            raise TransactionRequestNotFound(
                f"only the switch reports failed deliveries of transaction request {tx.request_id}"
            )
        if tx.state in TERMINAL:
            return Effects()  # the PISP already has (or cannot receive) the final word
        effects = self._fail(tx, downstream_error(PispNotReached, "the switch", message))
        effects.cancel.append(self._timer_key(tx))
        return effects

    # -- PUT /thirdpartyRequests/verifications → transfer ----------------------------

    def put_verification(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self._find(self._by_verification, params["ID"], "verification request")
        tx.advance(TxEvent.VERIFIED)
        transfer = tx.quote["transferAmount"]
        amount = Decimal(transfer["amount"])
        # Checked again: another transfer may have spent the funds since the quote.
        shortfall = self._shortfall(tx, amount)
        if shortfall is not None:
            return self._fail(tx, shortfall)
        account = self.ctx.state.accounts[tx.payer_address]
        # Reserve the funds now; a transfer that fails gives them back (see _fail).
        account.balance -= amount
        tx.debited = amount
        self._by_transfer[tx.transaction_id] = tx
        request = self.ctx.message(
            "POST",
            "/transfers",
            to=tx.request["payee"]["partyIdInfo"]["fspId"],
            body={
                "transferId": tx.transaction_id,
                "payeeFsp": tx.request["payee"]["partyIdInfo"]["fspId"],
                "payerFsp": self.ctx.fsp_id,
                "amount": transfer,
                "ilpPacket": tx.quote["ilpPacket"],
                "condition": tx.quote["condition"],
                "expiration": tx.quote["expiration"],
            },
        )
        return Effects(messages=[request])

    def put_verification_error(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self._find(self._by_verification, params["ID"], "verification request")
        return self._fail(tx, downstream_error(VerificationFailed, "the auth-service", message))

    # -- PUT /transfers → PATCH ------------------------------------------------------

    def put_transfer(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self._find(self._by_transfer, params["ID"], "transfer")
        state = (message.body or {}).get("transferState")
        if state != "COMMITTED":
            return self._fail(tx, TransferFailed(f"the payee DFSP's transfer is {state}"))
        tx.advance(TxEvent.COMMITTED)
        patch = {
            "transactionRequestState": "ACCEPTED",
            "transactionState": "COMPLETED",
            "completedTimestamp": format_datetime(self.ctx.clock.now()),
        }
        return self._to_pisp(tx, self._transaction_message("PATCH", tx, patch))

    def put_transfer_error(self, message: Message, params: dict[str, str]) -> Effects:
        tx = self._find(self._by_transfer, params["ID"], "transfer")
        return self._fail(
            tx, downstream_error(TransferFailed, "the payee DFSP's transfer", message)
        )

    # -- helpers ---------------------------------------------------------------------

    def _find(self, index: dict[str, Transaction], key: str, what: str) -> Transaction:
        tx = index.get(key)
        if tx is None:
            raise TransactionRequestNotFound(f"{self.ctx.fsp_id} sent no {what} {key}")
        return tx

    def _shortfall(self, tx: Transaction, amount: Decimal) -> InsufficientFunds | None:
        """The error to send when the payer's account cannot cover ``amount`` (fees included)."""
        account = self.ctx.state.accounts[tx.payer_address]
        if amount <= account.balance:
            return None
        return InsufficientFunds(
            f"the transfer of {format_amount(amount)} {account.currency} exceeds the"
            f" {format_amount(account.balance)} held in {account.address}",
            field="amount.amount",
        )

    def _check_pisp(self, tx: Transaction, message: Message) -> None:
        if message.source != tx.pisp:
            raise TransactionRequestNotFound(
                f"authorization request {tx.authorization_id} was sent to {tx.pisp},"
                f" not {message.source}"
            )

    def _fail(self, tx: Transaction, error: FspiopError) -> Effects:
        """Move to FAILED, give back reserved funds, tell the PISP once."""
        tx.advance(TxEvent.FAILED)
        if tx.debited:
            self.ctx.state.accounts[tx.payer_address].balance += tx.debited
            tx.debited = Decimal(0)
        return self._to_pisp(tx, self._error(tx, error))

    def _to_pisp(self, tx: Transaction, message: Message) -> Effects:
        tx.last_callback = message
        return Effects(messages=[message])

    def _transaction_message(self, method: str, tx: Transaction, body: dict[str, Any]) -> Message:
        return self.ctx.message(
            method, f"/thirdpartyRequests/transactions/{tx.request_id}", to=tx.pisp, body=body
        )

    def _error(self, tx: Transaction, error: FspiopError) -> Message:
        path = f"/thirdpartyRequests/transactions/{tx.request_id}"
        return self.ctx.error(path, error, to=tx.pisp)


def _expiry(body: dict[str, Any]) -> datetime | None:
    """The ``expiration`` of a request or quote body, None when absent or unparseable."""
    value = body.get("expiration")
    return parse_datetime(value) if isinstance(value, str) else None
