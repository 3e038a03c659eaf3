"""The Mojaloop dialect's errors: FSPIOP / Third Party codes.

Every leaf carries the FSPIOP / Third Party error code it is reported with, the HTTP
status used when the error is answered synchronously, and - for Third Party errors -
the code Mojaloop's reference implementation uses instead (``Profile.REFERENCE``; see
DESIGN.md "Compatibility knobs" and the digest §7). Neutral refusals (``core.errors``,
``auth.errors``) become one of these in ``coded``.

    TpsimError (core.errors)
    └── FspiopError                      code + http status (+ reference code)
        ├── CommunicationError           1xxx  (DestinationCommunicationError 1001)
        ├── ServerError                  2xxx  (GenericServerError, InternalServerError,
        │                                       NotImplementedYet, ServerTimedOut)
        ├── ClientError                  3xxx
        │   ├── MethodNotAllowed 3000, UnacceptableVersion 3001, UnknownUri 3002
        │   ├── ValidationError 3100 ── MalformedSyntax 3101, MissingElement 3102,
        │   │                           TooManyElements 3103, PayloadTooLarge 3104
        │   ├── InvalidSignature 3105    a signature or credential check failed
        │   ├── ModifiedRequest 3106, TransactionStateError 3000 (a message the state refuses)
        │   ├── IdNotFound 3200 ── PartyNotFound 3204, PayeeFspNotFound 3203,
        │   │                      TransactionRequestNotFound 3206, ConsentRequestNotFound,
        │   │                      ConsentNotFound, ...
        │   └── ExpiredError 3300 ── TransactionRequestExpired 3301
        ├── PayerError                   4xxx  (InsufficientFunds 4001,
        │                                       PayerUnsupportedCurrency 4103,
        │                                       PayerPermissionError 4300)
        ├── PayeeError                   5xxx  (PayeeRejectedQuote 5101, ...)
        └── ThirdPartyError              6xxx (spec) / 7xxx (reference): one leaf per failure
            ├── transactions: UnknownThirdPartyLink, ConsentNotValid, ConsentOfAnotherPisp,
            │   TransactionRequestInvalid, DownstreamFailure, PispNotReached, AuthorizationFailed,
            │   AuthorizationTimedOut, UserRejected, VerificationFailed, TransferFailed
            ├── auth-service: InvalidTransactionSignature, InvalidConsentCredential,
            │   AuthServiceConsentNotValid ── UnknownConsent, ConsentAlreadyRegistered,
            │   ConsentRegistrationFailed
            └── linking: UnsupportedScopes, InvalidAuthToken, BadCallbackUri, NoAccountsFound,
                UnsupportedAuthChannels, ConsentNotGranted, CredentialNotVerified

Roles raise these (or neutral refusals); the switch turns a raised error into the
``PUT …/error`` callback for the request that caused it, and the HTTP edge turns one
raised during validation into a synchronous error response.

Under ``Profile.REFERENCE`` the body is what Mojaloop's components send, whose
``errorDescription`` is fixed per code (sdk-standard-components ``MojaloopApiErrorCodes``,
used by thirdparty-sdk and auth-service: ``MOJALOOP_TEXTS``); tpsim's own sentence, which
says what to fix, goes beside it in the ``tpsimDetail`` extension (issue 15).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from tpsim.auth.errors import CanonicalJsonError, CryptoError, MissingInput
from tpsim.config_settings import Profile
from tpsim.core.errors import KeyReused, StateRefused, TpsimError
from tpsim.mojaloop.error_texts import MOJALOOP_TEXTS


class FspiopError(TpsimError):
    """An error with an FSPIOP / Third Party error code.

    ``detail`` says what was wrong and what to fix; ``field`` names the offending element
    (a dotted path into the body, or a header name) when there is one.
    """

    code: ClassVar[str] = "2000"
    reference_code: ClassVar[str | None] = None
    # Mojaloop's text when its table has another for this class than for the code (405).
    reference_text: ClassVar[str | None] = None
    http_status: ClassVar[int] = 500
    description: ClassVar[str] = "Generic server error"

    def __init__(
        self,
        detail: str = "",
        *,
        field: str | None = None,
        extensions: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.description
        self.field = field
        self.extensions = dict(extensions or {})
        super().__init__(self.detail)

    def code_for(self, profile: Profile) -> str:
        """The error code to report under ``profile``."""
        if profile is Profile.REFERENCE and self.reference_code is not None:
            return self.reference_code
        return self.code

    @property
    def text(self) -> str:
        """tpsim's diagnostic: what was wrong (and where) and what to fix."""
        return self.detail if self.field is None else f"{self.field}: {self.detail}"

    @property
    def mojaloop_text(self) -> str:
        """The fixed ``errorDescription`` Mojaloop's components send with this error's
        reference code (the class's own description for a code they do not define)."""
        if self.reference_text is not None:
            return self.reference_text
        return MOJALOOP_TEXTS.get(self.code_for(Profile.REFERENCE), self.description)

    def error_information(self, profile: Profile = Profile.SPEC) -> dict[str, Any]:
        """The ``ErrorInformationObject`` body for this error.

        SPEC: tpsim's sentence is the ``errorDescription`` (cut at the schema's 128
        characters, the rest in a ``detail`` extension). REFERENCE: the description is
        Mojaloop's fixed text for the code, byte for byte, and tpsim's sentence goes in a
        ``tpsimDetail`` extension (``tpsimDetailMore`` for the rest), so a client comparing
        descriptions sees Mojaloop's and a person still reads what to fix.
        """
        text = self.text
        if profile is Profile.REFERENCE:
            description = self.mojaloop_text
            mine = {} if text == description else _spread("tpsimDetail", text)
            extensions = {**mine, **self.extensions}
        else:
            description = _clip(text, _MAX_TEXT)
            extensions = dict(self.extensions)
            if len(text) > _MAX_TEXT:
                extensions.setdefault("detail", _clip(text[_MAX_TEXT - 3 :], _MAX_TEXT))
        info: dict[str, Any] = {
            "errorCode": self.code_for(profile),
            "errorDescription": description,
        }
        if extensions:
            info["extensionList"] = {
                "extension": [
                    {"key": _clip(k, 32), "value": _clip(v or "-", _MAX_TEXT)}
                    for k, v in list(extensions.items())[:16]
                ]
            }
        return {"errorInformation": info}


