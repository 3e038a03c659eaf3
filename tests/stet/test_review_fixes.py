"""What a review of the STET dialect found, each as the promise it now keeps."""

from __future__ import annotations

from datetime import timedelta

import pydantic
import pytest

from tests.stet.support import (
    CLAIRE,
    ERIKA_GBP,
    LIVRET,
    LUCA,
    NOK_URL,
    code,
    payment_request,
    transaction,
    world,
)
from tpsim.config_psd2 import StetProfile
from tpsim.core.rules import Fact, Match, Outcome, Reason, Rule, Status
from tpsim.stet.states import RequestState, Why


def test_a_creditor_account_held_in_another_currency_is_refused_at_creation() -> None:
    w = world()
    body = payment_request("10.00", debtor=CLAIRE, creditor=ERIKA_GBP, approaches=("DECOUPLED",))
    answer = w.call("POST", "payment-requests", body, token=w.client_token())
    assert code(answer) == (400, "FIELD_INVALID")
    assert "creditorAccount" in answer.body["message"] and "GBP" in answer.body["message"]  # type: ignore[index]
    assert w.available(CLAIRE) == 3000


def test_a_decoupled_approval_the_rules_refuse_ends_the_request_and_stalls_no_other() -> None:
    unknown = Rule("unknown", Match.of({Fact.AMOUNT: "9.01"}), Outcome(reject=Reason.PSU_UNKNOWN))
    w = world(
        rules=[unknown],
        profile={"approval_expiry_s": 60},
        behaviour={"decoupled_approval_delay_s": 30},
    )
    waiting = [w.create(payment_request(e2e=f"B{i}")) for i in range(4)]
    w.advance(seconds=20)
    refused = w.create(payment_request("9.01", debtor=CLAIRE, approaches=("DECOUPLED",)))
    w.advance(seconds=40)  # the others expire, the decoupled approval falls due: one tick
    assert w.status(refused)[:2] == ("RJCT", "MS03")
    assert [w.status(r)[:2] for r in waiting] == [("RJCT", "NOAS")] * 4
    assert w.stet.next_due() is None


def test_the_picker_offers_what_can_pay_the_instructions_left_after_a_cancellation() -> None:
    w = world()
    two = [
        transaction("2000.00", creditor=LUCA, number=0),
        transaction("1500.00", creditor=LUCA, number=1),
    ]
    rid = w.create(payment_request(transactions=two))
    assert w.put(rid, w.cancellation(rid, (1,))).status == 200
    assert [a.iban for a in w.stet.sign_in(rid, "claire", "claire")] == [CLAIRE]


def test_the_bpce_flavour_confirms_nothing_so_it_cannot_require_a_confirmation() -> None:
    for setting in ({"confirmation_required": True}, {"o_confirmation": True}):
        with pytest.raises(pydantic.ValidationError, match="bpce-1.4.0 answers 405"):
            StetProfile(flavour="bpce-1.4.0", **setting)


def test_an_approval_rejected_at_once_sends_the_psu_back_unsuccessful() -> None:
    w = world()
    rid = w.create(debtor=LIVRET)  # 20 EUR cannot pay 124.35
    assert w.approved(rid) == NOK_URL
    assert w.status(rid)[:2] == ("RJCT", "CUST")


def test_a_request_a_rule_holds_can_be_rejected_by_the_bank_and_is_then_forgotten() -> None:
    hold = Rule("hold", Match.of({Fact.AMOUNT: "7.77"}), Outcome(status=Status.PENDING))
    w = world(rules=[hold], retention=timedelta(seconds=60))
    rid = w.create(payment_request("7.77", debtor=CLAIRE, creditor=LUCA, approaches=("DECOUPLED",)))
    w.stet.decide(rid, True, None, None)
    assert w.status(rid)[0] == "PDNG"
    w.stet.force_reject(rid, Why.FORBIDDEN, "held too long")
    assert w.status(rid)[:2] == ("RJCT", "AG01")
    assert w.stet.requests[rid].state is RequestState.ORDERED
    w.advance(seconds=61)
    assert rid not in w.stet.requests  # ended, and forgotten after the retention
    assert w.available(CLAIRE) == 3000


def test_an_empty_factor_is_a_malformed_confirmation_not_a_wrong_otp() -> None:
    w = world()
    rid = w.create(debtor=CLAIRE, approaches=("EMBEDDED-1-FACTOR",))
    answer = w.confirm(rid, {"psuAuthenticationFactor": ""})
    assert code(answer) == (400, "FIELD_INVALID")
    assert w.stet.requests[rid].attempts == 0


def test_a_bearer_token_whose_bytes_are_no_utf8_is_refused_401_not_a_500() -> None:
    # aiohttp hands a header's non-UTF-8 bytes as surrogates (surrogateescape).
    w = world()
    for sent in ("Bearer \udcff\udcfe", "Bearer caf\u00e9", "Bearer a\tb"):
        answer = w.call("POST", "payment-requests", payment_request(), authorization=sent)
        assert code(answer) == (401, "TOKEN_INVALID"), sent
        assert "visible ASCII" in answer.body["message"]  # type: ignore[index]


def test_a_405_names_the_methods_the_resource_takes_in_allow() -> None:
    # RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in a 405".
    w = world()
    token = w.client_token()
    for method, path, allowed in (
        ("GET", "payment-requests", "POST"),
        ("DELETE", "payment-requests/abc", "GET, PUT"),
        ("GET", "payment-requests/abc/confirmation", "POST"),
    ):
        answer = w.call(method, path, token=token)
        assert code(answer) == (405, "METHOD_NOT_ALLOWED"), (method, path)
        assert answer.headers.get("Allow") == allowed, (method, path)


def test_the_bpce_flavour_405s_say_what_is_left_in_allow() -> None:
    w = world(profile={"flavour": "bpce-1.4.0"})
    request_id = w.create()
    cancelled = w.put(request_id, w.cancellation(request_id))
    assert code(cancelled) == (405, "METHOD_NOT_ALLOWED")
    assert cancelled.headers.get("Allow") == "GET"
    confirmed = w.confirm(request_id)
    assert code(confirmed) == (405, "METHOD_NOT_ALLOWED") and confirmed.headers.get("Allow") == ""
