"""One simulated bank's XS2A PIS interface as request → answer, sans-IO.

The edge (``serve/xs2a.py``) hands each request under ``/xs2a/{fspId}/v1/`` to
``Xs2aApi.handle`` as an ``ApiRequest`` (its path segments after ``v1``, headers, the
body's bytes and the URL the TPP reached tpsim at) and sends back the ``Answer``:

    POST   {service}/{product}                              initiate          201
    GET    {service}/{product}/{paymentId}                  the payment       200
    DELETE {service}/{product}/{paymentId}                  cancel            204 / 202
    GET    {service}/{product}/{paymentId}/status           its status        200
    POST   …/{paymentId}/authorisations                     start SCA         201
    GET    …/{paymentId}/authorisations                     their ids         200
    GET    …/{paymentId}/authorisations/{authorisationId}   scaStatus         200
    PUT    …/{paymentId}/authorisations/{authorisationId}   the PSU's data    200
    (the same four under …/cancellation-authorisations)

Every answer echoes ``X-Request-ID`` when the request had one; every refusal is a coded
``tppMessages`` error (``xs2a.errors``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tpsim.config_psd2 import TppConfig, redirect_allowed
from tpsim.core.errors import KeyReused, TpsimError
from tpsim.core.idempotency import Entry, Idempotency
from tpsim.core.media import admits_json
from tpsim.core.records import Records
from tpsim.xs2a import answers
from tpsim.xs2a.answers import Links
from tpsim.xs2a.authorisations import Authorisations, Update
from tpsim.xs2a.bank import Xs2aBank
from tpsim.xs2a.errors import (
    FormatError,
    FormatsInvalid,
    PsuCredentialsInvalid,
    ResourceUnknown,
    ServiceInvalid,
    TppUnknown,
    Xs2aError,
    coded,
)
from tpsim.xs2a.headers import UUID, RequestHeaders, require_json
from tpsim.xs2a.initiation import check_product, choose_approach
from tpsim.xs2a.models import UpdateAuthorisation, parse_body
from tpsim.xs2a.orders import MODELS, order_of
from tpsim.xs2a.resources import Approach, Service, TppRequest, Xs2aPayment
from tpsim.xs2a.states import TransactionStatus

Body = dict[str, Any]
_KINDS = {"authorisations": False, "cancellation-authorisations": True}
_SERVICES = frozenset(service.value for service in Service)


@dataclass(frozen=True, slots=True)
class ApiRequest:
    method: str
    segments: tuple[str, ...]  # the path after /xs2a/{fspId}/v1/
    headers: Mapping[str, str]
    body: bytes
    site: str  # scheme://host[:port] the TPP reached tpsim at


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Body | None = None
    headers: dict[str, str] = field(default_factory=dict)
    payment_id: str | None = None  # the payment the exchange is about (for the journal)
    authorisation_id: str | None = None


class Xs2aApi:
    """The XS2A interface of ``bank`` (with its ``auths``), for the TPPs of ``tpps``."""

    def __init__(self, bank: Xs2aBank, auths: Authorisations, tpps: Sequence[TppConfig]) -> None:
        self.bank, self.auths, self._tpps = bank, auths, list(tpps)
        # The opt-in idempotent_x_request_id (not Berlin Group behaviour): 24 hours.
        records: Records[Entry[Answer]] = Records(
            bank.bank.store,
            f"xs2a-seen:{bank.fsp_id}",
            retention=timedelta(hours=24),
            max_ended=bank.payments.max_ended,
            clock=bank.clock,
        )
        self._seen: Idempotency[Answer] = Idempotency(records)

    def handle(self, request: ApiRequest) -> Answer:
        """The answer to ``request``; never raises for anything a client sends. A refusal
        names the payment and authorisation of its path (for the journal); every answer
        carries an ``X-Request-ID``: the TPP's, or a new one when it sent none that is a
        UUID (the spec makes it mandatory in every answer)."""
        try:
            answer = self._route(request)
        except TpsimError as exc:
            error = coded(exc)
            parts = request.segments
            # A wrong password at a start names the authorisation it kept (``_link``).
            kept = error.authorisation_id if isinstance(error, PsuCredentialsInvalid) else None
            answer = Answer(
                error.status,
                error.body(),
                _error_headers(error),
                payment_id=parts[2] if len(parts) > 2 else None,
                authorisation_id=parts[4] if len(parts) > 4 else kept,
            )
        answer.headers.setdefault("X-Request-ID", self._request_id(request.headers))
        return answer

    def caller(self, headers: Mapping[str, str]) -> str | None:
        """The client_id of the TPP a request comes from, as far as its headers tell (for
        the journal); None when they name no configured TPP."""
        named = headers.get("TPP-Client-ID")
        if named is None:
            return self._tpps[0].client_id if self._tpps else None
        return named if any(t.client_id == named for t in self._tpps) else None

    def _request_id(self, headers: Mapping[str, str]) -> str:
        sent = headers.get("X-Request-ID", "")
        return sent if UUID.fullmatch(sent) else self.bank.ids.new_id()

    # -- routing ----------------------------------------------------------------------------

    def _route(self, request: ApiRequest) -> Answer:
        parts = request.segments
        _accepts_json(request.headers.get("Accept"))
        if len(parts) < 2:
            raise ResourceUnknown(
                f"no XS2A resource at /{'/'.join(parts)}: payments are at"
                " /v1/{payment-service}/{payment-product}",
            )
        service = _service(parts[0])
        links = Links(request.site, self.bank.fsp_id)
        method = request.method.upper()
        if len(parts) == 2:
            _allow(method, parts)
            if self.bank.profile.idempotent_x_request_id:
                return self._initiate_once(request, service, parts[1], links)
            return self._initiate(request, service, parts[1], links)
        headers = RequestHeaders.parse(request.headers, initiation=False)
        payment = self._owned(self.bank.payment(service, parts[1], parts[2]), headers)
        rest = parts[3:]
        if not rest:
            _allow(method, parts)
            if method == "GET":
                status = self.bank.transaction_status(payment)
                body = answers.payment_body(payment, status)
                return Answer(200, body, payment_id=payment.payment_id)
            return self._cancel(headers, payment, links)
        if rest == ("status",):
            _allow(method, parts)
            status = self.bank.transaction_status(payment)
            return Answer(200, answers.status_body(payment, status), payment_id=payment.payment_id)
        if rest[0] in _KINDS and len(rest) <= 2:
            cancellation = _KINDS[rest[0]]
            if len(rest) == 1:
                _allow(method, parts)
                if method == "GET":
                    ids = payment.cancellations if cancellation else payment.authorisations
                    body = {"authorisationIds": list(ids)}
                    return Answer(200, body, payment_id=payment.payment_id)
                return self._start(request, headers, payment, links, cancellation)
            _allow(method, parts)
            return self._authorisation(request, headers, payment, links, cancellation, rest[1])
        raise ResourceUnknown(f"no XS2A resource at /{'/'.join(parts)}")

    def _owned(self, payment: Xs2aPayment, headers: RequestHeaders) -> Xs2aPayment:
        """``payment``, if the calling TPP initiated it: to any other it is unknown (403
        RESOURCE_UNKNOWN, "not addressable by the TPP")."""
        tpp = self._tpp(headers)
        if payment.tpp.tpp != tpp.client_id:
            raise ResourceUnknown(
                f"payment {payment.payment_id} was not initiated by TPP {tpp.client_id}",
                path="paymentId",
                status=403,
            )
        return payment

    # -- payments ---------------------------------------------------------------------------

    def _initiate(
        self, request: ApiRequest, service: Service, product: str, links: Links
    ) -> Answer:
        headers = RequestHeaders.parse(request.headers, initiation=True)
        tpp = self._tpp(headers)
        check_product(self.bank.profile, self.bank.fsp_id, service, product)
        require_json(request.headers.get("Content-Type"))
        order = order_of(parse_body(MODELS[service], request.body))
        wants = _tpp_request(tpp, headers)
        approach = choose_approach(self.bank.profile, wants)
        self._check_redirects(tpp, headers, approach)
        implicit = self._implicit(headers)
        # A decoupled authorisation started with the payment pushes to PSU-ID's app at once:
        # the bank checks that PSU before it keeps anything (``Xs2aBank.initiate``).
        signer = headers.psu_id if implicit and approach is Approach.DECOUPLED else None
        payment = self.bank.initiate(service, product, order, wants, approach, signer=signer)
        status = self.bank.transaction_status(payment)
        auth = None
        if status is TransactionStatus.RCVD and implicit:
            payment, auth = self.auths.start(payment, psu_id=headers.psu_id)
            status = self.bank.transaction_status(payment)
        return Answer(
            201,
            answers.initiated(links, payment, status, auth),
            {"Location": links.payment(payment), "ASPSP-SCA-Approach": approach.header},
            payment_id=payment.payment_id,
            authorisation_id=auth.authorisation_id if auth else None,
        )

    def _initiate_once(
        self, request: ApiRequest, service: Service, product: str, links: Links
    ) -> Answer:
        """``_initiate``, but the same ``X-Request-ID`` with the same body again gets the
        first answer (the profile's opt-in ``idempotent_x_request_id``; a repeated
        X-Request-ID with another body is refused)."""
        headers = RequestHeaders.parse(request.headers, initiation=True)
        scope = headers.tpp_client_id or ""
        fingerprint = (service.value, product, hashlib.sha256(request.body).hexdigest())
        now = self.bank.clock.now()
        try:
            seen = self._seen.check(headers.x_request_id, fingerprint, scope=scope, now=now)
        except KeyReused:
            raise FormatError(
                "this X-Request-ID initiated another payment (idempotent_x_request_id is on):"
                " send a new X-Request-ID for a new payment",
                path="X-Request-ID",
            ) from None
        if seen is not None and seen.answer is not None:
            return seen.answer
        try:
            answer = self._initiate(request, service, product, links)
        except TpsimError:
            # Nothing was created: the same X-Request-ID may come again, corrected.
            self._seen.forget(headers.x_request_id, scope=scope)
            raise
        self._seen.answer(headers.x_request_id, answer, scope=scope, at=now)
        return answer

    def _cancel(self, headers: RequestHeaders, payment: Xs2aPayment, links: Links) -> Answer:
        if self.bank.cancellable(payment) or not (
            self.bank.profile.payment_cancellation_authorisation_mandated
        ):
            self.bank.cancel_now(payment)
            return Answer(204, payment_id=payment.payment_id)
        auth = None
        implicit = self._implicit(headers)
        if implicit:
            # A decoupled cancellation authorisation pushes to PSU-ID's app at once: that PSU
            # is checked before the cancellation is asked for (``Authorisations.check_push``).
            self.auths.check_push(payment, headers.psu_id, cancellation=True)
        payment = self.bank.cancel_requested(payment)
        if implicit:
            payment, auth = self.auths.start(payment, cancellation=True, psu_id=headers.psu_id)
        status = self.bank.transaction_status(payment)
        return Answer(
            202,
            answers.cancel_accepted(links, payment, status, auth),
            payment_id=payment.payment_id,
            authorisation_id=auth.authorisation_id if auth else None,
        )

    # -- authorisations -----------------------------------------------------------------------

    def _start(
        self,
        request: ApiRequest,
        headers: RequestHeaders,
        payment: Xs2aPayment,
        links: Links,
        cancellation: bool,
    ) -> Answer:
        update = _update(request) if request.body.strip() else None
        try:
            payment, auth = self.auths.start(
                payment, cancellation=cancellation, psu_id=headers.psu_id, update=update
            )
        except PsuCredentialsInvalid as refused:
            self._link(refused, payment, links)
            raise
        body = answers.authorisation(links, payment, auth, self.bank.profile, started=True)
        return Answer(
            201,
            body,
            {"Location": links.authorisation(payment, auth)},
            payment_id=payment.payment_id,
            authorisation_id=auth.authorisation_id,
        )

    def _authorisation(
        self,
        request: ApiRequest,
        headers: RequestHeaders,
        payment: Xs2aPayment,
        links: Links,
        cancellation: bool,
        authorisation_id: str,
    ) -> Answer:
        auth = self.auths.get(payment, authorisation_id, cancellation=cancellation)
        if request.method.upper() == "GET":
            body = answers.sca_status(auth, payment)
        else:
            update = _update(request) if request.body.strip() else Update()
            try:
                auth = self.auths.update(payment, auth, psu_id=headers.psu_id, update=update)
            except PsuCredentialsInvalid as refused:
                self._link(refused, payment, links)
                raise
            payment = self.bank.payments[payment.payment_id]
            body = answers.authorisation(links, payment, auth, self.bank.profile, started=False)
        return Answer(
            200, body, payment_id=payment.payment_id, authorisation_id=auth.authorisation_id
        )

    def _link(self, refused: PsuCredentialsInvalid, payment: Xs2aPayment, links: Links) -> None:
        """Give a wrong credential's 401 the ``_links`` of the authorisation it was counted
        on, as its 201 / 200 would have: a start with a wrong password keeps the new
        authorisation (its attempts count), and only these links tell the TPP its id, to
        retry with a PUT (a second start is 409: that one is under way)."""
        found = refused.authorisation_id and self.auths.find(refused.authorisation_id)
        if found:
            refused.links = answers.authorisation_links(links, payment, found)

    # -- checks -------------------------------------------------------------------------------

    def _tpp(self, headers: RequestHeaders) -> TppConfig:
        """The calling TPP: ``TPP-Client-ID``, or the first configured one (DESIGN.md)."""
        if not self._tpps:
            raise TppUnknown(
                "no TPP is configured: add one to tpps[] (it stands in for the eIDAS certificate)",
                code="CERTIFICATE_MISSING",
            )
        if headers.tpp_client_id is None:
            return self._tpps[0]
        for tpp in self._tpps:
            if tpp.client_id == headers.tpp_client_id:
                return tpp
        known = ", ".join(t.client_id for t in self._tpps[:10])
        raise TppUnknown(f"no configured TPP has client_id {headers.tpp_client_id!r} ({known})")

    def _check_redirects(self, tpp: TppConfig, headers: RequestHeaders, approach: Approach) -> None:
        if approach is Approach.REDIRECT and headers.tpp_redirect_uri is None:
            other = (
                headers.tpp_redirect_preferred is not False
                and len(self.bank.profile.sca_approaches_supported) > 1
            )
            raise FormatError(
                "the bank chose the REDIRECT approach: send TPP-Redirect-URI, where the PSU's"
                " browser returns after SCA"
                + (
                    " (or prefer another approach with TPP-Redirect-Preferred: false)"
                    if other
                    else ""
                ),
                path="TPP-Redirect-URI",
            )
        for name, uri in (
            ("TPP-Redirect-URI", headers.tpp_redirect_uri),
            ("TPP-Nok-Redirect-URI", headers.tpp_nok_redirect_uri),
        ):
            if uri is not None and not redirect_allowed(tpp, uri):
                raise FormatError(
                    f"{uri} is not one of TPP {tpp.client_id}'s redirect URIs"
                    f" ({', '.join(tpp.redirect_uris[:5])}): same scheme and host, a path"
                    " under one of them",
                    path=name,
                )

    def _implicit(self, headers: RequestHeaders) -> bool:
        mode = self.bank.profile.start_authorisation_mode
        if mode == "auto":
            return not headers.tpp_explicit_authorisation_preferred
        return mode == "implicit"


def _service(value: str) -> Service:
    try:
        return Service(value)
    except ValueError:
        raise ResourceUnknown(
            f"{value!r} is no payment service: use payments, periodic-payments or bulk-payments",
            path="payment-service",
        ) from None


def _accepts_json(accept: str | None) -> None:
    """Every answer is JSON: an ``Accept`` that admits none is 406 (``core.media``)."""
    if accept is None or admits_json(accept):
        return
    raise FormatsInvalid(
        f"Accept {accept[:100]!r} admits no JSON: the bank answers application/json",
        path="Accept",
    )


def allowed_methods(segments: tuple[str, ...]) -> tuple[str, ...] | None:
    """The methods XS2A defines for the resource at ``segments`` (the path after ``/v1/``,
    as in the module's table), or None: no XS2A resource there. The routing and the edge's
    refusal of a method aiohttp cannot parse (``serve.parser_refusals``) both read it, so
    both send one ``Allow``."""
    if len(segments) < 2 or segments[0] not in _SERVICES:
        return None
    rest = segments[3:]
    if len(segments) == 2:
        return ("POST",)
    if not rest:
        return ("GET", "DELETE")
    if rest == ("status",):
        return ("GET",)
    if rest[0] in _KINDS and len(rest) <= 2:
        return ("POST", "GET") if len(rest) == 1 else ("GET", "PUT")
    return None


def _allow(method: str, segments: tuple[str, ...]) -> None:
    allowed = allowed_methods(segments) or ()
    if method not in allowed:
        raise ServiceInvalid(
            f"{method} is not allowed here: use {' or '.join(allowed)}", allow=allowed
        )


def _update(request: ApiRequest) -> Update:
    require_json(request.headers.get("Content-Type"))
    body = parse_body(UpdateAuthorisation, request.body)
    return Update(
        password=body.psuData.password if body.psuData else None,
        method_id=body.authenticationMethodId,
        sca_data=body.scaAuthenticationData,
        confirmation_code=body.confirmationCode,
    )


def _tpp_request(tpp: TppConfig, headers: RequestHeaders) -> TppRequest:
    return TppRequest(
        tpp=tpp.client_id,
        tpp_name=tpp.name,
        psu_id=headers.psu_id,
        redirect_uri=headers.tpp_redirect_uri,
        nok_redirect_uri=headers.tpp_nok_redirect_uri,
        redirect_preferred=headers.tpp_redirect_preferred,
        decoupled_preferred=headers.tpp_decoupled_preferred,
        explicit_preferred=headers.tpp_explicit_authorisation_preferred,
        reject_no_funds=headers.tpp_rejection_nofunds_preferred,
    )


def refusal(error: Xs2aError, headers: Mapping[str, str]) -> Answer:
    """An error answer outside ``handle`` (the edge's own refusals: an unknown bank, a body
    too large), with the TPP's ``X-Request-ID`` or a new one."""
    sent = headers.get("X-Request-ID", "")
    request_id = sent if UUID.fullmatch(sent) else str(uuid.uuid4())
    return Answer(error.status, error.body(), {**_error_headers(error), "X-Request-ID": request_id})


def _error_headers(error: Xs2aError) -> dict[str, str]:
    """The headers ``error``'s answer carries: a 405's ``Allow`` (RFC 9110 §15.5.6)."""
    return {"Allow": ", ".join(error.allow)} if error.status == 405 else {}
