"""One French bank, socket-free, for the tests of ``tpsim.stet``.

``world(...)`` builds a core ``Bank`` holding the built-in config's EUR accounts (and a
GBP one) at two simulated banks (dfspa, where the PISP initiates, and dfspb), their users,
a ``ManualClock``, ``SequentialIds``, a ``RecordingSettlement``, dfspa's real OAuth server
(``auth.oauth.AuthorizationServer``: client_credentials tokens, and the PSU's
authorization_code tokens of the o-confirmation variant) and dfspa's ``StetBank`` +
``StetApi``. ``World.call`` sends one request through ``StetApi.handle`` and checks every
answer with ``stet.models.sent_problems`` (201 ``created``, 200 ``payment_request``, 4xx
``error``) and its headers, so no test can pass on an answer a PISP could not read.

    dfspa  claire  FR7630006000011234567890189  3000.00 EUR  the PSU (password "claire")
           claire  FR7630001007941234567890185    20.00 EUR  her Livret A, too poor
           luca    DE75512108001245126199        100.00 EUR  a creditor at the same bank
           erika   GB82WEST12345698765432       1000.00 GBP  an account in another currency
    dfspb  louis   FR1420041010050500013M02606     0.00 EUR  a creditor at another bank
    outside tpsim  DE44500105175407324931                    a creditor nobody simulates
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tpsim.auth.oauth import AuthorizationServer, OAuthClient
from tpsim.auth.oauth_jose import SigningKey
from tpsim.config_psd2 import (
    Psd2Behaviour,
    Psd2ParticipantConfig,
    Psd2Settings,
    StetProfile,
    TppConfig,
)
from tpsim.core.bank import Account, Bank, User
from tpsim.core.clock import ManualClock, SequentialIds
from tpsim.core.rules import Rule, Rules, sandbox_rules
from tpsim.core.settlement import SettlementOutcome, SettlementResult
from tpsim.stet.api import REQUEST_ID, Answer, StetApi, StetRequest, intent_from_link
from tpsim.stet.approval import RedirectJourney
from tpsim.stet.bank import StetBank
from tpsim.stet.models import SentKind, sent_problems

from ..xs2a.support import RecordingSettlement

CLAIRE = "FR7630006000011234567890189"
LIVRET = "FR7630001007941234567890185"
LUCA = "DE75512108001245126199"
ERIKA_GBP = "GB82WEST12345698765432"
LOUIS = "FR1420041010050500013M02606"
OUTSIDE = "DE44500105175407324931"
SITE = "http://127.0.0.1:4040"
ISSUER = f"{SITE}/stet/dfspa"
BASE = f"{SITE}/stet/dfspa/v1"
OK_URL = "https://tpp.example/ok"
NOK_URL = "https://tpp.example/nok"
REDIRECT_URI = "https://tpp.example/"
START = datetime(2026, 11, 30, 10, tzinfo=UTC)
TODAY = "2026-11-30T10:00:00Z"  # START: due at once
TOMORROW = "2026-12-01T10:00:00Z"  # a future requestedExecutionDate, a day ahead
REQUEST_ID_SENT = "a8e3b7c1-5d6f-4e2a-9b0c-1d2e3f4a5b6c"
KEY = SigningKey()  # one bank key for the session: RSA keys are slow to make

TPP = TppConfig(
    client_id="tpp-one",
    client_secret="tpp-one-secret",
    name="Example TPP",
    redirect_uris=["http://localhost:8000/", "http://127.0.0.1:8000/", "https://tpp.example/"],
)
TPP_TWO = TppConfig(
    client_id="tpp-two",
    client_secret="tpp-two-secret",
    name="Other TPP",
    redirect_uris=["https://two.example/"],
)

Body = dict[str, Any]


def transaction(
    amount: str | float = "124.35",
    *,
    creditor: str | None = None,
    e2e: str = "MyEndToEndId",
    number: int = 0,
    currency: str = "EUR",
) -> Body:
    """One ``creditTransferTransaction`` (its own beneficiary when ``creditor`` is given)."""
    body: Body = {
        "paymentId": {"instructionId": f"MyInstrId{number}", "endToEndId": e2e},
        "instructedAmount": {"currency": currency, "amount": amount},
        "remittanceInformation": ["Order 42"],
    }
    if creditor is not None:
        body["beneficiary"] = {
            "creditor": {"name": "Someone"},
            "creditorAccount": {"iban": creditor},
        }
    return body


def payment_request(
    amount: str | float = "124.35",
    *,
    debtor: str | None = None,
    creditor: str = LOUIS,
    approaches: tuple[str, ...] = ("REDIRECT",),
    e2e: str = "MyEndToEndId",
    when: str = TODAY,
    transactions: list[Body] | None = None,
    report: tuple[str, str | None] = (OK_URL, NOK_URL),
    **changes: Any,
) -> Body:
    """A 1.4.2 ``PaymentRequestResource`` as the brief's example: ``amount`` EUR to
    ``creditor`` (Louis at dfspb), no debtorAccount unless ``debtor`` (the PSU chooses at
    the bank); ``transactions`` replaces the one instruction; ``changes`` set members."""
    instructions = [transaction(amount, e2e=e2e)] if transactions is None else transactions
    supplementary: Body = {
        "acceptedAuthenticationApproach": list(approaches),
        "successfulReportUrl": report[0],
    }
    if report[1] is not None:
        supplementary["unsuccessfulReportUrl"] = report[1]
    body: Body = {
        "paymentInformationId": "MyPmtInfId",
        "creationDateTime": "2026-11-30T10:00:00Z",
        "numberOfTransactions": len(instructions),
        "initiatingParty": {"name": "Example TPP"},
        "paymentTypeInformation": {"serviceLevel": "SEPA", "categoryPurpose": "DVPM"},
        "beneficiary": {
            "creditor": {"name": "Louis Martin"},
            "creditorAccount": {"iban": creditor},
        },
        "chargeBearer": "SLEV",
        "requestedExecutionDate": when,
        "creditTransferTransaction": instructions,
        "supplementaryData": supplementary,
    }
    if debtor is not None:
        body["debtorAccount"] = {"iban": debtor}
    body.update(changes)
    return body


def kind_of(answer: Answer) -> SentKind:
    """Which STET body ``answer`` must be: the 201's, the payment request's or an error."""
    if answer.status == 201:
        return "created"
    return "payment_request" if answer.status < 300 else "error"


def check_answer(answer: Answer) -> Answer:
    """``answer`` as STET 1.4.2 allows it: a body ``sent_problems`` finds nothing wrong
    with (every refusal an ``ErrorModel`` with its own status), the ``X-Request-ID``, a
    201's ``Location``, a 401's ``WWW-Authenticate`` and a 405's ``Allow``."""
    assert answer.body is not None, answer
    kind = kind_of(answer)
    assert sent_problems(kind, answer.body) == [], (answer.status, answer.body)
    if kind == "error":
        assert answer.body["status"] == answer.status, answer.body
    if kind == "created":
        assert answer.headers.get("Location"), answer.headers
    assert answer.headers.get(REQUEST_ID), answer.headers
    if answer.status == 401:  # RFC 9110 §11.6.1: a 401 carries a challenge
        assert answer.headers.get("WWW-Authenticate"), answer.headers
    if answer.status == 405:  # RFC 9110 §15.5.6: a 405 lists what the resource takes
        assert "Allow" in answer.headers, answer.headers
    return answer


