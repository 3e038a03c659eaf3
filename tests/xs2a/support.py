"""One XS2A bank, socket-free, for the tests of ``tpsim.xs2a``.

``world(...)`` builds a core ``Bank`` holding EUR accounts at two simulated banks (dfspa,
where the TPP initiates, and dfspb), their users, a ``ManualClock``, ``SequentialIds``, a
``RecordingSettlement`` (the ``core.settlement`` port, keeping what it is asked), and
dfspa's ``Xs2aBank`` + ``Authorisations`` + ``Xs2aApi``. ``World.call`` sends one request
through ``Xs2aApi.handle`` and checks every answer against the official NextGenPSD2
OpenAPI (status, headers, body), so no test can pass on an answer a TPP could not parse.

    dfspa  erika   DE89370400440532013000   1000.00 EUR   the PSU (password "secret")
           max     DE02120300000000202051      0.00 EUR   a creditor at the same bank
    dfspb  bob     DE44500105175407324931      0.00 EUR   a creditor at another bank
           carol   GB82WEST12345698765432    500.00 EUR   a debtor the TPP cannot use at dfspa
    nobody         FR7630006000011234567890189            a creditor outside tpsim
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tpsim.config_psd2 import (
    Psd2Behaviour,
    Psd2ParticipantConfig,
    Psd2Settings,
    TppConfig,
    Xs2aProfile,
)
from tpsim.core.bank import Account, Bank, User
from tpsim.core.clock import ManualClock, SequentialIds
from tpsim.core.errors import UnknownBank
from tpsim.core.rules import Rule, Rules, sandbox_rules
from tpsim.core.settlement import SettlementRequest
from tpsim.core.store import MemoryStore
from tpsim.specs.openapi3 import Spec
from tpsim.xs2a.api import Answer, ApiRequest, Xs2aApi
from tpsim.xs2a.authorisations import Authorisations
from tpsim.xs2a.bank import Xs2aBank

ERIKA = "DE89370400440532013000"
MAX = "DE02120300000000202051"
BOB = "DE44500105175407324931"
CAROL = "GB82WEST12345698765432"
NOBODY = "FR7630006000011234567890189"
PASSWORD = "secret"
OTP = "123456"
SITE = "http://127.0.0.1:4040"
REQUEST_ID = "99391c7e-ad88-49ec-a2ad-99ddcb1f7721"
OK_URI = "https://tpp.example/cb/ok"
NOK_URI = "https://tpp.example/cb/nok"
START = datetime(2030, 1, 7, 9, tzinfo=UTC)  # a Monday
TODAY = START.date()

TPP = TppConfig(
    client_id="tpp-one",
    name="Example TPP",
    client_secret="tpp-secret",
    redirect_uris=["https://tpp.example/cb"],
)
DEFAULT_HEADERS = {
    "X-Request-ID": REQUEST_ID,
    "PSU-IP-Address": "192.168.8.78",
    "Content-Type": "application/json",
}
# The headers that choose each approach (with the profile's default approaches).
REDIRECT = {"TPP-Redirect-Preferred": "true", "TPP-Redirect-URI": OK_URI}
EMBEDDED = {"TPP-Redirect-Preferred": "false", "PSU-ID": "erika"}
DECOUPLED = {"TPP-Decoupled-Preferred": "true", "PSU-ID": "erika"}


def single(
    amount: str = "100.00", *, creditor: str = MAX, debtor: str = ERIKA, **fields: Any
) -> dict[str, Any]:
    """A ``payments`` body: ``amount`` EUR from ``debtor`` to ``creditor``."""
    return {
        "instructedAmount": {"currency": "EUR", "amount": amount},
        "debtorAccount": {"iban": debtor},
        "creditorName": "Max Mustermann",
        "creditorAccount": {"iban": creditor},
        "remittanceInformationUnstructured": "Invoice 42",
        **fields,
    }


def bulk(*amounts: str, creditor: str = MAX, batch: bool | None = None) -> dict[str, Any]:
    """A ``bulk-payments`` body: one entry per amount, all from erika."""
    entries = [
        {k: v for k, v in single(amount, creditor=creditor).items() if k != "debtorAccount"}
        for amount in amounts
    ]
    body: dict[str, Any] = {"debtorAccount": {"iban": ERIKA}, "payments": entries}
    if batch is not None:
        body["batchBookingPreferred"] = batch
    return body


def periodic(
    amount: str = "10.00", *, start: str, frequency: str = "Weekly", end: str | None = None
) -> dict[str, Any]:
    """A ``periodic-payments`` body from erika to max."""
    body = {**single(amount), "startDate": start, "frequency": frequency}
    if end is not None:
        body["endDate"] = end
    return body


@dataclass
class RecordingSettlement:
    """The settlement port, recording each request instead of paying anyone."""

    requests: list[SettlementRequest] = field(default_factory=list)

    def submit(self, request: SettlementRequest) -> None:
        self.requests.append(request)


class RefusingSettlement:
    """The settlement port refusing every request at once, as the switch's does one it
    cannot start (``serve.settlement.SwitchSettlement.submit``: ``UnknownBank``)."""

    def submit(self, request: SettlementRequest) -> None:
        raise UnknownBank(request.from_bank)


_SPEC: list[Spec] = []


def _spec() -> Spec:
    if not _SPEC:
        _SPEC.append(Spec.load("xs2a"))
    return _SPEC[0]


def check_against_spec(method: str, segments: tuple[str, ...], answer: Answer) -> None:
    """``answer`` as the official OpenAPI documents it (a method or path the spec does
    not have is a coded 404 / 405)."""
    operation = _spec().operation(method, "/v1/" + "/".join(segments))
    if operation is None:
        assert answer.status in (404, 405), answer
        assert answer.body is not None and answer.body["tppMessages"][0]["category"] == "ERROR"
        return
    headers = dict(answer.headers)
    if answer.body is not None:
        headers["Content-Type"] = "application/json"
    problems = operation.check_response(answer.status, answer.body, headers)
    assert not problems, f"{method} /{'/'.join(segments)} → {answer.status}: {problems}"


@dataclass
class World:
    """dfspa's XS2A interface over the shared bank, and the means to drive it."""

    clock: ManualClock
    bank: Bank
    settlement: RecordingSettlement
    xs2a: Xs2aBank
    auths: Authorisations
    api: Xs2aApi

    def call(
        self, method: str, path: str, body: dict[str, Any] | bytes | None = None, /, **headers: Any
    ) -> Answer:
        """``method path`` (after ``/xs2a/dfspa/v1/``) with the default headers and these
        (``TPP_Redirect_URI=…`` is ``TPP-Redirect-URI``; None leaves a header out). The
        answer is checked against the official OpenAPI."""
        sent = dict(DEFAULT_HEADERS)
        for name, value in headers.items():
            header = name.replace("_", "-")
            if value is None:
                sent.pop(header, None)
            else:
                sent[header] = value
        raw = (
            body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        )
        segments = tuple(path.strip("/").split("/"))
        answer = self.api.handle(ApiRequest(method, segments, sent, raw, SITE))
        check_against_spec(method, segments, answer)
        return answer

    def initiate(
        self,
        body: dict[str, Any] | None = None,
        path: str = "payments/sepa-credit-transfers",
        /,
        **headers: Any,
    ) -> Answer:
        """POST a payment (``single()`` by default); it must be taken (201)."""
        answer = self.call("POST", path, body if body is not None else single(), **headers)
        assert answer.status == 201, answer
        return answer

    def status(self, answer: Answer, path: str = "payments/sepa-credit-transfers") -> str:
        """The payment's ``transactionStatus`` as ``GET …/status`` answers it."""
        got = self.call("GET", f"{path}/{answer.payment_id}/status")
        assert got.status == 200 and got.body is not None, got
        return str(got.body["transactionStatus"])

    def sca_status(self, answer: Answer, path: str = "payments/sepa-credit-transfers") -> str:
        got = self.call(
            "GET", f"{path}/{answer.payment_id}/authorisations/{answer.authorisation_id}"
        )
        assert got.status == 200 and got.body is not None, got
        return str(got.body["scaStatus"])

    def available(self, iban: str) -> Decimal:
        """What the account with ``iban`` may spend now."""
        return self.bank.ledger.available(self.bank.accounts.require(iban).address)

    def balances(self) -> dict[str, str]:
        """Every account's available balance, by IBAN (``"1000.00"`` style)."""
        return {iban: f"{self.available(iban):.2f}" for iban in (ERIKA, MAX, BOB, CAROL)}

    def kept(self) -> dict[str, int]:
        """How many records of each kind the bank keeps: payments, their intents,
        authorisations, due times, idempotency entries… (empty kinds left out)."""
        store = self.bank.store
        assert isinstance(store, MemoryStore)
        return store.counts()

    def advance(self, **delta: float) -> None:
        """Move the clock (``days=2``, ``seconds=30``) and do what fell due, as the edge's
        timer would."""
        self.clock.advance(timedelta(**delta).total_seconds())
        self.auths.tick()
        self.xs2a.tick()


