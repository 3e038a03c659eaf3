"""The scenario file format as pydantic models; ``scenario_json_schema()`` publishes it.

A scenario is a YAML mapping::

    name: FIDO transfer, amount type SEND
    tags: [transfer, fido]
    config: {behaviour: {profile: reference}}     # overlay on the base config
    matrix: {profile: [spec, reference]}          # one run per cell; cells are variables
    variables: {amount: "100"}
    steps:
      - initiate_transfer: {amount: "${amount}"}  # one action per step, named by its key
        expect:
          messages:
            - PUT /thirdpartyRequests/transactions/{ID}
            - method: POST
              path: /thirdpartyRequests/authorizations
              save: authorization
          within: 2s

Step parameters are documented on each action model below; ``docs/scenarios.md`` is the
user's guide. Strings may hold ``${…}`` references, resolved when the step runs
(``tpsim.scenario.variables``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    Tag,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from tpsim.auth.broken import Broken

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}


def parse_duration(value: object) -> float:
    """``2s``, ``500ms``, ``1.5m`` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 2s or 500ms")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        found = _DURATION.match(str(value))
        if found is None:
            raise ValueError(f"{value!r} is not a duration; write e.g. 2s, 500ms or 1.5m")
        seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if not 0 <= seconds <= 3600:
        raise ValueError("a duration must be between 0 s and 1 hour")
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(json_schema_extra={"type": ["number", "string"], "examples": ["2s", "500ms"]}),
]


def _as_text(value: Any) -> Any:
    """YAML reads ``6201`` and ``100`` as numbers; error codes and amounts are text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_as_text)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- expectations -------------------------------------------------------------------------


class ExpectMessage(_Model):
    """A message the step expects to cross the switch (by default: a callback to the PISP).

    Matched by correlation id (the step's conversation), method and path template; then
    ``body``, ``error``, ``headers`` and ``status`` must hold. ``"PUT /path"`` is shorthand
    for ``{method: PUT, path: /path}``.
    """

    method: Method
    path: str = Field(description="template: a {…} segment matches any one segment")
    from_: str | None = Field(None, alias="from", description="sender fspId")
    to: str | None = Field(None, description="receiver fspId; default: the PISP")
    body: dict[str, Any] | None = Field(
        None, description="must be contained in the body; a string 're:…' is a regex"
    )
    error: Text | None = Field(None, description="errorInformation.errorCode of the body")
    headers: dict[str, str] | None = Field(None, description="must be among the headers")
    status: int | None = Field(None, description="the receiver's synchronous HTTP answer")
    answered_within: Duration | None = Field(
        None, description="the receiver answered within this time"
    )
    correlation: str | None = Field(None, description="match this conversation instead")
    absent: bool = Field(False, description="must NOT arrive before the step's deadline")
    save: str | None = Field(None, description="store the message as ${name} (.body, .path…)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            method, _, path = value.strip().partition(" ")
            return {"method": method.upper(), "path": path.strip()}
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        shorthand = {"type": "string", "pattern": "^(GET|POST|PUT|PATCH|DELETE) /"}
        return {"anyOf": [{**shorthand, "examples": ["PUT /consents/{ID}"]}, handler(core_schema)]}

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


class Expect(_Model):
    """What a step expects: the synchronous answer, then messages within a deadline."""

    status: int | None = Field(None, description="synchronous answer; default per action")
    error: Text | None = Field(None, description="errorCode of a synchronous error answer")
    answered_within: Duration | None = Field(None, description="the synchronous answer's time")
    messages: list[ExpectMessage] = Field(
        default_factory=list, description='each a mapping, or "METHOD /path" for short'
    )
    ordered: bool = Field(False, description="messages must arrive in the listed order")
    within: Duration = Field(5.0, description="deadline for messages, from the step's start")
    redirect: dict[str, str] | None = Field(
        None, description="authenticate (WEB): the login page's redirect query parameters"
    )
    balances: dict[str, Text] | None = Field(None, description="check_balances: address → amount")


# --- actions ------------------------------------------------------------------------------


class Discover(_Model):
    """``GET /services/{service}`` to the switch."""

    service: str = "THIRD_PARTY_DFSP"


class ListAccounts(_Model):
    """``GET /accounts/{user}`` to a DFSP."""

    user: str
    dfsp: str = "dfspa"


class RequestConsent(_Model):
    """``POST /consentRequests`` (sets ``${consent_request}``)."""

    id: str | None = Field(None, description="consentRequestId; default: a new UUID")
    user: str
    accounts: list[str] = Field(min_length=1, description="account addresses to link")
    actions: list[str] = ["ACCOUNTS_GET_BALANCE", "ACCOUNTS_TRANSFER"]
    channels: list[Literal["WEB", "OTP"]] = ["WEB", "OTP"]
    callback_uri: str | None = Field(None, description="default: the built-in PISP's")
    dfsp: str = "dfspa"


class Authenticate(_Model):
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


class RegisterCredential(_Model):
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


class LookupParty(_Model):
    """``GET /parties/{type}/{id}[/{sub_id}]`` to the switch."""

    type: str = "MSISDN"
    id: str = "16135551212"
    sub_id: str | None = None


class Payee(_Model):
    type: str = "MSISDN"
    id: str = "16135551212"
    fsp: str | None = "dfspb"
    name: str | None = "Bob Babirye"


class InitiateTransfer(_Model):
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


class Approve(_Model):
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


class Reject(_Model):
    """``PUT /thirdpartyRequests/authorizations/{ID}`` REJECTED: the user declines."""

    transfer: str = Field("${transfer}", description="transactionRequestId")


class GetTransaction(_Model):
    """``GET /thirdpartyRequests/transactions/{ID}``."""

    transfer: str = Field("${transfer}", description="transactionRequestId")
    dfsp: str = "dfspa"


class RevokeConsent(_Model):
    """The PISP sends ``DELETE /consents/{ID}`` (``by: pisp``), or the user revokes at the
    DFSP (``by: dfsp``, through the admin API)."""

    consent: str = Field("${consent}", description="consentId")
    by: Literal["pisp", "dfsp"] = "pisp"
    dfsp: str = "dfspa"


class Send(_Model):
    """Any message with any headers, for negative tests. ``headers`` override the ones the
    PISP would send (null removes one); ``raw`` sends that text as the body."""

    method: Method
    path: str
    body: dict[str, Any] | None = None
    raw: str | None = None
    headers: dict[str, str | None] = Field(default_factory=dict)
    destination: str | None = Field(None, description="FSPIOP-Destination")
    source: str | None = Field(None, description="FSPIOP-Source; default: the PISP")


class Wait(_Model):
    """Send nothing; wait for the step's messages (or ``for`` a while)."""

    for_: Duration | None = Field(None, alias="for")
    correlation: str | None = Field(None, description="the conversation to watch")


class CheckBalances(_Model):
    """Read ``GET /admin/accounts`` and compare (``expect.balances`` or the mapping here)."""

    balances: dict[str, Text] = Field(default_factory=dict)


class Trigger(_Model):
    """Conformance mode: call the PISP's own API (``pisp.api`` + ``path``, or ``url``)."""

    method: Method = "POST"
    path: str = "/"
    url: str | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)