# ErrorDescription and ExtensionValue are both 1..128 characters (FSPIOP v1.1 §7.2).
_MAX_TEXT = 128


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def explanation(info: Mapping[str, Any]) -> str:
    """The sentence an ``ErrorInformation`` says what went wrong with: tpsim's
    ``tpsimDetail`` (+ ``tpsimDetailMore``) when it carries one (``profile: reference``),
    else its ``errorDescription``; what a role passes on quotes it, not a fixed text."""
    listed = (info.get("extensionList") or {}).get("extension")
    entries = listed if isinstance(listed, list) else []
    extensions = {
        e.get("key"): e.get("value")
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("value"), str)
    }
    if "tpsimDetail" in extensions:
        return str(extensions["tpsimDetail"]) + str(extensions.get("tpsimDetailMore") or "")
    description = info.get("errorDescription")
    return description if isinstance(description, str) else ""


def _spread(key: str, text: str) -> dict[str, str]:
    """``text`` as one extension under ``key``, or two (``{key}More``) when it is longer
    than an extension value may be; whatever is past both is cut."""
    if len(text) <= _MAX_TEXT:
        return {key: text}
    return {key: text[:_MAX_TEXT], f"{key}More": _clip(text[_MAX_TEXT:], _MAX_TEXT)}


# --- 1xxx communication -----------------------------------------------------------


class CommunicationError(FspiopError):
    code, http_status, description = "1000", 503, "Communication error"


class DestinationCommunicationError(CommunicationError):
    code, http_status, description = "1001", 503, "Destination communication error"


# --- 2xxx server ----------------------------------------------------------------------


class ServerError(FspiopError):
    code, http_status, description = "2000", 500, "Generic server error"


class InternalServerError(ServerError):
    code, http_status, description = "2001", 500, "Internal server error"


class NotImplementedYet(ServerError):
    code, http_status, description = "2002", 501, "Not implemented"


class ServerTimedOut(ServerError):
    code, http_status, description = "2004", 504, "Server timed out"


# --- 3xxx client ----------------------------------------------------------------------


class ClientError(FspiopError):
    code, http_status, description = "3000", 400, "Generic client error"


