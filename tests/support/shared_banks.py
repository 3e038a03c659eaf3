"""Every dialect at once over one served tpsim, for the stateful test of the shared banks.

``Banks`` serves the built-in default scheme (``tests.support.scheme.Scheme``) and plays
the clients a PISP writes from the specs — Berlin Group XS2A (``Tpp`` of
``tests/serve/test_xs2a.py``), UK Open Banking (``UkTpp`` of ``tests/serve/test_obie.py``),
STET (``stet_openapi.Pisp``) and the Mojaloop Third Party API (``TestPisp`` with the
``flows`` helpers) — over real HTTP on loopback, with headless SCA (``sim_decision`` and
the admin decision). Every answer is checked as it arrives (``Banks.problems``): never a
5xx, each 4xx in its dialect's coded error body (XS2A ``tppMessages``, UK
``OBErrorResponse1`` or a bodiless status the spec documents, STET ``ErrorModel``, FSPIOP
``errorInformation``). ``close`` checks every body tpsim sent against the official
OpenAPI (XS2A, UK, Mojaloop) or tpsim's STET models.

``Phase`` is where a payment is in the model's words, and ``xs2a_phases``,
``UK_CONSENT_PHASES``, ``uk_payment_phases`` and ``stet_phase`` read each dialect's
statuses as phases; ``xs2a_body``, ``xs2a_headers`` and ``uk_consent_body`` write what a
client sends (STET's: ``tests.stet.support.payment_request``); ``both`` sends two requests
at the same moment.

``tests.support.ledger_invariants`` reads the one core ledger behind all of them.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from tests.serve.test_obie import UkTpp
from tests.serve.test_xs2a import Tpp
from tests.support.flows import AUTHZ, TX, Credential, signed_payload
from tests.support.pisp import Received, future_expiration
from tests.support.scheme import Scheme, transaction_request
from tests.support.stet_openapi import Answered, Pisp, headless
from tpsim.core.bank import Account, Bank

T = TypeVar("T")
U = TypeVar("U")
Body = dict[str, Any]
XS2A_OK, XS2A_NOK = "http://localhost:8000/cb/ok", "http://localhost:8000/cb/nok"
UK_REDIRECT = "https://tpp.example/cb"
OUTSIDE_IBAN = "DE44500105175407324931"  # a valid IBAN no simulated bank holds
OUTSIDE_SORT_CODE = "40000112345678"  # a sort code + account number nobody simulates
# The banks' access tokens live an hour (auth.oauth); a client's is renewed a little before.
CLIENT_TOKEN_LIFE = timedelta(seconds=3000)
# A 4xx the UK specs document without a body (obie.errors: 401, 404, 405, 406, 415).
UK_BODILESS = frozenset({401, 404, 405, 406, 415})
UK_CODE = {"3.1": re.compile(r"UK\.OBIE\.[A-Za-z.]+"), "4.0": re.compile(r"U\d{3}")}
UK_UNKNOWN = frozenset({"U011", "UK.OBIE.Resource.NotFound"})


@dataclass(frozen=True)
class Exchange:
    """One HTTP answer a client got: which dialect's, to what, and what it said."""

    dialect: str
    method: str
    url: str
    status: int
    body: Any


def refusal_problem(exchange: Exchange, version: str = "4.0") -> str | None:
    """What is wrong with ``exchange`` as its dialect allows it, or None: a 5xx always
    is; a 4xx must carry the dialect's coded error body (STET's is checked by
    ``Pisp.call``; a PSU page and the admin API answer as they please below 500)."""
    status, body = exchange.status, exchange.body
    if status >= 500:
        return f"{status}: a server error"
    if not 400 <= status < 500:
        return None
    checks: dict[str, Callable[[int, Any], str | None]] = {
        "xs2a": _xs2a_refusal,
        "obie": lambda s, b: _uk_refusal(s, b, version),
        "fspiop": _fspiop_refusal,
    }
    check = checks.get(exchange.dialect)
    return None if check is None else check(status, body)


