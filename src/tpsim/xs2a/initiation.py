"""What a bank checks, and what its rules see, before it takes an XS2A payment (sans-IO)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tpsim.config_psd2 import Xs2aProfile
from tpsim.core.bank import Account, Bank
from tpsim.core.errors import TooPrecise
from tpsim.core.execution import MAX_DAYS_AHEAD
from tpsim.core.money import check_precision
from tpsim.core.rules import Fact, RuleEvent
from tpsim.xs2a.errors import ExecutionDateInvalid, FormatError, ProductInvalid, ProductUnknown
from tpsim.xs2a.resources import Approach, PaymentOrder, Service, TppRequest
from tpsim.xs2a.schedule import earliest_end, first_execution

# Every product the Berlin Group names; tpsim's banks play the SEPA ones (config_psd2).
KNOWN_PRODUCTS = frozenset(
    {
        "sepa-credit-transfers",
        "instant-sepa-credit-transfers",
        "target-2-payments",
        "cross-border-credit-transfers",
        "pain.001-sepa-credit-transfers",
        "pain.001-instant-sepa-credit-transfers",
        "pain.001-target-2-payments",
        "pain.001-cross-border-credit-transfers",
    }
)


def check_product(profile: Xs2aProfile, fsp_id: str, service: Service, product: str) -> None:
    """Refuse a product bank ``fsp_id`` does not offer as ``service``: 403
    PRODUCT_INVALID when it offers it as another service, else 404 PRODUCT_UNKNOWN."""
    offered = profile.supported_payment_type_and_product_matrix.get(service.value, [])
    if product in offered:
        return
    if product in KNOWN_PRODUCTS and any(
        product in products
        for products in profile.supported_payment_type_and_product_matrix.values()
    ):
        raise ProductInvalid(
            f"{fsp_id} offers {product} only as"
            f" {_services_of(profile, product)}, not as {service.value}",
            path="payment-product",
        )
    raise ProductUnknown(
        f"{fsp_id} offers no payment product {product!r} for {service.value};"
        f" it offers {sorted(offered)}",
        path="payment-product",
    )


def choose_approach(profile: Xs2aProfile, tpp: TppRequest) -> Approach:
    """The bank profile's approaches, steered by the TPP's preferences (NextGenPSD2
    §4.1: TPP-Redirect-Preferred true prefers redirect (or OAuth), false embedded or
    decoupled; TPP-Decoupled-Preferred true prefers decoupled, false anything but
    decoupled); the ASPSP chooses among what the TPP prefers (yaml: "The ASPSP will then
    choose between…"), in the profile's order of preference; where it offers none of
    them, its own first choice."""
    offered = [Approach(a) for a in profile.sca_approaches_supported]
    wanted: tuple[Approach, ...] = ()
    if tpp.decoupled_preferred:
        wanted = (Approach.DECOUPLED,)
    elif tpp.redirect_preferred is True:
        wanted = (Approach.REDIRECT, Approach.OAUTH)
    elif tpp.redirect_preferred is False:
        wanted = (Approach.EMBEDDED, Approach.DECOUPLED)
    if tpp.decoupled_preferred is False:
        wanted = tuple(a for a in wanted or offered if a is not Approach.DECOUPLED)
    return next((a for a in offered if a in wanted), offered[0])


def debtor_account(bank: Bank, fsp_id: str, order: PaymentOrder) -> Account:
    """The debtor account ``order`` names, held at bank ``fsp_id`` in the currency of
    every transfer, or the FORMAT_ERROR naming the field."""
    account = bank.accounts.find(order.debtor_iban)
    if account is None or account.fsp_id != fsp_id:
        raise FormatError(
            f"{order.debtor_iban} is not an account of {fsp_id}: the debtor account"
            " must be held at the bank the payment is initiated at",
            path="debtorAccount.iban",
        )
    for i, transfer in enumerate(order.transfers):
        if transfer.currency != account.currency:
            raise FormatError(
                f"the debtor account is held in {account.currency}, not"
                f" {transfer.currency}: tpsim's banks make no currency conversion",
                path=entry_path(order, i, "instructedAmount.currency"),
            )
    return account


def check_amounts(order: PaymentOrder) -> None:
    """Refuse (FORMAT_ERROR) a transfer finer than its currency's minor unit: a bank books
    whole cents (``core.money``)."""
    for i, transfer in enumerate(order.transfers):
        try:
            check_precision(transfer.amount, transfer.currency)
        except TooPrecise as exc:
            raise FormatError(
                str(exc), path=entry_path(order, i, "instructedAmount.amount")
            ) from None


def entry_path(order: PaymentOrder, index: int, field: str) -> str:
    """Where ``field`` of transfer ``index`` is in the body: a bulk entry's is
    ``payments.N.…``, as ``xs2a.models`` names it."""
    return f"payments.{index}.{field}" if "payments" in order.body else field


def check_dates(order: PaymentOrder, today: date) -> None:
    """Refuse an execution or start date before ``today`` or more than ``MAX_DAYS_AHEAD``
    days after it (as every dialect's banks: the payment would wait for ever), or a
    periodic payment with no execution date from its startDate to its endDate
    (EXECUTION_DATE_INVALID)."""
    if order.execution_date is not None:
        _check_date("requestedExecutionDate", order.execution_date, today)
    schedule = order.schedule
    if schedule is None:
        return
    _check_date("startDate", schedule.start, today)
    if first_execution(schedule) is None:
        # Taken, it would end at once, settled without a debit: the TPP would think a
        # standing order ran. EXECUTION_DATE_INVALID is the Berlin Group's code for "not
        # a valid execution date for the ASPSP" (none is, here).
        raise ExecutionDateInvalid(
            f"no execution date of this {schedule.frequency} order falls between startDate"
            f" {schedule.start} and endDate {schedule.end} (business days only): send an"
            f" endDate on or after {earliest_end(schedule)}, or another startDate or"
            " dayOfExecution",
            path="endDate",
        )


def _check_date(field: str, given: date, today: date) -> None:
    """Refuse (EXECUTION_DATE_INVALID) ``field``'s date ``given`` before ``today`` or past
    the latest a bank takes, naming the dates it accepts."""
    if given < today:
        raise ExecutionDateInvalid(
            f"{field} {given} is in the past (the bank's date is {today}); give today or a"
            " later date",
            path=field,
        )
    latest = today + timedelta(days=MAX_DAYS_AHEAD)
    if given > latest:
        raise ExecutionDateInvalid(
            f"{field} {given} is over {MAX_DAYS_AHEAD} days ahead of the bank's date"
            f" {today}; give {latest} or earlier",
            path=field,
        )


def _services_of(profile: Xs2aProfile, product: str) -> list[str]:
    matrix = profile.supported_payment_type_and_product_matrix
    return sorted(service for service, products in matrix.items() if product in products)


def payment_facts(
    fsp_id: str,
    order: PaymentOrder,
    tpp: TppRequest,
    *,
    event: RuleEvent = RuleEvent.PAYMENT_INITIATE,
) -> dict[str, str]:
    """What the rules see of a payment (``core.rules.Fact``) at its initiation, or when
    a PSU signs in to authorise it (``event``); a bulk payment is seen through its first
    entry."""
    transfer = order.transfers[0]
    facts = {
        Fact.DIALECT: "xs2a",
        Fact.EVENT: event,
        Fact.BANK: fsp_id,
        Fact.TPP: tpp.tpp,
        Fact.DEBTOR: order.debtor_iban,
        Fact.CREDITOR: transfer.creditor_iban,
        Fact.AMOUNT: str(sum((t.amount for t in order.transfers), Decimal(0))),
        Fact.CURRENCY: transfer.currency,
    }
    if tpp.psu_id:
        facts[Fact.PSU] = tpp.psu_id
    if transfer.end_to_end_id:
        facts[Fact.END_TO_END_ID] = transfer.end_to_end_id
    return {str(k): str(v) for k, v in facts.items()}
