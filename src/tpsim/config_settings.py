"""The config file's settings sections: ``behaviour:`` (the Mojaloop profile, timeouts,
fees, FIDO policy, account linking, PSD2 settings), ``journal:`` and ``server:``; and the
strict base and the FSPIOP amount check ``config.py`` shares.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tpsim.auth.origin import allowed_origin_problem, rp_id_problem
from tpsim.config_psd2 import MAX_DURATION_S, Psd2Behaviour

_AMOUNT = re.compile(r"^([0]|([1-9][0-9]{0,17}))([.][0-9]{0,3}[1-9])?$")
ScopeActionStr = Literal["ACCOUNTS_GET_BALANCE", "ACCOUNTS_TRANSFER", "ACCOUNTS_STATEMENT"]
AuthChannel = Literal["WEB", "OTP"]

# Upper bounds of the counts and sizes below: far above what a sandbox needs, low enough
# that a typo (an extra three zeros) is refused at load rather than turning the bound off
# and letting memory or file descriptors run out while serving.
# Ended conversations kept per kind and participant (behaviour.retention_max).
MAX_RETAINED = 1_000_000
MAX_JOURNAL_ENTRIES = 1_000_000
MAX_JOURNAL_BYTES = 4 * 1024**3
# No edge accepts a body over FSPIOP v1.1 §3.1.3's 5 MiB: a larger bound would keep no more.
MAX_JOURNAL_BODY_BYTES = 5_242_880
# A process's open-file hard limit is commonly 2**20; each connection holds one.
MAX_CONNECTIONS = 65_536


class Profile(StrEnum):
    """Which error codes and rejection behaviour the Mojaloop dialect uses (DESIGN.md
    ``behaviour.profile``): the written spec's, or Mojaloop's reference implementation's."""

    SPEC = "spec"
    REFERENCE = "reference"


class Strict(BaseModel):
    """A config section: an unknown key is an error, and the values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def amount(value: object) -> str:
    """``value`` as an FSPIOP Amount (a validator: raises ``ValueError`` saying how to write
    it)."""
    text = str(value)
    try:
        Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not _AMOUNT.match(text):
        raise ValueError(
            f"{text!r} is not an FSPIOP Amount (digits, up to 4 decimals, no trailing zeros,"
            " e.g. '100' or '0.5'); write it as a quoted string"
        )
    return text


class FeeConfig(Strict):
    fee: str = "0"
    commission: str = "0"

    _fee = field_validator("fee", "commission", mode="before")(amount)


def _allowed_origin(value: str) -> str:
    """An entry of ``allowed_origins`` a browser's origin can equal (a validator)."""
    problem = allowed_origin_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class FidoPolicyConfig(Strict):
    allowed_origins: list[Annotated[str, AfterValidator(_allowed_origin)]] = Field(
        default_factory=list
    )
    rp_id: str | None = None

    @field_validator("rp_id")
    @classmethod
    def _rp_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        """An RP ID every allowed origin may use: otherwise every registration and
        assertion fails (rpIdHash) with nothing saying why. When an origin was itself
        refused, only the RP ID's form is checked."""
        if value is None:
            return None
        problem = rp_id_problem(value, info.data.get("allowed_origins", ()))
        if problem is not None:
            raise ValueError(problem)
        return value


class OtpConfig(Strict):
    # A PISP sends the OTP as an ``authToken`` (BinaryString), so it must be one.
    fixed: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    ttl_s: float = Field(default=300.0, gt=0, le=MAX_DURATION_S)


class WebLoginConfig(Strict):
    # The simulated users' password on the login page: a sandbox value, not a secret.
    password: Annotated[str, Field(min_length=1)] = "tpsim"  # noqa: S105
    secret_ttl_s: float = Field(default=300.0, gt=0, le=MAX_DURATION_S)
    public_url: str | None = None

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError(f"{value!r} must be an http:// or https:// URL")
        return value.rstrip("/") if value is not None else None


