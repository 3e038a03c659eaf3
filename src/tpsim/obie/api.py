"""One simulated bank's UK Open Banking payment initiation API (v3.1 and v4.0 side by
side) as request → answer, sans-IO.

The edge (``serve/obie.py``) hands each request under
``/obie/{fspId}/open-banking/v{version}/pisp/`` to ``ObieApi.handle`` as an
``ObieRequest`` and sends back the ``Answer``, its body as ``encode(answer.body)`` (the
bytes its ``x-jws-signature`` covers):

    POST /domestic-payment-consents                        client token, idempotent   201
    GET  /domestic-payment-consents/{ConsentId}            client token               200
    GET  /domestic-payment-consents/{ConsentId}/funds-confirmation    the PSU's token 200
    POST /domestic-payments                                the PSU's token, idempotent 201
    GET  /domestic-payments/{DomesticPaymentId}            client token               200
    GET  /domestic-payments/{DomesticPaymentId}/payment-details       client token    200

and the same of domestic scheduled payments (``Kind.SCHEDULED``): ``/domestic-scheduled-
payment-consents`` (its Initiation's ``RequestedExecutionDateTime`` ahead of the bank's
clock, at most ``core.execution.MAX_DAYS_AHEAD`` days: else 400 U003), no funds
confirmation (the spec has none), ``/domestic-scheduled-payments`` (the payment waits for
its date), each kind's resources unknown under the other's paths.

Every answer carries ``x-fapi-interaction-id`` (the TPP's, or a new one) and, with a body,
the bank's ``x-jws-signature``; every refusal is an ``OBErrorResponse1`` of the request's
version (``obie.errors``), or a bodiless status where the spec documents no body.
``x-idempotency-key`` (the digest §1.5): within 24 hours, per TPP and endpoint, the same
key with the same body gives the same resource again (201, its current status), with
another body 400 U002 (the profile may make it 403).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tpsim.auth.oauth import AuthorizationServer
from tpsim.auth.oauth_jose import client_keys
from tpsim.auth.oauth_model import (
    AccessToken,
    AuthorizationParameters,
    TokenKind,
    intent_from_claims,
)
from tpsim.config_psd2 import TppConfig
from tpsim.core.errors import KeyReused, TpsimError
from tpsim.core.idempotency import Entry, Idempotency
from tpsim.core.media import admits_json
from tpsim.core.records import Records
from tpsim.obie import access, admission, answers, reading, signatures
from tpsim.obie.answers import Links
from tpsim.obie.approval import ObieApproval
from tpsim.obie.bank import KEY_WINDOW, SEEN_PER_ENDED, ObieBank
from tpsim.obie.errors import (
    ConsentMismatch,
    FieldInvalid,
    HeaderInvalid,
    InvalidConsentStatus,
    MethodNotAllowed,
    NoRoute,
    NotAcceptable,
    NotFound,
    ObieError,
    ResourceExists,
    Unauthorized,
    coded,
)
from tpsim.obie.resources import Consent, DomesticPayment
from tpsim.obie.signatures import encode
from tpsim.obie.states import CONSENT_STATUS, VERSIONS, ConsentState, Kind, PaymentStatus

__all__ = ["Answer", "ObieApi", "ObieRequest", "allowed_methods", "encode"]

Body = dict[str, Any]
_CONSENT_KINDS = {kind.consents: kind for kind in Kind}
_PAYMENT_KINDS = {kind.payments: kind for kind in Kind}
INTERACTION = "x-fapi-interaction-id"
# Why a refusal the spec answers without a body (404, 405, 406, 415) was made: printable
# ASCII (a header cannot hold a line break), at most 500 characters.
ERROR_HEADER = "x-tpsim-error"
_PRINTABLE = re.compile(r"[\x21-\x7e]{1,128}")


def interaction_id(headers: Mapping[str, str], new: Callable[[], str]) -> str:
    """The TPP's ``x-fapi-interaction-id`` (the spec gives it no pattern: any visible
    ASCII up to 128 characters is echoed), or a ``new`` one: every answer carries one."""
    sent = access.header(headers, INTERACTION) or ""
    return sent if _PRINTABLE.fullmatch(sent) else new()


@dataclass(frozen=True, slots=True)
class ObieRequest:
    version: str  # "3.1" or "4.0"
    method: str
    segments: tuple[str, ...]  # the path after /pisp/
    headers: Mapping[str, str]
    body: bytes
    site: str  # scheme://host[:port] the TPP reached tpsim at (for Links.Self)
    # The issuer whose API this is (``serve.oauth.issuer_at``): tokens of another base of
    # the bank's server are refused. None: any base's.
    issuer: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)  # always x-fapi-interaction-id
    consent_id: str | None = None  # for the journal
    payment_id: str | None = None
    tpp: str | None = None  # the calling client_id when known


@dataclass(slots=True)
class _Call:
    """One request being handled: what the journal learns as it goes."""

    request: ObieRequest
    links: Links
    tpp: str | None = None
    consent_id: str | None = None
    payment_id: str | None = None

    def answer(self, status: int, body: Body | None) -> Answer:
        return Answer(status, body, {}, self.consent_id, self.payment_id, self.tpp)


class ObieApi:
    """The UK interface of ``bank``, its tokens read by ``oauth`` (the bank's
    authorisation server). ``tpps`` gives the TPPs' names (on the consent page) and, in
    strict-signature mode, their ``jwks``."""

    def __init__(
        self, bank: ObieBank, oauth: AuthorizationServer, *, tpps: Sequence[TppConfig] = ()
    ) -> None:
        self.bank, self.oauth = bank, oauth
        self.approval = ObieApproval(bank, {t.client_id: t.name for t in tpps})
        self._keys = {t.client_id: client_keys(t.client_id, t.jwks) for t in tpps}
        ended = bank.orders.records.max_ended
        records: Records[Entry[str]] = Records(
            bank.bank.store,
            f"obie-seen:{bank.fsp_id}",
            retention=KEY_WINDOW,
            max_ended=None if ended is None else SEEN_PER_ENDED * ended,
            clock=bank.clock,
        )
        self._seen: Idempotency[str] = Idempotency(records)

    def intent(self, params: AuthorizationParameters) -> str | None:
        """The OAuth server's ``IntentReader`` for this bank: the ConsentId the request
        names (``openbanking_intent_id``), if it is a consent of the client asking; a
        TPP cannot have the PSU authorise another TPP's consent."""
        consent_id = intent_from_claims(params)
        found = None if consent_id is None else self.bank.consents.get(consent_id)
        return consent_id if found is not None and found.tpp == params.client_id else None

    def handle(self, request: ObieRequest) -> Answer:
        """The answer to ``request``; never raises for anything a client sends."""
        call = self._call(request)
        try:
            answer = self._route(call)
        except TpsimError as exc:
            return self.refuse(request, coded(exc), call)
        return self._finish(call, answer)

    def refuse(self, request: ObieRequest, error: ObieError, call: _Call | None = None) -> Answer:
        """``error`` as the answer to ``request`` (also the edge's own refusals: a body too
        large or too slow, a bug), with its interaction id and signature like any."""
        call = call or self._call(request)
        version = request.version if request.version in VERSIONS else "4.0"
        interaction = self._interaction(request.headers)
        answer = call.answer(error.status, error.body(version, interaction))
        if isinstance(error, Unauthorized) and error.challenge:
            answer.headers["WWW-Authenticate"] = error.challenge
        elif not error.has_body:
            answer.headers[ERROR_HEADER] = printable(error.message)
        if isinstance(error, MethodNotAllowed):
            answer.headers["Allow"] = ", ".join(error.allow)  # RFC 9110 §15.5.6
        return self._finish(call, answer, interaction)

    def _call(self, request: ObieRequest) -> _Call:
        version = request.version if request.version in VERSIONS else "4.0"
        return _Call(request, Links(request.site, self.bank.fsp_id, version))

    def _finish(self, call: _Call, answer: Answer, interaction: str | None = None) -> Answer:
        """Every answer: the interaction id, and the bank's signature over its body."""
        answer.headers[INTERACTION] = interaction or self._interaction(call.request.headers)
        if answer.body is not None:
            answer.headers[signatures.HEADER] = signatures.sign(
                self.oauth.key,
                encode(answer.body),
                issuer=self.oauth.issuer,
                now=self.bank.clock.now(),
            )
        return answer

    def _interaction(self, headers: Mapping[str, str]) -> str:
        return interaction_id(headers, self.bank.ids.new_id)

    # -- routing ----------------------------------------------------------------------------

    def _route(self, call: _Call) -> Answer:
        request = call.request
        parts, method = request.segments, request.method.upper()
        if request.version not in VERSIONS:
            raise NoRoute(f"tpsim plays v{' and v'.join(VERSIONS)}, not v{request.version}")
        _accepts_json(access.header(request.headers, "Accept"))
        allowed = allowed_methods(parts)
        if allowed is None:
            raise NoRoute(f"no UK resource at /{'/'.join(parts)[:200]}")
        if method not in allowed:
            use = " or ".join(allowed)
            raise MethodNotAllowed(f"{method} is not allowed here: use {use}", allow=allowed)
        kind = _CONSENT_KINDS.get(parts[0])
        if kind is not None:
            if len(parts) == 1:
                return self._create_consent(call, kind)
            call.consent_id = parts[1]
            if len(parts) == 2:
                return self._get_consent(call, parts[1], kind)
            return self._funds(call, parts[1])
        kind = _PAYMENT_KINDS[parts[0]]
        if len(parts) == 1:
            return self._create_payment(call, kind)
        call.payment_id = parts[1]
        return self._get_payment(call, parts[1], kind, details=len(parts) == 3)

    # -- consents ---------------------------------------------------------------------------

    def _create_consent(self, call: _Call, kind: Kind) -> Answer:
        token = self._token(call, TokenKind.CLIENT)
        body = self._body(call, token)
        order = reading.read_order(body["Data"]["Initiation"])
        seen = self._once(call, token, kind.consents, body)
        if seen is not None:
            consent = self.bank.consent(seen, call.links.version, kind=kind)
            return self._consent_answer(call, consent, 201)
        version = call.links.version
        consent = self.bank.create_consent(version, token.client_id, order, body, kind)
        self._done(call, token, kind.consents, consent.consent_id)
        return self._consent_answer(call, consent, 201)

    def _get_consent(self, call: _Call, consent_id: str, kind: Kind) -> Answer:
        token = self._token(call, TokenKind.CLIENT)
        self._check(call, None)
        consent = self.bank.consent(consent_id, call.links.version, token.client_id, kind)
        return self._consent_answer(call, consent, 200)

    def _consent_answer(self, call: _Call, consent: Consent, status: int) -> Answer:
        call.consent_id = consent.consent_id
        return call.answer(status, answers.consent_body(call.links, consent))

    def _funds(self, call: _Call, consent_id: str) -> Answer:
        token = self._token(call, TokenKind.PSU)
        self._check(call, None)
        consent = self.bank.consent(consent_id, call.links.version, token.client_id)
        access.bound(token, consent_id)
        if consent.state is not ConsentState.AUTHORISED:
            authorised = CONSENT_STATUS[consent.version][ConsentState.AUTHORISED]
            raise InvalidConsentStatus(
                f"consent {consent_id} is {self.bank.status_word(consent)}: funds are"
                f" confirmed only for a consent the PSU authorised ({authorised})",
                path="ConsentId",
            )
        now = self.bank.clock.now()
        body = answers.funds_body(call.links, consent, self.bank.funds(consent), now)
        return call.answer(200, body)

    # -- payments ---------------------------------------------------------------------------

    def _create_payment(self, call: _Call, kind: Kind) -> Answer:
        token = self._token(call, TokenKind.PSU)
        body = self._body(call, token)
        consent_id = body["Data"]["ConsentId"]
        call.consent_id = consent_id
        access.bound(token, consent_id)
        consent = self.bank.consent(consent_id, call.links.version, token.client_id, kind)
        _matches(body, consent)
        seen = self._once(call, token, kind.payments, body)
        if seen is not None:
            payment = self.bank.orders.get(seen, call.links.version, kind=kind)
            return self._payment_answer(call, payment, 201)
        if consent.state is ConsentState.CONSUMED:  # before the cut-off: it paid already
            raise self._consumed(consent)
        admission.check_cut_off(consent)
        if consent.state is ConsentState.AUTHORISED:
            now = self.bank.clock.now()
            admission.check_date(consent.order, now)  # its date may have passed since
        payment = self.bank.orders.pay(consent)
        self._done(call, token, kind.payments, payment.payment_id)
        return self._payment_answer(call, payment, 201, created=True)

    def _consumed(self, consent: Consent) -> ObieError:
        """A second payment on a consumed consent, under another key: v4.0's 409 U029 (or
        400 U009 by the profile); v3.1 documents no 409, so 400 U009."""
        text = (
            f"consent {consent.consent_id} is {self.bank.status_word(consent)}: it paid"
            f" {consent.payment_id} already; a consent pays once (repeat the first request's"
            " x-idempotency-key to see that payment again)"
        )
        if consent.version == "4.0" and self.bank.profile.second_payment == "conflict":
            return ResourceExists(text, path="Data.ConsentId")
        return InvalidConsentStatus(text, path="Data.ConsentId")

    def _get_payment(self, call: _Call, payment_id: str, kind: Kind, *, details: bool) -> Answer:
        token = self._token(call, TokenKind.CLIENT)
        self._check(call, None)
        payment = self.bank.orders.get(payment_id, call.links.version, token.client_id, kind)
        call.consent_id = payment.consent_id
        if details:
            return call.answer(200, answers.details_body(call.links, payment))
        return self._payment_answer(call, payment, 200)

    def _payment_answer(
        self, call: _Call, payment: DomesticPayment, status: int, *, created: bool = False
    ) -> Answer:
        """The payment as it is now; ``created``: the answer to the POST that created it,
        which in v4.0 is RCVD or RJCT ("the domestic-payment resource that is created
        successfully must have one of the following initial" statuses), the GET showing
        how it went on; a scheduled payment's is its pending word (PDNG: it waits for
        its date)."""
        call.payment_id, call.consent_id = payment.payment_id, payment.consent_id
        consent = self.bank.consents.get(payment.consent_id)
        if consent is None:  # forgotten with its payment after their retention
            kind = payment.kind
            raise NotFound(f"no {kind.what} {payment.payment_id}", path=kind.payment_id)
        orders = self.bank.orders
        now, at = orders.status(payment), orders.status_at(payment)
        if created and payment.version == "4.0" and now is not PaymentStatus.REJECTED:
            now, at = PaymentStatus.PENDING, payment.created_at
        body = answers.payment_body(call.links, payment, consent, now, at)
        return call.answer(status, body)

    # -- checks -------------------------------------------------------------------------------

    def _token(self, call: _Call, kind: TokenKind) -> AccessToken:
        request = call.request
        token = access.bearer(self.oauth, request.headers, kind, issuer=request.issuer)
        call.tpp = token.client_id
        return token

    def _body(self, call: _Call, token: AccessToken) -> Body:
        """The request's JSON body, checked against the official OpenAPI of its version
        (and, in strict mode, its signature)."""
        request = call.request
        reading.require_json(access.header(request.headers, "Content-Type"))
        body = reading.decode(request.body)
        self._check(call, body)
        if self.bank.settings.strict_signatures:
            keys = self._keys.get(token.client_id)
            sent = access.header(request.headers, signatures.HEADER)
            signatures.check(sent, request.body, keys)
        return body

    def _check(self, call: _Call, body: Body | None) -> None:
        """The request's headers (and ``body``, None for a GET) as the official OpenAPI of
        its operation allows them: ``x-fapi-auth-date``, ``x-fapi-customer-ip-address``…
        are checked on every operation, not only on the POSTs."""
        request = call.request
        path = "/" + "/".join(request.segments)
        op = reading.operation(request.version, request.method.upper(), path)
        if op is not None:
            reading.check_request(op, request.headers, body)

    def _once(self, call: _Call, token: AccessToken, endpoint: str, body: Body) -> str | None:
        """The id of the resource the same key and body made within 24 hours (None: a new
        request, remembered from now on); another body under the key is refused."""
        key, scope = _key(call, token, endpoint)
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
        now = self.bank.clock.now()
        try:
            seen = self._seen.check(key, fingerprint, scope=scope, now=now)
        except KeyReused:
            raise FieldInvalid(
                f"x-idempotency-key {key!r} was used within 24 hours for a request with"
                " another body: the bank does not change what it made; use a new key for a"
                " new request",
                path="x-idempotency-key",
                status=self.bank.profile.reused_key_status,
            ) from None
        if seen is None:
            self._seen.end(key, scope=scope, at=now)  # a fixed window from first sight
            return None
        return seen.answer  # None: the first such request was refused; handle it again

    def _done(self, call: _Call, token: AccessToken, endpoint: str, made: str) -> None:
        """Remember ``made`` as what the request's key made (``_once`` gives it back)."""
        key, scope = _key(call, token, endpoint)
        self._seen.answer(key, made, scope=scope)


