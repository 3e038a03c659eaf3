"""The bodies a STET bank answers with: the 201 of a new payment request
(``appliedAuthenticationApproach`` and its ``consentApproval`` link) and the payment request
as GET, PUT and the confirmations give it back, with its statuses filled in.

Links are absolute, under the URL the PISP reached tpsim at: ``{site}/stet/{fspId}/v1/…``.
The body given back is the resource as the model read it at creation (unknown members
dropped), copied so the record stays the bank's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tpsim.stet.bank import StetBank
from tpsim.stet.resources import PaymentRequest
from tpsim.stet.states import Approach, RequestState

Body = dict[str, Any]
APPROVAL_PATH = "/login/{fsp_id}/stet/{journey_id}"


@dataclass(frozen=True, slots=True)
class Links:
    """Where one bank's STET resources are, for one answer."""

    site: str  # scheme://host[:port], no trailing slash
    fsp_id: str

    @property
    def base(self) -> str:
        return f"{self.site}/stet/{self.fsp_id}/v1"

    def request(self, resource_id: str) -> str:
        return f"{self.base}/payment-requests/{resource_id}"

    def approval(self, request: PaymentRequest, *, oauth: bool) -> str:
        """The ``consentApproval`` link: the bank's page, or (the o-confirmation variant)
        its ``/authorize``, to which the PISP adds its ``redirect_uri`` and ``state``."""
        if not oauth:
            path = APPROVAL_PATH.format(fsp_id=self.fsp_id, journey_id=request.resource_id)
            return f"{self.site}{path}"
        query = urlencode(
            {
                "response_type": "code",
                "client_id": request.tpp,
                "scope": "pisp",
                "paymentRequestResourceId": request.resource_id,
            }
        )
        return f"{self.site}/stet/{self.fsp_id}/authorize?{query}"


def created_body(links: Links, bank: StetBank, request: PaymentRequest) -> Body:
    """``POST /payment-requests`` (201)."""
    body: Body = {"appliedAuthenticationApproach": request.approach.value}
    if request.approach is Approach.REDIRECT:
        oauth = bank.profile.o_confirmation
        body["_links"] = {"consentApproval": {"href": links.approval(request, oauth=oauth)}}
    return body


def request_body(links: Links, bank: StetBank, request: PaymentRequest) -> Body:
    """The payment request with its statuses (GET, PUT, confirmation, o-confirmation)."""
    resource = copy.deepcopy(request.wire)
    resource["resourceId"] = request.resource_id
    status = bank.status(request)
    resource["paymentInformationStatus"] = status
    why = bank.orders.reason(request) if status == "RJCT" else None
    if why is not None:
        resource["statusReasonInformation"] = why.why.value
    debtor = bank.bank.accounts.find(request.debtor) if request.debtor else None
    if debtor is not None and debtor.iban and "debtorAccount" not in resource:
        resource["debtorAccount"] = {"iban": debtor.iban}  # the account the PSU chose
    for index, transaction in enumerate(resource["creditTransferTransaction"]):
        found, rejection = bank.orders.transaction(request, index)
        if found is not None:
            transaction["transactionStatus"] = found
        if rejection is not None:
            transaction["statusReasonInformation"] = rejection.why.value
    links_body: Body = {"self": {"href": links.request(request.resource_id)}}
    if request.state is RequestState.APPROVED or (
        request.state is RequestState.AWAITING and request.approach is Approach.EMBEDDED
    ):
        # STET names one link; the o-confirmation variant's goes to its own endpoint.
        suffix = "o-confirmation" if bank.by_o_confirmation(request) else "confirmation"
        links_body["confirmation"] = {"href": f"{links.request(request.resource_id)}/{suffix}"}
    return {"paymentRequest": resource, "_links": links_body}
