"""The Berlin Group XS2A dialect's errors: ``tppMessages`` with the spec's codes and statuses.

Every error an XS2A TPP can cause is one ``Xs2aError`` leaf: its ``code`` (a message code
of the NextGenPSD2 Implementation Guidelines, as adorsys's ``MessageErrorCode`` spells
them), the HTTP status the spec gives that code in this place, the ``path`` of the
offending field or header when there is one, and a ``text`` saying what to fix (the
spec's ``tppMessageText``, at most 500 characters). The edge renders it as

    {"tppMessages": [{"category": "ERROR", "code": …, "path": …, "text": …}]}

    TpsimError (core.errors)
    └── Xs2aError                         code, HTTP status, path, text
        ├── FormatError                   400 FORMAT_ERROR: a body or header the spec refuses
        ├── ParameterNotSupported         400 PARAMETER_NOT_SUPPORTED
        ├── ExecutionDateInvalid          400 EXECUTION_DATE_INVALID
        ├── ScaMethodUnknown              400 SCA_METHOD_UNKNOWN
        ├── ScaInvalid                    400 SCA_INVALID (a confirmation after a failed SCA)
        ├── FinalisedPayment              400 FORMAT_ERROR or RESOURCE_BLOCKED (bank profile):
        │                                 a finalised payment cannot be cancelled
        ├── PsuCredentialsInvalid         401 PSU_CREDENTIALS_INVALID (password, OTP, PSU-ID)
        ├── TppUnknown                    401 CERTIFICATE_INVALID / CERTIFICATE_MISSING: no
        │                                 configured TPP (``tpps[]`` stands in for the eIDAS
        │                                 certificate)
        ├── ProductInvalid                403 PRODUCT_INVALID
        ├── ServiceBlocked                403 SERVICE_BLOCKED (an approach the bank does not offer)
        ├── ResourceExpired               403 RESOURCE_EXPIRED
        ├── ResourceUnknown               404 RESOURCE_UNKNOWN (403 when named in another segment)
        ├── ProductUnknown                404 PRODUCT_UNKNOWN
        ├── ServiceInvalid                405 SERVICE_INVALID (a method the resource has not)
        ├── CancellationInvalid           405 CANCELLATION_INVALID
        ├── FormatsInvalid                406 REQUESTED_FORMATS_INVALID (an Accept without JSON)
        ├── StatusInvalid                 409 STATUS_INVALID
        └── InternalError                 500 INTERNAL_SERVER_ERROR (never on purpose: a bug)

Neutral refusals (``core.errors``) become one of these in ``coded``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tpsim.core.errors import StateRefused, TpsimError, UnknownAccount

MAX_TEXT = 500  # tppMessageText: maxLength 500


class Xs2aError(TpsimError):
    """An XS2A refusal: ``code`` and ``status`` say what kind, ``text`` what to fix,
    ``path`` the field or header it is about (a dotted body path, or a header name)."""

    code: ClassVar[str] = "FORMAT_ERROR"
    status: ClassVar[int] = 400
    # A 405's methods the resource takes, for the Allow header it must carry (RFC 9110
    # §15.5.6): set by each 405.
    allow: tuple[str, ...] = ()

    def __init__(self, text: str, *, path: str | None = None) -> None:
        self.text = _cut(text)
        self.path = path
        super().__init__(self.text)

    def tpp_message(self) -> dict[str, str]:
        """This error as one ``tppMessage`` (category ERROR)."""
        message = {"category": "ERROR", "code": self.code}
        if self.path:
            message["path"] = self.path
        message["text"] = self.text
        return message

    def body(self) -> dict[str, Any] | None:
        """The answer's body: the NextGenPSD2 ``Error4xx_NG_PIS`` form (None for a 406:
        the spec defines no message code, and so no body, for it)."""
        if self.status == 406:
            return None
        return {"tppMessages": [self.tpp_message()]}

    @property
    def http_status(self) -> int:
        return self.status


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


class FormatError(Xs2aError):
    code = "FORMAT_ERROR"


class ParameterNotSupported(Xs2aError):
    code = "PARAMETER_NOT_SUPPORTED"


class ExecutionDateInvalid(Xs2aError):
    code = "EXECUTION_DATE_INVALID"


class ScaMethodUnknown(Xs2aError):
    code = "SCA_METHOD_UNKNOWN"


class ScaInvalid(Xs2aError):
    code = "SCA_INVALID"


class FinalisedPayment(Xs2aError):
    """A finalised payment cannot be cancelled. The seed (and older Berlin Group docs) say
    400 FORMAT_ERROR, current adorsys says 400 RESOURCE_BLOCKED: the bank profile's
    ``finalised_cancel_code`` picks (``code`` is set per instance)."""

    def __init__(self, text: str, *, code: str = "FORMAT_ERROR") -> None:
        super().__init__(text)
        self.code = code  # type: ignore[misc]  # per bank, not per class


class PsuCredentialsInvalid(Xs2aError):
    """A wrong password, OTP or confirmation code (or a PSU-ID who may not sign). When it was
    counted on a kept authorisation, ``authorisation_id`` names it and the edge sets
    ``links`` to it (the spec's ``Error401_NG_PIS`` has ``_links``): a TPP that started the
    authorisation with the wrong password learns from the refusal where to retry."""

    code = "PSU_CREDENTIALS_INVALID"
    status = 401

    def __init__(
        self, text: str, *, path: str | None = None, authorisation_id: str | None = None
    ) -> None:
        super().__init__(text, path=path)
        self.authorisation_id = authorisation_id
        self.links: dict[str, dict[str, str]] | None = None

    def body(self) -> dict[str, Any] | None:
        body = super().body()
        if body is not None and self.links:
            body["_links"] = self.links
        return body


class TppUnknown(Xs2aError):
    """The TPP is not one the bank knows: ``tpps[]`` stands in for its certificate."""

    status = 401

    def __init__(self, text: str, *, code: str = "CERTIFICATE_INVALID") -> None:
        super().__init__(text, path="TPP-Client-ID")
        self.code = code  # type: ignore[misc]


class ProductInvalid(Xs2aError):
    code = "PRODUCT_INVALID"
    status = 403


class ServiceBlocked(Xs2aError):
    code = "SERVICE_BLOCKED"
    status = 403


class ResourceExpired(Xs2aError):
    code = "RESOURCE_EXPIRED"
    status = 403


class ResourceUnknown(Xs2aError):
    """No such resource: 404 when the id is the path's last segment, 403 when it names the
    resource another segment belongs to (NextGenPSD2 IG §14.11), 400 when in the body."""

    code = "RESOURCE_UNKNOWN"
    status = 404

    def __init__(self, text: str, *, path: str | None = None, status: int = 404) -> None:
        super().__init__(text, path=path)
        self.status = status  # type: ignore[misc]


class ProductUnknown(Xs2aError):
    code = "PRODUCT_UNKNOWN"
    status = 404


class ServiceInvalid(Xs2aError):
    """A method the resource has not: ``allow`` the methods it has (``api.allowed_methods``)."""

    code = "SERVICE_INVALID"
    status = 405

    def __init__(self, text: str, *, allow: tuple[str, ...]) -> None:
        super().__init__(text)
        self.allow = allow


class CancellationInvalid(Xs2aError):
    """A payment that can no longer be cancelled: reading it is all it still takes."""

    code = "CANCELLATION_INVALID"
    status = 405
    allow = ("GET",)


class FormatsInvalid(Xs2aError):
    code = "REQUESTED_FORMATS_INVALID"
    status = 406


class StatusInvalid(Xs2aError):
    code = "STATUS_INVALID"
    status = 409


class InternalError(Xs2aError):
    code = "INTERNAL_SERVER_ERROR"
    status = 500


def coded(error: TpsimError) -> Xs2aError:
    """``error`` as the XS2A error a TPP gets for it: a neutral refusal in XS2A's words."""
    if isinstance(error, Xs2aError):
        return error
    if isinstance(error, StateRefused):
        return StatusInvalid(f"{error}", path=None)
    if isinstance(error, UnknownAccount):
        return FormatError(f"{error}")
    return FormatError(str(error))
