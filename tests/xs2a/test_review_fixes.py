"""What a review of the XS2A bank found, each pinned by the behaviour the spec and the
issue ask for (bounded memory, who may authorise, statuses, cancellation, idempotency,
the bank's order of preference)."""

from __future__ import annotations

from datetime import timedelta

from tests.xs2a.support import (
    DECOUPLED,
    ERIKA,
    MAX,
    NOBODY,
    REDIRECT,
    bulk,
    single,
    world,
)
from tests.xs2a.test_bank import SCT, pay, rule
from tpsim.config_psd2 import Xs2aProfile
from tpsim.core.rules import Outcome, Status
from tpsim.xs2a.initiation import choose_approach
from tpsim.xs2a.resources import Approach, TppRequest


def test_payments_nobody_comes_back_to_expire_and_are_forgotten() -> None:
    w = world(retention=timedelta(hours=1), max_ended=10)
    for _ in range(20):
        w.initiate(**REDIRECT)
    w.advance(days=2)  # past the 24 h to authorise: all expire, unread
    w.initiate(**REDIRECT)
    assert len(w.xs2a.payments) <= 10 + 1  # retention_max ended ones, and the new one
    w.advance(hours=2)  # past the hour of retention
    w.initiate(**REDIRECT)
    assert (len(w.xs2a.payments), len(w.auths.records)) == (2, 2)


def test_decoupled_sca_goes_only_to_the_holder_of_the_debited_account() -> None:
    w = world(behaviour={"decoupled_approval_delay_s": 5})
    refused = w.call("POST", SCT, single(), **{**DECOUPLED, "PSU-ID": "mallory"})
    assert (refused.status, refused.body["tppMessages"][0]["code"]) == (  # type: ignore[index]
        401,
        "PSU_CREDENTIALS_INVALID",
    )
    w.advance(seconds=10)
    assert w.balances()[ERIKA] == "1000.00"


def test_a_sandbox_persona_may_sign_in_and_its_payment_is_refused() -> None:
    w = world()
    answer = w.initiate(**REDIRECT)
    assert answer.authorisation_id is not None
    w.auths.approve(answer.authorisation_id, "PSU-Rejected", None)  # sim_psu=PSU-Rejected
    assert (w.status(answer), w.balances()[ERIKA]) == ("RJCT", "1000.00")


def test_a_bulk_whose_entries_all_settled_is_not_partial() -> None:
    w = world()
    answer = pay(w, bulk("1.00", "2.00"), "bulk-payments/sepa-credit-transfers")
    assert w.status(answer, "bulk-payments/sepa-credit-transfers") == "ACCC"
    mixed = bulk("1.00", "2.00")
    mixed["payments"][1]["creditorAccount"] = {"iban": NOBODY}
    answer = pay(w, mixed, "bulk-payments/sepa-credit-transfers")
    assert w.status(answer, "bulk-payments/sepa-credit-transfers") == "ACSC"


def test_a_payment_held_by_a_rule_is_cancelled_with_its_own_sca_when_mandated() -> None:
    w = world(
        rules=[rule("hold", Outcome(status=Status.ACCEPTED), creditor=MAX)],
        profile={"payment_cancellation_authorisation_mandated": True},
    )
    answer = pay(w)
    assert w.status(answer) == "ACCP"
    cancel = w.call("DELETE", f"{SCT}/{answer.payment_id}", **DECOUPLED)
    assert cancel.status == 202 and cancel.authorisation_id is not None
    w.auths.approve(cancel.authorisation_id, None, None)
    assert w.status(answer) == "CANC"


def test_a_rule_settling_at_the_creditor_reports_accc_whoever_the_creditor() -> None:
    w = world(rules=[rule("credited", Outcome(status=Status.SETTLED_CREDITOR), creditor=NOBODY)])
    assert w.status(pay(w, single(creditor=NOBODY))) == "ACCC"


def test_a_refused_initiation_does_not_use_up_its_x_request_id() -> None:
    w = world(profile={"idempotent_x_request_id": True})
    assert w.call("POST", SCT, {"x": 1}, **REDIRECT).status == 400
    first = w.call("POST", SCT, single(), **REDIRECT)
    again = w.call("POST", SCT, single(), **REDIRECT)
    assert (first.status, again.status, again.payment_id) == (201, 201, first.payment_id)


def test_the_bank_chooses_among_the_preferred_approaches_in_its_own_order() -> None:
    redirect = TppRequest("tpp", "TPP", redirect_preferred=True)
    embedded = TppRequest("tpp", "TPP", redirect_preferred=False)
    oauth_first = Xs2aProfile(sca_approaches_supported=["OAUTH", "REDIRECT"])
    decoupled_first = Xs2aProfile(sca_approaches_supported=["DECOUPLED", "EMBEDDED"])
    assert choose_approach(oauth_first, redirect) is Approach.OAUTH
    assert choose_approach(decoupled_first, embedded) is Approach.DECOUPLED


# -- amounts finer than the currency's minor unit (core.money) ----------------------------


def test_an_amount_finer_than_a_cent_is_refused_at_initiation_and_moves_nothing() -> None:
    w = world()
    before = w.balances()
    refused = w.call("POST", SCT, single("10.005"), **REDIRECT)
    assert refused.status == 400 and refused.body is not None
    [message] = refused.body["tppMessages"]
    assert (message["code"], message["path"]) == ("FORMAT_ERROR", "instructedAmount.amount")
    assert "at most 2 decimals" in message["text"]
    assert len(w.xs2a.payments) == 0
    assert w.balances() == before


def test_a_bulk_entry_finer_than_a_cent_is_named_by_its_index() -> None:
    w = world()
    refused = w.call(
        "POST", "bulk-payments/sepa-credit-transfers", bulk("1.00", "2.001"), **REDIRECT
    )
    assert refused.status == 400 and refused.body is not None
    [message] = refused.body["tppMessages"]
    assert message["path"] == "payments.1.instructedAmount.amount"


def test_trailing_zeros_are_no_finer_than_a_cent() -> None:
    w = world()
    w.initiate(single("10.500"), **REDIRECT)
