"""The PSD2 part of the config: TPPs, the PSD2 defaults and each simulated bank's profile.

    tpps:                        who may call the PSD2 dialects (stands in for the eIDAS
      - client_id: tpp-one       certificate and the directory registration)
        client_secret: secret
        name: Example TPP
        redirect_uris: [https://tpp.example/cb]
    behaviour:
      psd2:                      the defaults of every simulated bank
        headless: true           sim_decision=… on SCA links, the admin decision endpoint
        otp: "123456"            the embedded / decoupled OTP (TAN)
        max_attempts: 3          wrong passwords or OTPs before an authorisation fails
        decoupled_approval_delay_s: null   approve decoupled SCA after N s (null: wait)
    participants:
      - fsp_id: dfspa
        psd2:                    this bank's overrides, and its per-dialect profiles
          otp: "999999"
          xs2a: {sca_approaches_supported: [REDIRECT, EMBEDDED]}

``Psd2Settings.of(config, fsp_id)`` gives a bank's settings with its overrides applied. The
XS2A profile's keys are adorsys's ``bank_profile.yml`` names in snake_case, so users of the
adorsys sandbox recognise them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CLIENT_ID_PATTERN",
    "ObieProfile",
    "Psd2Behaviour",
    "Psd2ParticipantConfig",
    "Psd2Settings",
    "StetProfile",
    "TppConfig",
    "Xs2aProfile",
    "path_rewritten",
    "redirect_allowed",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ScaApproach = Literal["REDIRECT", "EMBEDDED", "DECOUPLED", "OAUTH"]
PaymentService = Literal["payments", "periodic-payments", "bulk-payments"]
SEPA_PRODUCTS = ["sepa-credit-transfers", "instant-sepa-credit-transfers"]
_OTP = r"^[A-Za-z0-9]{1,64}$"
#: A TPP's client id: visible ASCII (the XS2A ``TPP-Client-ID`` header checks it too).
CLIENT_ID_PATTERN = r"^[\x21-\x7e]+$"
#: The longest duration a config may give (ten years, as ``POST /admin/clock/advance``): a
#: longer one (or an infinite one) cannot be added to a date, and every request that would
#: set an expiry or a timer from it would fail.
MAX_DURATION_S = 10 * 366 * 86_400
MAX_DURATION_MS = MAX_DURATION_S * 1000


def _redirect_uri(value: str) -> str:
    """A redirect URI a TPP registers: absolute, no fragment (RFC 6749 §3.1.2)."""
    url = urlsplit(value)
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", url.scheme or "") or not (url.netloc or url.path):
        raise ValueError(f"{value!r} is not an absolute URI (e.g. https://tpp.example/cb)")
    if url.fragment or "#" in value:
        raise ValueError(f"{value!r} must not have a fragment (RFC 6749 §3.1.2)")
    if any(c.isspace() for c in value):
        raise ValueError(f"{value!r} must not contain spaces")
    return value


class TppConfig(_Strict):
    client_id: Annotated[str, Field(min_length=1, max_length=128, pattern=CLIENT_ID_PATTERN)]
    client_secret: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    name: Annotated[str, Field(min_length=1, max_length=140)]
    redirect_uris: list[Annotated[str, Field(max_length=2048)]] = Field(min_length=1, max_length=32)
    # Public keys (a JWK Set) for signed request objects and message signatures.
    jwks: dict[str, Any] | None = None

    @field_validator("redirect_uris")
    @classmethod
    def _uris(cls, value: list[str]) -> list[str]:
        return [_redirect_uri(uri) for uri in value]


def redirect_allowed(tpp: TppConfig, uri: str) -> bool:
    """Whether ``uri`` is one of ``tpp``'s redirect URIs (DESIGN.md "TPPs"): the same scheme
    and host (and port), and a path under one of theirs by whole segments; its own query is
    the TPP's business. Control characters and spaces are never allowed (``urlsplit``
    would drop a CR or LF before the path is compared), nor a path a browser would rewrite
    out from under the registered one (``path_rewritten``) unless it is a registered URI
    itself."""
    if re.search(r"[\x00-\x20\x7f-\x9f]", uri):
        return False
    if uri in tpp.redirect_uris:
        return True
    try:
        given = urlsplit(uri)
        given.port  # noqa: B018 - a port that is no number: not allowed
    except ValueError:
        return False
    if path_rewritten(given.path) is not None:
        return False
    for registered in tpp.redirect_uris:
        mine = urlsplit(registered)
        if (given.scheme.lower(), given.netloc.lower()) != (
            mine.scheme.lower(),
            mine.netloc.lower(),
        ):
            continue
        prefix = mine.path.rstrip("/")
        if given.path == prefix or given.path.startswith(prefix + "/") or not prefix:
            return True
    return False


_ENCODED_DOT_OR_SLASH = re.compile(r"%(?:2e|2f|5c)", re.IGNORECASE)


def path_rewritten(path: str) -> str | None:
    """What in a URI's ``path`` a browser would rewrite before following it (RFC 3986
    5.2.4, WHATWG URL), so that a path that matched a prefix leads elsewhere: ``..``
    segments, backslashes (read as ``/``), percent-encoded dots, slashes and backslashes.
    None when there is nothing."""
    if "\\" in path:
        return "the path must not contain backslashes (browsers read them as /)"
    if _ENCODED_DOT_OR_SLASH.search(path):
        return "the path must not percent-encode dots, slashes or backslashes (%2E, %2F, %5C)"
    if ".." in path.split("/"):
        return "the path must not contain '..' segments"
    return None


def _once_each(value: list[str]) -> list[str]:
    """A list of approaches: each once, in order of preference."""
    if len(set(value)) != len(value):
        raise ValueError("list each approach once, in order of preference")
    return value


class Xs2aScaMethod(_Strict):
    """An embedded SCA method the bank offers (``authenticationType`` as the spec spells it)."""

    authentication_method_id: Annotated[str, Field(min_length=1, max_length=35)]
    authentication_type: Literal["SMS_OTP", "CHIP_OTP", "PHOTO_OTP", "PUSH_OTP", "SMTP_OTP"]
    name: Annotated[str, Field(max_length=70)] | None = None


def _default_methods() -> list[Xs2aScaMethod]:
    return [
        Xs2aScaMethod(authentication_method_id="sms", authentication_type="SMS_OTP", name="SMS"),
        Xs2aScaMethod(authentication_method_id="push", authentication_type="PUSH_OTP", name="App"),
    ]


def _all_products() -> dict[PaymentService, list[str]]:
    return {
        "payments": list(SEPA_PRODUCTS),
        "periodic-payments": list(SEPA_PRODUCTS),
        "bulk-payments": list(SEPA_PRODUCTS),
    }


class Xs2aProfile(_Strict):
    """A bank's XS2A profile: adorsys ``bank_profile.yml`` keys in snake_case."""

    sca_approaches_supported: list[ScaApproach] = Field(
        default=["REDIRECT", "EMBEDDED", "DECOUPLED"], min_length=1
    )
    start_authorisation_mode: Literal["auto", "implicit", "explicit"] = "auto"
    authorisation_confirmation_request_mandated: bool = False
    payment_cancellation_authorisation_mandated: bool = False
    redirect_url_expiration_time_ms: int = Field(default=600_000, gt=0, le=MAX_DURATION_MS)
    not_confirmed_payment_expiration_time_ms: int = Field(
        default=86_400_000, gt=0, le=MAX_DURATION_MS
    )
    authorisation_expiration_time_ms: int = Field(default=86_400_000, gt=0, le=MAX_DURATION_MS)
    supported_payment_type_and_product_matrix: dict[PaymentService, list[str]] = Field(
        default_factory=_all_products
    )
    sca_methods: list[Xs2aScaMethod] = Field(default_factory=_default_methods, min_length=1)
    # Not adorsys keys: the code a finalised payment's cancellation is refused with (the
    # seed's FORMAT_ERROR, or current adorsys's RESOURCE_BLOCKED), and the opt-in that
    # answers a repeated X-Request-ID with the first 201 (not Berlin Group behaviour).
    finalised_cancel_code: Literal["FORMAT_ERROR", "RESOURCE_BLOCKED"] = "FORMAT_ERROR"
    idempotent_x_request_id: bool = False

    _distinct = field_validator("sca_approaches_supported")(_once_each)

    @field_validator("supported_payment_type_and_product_matrix")
    @classmethod
    def _products(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for service, products in value.items():
            unknown = sorted(set(products) - set(SEPA_PRODUCTS))
            if unknown:
                raise ValueError(
                    f"{service}: tpsim plays the products {SEPA_PRODUCTS}, not {unknown}"
                )
        return value


class ObieProfile(_Strict):
    """A bank's UK Open Banking profile.

    ``consent_expiry_s``: an unauthorised, or authorised but unused, consent is rejected
    (U036) this long after it was created. ``cut_off_time``: the bank's daily cut-off
    ("HH:MM", UTC) given as ``CutOffDateTime``; after it (the reject strategy) the
    authorisation and the payment are refused (U012) and the consent rejected; None: no
    cut-off. ``reused_key_status``: a reused ``x-idempotency-key`` with another body is
    400 U002, or 403 U002 ("may be treated as fraud"). ``second_payment``: v4.0's answer to
    a second payment on a consumed consent with another key, 409 U029 (``conflict``) or
    400 U009 (``invalid-status``; v3.1 documents no 409, so always 400 U009).
    """

    consent_expiry_s: int = Field(default=86_400, gt=0, le=MAX_DURATION_S)
    cut_off_time: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] | None = None
    reused_key_status: Literal[400, 403] = 400
    second_payment: Literal["conflict", "invalid-status"] = "conflict"

    @property
    def cut_off(self) -> time | None:
        return None if self.cut_off_time is None else time.fromisoformat(self.cut_off_time)