ACTIONS: dict[str, type[_Model]] = {
    "discover": Discover,
    "list_accounts": ListAccounts,
    "request_consent": RequestConsent,
    "authenticate": Authenticate,
    "register_credential": RegisterCredential,
    "lookup_party": LookupParty,
    "initiate_transfer": InitiateTransfer,
    "approve": Approve,
    "reject": Reject,
    "get_transaction": GetTransaction,
    "revoke_consent": RevokeConsent,
    "send": Send,
    "wait": Wait,
    "check_balances": CheckBalances,
    "trigger": Trigger,
}


class _Step(_Model):
    """The keys every step has besides its action (the schema of a step; the runner reads
    steps as ``loader.PlannedStep``)."""

    name: str | None = Field(None, description="shown in reports instead of the action")
    expect: Expect = Field(default_factory=Expect)


class DiscoverStep(_Step):
    discover: Discover = Discover()


class ListAccountsStep(_Step):
    list_accounts: ListAccounts


class RequestConsentStep(_Step):
    request_consent: RequestConsent


class AuthenticateStep(_Step):
    authenticate: Authenticate = Authenticate()


class RegisterCredentialStep(_Step):
    register_credential: RegisterCredential = RegisterCredential()


class LookupPartyStep(_Step):
    lookup_party: LookupParty = LookupParty()


class InitiateTransferStep(_Step):
    initiate_transfer: InitiateTransfer = InitiateTransfer()


class ApproveStep(_Step):
    approve: Approve = Approve()


class RejectStep(_Step):
    reject: Reject = Reject()


class GetTransactionStep(_Step):
    get_transaction: GetTransaction = GetTransaction()


class RevokeConsentStep(_Step):
    revoke_consent: RevokeConsent = RevokeConsent()


class SendStep(_Step):
    send: Send


class WaitStep(_Step):
    wait: Wait = Wait()


class CheckBalancesStep(_Step):
    check_balances: CheckBalances = CheckBalances()


class TriggerStep(_Step):
    trigger: Trigger = Trigger()


