"""XS2A semantics an adversarial review found wrong, each pinned by what the Berlin Group
rules (the digest §2.1, §2.4) ask for: who may authorise a payment's cancellation, and
that a cancellation which did not happen leaves the payment as it was."""

from __future__ import annotations

from typing import Any

import pytest

from tests.xs2a.support import ERIKA, MAX, PASSWORD, REDIRECT, World, single, world
from tests.xs2a.test_bank import SCT, day, pay
from tpsim.xs2a.journey import OAuthApproval, RedirectJourney

_MANDATED = {"payment_cancellation_authorisation_mandated": True}


def _future_payment(w: World) -> str:
    """erika's payment to max in two days, authorised: it waits (ACTC)."""
    answer = pay(w, single(requestedExecutionDate=day(2)))
    assert w.status(answer) == "ACTC"
    assert answer.payment_id is not None
    return answer.payment_id


def _code(answer: Any) -> tuple[int, str]:
    return answer.status, answer.body["tppMessages"][0]["code"]


@pytest.mark.parametrize("persona", ["PSU-Rejected", "PSU-InternalLimit"])
def test_a_persona_naming_itself_for_a_cancellation_changes_nothing_of_the_payment(
    persona: str,
) -> None:
    # A sandbox persona may authorise a payment's *initiation* (its refusal becomes the
    # outcome). Named for a cancellation (decoupled: the push goes to the PSU-ID), it holds
    # no account: refused, and the payment, which nobody cancelled, still pays on its date.
    w = world(profile=_MANDATED)
    payment_id = _future_payment(w)
    cancel = w.call("DELETE", f"{SCT}/{payment_id}", TPP_Explicit_Authorisation_Preferred="true")
    assert cancel.status == 202 and cancel.authorisation_id is None
    started = w.call("POST", f"{SCT}/{payment_id}/cancellation-authorisations", {}, PSU_ID=persona)
    assert _code(started) == (401, "PSU_CREDENTIALS_INVALID")
    w.advance(days=3)
    got = w.call("GET", f"{SCT}/{payment_id}/status")
    assert got.body == {"transactionStatus": "ACCC", "fundsAvailable": True}
    assert (w.balances()[ERIKA], w.balances()[MAX]) == ("900.00", "100.00")


def test_a_persona_cannot_approve_the_cancellation_of_a_payment_it_does_not_hold() -> None:
    w = world(profile=_MANDATED)
    answer = w.initiate(single(requestedExecutionDate=day(2)), SCT, **REDIRECT)
    assert answer.authorisation_id is not None
    w.auths.approve(answer.authorisation_id, None, None)
    assert w.status(answer) == "ACTC"
    cancel = w.call("DELETE", f"{SCT}/{answer.payment_id}", **REDIRECT)
    assert cancel.status == 202 and cancel.authorisation_id is not None
    with pytest.raises(Exception, match="does not hold the account"):
        w.auths.approve(cancel.authorisation_id, "PSU-Rejected", None)  # sim_psu=PSU-Rejected
    assert w.status(answer) == "ACTC"
    w.advance(days=3)
    assert (w.status(answer), w.balances()[ERIKA]) == ("ACCC", "900.00")


@pytest.mark.parametrize("profile", [{}, _MANDATED], ids=["cancel-without-sca", "mandated"])
def test_a_cancellation_authorisation_needs_the_tpps_cancellation_first(
    profile: dict[str, Any],
) -> None:
    # NextGenPSD2 1.3.11, startPaymentInitiationCancellationAuthorisation: it applies after
    # "the preceding payment cancellation response" (DELETE 202) asked for one. A TPP that
    # POSTs …/cancellation-authorisations for a payment it never DELETEd (meaning
    # …/authorisations) must not get a PSU's approval that silently cancels it.
    w = world(profile=profile)
    payment_id = _future_payment(w)
    stray = w.call("POST", f"{SCT}/{payment_id}/cancellation-authorisations", {}, PSU_ID="erika")
    assert _code(stray) == (409, "STATUS_INVALID")
    assert "DELETE" in stray.body["tppMessages"][0]["text"]  # type: ignore[index]
    listed = w.call("GET", f"{SCT}/{payment_id}/cancellation-authorisations")
    assert listed.body == {"authorisationIds": []}
    w.advance(days=3)
    assert (w.balances()[ERIKA], w.balances()[MAX]) == ("900.00", "100.00")