class MethodNotAllowed(ClientError):
    """405: ``allow`` lists the methods the resource takes, for the ``Allow`` header a 405
    must carry (RFC 9110 §15.5.6)."""

    code, http_status, description = "3000", 405, "Generic client error"
    reference_text = "Generic client error - Method Not Allowed"

    def __init__(self, detail: str = "", *, allow: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.allow = allow


class UnacceptableVersion(ClientError):
    code, http_status, description = "3001", 406, "Unacceptable version"


class UnknownUri(ClientError):
    code, http_status, description = "3002", 404, "Unknown URI"


class ValidationError(ClientError):
    code, http_status, description = "3100", 400, "Generic validation error"


class MalformedSyntax(ValidationError):
    code, http_status, description = "3101", 400, "Malformed syntax"


class MissingElement(ValidationError):
    code, http_status, description = "3102", 400, "Missing mandatory element"


class TooManyElements(ValidationError):
    code, http_status, description = "3103", 400, "Too many elements"


class PayloadTooLarge(ValidationError):
    code, http_status, description = "3104", 413, "Too large payload"


class InvalidSignature(ClientError):
    """A signature, credential or challenge check failed (``auth.errors.CryptoError``)."""

    code, http_status, description = "3105", 400, "Invalid signature"


class ModifiedRequest(ClientError):
    code, http_status, description = "3106", 400, "Modified request"


class TransactionStateError(ClientError):
    """A message arrived that a conversation's current state does not accept."""

    code, http_status, description = "3000", 400, "Generic client error"


class IdNotFound(ClientError):
    code, http_status, description = "3200", 404, "Generic ID not found"


class DestinationFspError(IdNotFound):
    code, http_status, description = "3201", 400, "Destination FSP Error"


class PayeeFspNotFound(IdNotFound):
    code, http_status, description = "3203", 404, "Payee FSP ID not found"
    reference_code = "7101"


class PartyNotFound(IdNotFound):
    code, http_status, description = "3204", 404, "Party not found"


class QuoteNotFound(IdNotFound):
    code, http_status, description = "3205", 404, "Quote ID not found"


class TransactionRequestNotFound(IdNotFound):
    code, http_status, description = "3206", 404, "Transaction request ID not found"


class ConsentRequestNotFound(IdNotFound):
    code, http_status, description = "3200", 404, "Consent request ID not found"


class ConsentNotFound(IdNotFound):
    code, http_status, description = "3200", 404, "Consent ID not found"


class TransferNotFound(IdNotFound):
    code, http_status, description = "3208", 404, "Transfer ID not found"


class ExpiredError(ClientError):
    code, http_status, description = "3300", 400, "Generic expired error"


class TransactionRequestExpired(ExpiredError):
    code, http_status, description = "3301", 400, "Transaction request expired"


class QuoteExpired(ExpiredError):
    code, http_status, description = "3302", 400, "Quote expired"


class TransferExpired(ExpiredError):
    code, http_status, description = "3303", 400, "Transfer expired"


# --- 4xxx payer / 5xxx payee ------------------------------------------------------------


class PayerError(FspiopError):
    code, http_status, description = "4000", 400, "Generic Payer error"


class InsufficientFunds(PayerError):
    code, http_status, description = "4001", 400, "Payer FSP insufficient liquidity"
    reference_code = "7101"


class PayerUnsupportedCurrency(PayerError):
    code, http_status, description = "4103", 400, "Payer unsupported currency"
    reference_code = "7101"


class PayerPermissionError(PayerError):
    code, http_status, description = "4300", 400, "Payer permission error"
    reference_code = "7101"


class PayeeError(FspiopError):
    code, http_status, description = "5000", 400, "Generic Payee error"


class PayeeRejectedQuote(PayeeError):
    code, http_status, description = "5101", 400, "Payee rejected quote"


class PayeeUnsupportedCurrency(PayeeError):
    code, http_status, description = "5106", 400, "Payee unsupported currency"


# --- 6xxx (spec) / 7xxx (reference) Third Party -----------------------------------------


class ThirdPartyError(FspiopError):
    """Third Party API errors: data-models §3.3 codes, Mojaloop sdk codes under REFERENCE."""

    code, reference_code, http_status = "6000", "7000", 400
    description = "Third party error"


class TransactionRequestInvalid(ThirdPartyError):
    code, reference_code = "6104", "7101"
    description = "Transaction request failed DFSP validation"


class UnknownThirdPartyLink(ThirdPartyError):
    code, reference_code = "6103", "7101"
    description = "No consent links this THIRD_PARTY_LINK"


class ConsentNotValid(ThirdPartyError):
    code, reference_code = "6103", "7213"
    description = "Consent not valid"


class ConsentOfAnotherPisp(ThirdPartyError):
    code, reference_code = "6103", "7101"
    description = "Consent belongs to another PISP"


class DownstreamFailure(ThirdPartyError):
    code, reference_code = "6003", "7103"
    description = "Downstream failure"


class TransferFailed(ThirdPartyError):
    code, reference_code = "6003", "7108"
    description = "Transaction request transfer failed"


class PispNotReached(ThirdPartyError):
    """The switch could not deliver a transaction callback to the PISP."""

    code, reference_code = "6000", "7102"
    description = "Transaction request PUT update send to PISP failed"


class AuthorizationFailed(ThirdPartyError):
    code, reference_code = "6000", "7107"
    description = "Authorization step failed"


class AuthorizationTimedOut(ThirdPartyError):
    code, reference_code, http_status = "2004", "7107", 504
    description = "Authorization not received in time"


class UserRejected(ThirdPartyError):
    """Only sent as an error under REFERENCE; SPEC answers a rejection with PATCH REJECTED."""

    code, reference_code = "6100", "7300"
    description = "User rejected the transaction"


class VerificationFailed(ThirdPartyError):
    """What the payer DFSP reports to the PISP when the auth-service did not verify."""

    code, reference_code = "6201", "7300"
    description = "Invalid transaction signature"


class InvalidTransactionSignature(ThirdPartyError):
    """What the auth-service reports to the DFSP for an assertion that does not verify."""

    code, reference_code = "6201", "7105"
    description = "Invalid transaction signature"


class InvalidConsentCredential(ThirdPartyError):
    code, reference_code = "6200", "2000"
    description = "Invalid consent credential"


class AuthServiceConsentNotValid(ThirdPartyError):
    """Verification against an unknown or revoked consent (auth-service)."""

    code, reference_code = "6103", "2001"
    description = "Consent not valid"


class UnsupportedScopes(ThirdPartyError):
    code, reference_code = "6101", "7204"
    description = "Unsupported scopes were requested"


class InvalidAuthToken(ThirdPartyError):
    code, reference_code = "6203", "7205"
    description = "Invalid authentication token"


class BadCallbackUri(ThirdPartyError):
    code, reference_code = "6204", "7210"
    description = "Bad callbackUri"


class NoAccountsFound(ThirdPartyError):
    code, reference_code = "6205", "7202"
    description = "No accounts found"


class UnsupportedAuthChannels(ThirdPartyError):
    """None of the consent request's ``authChannels`` is one the DFSP offers the user; the
    spec has no code of its own for it, so it is the catch-all of linking patterns §5.2."""

    code, reference_code = "6104", "7203"
    description = "FSP does not support any requested authentication channels"


class ConsentNotGranted(ThirdPartyError):
    """The user denied the consent request on the DFSP's login page."""

    code, reference_code = "6102", "7200"
    description = "Consent not granted"


class AccountLinksNotRegistered(ThirdPartyError):
    """The ALS refused a THIRD_PARTY_LINK of a verified consent (digest §7.3: 7214; the
    spec has no code of its own, so its generic 6000)."""

    code, reference_code = "6000", "7214"
    description = "Failed to register account links with oracle"


class CredentialNotVerified(ThirdPartyError):
    """What the DFSP reports to the PISP when the auth-service did not verify the credential
    (the auth-service's own code is in the ``downstreamErrorCode`` extension)."""

    code, reference_code = "6200", "7213"
    description = "Invalid consent credential"


class ConsentRegistrationFailed(ThirdPartyError):
    """The ALS would not record the auth-service as the consent's owner."""

    code, reference_code = "6000", "7200"
    description = "Generic Thirdparty account linking error"


class ConsentAlreadyRegistered(ThirdPartyError):
    """POST /consents for a consentId the auth-service already holds (or is registering).

    Replacing the credential would let any DFSP take over another's consent; the reference
    cannot store the duplicate and answers 2000 (digest §6.1).
    """

    code, reference_code = "6104", "2000"
    description = "Consent is already registered"


class UnknownConsent(AuthServiceConsentNotValid):
    """Verification against a consent the auth-service does not hold; the reference fails
    to load it and answers 2000, not the 2001 of a REVOKED consent (digest §6.2)."""

    reference_code = "2000"


def coded(error: TpsimError) -> FspiopError:
    """The FSPIOP error that reports ``error``: itself, or the code of a neutral refusal."""
    if isinstance(error, FspiopError):
        return error
    if isinstance(error, CryptoError):
        return InvalidSignature(error.detail)
    if isinstance(error, MissingInput):
        return MissingElement(error.detail, field=error.field)
    if isinstance(error, CanonicalJsonError):
        return ValidationError(error.detail, field=error.field)
    if isinstance(error, StateRefused):
        return TransactionStateError(str(error))
    if isinstance(error, KeyReused):
        return ModifiedRequest(f"{error}; use a new id")
    return InternalServerError(str(error))
