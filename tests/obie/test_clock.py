"""What the clock does to UK consents nobody reads again: ``ObieBank.tick`` ends a consent
at its expiry (U036) or its cut-off (U012, the reject strategy), its core intent with it,
and the retention then forgets both; a consumed consent is not the cut-off's any more."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tpsim.config_psd2 import ObieProfile
from tpsim.core.errors import UnknownPayment
from tpsim.core.states import PaymentState
from tpsim.obie.states import ConsentState

from .support import MITS, START, VERSIONS, consent_body, world


def test_an_unread_consent_expires_by_the_timer_and_is_then_forgotten() -> None:
    w = world(profile=ObieProfile(consent_expiry_s=600), retention=timedelta(seconds=60))
    waiting = w.consent()
    assert w.obie.next_due() == START + timedelta(seconds=600)
    w.advance(seconds=601)  # nobody reads it
    kept = w.obie.consents.get(str(waiting.consent_id))
    assert kept is not None
    assert (kept.state, kept.reason) == (ConsentState.REJECTED, "U036")
    assert w.obie.next_due() is None
    w.advance(hours=24, seconds=61)  # the retention, but never less than a key's 24 hours
    assert w.obie.consents.get(str(waiting.consent_id)) is None


def test_an_authorised_unused_consent_expires_by_the_timer_and_ends_its_intent() -> None:
    w = world(profile=ObieProfile(consent_expiry_s=600), retention=timedelta(seconds=60))
    consent, _token = w.authorised()
    consent_id = str(consent.consent_id)
    assert w.bank.payments.get(consent_id).state is PaymentState.AUTHORISED
    w.advance(seconds=601)
    kept = w.obie.consents.get(consent_id)
    assert kept is not None and (kept.state, kept.reason) == (ConsentState.REJECTED, "U036")
    assert w.bank.payments.get(consent_id).state is PaymentState.EXPIRED
    w.advance(hours=24, seconds=61)
    assert w.obie.consents.get(consent_id) is None
    w.authorised()  # the next intent kept sweeps the ended ones
    with pytest.raises(UnknownPayment):
        w.bank.payments.get(consent_id)
    assert w.available(MITS) == 1000


def test_a_consumed_consent_leaves_the_timer() -> None:
    w = world(profile=ObieProfile(consent_expiry_s=600))
    consent, token = w.authorised()
    assert w.pay(consent, token).status == 201
    assert w.obie.next_due() is None
    w.advance(seconds=601)
    kept = w.obie.consents.get(str(consent.consent_id))
    assert kept is not None and kept.state is ConsentState.CONSUMED


@pytest.mark.parametrize("authorised", [False, True])
def test_an_unread_consent_is_rejected_at_its_cut_off_by_the_timer(authorised: bool) -> None:
    w = world(profile=ObieProfile(cut_off_time="09:30"))  # the clock starts at 09:00 UTC
    consent = w.authorised()[0] if authorised else w.consent()
    assert w.obie.next_due() == START + timedelta(minutes=30)
    w.advance(minutes=30)
    kept = w.obie.consents.get(str(consent.consent_id))
    assert kept is not None and (kept.state, kept.reason) == (ConsentState.REJECTED, "U012")


def test_a_consent_past_its_cut_off_reads_rejected_u012() -> None:
    w = world(profile=ObieProfile(cut_off_time="09:30"))
    consent = w.consent()
    w.clock.advance(1800)  # no tick: the read finds it
    got = w.call("GET", f"domestic-payment-consents/{consent.consent_id}", token=w.client_token())
    assert got.body is not None
    data = got.body["Data"]
    assert (data["Status"], data["StatusReason"][0]["StatusReasonCode"]) == ("RJCT", "U012")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_second_payment_on_a_consumed_consent_after_its_cut_off_is_told_it_paid(
    version: str,
) -> None:
    w = world(profile=ObieProfile(cut_off_time="09:30"))
    consent, token = w.authorised(version)
    assert w.pay(consent, token, version).status == 201
    w.advance(minutes=31)
    again = w.pay(consent, token, version)  # another x-idempotency-key
    assert again.body is not None
    code = again.body["Errors"][0]["ErrorCode"]
    if version == "4.0":
        assert (again.status, code) == (409, "U029")
    else:
        assert (again.status, code) == (400, "UK.OBIE.Resource.InvalidConsentStatus")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_replay_within_24_hours_finds_its_resources_after_the_retention(version: str) -> None:
    """Consents and payments outlive a short retention while their keys live (24 h), and a
    payment keeps the status it ended in after the core intent behind it is forgotten."""
    w = world(retention=timedelta(seconds=60), max_ended=100)
    token = w.client_token()
    body = consent_body(version)
    made = w.call("POST", "domestic-payment-consents", body, version=version, token=token,
                  x_idempotency_key="consent-key")  # fmt: skip
    psu = w.authorise(str(made.consent_id))
    paid = w.pay(made, psu, version, x_idempotency_key="payment-key")
    w.advance(minutes=10)  # far past the retention, the tokens still valid
    w.authorised(version)  # other traffic: the bank sweeps what its retention let go
    with pytest.raises(UnknownPayment):
        w.bank.payments.get(str(made.consent_id))
    again = w.call("POST", "domestic-payment-consents", body, version=version, token=token,
                   x_idempotency_key="consent-key")  # fmt: skip
    assert (again.status, again.consent_id) == (201, made.consent_id)
    replayed = w.pay(made, psu, version, x_idempotency_key="payment-key")
    assert (replayed.status, replayed.payment_id) == (201, paid.payment_id)
    # The payment as it is now (x-idempotency-key: the resource, not the first answer,
    # whose v4.0 status was RCVD).
    now = w.call("GET", f"domestic-payments/{paid.payment_id}", version=version,
                 token=w.client_token())  # fmt: skip
    assert replayed.body is not None and now.body is not None
    assert replayed.body["Data"]["Status"] == now.body["Data"]["Status"]


def test_the_keys_have_their_own_bound_ten_times_the_resources() -> None:
    """``max_ended`` bounds ended consents and payments; the keys get ten times as many, so a
    burst of requests does not make the bank forget a key whose resource it still has."""
    w = world(max_ended=3)
    token = w.client_token()
    made = [
        w.call(
            "POST",
            "domestic-payment-consents",
            consent_body(e2e=f"E2E-{n}"),
            token=token,
            x_idempotency_key=f"key-{n}",
        )  # fmt: skip
        for n in range(12)
    ]
    again = w.call("POST", "domestic-payment-consents", consent_body(e2e="E2E-0"),
                   token=token, x_idempotency_key="key-0")  # fmt: skip
    assert (again.status, again.consent_id) == (201, made[0].consent_id)
