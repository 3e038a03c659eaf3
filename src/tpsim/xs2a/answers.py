"""The bodies and ``_links`` an XS2A bank answers with (NextGenPSD2 1.3.11 schemas).

Links are absolute, under the URL the TPP reached tpsim at (``Links.site``):
``{site}/xs2a/{fspId}/v1/{service}/{product}/{paymentId}…``; the SCA redirect link is the
bank's login page ``{site}/login/{fspId}/xs2a/{authorisationId}``, the OAuth one the bank's
authorisation server metadata under ``{site}/xs2a/{fspId}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tpsim.config_psd2 import Xs2aProfile
from tpsim.xs2a.resources import Approach, Authorisation, Xs2aPayment
from tpsim.xs2a.states import ScaStatus, TransactionStatus

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Links:
    """Where a payment's resources are, for one answer."""

    site: str  # scheme://host[:port], no trailing slash
    fsp_id: str

    def payment(self, payment: Xs2aPayment) -> str:
        return (
            f"{self.site}/xs2a/{self.fsp_id}/v1/{payment.service.value}/{payment.product}"
            f"/{payment.payment_id}"
        )

    def authorisations(self, payment: Xs2aPayment, *, cancellation: bool) -> str:
        kind = "cancellation-authorisations" if cancellation else "authorisations"
        return f"{self.payment(payment)}/{kind}"

    def authorisation(self, payment: Xs2aPayment, auth: Authorisation) -> str:
        kind = self.authorisations(payment, cancellation=auth.cancellation)
        return f"{kind}/{auth.authorisation_id}"

    def sca_redirect(self, auth: Authorisation) -> str:
        return f"{self.site}/login/{self.fsp_id}/xs2a/{auth.authorisation_id}"

    def sca_oauth(self) -> str:
        return f"{self.site}/xs2a/{self.fsp_id}/.well-known/oauth-authorization-server"


def _href(url: str) -> dict[str, str]:
    return {"href": url}


def initiated(
    links: Links, payment: Xs2aPayment, status: TransactionStatus, auth: Authorisation | None
) -> Body:
    """The 201 of a payment initiation (``paymentInitationRequestResponse-201``)."""
    body: Body = {"transactionStatus": status.value, "paymentId": payment.payment_id}
    found = {
        "self": _href(links.payment(payment)),
        "status": _href(f"{links.payment(payment)}/status"),
    }
    if status is TransactionStatus.RCVD:
        found.update(_next_links(links, payment, auth, cancellation=False))
    body["_links"] = found
    if auth is not None:
        body["scaStatus"] = auth.sca_status.value
        message = psu_message(payment, auth)
        if message:
            body["psuMessage"] = message
    return body


def cancel_accepted(
    links: Links, payment: Xs2aPayment, status: TransactionStatus, auth: Authorisation | None
) -> Body:
    """The 202 of a cancellation that needs authorisation."""
    body: Body = {"transactionStatus": status.value}
    found = {
        "self": _href(links.payment(payment)),
        "status": _href(f"{links.payment(payment)}/status"),
    }
    found.update(_next_links(links, payment, auth, cancellation=True))
    body["_links"] = found
    if auth is not None:
        body["scaStatus"] = auth.sca_status.value
    return body


def _next_links(
    links: Links, payment: Xs2aPayment, auth: Authorisation | None, *, cancellation: bool
) -> dict[str, dict[str, str]]:
    """What the TPP does next: start an authorisation (explicit), or continue the one
    started implicitly."""
    if auth is None:
        start = links.authorisations(payment, cancellation=cancellation)
        if payment.approach is Approach.EMBEDDED:
            name = (
                "startAuthorisationWithPsuAuthentication"
                if payment.tpp.psu_id
                else "startAuthorisationWithPsuIdentification"
            )
            return {name: _href(start)}
        if payment.approach is Approach.DECOUPLED and not payment.tpp.psu_id:
            # The push goes to the PSU the TPP names: the start must identify them.
            return {"startAuthorisationWithPsuIdentification": _href(start)}
        return {"startAuthorisation": _href(start)}
    found = {"scaStatus": _href(links.authorisation(payment, auth))}
    found.update(step_links(links, payment, auth))
    return found