StetApproach = Literal["REDIRECT", "DECOUPLED", "EMBEDDED-1-FACTOR"]


class StetProfile(_Strict):
    """A bank's STET profile (STET 1.4.2 unless ``flavour`` says otherwise).

    ``approaches``: the SCA approaches it applies, in its order of preference (the first
    the PISP's ``acceptedAuthenticationApproach`` lists is applied).
    ``confirmation_required``: after the PSU approved (REDIRECT, DECOUPLED) nothing
    executes before the PISP's ``POST …/confirmation``. ``o_confirmation``: the REDIRECT
    approach is STET 1.4.2's OAuth variant: the approval link is the bank's ``/authorize``
    (the PISP adds its ``redirect_uri`` and ``state``), and nothing executes before
    ``POST …/o-confirmation`` with the PSU's token. ``approval_expiry_s``: an approval (or
    a confirmation) not given by then ends the request RJCT / NOAS. ``unknown_id_status``:
    404, or 403 as some banks answer an unknown id. ``flavour: bpce-1.4.0`` answers 405 to
    PUT and to both confirmations, as BPCE's 89C3 v1.4.0 sandbox does.
    """

    flavour: Literal["1.4.2", "bpce-1.4.0"] = "1.4.2"
    approaches: list[StetApproach] = Field(
        default=["REDIRECT", "DECOUPLED", "EMBEDDED-1-FACTOR"], min_length=1
    )
    confirmation_required: bool = False
    o_confirmation: bool = False
    approval_expiry_s: int = Field(default=900, gt=0, le=MAX_DURATION_S)
    unknown_id_status: Literal[404, 403] = 404
    reject_duplicate_payment_information_id: bool = False

    _distinct = field_validator("approaches")(_once_each)

    @model_validator(mode="after")
    def _bpce_confirms_nothing(self) -> StetProfile:
        if self.flavour == "bpce-1.4.0" and (self.confirmation_required or self.o_confirmation):
            raise ValueError(
                "flavour bpce-1.4.0 answers 405 to confirmation and o-confirmation:"
                " confirmation_required and o_confirmation must be false with it"
            )
        return self


