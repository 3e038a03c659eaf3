"""``tpsim load --flow xs2a|obie|stet``: a TPP's complete payments against a running tpsim,
the PSU's SCA headless (``sim_decision=approve``, DESIGN.md "Headless SCA").

Each payment is played by the scenario library's own TPP (the ``xs2a``, ``obie`` and
``stet`` actions: the same requests, headers and bodies as a scenario's steps), in a
``Session`` of its own that is dropped when the payment ends, so nothing is kept beyond
the flows in progress:

- XS2A: ``POST /payments/sepa-credit-transfers`` (redirect approach) → the
  ``scaRedirect`` link with ``sim_decision=approve`` (a confirmation code sent back when
  the bank asks for one) → ``GET …/status`` until ACCC (or RJCT, CANC);
- UK Open Banking (v4.0): ``POST /token`` → ``POST /domestic-payment-consents`` →
  ``/authorize`` headless and the code exchanged for the PSU's token → ``POST
  /domestic-payments`` → ``GET /domestic-payments/{ID}`` until ACCC (or RJCT);
- STET: ``POST /token`` → ``POST /payment-requests`` (REDIRECT, the debtor named) → the
  ``consentApproval`` link with ``sim_decision=approve`` → ``GET
  /payment-requests/{ID}`` until ACSC (or RJCT).

A refusal is counted by the dialect's own code (``XS2A`` + the ``tppMessages`` code,
``UK`` + the ``ErrorCode``, ``STET`` + ``error``, ``OAuth`` + a token endpoint's or
redirect's ``error``); a payment that ends otherwise as ``ended <status>``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tpsim.scenario.builtin_pisp import BuiltinPisp
from tpsim.scenario.harness import Answer, RemoteTpsim
from tpsim.scenario.load import Completed, Run
from tpsim.scenario.obie import actions as obie
from tpsim.scenario.obie import params as uk
from tpsim.scenario.obie import psu as obie_psu
from tpsim.scenario.obie.client import data_of
from tpsim.scenario.obie.client import memory as obie_memory
from tpsim.scenario.pisp_client import FlowFailed
from tpsim.scenario.registry import Sent
from tpsim.scenario.session import Session, StepFailed
from tpsim.scenario.stet import actions as stet
from tpsim.scenario.stet import params as st
from tpsim.scenario.stet import psu as stet_psu
from tpsim.scenario.stet.client import latest_request, resource_of
from tpsim.scenario.variables import Variables
from tpsim.scenario.xs2a import actions as xs2a
from tpsim.scenario.xs2a import params as bg
from tpsim.scenario.xs2a import sca

Dialect = Literal["xs2a", "obie", "stet"]
DIALECTS: tuple[Dialect, ...] = ("xs2a", "obie", "stet")
CodeOf = Callable[[Answer | None], str]


@dataclass(frozen=True, slots=True)
class Psu:
    """One PSU's side of the TPP: who pays, at which bank, from which account (by the
    alias the dialect names it with)."""

    user: str
    bank: str
    iban: str | None = None  # XS2A, STET
    sort_code_account_number: str | None = None  # UK
    execution_date: str | None = None  # STET's requestedExecutionDate (today, tpsim's clock)


@dataclass(frozen=True, slots=True)
class Tpp:
    """The TPP's side: the tpsim it pays through, its HTTP client, how long a payment may
    take to reach a final status."""

    target: RemoteTpsim
    client: BuiltinPisp  # its HTTP session (the scenario clients send through it)
    timeout: float

    def session(self) -> Session:
        """A new scenario session: one payment's memory, dropped with it."""
        return Session(self.target, self.client, Variables(), None)


def psd2_run(dialect: Dialect, tpp: Tpp, psu: Psu) -> Run:
    """The PSU's payments of ``amount`` in ``dialect``, one per call."""
    play = _PLAYS[dialect]

    async def run(amount: str) -> Completed:
        steps = _Steps(tpp.session(), tpp.timeout)
        started = time.perf_counter()
        await play(steps, psu, amount)
        return Completed(time.perf_counter() - started, steps.hops)

    return run


@dataclass
class _Steps:
    """Plays a payment's steps, timing each (its hop) and ending the flow at the first
    refusal with the dialect's code."""

    session: Session
    timeout: float
    hops: dict[str, float] = field(default_factory=dict)

    async def step(self, hop: str, action: Awaitable[Sent], code_of: CodeOf) -> Sent:
        started = time.perf_counter()
        try:
            sent = await action
        except StepFailed as exc:  # a final status not reached in time (polling), …
            code = "timeout" if hop == "status" else "other"
            raise FlowFailed(f"{hop}: {exc.failure.message}", code=code) from None
        self.hops[hop] = time.perf_counter() - started
        answer = sent.answer
        if answer is None or answer.status != sent.required_status:
            said = f"{answer.status}: {answer.body}" if answer is not None else "nothing"
            raise FlowFailed(f"{hop}: the bank answered {said}", code=code_of(answer))
        return sent


def _ended(status: Any, done: str) -> None:
    if status != done:
        raise FlowFailed(f"the payment ended {status}, not {done}", code=f"ended {status}")


# --- XS2A ------------------------------------------------------------------------------------

_XS2A_FINAL = ["ACCC", "RJCT", "CANC"]


