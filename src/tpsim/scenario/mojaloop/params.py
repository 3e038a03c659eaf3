"""The parameters of the Mojaloop actions of scenario steps (``mojaloop.NAME``, or the bare
``NAME``: Mojaloop is the default dialect). Each model documents its action; ``docs/
scenarios.md`` is the user's guide.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tpsim.auth.broken import Broken
from tpsim.scenario.base import Method, ScenarioModel, Text


class Discover(ScenarioModel):
    """``GET /services/{service}`` to the switch."""

    service: str = "THIRD_PARTY_DFSP"


class ListAccounts(ScenarioModel):
    """``GET /accounts/{user}`` to a DFSP."""

    user: str
    dfsp: str = "dfspa"


class RequestConsent(ScenarioModel):
    """``POST /consentRequests`` (sets ``${consent_request}``)."""

    id: str | None = Field(None, description="consentRequestId; default: a new UUID")
    user: str
    accounts: list[str] = Field(min_length=1, description="account addresses to link")
    actions: list[str] = ["ACCOUNTS_GET_BALANCE", "ACCOUNTS_TRANSFER"]
    channels: list[Literal["WEB", "OTP"]] = ["WEB", "OTP"]
    callback_uri: str | None = Field(None, description="default: the built-in PISP's")
    dfsp: str = "dfspa"


class Authenticate(ScenarioModel):
    """The user authenticates at the DFSP, the PISP sends ``PATCH /consentRequests/{ID}``.

    WEB: the login page is opened and submitted for real, and the redirect to the callback
    URI gives the secret. OTP: the code the DFSP "texted" is read from the admin API.
    """

    consent_request: str = Field("${consent_request}", description="consentRequestId")
    decision: Literal["approve", "deny"] = "approve"
    password: str = "tpsim"  # noqa: S105 - the simulated users' password
    accounts: list[str] | None = Field(None, description="WEB: accounts ticked; default all")
    token: str | None = Field(
        None, description="send this authToken at once, without waiting for the DFSP's answer"
    )
    dfsp: str | None = Field(None, description="default: the DFSP that answered, else dfspa")


class RegisterCredential(ScenarioModel):
    """Sign the consent challenge of ``POST /consents`` and ``PUT /consents/{ID}``.

    A new software authenticator is created; it signs later transfers from the consent's
    accounts (``approve``), or by name with ``approve: {credential: NAME}``.
    """

    consent_request: str = Field("${consent_request}", description="consentRequestId")
    credential: Literal["FIDO", "GENERIC"] = "FIDO"
    key: Literal["p256", "secp256k1", "ed25519", "rsa"] = "p256"
    fmt: Literal["none", "packed", "fido-u2f"] = "none"
    broken: Broken | None = Field(None, description="a broken variant of the attestation")
    name: str | None = Field(None, description="name of the authenticator; default: FIDO/GENERIC")


class LookupParty(ScenarioModel):
    """``GET /parties/{type}/{id}[/{sub_id}]`` to the switch."""

    type: str = "MSISDN"
    id: str = "16135551212"
    sub_id: str | None = None


class SdkLookup(ScenarioModel):
    """``GET /sdk/{fsp}/parties/{type}/{id}[/{sub_id}]``: the party lookup a PISP asks its
    sdk-scheme-adapter for, which tpsim runs through the switch as ``fsp``; ``expect``
    checks the adapter's synchronous answer (``status``, ``body``): 200
    ``{party: {body, headers}, currentState: COMPLETED}``, 404 ``{errorInformation}``."""

    fsp: str = Field("pispa", description="the PISP the lookup runs as")
    type: str = "MSISDN"
    id: str = "16135551212"
    sub_id: str | None = None


class Payee(ScenarioModel):
    type: str = "MSISDN"
    id: str = "16135551212"
    fsp: str | None = "dfspb"
    name: str | None = "Bob Babirye"


class InitiateTransfer(ScenarioModel):
    """``POST /thirdpartyRequests/transactions`` (sets ``${transfer}``)."""

    id: str | None = Field(None, description="transactionRequestId; default: a new UUID")
    payer: str = Field("dfspa.alice.chequing", description="the linked account address")
    dfsp: str = "dfspa"
    payee: Payee = Payee()
    amount: Text = "100"
    currency: str = "USD"
    amount_type: Literal["SEND", "RECEIVE"] = "SEND"
    expiration: str = Field("5m", description="a duration from now, or a timestamp")
    body: dict[str, Any] | None = Field(None, description="send this body instead")


class Approve(ScenarioModel):
    """``PUT /thirdpartyRequests/authorizations/{ID}`` ACCEPTED, signing the challenge.

    The authorization request is the ``POST /thirdpartyRequests/authorizations`` of the
    transfer (waited for within the step's deadline).
    """

    transfer: str = Field("${transfer}", description="transactionRequestId")
    credential: str | None = Field(
        None, description="authenticator name; default: the one linked to the payer account"
    )
    broken: Broken | None = Field(None, description="sign with a broken variant")
    challenge: str | None = Field(None, description="sign this instead of the challenge")
    payload: dict[str, Any] | None = Field(None, description="send this signedPayload")


class Reject(ScenarioModel):
    """``PUT /thirdpartyRequests/authorizations/{ID}`` REJECTED: the user declines."""

    transfer: str = Field("${transfer}", description="transactionRequestId")


class GetTransaction(ScenarioModel):
    """``GET /thirdpartyRequests/transactions/{ID}``."""

    transfer: str = Field("${transfer}", description="transactionRequestId")
    dfsp: str = "dfspa"


class RevokeConsent(ScenarioModel):
    """The PISP sends ``DELETE /consents/{ID}`` (``by: pisp``), or the user revokes at the
    DFSP (``by: dfsp``, through the admin API)."""

    consent: str = Field("${consent}", description="consentId")
    by: Literal["pisp", "dfsp"] = "pisp"
    dfsp: str = "dfspa"


class Send(ScenarioModel):
    """Any message with any headers, for negative tests. ``headers`` override the ones the
    PISP would send (null removes one); ``raw`` sends that text as the body."""

    method: Method
    path: str
    body: dict[str, Any] | None = None
    raw: str | None = None
    headers: dict[str, str | None] = Field(default_factory=dict)
    destination: str | None = Field(None, description="FSPIOP-Destination")
    source: str | None = Field(None, description="FSPIOP-Source; default: the PISP")
