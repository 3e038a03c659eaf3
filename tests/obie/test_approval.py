"""``obie.approval`` and ``ObieBank.decide``: the consent page as the OAuth server's
``IntentApproval`` (what it shows, the password, the account, denial, lock-out) and the
admin/headless decision."""

from __future__ import annotations

import pytest

from tpsim.auth.oauth import OAuthError
from tpsim.auth.psu import UnknownJourney, WrongPassword
from tpsim.errors import LoginRefused
from tpsim.obie.errors import InvalidConsentStatus, ObieError

from .support import MITS, TPP_TWO, VERSIONS, world


def test_the_page_shows_the_payee_amount_reference_and_account() -> None:
    w = world()
    consent = w.consent()
    view = w.api.approval.view(str(consent.consent_id))
    assert view.requester == "Example TPP" and view.user_id == "mits"
    assert "10.50 GBP to Rora Roberts" in view.purpose and "Invoice 42" in view.purpose
    assert [a.value for a in view.accounts] == ["dfspa.mits"] and view.closed is None


def test_without_a_debtor_account_the_psu_signs_in_then_chooses_one_of_theirs() -> None:
    w = world()
    consent_id = str(w.consent(debtor=None).consent_id)
    assert w.api.approval.view(consent_id).accounts == ()
    view = w.api.approval.sign_in(consent_id, "mits", "mits")
    assert {a.value for a in view.accounts} == {"dfspa.mits", "dfspa.mits.savings"}
    with pytest.raises(LoginRefused, match="one account"):
        w.api.approval.approve(consent_id, "mits", None, ["dfspa.mits", "dfspa.mits.savings"])


@pytest.mark.parametrize("version", VERSIONS)
def test_a_denial_rejects_the_consent(version: str) -> None:
    w = world()
    consent = w.consent(version)
    w.api.approval.deny(str(consent.consent_id))
    got = w.call("GET", f"domestic-payment-consents/{consent.consent_id}", version=version,
                 token=w.client_token())  # fmt: skip
    assert got.body is not None
    assert got.body["Data"]["Status"] == ("Rejected" if version == "3.1" else "RJCT")
    if version == "4.0":
        assert got.body["Data"]["StatusReason"][0]["StatusReasonCode"] == "U037"
    view = w.api.approval.view(str(consent.consent_id))
    assert view.closed is not None and "nothing to approve" in view.closed


def test_wrong_passwords_are_counted_and_the_last_rejects_the_consent() -> None:
    w = world(behaviour={"max_attempts": 3})
    consent_id = str(w.consent().consent_id)
    lefts = []
    for _ in range(3):
        with pytest.raises(WrongPassword) as caught:
            w.api.approval.approve(consent_id, None, "guess", [])
        lefts.append(caught.value.left)
    assert lefts == [2, 1, 0]
    found = w.obie.consent(consent_id, "4.0")
    assert (found.state.value, found.reason) == ("REJECTED", "U033")


def test_only_the_holder_of_the_account_may_approve() -> None:
    w = world()
    with pytest.raises(LoginRefused, match="does not hold"):
        w.api.approval.approve(str(w.consent().consent_id), "rora", "rora", [])


def test_an_unknown_consent_is_the_pages_404() -> None:
    w = world()
    with pytest.raises(UnknownJourney):
        w.api.approval.view("nope")
    with pytest.raises(UnknownJourney):
        w.api.approval.approve("nope", None, None, [])


@pytest.mark.parametrize(("version", "words"), [("3.1", ("Authorised", "Rejected")),
                                                ("4.0", ("AUTH", "RJCT"))])  # fmt: skip
def test_the_admin_decision_answers_the_consents_new_status(
    version: str, words: tuple[str, str]
) -> None:
    w = world()
    approved, denied = w.consent(version), w.consent(version)
    assert w.obie.decide(str(approved.consent_id), True, None, None) == words[0]
    assert w.obie.decide(str(denied.consent_id), False, None, None) == words[1]
    with pytest.raises(InvalidConsentStatus):
        w.obie.decide(str(approved.consent_id), True, None, None)


def test_the_admin_decision_may_choose_the_account_by_any_alias() -> None:
    w = world()
    consent = w.consent(debtor=None)
    assert w.obie.decide(str(consent.consent_id), True, "mits", MITS) == "AUTH"
    with pytest.raises(ObieError, match="not an account"):
        w.obie.decide(str(w.consent(debtor=None).consent_id), True, "mits", "00000000000000")


def test_a_tpp_cannot_have_the_psu_authorise_another_tpps_consent() -> None:
    w = world()
    consent_id = str(w.consent().consent_id)
    with pytest.raises(OAuthError, match="does not name the payment or consent"):
        w.authorise(consent_id, tpp=TPP_TWO)
    assert w.obie.consent(consent_id, "4.0").state.value == "AWAITING"
