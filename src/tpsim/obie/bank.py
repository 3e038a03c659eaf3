"""A simulated bank's UK payment initiation service, sans-IO: consents and their approval.

    create_consent   POST /domestic-payment-consents     → a consent (AWAITING), or refused
                     (and POST /domestic-scheduled-payment-consents: ``Kind``)
    consent          GET  /domestic-payment-consents/{id} → the consent, as the clock finds it
    approve / deny   the PSU on the consent page (``obie.approval``), or the admin decision
    funds            GET  …/{id}/funds-confirmation       → whether the debtor can pay

Approving receives the core payment intent (``intent_id`` = the ConsentId, AUTHORISED)
over the debtor account the consent named or the PSU chose; ``obie.payments`` executes it
when the TPP posts the payment (a scheduled one on its ``RequestedExecutionDateTime``,
which must be ahead of the bank's clock, and at most ``MAX_DAYS_AHEAD`` days:
``admission.check_date``).
An unauthorised or unused consent past its expiry is
rejected (U036), one past the bank's cut-off (the reject strategy) too (U012): when next
read, or by ``tick`` when nobody reads it (its intent ends with it, and the retention then
forgets both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from tpsim.auth.psu import WrongPassword
from tpsim.config_psd2 import Psd2Settings
from tpsim.core.bank import Account, Bank
from tpsim.core.clock import Clock, IdGenerator
from tpsim.core.due import Due, earliest
from tpsim.core.errors import StateRefused, UnknownPayment
from tpsim.core.payment import PaymentEvent, PaymentIntent
from tpsim.core.records import Records
from tpsim.core.rules import Applied, Fact, Reason, RuleEvent, Rules
from tpsim.core.settlement import Settlement, SettlementResult
from tpsim.core.states import next_state
from tpsim.obie import admission
from tpsim.obie.errors import FieldInvalid, InvalidConsentStatus, InvalidDate, NotFound
from tpsim.obie.payments import Orders
from tpsim.obie.resources import IBAN, SORT_CODE, AccountRef, Consent, Order
from tpsim.obie.states import (
    CONSENT_STATUS,
    CONSENT_TERMINAL,
    CONSENT_TRANSITIONS,
    ConsentEvent,
    ConsentReason,
    ConsentState,
    Kind,
)

_OPEN = (ConsentState.AWAITING, ConsentState.AUTHORISED)
# How long an ``x-idempotency-key`` finds what it made (the digest §1.5: 24 hours).
KEY_WINDOW = timedelta(hours=24)
# The keys a bank remembers: this many times its ``max_ended`` (each ended resource was made
# under one key, and a refused request's key is remembered too).
SEEN_PER_ENDED = 10


class ObieBank:
    """Bank ``fsp_id``'s UK interface over the shared ``bank`` (see the module docstring).

    ``settlement`` pays creditors at other simulated banks (None: such a payment only
    leaves the debtor's account); ``rules`` decide magic outcomes (``core.rules``);
    ``password`` is a user's password at the bank when config gives them none.

    What it keeps, and for how long: an ended consent or payment is kept ``retention``,
    but never less than ``KEY_WINDOW`` (24 h), so a request replayed with its
    ``x-idempotency-key`` finds what it made while the key lives; at most ``max_ended``
    ended ones of each are kept (the oldest go first past that bound). The keys themselves
    (``ObieApi``) are kept ``KEY_WINDOW`` from first sight, at most
    ``SEEN_PER_ENDED × max_ended`` of them. A payment ended keeps its final status, so it
    reads the same after the core intent behind it was forgotten (the bank's retention).
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
        self.profile = settings.obie
        self.clock, self.ids = clock, ids
        self.rules, self._password = rules or Rules([]), password
        retention = None if retention is None else max(retention, KEY_WINDOW)
        self.consents: Records[Consent] = Records(
            bank.store, f"obie:{fsp_id}", retention=retention, max_ended=max_ended, clock=clock
        )
        self.orders = Orders(self, settlement, retention=retention, max_ended=max_ended)
        # Open consents by when the clock ends them (expiry or cut-off, the sooner): ``tick``
        # rejects them then, so a consent nobody reads again ends and is forgotten too.
        self._expiring = Due(bank.store, f"obie-expiring:{fsp_id}")

    # -- consents -----------------------------------------------------------------------

    def create_consent(
        self,
        version: str,
        tpp: str,
        order: Order,
        wire: dict[str, Any],
        kind: Kind = Kind.DOMESTIC,
    ) -> Consent:
        """Take a new consent (AWAITING) of ``kind`` for ``order`` (``wire``: the request
        body as sent), or refuse a debtor account that is not this bank's or is held in
        another currency, or a scheduled payment's date the bank does not take."""
        now = self.clock.now()
        admission.check_date(order, now)
        if order.debtor is not None:
            where = "Data.Initiation.DebtorAccount"
            admission.debtor_account(
                self.bank, self.fsp_id, order, order.debtor.identification, where
            )
        applied = self.rules.first(
            admission.facts(self.fsp_id, tpp, order, RuleEvent.PAYMENT_INITIATE)
        )
        data = wire["Data"]
        consent = Consent(
            consent_id=self.ids.new_id(),
            version=version,
            tpp=tpp,
            order=order,
            initiation=data["Initiation"],
            risk=wire["Risk"],
            extras={k: v for k, v in data.items() if k != "Initiation"},
            created_at=now,
            status_at=now,
            expires_at=now + timedelta(seconds=self.profile.consent_expiry_s),
            cut_off=admission.next_cut_off(self.profile, now),
            rule=applied.rule_name if applied else None,
            verdict=applied.outcome if applied else None,
            kind=kind,
        )
        self.consents.put(consent.consent_id, consent)
        ends = consent.expires_at if consent.cut_off is None else consent.cut_off
        self._expiring.put(consent.consent_id, min(consent.expires_at, ends))
        return consent

    def consent(
        self,
        consent_id: str,
        version: str,
        tpp: str | None = None,
        kind: Kind = Kind.DOMESTIC,
    ) -> Consent:
        """The consent of ``kind``, as the clock finds it now; 400 U011 when this bank has
        none by that id under ``version``'s API made by ``tpp`` (None: by any TPP):
        another TPP's consent (or one of another kind) is answered as unknown, so its id
        reveals nothing."""
        found = self.consents.get(consent_id)
        if (
            found is None
            or found.version != version
            or found.kind is not kind
            or tpp not in (None, found.tpp)
        ):
            raise NotFound(
                f"{self.fsp_id} has no {kind.what} consent {consent_id[:128]} under v{version}",
                path="ConsentId",
            )
        return self.fresh(found)

    def fresh(self, consent: Consent) -> Consent:
        """``consent`` after what the clock made due while it is unauthorised or unused:
        its cut-off (Rejected / RJCT U012, the reject strategy) or its expiry (U036),
        whichever came first."""
        now = self.clock.now()
        if consent.state not in _OPEN:
            return consent
        # Ended as of when it fell due, not when next read or ticked: its StatusUpdateDateTime
        # is the same whenever the TPP reads it.
        cut_off, expires = consent.cut_off, consent.expires_at
        if cut_off is not None and now >= cut_off and cut_off <= expires:
            text = "the bank's cut-off time has passed"
            return self.reject(consent, ConsentReason.CUT_OFF, text, at=cut_off)
        if now >= expires:
            text = "the consent expired unused"
            return self.reject(consent, ConsentReason.EXPIRED, text, at=expires)
        return consent

    def status_word(self, consent: Consent) -> str:
        return CONSENT_STATUS[consent.version][consent.state]

    def funds(self, consent: Consent) -> bool:
        """Whether the consent's debtor account has its amount available now."""
        if consent.debtor is None:
            return False
        return self.bank.ledger.available(consent.debtor) >= consent.order.amount

    # -- the PSU's decision ----------------------------------------------------------------

    def approve(
        self,
        consent_id: str,
        user: str | None,
        password: str | None,
        accounts: Sequence[str],
    ) -> Consent:
        """The PSU ``user`` approves (``password`` None: a headless or admin decision,
        unchecked), paying from the consent's debtor account or the one chosen
        (``accounts``). Refused with an ``ObieError`` that says why (not awaiting
        authorisation, after the cut-off, no account or one the PSU does not hold, a
        persona the rules refuse); a wrong password is ``WrongPassword``, and the last
        allowed one rejects the consent (U033), as a scheduled payment's date no longer
        ahead does (U003, ``_still_ahead``)."""
        consent = self._awaiting(consent_id)
        self._still_ahead(consent)
        account = admission.chosen_account(self.bank, self.fsp_id, consent, user, accounts)
        psu = user or account.owner
        facts = admission.facts(
            self.fsp_id, consent.tpp, consent.order, RuleEvent.PAYMENT_AUTHORISE
        )
        facts.update({Fact.DEBTOR: account.address, Fact.PSU: psu})
        applied = self.rules.first(facts)
        if applied is not None and applied.outcome.reject is Reason.PSU_UNKNOWN:
            raise FieldInvalid(applied.outcome.text or f"{psu} is no PSU of {self.fsp_id}")
        persona = applied is not None and self.rules.by_psu(applied, facts)
        if not persona and psu != account.owner:
            raise FieldInvalid(
                f"{psu} does not hold account {account.sort_code_account_number or account.address}"
            )
        ok = password is None or self.bank.password_ok(
            self.fsp_id, account.owner, password, self._password
        )
        if not ok:
            self._wrong_password(consent)
        return self._authorised(consent, account, psu, applied)

    def sign_in(self, consent_id: str, user: str, password: str) -> list[Account]:
        """The PSU ``user`` signs in at the consent page of a consent that names no debtor
        account: their accounts at this bank in the payment's currency, to choose from. A
        wrong password is ``WrongPassword`` (counted; the last allowed one rejects the
        consent, U033)."""
        consent = self._awaiting(consent_id)
        if not self.bank.password_ok(self.fsp_id, user, password, self._password):
            self._wrong_password(consent)
        held = self.bank.accounts.held_by(self.fsp_id, user)
        return [a for a in held if a.currency == consent.order.currency]

    def deny(self, consent_id: str) -> Consent:
        """The PSU denies: the consent is rejected (U037)."""
        return self.reject(self._awaiting(consent_id), ConsentReason.DENIED, "denied by the PSU")

    def decide(self, consent_id: str, approve: bool, psu: str | None, account: str | None) -> str:
        """The admin API's (or a headless) decision: the consent's new status word; an
        ``ObieError`` when it is not awaiting authorisation or the decision cannot be
        applied (an unknown account, a PSU who does not hold it)."""
        if approve:
            consent = self.approve(consent_id, psu, None, [account] if account else [])
        else:
            consent = self.deny(consent_id)
        return self.status_word(consent)

    def reject(
        self, consent: Consent, reason: ConsentReason, text: str, *, at: datetime | None = None
    ) -> Consent:
        """End ``consent`` unconsumed, as of ``at`` (None: now): its intent (if approved)
        is rejected too."""
        at = at or self.clock.now()
        intent = self.intent(consent)
        if intent is not None and not intent.finalised:
            event = PaymentEvent.EXPIRE if reason is ConsentReason.EXPIRED else PaymentEvent.REJECT
            self.bank.payments.end(intent.intent_id, event, at=at)
        changes = {"reason": reason.value, "reason_text": text}
        return self.move(consent, ConsentEvent.REJECT, at=at, **changes)

    def retire(self, cause: str) -> list[str]:
        """End each consent not used yet (Rejected / RJCT, ``cause`` its reason text) and
        each payment waiting to execute (``Orders.retire``): tpsim no longer plays this
        bank (a restart with it made external or removed), so nothing would ever end
        them. Read as kept, not as the clock finds them. The ids of those ended."""
        ended = []
        for consent in list(self.consents):
            if consent.state in _OPEN:
                self.reject(consent, ConsentReason.DENIED, cause)
                ended.append(consent.consent_id)
        return [*ended, *self.orders.retire(cause)]

    def move(
        self, consent: Consent, event: ConsentEvent, *, at: datetime | None = None, **changes: Any
    ) -> Consent:
        """``consent`` after ``event`` (kept, its status updated ``at``, None: now), or 400
        U009 when its status forbids it."""
        try:
            state = next_state(
                CONSENT_TRANSITIONS,
                CONSENT_TERMINAL,
                consent.state,
                event,
                what=f"consent {consent.consent_id}",
            )
        except StateRefused:
            raise InvalidConsentStatus(
                f"consent {consent.consent_id} is {self.status_word(consent)}: it cannot be"
                f" {event.value}d now",
                path="ConsentId",
            ) from None
        now = at or self.clock.now()
        moved = replace(consent, state=state, status_at=now, **changes)
        self.consents.put(moved.consent_id, moved)
        if state in CONSENT_TERMINAL:  # used or ended: the clock has nothing left to end
            self._expiring.drop(moved.consent_id)
            if moved.payment_id is None:
                self.consents.end(moved.consent_id, at=now)
        return moved

    # -- helpers ------------------------------------------------------------------------------

    def _awaiting(self, consent_id: str) -> Consent:
        found = self.consents.get(consent_id)
        if found is None:
            raise NotFound(f"{self.fsp_id} has no consent {consent_id}", path="ConsentId")
        consent = self.fresh(found)
        admission.check_cut_off(consent)
        if consent.state is not ConsentState.AWAITING:
            raise InvalidConsentStatus(
                f"consent {consent_id} is {self.status_word(consent)}, not awaiting"
                " authorisation: there is nothing to decide",
                path="ConsentId",
            )
        return consent

    def _still_ahead(self, consent: Consent) -> None:
        """A scheduled consent authorised once its ``RequestedExecutionDateTime`` is no
        longer ahead of the bank's clock is rejected (U003), and ``InvalidDate`` says why:
        its payment could never be made."""
        at, now = consent.order.execute_at, self.clock.now()
        if at is None or at > now:
            return
        text = f"its RequestedExecutionDateTime {at.isoformat()} passed before it was authorised"
        self.reject(consent, ConsentReason.DATE_PASSED, text)
        raise InvalidDate(
            f"consent {consent.consent_id} is rejected: {text} (the bank's time is"
            f" {now.replace(microsecond=0).isoformat()}); create a new consent with a later date",
            path="Data.Initiation.RequestedExecutionDateTime",
        )

    def _authorised(
        self, consent: Consent, account: Account, psu: str, applied: Applied | None
    ) -> Consent:
        """Receive the consent's intent, authorised, and the consent with it."""
        now = self.clock.now()
        intent = PaymentIntent(
            intent_id=consent.intent_id,
            debtor=account.address,
            creditor=consent.order.creditor.identification,
            amount=consent.order.amount,
            currency=consent.order.currency,
            created_at=now,
            expires_at=consent.expires_at,
        )
        self.bank.payments.receive_authorised(intent, at=now)
        verdict = (applied.rule_name, applied.outcome) if applied else (None, None)
        return self.move(
            consent,
            ConsentEvent.AUTHORISE,
            debtor=account.address,
            debtor_ref=consent.order.debtor or _reference(account),
            psu=psu,
            rule=verdict[0] or consent.rule,
            verdict=verdict[1] or consent.verdict,
        )

    def _wrong_password(self, consent: Consent) -> None:
        attempts = consent.attempts + 1
        left = max(self.settings.max_attempts - attempts, 0)
        if left == 0:
            self.reject(
                replace(consent, attempts=attempts),
                ConsentReason.AUTH_FAILED,
                "authentication failed: too many wrong passwords",
            )
        else:
            self.consents.put(consent.consent_id, replace(consent, attempts=attempts))
        raise WrongPassword("wrong password", left=left)

    def intent(self, consent: Consent) -> PaymentIntent | None:
        if consent.state is ConsentState.AWAITING:
            return None
        try:
            return self.bank.payments.get(consent.intent_id)
        except UnknownPayment:  # forgotten after its retention
            return None

    # -- what the edge drives ---------------------------------------------------------------

    def tick(self) -> None:
        """Do what fell due by the clock (the edge calls it on a timer and after the clock
        moves): reject the consents that expired or passed their cut-off unused, execute
        the payments a rule's delay held."""
        now = self.clock.now()
        for consent_id in self._expiring.pop(now):
            consent = self.consents.get(consent_id)
            if consent is None:
                self._expiring.drop(consent_id)
            else:
                self.fresh(consent)
        self.orders.tick()
        self.consents.sweep(now)  # forget what ended a retention ago at each tick too
        self.orders.records.sweep(now)

    def next_due(self) -> datetime | None:
        """When ``tick`` next has something to do."""
        return earliest(self._expiring, self.orders.waiting)

    def concluded(self, result: SettlementResult) -> None:
        """The settlement port's outcome for one of this bank's intents (already applied
        by ``Payments.conclude``): its payment records the step."""
        self.orders.concluded(result)


def _reference(account: Account) -> AccountRef | None:
    """How a UK body names ``account``: its sort code and number, else its IBAN."""
    if account.sort_code_account_number:
        return AccountRef(SORT_CODE, account.sort_code_account_number)
    if account.iban:
        return AccountRef(IBAN, account.iban)
    return None
