"""The parameters of the UK Open Banking actions of scenario steps (``obie.NAME``): what the
built-in TPP sends to a simulated bank's ``/obie/{bank}/open-banking/v{version}/pisp/…``
and its OAuth 2.0 server at ``/obie/{bank}``. Each model documents its action;
``docs/scenarios.md`` is the user's guide.

The defaults are the built-in config's: the TPP ``tpp-one`` (secret ``tpp-one-secret``,
redirect URIs under ``https://tpp.example/``), the Model Bank persona Mits
(``10000109010101``, 2000 GBP at dfspa, password ``mits``) paying Harry
(``20000319470104`` at dfspb). Every action takes ``version`` (3.1 or 4.0, default 4.0)
and ``bank`` (dfspa); later steps about a consent or payment default to the version and
bank it was made at, so they name only the id (``${consent_id}``, ``${payment_id}``).

Tokens: ``token: client`` sends the scenario's client-credentials token (fetched when it
has none yet), ``token: psu`` the PSU token of the consent named (after
``obie.authorise``), ``token: null`` none at all; any other text is sent as the bearer
token as written (``${psu_token}``, a made-up one).
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

Version = Literal["3.1", "4.0"]
Decision = Literal["approve", "deny"]

MITS = "10000109010101"  # the built-in config's funded GBP PSU, at dfspa
HARRY = "20000319470104"  # the built-in config's GBP creditor, at dfspb


class ObieCall(ScenarioModel):
    """What every request of the built-in UK TPP may change besides its own parameters."""

    version: Version | None = Field(
        None, description="3.1 or 4.0; default the resource's, else 4.0"
    )
    bank: str | None = Field(None, description="default the resource's bank, else dfspa")
    headers: dict[str, str | None] = Field(
        default_factory=dict, description="override the TPP's headers; null removes one"
    )


class Token(TokenParams):
    """``POST /obie/{bank}/token``: a client-credentials token (sets ``${client_token}``),
    or, with ``code``, the code exchanged for the PSU's token (sets ``${psu_token}``).
    ``form`` is merged into the form (null removes a field), to send any request."""

    scope: str | None = Field("payments", description="client_credentials: the scope")


class Payment(ScenarioModel):
    """The shorthand of a domestic payment's ``Data.Initiation`` (a null field is left
    out)."""

    amount: Text | None = Field("165.88", description="InstructedAmount.Amount (quote it)")
    currency: str | None = Field("GBP", description="InstructedAmount.Currency")
    debtor: str | None = Field(MITS, description="DebtorAccount (sort code + number)")
    creditor: str | None = Field(HARRY, description="CreditorAccount (sort code + number)")
    creditor_name: str | None = Field("Harry Smith", description="CreditorAccount.Name")
    instruction_id: str | None = Field("ACME412", description="InstructionIdentification")
    end_to_end_id: str | None = Field("FRESCO.21302.GFX.20", description="EndToEndIdentification")
    reference: str | None = Field(
        "FRESCO-101", description="RemittanceInformation.Reference (v3.1: also in 4.0's place)"
    )
    remittance: str | None = Field(
        None, description="RemittanceInformation.Unstructured (an array in v4.0)"
    )


class CreateConsent(ObieCall, Payment):
    """``POST /domestic-payment-consents`` with a client token (sets ``${consent_id}``);
    with ``execute_at``, ``POST /domestic-scheduled-payment-consents`` (``Permission:
    Create``, ``Initiation.RequestedExecutionDateTime``: a date-time as written, or
    ``today``, ``+Nd``, ``-Nd``, midnight UTC of that day on tpsim's clock), whose
    payment and reads (``obie.pay``, ``obie.get_payment``, …) then use the scheduled
    resources. The body is built from the shorthand fields with ``fields`` merged in
    deeply (null removes a key), or is ``body`` as written. ``x-idempotency-key`` is new
    unless ``idempotency_key`` is given."""

    execute_at: str | None = Field(
        None, description="a scheduled payment's date-time, today, +Nd or -Nd"
    )

    risk: dict[str, Any] = Field(
        default_factory=lambda: {"PaymentContextCode": "TransferToThirdParty"},
        description="the Risk object",
    )
    fields: dict[str, Any] = Field(
        default_factory=dict, description="merged deeply into the built body"
    )
    body: dict[str, Any] | None = Field(None, description="send this body instead")
    idempotency_key: str | None = Field(None, description="default: a new one")
    token: str | None = Field(CLIENT, description="client, psu, null (none) or a token")


class ConsentCall(ObieCall):
    """A request about one consent."""

    consent: str = Field("${consent_id}", description="ConsentId")


class GetConsent(ConsentCall):
    """``GET /domestic-payment-consents/{ConsentId}`` with a client token."""

    token: str | None = Field(CLIENT, description="client, psu, null (none) or a token")


class Funds(ConsentCall):
    """``GET …/{ConsentId}/funds-confirmation`` with the consent's PSU token."""

    token: str | None = Field(PSU, description="client, psu, null (none) or a token")


class CodeExchange(ConsentCall):
    """How the code that comes back is exchanged for the PSU's token."""

    exchange: bool = Field(True, description="exchange the code for the PSU's token")
    redirect_uri: str = REDIRECT
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET


class AuthoriseConsent(CodeExchange):
    """The PSU at the bank: ``GET /obie/{bank}/authorize`` with the consent as
    ``openbanking_intent_id`` (in an unsigned request object, or a plain parameter).
    Headless (``sim_decision``, the default), through the bank's real consent page
    (given ``password``), or left waiting for ``obie.decide`` (``headless: false``). The
    browser's return to the redirect URI is the step's ``expect.redirect`` (the query and
    fragment parameters, and ``location``); its code is ``${auth_code}`` and, unless
    ``exchange`` is false, exchanged at ``/token`` for the PSU's token (``${psu_token}``)."""

    decision: Decision = "approve"
    psu: str | None = Field(None, description="sim_psu, or the page's user")
    account: str | None = Field(None, description="sim_account: the account to pay from")
    password: str | None = Field(None, description="sign in on the consent page")
    headless: bool = Field(True, description="false: stop at the consent page (obie.decide)")
    response_type: str = "code id_token"
    response_mode: str | None = None
    scope: str = "openid payments"
    state: str | None = Field("${uuid}", description="default: a new one")
    nonce: str | None = Field("${uuid}", description="default: a new one")
    request_object: bool = Field(
        True, description="the intent in a request object (alg none); false: a plain parameter"
    )
    query: dict[str, str | None] = Field(
        default_factory=dict, description="merged into the query (null removes a parameter)"
    )


class DecideConsent(CodeExchange):
    """The PSU decides in their bank's app: ``POST /admin/psd2/authorisations/{ConsentId}
    /decision``; the TPP's waiting ``/authorize`` (``obie.authorise`` with ``headless:
    false``) is answered with the redirect, whose code is exchanged like
    ``obie.authorise``'s."""

    decision: Decision = "approve"
    psu: str | None = None
    account: str | None = None


class Pay(ConsentCall):
    """``POST /domestic-payments`` with the consent's PSU token (sets ``${payment_id}``):
    ``Data.ConsentId`` and the consent's own ``Initiation`` and ``Risk`` (as the bank
    answered them), with ``fields`` merged in deeply (null removes a key), or ``body``
    as written."""

    fields: dict[str, Any] = Field(
        default_factory=dict, description="merged deeply into the built body"
    )
    body: dict[str, Any] | None = Field(None, description="send this body instead")
    idempotency_key: str | None = Field(None, description="default: a new one")
    token: str | None = Field(PSU, description="client, psu, null (none) or a token")


class PaymentCall(ObieCall):
    """A request about one domestic payment, with a client token."""

    payment: str = Field("${payment_id}", description="DomesticPaymentId")
    token: str | None = Field(CLIENT, description="client, psu, null (none) or a token")


class GetDomesticPayment(PaymentCall):
    """``GET /domestic-payments/{DomesticPaymentId}``; with ``until``, asked again until
    its ``Data.Status`` is one of them (within the step's deadline), as a TPP polls."""

    until: list[str] | None = Field(None, description="e.g. [ACCC] (v4.0)")


class PaymentDetails(PaymentCall):
    """``GET /domestic-payments/{DomesticPaymentId}/payment-details``."""


class UkRequest(ObieCall):
    """Any request under the bank's ``/obie/{bank}/open-banking/v{version}/pisp``, with the
    TPP's headers (for error cases): ``path`` like ``/domestic-payments/${payment_id}``;
    ``raw`` sends that text as the body. Without ``idempotency_key`` a POST gets a new
    one."""

    method: Method
    path: str = Field(pattern="^/", description="under …/pisp, starting with /")
    body: dict[str, Any] | None = None
    raw: str | None = None
    idempotency_key: str | None = Field(None, description="POST: default a new one")
    token: str | None = Field(CLIENT, description="client, psu, null (none) or a token")
    consent: str | None = Field(None, description="token psu: whose (default the latest)")