def _xs2a_refusal(status: int, body: Any) -> str | None:
    messages = body.get("tppMessages") if isinstance(body, dict) else None
    if not messages or not all(
        m.get("category") == "ERROR" and m.get("code") and m.get("text") for m in messages
    ):
        return f"{status} without tppMessages [{{category: ERROR, code, text}}]: {body!r}"
    return None


def _uk_refusal(status: int, body: Any, version: str) -> str | None:
    if status in UK_BODILESS and not body:
        return None
    errors = body.get("Errors") if isinstance(body, dict) else None
    if not errors or not all(UK_CODE[version].fullmatch(e.get("ErrorCode", "")) for e in errors):
        return f"{status} without OBErrorResponse1 Errors of v{version} codes: {body!r}"
    return None


def _fspiop_refusal(status: int, body: Any) -> str | None:
    info = body.get("errorInformation") if isinstance(body, dict) else None
    if not info or not re.fullmatch(r"\d{4}", str(info.get("errorCode", ""))):
        return f"{status} without errorInformation.errorCode: {body!r}"
    return None


class UkClient(UkTpp):
    """``UkTpp`` that names its own ``x-idempotency-key``, so a request can be repeated."""

    async def keyed(self, path: str, token: str, body: Body, key: str) -> tuple[int, Any]:
        headers = {
            "Authorization": f"Bearer {token}",
            "x-fapi-interaction-id": str(uuid.uuid4()),
            "x-idempotency-key": key,
        }
        url = f"{self.base}/open-banking/v{self.version}/pisp/{path}"
        async with self.http.post(url, json=body, headers=headers) as answer:
            data = await answer.json() if answer.content_length else None
            self.answers.append(("POST", "/" + path, answer.status, data, dict(answer.headers)))
            return answer.status, data


