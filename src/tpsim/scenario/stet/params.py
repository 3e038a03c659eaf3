"""The parameters of the STET actions of scenario steps (``stet.NAME``): what the built-in
PISP sends to a simulated bank's ``/stet/{bank}/v1/…`` and its OAuth 2.0 server at
``/stet/{bank}``, and what the PSU does at the bank. Each model documents its action;
``docs/scenarios.md`` is the user's guide.

The defaults are the built-in config's: the PISP ``tpp-one`` (secret ``tpp-one-secret``,
report URLs ``https://tpp.example/ok`` and ``/nok`` under its registered redirect URIs),
the PSU Claire at dfspa (password ``claire``; her compte courant
``FR7630006000011234567890189`` holds 3000 EUR, her Livret A
``FR7630001007941234567890185`` 20 EUR) paying Louis (``FR1420041010050500013M02606`` at
dfspb) 124.35 EUR. Without ``debtor`` the request names no debtor account: the PSU picks
one at the bank, as seed 002 describes. A later step about a payment request defaults to
the bank it was made at, so it names only ``payment_request:`` (default
``${payment_request_id}``).

Tokens: ``token: client`` sends the scenario's client-credentials token (scope ``pisp``,
fetched when it has none yet), ``token: psu`` the PSU's token of the payment request
named (the o-confirmation variant, after ``stet.authorize``), ``token: null`` none at all;
any other text is sent as the bearer token as written.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tpsim.scenario.base import Method, ScenarioModel, Text
from tpsim.scenario.tpp_token import CLIENT as CLIENT
from tpsim.scenario.tpp_token import CLIENT_ID as CLIENT_ID
from tpsim.scenario.tpp_token import CLIENT_SECRET as CLIENT_SECRET
from tpsim.scenario.tpp_token import PSU as PSU
from tpsim.scenario.tpp_token import REDIRECT as REDIRECT
from tpsim.scenario.tpp_token import TokenParams

# (The built-in TPP and the token words are every PSD2 dialect's: ``scenario.tpp_token``.)
Decision = Literal["approve", "deny"]

CLAIRE = "FR7630006000011234567890189"  # the built-in config's funded EUR PSU, at dfspa
LOUIS = "FR1420041010050500013M02606"  # the built-in config's EUR creditor, at dfspb
REPORT_OK = "https://tpp.example/ok"  # under tpp-one's registered redirect URIs
REPORT_NOK = "https://tpp.example/nok"


class StetCall(ScenarioModel):
    """What every request of the built-in STET PISP may change besides its own
    parameters."""

    bank: str | None = Field(None, description="default the payment request's bank, else dfspa")
    headers: dict[str, str | None] = Field(
        default_factory=dict, description="override the PISP's headers; null removes one"
    )


class StetToken(TokenParams):
    """``POST /stet/{bank}/token``: a client-credentials token with scope ``pisp`` (sets
    ``${client_token}``), or, with ``code``, the code exchanged for the PSU's token (sets
    ``${psu_token}``). ``form`` is merged into the form (null removes a field)."""

    scope: str | None = Field("pisp", description="client_credentials: the scope")


class StetTransfer(ScenarioModel):
    """One ``creditTransferTransaction`` of a request with several (a field left out takes
    the step's own value)."""

    amount: Text | None = Field(None, description="instructedAmount.amount (quote it)")
    currency: str | None = None
    creditor: str | None = Field(None, description="beneficiary.creditorAccount.iban")
    creditor_name: str | None = None
    instruction_id: str | None = Field(None, description="default: the step's, -1, -2…")
    end_to_end_id: str | None = Field(None, description="default: the step's, -1, -2…")
    remittance: str | None = None
    requested_execution_date: str | None = Field(
        None, description="this transaction's own date: a date-time, today, +Nd or -Nd"
    )


class CreatePaymentRequest(StetCall):
    """``POST /payment-requests`` with a client token (sets ``${payment_request_id}`` and,
    for REDIRECT, ``${consent_approval}``). The body is built from the shorthand fields
    with ``fields`` merged in deeply (mappings key by key, lists item by item, null
    removes), or is ``body`` as written. ``requested_execution_date`` is a date-time as
    written, or ``today``, ``+Nd``, ``-Nd`` (midnight UTC of that day on tpsim's clock)."""

    amount: Text = Field("124.35", description="instructedAmount.amount (quote it)")
    currency: str = "EUR"
    creditor: str = Field(LOUIS, description="beneficiary.creditorAccount.iban")
    creditor_name: str = Field("Louis Martin", description="beneficiary.creditor.name")
    debtor: str | None = Field(None, description="debtorAccount.iban; null: the PSU picks")
    approaches: list[str] = Field(
        default_factory=lambda: ["REDIRECT"],
        description="supplementaryData.acceptedAuthenticationApproach",
    )
    successful_report_url: str | None = REPORT_OK
    unsuccessful_report_url: str | None = REPORT_NOK
    payment_information_id: str | None = Field(None, description="default: a new one")
    instruction_id: str = "MyInstrId"
    end_to_end_id: str = "MyEndToEndId"
    remittance: str | None = Field("Order 42", description="remittanceInformation[0]")
    requested_execution_date: str | None = Field(
        "today", description="payment level: a date-time, today, +Nd or -Nd; null: none"
    )
    category_purpose: str | None = Field("DVPM", description="paymentTypeInformation")
    instructions: list[StetTransfer] | None = Field(
        None, description="several transactions, each with its own beneficiary"
    )
    fields: dict[str, Any] = Field(
        default_factory=dict, description="merged deeply into the built body"
    )
    body: dict[str, Any] | None = Field(None, description="send this body instead")
    token: str | None = Field(CLIENT, description="client, psu, null (none) or a token")


class PaymentRequestCall(StetCall):
    """A request about one payment request."""

    payment_request: str = Field(
        "${payment_request_id}", description="the paymentRequestResourceId"
    )


class GetPaymentRequest(PaymentRequestCall):
    """``GET /payment-requests/{id}``; with ``until``, asked again until its
    ``paymentInformationStatus`` is one of them (within the step's deadline), as a PISP
    polls."""

    until: list[str] | None = Field(None, description="e.g. [ACSC, RJCT]")
    token: str | None = Field(CLIENT, description="client, psu, null (none) or a token")


class StetConfirm(PaymentRequestCall):
    """``POST …/confirmation``: ``{"psuAuthenticationFactor": otp}`` (EMBEDDED-1-FACTOR),
    or ``{}`` without ``otp`` (the PISP's go-ahead where the bank requires one), or
    ``body`` as written."""

    otp: Text | None = Field(None, description="the OTP the PSU received (123456)")
    body: dict[str, Any] | None = Field(None, description="send this body instead")
    token: str | None = Field(CLIENT, description="client, psu, null (none) or a token")


class StetOConfirm(PaymentRequestCall):
    """``POST …/o-confirmation`` with the PSU's token of the payment request (after
    ``stet.authorize``): the body ``{}``, or ``body`` as written."""

    body: dict[str, Any] | None = Field(None, description="send this body instead")
    token: str | None = Field(PSU, description="client, psu, null (none) or a token")


class StetCancel(PaymentRequestCall):
    """``PUT /payment-requests/{id}``: the payment request as ``GET`` gives it (read
    first), with ``paymentInformationStatus`` RJCT and ``statusReasonInformation`` DS02
    (the whole request), or, with ``instructions``, those transactions'
    ``transactionStatus`` RJCT and DS02; ``fields`` merged in deeply (lists item by item),
    or ``body`` as written."""

    instructions: list[int] | None = Field(
        None, description="the indexes of the transactions to cancel; none: the whole request"
    )
    reason: str = Field("DS02", description="statusReasonInformation")
    fields: dict[str, Any] = Field(
        default_factory=dict, description="merged deeply into the body sent"
    )
    body: dict[str, Any] | None = Field(None, description="send this body instead")
    token: str | None = Field(CLIENT, description="client, psu, null (none) or a token")


class StetPsu(PaymentRequestCall):
    """The PSU at the bank, on its page or headless."""

    decision: Decision = "approve"
    psu: str | None = Field(None, description="sim_psu, or the user id to sign in with")
    account: str | None = Field(
        None, description="sim_account, or the account chosen on the page (IBAN or address)"
    )
    password: str | None = Field(None, description="sign in on the bank's real page")
    headless: bool = Field(
        True, description="false: the real page (without a password: deny, or stop at it)"
    )
    offered: list[str] | None = Field(
        None, description="the page must offer exactly these accounts (IBANs or addresses)"
    )


class StetApprove(StetPsu):
    """The PSU at the ``consentApproval`` link (REDIRECT): headless (``sim_decision``,
    the default), or the bank's real page with ``password`` (seed 002: sign in, choose
    among the accounts that can pay, approve), or ``headless: false`` without one: a
    denial is one click, an approval leaves the page open for ``stet.decide``
    (``${approval_page}``). Where the bank sends the browser back (the report URL) is
    the step's ``expect.redirect``; the answer required is 302 headless, 303 from the
    page."""


class StetCodeExchange(PaymentRequestCall):
    """How a code that comes back (the o-confirmation variant) is exchanged for the PSU's
    token."""

    exchange: bool = Field(True, description="exchange the code for the PSU's token")
    redirect_uri: str = REDIRECT
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET


class StetAuthorize(StetPsu, StetCodeExchange):
    """The o-confirmation variant: the PSU's browser at the ``consentApproval`` link (the
    bank's ``/authorize``) with the PISP's ``redirect_uri`` and ``state``; headless, or
    the page behind it as ``stet.approve`` uses it (left waiting for ``stet.decide``
    without a password). The code that comes back (``${auth_code}``) is exchanged at
    ``/token`` for the PSU's token (``${psu_token}``, bound to this payment request)
    unless ``exchange`` is false; the step's answer is then the token's."""

    state: str | None = Field("${uuid}", description="default: a new one")
    query: dict[str, str | None] = Field(
        default_factory=dict, description="merged into the query (null removes a parameter)"
    )


class StetDecide(StetCodeExchange):
    """The PSU decides in their bank's app: ``POST /admin/psd2/authorisations/{id}
    /decision`` (DECOUPLED, or any approach); the redirect it answers is the step's
    ``redirect`` (a code for a waiting ``stet.authorize`` is exchanged as there)."""

    decision: Decision = "approve"
    psu: str | None = None
    account: str | None = None
    otp: str | None = None


class StetRequest(StetCall):
    """Any request under the bank's ``/stet/{bank}/v1``, with the PISP's headers (for
    error cases): ``path`` like ``/payment-requests/${payment_request_id}``; ``raw``
    sends that text as the body."""

    method: Method
    path: str = Field(pattern="^/", description="under /v1, starting with /")
    body: dict[str, Any] | None = None
    raw: str | None = None
    token: str | None = Field(CLIENT, description="client, psu, null (none) or a token")
    payment_request: str | None = Field(
        None, description="token psu: whose (default the latest payment request)"
    )