def test_after_a_202_delete_the_cancellation_is_authorised_explicitly() -> None:
    w = world(profile=_MANDATED)
    payment_id = _future_payment(w)
    cancel = w.call("DELETE", f"{SCT}/{payment_id}", TPP_Explicit_Authorisation_Preferred="true")
    assert cancel.status == 202
    started = w.call("POST", f"{SCT}/{payment_id}/cancellation-authorisations", {}, PSU_ID="erika")
    assert started.status == 201 and started.body is not None
    w.auths.approve(started.body["authorisationId"], None, None)
    w.advance(days=3)
    got = w.call("GET", f"{SCT}/{payment_id}/status")
    assert got.body is not None and got.body["transactionStatus"] == "CANC"
    assert w.balances()[ERIKA] == "1000.00"


def test_the_banks_page_says_a_cancellation_authorisation_cancels() -> None:
    w = world(profile=_MANDATED)
    answer = w.initiate(single(requestedExecutionDate=day(2)), SCT, **REDIRECT)
    assert answer.authorisation_id is not None
    assert (
        "approve a payment of" in RedirectJourney(w.auths, answer.authorisation_id).view().purpose
    )
    w.auths.approve(answer.authorisation_id, None, None)
    cancel = w.call("DELETE", f"{SCT}/{answer.payment_id}", **REDIRECT)
    assert cancel.authorisation_id is not None
    purpose = RedirectJourney(w.auths, cancel.authorisation_id).view().purpose
    assert "cancel" in purpose and "approve a payment of" not in purpose


def test_an_oauth_payments_cancellation_is_authorised_through_the_banks_oauth_server() -> None:
    # The 202 hands the TPP scaOAuth for the cancellation authorisation: the bank's OAuth
    # server (scope PIS:{paymentId}) must let the PSU approve that cancellation.
    w = world(profile={"sca_approaches_supported": ["OAUTH"], **_MANDATED})
    answer = w.initiate(single(requestedExecutionDate=day(2)))
    assert answer.payment_id is not None
    approval = OAuthApproval(w.auths)
    approval.approve(answer.payment_id, None, PASSWORD, [])
    assert w.status(answer) == "ACTC"
    cancel = w.call("DELETE", f"{SCT}/{answer.payment_id}")
    assert cancel.status == 202 and cancel.body is not None
    assert "scaOAuth" in cancel.body["_links"]
    view = approval.view(answer.payment_id)
    assert view.closed is None and "cancel" in view.purpose
    assert approval.approve(answer.payment_id, None, PASSWORD, []) == "erika"
    got = w.call(
        "GET", f"{SCT}/{answer.payment_id}/cancellation-authorisations/{cancel.authorisation_id}"
    )
    assert got.body == {"scaStatus": "finalised"}
    w.advance(days=3)
    assert (w.status(answer), w.balances()[ERIKA]) == ("CANC", "1000.00")


def test_an_oauth_cancellation_denied_leaves_the_payment_to_execute() -> None:
    w = world(profile={"sca_approaches_supported": ["OAUTH"], **_MANDATED})
    answer = w.initiate(single(requestedExecutionDate=day(2)))
    assert answer.payment_id is not None
    approval = OAuthApproval(w.auths)
    approval.approve(answer.payment_id, None, PASSWORD, [])
    assert w.call("DELETE", f"{SCT}/{answer.payment_id}").status == 202
    approval.deny(answer.payment_id)
    w.advance(days=3)
    assert (w.status(answer), w.balances()[ERIKA]) == ("ACCC", "900.00")