@dataclass
class Banks:
    """The served scheme and a client of every dialect (see the module docstring)."""

    scheme: Scheme
    http: aiohttp.ClientSession
    problems: list[str] = field(default_factory=list)
    _uk: dict[tuple[str, str], UkClient] = field(default_factory=dict)
    _uk_tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    _stet: dict[str, Pisp] = field(default_factory=dict)
    _stet_tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    @classmethod
    async def start(cls, **overrides: Any) -> Banks:
        """The built-in default scheme (with config ``overrides``, for a test that needs
        them), served."""
        scheme = await Scheme(overrides=overrides).start()
        return cls(scheme, aiohttp.ClientSession())

    async def close(self) -> None:
        """Check every body tpsim sent (the module docstring), then stop everything."""
        try:
            await self.scheme.settle()
            self.scheme.validate_sent_bodies()
            for client in self._uk.values():
                client.check_answers()
        finally:
            await self.http.close()
            if self.scheme.sim is not None:
                await self.scheme.sim.close()
            await self.scheme.close()

    @property
    def bank(self) -> Bank:
        assert self.scheme.sim is not None
        return self.scheme.sim.state.bank

    @property
    def now(self) -> datetime:
        return self.scheme.clock.now()

    def _record(self, exchange: Exchange, version: str = "4.0") -> Exchange:
        problem = refusal_problem(exchange, version)
        if problem is not None:
            self.problems.append(f"{exchange.method} {exchange.url}: {problem}")
        return exchange

    # -- the PSU and the bank -------------------------------------------------------------

    async def page(self, url: str, **query: str) -> Exchange:
        """The PSU's browser at an SCA link, headless (``sim_decision``…): the redirect's
        Location (or the page's text) as the body."""
        status, said = await headless(self.http, url, **query)
        return self._record(Exchange("page", "GET", url, status, said))

    async def admin_decision(self, authorisation_id: str, **decision: str) -> Exchange:
        url = f"{self.scheme.url}/admin/psd2/authorisations/{authorisation_id}/decision"
        async with self.http.post(url, json=decision) as answer:
            body = await answer.json(content_type=None)
            return self._record(Exchange("admin", "POST", url, answer.status, body))

    async def force(self, intent_id: str, status: str) -> Exchange:
        """The bank's own decision on a payment (``POST /admin/psd2/intents/{id}/status``)."""
        url = f"{self.scheme.url}/admin/psd2/intents/{intent_id}/status"
        async with self.http.post(url, json={"status": status}) as answer:
            body = await answer.json(content_type=None)
            return self._record(Exchange("admin", "POST", url, answer.status, body))

    async def advance(self, seconds: float) -> Exchange:
        url = f"{self.scheme.url}/admin/clock/advance"
        async with self.http.post(url, json={"seconds": seconds}) as answer:
            body = await answer.json(content_type=None)
            return self._record(Exchange("admin", "POST", url, answer.status, body))

    async def admin_accounts(self) -> dict[str, Decimal]:
        """Every account's balance as ``GET /admin/accounts`` shows it (available funds)."""
        async with self.http.get(f"{self.scheme.url}/admin/accounts") as answer:
            assert answer.status == 200
            accounts = (await answer.json())["accounts"]
        return {a["address"]: Decimal(a["balance"]) for a in accounts}

    # -- XS2A -----------------------------------------------------------------------------

    async def xs2a(
        self, method: str, path_or_url: str, body: Any = None, **headers: str
    ) -> Exchange:
        """One XS2A call (``Tpp.call``: a fresh ``X-Request-ID`` unless given)."""
        status, answer, _ = await Tpp(self.scheme, self.http).call(
            method, path_or_url, body, **headers
        )
        return self._record(Exchange("xs2a", method, path_or_url, status, answer))

    async def xs2a_embedded(self, step: str, psu: str, password: str, otp: str) -> Exchange:
        """The embedded SCA of an authorisation: password, the first method, the TAN; each
        step but the last must be accepted. The TAN's answer."""
        said = await self.xs2a("PUT", step, {"psuData": {"password": password}}, PSU_ID=psu)
        assert (said.status, said.body["scaStatus"]) == (200, "psuAuthenticated"), said
        said = await self.xs2a("PUT", step, {"authenticationMethodId": "sms"})
        assert (said.status, said.body["scaStatus"]) == (200, "scaMethodSelected"), said
        return await self.xs2a("PUT", step, {"scaAuthenticationData": otp})

    async def xs2a_status(self, url: str) -> str | None:
        """The payment's ``transactionStatus`` (None: the bank knows it no more, 404)."""
        said = await self.xs2a("GET", url)
        if said.status == 404:
            return None
        assert said.status == 200, said
        return str(said.body["transactionStatus"])

    # -- UK Open Banking ------------------------------------------------------------------

    def uk(self, bank: str, version: str) -> UkClient:
        key = (bank, version)
        if key not in self._uk:
            client = UkClient(self.scheme, self.http, version)
            client.base = f"{self.scheme.url}/obie/{bank}"
            self._uk[key] = client
        return self._uk[key]

    def _fresh(self, tokens: dict[str, tuple[str, datetime]], bank: str) -> str | None:
        """A client token got for ``bank`` that still lives on the scheme's clock."""
        token, since = tokens.get(bank, ("", self.now - CLIENT_TOKEN_LIFE))
        return token if self.now - since < CLIENT_TOKEN_LIFE else None

    async def uk_client_token(self, bank: str) -> str:
        token = self._fresh(self._uk_tokens, bank)
        if token is None:
            got = await self.uk(bank, "4.0").token(
                grant_type="client_credentials", scope="payments"
            )
            token = str(got["access_token"])
            self._uk_tokens[bank] = (token, self.now)
        return token

    async def uk_post(
        self, bank: str, version: str, path: str, body: Body, key: str, token: str | None = None
    ) -> Exchange:
        """``POST`` under ``x-idempotency-key`` ``key`` (the client's token unless
        ``token``, the PSU's)."""
        token = token or await self.uk_client_token(bank)
        status, answer = await self.uk(bank, version).keyed(path, token, body, key)
        return self._record(Exchange("obie", "POST", path, status, answer), version)

    async def uk_get(self, bank: str, version: str, path: str) -> Exchange:
        token = await self.uk_client_token(bank)
        status, answer = await self.uk(bank, version).call("GET", path, token)
        return self._record(Exchange("obie", "GET", path, status, answer), version)

    async def uk_authorise(
        self, bank: str, consent_id: str, decision: str, psu: str
    ) -> tuple[Exchange, str | None]:
        """The PSU at the bank's ``/authorize``, headless: the redirect, and the PSU's
        token when it carried a code."""
        query = {
            "response_type": "code",
            "client_id": "tpp-one",
            "redirect_uri": UK_REDIRECT,
            "scope": "openid payments",
            "state": "s",
            "openbanking_intent_id": consent_id,
            "sim_decision": decision,
            "sim_psu": psu,
        }
        url = f"{self.scheme.url}/obie/{bank}/authorize"
        async with self.http.get(url, params=query, allow_redirects=False) as answer:
            said = answer.headers.get("Location") or await answer.text()
            exchange = self._record(Exchange("page", "GET", url, answer.status, said))
        code = dict(parse_qsl(urlsplit(said).query)).get("code")
        if exchange.status not in (302, 303) or code is None:
            return exchange, None
        token = await self.uk(bank, "4.0").token(
            grant_type="authorization_code", code=code, redirect_uri=UK_REDIRECT
        )
        return exchange, str(token["access_token"])

    async def uk_status(
        self, bank: str, version: str, consent_id: str, payment_id: str | None
    ) -> tuple[str, str | None] | None:
        """(the consent's ``Status``, its payment's when there is one); None when the
        bank knows the consent no more (400 U011)."""
        said = await self.uk_get(bank, version, f"domestic-payment-consents/{consent_id}")
        if said.status == 400 and said.body["Errors"][0]["ErrorCode"] in UK_UNKNOWN:
            return None
        assert said.status == 200, said
        if payment_id is None:
            return str(said.body["Data"]["Status"]), None
        paid = await self.uk_get(bank, version, f"domestic-payments/{payment_id}")
        assert paid.status == 200, paid
        return str(said.body["Data"]["Status"]), str(paid.body["Data"]["Status"])

    # -- STET -----------------------------------------------------------------------------

    async def stet_token(self, bank: str) -> str:
        token = self._fresh(self._stet_tokens, bank)
        if token is None:
            self._stet.setdefault(bank, Pisp(self.scheme, self.http, bank=bank))
            token = await self._stet[bank].token()
            self._stet_tokens[bank] = (token, self.now)
        return token

    async def stet(
        self, bank: str, method: str, path_or_url: str, body: Body | None = None, **headers: str
    ) -> Answered:
        """One STET call, checked by ``Pisp.call`` (``ErrorModel``, the echoed
        ``X-Request-ID``)."""
        token = await self.stet_token(bank)
        got = await self._stet[bank].call(
            method, path_or_url, body, token=token, headers=headers or None
        )
        self._record(Exchange("stet", method, path_or_url, got.status, got.body))
        return got

    async def stet_cancel(self, bank: str, location: str) -> Answered:
        """``PUT`` the request as read, with ``paymentInformationStatus`` RJCT / DS02."""
        got = await self.stet(bank, "GET", location)
        assert got.status == 200, got
        cancel = got.body["paymentRequest"] | {
            "paymentInformationStatus": "RJCT",
            "statusReasonInformation": "DS02",
        }
        return await self.stet(bank, "PUT", location, cancel)

    async def stet_status(self, bank: str, location: str) -> tuple[str, str | None, Any] | None:
        """(``paymentInformationStatus``, ``statusReasonInformation``, ``debtorAccount``);
        None when the bank knows the request no more (404)."""
        got = await self.stet(bank, "GET", location)
        if got.status == 404:
            return None
        assert got.status == 200, got
        resource = got.body["paymentRequest"]
        return (
            resource["paymentInformationStatus"],
            resource.get("statusReasonInformation"),
            resource.get("debtorAccount"),
        )

    # -- Mojaloop -------------------------------------------------------------------------

    async def transfer(self, request_id: str, payer: str, amount: str) -> Exchange:
        """``POST /thirdpartyRequests/transactions`` from ``payer`` to Bob (the PISP's
        expiration read on the scheme's clock, so it moves with it)."""
        body = transaction_request(
            request_id,
            payer=payer,
            amount=amount,
            expiration=future_expiration(300, now=self.now),
        )
        sent = await self.scheme.pisp.send("POST", TX, body, destination="dfspa")
        await self.scheme.settle()
        return self._record(Exchange("fspiop", "POST", TX, sent.status, sent.body))

    async def answer_authorization(
        self, authorization: Received, credential: Credential, *, accept: bool
    ) -> Exchange:
        """``PUT /thirdpartyRequests/authorizations/{ID}``: signed ACCEPTED, or REJECTED."""
        auth = authorization.body or {}
        body: Body = {"responseType": "REJECTED"}
        if accept:
            payload = signed_payload(self.scheme, auth["challenge"], credential)
            body = {"responseType": "ACCEPTED", "signedPayload": payload}
        path = f"{AUTHZ}/{auth['authorizationRequestId']}"
        sent = await self.scheme.pisp.send("PUT", path, body, destination="dfspa")
        await self.scheme.settle()
        return self._record(Exchange("fspiop", "PUT", path, sent.status, sent.body))

    def callbacks(self, request_id: str) -> list[Received]:
        """What tpsim sent the PISP about transfer ``request_id`` so far."""
        mine = (f"{TX}/{request_id}", f"{TX}/{request_id}/error")
        return [
            r
            for r in self.scheme.pisp.received
            if r.path in mine or (r.body or {}).get("transactionRequestId") == request_id
        ]

    def outcomes(self, request_id: str) -> list[Received]:
        """The final callbacks of transfer ``request_id``: ``PATCH`` or ``PUT …/error``."""
        final = {("PATCH", f"{TX}/{request_id}"), ("PUT", f"{TX}/{request_id}/error")}
        return [r for r in self.callbacks(request_id) if (r.method, r.path) in final]


