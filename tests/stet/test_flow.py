"""The STET flows as a PISP drives them through ``StetApi`` (every answer checked with
``sent_problems``), with the money read from the ledger: REDIRECT at the bank's page,
EMBEDDED-1-FACTOR by the relayed OTP, DECOUPLED by the admin's decision or the clock, the
PISP's confirmation and the o-confirmation variant, cancellation by PUT, a future
requestedExecutionDate, and the sandbox personas."""

from __future__ import annotations

from typing import Any

import pytest

from tpsim.auth.psu import WrongPassword
from tpsim.core.payment import PaymentState
from tpsim.core.settlement import SettlementOutcome
from tpsim.errors import LoginRefused

from .support import (
    CLAIRE,
    LIVRET,
    LOUIS,
    LUCA,
    NOK_URL,
    OK_URL,
    OUTSIDE,
    TOMORROW,
    World,
    code,
    payment_request,
    statuses,
    transaction,
    world,
)

TWO = [transaction("10.00", creditor=LUCA), transaction("20.00", creditor=OUTSIDE, number=1)]


def confirm_path(request_id: str, which: str = "confirmation") -> str:
    return f"payment-requests/{request_id}/{which}"


def bank_status(w: World, request_id: str) -> str:
    """The status the bank holds (read without the API: see test_api's oConfirmation bug)."""
    return w.stet.status(w.stet.get(request_id))


# -- REDIRECT ------------------------------------------------------------------------------


def test_the_psu_approves_the_named_account_and_a_creditor_at_the_same_bank_is_credited() -> None:
    w = world()
    request_id = w.create(debtor=CLAIRE, creditor=LUCA)
    assert w.status(request_id) == ("ACTC", None, [None])
    assert w.approved(request_id) == OK_URL
    assert w.status(request_id) == ("ACSC", None, ["ACSC"])
    assert w.balances() == {
        "claire": "2875.65",
        "livret": "20.00",
        "luca": "224.35",
        "louis": "0.00",
    }


def test_without_a_debtor_account_the_psu_signs_in_and_chooses_one_that_can_pay() -> None:
    w = world()
    request_id = w.create(creditor=LUCA)
    page = w.page(request_id)
    offered = page.sign_in("claire", "claire")
    assert [a.value for a in offered.accounts] == ["dfspa.claire.courant"]  # the livret is poor
    assert page.approve_signed_in("claire", ["dfspa.claire.courant"]) == OK_URL
    got = w.get(request_id)
    assert got.body is not None and got.body["paymentRequest"]["debtorAccount"] == {"iban": CLAIRE}
    assert statuses(got)[0] == "ACSC" and w.balances()["claire"] == "2875.65"


def test_a_headless_approval_pays_from_the_users_first_account_that_can_pay() -> None:
    w = world()
    request_id = w.create(amount="15.00", creditor=LUCA)
    assert w.page(request_id).decide_headless(True, "claire", None) == OK_URL
    assert w.status(request_id)[0] == "ACSC"
    assert (w.balances()["claire"], w.balances()["livret"]) == ("2985.00", "20.00")


def test_wrong_passwords_are_counted_and_the_last_rejects_the_request() -> None:
    w = world(behaviour={"max_attempts": 3})
    request_id = w.create(debtor=CLAIRE)
    lefts, backs = [], []
    for _ in range(3):
        with pytest.raises(WrongPassword) as wrong:
            w.page(request_id).approve("claire", "guess", [])
        lefts.append(wrong.value.left)
        backs.append(wrong.value.redirect)
    assert (lefts, backs) == ([2, 1, 0], [None, None, NOK_URL])
    assert w.status(request_id) == ("RJCT", "MS03", ["RJCT"])
    assert w.balances()["claire"] == "3000.00"


@pytest.mark.parametrize(("unsuccessful", "back"), [(NOK_URL, NOK_URL), (None, OK_URL)])
def test_a_denial_is_rjct_cust_and_sends_the_psu_to_the_unsuccessful_url(
    unsuccessful: str | None, back: str
) -> None:
    w = world()
    request_id = w.create(report=(OK_URL, unsuccessful))
    assert w.page(request_id).deny() == back
    assert w.status(request_id) == ("RJCT", "CUST", ["RJCT"])


