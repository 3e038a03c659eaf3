"""``core.rules``: facts in, the first matching rule's outcome out, in no protocol's words."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tpsim.core.errors import TpsimError
from tpsim.core.rules import (
    MAX_DELAY_S,
    Applied,
    Match,
    Outcome,
    Reason,
    Rule,
    RuleInvalid,
    Rules,
    Status,
    matcher,
    sandbox_rules,
)

PAYMENT = {
    "dialect": "xs2a",
    "event": "payment.initiate",
    "bank": "dfspa",
    "tpp": "tpp-one",
    "psu": "PSU-Successful",
    "debtor": "DE89370400440532013000",
    "creditor": "DE02120300000000202051",
    "amount": "12.00",
    "currency": "EUR",
    "end_to_end_id": "E2E-1",
}


def facts(**changes: str) -> dict[str, str]:
    return {**PAYMENT, **changes}


# --- the built-in personas ------------------------------------------------------------

SANDBOX: list[tuple[str, dict[str, str], str | None, Reason | None]] = [
    ("an ordinary payment", facts(), None, None),
    ("PSU-Rejected", facts(psu="PSU-Rejected"), "sandbox.psu-rejected", Reason.REJECTED),
    (
        "PSU-InternalLimit",
        facts(psu="PSU-InternalLimit"),
        "sandbox.psu-internal-limit",
        Reason.LIMIT_EXCEEDED,
    ),
    ("PSU-Unknown", facts(psu="PSU-Unknown"), "sandbox.psu-unknown", Reason.PSU_UNKNOWN),
    (
        "FAIL- end-to-end id",
        facts(end_to_end_id="FAIL-1"),
        "sandbox.end-to-end-fail",
        Reason.REJECTED,
    ),
    ("bare FAIL- prefix", facts(end_to_end_id="FAIL-"), "sandbox.end-to-end-fail", Reason.REJECTED),
    ("FAIL- not at the start", facts(end_to_end_id="X-FAIL-1"), None, None),
    ("amount .99", facts(amount="12.99"), "sandbox.amount-99", Reason.INSUFFICIENT_FUNDS),
    ("amount 0.99", facts(amount="0.99"), "sandbox.amount-99", Reason.INSUFFICIENT_FUNDS),
    ("amount .98", facts(amount="12.98"), None, None),
    ("amount .991", facts(amount="12.991"), None, None),
    (
        "an unknown PSU comes before its amount",
        facts(psu="PSU-Unknown", amount="1.99"),
        "sandbox.psu-unknown",
        Reason.PSU_UNKNOWN,
    ),
    (
        "UK dialect too",
        facts(dialect="obie", psu="PSU-Rejected"),
        "sandbox.psu-rejected",
        Reason.REJECTED,
    ),
    (
        "STET dialect too",
        facts(dialect="stet", amount="5.99"),
        "sandbox.amount-99",
        Reason.INSUFFICIENT_FUNDS,
    ),
    ("not Mojaloop transfers", facts(dialect="mojaloop", amount="12.99"), None, None),
    (
        "PSU known only later: no psu fact",
        {k: v for k, v in facts().items() if k != "psu"},
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("given", "rule", "reason"), [case[1:] for case in SANDBOX], ids=[case[0] for case in SANDBOX]
)
def test_the_sandbox_personas_pick_their_outcomes(
    given: dict[str, str], rule: str | None, reason: Reason | None
) -> None:
    applied = Rules(sandbox_rules()).first(given)
    if rule is None:
        assert applied is None
        return
    assert applied is not None
    assert (applied.rule_name, applied.outcome.reject) == (rule, reason)


def test_a_sandbox_refusal_says_it_is_a_persona_and_how_to_turn_it_off() -> None:
    applied = Rules(sandbox_rules()).first(facts(psu="PSU-Rejected"))
    assert applied is not None and applied.outcome.text is not None
    assert "PSU-Rejected" in applied.outcome.text
    assert "behaviour.psd2.sandbox_rules: false" in applied.outcome.text


# --- matchers -------------------------------------------------------------------------

MATCHES: list[tuple[str | Sequence[str], str, bool]] = [
    # exact: the whole value, case and all
    ("PSU-Rejected", "PSU-Rejected", True),
    ("PSU-Rejected", "psu-rejected", False),
    ("PSU", "PSU-Rejected", False),
    # re: the whole value must match
    ("re:FAIL-.*", "FAIL-7", True),
    ("re:FAIL-.*", "A-FAIL-7", False),
    ("re:DE..", "DE123", False),
    (r"re:.*\.99", "100.99", True),
    (r"re:.*\.99", "100.999", False),
    # comparisons on Decimal values
    (">= 1000", "1000", True),
    (">= 1000", "999.99", False),
    ("> 1000", "1000", False),
    ("> 1000", "1000.01", True),
    ("< 0.01", "0.009", True),
    ("< 0.01", "0.01", False),
    ("<= -1", "-2", True),
    ("== 12.99", "12.990", True),
    ("!= 5", "5.0", False),
    ("!= 5", "6", True),
    ("  >=1000  ", "1e3", True),
    # a value that is no finite number matches no comparison
    (">= 1000", "lots", False),
    (">= 1000", "NaN", False),
    (">= 1000", "Infinity", False),
    ("!= 5", "sNaN", False),
    (">= 0", "1" * 65, False),
    # any of a list, each item a matcher of its own
    (["DE02120300000000202051", "re:GB.*"], "GB29NWBK60161331926819", True),
    (["DE02120300000000202051", "re:GB.*"], "DE02120300000000202051", True),
    (["DE02120300000000202051", "re:GB.*"], "FR7630006000011234567890189", False),
    (["< 1", "> 100"], "50", False),
]


@pytest.mark.parametrize(("spec", "value", "expected"), MATCHES)
def test_each_matcher_kind_decides_on_the_value(
    spec: str | Sequence[str], value: str, expected: bool
) -> None:
    assert matcher(spec).matches(value) is expected


INVALID_MATCHERS: list[tuple[str | Sequence[str], str]] = [
    ("", "an empty matcher: write a value, or 're:.+'"),
    ("re:(", "'re:(' is not a valid regular expression"),
    ("re:[a-", "e.g. 're:FAIL-.*'"),
    ("x" * 257, "at most 256 characters, this is 257"),
    ("re:" + "a" * 254, "at most 256 characters"),
    (">= x", "'>= x' compares with a number: write one of < <= > >= == != and a number"),
    ("=5", "compares with a number"),
    ("! 5", "write 're:' and the text"),
    (">= NaN", "compares with a number"),
    ("< Infinity", "compares with a number"),
    ([], "a list matches any of its values: give 1 to 100"),
    (["x"] * 101, "give 1 to 100"),
    (["ok", "re:["], "item 1: 're:[' is not a valid regular expression"),
]


@pytest.mark.parametrize(("spec", "message"), INVALID_MATCHERS)
def test_a_matcher_that_cannot_work_is_refused_saying_what_to_write(
    spec: str | Sequence[str], message: str
) -> None:
    with pytest.raises(RuleInvalid) as info:
        matcher(spec)
    assert message in str(info.value)


def test_a_refused_rule_is_a_tpsim_error_and_a_value_error_for_config_validation() -> None:
    with pytest.raises(RuleInvalid) as info:
        matcher("re:(")
    assert isinstance(info.value, TpsimError) and isinstance(info.value, ValueError)


# --- matches --------------------------------------------------------------------------


def test_a_match_needs_every_fact_to_match() -> None:
    match = Match.of({"bank": "dfspb", "amount": ">= 1000"})
    assert match.matches(facts(bank="dfspb", amount="1000"))
    assert not match.matches(facts(bank="dfspa", amount="1000"))
    assert not match.matches(facts(bank="dfspb", amount="999"))


def test_a_fact_that_is_not_given_never_matches() -> None:
    assert not Match.of({"psu": "re:.*"}).matches({"dialect": "xs2a"})
    assert not Match.of({"amount": "!= 5"}).matches({"dialect": "xs2a"})


def test_a_bad_matcher_in_a_match_names_its_fact() -> None:
    with pytest.raises(RuleInvalid, match=r"^amount: 're:\(' is not a valid"):
        Match.of({"bank": "dfspa", "amount": "re:("})


# --- outcomes -------------------------------------------------------------------------

GOOD_OUTCOMES = [
    Outcome(reject=Reason.BLOCKED_ACCOUNT),
    Outcome(reject=Reason.CLOSED_ACCOUNT, text="this account was closed"),
    Outcome(reject=Reason.SCA_FAILED, delay_s=5),
    Outcome(status=Status.PENDING),
    Outcome(status=Status.SETTLED_CREDITOR, delay_s=30),
    Outcome(delay_s=0),
    Outcome(delay_s=MAX_DELAY_S),
]


@pytest.mark.parametrize("outcome", GOOD_OUTCOMES, ids=repr)
def test_an_outcome_rejects_or_stops_in_a_status_and_may_wait_first(outcome: Outcome) -> None:
    assert outcome.reject or outcome.status or outcome.delay_s is not None


BAD_OUTCOMES: list[tuple[dict[str, object], str]] = [
    ({"reject": Reason.REJECTED, "status": Status.PENDING}, "either rejects or ends in a status"),
    ({}, "say what happens: reject (a reason), status or delay_s"),
    ({"text": "why"}, "say what happens"),
    ({"status": Status.PENDING, "text": "why"}, "text is the message of a refusal"),
    ({"reject": Reason.REJECTED, "text": ""}, "text is 1 to 500 characters"),
    ({"reject": Reason.REJECTED, "text": "x" * 501}, "text is 1 to 500 characters"),
    ({"delay_s": -1}, "delay_s is a number of seconds from 0 to 604800"),
    ({"delay_s": float("nan")}, "delay_s is a number of seconds"),
    ({"delay_s": float("inf")}, "delay_s is a number of seconds"),
    ({"delay_s": MAX_DELAY_S + 1}, "delay_s is a number of seconds"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_OUTCOMES)
def test_an_outcome_that_says_nothing_clear_is_refused(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(RuleInvalid) as info:
        Outcome(**fields)  # type: ignore[arg-type]
    assert message in str(info.value)


# --- rules in order -------------------------------------------------------------------

BLOCKED = Rule(
    "blocked",
    Match.of({"debtor": "DE89370400440532013000"}),
    Outcome(reject=Reason.BLOCKED_ACCOUNT),
)
HELD = Rule("held", Match.of({"amount": ">= 10"}), Outcome(status=Status.PENDING))


def test_the_first_matching_rule_in_order_applies() -> None:
    assert Rules([BLOCKED, HELD]).first(facts()) == Applied("blocked", BLOCKED.then)
    assert Rules([HELD, BLOCKED]).first(facts()) == Applied("held", HELD.then)


def test_a_later_rule_applies_when_the_earlier_ones_do_not_match() -> None:
    assert Rules([BLOCKED, HELD]).first(facts(debtor="DE00")) == Applied("held", HELD.then)


def test_no_matching_rule_is_no_outcome() -> None:
    assert Rules([BLOCKED, HELD]).first(facts(debtor="DE00", amount="1")) is None
    assert Rules().first(facts()) is None


def test_a_rule_before_a_persona_lets_its_payments_through() -> None:
    through = Rule("dfspb-lets-them-through", Match.of({"bank": "dfspb"}), Outcome(delay_s=0))
    rules = Rules([through, *sandbox_rules()])
    applied = rules.first(facts(bank="dfspb", psu="PSU-Rejected"))
    assert applied == Applied("dfspb-lets-them-through", Outcome(delay_s=0))
    elsewhere = rules.first(facts(bank="dfspa", psu="PSU-Rejected"))
    assert elsewhere is not None and elsewhere.rule_name == "sandbox.psu-rejected"


def test_two_rules_with_one_name_are_refused() -> None:
    with pytest.raises(RuleInvalid, match="two rules are named 'held'"):
        Rules([HELD, BLOCKED, HELD])


def test_rules_keep_their_order() -> None:
    assert [rule.name for rule in Rules([HELD, BLOCKED])] == ["held", "blocked"]
    assert len(Rules(sandbox_rules())) == 5