def step_links(
    links: Links, payment: Xs2aPayment, auth: Authorisation
) -> dict[str, dict[str, str]]:
    """The link to the next step of ``auth``, by its approach and status."""
    here = _href(links.authorisation(payment, auth))
    status = auth.sca_status
    if status is ScaStatus.UNCONFIRMED:
        return {"confirmation": here}
    if auth.approach is Approach.REDIRECT and status is ScaStatus.RECEIVED:
        return {"scaRedirect": _href(links.sca_redirect(auth))}
    if auth.approach is Approach.OAUTH and status is ScaStatus.RECEIVED:
        return {"scaOAuth": _href(links.sca_oauth())}
    if auth.approach is Approach.EMBEDDED:
        step = {
            ScaStatus.RECEIVED: "updatePsuAuthentication"
            if auth.psu_id
            else "updatePsuIdentification",
            ScaStatus.PSU_IDENTIFIED: "updatePsuAuthentication",
            ScaStatus.PSU_AUTHENTICATED: "selectAuthenticationMethod",
            ScaStatus.SCA_METHOD_SELECTED: "authoriseTransaction",
        }.get(status)
        return {step: here} if step else {}
    if auth.approach is Approach.DECOUPLED and status is ScaStatus.RECEIVED:
        return {"updatePsuIdentification": here}
    return {}


def authorisation(
    links: Links, payment: Xs2aPayment, auth: Authorisation, profile: Xs2aProfile, *, started: bool
) -> Body:
    """The answer to starting (201, ``startScaprocessResponse``) or updating (200) an
    authorisation: its status, the SCA methods or the chosen one, the next link."""
    body: Body = {"scaStatus": auth.sca_status.value}
    if started:
        body["authorisationId"] = auth.authorisation_id
    methods = {m.authentication_method_id: m for m in profile.sca_methods}
    if auth.sca_status is ScaStatus.PSU_AUTHENTICATED:
        body["scaMethods"] = [_method(m) for m in profile.sca_methods]
    if auth.sca_status is ScaStatus.SCA_METHOD_SELECTED and auth.method_id in methods:
        body["chosenScaMethod"] = _method(methods[auth.method_id])
        body["challengeData"] = {
            "otpMaxLength": 64,
            "otpFormat": "characters",
            "additionalInformation": "Enter the TAN sent to you (sandbox: behaviour.psd2.otp)",
        }
    body["_links"] = authorisation_links(links, payment, auth)
    message = psu_message(payment, auth)
    if message:
        body["psuMessage"] = message
    return body


def authorisation_links(
    links: Links, payment: Xs2aPayment, auth: Authorisation
) -> dict[str, dict[str, str]]:
    """The ``_links`` of an answer about ``auth``: its status, and its next step. A 401 for
    a wrong credential carries them too, so the TPP knows which authorisation to retry."""
    return {
        "scaStatus": _href(links.authorisation(payment, auth)),
        **step_links(links, payment, auth),
    }


def sca_status(auth: Authorisation, payment: Xs2aPayment) -> Body:
    """``GET …/authorisations/{id}`` (``scaStatusResponse``)."""
    body: Body = {"scaStatus": auth.sca_status.value}
    message = psu_message(payment, auth)
    if message:
        body["psuMessage"] = message
    return body


def psu_message(payment: Xs2aPayment, auth: Authorisation) -> str | None:
    if auth.approach is Approach.DECOUPLED and auth.sca_status is ScaStatus.STARTED:
        return f"Please confirm the payment in your {payment.bank} app."
    if auth.sca_status is ScaStatus.FAILED:
        return "The authorisation has failed."
    return None


def payment_body(payment: Xs2aPayment, status: TransactionStatus) -> Body:
    """``GET /v1/{service}/{product}/{paymentId}``: the payment as initiated, with its status."""
    return {**payment.order.body, "transactionStatus": status.value}


def status_body(payment: Xs2aPayment, status: TransactionStatus) -> Body:
    """``GET …/status`` (``paymentInitiationStatusResponse-200_json``)."""
    body: Body = {"transactionStatus": status.value}
    if payment.funds_available is not None:
        body["fundsAvailable"] = payment.funds_available
    # No FUNDS_NOT_AVAILABLE tppMessage: 1.3.11 types this body's tppMessages as
    # tppMessageGeneric, whose ``code`` is (an erratum) a tppMessageCategory, so the official
    # OpenAPI refuses the code; fundsAvailable false and the psuMessage say it.
    if status is TransactionStatus.RJCT and payment.reason:
        body["psuMessage"] = f"Rejected: {payment.reason}"[:500]
    return body


def _method(method: Any) -> Body:
    body: Body = {
        "authenticationType": method.authentication_type,
        "authenticationMethodId": method.authentication_method_id,
    }
    if method.name:
        body["name"] = method.name
    return body
