"""One UK bank, socket-free, for the tests of ``tpsim.obie``.

``world(...)`` builds a core ``Bank`` holding GBP accounts at two simulated banks (dfspa,
where the TPP initiates, and dfspb), their users, a ``ManualClock``, ``SequentialIds``, a
``RecordingSettlement``, dfspa's real OAuth server (``auth.oauth.AuthorizationServer``:
tokens come from its client_credentials and authorization_code grants), and dfspa's
``ObieBank`` + ``ObieApi``. ``World.call`` sends one request through ``ObieApi.handle``
and checks every answer against the official OpenAPI of its version (status, headers,
body), so no test can pass on an answer a TPP could not parse.

    dfspa  mits    10000109010101   1000.00 GBP   the PSU (password "mits")
           mits    10000109010104     50.00 GBP   her second account
           rora    10000109010102      0.00 GBP   a creditor at the same bank (password "rora")
    dfspb  bob     20000219020201      0.00 GBP   a creditor at another bank
    nobody         30000330303030                 a creditor outside tpsim
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tpsim.auth.oauth import AuthorizationServer, OAuthClient
from tpsim.auth.oauth_jose import SigningKey
from tpsim.config_psd2 import (
    ObieProfile,
    Psd2Behaviour,
    Psd2ParticipantConfig,
    Psd2Settings,
    TppConfig,
)
from tpsim.core.bank import Account, Bank, User
from tpsim.core.clock import ManualClock, SequentialIds
from tpsim.core.rules import Rule, Rules, sandbox_rules
from tpsim.core.store import Store
from tpsim.obie.api import Answer, ObieApi, ObieRequest
from tpsim.obie.bank import ObieBank
from tpsim.specs import Spec

from ..xs2a.support import RecordingSettlement

MITS = "10000109010101"
MITS_2 = "10000109010104"
RORA = "10000109010102"
BOB = "20000219020201"
NOBODY = "30000330303030"
SITE = "http://127.0.0.1:4040"
ISSUER = f"{SITE}/obie/dfspa"
REDIRECT = "https://tpp.example/cb"
INTERACTION = "93bac548-d2de-4546-b106-880a5018460d"
START = datetime(2030, 1, 7, 9, tzinfo=UTC)
KEY = SigningKey()  # one bank key for the session: RSA keys are slow to make
VERSIONS = ("3.1", "4.0")

TPP = TppConfig(
    client_id="tpp-one", client_secret="secret-one", name="Example TPP", redirect_uris=[REDIRECT]
)
TPP_TWO = TppConfig(
    client_id="tpp-two", client_secret="secret-two", name="Other TPP", redirect_uris=[REDIRECT]
)


def initiation(
    amount: str = "10.50",
    *,
    creditor: str = RORA,
    debtor: str | None = MITS,
    e2e: str = "E2E-1",
    version: str = "4.0",
) -> dict[str, Any]:
    """A ``Data.Initiation`` paying ``amount`` GBP to ``creditor`` (sort code + number)."""
    body: dict[str, Any] = {
        "InstructionIdentification": "INSTR-1",
        "EndToEndIdentification": e2e,
        "InstructedAmount": {"Amount": amount, "Currency": "GBP"},
        "CreditorAccount": {
            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
            "Identification": creditor,
            "Name": "Rora Roberts",
        },
        "RemittanceInformation": {
            "Reference": "Invoice 42",
            "Unstructured": "Invoice 42" if version == "3.1" else ["Invoice 42"],
        },
    }
    if version == "4.0":
        body["RemittanceInformation"].pop("Reference")
    if debtor is not None:
        body["DebtorAccount"] = {
            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
            "Identification": debtor,
        }
    return body


RISK = {"PaymentContextCode": "TransferToThirdParty"}


def consent_body(version: str = "4.0", **fields: Any) -> dict[str, Any]:
    """A ``POST /domestic-payment-consents`` body (``initiation(**fields)``)."""
    return {"Data": {"Initiation": initiation(version=version, **fields)}, "Risk": dict(RISK)}


DUE = START + timedelta(days=2)  # when a scheduled payment executes, unless told


def scheduled_body(version: str = "4.0", at: datetime | str = DUE, **fields: Any) -> dict[str, Any]:
    """A ``POST /domestic-scheduled-payment-consents`` body executing ``at``: the consent
    of ``consent_body``, with ``Permission`` and ``RequestedExecutionDateTime``."""
    body = consent_body(version, **fields)
    body["Data"]["Permission"] = "Create"
    when = at if isinstance(at, str) else at.isoformat()
    body["Data"]["Initiation"]["RequestedExecutionDateTime"] = when
    return body


def payment_body(consent: Answer, version: str = "4.0", **fields: Any) -> dict[str, Any]:
    """The ``POST /domestic-payments`` body for ``consent``: its Initiation and Risk."""
    assert consent.body is not None
    data = consent.body["Data"]
    return {
        "Data": {"ConsentId": data["ConsentId"], "Initiation": data["Initiation"], **fields},
        "Risk": consent.body["Risk"],
    }


def check_against_spec(request: ObieRequest, answer: Answer) -> None:
    """``answer`` as the official OpenAPI of its version documents it (a path the spec
    does not have is a bodiless 404, a method a bodiless 405)."""
    spec = Spec.load(f"obie-{request.version}")
    operation = spec.operation(request.method, "/" + "/".join(request.segments))
    assert answer.headers.get("x-fapi-interaction-id"), answer
    if operation is None:  # a path (404) or a method (405) the spec does not have
        assert answer.status in (404, 405) and answer.body is None, answer
        return
    headers = dict(answer.headers)
    if answer.body is not None:
        headers["Content-Type"] = "application/json"
    problems = operation.check_response(answer.status, answer.body, headers)
    assert not problems, f"{request.method} {request.segments} → {answer.status}: {problems}"


@dataclass
class World:
    """dfspa's UK interface over the shared bank, and the means to drive it."""

    clock: ManualClock
    bank: Bank
    settlement: RecordingSettlement
    obie: ObieBank
    oauth: AuthorizationServer
    api: ObieApi
    keys: dict[str, int] = field(default_factory=dict)

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | bytes | None = None,
        /,
        *,
        version: str = "4.0",
        token: str | None = None,
        **headers: Any,
    ) -> Answer:
        """``method path`` (after ``/pisp/``) with ``token`` as its bearer, a new
        ``x-idempotency-key`` on a POST, and these headers (``x_jws_signature=…`` is
        ``x-jws-signature``; None leaves a header out). Checked against the spec."""
        sent: dict[str, str] = {"x-fapi-interaction-id": INTERACTION}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if method == "POST":
            sent["Content-Type"] = "application/json"
            sent["x-idempotency-key"] = self._new_key()
            sent["x-jws-signature"] = "ignored..by-default"
        for name, value in headers.items():
            header = name.replace("_", "-")
            if value is None:
                sent.pop(header, None)
            else:
                sent[header] = value
        raw = (
            body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        )
        request = ObieRequest(version, method, tuple(path.strip("/").split("/")), sent, raw, SITE)
        answer = self.api.handle(request)
        check_against_spec(request, answer)
        return answer

    def _new_key(self) -> str:
        self.keys["n"] = self.keys.get("n", 0) + 1
        return f"key-{self.keys['n']}"

    # -- tokens, through the real OAuth server ------------------------------------------

    def client_token(self, tpp: TppConfig = TPP, scope: str = "payments") -> str:
        answer = self.oauth.token(
            {"grant_type": "client_credentials", "scope": scope},
            _basic(tpp),
        )
        return str(answer["access_token"])

    def authorise(
        self,
        consent_id: str,
        *,
        tpp: TppConfig = TPP,
        user: str | None = "mits",
        password: str | None = "mits",  # noqa: S107 - the sandbox PSU's
        accounts: tuple[str, ...] = (),
    ) -> str:
        """The PSU approves ``consent_id`` at the bank (``approval.approve`` between the
        server's authorize and grant); the code that comes back, exchanged for the PSU's
        access token."""
        pending = self.oauth.authorize(
            {
                "response_type": "code id_token",
                "client_id": tpp.client_id,
                "redirect_uri": REDIRECT,
                "scope": "openid payments",
                "state": "s-1",
                "nonce": "n-1",
                "openbanking_intent_id": consent_id,
            },
            intent=self.api.intent,  # as the edge asks it: only the client's own consents
        )
        psu = self.api.approval.approve(consent_id, user, password, list(accounts))
        url = self.oauth.grant(pending.id, psu)
        code = dict(parse_qsl(urlsplit(url).fragment))["code"]
        return self.exchange(code, tpp)

    def exchange(self, code: str, tpp: TppConfig = TPP) -> str:
        answer = self.oauth.token(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
            _basic(tpp),
        )
        return str(answer["access_token"])

    # -- the flow -----------------------------------------------------------------------

    def consent(
        self, version: str = "4.0", body: dict[str, Any] | None = None, **fields: Any
    ) -> Answer:
        """A consent created (201) with a client token."""
        answer = self.call(
            "POST",
            "domestic-payment-consents",
            body if body is not None else consent_body(version, **fields),
            version=version,
            token=self.client_token(),
        )
        assert answer.status == 201, answer
        return answer

    def authorised(self, version: str = "4.0", **fields: Any) -> tuple[Answer, str]:
        """A consent the PSU authorised, and its PSU token."""
        consent = self.consent(version, **fields)
        assert consent.consent_id is not None
        return consent, self.authorise(consent.consent_id)

    def pay(
        self,
        consent: Answer,
        token: str,
        version: str = "4.0",
        *,
        kind: str = "domestic",
        **headers: Any,
    ) -> Answer:
        return self.call(
            "POST",
            f"{kind}-payments",
            payment_body(consent, version),
            version=version,
            token=token,
            **headers,
        )

    def scheduled(self, version: str = "4.0", at: datetime | str = DUE, **fields: Any) -> Answer:
        """A scheduled consent executing ``at``, created (201) with a client token."""
        answer = self.call(
            "POST",
            "domestic-scheduled-payment-consents",
            scheduled_body(version, at, **fields),
            version=version,
            token=self.client_token(),
        )
        assert answer.status == 201, answer
        return answer

    def get(self, path: str, version: str = "4.0") -> Answer:
        """``GET path`` with a client token."""
        return self.call("GET", path, version=version, token=self.client_token())

    def available(self, identification: str) -> Decimal:
        return self.bank.ledger.available(self.bank.accounts.require(identification).address)

    def balances(self) -> dict[str, str]:
        return {a: f"{self.available(a):.2f}" for a in (MITS, MITS_2, RORA, BOB)}

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta).total_seconds())
        self.obie.tick()