def test_a_creditor_outside_tpsim_reads_acsc_and_only_the_debtor_is_debited() -> None:
    w = world()
    request_id = w.create(debtor=CLAIRE, creditor=OUTSIDE)
    w.approved(request_id)
    assert w.status(request_id) == ("ACSC", None, ["ACSC"])
    assert w.balances()["claire"] == "2875.65" and not w.settlement.requests


def test_a_creditor_at_another_simulated_bank_is_acsp_until_the_settlement_commits() -> None:
    w = world()
    request_id = w.create(debtor=CLAIRE, creditor=LOUIS)
    w.approved(request_id)
    assert w.status(request_id) == ("ACSP", None, ["ACSP"])
    w.settle(SettlementOutcome.SETTLED)
    assert w.status(request_id) == ("ACSC", None, ["ACSC"])


def test_insufficient_funds_reject_the_request_cust_and_leave_the_balance_untouched() -> None:
    w = world()
    request_id = w.create(debtor=LIVRET, creditor=LUCA)
    w.approved(request_id)
    assert w.status(request_id) == ("RJCT", "CUST", ["RJCT"])
    assert (w.balances()["livret"], w.balances()["luca"]) == ("20.00", "100.00")


def test_an_approval_not_given_in_time_ends_noas_when_read() -> None:
    w = world(profile={"approval_expiry_s": 300})
    request_id = w.create()
    w.clock.advance(299)
    assert w.status(request_id)[0] == "ACTC"
    w.clock.advance(1)
    assert w.status(request_id) == ("RJCT", "NOAS", ["RJCT"])


def test_an_approval_not_given_in_time_ends_noas_by_the_clock_alone() -> None:
    w = world(profile={"approval_expiry_s": 300})
    request_id = w.create()
    w.advance(seconds=300)
    found = w.stet.requests.get(request_id)
    assert found is not None and (found.state.value, found.reason) == ("REJECTED", "NOAS")
    with pytest.raises(LoginRefused, match="is RJCT"):
        w.approved(request_id)


# -- EMBEDDED-1-FACTOR ---------------------------------------------------------------------


def embedded(**behaviour: Any) -> tuple[World, str]:
    w = world(profile={"approaches": ["EMBEDDED-1-FACTOR"]}, behaviour=behaviour)
    body = payment_request(debtor=CLAIRE, creditor=LUCA, approaches=("EMBEDDED-1-FACTOR",))
    return w, w.create(body)


def test_embedded_the_right_otp_in_confirmation_executes_the_payment() -> None:
    w, request_id = embedded()
    got = w.get(request_id)
    assert got.body is not None and "confirmation" in got.body["_links"]
    answer = w.confirm(request_id, {"psuAuthenticationFactor": "123456"})
    assert statuses(answer) == ("ACSC", None, ["ACSC"])
    assert "confirmation" not in (answer.body or {})["_links"]
    assert w.balances()["luca"] == "224.35"


def test_embedded_wrong_otps_are_counted_and_the_last_rejects_the_request() -> None:
    w, request_id = embedded(max_attempts=3)
    messages = []
    for _ in range(3):
        answer = w.confirm(request_id, {"psuAuthenticationFactor": "000000"})
        assert code(answer) == (400, "PSU_AUTHENTICATION_FACTOR_INVALID")
        messages.append(str((answer.body or {})["message"]))
    assert ["2 attempt(s)" in messages[0], "1 attempt(s)" in messages[1]] == [True, True]
    assert "now RJCT" in messages[2]
    assert w.status(request_id) == ("RJCT", "MS03", ["RJCT"])
    late = w.confirm(request_id, {"psuAuthenticationFactor": "123456"})
    assert code(late) == (400, "STATUS_INVALID") and w.balances()["claire"] == "3000.00"


def test_embedded_a_confirmation_without_the_factor_is_400_and_not_counted() -> None:
    w, request_id = embedded(max_attempts=1, otp="999999")
    assert code(w.confirm(request_id, {})) == (400, "FIELD_INVALID")
    assert code(w.confirm(request_id)) == (400, "FIELD_INVALID")
    assert statuses(w.confirm(request_id, {"psuAuthenticationFactor": "999999"}))[0] == "ACSC"


# -- DECOUPLED -----------------------------------------------------------------------------


def decoupled(**behaviour: Any) -> tuple[World, str]:
    w = world(profile={"approaches": ["DECOUPLED"]}, behaviour=behaviour)
    body = payment_request(debtor=CLAIRE, creditor=LUCA, approaches=("DECOUPLED",))
    return w, w.create(body)