async def _xs2a(steps: _Steps, psu: Psu, amount: str) -> None:
    session, within = steps.session, steps.timeout
    initiate = bg.Initiate(bank=psu.bank, debtor=psu.iban, amount=amount, approach="redirect")
    await steps.step("initiate", xs2a.initiate(session, initiate, within), xs2a_code)
    payment = str(session.variables.values["payment_id"])
    authorise = bg.Authorise(payment=payment, psu=psu.user)
    await steps.step("sca", sca.authorise(session, authorise, within), xs2a_code)
    status = bg.Status(payment=payment, until=_XS2A_FINAL)
    read = await steps.step("status", xs2a.status(session, status, within), xs2a_code)
    _ended(_answer(read).body.get("transactionStatus"), "ACCC")


def xs2a_code(answer: Answer | None) -> str:
    """``XS2A <code>`` of the first ``tppMessages`` entry, else the HTTP status."""
    body = answer.body if answer is not None and isinstance(answer.body, dict) else {}
    messages = body.get("tppMessages") or [{}]
    code = messages[0].get("code") if isinstance(messages[0], dict) else None
    return f"XS2A {code}" if code else _http(answer)


# --- UK Open Banking --------------------------------------------------------------------------

_UK_FINAL = ["ACCC", "RJCT"]


async def _obie(steps: _Steps, psu: Psu, amount: str) -> None:
    session, within = steps.session, steps.timeout
    await steps.step("token", obie.token(session, uk.Token(bank=psu.bank), within), oauth_code)
    create = uk.CreateConsent(bank=psu.bank, amount=amount, debtor=psu.sort_code_account_number)
    made = await steps.step("initiate", obie.create_consent(session, create, within), uk_code)
    consent = str(data_of(_answer(made)).get("ConsentId"))
    authorise = uk.AuthoriseConsent(
        consent=consent, psu=psu.user, state=str(uuid.uuid4()), nonce=str(uuid.uuid4())
    )
    authorised = await steps.step("sca", obie_psu.authorise(session, authorise, within), uk_code)
    if consent not in obie_memory(session).psu_tokens:  # the PSU came back without a code
        said = (authorised.redirect or {}).get("error") or "no code"
        raise FlowFailed(f"the PSU came back from /authorize with {said}", code=f"OAuth {said}")
    paid = await steps.step("pay", obie.pay(session, uk.Pay(consent=consent), within), uk_code)
    payment = str(data_of(_answer(paid)).get("DomesticPaymentId"))
    read = uk.GetDomesticPayment(payment=payment, until=_UK_FINAL)
    status = await steps.step("status", obie.get_payment(session, read, within), uk_code)
    _ended(data_of(_answer(status)).get("Status"), "ACCC")


def uk_code(answer: Answer | None) -> str:
    """``UK <ErrorCode>`` of the first of ``Errors``, else an OAuth error, else the
    HTTP status."""
    body = answer.body if answer is not None and isinstance(answer.body, dict) else {}
    errors = body.get("Errors") or [{}]
    code = errors[0].get("ErrorCode") if isinstance(errors[0], dict) else None
    return f"UK {code}" if code else oauth_code(answer)


# --- STET -----------------------------------------------------------------------------------


async def _stet(steps: _Steps, psu: Psu, amount: str) -> None:
    session, within = steps.session, steps.timeout
    await steps.step("token", stet.token(session, st.StetToken(bank=psu.bank), within), oauth_code)
    create = st.CreatePaymentRequest(
        bank=psu.bank, amount=amount, debtor=psu.iban, requested_execution_date=psu.execution_date
    )
    await steps.step("initiate", stet.create_payment_request(session, create, within), stet_code)
    request = str(latest_request(session))
    approve = st.StetApprove(payment_request=request, psu=psu.user)
    await steps.step("sca", stet_psu.approve(session, approve, within), stet_code)
    read = st.GetPaymentRequest(payment_request=request, until=["ACSC", "RJCT"])
    status = await steps.step("status", stet.get(session, read, within), stet_code)
    _ended(resource_of(_answer(status)).get("paymentInformationStatus"), "ACSC")


def stet_code(answer: Answer | None) -> str:
    """``STET <error>`` of an ``ErrorModel`` (it carries ``status`` beside ``error``),
    else an OAuth error, else the HTTP status."""
    body = answer.body if answer is not None and isinstance(answer.body, dict) else {}
    if "status" in body and body.get("error"):
        return f"STET {body['error']}"
    return oauth_code(answer)


# --- shared ---------------------------------------------------------------------------------


def oauth_code(answer: Answer | None) -> str:
    """``OAuth <error>`` of an OAuth 2.0 error answer (RFC 6749 §5.2), else the status."""
    body = answer.body if answer is not None and isinstance(answer.body, dict) else {}
    error = body.get("error")
    return f"OAuth {error}" if isinstance(error, str) and error else _http(answer)


def _http(answer: Answer | None) -> str:
    return f"HTTP {answer.status}" if answer is not None else "other"


def _answer(sent: Sent) -> Answer:
    """The answer of a step ``_Steps.step`` checked (it has one)."""
    assert sent.answer is not None  # noqa: S101 - step() raised otherwise
    return sent.answer


_PLAYS: dict[Dialect, Callable[[_Steps, Psu, str], Awaitable[None]]] = {
    "xs2a": _xs2a,
    "obie": _obie,
    "stet": _stet,
}