def _basic(tpp: TppConfig) -> str:
    import base64

    raw = f"{tpp.client_id}:{tpp.client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def world(
    *,
    profile: ObieProfile | None = None,
    behaviour: dict[str, Any] | None = None,
    rules: list[Rule] | None = None,
    settlement: bool = True,
    tpps: tuple[TppConfig, ...] = (TPP, TPP_TWO),
    retention: timedelta | None = None,
    max_ended: int | None = None,
    store: Store | None = None,
) -> World:
    """dfspa's UK bank with this ``profile``, ``behaviour.psd2`` keys and configured
    ``rules`` (before the sandbox personas); ``settlement=False`` gives it no port;
    ``retention`` and ``max_ended`` bound what the bank and its UK records keep; ``store``
    holds its state (None: in memory)."""
    clock = ManualClock(START)
    bank = Bank(store, retention=retention, max_ended=max_ended)
    for address, fsp, owner, number, balance in (
        ("dfspa.mits", "dfspa", "mits", MITS, "1000.00"),
        ("dfspa.mits.savings", "dfspa", "mits", MITS_2, "50.00"),
        ("dfspa.rora", "dfspa", "rora", RORA, "0.00"),
        ("dfspb.bob", "dfspb", "bob", BOB, "0.00"),
    ):
        account = Account(address, fsp, owner, "GBP", sort_code_account_number=number)
        bank.open_account(account, Decimal(balance))
    for user, fsp in (("mits", "dfspa"), ("rora", "dfspa"), ("bob", "dfspb")):
        bank.add_user(User(user, fsp, name=user.title(), password=user))
    own = Psd2ParticipantConfig(obie=profile or ObieProfile())
    settings = Psd2Settings.of(Psd2Behaviour(**(behaviour or {})), own)
    ids = SequentialIds()
    recording = RecordingSettlement()
    obie = ObieBank(
        "dfspa",
        bank,
        settings,
        clock=clock,
        ids=ids,
        settlement=recording if settlement else None,
        rules=Rules([*(rules or []), *sandbox_rules()]),
        retention=retention,
        max_ended=max_ended,
    )
    clients = [
        OAuthClient(t.client_id, t.client_secret, t.name, tuple(t.redirect_uris), t.jwks)
        for t in tpps
    ]
    oauth = AuthorizationServer(ISSUER, clients, bank.store, clock, ids, key=KEY)
    api = ObieApi(obie, oauth, tpps=tpps)
    return World(clock, bank, recording, obie, oauth, api)
