"""The parameters of the XS2A actions of scenario steps (``xs2a.NAME``): what the built-in
TPP sends to a simulated bank's ``/xs2a/{bank}/v1/…``. Each model documents its action;
``docs/scenarios.md`` is the user's guide.

The defaults are the built-in config's: Erika (``DE89…3000``, 5000 EUR at dfspa, password
``12345``) pays Max (``DE02…2051`` at dfspb) as the TPP ``tpp-one``, whose registered
redirect URIs include ``http://127.0.0.1:8000/``.

A payment's bank, service and product are remembered from its initiation, so later steps
name only the payment (``${payment_id}`` by default). Dates may be ISO dates or relative to
tpsim's clock (``today``, ``+1d``, ``-1d``), since a scenario cannot know the clock's date
in advance.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tpsim.scenario.base import Method, ScenarioModel, Text

Service = Literal["payments", "periodic-payments", "bulk-payments"]
Approach = Literal["redirect", "embedded", "decoupled"]
Decision = Literal["approve", "deny"]

ERIKA_IBAN = "DE89370400440532013000"  # the built-in config's funded EUR PSU, at dfspa
MAX_IBAN = "DE02120300000000202051"  # the built-in config's EUR creditor, at dfspb
TPP_REDIRECT = "http://127.0.0.1:8000/cb"  # under tpp-one's registered redirect URIs
PSU_PASSWORD = "12345"  # noqa: S105 - Erika's password in the built-in config (adorsys's PIN)
SANDBOX_OTP = "123456"  # behaviour.psd2.otp of the built-in config


class TppCall(ScenarioModel):
    """What every request of the built-in TPP carries besides its own parameters."""

    tpp: str | None = Field(None, description="TPP-Client-ID; default: none (the first TPP)")
    psu_ip: str = Field("192.168.8.78", description="PSU-IP-Address")
    headers: dict[str, str | None] = Field(
        default_factory=dict, description="override the TPP's headers; null removes one"
    )


class PaymentCall(TppCall):
    """A request about one payment: bank, service and product default to its initiation's."""

    payment: str = Field("${payment_id}", description="paymentId")
    bank: str | None = Field(None, description="default: the bank it was initiated at")
    service: Service | None = Field(None, description="default: the initiation's")
    product: str | None = Field(None, description="default: the initiation's")


class Credit(ScenarioModel):
    """One credit transfer: the creditor and the amount (a bulk payment's entry)."""

    creditor: str | None = Field(MAX_IBAN, description="creditorAccount.iban")
    creditor_name: str | None = Field("Max Mustermann", description="creditorName")
    amount: Text | None = Field("42.00", description="instructedAmount.amount (quote it)")
    currency: str | None = Field(None, description="instructedAmount.currency; default EUR")
    end_to_end_id: str | None = Field(None, description="endToEndIdentification")
    remittance: str | None = Field(None, description="remittanceInformationUnstructured")


class Initiate(TppCall, Credit):
    """``POST /xs2a/{bank}/v1/{service}/{product}``: a new payment (sets ``${payment_id}``,
    ``${authorisation_id}`` when the bank starts the authorisation implicitly,
    ``${sca_redirect}`` and ``${links}``, the answer's ``_links`` by name).

    The body is built from the shorthand fields (a null one is left out) with ``fields``
    merged in (null removes a key), or is ``body`` as written, to send any shape."""

    bank: str = "dfspa"
    service: Service = "payments"
    product: str = "sepa-credit-transfers"
    body: dict[str, Any] | None = Field(None, description="send this body instead")
    fields: dict[str, Any] = Field(
        default_factory=dict, description="merged into the built body; null removes a key"
    )
    debtor: str | None = Field(ERIKA_IBAN, description="debtorAccount.iban")
    execution_date: str | None = Field(
        None, description="requestedExecutionDate: a date, today, +Nd or -Nd"
    )
    # periodic-payments
    start_date: str = Field("+1d", description="periodic: startDate (a date, today, ±Nd)")
    end_date: str | None = Field(None, description="periodic: endDate")
    frequency: str = Field("Monthly", description="periodic: frequency")
    execution_rule: str | None = Field(None, description="periodic: following or preceding")
    day_of_execution: Text | None = Field(None, description="periodic: dayOfExecution")
    # bulk-payments
    payments: list[Credit] | None = Field(
        None, description="bulk: the entries; default one from the fields above"
    )
    batch_booking: bool | None = Field(None, description="bulk: batchBookingPreferred")
    # headers
    approach: Approach | None = Field(
        None, description="the SCA approach preferred: TPP-Redirect-/Decoupled-Preferred"
    )
    psu_id: str | None = Field(None, description="PSU-ID")
    redirect_uri: str | None = Field(TPP_REDIRECT, description="TPP-Redirect-URI")
    nok_redirect_uri: str | None = Field(None, description="TPP-Nok-Redirect-URI")
    explicit: bool | None = Field(
        None, description="TPP-Explicit-Authorisation-Preferred (true: start it yourself)"
    )
    reject_no_funds: bool | None = Field(None, description="TPP-Rejection-NoFunds-Preferred")


