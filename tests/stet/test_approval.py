"""``stet.approval``: the bank's page for a REDIRECT payment request (what it shows, signing
in to choose an account that can pay, the password and its lock-out, denial, the headless
``sim_decision``) and the same approval for the bank's OAuth server (the o-confirmation
variant), each serving only the requests approved its way."""

from __future__ import annotations

import pytest

from tpsim.auth.oauth import OAuthJourney
from tpsim.auth.psu import UnknownJourney, WrongPassword
from tpsim.errors import LoginRefused
from tpsim.stet.api import intent_from_link

from .support import (
    CLAIRE,
    LUCA,
    NOK_URL,
    OK_URL,
    payment_request,
    transaction,
    world,
)


def test_the_page_shows_who_asks_what_and_from_the_named_account() -> None:
    w = world()
    view = w.page(w.create(debtor=CLAIRE)).view()
    assert (view.bank, view.requester) == ("dfspa", "Example TPP")
    assert view.purpose == (
        "asks you to approve a payment of 124.35 EUR to Louis Martin"
        " (FR1420041010050500013M02606), reference “Order 42”."
    )
    assert (view.user_id, view.user_name, view.sign_in_first) == ("claire", "Claire Dupont", False)
    assert [a.value for a in view.accounts] == ["dfspa.claire.courant"]
    assert view.accounts[0].detail == "EUR, 3000.00 available" and CLAIRE in view.accounts[0].label
    assert (view.accounts_legend, view.closed) == ("From account", None)


def test_without_a_debtor_account_the_psu_signs_in_first() -> None:
    w = world()
    two = [transaction("10.00", creditor=LUCA), transaction("20.00", creditor=LUCA, number=1)]
    view = w.page(w.create(transactions=two)).view()
    assert (view.sign_in_first, view.user_id, view.accounts) == (True, "", ())
    assert view.purpose == "asks you to approve a payment of 2 transfers, 30.00 EUR in all."


@pytest.mark.parametrize(
    ("amount", "offered"),
    [
        ("124.35", ["dfspa.claire.courant"]),  # her Livret A holds 20.00
        ("20.00", ["dfspa.claire.courant", "dfspa.claire.livret"]),
    ],
)
def test_signing_in_offers_the_users_accounts_that_can_pay(amount: str, offered: list[str]) -> None:
    w = world()
    view = w.page(w.create(amount=amount)).sign_in("claire", "claire")
    assert [a.value for a in view.accounts] == offered
    assert (view.user_name, view.choose_one) == ("Claire Dupont", True)


def test_a_user_without_an_account_that_can_pay_is_told_so() -> None:
    w = world()
    for amount, user in (("3000.01", "claire"), ("1.00", "erika")):  # too much; GBP only
        with pytest.raises(LoginRefused, match="you hold no EUR account") as refused:
            w.page(w.create(amount=amount)).sign_in(user, user)
        assert refused.value.http_status == 400


def test_wrong_passwords_at_sign_in_are_counted_and_the_last_sends_the_psu_back() -> None:
    w = world(behaviour={"max_attempts": 2})
    request_id = w.create()
    with pytest.raises(WrongPassword) as first:
        w.page(request_id).sign_in("claire", "guess")
    with pytest.raises(WrongPassword) as last:
        w.page(request_id).sign_in("claire", "guess")
    assert (first.value.left, first.value.redirect) == (1, None)
    assert (last.value.left, last.value.redirect) == (0, NOK_URL)
    assert w.status(request_id)[0] == "RJCT"
    assert w.page(request_id).view().closed == "this payment request is RJCT: nothing to approve"


def test_the_psu_pays_from_one_account_of_her_own() -> None:
    w = world()
    request_id = w.create()
    page = w.page(request_id)
    with pytest.raises(LoginRefused, match="choose one account"):
        page.approve_signed_in("claire", ["dfspa.claire.courant", "dfspa.claire.livret"])
    with pytest.raises(LoginRefused, match="claire does not hold") as refused:
        page.approve_signed_in("claire", ["dfspa.luca.giro"])
    assert refused.value.http_status == 400
    assert w.status(request_id)[0] == "ACTC"


def test_a_decided_request_cannot_be_decided_again() -> None:
    w = world()
    request_id = w.create(debtor=CLAIRE, creditor=LUCA)
    assert w.approved(request_id) == OK_URL
    with pytest.raises(LoginRefused, match="is ACSC, not awaiting") as refused:
        w.page(request_id).deny()
    assert refused.value.http_status == 409
    with pytest.raises(LoginRefused, match="is ACSC, not awaiting"):
        w.approved(request_id)
    assert w.status(request_id)[0] == "ACSC"


def test_the_headless_decision_approves_as_the_named_psu_from_the_named_account() -> None:
    w = world()
    request_id = w.create(amount="10.00", creditor=LUCA)
    page = w.page(request_id)
    assert page.decide_headless(True, "claire", "FR7630001007941234567890185") == OK_URL
    assert (w.balances()["livret"], w.balances()["claire"]) == ("10.00", "3000.00")
    denied = w.create()
    assert w.page(denied).decide_headless(False, None, None) == NOK_URL
    assert w.status(denied)[:2] == ("RJCT", "CUST")


def test_the_page_serves_only_redirect_requests_of_its_own_variant() -> None:
    w = world(profile={"approaches": ["REDIRECT", "DECOUPLED"]})
    decoupled = w.create(debtor=CLAIRE, approaches=("DECOUPLED",))
    for request_id in ("0" * 32, decoupled):
        with pytest.raises(UnknownJourney):
            w.page(request_id).view()
        with pytest.raises(UnknownJourney):
            w.api.approval.view(request_id)  # the OAuth variant's, off at this bank


@pytest.mark.parametrize("approach", ["REDIRECT", "DECOUPLED"])
def test_the_oauth_servers_page_cannot_decide_a_request_it_does_not_serve(approach: str) -> None:
    w = world(profile={"approaches": [approach]})
    request_id = w.create(debtor=CLAIRE, approaches=(approach,))
    pending = w.oauth.authorize(
        {
            "response_type": "code",
            "client_id": "tpp-one",
            "redirect_uri": "https://tpp.example/",
            "scope": "pisp",
            "paymentRequestResourceId": request_id,
        },
        intent=intent_from_link,
    )
    journey = OAuthJourney(w.oauth, pending.id, w.api.approval)
    with pytest.raises(UnknownJourney):
        journey.view()
    with pytest.raises(UnknownJourney):
        journey.approve("claire", "claire", [])
    assert w.status(request_id)[0] == "ACTC"


def test_in_the_o_confirmation_variant_the_psu_approves_through_the_oauth_server_only() -> None:
    w = world(profile={"o_confirmation": True})
    request_id = w.create()
    with pytest.raises(UnknownJourney):
        w.page(request_id).view()
    assert w.api.approval.client_of(request_id) == "tpp-one"
    assert w.api.approval.client_of("0" * 32) is None
    view = w.api.approval.view(request_id)
    assert view.sign_in_first and view.requester == "Example TPP"
    w.api.approval.deny(request_id)
    assert w.stet.status(w.stet.get(request_id)) == "RJCT"


def test_a_report_url_is_where_the_browser_goes_back_whatever_the_pisp_put_in_it() -> None:
    w = world()
    body = payment_request(report=("https://tpp.example/ok?order=42&x=%20", None))
    request_id = w.create(body)
    assert w.page(request_id).deny() == "https://tpp.example/ok?order=42&x=%20"
