"""Which hops start and end a flow, its outcome and how long it took, for the metrics.

A flow is one conversation of the journal (its ``conversation``: the transactionRequestId
of a transfer, the consentRequestId of a linking, a PSD2 payment's or consent's id):

    Mojaloop transfer   POST /thirdpartyRequests/transactions
                        → PATCH …/transactions/{ID} (outcome: its transactionState,
                          COMPLETED or REJECTED) | PUT …/transactions/{ID}/error (error, code)
    Mojaloop linking    POST /consentRequests
                        → PATCH /consents/{ID} credential VERIFIED (VERIFIED)
                        | PUT /consentRequests/{ID}/error | PUT /consents/{ID}/error (error)
    PSD2 payment        a POST answered 201 (the payment, the UK consent, the STET request)
                        → the first answer that shows the payment's final status (outcome:
                          that status as the dialect spells it: XS2A ACSC, ACCC, RJCT…; UK
                          AcceptedSettlementCompleted, Rejected, ACSC…; STET ACSC, RJCT, PART)

A Mojaloop flow ends when its last message reaches its receiver (delivered or sent); a
PSD2 payment when tpsim first tells its TPP a final status (a payment nobody asks about
after it ended is not counted). Each flow is counted once. Both tables are bounded
(``MAX_TRACKED`` flows each, the oldest forgotten first), so a flow that never ends costs
nothing for long; an end whose start was forgotten (or came before a restart) is counted
without a duration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tpsim.core.states import PAYMENT_TERMINAL, PaymentState
from tpsim.journal import Hop
from tpsim.obie.states import ORDER_WORDS, PaymentStatus
from tpsim.serve.traffic import MOJALOOP, Seen
from tpsim.stet.states import TRANSACTION_STATUS as STET_STATUS
from tpsim.xs2a.states import TransactionStatus

MAX_TRACKED = 10_000
ERROR = "error"

_TX = "/thirdpartyRequests/transactions"
_STARTS = frozenset({("POST", _TX), ("POST", "/consentRequests")})  # (method, route)


@dataclass(frozen=True, slots=True)
class Ended:
    """A flow that ended: its ``outcome`` (with the error ``code`` of an error callback,
    else ""), and its duration when its start was seen."""

    dialect: str
    flow: str
    outcome: str
    code: str = ""
    seconds: float | None = None


# (flow, outcome, code) of a Mojaloop message that ends a flow, read from its body; None
# when this one does not (a PATCH /consents/{ID} REVOKED ends no linking).
_Reader = Callable[[dict[str, Any]], tuple[str, str, str] | None]


def _transaction_patched(body: dict[str, Any]) -> tuple[str, str, str] | None:
    state = body.get("transactionState")
    return ("transfer", state, "") if isinstance(state, str) else None


def _consent_verified(body: dict[str, Any]) -> tuple[str, str, str] | None:
    credential = body.get("credential")
    status = credential.get("status") if isinstance(credential, dict) else None
    return ("linking", "VERIFIED", "") if status == "VERIFIED" else None


def _error_of(flow: str) -> _Reader:
    def read(body: dict[str, Any]) -> tuple[str, str, str]:
        info = body.get("errorInformation")
        code = info.get("errorCode") if isinstance(info, dict) else None
        return flow, ERROR, code if isinstance(code, str) else ""

    return read


_ENDS: Mapping[tuple[str, str], _Reader] = {
    ("PATCH", f"{_TX}/{{ID}}"): _transaction_patched,
    ("PUT", f"{_TX}/{{ID}}/error"): _error_of("transfer"),
    ("PATCH", "/consents/{ID}"): _consent_verified,
    ("PUT", "/consentRequests/{ID}/error"): _error_of("linking"),
    ("PUT", "/consents/{ID}/error"): _error_of("linking"),
}


def _final(table: Mapping[PaymentState, Any]) -> frozenset[str]:
    return frozenset(str(table[state]) for state in PAYMENT_TERMINAL)


_X = TransactionStatus
_UK = PaymentStatus
# A payment's final statuses as each dialect spells them. XS2A's and STET's settled or
# rejected intents, plus PART (some parts settled, the others rejected; XS2A's ACCC: the
# creditor credited too); a UK payment order's settled or rejected ``Status``, in either
# version's words.
_FINAL: Mapping[str, frozenset[str]] = {
    "xs2a": frozenset(s.value for s in (_X.ACSC, _X.ACCC, _X.PART, _X.RJCT, _X.CANC)),
    "obie": frozenset(
        words[s]
        for words in ORDER_WORDS.values()
        for s in (_UK.DEBITED, _UK.CREDITED, _UK.REJECTED)
    ),
    "stet": _final(STET_STATUS) | {"PART"},
}


def psd2_status(dialect: str, answer: dict[str, Any] | None) -> str | None:
    """The payment status a PSD2 answer shows, when it is a final one: XS2A's
    ``transactionStatus``, a UK payment order's ``Data.Status``, a STET request's
    ``paymentRequest.paymentInformationStatus``."""
    final = _FINAL.get(dialect)
    if final is None or not answer:
        return None
    status: object = None
    if dialect == "xs2a":
        status = answer.get("transactionStatus")
    elif dialect == "obie":
        data = answer.get("Data")
        if isinstance(data, dict) and "DomesticPaymentId" in data:
            status = data.get("Status")
    else:
        resource = answer.get("paymentRequest")
        status = resource.get("paymentInformationStatus") if isinstance(resource, dict) else None
    return status if isinstance(status, str) and status in final else None


class Flows:
    """The flows in progress, by conversation; ``seen`` says which one a hop ended."""

    def __init__(self, bound: int = MAX_TRACKED) -> None:
        self._bound = bound
        self._started: dict[str, float] = {}  # conversation → when (perf_counter seconds)
        self._ended: dict[tuple[str, str], None] = {}  # (flow, conversation) counted

    def seen(self, seen: Seen, now: float) -> Ended | None:
        """The flow ``seen`` ended (at ``now``), if it ended one; a start is noted."""
        entry = seen.entry
        key = entry.conversation
        if key is None:
            return None
        if entry.dialect == MOJALOOP:
            return self._mojaloop(seen, key, now)
        if entry.method == "POST" and seen.status == 201:
            self._start(key, now)
        status = psd2_status(entry.dialect or "", seen.answer)
        if status is None:
            return None
        return self._end(Ended(entry.dialect or "", "payment", status), key, now)

    def _mojaloop(self, seen: Seen, key: str, now: float) -> Ended | None:
        entry = seen.entry
        if (entry.method, seen.route) in _STARTS:
            if entry.hop is Hop.RECEIVED and entry.error is None:
                self._start(key, now)
            return None
        read = _ENDS.get((entry.method, seen.route))
        if read is None or entry.hop not in (Hop.DELIVERED, Hop.SENT) or entry.body is None:
            return None
        found = read(entry.body)
        if found is None:
            return None
        flow, outcome, code = found
        return self._end(Ended(MOJALOOP, flow, outcome, code), key, now)

    def _start(self, key: str, now: float) -> None:
        if key in self._started:
            return
        self._started[key] = now
        if len(self._started) > self._bound:
            del self._started[next(iter(self._started))]

    def _end(self, ended: Ended, key: str, now: float) -> Ended | None:
        counted = (ended.flow, key)
        if counted in self._ended:
            return None
        self._ended[counted] = None
        if len(self._ended) > self._bound:
            del self._ended[next(iter(self._ended))]
        started = self._started.pop(key, None)
        if started is None:
            return ended
        return Ended(ended.dialect, ended.flow, ended.outcome, ended.code, now - started)
