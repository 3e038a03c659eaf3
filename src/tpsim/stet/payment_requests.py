"""A simulated bank's STET payment requests, sans-IO: kept, moved through the ``states.py``
table and read as the clock finds them (the digest §3, STET 1.4.2).

    create      POST /payment-requests              → AWAITING (ACTC), the approach applied
    get         GET  /payment-requests/{id}          → as the clock finds it
    order       the approved request's instructions to execution (``stet.orders``)
    reject      RJCT with a reason, before it was ordered

An approval, or a confirmation, not given within the profile's ``approval_expiry_s`` ends
the request RJCT / NOAS: when next read, or by ``tick`` when nobody reads it. What the PSU
and the PISP do with a request (approve, confirm, cancel) is ``stet.bank``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from tpsim.config_psd2 import Psd2Settings
from tpsim.core.bank import Account, Bank
from tpsim.core.clock import Clock, IdGenerator
from tpsim.core.due import Due, earliest
from tpsim.core.errors import StateRefused, TpsimError
from tpsim.core.records import Records
from tpsim.core.rules import RuleEvent, Rules
from tpsim.core.settlement import Settlement, SettlementResult
from tpsim.core.states import next_state
from tpsim.stet import admission
from tpsim.stet.errors import Duplicate, FieldInvalid, NotFound, StatusInvalid
from tpsim.stet.orders import Orders
from tpsim.stet.reading import read_order
from tpsim.stet.resources import Order, PaymentRequest
from tpsim.stet.states import (
    REQUEST_STATUS,
    REQUEST_TERMINAL,
    REQUEST_TRANSITIONS,
    Approach,
    RequestEvent,
    RequestState,
    Why,
)

log = structlog.get_logger("tpsim.stet")

_OPEN = (RequestState.AWAITING, RequestState.APPROVED)


class PaymentRequests:
    """Bank ``fsp_id``'s STET payment requests over the shared ``bank`` (the module
    docstring); ``StetBank`` adds what the PSU and the PISP do with them.

    ``settlement`` pays creditors at other simulated banks; ``rules`` decide magic
    outcomes (``core.rules``); ``password`` is a user's password when config gives none
    (``StetBank`` signs the PSU in). An ended payment request is kept ``retention`` (at
    most ``max_ended`` of them), so its final status reads the same after its core intents
    were forgotten.
    """

    def __init__(
        self,
        fsp_id: str,
        bank: Bank,
        settings: Psd2Settings,
        *,
        clock: Clock,
        ids: IdGenerator,
        settlement: Settlement | None = None,
        rules: Rules | None = None,
        retention: timedelta | None = None,
        max_ended: int | None = None,
        password: str = "tpsim",  # noqa: S107 - the sandbox default when config gives none
    ) -> None:
        self.fsp_id, self.bank, self.settings = fsp_id, bank, settings
        self.profile = settings.stet
        self.clock, self.ids = clock, ids
        self.rules, self._password = rules or Rules([]), password
        store = bank.store
        self.requests: Records[PaymentRequest] = Records(
            store, f"stet:{fsp_id}", retention=retention, max_ended=max_ended, clock=clock
        )
        # paymentInformationId (per PISP) → the request it made, for the duplicate check.
        self._business_ids: Records[str] = Records(
            store, f"stet-ids:{fsp_id}", retention=retention, max_ended=max_ended, clock=clock
        )
        self.orders = Orders(self, settlement)
        # Open requests by when the clock ends them (RJCT / NOAS), and decoupled approvals
        # the PSU gives after the configured delay.
        self._expiring = Due(store, f"stet-expiring:{fsp_id}")
        self._approving = Due(store, f"stet-approving:{fsp_id}")

    # -- creating and reading -------------------------------------------------------------

    def create(self, tpp: str, wire: dict[str, Any]) -> PaymentRequest:
        """Take a new payment request (AWAITING) from ``tpp``; ``wire`` is the
        ``PaymentRequestResource`` as read. Refused: no approach both sides accept, a
        debtor account that is not this bank's (or in another currency), none where the
        approach needs it, a date more than a year ahead, a repeated paymentInformationId (when
        the profile refuses them)."""
        order = read_order(wire)
        approach = admission.approach(self.profile, self.fsp_id, order)
        if order.debtor is not None:
            self.debtor(order, order.debtor, "debtorAccount.iban")
        elif approach is not Approach.REDIRECT:
            raise FieldInvalid(
                f"debtorAccount: the {approach.value} approach needs the debtor account (the"
                " PSU chooses it at the bank only with REDIRECT): give debtorAccount.iban"
            )
        admission.check_creditors(self.bank.accounts, order)
        now = self.clock.now()
        admission.check_dates(order, now)
        self._check_duplicate(tpp, order)
        applied = self.rules.first(
            admission.facts(self.fsp_id, tpp, order, RuleEvent.PAYMENT_INITIATE)
        )
        supplementary = {**wire["supplementaryData"], "appliedAuthenticationApproach": approach}
        request = PaymentRequest(
            # STET ids: at most 35 characters of [A-Za-z0-9 /-?:().,'] (a UUID's hex).
            resource_id=self.ids.new_id().replace("-", "")[:35],
            tpp=tpp,
            order=order,
            wire={**wire, "supplementaryData": supplementary},
            approach=approach,
            created_at=now,
            status_at=now,
            expires_at=now + timedelta(seconds=self.profile.approval_expiry_s),
            rule=applied.rule_name if applied else None,
            verdict=applied.outcome if applied else None,
        )
        self.requests.put(request.resource_id, request)
        self._business_ids.put(_business_key(tpp, order), request.resource_id)
        self._expiring.put(request.resource_id, request.expires_at)
        delay = self.settings.decoupled_approval_delay_s
        if approach is Approach.DECOUPLED and delay is not None:
            self._approving.put(request.resource_id, now + timedelta(seconds=delay))
        return request

    def get(self, resource_id: str, tpp: str | None = None) -> PaymentRequest:
        """The request, as the clock finds it; 404 (or the profile's 403) when this bank
        has none by that id made by ``tpp`` (None: by any PISP): another PISP's request is
        answered as unknown, so its id reveals nothing."""
        found = self.requests.get(resource_id)
        if found is None or tpp not in (None, found.tpp):
            raise NotFound(
                f"{self.fsp_id} has no payment request {resource_id[:64]}",
                status=self.profile.unknown_id_status,
            )
        return self.fresh(found)

    def fresh(self, request: PaymentRequest) -> PaymentRequest:
        """``request`` after what the clock made due: its expiry, its instructions'
        executions (``StetBank.fresh`` gives the decoupled approval first)."""
        now = self.clock.now()
        if request.state in _OPEN and now >= request.expires_at:
            waited = (
                "the PSU's approval"
                if request.state is RequestState.AWAITING
                else ("the PISP's confirmation")
            )
            return self.reject(request, Why.NO_ANSWER, f"{waited} did not come in time")
        if request.state is RequestState.ORDERED:
            return self.orders.run_due(request)
        return request

    def status(self, request: PaymentRequest) -> str:
        """The request's ``paymentInformationStatus``."""
        if request.state is RequestState.ORDERED:
            return self.orders.status(request)
        return REQUEST_STATUS[request.state]

    # -- moving a request -----------------------------------------------------------------

    def order(self, request: PaymentRequest) -> PaymentRequest:
        """Hand the approved request's instructions to execution (``stet.orders``)."""
        ordered = self.move(request, RequestEvent.ORDER)
        return self.orders.start(ordered)

    def reject(self, request: PaymentRequest, why: Why, text: str) -> PaymentRequest:
        """End ``request`` before it was ordered; intents it received end with it."""
        for index in range(len(request.order.instructions)):
            intent = self.orders.intent(request, index)
            if intent is not None and not intent.finalised:
                self.orders.end_intent(request, index, why)
        return self.move(request, RequestEvent.REJECT, reason=why, reason_text=text[:256])

    def move(self, request: PaymentRequest, event: RequestEvent, **changes: Any) -> PaymentRequest:
        """``request`` after ``event`` (kept), or 400 STATUS_INVALID."""
        try:
            state = next_state(
                REQUEST_TRANSITIONS,
                REQUEST_TERMINAL,
                request.state,
                event,
                what=f"payment request {request.resource_id}",
            )
        except StateRefused:
            raise StatusInvalid(
                f"payment request {request.resource_id} is {self.status(request)}: it cannot"
                f" be {event.value}d now"
            ) from None
        moved = replace(request, state=state, status_at=self.clock.now(), **changes)
        if state in REQUEST_TERMINAL or state is RequestState.APPROVED:
            self._approving.drop(moved.resource_id)
        if state in REQUEST_TERMINAL:
            self._expiring.drop(moved.resource_id)
        return self._put(moved)

    def _put(self, request: PaymentRequest) -> PaymentRequest:
        self.requests.put(request.resource_id, request)
        if request.state is RequestState.REJECTED:
            self.ended(request)
        return request

    def ended(self, request: PaymentRequest) -> None:
        """``request`` ended: it, and its paymentInformationId, are kept the retention."""
        now = self.clock.now()
        self.requests.end(request.resource_id, at=now)
        self._business_ids.end(_business_key(request.tpp, request.order), at=now)

    # -- helpers --------------------------------------------------------------------------

    def _check_duplicate(self, tpp: str, order: Order) -> None:
        if not self.profile.reject_duplicate_payment_information_id:
            return
        made = self._business_ids.get(_business_key(tpp, order))
        if made is not None:
            raise Duplicate(
                f"paymentInformationId {order.payment_information_id!r} is a duplicate: it"
                f" made payment request {made}; give each request its own"
            )

    def debtor(self, order: Order, name: str, where: str | None) -> Account:
        """The debtor account ``name`` (``admission.debtor_account``)."""
        return admission.debtor_account(self.bank.accounts, self.fsp_id, order, name, where)

    # -- what the edge drives -------------------------------------------------------------

    def tick(self) -> None:
        """Do what fell due by the clock: decoupled approvals after their delay
        (``StetBank.fresh``), requests nobody answered, instructions whose execution date
        (or a rule's delay) came."""
        now = self.clock.now()
        try:
            for resource_id in {*self._approving.pop(now), *self._expiring.pop(now)}:
                request = self.requests.get(resource_id)
                if request is None:  # forgotten: the clock has nothing left to do for it
                    self._approving.drop(resource_id)
                    self._expiring.drop(resource_id)
                    continue
                try:
                    self.fresh(request)
                except TpsimError:  # one request's refusal must not stall the others
                    log.exception("STET request could not be brought up to date", id=resource_id)
        finally:
            self.orders.tick()
            self.requests.sweep(now)
            self._business_ids.sweep(now)

    def next_due(self) -> datetime | None:
        return earliest(self._approving, self._expiring, self.orders.waiting)

    def concluded(self, result: SettlementResult) -> None:
        """The settlement port's outcome for one of this bank's intents."""
        self.orders.concluded(result)


def _business_key(tpp: str, order: Order) -> str:
    return f"{tpp}\x1f{order.payment_information_id}"