def _key(call: _Call, token: AccessToken, endpoint: str) -> tuple[str, str]:
    """The request's ``x-idempotency-key`` and its scope: keys are per TPP, version and
    endpoint (the digest §1.5). A key is kept in the state file, which holds text only:
    one the edge decoded from bytes that are no UTF-8 (lone surrogates) is refused."""
    key = access.header(call.request.headers, "x-idempotency-key") or ""
    try:
        key.encode()
    except UnicodeEncodeError:  # bytes that are no UTF-8, which the edge decodes as such
        raise HeaderInvalid(
            "header x-idempotency-key holds bytes that are not UTF-8: send a key of text"
            " (a UUID, say)",
            path="x-idempotency-key",
        ) from None
    return key, f"{token.client_id}\x1f{call.links.version}\x1f{endpoint}"


def _matches(body: Body, consent: Consent) -> None:
    """``Initiation`` and ``Risk`` must be exactly the consent's (the digest §1.3 step 8)."""
    sent_initiation, sent_risk = body["Data"]["Initiation"], body["Risk"]
    for name, sent, agreed in (
        ("Data.Initiation", sent_initiation, consent.initiation),
        ("Risk", sent_risk, consent.risk),
    ):
        differs = _first_difference(sent, agreed, name)
        if differs is not None:
            raise ConsentMismatch(
                f"{differs} differs from the consent's: send the consent's {name} unchanged",
                path=differs,
            )