def test_decoupled_the_psus_decision_on_the_bank_app_executes_the_payment() -> None:
    w, request_id = decoupled()
    assert w.status(request_id) == ("ACTC", None, [None])
    w.stet.decide(request_id, True, None, None)
    assert w.status(request_id) == ("ACSC", None, ["ACSC"])
    assert w.balances()["luca"] == "224.35"


def test_decoupled_approval_comes_by_itself_after_the_configured_delay() -> None:
    w, request_id = decoupled(decoupled_approval_delay_s=45)
    w.clock.advance(44)
    assert w.status(request_id)[0] == "ACTC"
    w.advance(seconds=1)
    assert w.balances()["luca"] == "224.35"
    assert w.status(request_id) == ("ACSC", None, ["ACSC"])


def test_decoupled_without_an_answer_ends_noas() -> None:
    w, request_id = decoupled()
    w.advance(seconds=900)
    assert w.status(request_id) == ("RJCT", "NOAS", ["RJCT"])


# -- the PISP's confirmation ---------------------------------------------------------------


def test_with_confirmation_required_nothing_executes_before_the_pisps_confirmation() -> None:
    w = world(profile={"confirmation_required": True})
    request_id = w.create(debtor=CLAIRE, creditor=LUCA)
    early = w.confirm(request_id)
    assert code(early) == (400, "STATUS_INVALID") and "not approved" in str(early.body)
    w.approved(request_id)
    got = w.get(request_id)
    assert statuses(got) == ("ACCP", None, [None]) and got.body is not None
    assert got.body["_links"]["confirmation"]["href"].endswith(confirm_path(request_id))
    assert w.balances()["claire"] == "3000.00"
    wrong = w.call("POST", confirm_path(request_id, "o-confirmation"), {}, token=w.client_token())
    assert code(wrong) == (403, "TOKEN_KIND")
    assert statuses(w.confirm(request_id)) == ("ACSC", None, ["ACSC"])
    assert w.balances()["claire"] == "2875.65"
    assert code(w.confirm(request_id)) == (400, "STATUS_INVALID")  # confirmed once


def test_a_decoupled_approval_also_waits_for_the_confirmation_when_required() -> None:
    w = world(profile={"approaches": ["DECOUPLED"], "confirmation_required": True})
    body = payment_request(debtor=CLAIRE, creditor=LUCA, approaches=("DECOUPLED",))
    request_id = w.create(body)
    w.stet.decide(request_id, True, None, None)
    assert w.status(request_id)[0] == "ACCP" and w.balances()["luca"] == "100.00"
    assert statuses(w.confirm(request_id))[0] == "ACSC"


def test_a_confirmation_not_given_in_time_ends_noas() -> None:
    w = world(profile={"confirmation_required": True, "approval_expiry_s": 600})
    request_id = w.create(debtor=CLAIRE, creditor=LUCA)
    w.clock.advance(500)
    w.approved(request_id)  # the PISP now has approval_expiry_s to confirm
    w.advance(seconds=599)
    assert w.status(request_id)[0] == "ACCP"
    w.advance(seconds=1)
    assert w.status(request_id) == ("RJCT", "NOAS", ["RJCT"])
    assert code(w.confirm(request_id)) == (400, "STATUS_INVALID")
    assert w.balances()["claire"] == "3000.00"


def test_in_the_o_confirmation_variant_only_o_confirmation_with_the_psus_token_executes() -> None:
    w = world(profile={"o_confirmation": True})
    request_id = w.create(creditor=LUCA)
    token = w.psu_token(request_id, accounts=("dfspa.claire.courant",))
    assert bank_status(w, request_id) == "ACCP" and w.balances()["claire"] == "3000.00"
    other = w.confirm(request_id)
    assert code(other) == (400, "STATUS_INVALID") and "o-confirmation" in str(other.body)
    done = w.call("POST", confirm_path(request_id, "o-confirmation"), {}, token=token)
    assert statuses(done) == ("ACSC", None, ["ACSC"])
    assert w.balances()["claire"] == "2875.65"
    again = w.call("POST", confirm_path(request_id, "o-confirmation"), {}, token=token)
    assert code(again) == (400, "STATUS_INVALID")