class Authorise(PaymentCall):
    """Follow the payment's SCA as its approach requires (starting an authorisation first
    when none was started). REDIRECT: the ``scaRedirect`` link with
    ``sim_decision`` (headless), or, given ``password``, the bank's real page signed in
    and submitted; a ``confirmationCode`` in the redirect is sent back. EMBEDDED: from the
    authorisation's ``scaStatus`` on, ``psuData.password``, the SCA method, the OTP.
    DECOUPLED: the PSU identified (``PSU-ID``), then the PSU's decision in their app (the
    admin API). The step stops at the first refusal, which its ``expect`` may state."""

    authorisation: str | None = Field(
        None, description="authorisationId; default: the payment's latest"
    )
    cancellation: bool = Field(False, description="a cancellation authorisation")
    approach: Approach | None = Field(None, description="default: the one the bank chose")
    decision: Decision = "approve"
    password: str | None = Field(
        None, description=f"redirect: sign in on the page; embedded: default {PSU_PASSWORD}"
    )
    psu: str | None = Field(None, description="who signs: sim_psu, PSU-ID, the page's user")
    method: str | None = Field(
        None, description="embedded: authenticationMethodId; default: the first offered"
    )
    otp: str | None = Field(None, description=f"embedded: the TAN (default {SANDBOX_OTP})")
    confirm: bool = Field(True, description="redirect: send the confirmationCode back")


class StartAuthorisation(PaymentCall):
    """``POST …/{paymentId}/authorisations`` (or ``cancellation-authorisations``); sets
    ``${authorisation_id}``."""

    cancellation: bool = False
    psu_id: str | None = Field(None, description="PSU-ID")
    body: dict[str, Any] | None = Field(None, description="e.g. {psuData: {password: …}}")


class UpdateAuthorisation(PaymentCall):
    """``PUT …/authorisations/{authorisationId}`` with ``body`` as written."""

    authorisation: str = Field("${authorisation_id}", description="authorisationId")
    cancellation: bool | None = Field(None, description="default: as it was started")
    psu_id: str | None = Field(None, description="PSU-ID")
    body: dict[str, Any] = Field(default_factory=dict)


class GetAuthorisation(PaymentCall):
    """``GET …/authorisations/{authorisationId}`` (its ``scaStatus``), or ``GET
    …/authorisations`` (their ids) when ``authorisation`` is null."""

    authorisation: str | None = Field("${authorisation_id}", description="authorisationId")
    cancellation: bool | None = Field(None, description="default: as it was started")


class Status(PaymentCall):
    """``GET …/{paymentId}/status``; with ``until``, asked again until its
    ``transactionStatus`` is one of them (within the step's deadline), as a TPP polls."""

    until: list[str] | None = Field(None, description="e.g. [ACCC]")


class GetPayment(PaymentCall):
    """``GET …/{paymentId}``: the payment as initiated, with its ``transactionStatus``."""


class Cancel(PaymentCall):
    """``DELETE …/{paymentId}``: 204, or 202 when the cancellation needs authorisation
    (sets ``${authorisation_id}`` when the bank starts it)."""

    psu_id: str | None = Field(None, description="PSU-ID")


class Decide(ScenarioModel):
    """The PSU decides in their bank's app: ``POST /admin/psd2/authorisations/{id}/decision``
    (decoupled SCA, or headless for any approach)."""

    authorisation: str = Field("${authorisation_id}", description="authorisationId")
    decision: Decision = "approve"
    psu: str | None = None
    otp: str | None = None


class Request(TppCall):
    """Any request under the bank's ``/xs2a/{bank}/v1``, with the TPP's headers (for error
    cases): ``path`` like ``/payments/sepa-credit-transfers/${payment_id}``; ``raw`` sends
    that text as the body."""

    method: Method
    path: str = Field(pattern="^/", description="under /xs2a/{bank}/v1, starting with /")
    bank: str = "dfspa"
    body: dict[str, Any] | None = None
    raw: str | None = None
    psu_id: str | None = Field(None, description="PSU-ID")