def resource_id(answer: Answer) -> str:
    """The paymentRequestResourceId a 201 names in its Location."""
    location = answer.headers["Location"]
    assert location.startswith(f"{BASE}/payment-requests/"), location
    return location.rsplit("/", 1)[1]


def code(answer: Answer) -> tuple[int, str]:
    """A refusal as (HTTP status, ErrorModel ``error``)."""
    assert answer.body is not None, answer
    return answer.status, str(answer.body.get("error"))


def statuses(answer: Answer) -> tuple[str, str | None, list[str | None]]:
    """(paymentInformationStatus, its statusReasonInformation, each transactionStatus)."""
    assert answer.status == 200 and answer.body is not None, answer
    resource = answer.body["paymentRequest"]
    return (
        resource["paymentInformationStatus"],
        resource.get("statusReasonInformation"),
        [t.get("transactionStatus") for t in resource["creditTransferTransaction"]],
    )


def _basic(tpp: TppConfig) -> str:
    raw = f"{tpp.client_id}:{tpp.client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@dataclass
class World:
    """dfspa's STET interface over the shared bank, and the means to drive it."""

    clock: ManualClock
    bank: Bank
    settlement: RecordingSettlement
    stet: StetBank
    oauth: AuthorizationServer
    api: StetApi
    tokens: dict[str, str] = field(default_factory=dict)

    # -- requests -----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Body | bytes | None = None,
        /,
        *,
        token: str | None = None,
        **headers: str | None,
    ) -> StetRequest:
        """``method path`` (after ``/v1/``) with ``token`` as its bearer, an
        ``X-Request-ID``, JSON when there is a body, and these headers (``content_type``
        is ``Content-Type``; None leaves a header out)."""
        sent: dict[str, str] = {REQUEST_ID: REQUEST_ID_SENT}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if body is not None:
            sent["Content-Type"] = "application/json"
        for name, value in headers.items():
            header = "X-Request-ID" if name == "x_request_id" else name.replace("_", "-").title()
            sent.pop(header, None)
            if value is not None:
                sent[header] = value
        raw = (
            body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        )
        segments = tuple(part for part in path.split("/") if part)
        target = "/stet/dfspa/v1/" + path.strip("/")
        return StetRequest(method, segments, sent, raw, SITE, target)

    def call(
        self,
        method: str,
        path: str,
        body: Body | bytes | None = None,
        /,
        *,
        token: str | None = None,
        **headers: str | None,
    ) -> Answer:
        """``self.request(...)`` through ``StetApi.handle``, its answer checked."""
        asked = self.request(method, path, body, token=token, **headers)
        return check_answer(self.api.handle(asked))

    # -- tokens, through the real OAuth server ------------------------------------------

    def client_token(self, tpp: TppConfig = TPP, scope: str = "pisp") -> str:
        """The PISP's client_credentials token (one per client, scope and clock time:
        a test that moves the clock gets a token that is still valid)."""
        key = f"{tpp.client_id} {scope} {self.clock.now().isoformat()}"
        if key not in self.tokens:
            form = {"grant_type": "client_credentials", "scope": scope}
            answer = self.oauth.token(form, _basic(tpp))
            assert sent_problems("token", answer) == [], answer
            self.tokens[key] = str(answer["access_token"])
        return self.tokens[key]

    def psu_token(
        self,
        request_id: str,
        *,
        tpp: TppConfig = TPP,
        user: str | None = "claire",
        password: str | None = "claire",  # noqa: S107 - the sandbox PSU's
        accounts: tuple[str, ...] = (),
    ) -> str:
        """The o-confirmation variant: the PSU approves ``request_id`` through the bank's
        OAuth server (``api.approval`` between authorize and grant), and the code sent to
        the PISP's redirect_uri is exchanged for the PSU's access token."""
        pending = self.oauth.authorize(
            {
                "response_type": "code",
                "client_id": tpp.client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": "pisp",
                "state": "s-1",
                "paymentRequestResourceId": request_id,
            },
            intent=intent_from_link,
        )
        psu = self.api.approval.approve(request_id, user, password, list(accounts))
        url = self.oauth.grant(pending.id, psu)
        got = dict(parse_qsl(urlsplit(url).query))
        assert got["state"] == "s-1", url
        answer = self.oauth.token(
            {"grant_type": "authorization_code", "code": got["code"], "redirect_uri": REDIRECT_URI},
            _basic(tpp),
        )
        return str(answer["access_token"])

    # -- the flow -----------------------------------------------------------------------

    def create(self, body: Body | None = None, *, tpp: TppConfig = TPP, **fields: Any) -> str:
        """A payment request created (201) with a client token: its resource id."""
        answer = self.call(
            "POST",
            "payment-requests",
            body if body is not None else payment_request(**fields),
            token=self.client_token(tpp),
        )
        assert answer.status == 201, answer
        return resource_id(answer)

    def get(self, request_id: str, *, tpp: TppConfig = TPP) -> Answer:
        return self.call("GET", f"payment-requests/{request_id}", token=self.client_token(tpp))

    def status(self, request_id: str) -> tuple[str, str | None, list[str | None]]:
        """The request's statuses as GET gives them (``statuses``)."""
        return statuses(self.get(request_id))

    def confirm(self, request_id: str, body: Body | None = None, *, tpp: TppConfig = TPP) -> Answer:
        """``POST …/confirmation`` with the client token (``{}`` by default)."""
        return self.call(
            "POST",
            f"payment-requests/{request_id}/confirmation",
            {} if body is None else body,
            token=self.client_token(tpp),
        )

    def put(self, request_id: str, body: Body, *, tpp: TppConfig = TPP) -> Answer:
        return self.call(
            "PUT", f"payment-requests/{request_id}", body, token=self.client_token(tpp)
        )

    def page(self, request_id: str) -> RedirectJourney:
        """The bank's approval page of a REDIRECT request (``consentApproval``)."""
        return RedirectJourney(self.api.page, request_id)

    def approved(self, request_id: str, user: str = "claire", account: str | None = None) -> str:
        """The PSU approves on the bank's page with her password: the report URL."""
        return self.page(request_id).approve(user, user, [account] if account else [])

    def cancellation(
        self, request_id: str, indexes: tuple[int, ...] | None = None, reason: str = "DS02"
    ) -> Body:
        """The PUT that cancels: the resource as GET gives it, with RJCT and ``reason`` on
        the whole request (``indexes`` None) or on those instructions."""
        answer = self.get(request_id)
        assert answer.body is not None
        body: Body = copy.deepcopy(answer.body["paymentRequest"])
        if indexes is None:
            body["paymentInformationStatus"] = "RJCT"
            body["statusReasonInformation"] = reason
        for index in indexes or ():
            body["creditTransferTransaction"][index]["transactionStatus"] = "RJCT"
            body["creditTransferTransaction"][index]["statusReasonInformation"] = reason
        return body

    def settle(self, outcome: SettlementOutcome, reason: str = "") -> None:
        """The settlement port reports on the last request it got (as serve/ wires it)."""
        request = self.settlement.requests[-1]
        result = SettlementResult(request.intent_id, outcome, reason)
        self.bank.payments.conclude(result, at=self.clock.now())
        self.stet.concluded(result)

    def available(self, iban: str) -> Decimal:
        return self.bank.ledger.available(self.bank.accounts.require(iban).address)

    def balances(self) -> dict[str, str]:
        return {
            name: f"{self.available(iban):.2f}"
            for name, iban in (
                ("claire", CLAIRE),
                ("livret", LIVRET),
                ("luca", LUCA),
                ("louis", LOUIS),
            )  # fmt: skip
        }

    def advance(self, **delta: float) -> None:
        """Move the clock and run what fell due (as the edge's timer would)."""
        self.clock.advance(timedelta(**delta).total_seconds())
        self.stet.tick()