class IncludeStep(_Model):
    """Steps of a fragment file (path relative to the including file), with parameters;
    expanded when the scenario is loaded."""

    include: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")


def _which_action(value: Any) -> str | None:
    if isinstance(value, dict):
        named = [k for k in value if k in ACTIONS or k == "include"]
        return named[0] if len(named) == 1 else None
    return None


def _empty_params(value: Any) -> Any:
    """``- discover:`` (null) means ``- discover: {}``."""
    if isinstance(value, dict):
        return {k: ({} if v is None and k in ACTIONS else v) for k, v in value.items()}
    return value


_ONE_ACTION = "a step names exactly one action: " + ", ".join(ACTIONS) + " (or include a fragment)"

Step = Annotated[
    Annotated[
        Annotated[DiscoverStep, Tag("discover")]
        | Annotated[ListAccountsStep, Tag("list_accounts")]
        | Annotated[RequestConsentStep, Tag("request_consent")]
        | Annotated[AuthenticateStep, Tag("authenticate")]
        | Annotated[RegisterCredentialStep, Tag("register_credential")]
        | Annotated[LookupPartyStep, Tag("lookup_party")]
        | Annotated[InitiateTransferStep, Tag("initiate_transfer")]
        | Annotated[ApproveStep, Tag("approve")]
        | Annotated[RejectStep, Tag("reject")]
        | Annotated[GetTransactionStep, Tag("get_transaction")]
        | Annotated[RevokeConsentStep, Tag("revoke_consent")]
        | Annotated[SendStep, Tag("send")]
        | Annotated[WaitStep, Tag("wait")]
        | Annotated[CheckBalancesStep, Tag("check_balances")]
        | Annotated[TriggerStep, Tag("trigger")]
        | Annotated[IncludeStep, Tag("include")],
        Discriminator(
            _which_action, custom_error_type="step_action", custom_error_message=_ONE_ACTION
        ),
    ],
    BeforeValidator(_empty_params),
]


# --- the scenario ---------------------------------------------------------------------------


class PispAnswer(_Model):
    """How the built-in PISP answers the callbacks that fit ``method`` and ``path``."""

    method: Method
    path: str = Field(description="template: a {…} segment matches any one segment")
    status: int = Field(ge=100, le=599)


class PispUnderTest(_Model):
    """Who plays the PISP: tpsim's built-in PISP, or (``endpoint`` set) an external PISP under
    test, which makes this a conformance scenario."""

    fsp_id: str = "pispa"
    endpoint: str | None = Field(None, description="the external PISP's FSPIOP endpoint")
    api: str | None = Field(None, description="base URL of the external PISP's own API")
    checks: bool = Field(True, description="check its messages against the OpenAPI + headers")
    answers: list[PispAnswer] = Field(
        default_factory=list,
        description="built-in PISP: answer these callbacks with another status (e.g. 500)",
    )


class _ScenarioHead(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(
        default_factory=dict, description="overlay on the base config: mappings merge"
    )
    variables: dict[str, Any] = Field(default_factory=dict)
    matrix: dict[str, list[Any]] | list[dict[str, Any]] | None = Field(
        None, description="a mapping of lists (every combination) or a list of mappings"
    )

    def matrix_cells(self) -> list[dict[str, Any]]:
        """The parameter sets to run, ``[{}]`` without a matrix."""
        if self.matrix is None:
            return [{}]
        if isinstance(self.matrix, list):
            return [dict(cell) for cell in self.matrix] or [{}]
        cells: list[dict[str, Any]] = [{}]
        for key, values in self.matrix.items():
            cells = [{**cell, key: value} for cell in cells for value in values]
        return cells


class Scenario(_ScenarioHead):
    """A scenario file."""

    pisp: PispUnderTest = Field(default_factory=PispUnderTest)
    steps: list[Step] = Field(min_length=1)


class ScenarioHead(_ScenarioHead):
    """A scenario file before its steps and ``pisp`` are checked: they are, once per matrix
    cell, after the cell's variables are written into them (so ``${…}`` may stand for any
    value)."""

    pisp: dict[str, Any] = Field(default_factory=dict)
    steps: list[Any] = Field(min_length=1)


class Steps(_Model):
    steps: list[Step] = Field(min_length=1)


class Fragment(_Model):
    """A file of reusable steps, for ``include``; ``parameters`` are their defaults."""

    parameters: dict[str, Any] = Field(default_factory=dict)
    steps: list[Any] = Field(min_length=1)


def scenario_json_schema() -> dict[str, Any]:
    """The published JSON Schema of scenario files (``tpsim run --schema``)."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://tpsim.dev/schema/scenario.json"
    return schema
