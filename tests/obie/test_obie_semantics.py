"""What the UK bank lets a TPP or a visitor learn and do beyond the happy path: the
consent page of a consent that names no debtor account (the digest §1.3 step 4: the PSU
logs in, then selects a debtor account of theirs), and when an unused consent ended."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tpsim.auth.psu import WrongPassword
from tpsim.config_psd2 import ObieProfile
from tpsim.errors import LoginRefused
from tpsim.obie.answers import when

from .support import MITS, MITS_2, START, VERSIONS, consent_body, world


def test_a_consent_naming_no_account_shows_no_customers_account_before_the_psu_signs_in() -> None:
    w = world()
    consent_id = str(w.consent(debtor=None).consent_id)
    view = w.api.approval.view(consent_id)
    assert view.sign_in_first and view.accounts == ()
    shown = repr(view)  # the creditor (rora) is named, no debtor account is
    assert all(a not in shown for a in (MITS, MITS_2, "dfspa.mits", "available"))


def test_the_psu_who_signed_in_chooses_among_their_own_accounts_only() -> None:
    w = world()
    consent_id = str(w.consent(debtor=None).consent_id)
    mine = w.api.approval.sign_in(consent_id, "mits", "mits")
    assert {a.value for a in mine.accounts} == {"dfspa.mits", "dfspa.mits.savings"}
    assert not mine.sign_in_first and mine.user_id == "mits"
    with pytest.raises(LoginRefused, match="does not hold"):
        w.api.approval.approve(consent_id, "mits", None, ["dfspa.rora"])
    assert w.api.approval.approve(consent_id, "mits", None, ["dfspa.mits.savings"]) == "mits"
    assert w.obie.consent(consent_id, "4.0").debtor == "dfspa.mits.savings"


def test_signing_in_with_a_wrong_password_is_counted_and_the_last_rejects_the_consent() -> None:
    w = world(behaviour={"max_attempts": 2})
    consent_id = str(w.consent(debtor=None).consent_id)
    lefts = []
    for _ in range(2):
        with pytest.raises(WrongPassword) as caught:
            w.api.approval.sign_in(consent_id, "mits", "guess")
        lefts.append(caught.value.left)
    assert lefts == [1, 0]
    found = w.obie.consent(consent_id, "4.0")
    assert (found.state.value, found.reason) == ("REJECTED", "U033")


def test_a_psu_holding_no_account_in_the_currency_is_told_so() -> None:
    w = world()
    body = consent_body(debtor=None)
    body["Data"]["Initiation"]["InstructedAmount"]["Currency"] = "EUR"
    consent_id = str(w.consent(body=body).consent_id)
    with pytest.raises(LoginRefused, match="no EUR account"):
        w.api.approval.sign_in(consent_id, "mits", "mits")


# -- when an unused consent ended -------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("profile", "ended"),
    [
        pytest.param(ObieProfile(), START + timedelta(hours=24), id="expired (U036)"),
        pytest.param(ObieProfile(cut_off_time="17:00"), START.replace(hour=17), id="cut-off"),
    ],
)
def test_an_unused_consent_reads_rejected_as_of_when_it_ended_not_of_when_it_was_read(
    version: str, profile: ObieProfile, ended: datetime
) -> None:
    w = world(profile=profile)
    consent = w.consent(version)
    w.clock.advance(timedelta(hours=30).total_seconds())  # read later than it ended
    got = w.call("GET", f"domestic-payment-consents/{consent.consent_id}", version=version,
                 token=w.client_token())  # fmt: skip
    assert got.body is not None
    assert got.body["Data"]["Status"] in ("Rejected", "RJCT")
    assert got.body["Data"]["StatusUpdateDateTime"] == when(ended)


def test_a_decision_naming_no_account_lists_the_accounts_the_psu_may_pick() -> None:
    w = world()
    consent_id = str(w.consent(debtor=None).consent_id)
    with pytest.raises(LoginRefused) as several:
        w.api.approval.approve(consent_id, "mits", None, [])
    assert MITS in str(several.value) and MITS_2 in str(several.value)
    with pytest.raises(LoginRefused, match="'mitz' holds no GBP account at dfspa"):
        w.api.approval.approve(consent_id, "mitz", None, [])
