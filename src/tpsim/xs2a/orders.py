"""A parsed XS2A payment body as the bank's neutral ``PaymentOrder`` (``xs2a.resources``)."""

from __future__ import annotations

from tpsim.xs2a.models import (
    BulkPaymentInitiationJson,
    PaymentInitiationBulkElementJson,
    PaymentInitiationJson,
    PeriodicPaymentInitiationJson,
)
from tpsim.xs2a.resources import PaymentOrder, Schedule, Service, Transfer

PaymentBody = PaymentInitiationJson | PeriodicPaymentInitiationJson | BulkPaymentInitiationJson

MODELS: dict[Service, type[PaymentBody]] = {
    Service.PAYMENTS: PaymentInitiationJson,
    Service.PERIODIC: PeriodicPaymentInitiationJson,
    Service.BULK: BulkPaymentInitiationJson,
}


def order_of(body: PaymentBody) -> PaymentOrder:
    """What ``body`` orders the bank to do; the wire body is kept for ``GET``."""
    wire = body.model_dump(by_alias=True, exclude_none=True, mode="json")
    if isinstance(body, BulkPaymentInitiationJson):
        return PaymentOrder(
            debtor_iban=body.debtorAccount.iban,
            transfers=tuple(_transfer(p) for p in body.payments),
            body=wire,
            execution_date=body.requestedExecutionDate,
            batch_booking=bool(body.batchBookingPreferred),
        )
    if isinstance(body, PeriodicPaymentInitiationJson):
        schedule = Schedule(
            start=body.startDate,
            frequency=body.frequency.value,
            end=body.endDate,
            day_of_execution=int(body.dayOfExecution) if body.dayOfExecution else None,
            execution_rule=body.executionRule.value if body.executionRule else None,
            months=tuple(int(m) for m in body.monthsOfExecution or ()),
        )
        return PaymentOrder(
            debtor_iban=body.debtorAccount.iban,
            transfers=(_transfer(body),),
            body=wire,
            schedule=schedule,
        )
    return PaymentOrder(
        debtor_iban=body.debtorAccount.iban,
        transfers=(_transfer(body),),
        body=wire,
        execution_date=body.requestedExecutionDate,
    )


def _transfer(
    body: PaymentInitiationBulkElementJson | PeriodicPaymentInitiationJson,
) -> Transfer:
    remittance = body.remittanceInformationUnstructured
    if remittance is None and body.remittanceInformationStructured is not None:
        remittance = body.remittanceInformationStructured.reference
    return Transfer(
        creditor_iban=body.creditorAccount.iban,
        creditor_name=body.creditorName,
        amount=body.instructedAmount.value(),
        currency=body.instructedAmount.currency,
        end_to_end_id=body.endToEndIdentification,
        remittance=remittance,
    )