def _first_difference(sent: Any, agreed: Any, where: str) -> str | None:
    """The path of the first member where ``sent`` and ``agreed`` differ, or None."""
    if isinstance(sent, dict) and isinstance(agreed, dict):
        for name in sorted(set(sent) | set(agreed)):
            if name not in sent or name not in agreed:
                return f"{where}.{name}"
            found = _first_difference(sent[name], agreed[name], f"{where}.{name}")
            if found is not None:
                return found
        return None
    if isinstance(sent, list) and isinstance(agreed, list) and len(sent) == len(agreed):
        for i, (one, other) in enumerate(zip(sent, agreed, strict=True)):
            found = _first_difference(one, other, f"{where}[{i}]")
            if found is not None:
                return found
        return None
    same = type(sent) is type(agreed) and sent == agreed
    return None if same else where


def printable(text: str) -> str:
    """``text`` as a header value: printable ASCII, at most 500 characters."""
    return text.encode("unicode_escape").decode("ascii")[:500]


def _accepts_json(accept: str | None) -> None:
    """Every answer is JSON: an ``Accept`` that admits none is 406 (``core.media``)."""
    if accept is None or admits_json(accept):
        return
    raise NotAcceptable(f"Accept {accept[:100]!r} admits no JSON")


def allowed_methods(segments: tuple[str, ...]) -> tuple[str, ...] | None:
    """The methods the UK API defines for the resource at ``segments`` (the path after
    ``/pisp/``), or None: no UK resource there. The routing and the edge's refusal of a
    method aiohttp cannot parse (``serve.parser_refusals``) both read it, so both send one
    ``Allow``."""
    consent = _CONSENT_KINDS.get(segments[0]) if segments else None
    payment = _PAYMENT_KINDS.get(segments[0]) if segments else None
    if consent is None and payment is None:
        return None
    if len(segments) == 1:
        return ("POST",)
    if len(segments) == 2:
        return ("GET",)
    if len(segments) == 3:
        funds = consent is Kind.DOMESTIC and segments[2] == "funds-confirmation"
        details = payment is not None and segments[2] == "payment-details"
        return ("GET",) if funds or details else None
    return None