# -- what a client sends, and how it reads the answers --------------------------------------


class Phase(StrEnum):
    """Where a payment is, in the model's words (every dialect's statuses map onto them)."""

    OPEN = "open"  # awaiting the PSU (or the PISP's signature)
    WAITING = "waiting"  # authorised, not executed: a future date, a UK consent not used
    SETTLED = "settled"
    PARTIAL = "partial"  # a bulk payment: some entries settled, the others rejected
    REJECTED = "rejected"
    CANCELLED = "cancelled"


FINAL = frozenset({Phase.SETTLED, Phase.PARTIAL, Phase.REJECTED, Phase.CANCELLED})
UK_CONSENT_PHASES = {
    "AwaitingAuthorisation": Phase.OPEN,
    "AWAU": Phase.OPEN,
    "Authorised": Phase.WAITING,
    "AUTH": Phase.WAITING,
    "Rejected": Phase.REJECTED,
    "RJCT": Phase.REJECTED,
    "Consumed": Phase.SETTLED,  # paid: the payment's own status says how
    "COND": Phase.SETTLED,
}
# A UK payment's Status per version: (credited at a simulated bank, debited only, rejected).
UK_PAYMENT_WORDS = {
    "3.1": ("AcceptedCreditSettlementCompleted", "AcceptedSettlementCompleted", "Rejected"),
    "4.0": ("ACCC", "ACSC", "RJCT"),
}


