"""The UK Open Banking dialect's errors: ``OBErrorResponse1`` with both versions' codes.

Every refusal a UK TPP can cause is one ``ObieError`` leaf. A leaf carries the code of the
OBIE code set in both spellings (v3.1's namespaced ``UK.OBIE.*`` and v4.0's ``U0xx``) and
the HTTP status; an instance says what to fix (``message``) and where (``path``: the JSON
path of a body field, ``Data.Initiation.InstructedAmount.Amount``, or a header name). One
answer may carry several (``more``: every problem the OpenAPI check found). It is rendered
per version (``body``):

    v3.1  {"Code": "400 BadRequest", "Id": …, "Message": …,
           "Errors": [{"ErrorCode": "UK.OBIE.Field.Missing", "Message": …, "Path": …}]}
    v4.0  {"Id": …, "Errors": [{"ErrorCode": "U004", "Message": …, "Path": …}]}

A status the OpenAPI documents without a body (401, 404, 405, 406, 415) is answered
without one; a 401 says why in ``WWW-Authenticate`` (RFC 6750 §3) instead.

    TpsimError (core.errors)
    └── ObieError                       v3 code, v4 code, HTTP status, message, path
        ├── FieldExpected               400 U001 Field.Expected
        ├── FieldInvalid                400 U002 Field.Invalid (also: a reused
        │                               x-idempotency-key with another body, 400 or 403)
        ├── InvalidDate                 400 U003 Field.InvalidDate (a RequestedExecution-
        │                               DateTime not ahead, or too far ahead)
        ├── FieldMissing                400 U004 Field.Missing
        ├── FieldUnexpected             400 U005 Field.Unexpected
        ├── HeaderInvalid               400 U006 Header.Invalid
        ├── HeaderMissing               400 U007 Header.Missing
        ├── ConsentMismatch             400 U008 Resource.ConsentMismatch
        ├── InvalidConsentStatus        400 U009 Resource.InvalidConsentStatus (403 when a
        │                               token may not be used for the consent)
        ├── InvalidFormat               400 U010 Resource.InvalidFormat (malformed JSON)
        ├── NotFound                    400 U011 Resource.NotFound (the digest §1.6: not 404)
        ├── AfterCutOff                 400 U012 Rules.AfterCutOffDateTime
        ├── SignatureMissing            400 U018 Signature.Missing (strict signatures)
        ├── SignatureMalformed          400 U017 Signature.Malformed
        ├── SignatureInvalid            400 U015 Signature.Invalid
        ├── UnsupportedIdentifier       400 U021 Unsupported.AccountIdentifier
        ├── UnsupportedCurrency         400 U023 Unsupported.Currency
        ├── ResourceExists              409 U029 Rules.ResourceAlreadyExists (v4.0 only)
        ├── Unauthorized                401 (no body): no, an unknown or an expired token
        ├── NoRoute                     404 (no body): no such resource path
        ├── MethodNotAllowed            405 (no body)
        ├── NotAcceptable               406 (no body): an Accept without JSON
        ├── UnsupportedMediaType        415 (no body): a body that is not JSON
        └── UnexpectedError             500 U000 UnexpectedError (never on purpose)

Neutral refusals (``core.errors``) become one of these in ``coded``.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from tpsim.core.errors import BankRefused, MalformedBody, StateRefused, TpsimError

MAX_MESSAGE = 500  # OBError1.Message and Path: maxLength 500
MAX_ERRORS = 20  # an answer lists at most this many problems
_NO_BODY = frozenset({401, 404, 405, 406, 415})


class ObieError(TpsimError):
    """A UK refusal: ``v3`` / ``v4`` name the code, ``status`` the HTTP status,
    ``message`` what to fix, ``path`` the field or header, ``more`` further problems."""

    v3: ClassVar[str] = "UK.OBIE.Field.Invalid"
    v4: ClassVar[str] = "U002"
    status: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        status: int | None = None,
        more: Sequence[ObieError] = (),
    ) -> None:
        self.message = _cut(message)
        self.path = None if path is None else _cut(path)
        if status is not None:
            self.status = status  # type: ignore[misc]  # per instance where a leaf varies
        self.more = tuple(more)
        super().__init__(self.message)

    @property
    def has_body(self) -> bool:
        return self.status not in _NO_BODY

    def body(self, version: str, error_id: str) -> dict[str, Any] | None:
        """The ``OBErrorResponse1`` of ``version`` ("3.1" or "4.0"), None for a status the
        spec documents without a body."""
        if not self.has_body:
            return None
        errors = [e._entry(version) for e in (self, *self.more)][:MAX_ERRORS]
        if version == "3.1":
            phrase = HTTPStatus(self.status).phrase.replace(" ", "")
            return {
                "Code": f"{self.status} {phrase}"[:40],
                "Id": error_id[:40],
                "Message": _summary(len(errors)),
                "Errors": errors,
            }
        return {"Id": error_id[:40], "Errors": errors}

    def _entry(self, version: str) -> dict[str, str]:
        entry = {"ErrorCode": self.v3 if version == "3.1" else self.v4, "Message": self.message}
        if self.path:
            entry["Path"] = self.path
        return entry


def _cut(text: str) -> str:
    """``text`` fit for an answer: at most ``MAX_MESSAGE`` characters, and UTF-8 text
    (a header's bytes that are no UTF-8 reach tpsim as lone surrogates, and a message
    quoting them would make the answer unsendable: they are spelled ``\\udcff``)."""
    text = (text or "refused").encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _summary(count: int) -> str:
    if count == 1:
        return "The request was refused: see Errors for what to fix"
    return f"The request was refused for {count} reasons: see Errors for what to fix"


class FieldExpected(ObieError):
    v3, v4 = "UK.OBIE.Field.Expected", "U001"


class FieldInvalid(ObieError):
    v3, v4 = "UK.OBIE.Field.Invalid", "U002"


class InvalidDate(ObieError):
    v3, v4 = "UK.OBIE.Field.InvalidDate", "U003"


class FieldMissing(ObieError):
    v3, v4 = "UK.OBIE.Field.Missing", "U004"


class FieldUnexpected(ObieError):
    v3, v4 = "UK.OBIE.Field.Unexpected", "U005"


class HeaderInvalid(ObieError):
    v3, v4 = "UK.OBIE.Header.Invalid", "U006"


class HeaderMissing(ObieError):
    v3, v4 = "UK.OBIE.Header.Missing", "U007"


class ConsentMismatch(ObieError):
    v3, v4 = "UK.OBIE.Resource.ConsentMismatch", "U008"


class InvalidConsentStatus(ObieError):
    v3, v4 = "UK.OBIE.Resource.InvalidConsentStatus", "U009"


class InvalidFormat(ObieError):
    v3, v4 = "UK.OBIE.Resource.InvalidFormat", "U010"


class NotFound(ObieError):
    v3, v4 = "UK.OBIE.Resource.NotFound", "U011"


class AfterCutOff(ObieError):
    v3, v4 = "UK.OBIE.Rules.AfterCutOffDateTime", "U012"


class SignatureInvalid(ObieError):
    v3, v4 = "UK.OBIE.Signature.Invalid", "U015"


class SignatureMalformed(ObieError):
    v3, v4 = "UK.OBIE.Signature.Malformed", "U017"


class SignatureMissing(ObieError):
    v3, v4 = "UK.OBIE.Signature.Missing", "U018"


class UnsupportedIdentifier(ObieError):
    v3, v4 = "UK.OBIE.Unsupported.AccountIdentifier", "U021"


class UnsupportedCurrency(ObieError):
    v3, v4 = "UK.OBIE.Unsupported.Currency", "U023"


class ResourceExists(ObieError):
    v3, v4 = "UK.OBIE.Rules.ResourceAlreadyExists", "U029"
    status = 409


class Unauthorized(ObieError):
    """401 without a body (the spec's 401Error has none): ``challenge`` is the
    ``WWW-Authenticate`` that says why (None: no credentials were sent at all)."""

    status = 401

    def __init__(self, message: str, *, challenge: str | None = None) -> None:
        super().__init__(message)
        self.challenge = challenge


class NoRoute(ObieError):
    status = 404


class MethodNotAllowed(ObieError):
    """405: ``allow`` lists the methods the resource takes, for the ``Allow`` header a 405
    must carry (RFC 9110 §15.5.6)."""

    status = 405

    def __init__(self, message: str, *, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


class NotAcceptable(ObieError):
    status = 406


class UnsupportedMediaType(ObieError):
    status = 415


class UnexpectedError(ObieError):
    v3, v4 = "UK.OBIE.UnexpectedError", "U000"
    status = 500


def coded(error: TpsimError) -> ObieError:
    """``error`` as the UK error a TPP gets for it: a neutral refusal in OBIE's words."""
    if isinstance(error, ObieError):
        return error
    if isinstance(error, MalformedBody):
        return InvalidFormat(f"{error}")
    if isinstance(error, StateRefused):
        return InvalidConsentStatus(f"{error}")
    if isinstance(error, BankRefused):
        return FieldInvalid(f"{error}")
    return UnexpectedError(f"{error}")
