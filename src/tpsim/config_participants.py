"""The config's participants: who takes part in the scheme (``hub:``, ``participants:``),
what kind each is, and where tpsim reaches the external ones; and the ``FspId`` every
section names them by.

A participant's id goes unescaped into FSPIOP-Source and FSPIOP-Destination headers, URL
paths (``/xs2a/{bank}``, ``/admin/participants/{fspId}/endpoint``) and query strings
(``?fspId=``), so ``FspIdStr`` keeps to what all three carry as it is.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from tpsim.auth.jws_keys import jws_private_key, jws_public_key
from tpsim.config_psd2 import Psd2ParticipantConfig
from tpsim.config_settings import Strict

# Mojaloop's FspId is a string of 1 to 32 characters; tpsim takes the characters a URL
# carries unescaped (RFC 3986 "unreserved"), which headers and query strings carry too.
_FSP_ID = re.compile(r"[A-Za-z0-9._~-]{1,32}")


def fsp_id(value: str) -> str:
    """``value`` if it is an FspId tpsim can route by, or the ``ValueError`` saying what one
    is: a space, a control character, ``/``, ``\\``, ``?``, ``#`` or ``%`` would change the
    path or header it is put into (another resource, a query, a second header)."""
    if not _FSP_ID.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an FspId tpsim can route by: 1 to 32 letters (A-Z, a-z),"
            " digits, '.', '_', '~' or '-' (it goes into FSPIOP-Source/FSPIOP-Destination"
            " and URL paths as it is)"
        )
    return value


FspIdStr = Annotated[str, AfterValidator(fsp_id)]


class Kind(StrEnum):
    """What a configured participant is."""

    PISP = "pisp"
    DFSP = "dfsp"
    AUTH_SERVICE = "auth-service"
    HUB = "hub"


def _signing_key(value: str | None) -> str | None:
    """A ``jws_private_key_pem`` tpsim can sign ``FSPIOP-Signature`` with (or None)."""
    if value is not None:
        jws_private_key(value)
    return value


def _checking_key(value: str | None) -> str | None:
    """A ``jws_public_key_pem`` tpsim can check ``FSPIOP-Signature`` with (or None)."""
    if value is not None:
        jws_public_key(value)
    return value


class HubConfig(Strict):
    name: FspIdStr = "switch"
    # Signs what the switch itself sends over HTTP (FSPIOP-Signature; see jws_private_key).
    jws_private_key_pem: str | None = None

    _jws_private_key = field_validator("jws_private_key_pem")(_signing_key)


# The resource families an external participant may take at their own base URL
# (``participants[].endpoints``), as Mojaloop registers one endpoint per type
# (FSPIOP_CALLBACK_URL_PARTIES_PUT, TP_CB_URL_TRANSACTION_REQUEST_PUT, …): a message's
# family is its path's first segment.
ENDPOINT_FAMILIES = (
    "parties",
    "participants",
    "services",
    "accounts",
    "consentRequests",
    "consents",
    "thirdpartyRequests",
    "quotes",
    "transfers",
)


class ParticipantConfig(Strict):
    fsp_id: FspIdStr
    kind: Kind
    simulated: bool = False
    endpoint: str | None = None
    # Per resource family, the base URL used instead of ``endpoint`` (ENDPOINT_FAMILIES).
    endpoints: dict[str, str] = Field(default_factory=dict)
    # FSPIOP-Signature: an external participant's public key (its requests but GETs must
    # then be signed), or a simulated one's private key (what it sends over HTTP is signed).
    jws_public_key_pem: str | None = None
    jws_private_key_pem: str | None = None
    # A simulated bank's PSD2 settings (config_psd2): overrides of behaviour.psd2, profiles.
    psd2: Psd2ParticipantConfig | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return None if value is None else check_endpoint(value)

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, value: dict[str, str]) -> dict[str, str]:
        return check_endpoints(value)

    _jws_public_key = field_validator("jws_public_key_pem")(_checking_key)
    _jws_private_key = field_validator("jws_private_key_pem")(_signing_key)

    @model_validator(mode="after")
    def _jws_key_side(self) -> ParticipantConfig:
        # tpsim verifies what comes from outside and signs what it sends itself: it never
        # holds an external participant's private key, nor checks its own signatures.
        if self.jws_public_key_pem is not None and self.simulated:
            raise ValueError(
                "jws_public_key_pem is for an external participant (endpoint) whose requests"
                " tpsim checks; give a simulated one jws_private_key_pem to sign with"
            )
        if self.jws_private_key_pem is not None and not self.simulated:
            raise ValueError(
                "jws_private_key_pem is for a simulated participant, which tpsim signs for;"
                " give an external one jws_public_key_pem (keep its private key to yourself)"
            )
        return self

    @model_validator(mode="after")
    def _simulated_or_endpoint(self) -> ParticipantConfig:
        if self.kind is Kind.HUB:
            raise ValueError("kind 'hub' is reserved for the switch itself (see hub.name)")
        if self.simulated == (self.endpoint is not None):
            raise ValueError(
                "give either 'simulated: true' or 'endpoint: URL', not both or neither"
            )
        if self.simulated and self.kind is Kind.PISP:
            raise ValueError("tpsim does not simulate a PISP behind the switch yet: give endpoint")
        if self.endpoints and self.endpoint is None:
            raise ValueError(
                "endpoints are for an external participant: give endpoint (the default base"
                " URL) beside them"
            )
        if self.psd2 is not None and not (self.simulated and self.kind is Kind.DFSP):
            raise ValueError("psd2 settings are for a simulated dfsp: tpsim plays its bank")
        return self


def check_endpoint(value: str) -> str:
    """``value`` if it is a participant's base URL, or the ``ValueError`` saying why not.

    The switch sends the participant's messages under this URL and reports its error
    answers back to the sender, so anything else than a plain http(s) base URL would let a
    config (``PUT /admin/fixtures`` included) make tpsim call, and reflect, other services:
    no other scheme, a host, no user info, no query string, no fragment.
    """
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(f"endpoint {value!r} must not contain spaces or control characters")
    try:
        url = urlsplit(value)
        url.port  # noqa: B018 - parses the port: ValueError when it is not one
    except ValueError as exc:
        raise ValueError(f"endpoint {value!r} has no valid host and port: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise ValueError(f"endpoint {value!r} must be an http:// or https:// URL")
    if not url.hostname:
        raise ValueError(f"endpoint {value!r} needs a host, e.g. http://127.0.0.1:5000")
    if "@" in url.netloc:
        raise ValueError(f"endpoint {value!r} must not carry a user name or password")
    if "?" in value:
        raise ValueError(f"endpoint {value!r} must not have a query string: give a base URL")
    if "#" in value:
        raise ValueError(f"endpoint {value!r} must not have a fragment (#…): give a base URL")
    return value


def check_endpoints(value: dict[str, str]) -> dict[str, str]:
    """``value`` if it maps known resource families to base URLs, or the ``ValueError``
    naming the families it does not know or the URL ``check_endpoint`` refuses."""
    unknown = [family for family in value if family not in ENDPOINT_FAMILIES]
    if unknown:
        raise ValueError(
            f"unknown resource famil{'y' if len(unknown) == 1 else 'ies'}"
            f" {', '.join(repr(f) for f in unknown)}; endpoints takes"
            f" {', '.join(ENDPOINT_FAMILIES)} (e.g. parties: http://127.0.0.1:4005)"
        )
    for family, url in value.items():
        try:
            check_endpoint(url)
        except ValueError as exc:
            raise ValueError(f"{family}: {exc}") from None
    return value