def xs2a_phases(*, outside: bool) -> dict[str, Phase]:
    """``transactionStatus`` → phase: ACCC once every creditor paid is credited (at a
    simulated bank), ACSC when money only left for one outside; PART for a bulk payment
    some of whose entries were rejected."""
    return {
        "RCVD": Phase.OPEN,
        "ACTC": Phase.WAITING,
        "ACSC" if outside else "ACCC": Phase.SETTLED,
        "PART": Phase.PARTIAL,
        "RJCT": Phase.REJECTED,
        "CANC": Phase.CANCELLED,
    }


def uk_payment_phases(version: str, *, outside: bool) -> dict[str, Phase]:
    credited, debited, rejected = UK_PAYMENT_WORDS[version]
    return {debited if outside else credited: Phase.SETTLED, rejected: Phase.REJECTED}


def stet_phase(status: str, reason: str | None) -> Phase | None:
    """``paymentInformationStatus`` (+ reason) → phase: RJCT with DS02 is a cancellation
    (STET 1.4 has no CANC); None for a status the model never expects."""
    if status == "RJCT":
        return Phase.CANCELLED if reason == "DS02" else Phase.REJECTED
    return {"ACTC": Phase.OPEN, "ACCP": Phase.WAITING, "ACSC": Phase.SETTLED}.get(status)


