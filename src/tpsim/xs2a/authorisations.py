"""The SCA of XS2A payments and their cancellations: authorisation sub-resources, sans-IO.

    start    POST …/{paymentId}/authorisations (or implicitly with the payment, or with a
             202 DELETE for …/cancellation-authorisations) → received, psuIdentified
             (PSU-ID known, embedded) or started (decoupled: the push is sent)
    update   PUT  …/authorisations/{id}:
               {} with PSU-ID                 → psuIdentified (decoupled: started)
               {psuData: {password}}          → psuAuthenticated, its SCA methods (one
                                                method: chosen at once, scaMethodSelected)
               {authenticationMethodId}       → scaMethodSelected, with challengeData
               {scaAuthenticationData}        → finalised (the OTP / TAN)
               {confirmationCode}             → finalised (redirect, after ``unconfirmed``)
    page     the PSU signs in at the bank (redirect, OAuth) → finalised or failed, and the
             browser goes back to the TPP (``approve`` / ``deny``)
    decide   the admin API's decision: the PSU approved or denied in their app (decoupled),
             or headless for any approach

A wrong password, OTP or confirmation code is counted (``behaviour.psd2.max_attempts``); at
the last one the authorisation fails. A decoupled push to a PSU-ID who may not sign guesses
no secret: refused (401) before anything is kept or counted (``check_push``). A finalised
initiation authorisation has the payment executed (``Xs2aBank.authorised``); a failed one
rejects it. A finalised cancellation authorisation cancels the payment; a failed one leaves
it as it was. An authorisation still open when its payment ends (expired, rejected,
cancelled) or starts executing has nothing left to do and fails (``Xs2aBank.closings``), so
it ends and its retention starts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tpsim.core.due import Due
from tpsim.core.errors import StateRefused
from tpsim.core.records import Records
from tpsim.core.rules import Applied
from tpsim.core.sca import Authentication, ScaMethod
from tpsim.core.sca import ScaEvent as CoreScaEvent
from tpsim.core.states import PaymentState, next_state
from tpsim.xs2a.bank import Xs2aBank
from tpsim.xs2a.errors import (
    FormatError,
    PsuCredentialsInvalid,
    ResourceExpired,
    ResourceUnknown,
    ScaInvalid,
    ScaMethodUnknown,
    ServiceBlocked,
    StatusInvalid,
)
from tpsim.xs2a.resources import Approach, Authorisation, Xs2aPayment
from tpsim.xs2a.states import SCA_TERMINAL, SCA_TRANSITIONS, ScaEvent, ScaStatus, TransactionStatus

_CORE_METHOD = {
    Approach.REDIRECT: ScaMethod.REDIRECT,
    Approach.OAUTH: ScaMethod.REDIRECT,
    Approach.EMBEDDED: ScaMethod.OTP,
    Approach.DECOUPLED: ScaMethod.DECOUPLED,
}
_REDIRECTED = (Approach.REDIRECT, Approach.OAUTH)


@dataclass(frozen=True, slots=True)
class Update:
    """What a PUT (or a POST with a body) sends: at most one of these."""

    password: str | None = None
    method_id: str | None = None
    sca_data: str | None = None
    confirmation_code: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Where the PSU's browser goes after a decision at the bank (None: nowhere, the TPP
    polls), and the authorisation's status after it."""

    redirect: str | None
    sca_status: ScaStatus