class LinkingConfig(Strict):
    auth_channels: list[AuthChannel] = Field(default=["WEB", "OTP"], min_length=1, max_length=2)
    scope_actions: list[ScopeActionStr] = Field(
        default=["ACCOUNTS_GET_BALANCE", "ACCOUNTS_TRANSFER"], min_length=1
    )
    callback_uri_allowlist: list[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:")]] = (
        Field(default_factory=list)
    )
    # As behaviour.psd2.max_attempts: beyond a hundred wrong OTPs nothing is being tested.
    max_attempts: int = Field(default=3, ge=1, le=100)
    # How long the hub auth-service waits for the ALS to confirm a consent's registration,
    # and a simulated DFSP for it to confirm a verified consent's THIRD_PARTY_LINKs.
    registration_timeout_s: float = Field(default=60.0, gt=0, le=MAX_DURATION_S)
    otp: OtpConfig = OtpConfig()
    web: WebLoginConfig = WebLoginConfig()

    @field_validator("auth_channels")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("list each channel once, in order of preference")
        return value


class BehaviourConfig(Strict):
    profile: Profile = Profile.SPEC
    challenge: Annotated[str, Field(min_length=1)] = "quote"
    authorization_timeout_s: float = Field(default=100.0, gt=0, le=MAX_DURATION_S)
    delivery_timeout_s: float = Field(default=10.0, gt=0, le=MAX_DURATION_S)
    # How long GET /sdk/{fspId}/parties/… waits for its PUT /parties callback (the
    # sdk-scheme-adapter's REQUEST_PROCESSING_TIMEOUT_SECONDS, 30 by default).
    sdk_lookup_timeout_s: float = Field(default=30.0, gt=0, le=MAX_DURATION_S)
    quote_expiry_s: float = Field(default=60.0, gt=0, le=MAX_DURATION_S)
    # How long an ended conversation (a transaction, a consent request, a verification, a
    # payment intent) is kept to answer late duplicates and GETs before it is forgotten.
    retention_s: float = Field(default=300.0, ge=0, le=MAX_DURATION_S)
    # …and at most this many ended ones of each kind per participant (the oldest go first).
    retention_max: int = Field(default=2000, ge=1, le=MAX_RETAINED)
    payee_fees: FeeConfig = FeeConfig()
    fido: FidoPolicyConfig = FidoPolicyConfig()
    linking: LinkingConfig = LinkingConfig()
    psd2: Psd2Behaviour = Psd2Behaviour()


class JournalConfig(Strict):
    max_entries: int = Field(default=10_000, ge=1, le=MAX_JOURNAL_ENTRIES)
    # The ring's bound in bytes (bodies counted as they arrived), and the largest accepted
    # body an entry keeps whole (a larger one keeps its first 4 kB as text).
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=64 * 1024, le=MAX_JOURNAL_BYTES)
    max_body_bytes: int = Field(default=1024 * 1024, ge=4096, le=MAX_JOURNAL_BODY_BYTES)
    jsonl: str | None = None

    @model_validator(mode="after")
    def _body_fits(self) -> JournalConfig:
        if self.max_body_bytes > self.max_bytes:
            raise ValueError(
                f"max_body_bytes ({self.max_body_bytes}) must not exceed max_bytes"
                f" ({self.max_bytes}): one entry would fill the journal"
            )
        return self


class ServerConfig(Strict):
    """How ``tpsim serve`` treats connections, so that clients that connect and send nothing,
    trickle their headers or hold idle connections cannot use up the process's file
    descriptors. Read when the server starts: ``PUT /admin/fixtures`` does not change it."""

    # From accept to the end of the first request's headers.
    header_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    # From an answer to the end of the next request's headers on a kept-alive connection.
    idle_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    # From the end of a request's headers to the end of its body (edge, admin API, pages).
    body_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    # Well under the common 1024 open-file limit, which outgoing deliveries share.
    max_connections: int = Field(default=512, ge=1, le=MAX_CONNECTIONS)
