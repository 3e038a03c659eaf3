"""What the simulated bank refuses, in no protocol's words.

    TpsimError                  root of every error tpsim raises on purpose
    ├── StateRefused            a resource's state machine refuses an event (``.final``:
    │                           the resource has ended)
    ├── KeyReused               an idempotency key comes again with another request
    ├── MalformedBody           a request body is not a JSON object tpsim reads
    │                           (``.reason``; ``core.json_body``)
    └── BankRefused             the simulated bank refuses an operation (``.reason``)
        ├── UnknownAccount      no account has that address or alias
        ├── AliasTaken          an address or alias already names another account
        ├── CurrencyMismatch    the account is held in another currency
        ├── InvalidAmount       an amount that is not a positive number
        │   └── TooPrecise      finer than its currency's minor unit (``core.money``)
        ├── InsufficientFunds   the account's available balance does not cover it
        ├── UnknownReservation  a hold that does not exist or has already ended
        ├── UnknownPayment      no payment intent has that id
        └── UnknownBank         a settlement's debtor bank is not simulated by tpsim

Each dialect renders a refusal in its own format and code (``mojaloop.errors.coded``).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import ClassVar


class TpsimError(Exception):
    """Root of every error tpsim raises on purpose."""


class StateRefused(TpsimError):
    """``event`` may not happen to ``what`` in ``state``; ``final`` when ``state`` is terminal."""

    def __init__(self, what: str, state: str, event: str, *, final: bool) -> None:
        self.what, self.state, self.event, self.final = what, state, event, final
        if final:
            text = f"{what} is already {state}"
        else:
            text = f"{what} is {state}; a '{event}' message is not expected now"
        super().__init__(text)


class KeyReused(TpsimError):
    """``key`` identified another request before (a different body or sender)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"{key} was already used for a different request")


class MalformedBody(TpsimError):
    """A request body is not a JSON object tpsim will read (``core.json_body``); ``reason``
    names why in no protocol's words (``not-json``, ``too-deep``…) and the message says
    what is wrong and what to send."""

    def __init__(self, reason: str, text: str) -> None:
        self.reason = reason
        super().__init__(text)


class BankRefused(TpsimError):
    """The simulated bank refuses an operation; ``reason`` names why in no protocol's words
    (``insufficient-funds``…), and the attributes say what a dialect needs to word it."""

    reason: ClassVar[str] = "refused"


class UnknownAccount(BankRefused):
    reason = "unknown-account"

    def __init__(self, account: str) -> None:
        self.account = account
        super().__init__(f"no account is named {account}")


class AliasTaken(BankRefused):
    reason = "alias-taken"

    def __init__(self, alias: str, account: str) -> None:
        self.alias, self.account = alias, account
        super().__init__(f"{alias} already names account {account}")


class CurrencyMismatch(BankRefused):
    reason = "currency-mismatch"

    def __init__(self, account: str, held: str, given: str) -> None:
        self.account, self.held, self.given = account, held, given
        super().__init__(f"account {account} is held in {held}, not {given}")


class InvalidAmount(BankRefused):
    reason = "invalid-amount"

    def __init__(self, amount: Decimal) -> None:
        self.amount = amount
        super().__init__(f"{amount} is not a positive amount")


class TooPrecise(InvalidAmount):
    """``amount`` has more decimals than ``currency``'s minor unit (ISO 4217) allows:
    ``places`` at most."""

    reason = "amount-too-precise"

    def __init__(self, amount: Decimal, currency: str, places: int) -> None:
        self.amount, self.currency, self.places = amount, currency, places
        allowed = "no decimals" if places == 0 else f"at most {places} decimals"
        example = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
        BankRefused.__init__(
            self,
            f"{amount} {currency} is finer than {currency}'s minor unit: send {allowed}"
            f" (e.g. {example})",
        )


class InsufficientFunds(BankRefused):
    reason = "insufficient-funds"

    def __init__(self, account: str, needed: Decimal, available: Decimal) -> None:
        self.account, self.needed, self.available = account, needed, available
        super().__init__(f"account {account} has {available} available, {needed} is needed")


class UnknownReservation(BankRefused):
    reason = "unknown-reservation"

    def __init__(self, reservation: int) -> None:
        self.reservation = reservation
        super().__init__(f"reservation {reservation} does not exist or has ended")


class UnknownPayment(BankRefused):
    reason = "unknown-payment"

    def __init__(self, intent_id: str) -> None:
        self.intent_id = intent_id
        super().__init__(f"no payment intent {intent_id}")


class UnknownBank(BankRefused):
    """A settlement names, as the debtor's bank, a bank tpsim does not simulate (one
    unknown to the scheme, or an external participant): only a simulated bank holds the
    reserved debit and can send the money on (``core.settlement``)."""

    reason = "unknown-bank"

    def __init__(self, bank: str) -> None:
        self.bank = bank
        super().__init__(
            f"{bank} is not a bank tpsim simulates; a settlement starts at the simulated"
            " bank that holds the debtor's account"
        )