def test_in_the_o_confirmation_variant_an_unconfirmed_request_ends_noas() -> None:
    w = world(profile={"o_confirmation": True, "approval_expiry_s": 60})
    request_id = w.create(creditor=LUCA)
    token = w.psu_token(request_id)
    w.advance(seconds=60)
    late = w.call("POST", confirm_path(request_id, "o-confirmation"), {}, token=token)
    assert code(late) == (400, "STATUS_INVALID")
    assert w.status(request_id) == ("RJCT", "NOAS", ["RJCT"])


# -- cancellation by PUT -------------------------------------------------------------------


def test_a_put_before_the_approval_cancels_the_whole_request_rjct_ds02() -> None:
    w = world()
    request_id = w.create()
    answer = w.put(request_id, w.cancellation(request_id))
    assert statuses(answer) == ("RJCT", "DS02", ["RJCT"])
    assert w.page(request_id).view().closed is not None
    again = w.put(request_id, w.cancellation(request_id))
    assert code(again) == (400, "STATUS_INVALID")


def test_a_put_cancels_one_instruction_of_two_and_the_other_is_paid() -> None:
    w = world()
    request_id = w.create(debtor=CLAIRE, transactions=TWO)
    answer = w.put(request_id, w.cancellation(request_id, (1,)))
    assert statuses(answer) == ("ACTC", None, [None, "RJCT"])
    resource = (answer.body or {})["paymentRequest"]
    assert resource["creditTransferTransaction"][1]["statusReasonInformation"] == "DS02"
    w.approved(request_id)
    assert w.status(request_id) == ("PART", None, ["ACSC", "RJCT"])
    assert (w.balances()["claire"], w.balances()["luca"]) == ("2990.00", "110.00")


def test_a_put_after_the_approval_cancels_a_future_payment_and_nothing_executes() -> None:
    w = world()
    request_id = w.create(debtor=CLAIRE, creditor=LUCA, when=TOMORROW)
    w.approved(request_id)
    assert w.status(request_id) == ("ACCP", None, ["PDNG"])
    assert statuses(w.put(request_id, w.cancellation(request_id)))[:2] == ("RJCT", "DS02")
    intent = w.bank.payments.get(f"{request_id}-0")
    assert intent.state is PaymentState.CANCELLED
    w.advance(days=2)
    assert w.status(request_id) == ("RJCT", "DS02", ["RJCT"])
    assert (w.balances()["claire"], w.balances()["luca"]) == ("3000.00", "100.00")


def test_a_put_after_the_approval_may_cancel_one_future_instruction() -> None:
    w = world()
    request_id = w.create(debtor=CLAIRE, transactions=TWO, when=TOMORROW)
    w.approved(request_id)
    answer = w.put(request_id, w.cancellation(request_id, (0,)))
    assert statuses(answer)[1:] == (None, ["RJCT", "PDNG"])
    w.advance(days=1)
    assert w.status(request_id) == ("PART", None, ["RJCT", "ACSC"])
    assert (w.balances()["claire"], w.balances()["luca"]) == ("2980.00", "100.00")


def test_a_request_whose_remaining_instruction_waits_for_its_date_still_reads_accp() -> None:
    w = world()
    request_id = w.create(debtor=CLAIRE, transactions=TWO, when=TOMORROW)
    w.approved(request_id)
    answer = w.put(request_id, w.cancellation(request_id, (0,)))
    assert statuses(answer) == ("ACCP", None, ["RJCT", "PDNG"])


def test_a_put_once_executed_is_400_status_invalid_and_nothing_changes() -> None:
    w = world()
    request_id = w.create(debtor=CLAIRE, creditor=LUCA)
    w.approved(request_id)
    answer = w.put(request_id, w.cancellation(request_id))
    assert code(answer) == (400, "STATUS_INVALID") and "ACSC" in str(answer.body)
    assert w.status(request_id) == ("ACSC", None, ["ACSC"])


# -- PUT does nothing but cancel -----------------------------------------------------------