def world(
    *,
    profile: StetProfile | dict[str, Any] | None = None,
    behaviour: dict[str, Any] | None = None,
    rules: list[Rule] | None = None,
    settlement: bool = True,
    tpps: tuple[TppConfig, ...] = (TPP, TPP_TWO),
    retention: timedelta | None = None,
) -> World:
    """dfspa's STET bank with this ``profile`` (a ``StetProfile`` or its keys),
    ``behaviour.psd2`` keys and configured ``rules`` (before the sandbox personas);
    ``settlement=False`` gives it no settlement port; ``retention`` is how long the bank
    keeps what ended (``behaviour.retention_s``; None: for ever)."""
    clock = ManualClock(START)
    bank = Bank(retention=retention)
    for address, fsp, owner, iban, currency, balance in (
        ("dfspa.claire.courant", "dfspa", "claire", CLAIRE, "EUR", "3000.00"),
        ("dfspa.claire.livret", "dfspa", "claire", LIVRET, "EUR", "20.00"),
        ("dfspa.luca.giro", "dfspa", "luca", LUCA, "EUR", "100.00"),
        ("dfspa.erika.pounds", "dfspa", "erika", ERIKA_GBP, "GBP", "1000.00"),
        ("dfspb.louis.courant", "dfspb", "louis", LOUIS, "EUR", "0.00"),
    ):
        nickname = address.split(".", 1)[1]
        account = Account(address, fsp, owner, currency, nickname=nickname, iban=iban)
        bank.open_account(account, Decimal(balance))
    for user, fsp, name in (
        ("claire", "dfspa", "Claire Dupont"),
        ("luca", "dfspa", "Luca Rossi"),
        ("erika", "dfspa", "Erika Mustermann"),
        ("louis", "dfspb", "Louis Martin"),
    ):
        bank.add_user(User(user, fsp, name=name, password=user))
    stet_profile = profile if isinstance(profile, StetProfile) else StetProfile(**(profile or {}))
    own = Psd2ParticipantConfig(stet=stet_profile)
    settings = Psd2Settings.of(Psd2Behaviour(**(behaviour or {})), own)
    ids = SequentialIds()
    recording = RecordingSettlement()
    stet = StetBank(
        "dfspa",
        bank,
        settings,
        clock=clock,
        ids=ids,
        settlement=recording if settlement else None,
        rules=Rules([*(rules or []), *sandbox_rules()]),
        retention=retention,
    )
    clients = [
        OAuthClient(t.client_id, t.client_secret, t.name, tuple(t.redirect_uris), t.jwks)
        for t in tpps
    ]
    oauth = AuthorizationServer(ISSUER, clients, bank.store, clock, ids, key=KEY)
    api = StetApi(stet, oauth, tpps=tpps)
    return World(clock, bank, recording, stet, oauth, api)
