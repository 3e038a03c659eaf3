"""The STET dialect's errors: STET's ``ErrorModel`` with a stable code in ``error``.

Every refusal a STET PISP can cause is one ``StetError`` leaf: its HTTP status and a short
code (``error``), and an instance says what to fix (``message``, naming the member or
header as a dotted wire path). STET's ``ErrorModel`` is Spring-Boot-like (the digest
§3.5): ``path`` is the request's path, not a body member, so the member is named in the
message:

    {"timestamp": "2026-11-30T16:40:00.000+00:00", "status": 400, "error": "FIELD_INVALID",
     "message": "creditTransferTransaction[0].instructedAmount.amount: …",
     "path": "/stet/dfspa/v1/payment-requests"}

``message`` is at most 140 characters (STET's maxLength): a longer one is cut there, and
the whole of it goes in the ``X-Tpsim-Detail`` header.

    TpsimError (core.errors)
    └── StetError                       HTTP status, code, message
        ├── FieldInvalid                400 FIELD_INVALID: a body member (or the body) is wrong
        ├── HeaderInvalid               400 HEADER_INVALID: a header is missing or wrong
        ├── Duplicate                   400 DUPLICATE: a paymentInformationId used before
        │                               (only with reject_duplicate_payment_information_id)
        ├── StatusInvalid               400 STATUS_INVALID: the payment request's status
        │                               forbids it (finalised, already confirmed…)
        ├── ModificationRefused         400 MODIFICATION_REFUSED: a PUT changes more than a
        │                               cancellation may
        ├── OtpInvalid                  400 PSU_AUTHENTICATION_FACTOR_INVALID
        ├── SignatureRefused            400/401 SIGNATURE_* / DIGEST_MISMATCH (strict mode)
        ├── Unauthorized                401 TOKEN_MISSING / TOKEN_INVALID
        ├── Forbidden                   403 TOKEN_SCOPE / TOKEN_KIND / TOKEN_BOUND
        ├── NotFound                    404 (or 403 by the profile) PAYMENT_REQUEST_UNKNOWN
        ├── NoRoute                     404 RESOURCE_UNKNOWN: no STET resource at the path
        ├── MethodNotAllowed            405 METHOD_NOT_ALLOWED (also the BPCE v1.4.0
        │                               profile's PUT and confirmations)
        ├── NotAcceptable               406 NOT_ACCEPTABLE: an Accept without JSON
        ├── UnsupportedMediaType        415 UNSUPPORTED_MEDIA_TYPE: a body that is not JSON
        └── InternalError               500 INTERNAL_ERROR (never on purpose)

Neutral refusals (``core.errors``) become one of these in ``coded``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from tpsim.core.errors import BankRefused, MalformedBody, StateRefused, TpsimError

MAX_MESSAGE = 500  # what tpsim says at most (the whole in ``DETAIL_HEADER``)
MAX_BODY_MESSAGE = 140  # ErrorModel.message: maxLength 140
DETAIL_HEADER = "X-Tpsim-Detail"


class StetError(TpsimError):
    """A STET refusal: ``status`` the HTTP status, ``code`` the ``error`` member,
    ``message`` what to fix."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "FIELD_INVALID"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        self.message = _cut(message)
        if status is not None:
            self.status = status  # type: ignore[misc]  # per instance where a leaf varies
        if code is not None:
            self.code = code  # type: ignore[misc]
        super().__init__(self.message)

    def body(self, now: datetime, path: str) -> dict[str, Any]:
        """The ``ErrorModel`` for the request at ``path``, as of ``now``."""
        return {
            "timestamp": now.isoformat(timespec="milliseconds"),
            "status": self.status,
            "error": self.code,
            "message": _cut(self.message, MAX_BODY_MESSAGE),
            "path": path[:140],
        }

    def detail(self) -> str | None:
        """The whole message (visible ASCII and spaces) when the body's ``message`` had to
        be cut to STET's 140 characters: tpsim sends it in ``DETAIL_HEADER``."""
        if len(self.message) <= MAX_BODY_MESSAGE:
            return None
        return "".join(c if " " <= c <= "~" else "?" for c in self.message)


def _cut(text: str, most: int = MAX_MESSAGE) -> str:
    text = text or "refused"
    return text if len(text) <= most else text[: most - 1] + "…"


class FieldInvalid(StetError):
    code = "FIELD_INVALID"


class HeaderInvalid(StetError):
    code = "HEADER_INVALID"


class Duplicate(StetError):
    code = "DUPLICATE"


class StatusInvalid(StetError):
    code = "STATUS_INVALID"


class ModificationRefused(StetError):
    code = "MODIFICATION_REFUSED"


class OtpInvalid(StetError):
    code = "PSU_AUTHENTICATION_FACTOR_INVALID"


class Unauthorized(StetError):
    """401: ``challenge`` is the ``WWW-Authenticate`` that says why (RFC 6750 §3)."""

    status, code = 401, "TOKEN_INVALID"

    def __init__(self, message: str, *, code: str | None = None, challenge: str) -> None:
        super().__init__(message, code=code)
        self.challenge = challenge


class Forbidden(StetError):
    status, code = 403, "TOKEN_SCOPE"


class NotFound(StetError):
    status, code = 404, "PAYMENT_REQUEST_UNKNOWN"


class NoRoute(StetError):
    status, code = 404, "RESOURCE_UNKNOWN"


class MethodNotAllowed(StetError):
    """405: ``allow`` lists the methods the resource takes, for the ``Allow`` header a 405
    must carry (RFC 9110 §15.5.6; empty: none)."""

    status, code = 405, "METHOD_NOT_ALLOWED"

    def __init__(self, message: str, *, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


class NotAcceptable(StetError):
    status, code = 406, "NOT_ACCEPTABLE"


class UnsupportedMediaType(StetError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"


class InternalError(StetError):
    status, code = 500, "INTERNAL_ERROR"


def coded(error: TpsimError) -> StetError:
    """``error`` as the STET error a PISP gets for it: a neutral refusal in STET's words."""
    if isinstance(error, StetError):
        return error
    if isinstance(error, MalformedBody):
        return FieldInvalid(f"the body is not JSON STET can read: {error}")
    if isinstance(error, StateRefused):
        return StatusInvalid(f"{error}")
    if isinstance(error, BankRefused):
        return FieldInvalid(f"{error}")
    return InternalError(f"{error}")
