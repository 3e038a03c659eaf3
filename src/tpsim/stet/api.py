"""One simulated bank's STET payment initiation API (1.4.2) as request → answer, sans-IO.

The edge (``serve/stet.py``) hands each request under ``/stet/{fspId}/v1/`` to
``StetApi.handle`` as a ``StetRequest`` and sends back the ``Answer``:

    POST /payment-requests                          client token (scope pisp)     201
    GET  /payment-requests/{id}                     client token                  200
    PUT  /payment-requests/{id}                     client token: cancellation    200
    POST /payment-requests/{id}/confirmation        client token                  200
    POST /payment-requests/{id}/o-confirmation      the PSU's token (authorization_code
                                                    of the o-confirmation variant) 200

Every answer echoes ``X-Request-ID``; every refusal is STET's ``ErrorModel``
(``stet.errors``). ``Signature`` and ``Digest`` are accepted and ignored, or checked in
strict mode (``behaviour.psd2.strict_signatures``, ``stet.signatures``). The "BPCE v1.4.0"
flavour answers 405 to PUT and to both confirmations, as that sandbox does.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tpsim.auth.bearer import BearerRefused, bearer_token, header
from tpsim.auth.oauth import AuthorizationServer
from tpsim.auth.oauth_jose import client_keys
from tpsim.auth.oauth_model import AccessToken, AuthorizationParameters, TokenKind
from tpsim.config_psd2 import TppConfig, redirect_allowed
from tpsim.core.errors import TpsimError
from tpsim.core.media import admits_json
from tpsim.stet import reading, signatures
from tpsim.stet.answers import Links, created_body, request_body
from tpsim.stet.approval import StetApproval
from tpsim.stet.bank import StetBank
from tpsim.stet.errors import (
    DETAIL_HEADER,
    FieldInvalid,
    Forbidden,
    HeaderInvalid,
    MethodNotAllowed,
    ModificationRefused,
    NoRoute,
    NotAcceptable,
    StetError,
    Unauthorized,
    coded,
)
from tpsim.stet.resources import PaymentRequest

__all__ = [
    "REQUEST_ID",
    "Answer",
    "StetApi",
    "StetRequest",
    "allowed_methods",
    "intent_from_link",
]

Body = dict[str, Any]
SCOPE = "pisp"
REQUEST_ID = "X-Request-ID"
REQUESTS = "payment-requests"
# RFC 9110 §11.6.1: a 401 says how to authenticate (draft-cavage's scheme).
_SIGNATURE = 'Signature realm="stet",headers="(request-target) date digest x-request-id"'
_PRINTABLE = re.compile(r"[\x21-\x7e]{1,128}")


@dataclass(frozen=True, slots=True)
class StetRequest:
    method: str
    segments: tuple[str, ...]  # the path after /v1/
    headers: Mapping[str, str]
    body: bytes
    site: str  # scheme://host[:port] the PISP reached tpsim at (for links)
    target: str  # the request target as sent (path and query): the signed (request-target)
    # The issuer whose API this is (``serve.oauth.issuer_at``): tokens of another base of
    # the bank's server are refused. None: any base's.
    issuer: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    resource_id: str | None = None  # for the journal
    tpp: str | None = None  # the calling client_id when known


@dataclass(slots=True)
class _Call:
    request: StetRequest
    links: Links
    tpp: str | None = None
    resource_id: str | None = None

    def answer(self, status: int, body: Body | None) -> Answer:
        return Answer(status, body, {}, self.resource_id, self.tpp)


class StetApi:
    """The STET interface of ``bank``, its tokens read by ``oauth`` (the bank's
    authorisation server). ``tpps`` are the PISPs: their redirect URIs bound the report
    URLs, their ``jwks`` verify signatures in strict mode."""

    def __init__(
        self, bank: StetBank, oauth: AuthorizationServer, *, tpps: Sequence[TppConfig] = ()
    ) -> None:
        self.bank, self.oauth = bank, oauth
        self._tpps = {t.client_id: t for t in tpps}
        names = {t.client_id: t.name for t in tpps}
        # The PSU's approval on the bank's page (REDIRECT), and through its OAuth server
        # (the o-confirmation variant).
        self.page = StetApproval(bank, names, via_oauth=False)
        self.approval = StetApproval(bank, names, via_oauth=True)
        self._keys = {t.client_id: client_keys(t.client_id, t.jwks) for t in tpps}

    def handle(self, request: StetRequest) -> Answer:
        """The answer to ``request``; never raises for anything a client sends."""
        call = _Call(request, Links(request.site, self.bank.fsp_id))
        try:
            answer = self._route(call)
        except TpsimError as exc:
            return self.refuse(request, coded(exc), call)
        return self._finish(call.request, answer)

    def refuse(self, request: StetRequest, error: StetError, call: _Call | None = None) -> Answer:
        """``error`` as the answer to ``request`` (also the edge's own refusals)."""
        call = call or _Call(request, Links(request.site, self.bank.fsp_id))
        path = "/" + "/".join(("stet", self.bank.fsp_id, "v1", *request.segments))
        answer = call.answer(error.status, error.body(self.bank.clock.now(), path))
        if isinstance(error, Unauthorized):
            answer.headers["WWW-Authenticate"] = error.challenge
        if isinstance(error, MethodNotAllowed):
            answer.headers["Allow"] = ", ".join(error.allow)
        detail = error.detail()
        if detail is not None:
            answer.headers[DETAIL_HEADER] = detail
        return self._finish(request, answer)

    def _finish(self, request: StetRequest, answer: Answer) -> Answer:
        sent = header(request.headers, REQUEST_ID) or ""
        answer.headers[REQUEST_ID] = sent if _PRINTABLE.fullmatch(sent) else self.bank.ids.new_id()
        return answer

    # -- routing ------------------------------------------------------------------------

    def _route(self, call: _Call) -> Answer:
        request = call.request
        parts, method = request.segments, request.method.upper()
        _accepts_json(header(request.headers, "Accept"))
        if len(parts) in (2, 3) and parts[0] == REQUESTS:
            call.resource_id = parts[1]
        allowed = allowed_methods(parts)
        if allowed is None:
            raise NoRoute(f"no STET resource at /{'/'.join(parts)[:200]}: see /payment-requests")
        _allow(method, *allowed)
        if len(parts) == 1:
            return self._create(call)
        if len(parts) == 2:
            return self._get(call) if method == "GET" else self._put(call)
        return self._confirm(call, parts[2])

    def _create(self, call: _Call) -> Answer:
        token = self._token(call, TokenKind.CLIENT)
        # The bank's own members (statuses, resourceId) are the bank's to give, not kept.
        wire = _agreed_part(reading.payment_request(self._body(call, token)))
        self._report_urls(token.client_id, wire)
        created = self.bank.create(token.client_id, wire)
        call.resource_id = created.resource_id
        answer = call.answer(201, created_body(call.links, self.bank, created))
        answer.headers["Location"] = call.links.request(created.resource_id)
        return answer

    def _get(self, call: _Call) -> Answer:
        token = self._token(call, TokenKind.CLIENT)
        self._signed(call, token)
        found = self.bank.get(self._id(call), token.client_id)
        return call.answer(200, request_body(call.links, self.bank, found))

    def _put(self, call: _Call) -> Answer:
        self._implemented("PUT (modification of a payment request)", "GET")
        token = self._token(call, TokenKind.CLIENT)
        wire = reading.payment_request(self._body(call, token))
        found = self.bank.get(self._id(call), token.client_id)
        chosen = self.bank.bank.accounts.find(found.debtor) if found.debtor else None
        _unchanged(found, wire, chosen.iban if chosen else None)
        count = range(len(found.order.instructions))
        ended = frozenset(i for i in count if self.bank.orders.transaction(found, i)[0] == "RJCT")
        asked = _cancellation(wire, ended)
        cancelled = self.bank.cancel(found.resource_id, token.client_id, asked)
        return call.answer(200, request_body(call.links, self.bank, cancelled))

    def _confirm(self, call: _Call, which: str) -> Answer:
        self._implemented(f"POST …/{which}")
        kind = TokenKind.PSU if which == "o-confirmation" else TokenKind.CLIENT
        token = self._token(call, kind)
        body = self._body(call, token)
        resource_id = self._id(call)
        if kind is TokenKind.PSU:
            if token.intent_id != resource_id:
                raise Forbidden(
                    f"the access token is bound to payment request {token.intent_id}, not"
                    f" {resource_id}: use the token of this request's approval",
                    code="TOKEN_BOUND",
                )
            confirmed = self.bank.o_confirm(resource_id, token.client_id)
        else:
            factor = reading.confirmation(body).psuAuthenticationFactor
            confirmed = self.bank.confirm(resource_id, token.client_id, factor)
        return call.answer(200, request_body(call.links, self.bank, confirmed))

    # -- checks -------------------------------------------------------------------------

    def _token(self, call: _Call, kind: TokenKind) -> AccessToken:
        """The request's bearer token: of ``kind``, with scope ``pisp``; and its
        ``X-Request-ID``."""
        if not header(call.request.headers, REQUEST_ID):
            raise HeaderInvalid(f"{REQUEST_ID} is required: send a unique id for the request")
        try:
            token = bearer_token(
                self.oauth, call.request.headers, realm="stet", issuer=call.request.issuer
            )
        except BearerRefused as exc:
            code = "TOKEN_MISSING" if exc.missing else "TOKEN_INVALID"
            raise Unauthorized(exc.message, code=code, challenge=exc.challenge) from None
        call.tpp = token.client_id
        if SCOPE not in token.scopes:
            raise Forbidden(f"the access token's scope must include {SCOPE}")
        if token.kind is not kind:
            raise Forbidden(_wrong_kind(kind), code="TOKEN_KIND")
        return token

    def _body(self, call: _Call, token: AccessToken) -> Body:
        """The JSON object the request carries (signatures checked in strict mode)."""
        reading.require_json(header(call.request.headers, "Content-Type"))
        body = reading.decode(call.request.body)
        self._signed(call, token)
        return body

    def _signed(self, call: _Call, token: AccessToken) -> None:
        if not self.bank.settings.strict_signatures:
            return
        request = call.request
        keys = self._keys.get(token.client_id)
        try:
            signatures.check(
                request.method,
                request.target,
                request.headers,
                request.body,
                None if keys is None else list(keys.keys),
            )
        except signatures.SignatureRefused as exc:
            if exc.status == 401:
                raise Unauthorized(exc.message, code=exc.code, challenge=_SIGNATURE) from None
            raise StetError(exc.message, status=exc.status, code=exc.code) from None

    def _report_urls(self, tpp: str, wire: Body) -> None:
        """The report URLs must be the PISP's registered redirect URIs (DESIGN.md)."""
        registered = self._tpps.get(tpp)
        supplementary = wire["supplementaryData"]
        for name in ("successfulReportUrl", "unsuccessfulReportUrl"):
            url = supplementary.get(name)
            if url is not None and (registered is None or not redirect_allowed(registered, url)):
                raise FieldInvalid(
                    f"supplementaryData.{name} {url[:200]!r} is not under one of {tpp}'s"
                    " registered redirect_uris (tpps[].redirect_uris)"
                )

    def _implemented(self, what: str, *left: str) -> None:
        """Refuse ``what`` in the BPCE flavour (405); ``left`` is what the resource still
        takes there."""
        if self.bank.profile.flavour == "bpce-1.4.0":
            raise MethodNotAllowed(
                f"{self.bank.fsp_id} plays BPCE's 89C3 v1.4.0 (psd2.stet.flavour:"
                f" bpce-1.4.0), which does not implement {what}",
                allow=left,
            )

    @staticmethod
    def _id(call: _Call) -> str:
        assert call.resource_id is not None  # noqa: S101 - routed with an id
        return call.resource_id


def intent_from_link(params: AuthorizationParameters) -> str | None:
    """The OAuth server's ``IntentReader`` (the o-confirmation variant): the payment
    request the ``consentApproval`` link names (``paymentRequestResourceId``)."""
    return params.extra.get("paymentRequestResourceId") or None


_STATUSES = ("resourceId", "paymentInformationStatus", "statusReasonInformation")


def _agreed_part(wire: Body) -> Body:
    """The members of a payment request a PUT must repeat: all but the bank's own."""
    kept = copy.deepcopy({k: v for k, v in wire.items() if k not in _STATUSES})
    kept.get("supplementaryData", {}).pop("appliedAuthenticationApproach", None)
    for transaction in kept.get("creditTransferTransaction", []):
        transaction.pop("transactionStatus", None)
        transaction.pop("statusReasonInformation", None)
    return kept


def _unchanged(request: PaymentRequest, wire: Body, chosen: str | None) -> None:
    """A PUT may only cancel: every member but the statuses must be the request's own (the
    ``debtorAccount`` may be the one the PSU chose, ``chosen``)."""
    if wire.get("resourceId") not in (None, request.resource_id):
        raise ModificationRefused("resourceId differs from the payment request's")
    sent, agreed = _agreed_part(wire), _agreed_part(request.wire)
    if "debtorAccount" not in agreed and sent.get("debtorAccount") == {"iban": chosen}:
        sent.pop("debtorAccount")
    for member in sorted(set(sent) | set(agreed)):
        if sent.get(member) != agreed.get(member):
            raise ModificationRefused(
                f"{member} differs from the payment request's: a PUT only cancels (send the"
                " resource as GET gives it, with the cancellation's statuses)"
            )


def _cancellation(wire: Body, ended: frozenset[int]) -> frozenset[int] | None:
    """What a PUT cancels: the whole request (None), or these instructions. Those already
    RJCT (``ended``: cancelled before, or rejected by the bank) are echoed as GET gave
    them, not cancelled again."""
    if wire.get("paymentInformationStatus") == "RJCT":
        _cancel_reason(wire.get("statusReasonInformation"), "statusReasonInformation")
        return None
    chosen = set()
    for index, transaction in enumerate(wire["creditTransferTransaction"]):
        if transaction.get("transactionStatus") == "RJCT" and index not in ended:
            where = f"creditTransferTransaction[{index}].statusReasonInformation"
            _cancel_reason(transaction.get("statusReasonInformation"), where)
            chosen.add(index)
    if not chosen:
        raise ModificationRefused(
            "a PUT only cancels: set paymentInformationStatus RJCT with"
            " statusReasonInformation DS02 (the whole request), or an instruction's"
            " transactionStatus RJCT with DS02"
        )
    return frozenset(chosen)


def _cancel_reason(reason: Any, where: str) -> None:
    if reason != "DS02":
        raise ModificationRefused(f"{where} must be DS02 (cancelled by the PISP), not {reason!r}")


def _wrong_kind(wanted: TokenKind) -> str:
    if wanted is TokenKind.CLIENT:
        return (
            "this call takes the PISP's own access token (grant_type=client_credentials,"
            f" scope={SCOPE}), not one a PSU authorised"
        )
    return (
        "o-confirmation takes the access token the PSU's approval gave"
        " (grant_type=authorization_code with the code sent to your redirect_uri)"
    )


def _accepts_json(accept: str | None) -> None:
    """Every answer is JSON: an ``Accept`` that admits none is 406."""
    if accept is None or admits_json(accept):
        return
    raise NotAcceptable(f"Accept {accept[:100]!r} admits no JSON")


def allowed_methods(segments: tuple[str, ...]) -> tuple[str, ...] | None:
    """The methods STET defines for the resource at ``segments`` (the path after ``/v1/``),
    or None: no STET resource there. The routing and the edge's refusal of a method aiohttp
    cannot parse (``serve.parser_refusals``) both read it, so both send one ``Allow``."""
    if segments == (REQUESTS,):
        return ("POST",)
    if len(segments) == 2 and segments[0] == REQUESTS:
        return ("GET", "PUT")
    if len(segments) == 3 and segments[0] == REQUESTS:
        return ("POST",) if segments[2] in ("confirmation", "o-confirmation") else None
    return None


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise MethodNotAllowed(
            f"{method} is not allowed here: use {' or '.join(allowed)}", allow=allowed
        )