class Authorisations:
    """The authorisation sub-resources of ``bank``'s payments; ``password`` is a user's
    password at the bank when config gives them none."""

    def __init__(self, bank: Xs2aBank, *, password: str) -> None:
        self.bank, self._password = bank, password
        self.records: Records[Authorisation] = Records(
            bank.bank.store,
            f"xs2a-auth:{bank.fsp_id}",
            retention=bank.payments.retention,
            max_ended=bank.payments.max_ended,
            clock=bank.clock,
        )
        # Decoupled authorisations the PSU approves after the configured delay: when.
        self._approvals = Due(bank.bank.store, f"xs2a-approvals:{bank.fsp_id}")
        bank.closings.append(self._payment_closed)

    @property
    def fsp_id(self) -> str:
        return self.bank.fsp_id

    # -- the TPP's calls --------------------------------------------------------------------

    def start(
        self,
        payment: Xs2aPayment,
        *,
        cancellation: bool = False,
        psu_id: str | None = None,
        update: Update | None = None,
    ) -> tuple[Xs2aPayment, Authorisation]:
        """A new authorisation of ``payment`` (its initiation, or its cancellation)."""
        payment = self.bank.fresh(payment)
        self._may_start(payment, cancellation)
        self.check_push(payment, psu_id, cancellation=cancellation)
        if payment.approach in _REDIRECTED and update is not None and update != Update():
            # Refused before anything is kept: the TPP can still start the redirect SCA.
            raise _blocked(payment.approach, "a new authorisation")
        now = self.bank.clock.now()
        profile = self.bank.profile
        link = timedelta(milliseconds=profile.redirect_url_expiration_time_ms)
        auth = Authorisation(
            authorisation_id=self.bank.ids.new_id(),
            payment_id=payment.payment_id,
            cancellation=cancellation,
            approach=payment.approach,
            created_at=now,
            expires_at=now + timedelta(milliseconds=profile.authorisation_expiration_time_ms),
            link_expires_at=now + link if payment.approach in _REDIRECTED else None,
            psu_id=psu_id or payment.tpp.psu_id,
        )
        if not cancellation:
            core = Authentication(method=_CORE_METHOD[auth.approach], expires_at=auth.expires_at)
            for intent in self.bank.intents(payment):
                self.bank.bank.payments.start_sca(intent.intent_id, core)
        if cancellation:
            payment = replace(
                payment, cancellations=(*payment.cancellations, auth.authorisation_id)
            )
        else:
            payment = replace(
                payment, authorisations=(*payment.authorisations, auth.authorisation_id)
            )
        self.bank.payments.put(payment.payment_id, payment)
        self._put(auth)
        if auth.psu_id is not None and auth.approach in (Approach.EMBEDDED, Approach.DECOUPLED):
            auth = self._identified(auth)
        if update is not None and update != Update():
            auth = self.update(payment, auth, psu_id=psu_id, update=update)
        return self.bank.payments[payment.payment_id], auth

    def check_push(
        self, payment: Xs2aPayment, psu_id: str | None, *, cancellation: bool
    ) -> Applied | None:
        """Refuse (401, ``Xs2aBank.check_signer``) a decoupled push to ``psu_id`` (else the
        initiation's PSU-ID) who may not sign ``payment`` (its ``cancellation``); asked
        before anything is kept: by ``start``, and by a DELETE before it asks to cancel."""
        psu = psu_id or payment.tpp.psu_id
        if payment.approach is not Approach.DECOUPLED or psu is None:
            return None
        return self.bank.check_signer(
            payment.order, payment.tpp, payment.owner, psu, cancellation=cancellation
        )

    def get(
        self, payment: Xs2aPayment, authorisation_id: str, *, cancellation: bool
    ) -> Authorisation:
        """The authorisation, fresh (expired links and authorisations fail, a decoupled
        approval falls due); ``ResourceUnknown`` (404) when ``payment`` has none so named."""
        ids = payment.cancellations if cancellation else payment.authorisations
        auth = self.records.get(authorisation_id) if authorisation_id in ids else None
        if auth is None:
            kind = "cancellation authorisation" if cancellation else "authorisation"
            raise ResourceUnknown(
                f"payment {payment.payment_id} has no {kind} {authorisation_id}",
                path="authorisationId",
            )
        return self.fresh(auth)

    def update(
        self,
        payment: Xs2aPayment,
        auth: Authorisation,
        *,
        psu_id: str | None,
        update: Update,
    ) -> Authorisation:
        """Apply one PUT to ``auth`` (see the module docstring)."""
        auth = self.fresh(auth)
        if auth.sca_status in SCA_TERMINAL:
            if update.confirmation_code is not None and auth.sca_status is ScaStatus.FAILED:
                raise ScaInvalid(f"authorisation {auth.authorisation_id} has failed")
            raise StatusInvalid(
                f"authorisation {auth.authorisation_id} is {auth.sca_status.value} already;"
                " start a new one if the payment allows it"
            )
        if auth.approach in _REDIRECTED:
            return self._update_redirected(auth, update)
        if update.confirmation_code is not None:
            raise FormatError(
                "no confirmation code is awaited: the confirmation follows a redirect SCA",
                path="confirmationCode",
            )
        if update.password is not None:
            return self._authenticate(payment, auth, psu_id, update.password)
        if update.method_id is not None:
            return self._select(auth, update.method_id)
        if update.sca_data is not None:
            return self._check_otp(auth, update.sca_data)
        if psu_id is None and auth.psu_id is None:
            raise FormatError(
                "send the PSU-ID header to identify the PSU, or psuData.password",
                path="PSU-ID",
            )
        return self._identified(replace(auth, psu_id=psu_id or auth.psu_id))

    # -- the PSU at the bank -------------------------------------------------------------------

    def approve(self, authorisation_id: str, user: str | None, password: str | None) -> Decision:
        """The PSU approves (``password`` None: a headless or admin decision, unchecked)."""
        auth = self._open(authorisation_id)
        payment = self.bank.payments[auth.payment_id]
        if user is not None and not self._may_sign(auth, payment, user):
            raise PsuCredentialsInvalid(f"{user} does not hold the account this payment debits")
        if password is not None and not self._password_ok(payment.owner, password):
            auth = self._wrong(auth, "wrong password")  # raises
        auth = self._finalise(replace(auth, psu_id=auth.psu_id or payment.owner))
        return Decision(self._back(auth, ok=True), auth.sca_status)

    def deny(self, authorisation_id: str) -> Decision:
        auth = self._fail(self._open(authorisation_id), "denied by the PSU")
        return Decision(self._back(auth, ok=False), auth.sca_status)

    def find(self, authorisation_id: str) -> Authorisation | None:
        auth = self.records.get(authorisation_id)
        return None if auth is None else self.fresh(auth)

    def tick(self) -> None:
        """Approve the decoupled authorisations whose approval delay has passed."""
        for authorisation_id in self._approvals.pop(self.bank.clock.now()):
            self._approvals.drop(authorisation_id)
            auth = self.records.get(authorisation_id)
            if auth is not None:
                self.fresh(auth)

    def next_due(self) -> datetime | None:
        """When ``tick`` next approves a decoupled authorisation (None: none waits)."""
        return self._approvals.next()

    # -- state -------------------------------------------------------------------------------

    def fresh(self, auth: Authorisation) -> Authorisation:
        """``auth`` after what the clock made due: expiry, a decoupled approval."""
        if auth.sca_status in SCA_TERMINAL:
            return auth
        # The payment's own expiry first: it fails ``auth`` too (``_payment_closed``).
        self.bank.fresh(self.bank.payments[auth.payment_id])
        auth = self.records[auth.authorisation_id]
        if auth.sca_status in SCA_TERMINAL:
            return auth
        now = self.bank.clock.now()
        if now >= auth.expires_at:
            return self._fail(auth, "the authorisation expired")
        delay = self.bank.settings.decoupled_approval_delay_s
        if (
            auth.sca_status is ScaStatus.STARTED
            and auth.approach is Approach.DECOUPLED
            and delay is not None
            and auth.started_at is not None
            and now >= auth.started_at + timedelta(seconds=delay)
        ):
            return self._finalise(auth)
        return auth

    def link_open(self, auth: Authorisation) -> str | None:
        """Why the SCA link of ``auth`` no longer leads anywhere, or None while it does."""
        auth = self.fresh(auth)
        if auth.sca_status in SCA_TERMINAL or auth.sca_status is ScaStatus.UNCONFIRMED:
            return f"this authorisation is {auth.sca_status.value}: there is nothing to approve"
        if auth.link_expires_at is not None and self.bank.clock.now() >= auth.link_expires_at:
            self._fail(auth, "the SCA link expired")
            return "this link has expired: the TPP must start a new payment"
        return None

    def _may_start(self, payment: Xs2aPayment, cancellation: bool) -> None:
        """Refuse a new authorisation the payment does not allow, or one while another of
        its kind is under way."""
        status = self.bank.transaction_status(payment)
        if cancellation and not (payment.cancel_requested and self.bank.awaits_execution(payment)):
            # NextGenPSD2: a cancellation authorisation follows the DELETE that asked for it.
            raise StatusInvalid(
                f"payment {payment.payment_id} is {status.value}: there is no cancellation"
                " to authorise (DELETE the payment first)"
            )
        if not cancellation:
            if any(i.state is PaymentState.EXPIRED for i in self.bank.intents(payment)):
                raise ResourceExpired(f"payment {payment.payment_id} has expired unauthorised")
            if status is not TransactionStatus.RCVD:
                raise StatusInvalid(
                    f"payment {payment.payment_id} is {status.value}: it allows no additional"
                    " authorisation"
                )
        ids = payment.cancellations if cancellation else payment.authorisations
        open_ = [a for a in ids if self._is_open(a)]
        if open_:
            raise StatusInvalid(
                f"authorisation {open_[0]} of payment {payment.payment_id} is under way;"
                " continue it instead of starting another"
            )

    def _is_open(self, authorisation_id: str) -> bool:
        auth = self.records.get(authorisation_id)
        return auth is not None and self.fresh(auth).sca_status not in SCA_TERMINAL

    def _payment_closed(self, payment: Xs2aPayment) -> None:
        """``payment`` ended unexecuted (expired, rejected, cancelled) or is executing:
        its authorisations still open have nothing left to authorise or cancel, and fail
        (so they end, too)."""
        for authorisation_id in (*payment.authorisations, *payment.cancellations):
            auth = self.records.get(authorisation_id)
            if auth is not None and auth.sca_status not in SCA_TERMINAL:
                self._move(auth, ScaEvent.FAIL)

    def _open(self, authorisation_id: str) -> Authorisation:
        auth = self.find(authorisation_id)
        if auth is None:
            raise ResourceUnknown(f"{self.bank.fsp_id} has no authorisation {authorisation_id}")
        if auth.sca_status in SCA_TERMINAL:
            raise StatusInvalid(
                f"authorisation {authorisation_id} is {auth.sca_status.value}: nothing to decide"
            )
        return auth

    def _may_sign(self, auth: Authorisation, payment: Xs2aPayment, psu: str) -> bool:
        """Whether ``psu`` may authorise ``auth`` (``Xs2aBank.signer``); a persona judged."""
        found = self.bank.signer(
            payment.order, payment.tpp, payment.owner, psu, cancellation=auth.cancellation
        )
        if not isinstance(found, bool):
            self.bank.judged(payment, found)
        return found is not False

    # -- steps -------------------------------------------------------------------------------

    def _identified(self, auth: Authorisation) -> Authorisation:
        """The PSU named themselves (PSU-ID). Decoupled: the push goes to their app at
        once: only the account's holder or a sandbox persona (whose refusal becomes the
        payment's outcome) gets one; anyone else changes nothing (``check_push``)."""
        if auth.approach is not Approach.DECOUPLED:
            return self._move(auth, ScaEvent.IDENTIFY)
        payment = self.bank.payments[auth.payment_id]
        persona = self.check_push(payment, auth.psu_id, cancellation=auth.cancellation)
        if persona is not None:
            self.bank.judged(payment, persona)
        now = self.bank.clock.now()
        delay = self.bank.settings.decoupled_approval_delay_s
        if delay is not None:
            self._approvals.put(auth.authorisation_id, now + timedelta(seconds=delay))
        return self.fresh(self._move(replace(auth, started_at=now), ScaEvent.START))

    def _authenticate(
        self, payment: Xs2aPayment, auth: Authorisation, psu_id: str | None, password: str
    ) -> Authorisation:
        psu = psu_id or auth.psu_id
        if psu is None:
            raise FormatError("send the PSU-ID header with psuData.password", path="PSU-ID")
        persona = psu != payment.owner and self._may_sign(auth, payment, psu)
        if not persona and (psu != payment.owner or not self._password_ok(psu, password)):
            self._wrong(replace(auth, psu_id=psu), "wrong PSU-ID or password")
        auth = replace(auth, psu_id=psu)
        if auth.approach is Approach.DECOUPLED:
            return self._identified(self._move(auth, ScaEvent.AUTHENTICATE))
        auth = self._move(auth, ScaEvent.AUTHENTICATE)
        methods = self.bank.profile.sca_methods
        if len(methods) == 1:
            return self._select(auth, methods[0].authentication_method_id)
        return auth

    def _select(self, auth: Authorisation, method_id: str) -> Authorisation:
        known = [m.authentication_method_id for m in self.bank.profile.sca_methods]
        if method_id not in known:
            raise ScaMethodUnknown(
                f"{method_id!r} is not one of the SCA methods offered: {known}",
                path="authenticationMethodId",
            )
        if auth.sca_status is not ScaStatus.PSU_AUTHENTICATED:
            raise StatusInvalid(
                f"authorisation {auth.authorisation_id} is {auth.sca_status.value}: send"
                " psuData.password before choosing a method"
            )
        return self._move(replace(auth, method_id=method_id), ScaEvent.SELECT)

    def _check_otp(self, auth: Authorisation, otp: str) -> Authorisation:
        if auth.sca_status is not ScaStatus.SCA_METHOD_SELECTED:
            raise StatusInvalid(
                f"authorisation {auth.authorisation_id} is {auth.sca_status.value}: choose"
                " an SCA method before sending scaAuthenticationData"
            )
        if not secrets.compare_digest(otp.encode(), self.bank.settings.otp.encode()):
            self._wrong(auth, "wrong OTP")
        return self._finalise(auth)

    def _update_redirected(self, auth: Authorisation, update: Update) -> Authorisation:
        if update.confirmation_code is None:
            raise _blocked(auth.approach, f"authorisation {auth.authorisation_id}")
        if auth.sca_status is not ScaStatus.UNCONFIRMED:
            raise StatusInvalid(
                f"authorisation {auth.authorisation_id} is {auth.sca_status.value}: no"
                " confirmation is awaited yet"
            )
        expected = (auth.confirmation_code or "").encode()
        if not secrets.compare_digest(update.confirmation_code.encode(), expected):
            self._wrong(auth, "wrong confirmation code")
        return self._finalise(replace(auth, confirmation_code=None), confirmed=True)

    def _wrong(self, auth: Authorisation, what: str) -> Authorisation:
        """Count a wrong credential; raise ``PsuCredentialsInvalid`` naming ``auth``, kept
        even when its start had the wrong password (else each guess would count afresh)."""
        auth = replace(auth, attempts=auth.attempts + 1)
        left = self.bank.settings.max_attempts - auth.attempts
        kept = auth.authorisation_id
        if left <= 0:
            self._fail(auth, f"{what}, no attempts left")
            raise PsuCredentialsInvalid(
                f"{what}: no attempts left, the authorisation has failed", authorisation_id=kept
            )
        self._put(auth)
        raise PsuCredentialsInvalid(f"{what}: {left} attempt(s) left", authorisation_id=kept)

    def _finalise(self, auth: Authorisation, *, confirmed: bool = False) -> Authorisation:
        """The PSU's SCA succeeded (``confirmed``: the TPP confirmed it, after
        ``unconfirmed``): finalise ``auth`` and do what it authorises."""
        mandated = self.bank.profile.authorisation_confirmation_request_mandated
        # The confirmation code rides on the redirect back to TPP-Redirect-URI: with OAuth
        # the browser goes back through the authorisation server, whose code is the proof.
        if auth.approach is Approach.REDIRECT and mandated and not confirmed:
            code = secrets.token_urlsafe(12)
            return self._move(replace(auth, confirmation_code=code), ScaEvent.AWAIT_CONFIRMATION)
        auth = self._move(auth, ScaEvent.CONFIRM if confirmed else ScaEvent.AUTHORISE)
        payment = self.bank.payments[auth.payment_id]
        if auth.cancellation:
            self.bank.cancel_now(payment)
            return auth
        for intent in self.bank.intents(payment):
            if intent.state is PaymentState.AUTHORISING:
                self.bank.bank.payments.authenticate(intent.intent_id, CoreScaEvent.SUBMIT)
                self.bank.bank.payments.authenticate(intent.intent_id, CoreScaEvent.PROVE)
        self.bank.authorised(self.bank.payments[auth.payment_id])
        return auth

    def _fail(self, auth: Authorisation, reason: str) -> Authorisation:
        auth = self._move(auth, ScaEvent.FAIL)
        if not auth.cancellation:
            payment = self.bank.payments[auth.payment_id]
            if self.bank.transaction_status(payment) is TransactionStatus.RCVD:
                self.bank.reject(payment, f"sca-failed: {reason}")
        return auth

    def _move(self, auth: Authorisation, event: ScaEvent) -> Authorisation:
        try:
            status = next_state(
                SCA_TRANSITIONS,
                SCA_TERMINAL,
                auth.sca_status,
                event,
                what=f"authorisation {auth.authorisation_id}",
            )
        except StateRefused as refused:
            raise StatusInvalid(str(refused)) from None
        return self._put(replace(auth, sca_status=status, history=(*auth.history, status.value)))

    def _put(self, auth: Authorisation) -> Authorisation:
        self.records.put(auth.authorisation_id, auth)
        if auth.sca_status in SCA_TERMINAL:
            self.records.end(auth.authorisation_id, at=self.bank.clock.now())
        return auth

    def _password_ok(self, user_id: str, password: str) -> bool:
        return self.bank.bank.password_ok(self.bank.fsp_id, user_id, password, self._password)

    def _back(self, auth: Authorisation, *, ok: bool) -> str | None:
        """Where the PSU's browser goes: the TPP's redirect URI (its NOK one after a
        failure, when it gave one), with the confirmation code when one is awaited."""
        if auth.approach not in _REDIRECTED:
            return None
        tpp = self.bank.payments[auth.payment_id].tpp
        target = tpp.redirect_uri if ok else (tpp.nok_redirect_uri or tpp.redirect_uri)
        if target is None or auth.confirmation_code is None:
            return target
        joiner = "&" if "?" in target else "?"
        return f"{target}{joiner}confirmationCode={auth.confirmation_code}"


def _blocked(approach: Approach, what: str) -> ServiceBlocked:
    """PSU data sent for a redirect (or OAuth) SCA, which the PSU does at the bank."""
    return ServiceBlocked(
        f"{what} uses the {approach.value} approach: send the PSU to the scaRedirect /"
        " scaOAuth link; only a confirmationCode may be PUT to its authorisation"
    )