def xs2a_body(
    debtor: str, entries: list[tuple[str, str]], *, due: date | None, batch: bool | None
) -> Body:
    """A ``payments`` body (one entry, ``batch`` None) or a ``bulk-payments`` one, from
    the IBAN ``debtor`` to each (creditor IBAN, amount) in EUR."""
    transfers = [
        {
            "instructedAmount": {"currency": "EUR", "amount": amount},
            "creditorName": "Someone",
            "creditorAccount": {"iban": creditor},
        }
        for creditor, amount in entries
    ]
    body: Body = {"debtorAccount": {"iban": debtor}}
    if batch is None:
        body |= transfers[0]
    else:
        body |= {"batchBookingPreferred": batch, "payments": transfers}
    if due is not None:
        body["requestedExecutionDate"] = due.isoformat()
    return body


def xs2a_headers(approach: str, psu: str) -> dict[str, str]:
    """The headers that choose ``approach`` (the default profile offers all three)."""
    return {
        "REDIRECT": {"TPP_Redirect_URI": XS2A_OK, "TPP_Nok_Redirect_URI": XS2A_NOK},
        "EMBEDDED": {"TPP_Redirect_Preferred": "false", "PSU_ID": psu},
        "DECOUPLED": {"TPP_Decoupled_Preferred": "true", "PSU_ID": psu},
    }[approach]


def uk_consent_body(debtor: Account, creditor: Account | None, amount: str) -> Body:
    """A domestic payment consent: GBP from ``debtor`` (sort code) to ``creditor`` (its
    sort code, else its IBAN; None: an account nobody simulates)."""
    sort_code = "UK.OBIE.SortCodeAccountNumber"
    named: Body = {"SchemeName": sort_code, "Identification": OUTSIDE_SORT_CODE}
    if creditor is not None and creditor.sort_code_account_number is not None:
        named = {"SchemeName": sort_code, "Identification": creditor.sort_code_account_number}
    elif creditor is not None:
        named = {"SchemeName": "UK.OBIE.IBAN", "Identification": creditor.iban}
    initiation = {
        "InstructionIdentification": "I-1",
        "EndToEndIdentification": "E2E-1",
        "InstructedAmount": {"Amount": amount, "Currency": "GBP"},
        "DebtorAccount": {
            "SchemeName": sort_code,
            "Identification": debtor.sort_code_account_number,
        },
        "CreditorAccount": named | {"Name": "Someone"},
    }
    return {"Data": {"Initiation": initiation}, "Risk": {}}


async def both(first: Awaitable[T], second: Awaitable[U]) -> tuple[T, U]:
    """Two requests sent at the same moment, and their answers."""
    return await asyncio.gather(first, second)