def world(
    *,
    profile: dict[str, Any] | None = None,
    behaviour: dict[str, Any] | None = None,
    rules: list[Rule] | None = None,
    tpps: list[TppConfig] | None = None,
    settlement: bool = True,
    retention: timedelta | None = None,
    max_ended: int | None = None,
) -> World:
    """dfspa's XS2A bank with its profile (``Xs2aProfile`` keys), ``behaviour.psd2`` keys,
    configured ``rules`` (before the sandbox personas) and ``tpps`` (default: ``TPP``);
    ``settlement=False`` gives it no settlement port."""
    clock = ManualClock(START)
    bank = Bank(retention=retention, max_ended=max_ended)
    for address, fsp, owner, iban, balance in (
        ("dfspa.erika", "dfspa", "erika", ERIKA, "1000.00"),
        ("dfspa.max", "dfspa", "max", MAX, "0.00"),
        ("dfspb.bob", "dfspb", "bob", BOB, "0.00"),
        ("dfspb.carol", "dfspb", "carol", CAROL, "500.00"),
    ):
        bank.open_account(Account(address, fsp, owner, "EUR", iban=iban), Decimal(balance))
        bank.add_user(User(owner, fsp, name=owner.title()))
    recording = RecordingSettlement()
    settings = Psd2Settings.of(
        Psd2Behaviour(**{"otp": OTP, **(behaviour or {})}),
        Psd2ParticipantConfig(xs2a=Xs2aProfile(**(profile or {}))),
    )
    xs2a = Xs2aBank(
        "dfspa",
        bank,
        settings,
        clock=clock,
        ids=SequentialIds(),
        settlement=recording if settlement else None,
        rules=Rules([*(rules or []), *sandbox_rules()]),
        retention=retention,
        max_ended=max_ended,
    )
    auths = Authorisations(xs2a, password=PASSWORD)
    api = Xs2aApi(xs2a, auths, [TPP] if tpps is None else tpps)
    return World(clock, bank, recording, xs2a, auths, api)