def changed(body: dict[str, Any], member: str, value: Any) -> dict[str, Any]:
    """``body`` with the member at the dotted ``member`` path (list indexes as digits) set."""
    *path, last = member.split(".")
    here: Any = body
    for part in path:
        here = here[int(part)] if part.isdigit() else here[part]
    here[int(last) if last.isdigit() else last] = value
    return body


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("paymentInformationId", "Another"),
        ("creditTransferTransaction.0.instructedAmount.amount", "1.00"),
        ("creditTransferTransaction.0.paymentId.endToEndId", "Other"),
        ("creditTransferTransaction.0.remittanceInformation", ["Other"]),
        ("beneficiary.creditorAccount.iban", OUTSIDE),
        ("requestedExecutionDate", "2026-12-24T10:00:00Z"),
        ("debtorAccount", {"iban": CLAIRE}),
        ("supplementaryData.successfulReportUrl", "https://tpp.example/other"),
        (
            "creationDateTime",
            "2026-11-29T10:00:00Z",
        ),
        (
            "initiatingParty",
            {"name": "Someone else"},
        ),
        (
            "paymentTypeInformation.categoryPurpose",
            "CASH",
        ),
        (
            "debtor",
            {"name": "Someone else"},
        ),
        (
            "resourceId",
            "f" * 32,
        ),
        (
            "supplementaryData.acceptedAuthenticationApproach",
            ["REDIRECT", "DECOUPLED"],
        ),
    ],
)
def test_a_put_that_changes_anything_but_the_statuses_is_400_modification_refused(
    member: str, value: Any
) -> None:
    w = world()
    request_id = w.create()
    answer = w.put(request_id, changed(w.cancellation(request_id), member, value))
    assert code(answer) == (400, "MODIFICATION_REFUSED")
    assert statuses(w.get(request_id))[0] == "ACTC"


@pytest.mark.parametrize(
    ("indexes", "reason", "where"),
    [
        (None, "AC01", "statusReasonInformation must be DS02"),
        ((0,), "CUST", "creditTransferTransaction[0].statusReasonInformation must be DS02"),
        ((), "DS02", "a PUT only cancels"),  # no status changed at all
    ],
)
def test_a_put_that_cancels_with_another_reason_or_nothing_is_refused(
    indexes: tuple[int, ...] | None, reason: str, where: str
) -> None:
    w = world()
    request_id = w.create()
    answer = w.put(request_id, w.cancellation(request_id, indexes, reason))
    assert code(answer) == (400, "MODIFICATION_REFUSED")
    assert answer.body is not None and answer.body["message"].startswith(where)


def test_a_put_may_repeat_the_debtor_account_the_psu_chose() -> None:
    w = world()
    request_id = w.create(when="2026-12-24T10:00:00Z")
    w.approved(request_id, account="dfspa.claire.courant")
    body = w.cancellation(request_id)
    assert body["debtorAccount"] == {"iban": CLAIRE}
    assert statuses(w.put(request_id, body))[:2] == ("RJCT", "DS02")


# -- a future requestedExecutionDate and the sandbox personas ------------------------------


def test_a_future_payment_is_accp_until_its_date_then_executes() -> None:
    w = world()
    request_id = w.create(debtor=CLAIRE, creditor=LUCA, when=TOMORROW)
    w.approved(request_id)
    w.advance(hours=23, minutes=59)
    assert w.status(request_id) == ("ACCP", None, ["PDNG"])
    assert w.balances()["claire"] == "3000.00"
    w.advance(minutes=1)
    assert w.balances() == {
        "claire": "2875.65",
        "livret": "20.00",
        "luca": "224.35",
        "louis": "0.00",
    }
    assert w.status(request_id) == ("ACSC", None, ["ACSC"])


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"amount": "12.99"}, "CUST"),  # sandbox.amount-99: insufficient funds
        ({"e2e": "FAIL-42"}, "MS03"),  # sandbox.end-to-end-fail
    ],
)
def test_a_sandbox_persona_rejects_the_payment_and_no_money_moves(
    fields: dict[str, Any], reason: str
) -> None:
    w = world()
    request_id = w.create(payment_request(debtor=CLAIRE, creditor=LUCA, **fields))
    w.approved(request_id)
    assert w.status(request_id) == ("RJCT", reason, ["RJCT"])
    assert (w.balances()["claire"], w.balances()["luca"]) == ("3000.00", "100.00")


def test_the_persona_psu_rejected_signing_in_gets_the_payment_rejected() -> None:
    w = world()
    request_id = w.create(debtor=CLAIRE, creditor=LUCA)
    w.page(request_id).decide_headless(True, "PSU-Rejected", None)
    assert w.status(request_id) == ("RJCT", "MS03", ["RJCT"])
    assert w.balances()["claire"] == "3000.00"