class Psd2Behaviour(_Strict):
    headless: bool = True
    otp: Annotated[str, Field(pattern=_OTP)] = "123456"
    max_attempts: int = Field(default=3, ge=1, le=100)
    decoupled_approval_delay_s: float | None = Field(default=None, ge=0, le=MAX_DURATION_S)
    strict_signatures: bool = False
    # The built-in sandbox personas (core.rules.sandbox_rules) after the configured rules.
    sandbox_rules: bool = True


class Psd2ParticipantConfig(_Strict):
    """A simulated bank's own PSD2 settings: any ``behaviour.psd2`` key, and its profiles."""

    headless: bool | None = None
    otp: Annotated[str, Field(pattern=_OTP)] | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    decoupled_approval_delay_s: float | None = Field(default=None, ge=0, le=MAX_DURATION_S)
    strict_signatures: bool | None = None
    xs2a: Xs2aProfile = Xs2aProfile()
    obie: ObieProfile = ObieProfile()
    stet: StetProfile = StetProfile()


@dataclass(frozen=True, slots=True)
class Psd2Settings:
    """One bank's PSD2 settings: the defaults with its overrides applied."""

    headless: bool
    otp: str
    max_attempts: int
    decoupled_approval_delay_s: float | None
    strict_signatures: bool
    sandbox_rules: bool
    xs2a: Xs2aProfile
    obie: ObieProfile
    stet: StetProfile

    @classmethod
    def of(cls, defaults: Psd2Behaviour, own: Psd2ParticipantConfig | None) -> Psd2Settings:
        own = own or Psd2ParticipantConfig()
        overrides = own.model_dump(exclude={"xs2a", "obie", "stet"}, exclude_none=True)
        merged = {**defaults.model_dump(), **overrides}
        return cls(**merged, xs2a=own.xs2a, obie=own.obie, stet=own.stet)
