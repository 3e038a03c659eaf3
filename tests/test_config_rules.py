"""The config's ``rules:``: checked when the config loads, at their key path, then applied
in order before the built-in personas."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from tpsim.config import load_config, overlay, parse_config
from tpsim.config_rules import RuleList, build_rules
from tpsim.config_yaml import read_yaml
from tpsim.core.rules import Applied, MessageOutcome, Outcome, Reason, Status


class Holder(pydantic.BaseModel):
    """Stands in for ``Config``: ``rules`` is a top-level key of the config file."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)
    rules: RuleList = []


def load(text: str) -> Holder:
    return Holder.model_validate(read_yaml(text.encode(), file="<test>"))


def problems(data: dict[str, Any]) -> list[str]:
    """Every problem as the config reports it: ``key.path: message``."""
    with pytest.raises(pydantic.ValidationError) as info:
        Holder.model_validate(data)
    return [
        ".".join(str(part) for part in error["loc"])
        + ": "
        + error["msg"].removeprefix("Value error, ")
        for error in info.value.errors()
    ]


EXAMPLE = r"""
rules:
  - name: blocked-debtor
    when: {debtor: [DE02120300000000202051, DE02500105170137075030]}
    then: {reject: blocked-account, text: "this account is blocked"}
  - name: big-payments-held
    when: {dialect: xs2a, amount: ">= 10000", currency: EUR}
    then: {status: PENDING}
  - name: slow-dfspb
    when: {bank: dfspb, end_to_end_id: 're:SLOW-\d+'}
    then: {delay_s: 30}
  - name: dfspc-lets-personas-through
    when: {bank: dfspc}
    then: {delay_s: 0}
"""

PAYMENT = {"dialect": "xs2a", "bank": "dfspa", "amount": "12.00", "currency": "EUR"}

Expected = tuple[str, Reason | None, Status | None, float | None]  # rule, reject, status, delay

APPLIED: list[tuple[str, dict[str, str], Expected | None]] = [
    (
        "a listed debtor",
        {"debtor": "DE02500105170137075030"},
        ("blocked-debtor", Reason.BLOCKED_ACCOUNT, None, None),
    ),
    ("a big EUR amount", {"amount": "10000.00"}, ("big-payments-held", None, Status.PENDING, None)),
    ("a big amount in another currency", {"amount": "10000", "currency": "GBP"}, None),
    (
        "a SLOW- id at dfspb",
        {"bank": "dfspb", "end_to_end_id": "SLOW-12"},
        ("slow-dfspb", None, None, 30),
    ),
    ("a SLOW- id that is no number", {"bank": "dfspb", "end_to_end_id": "SLOW-x"}, None),
    (
        "a persona after the configured rules",
        {"psu": "PSU-Rejected"},
        ("sandbox.psu-rejected", Reason.REJECTED, None, None),
    ),
    (
        "a configured rule before a persona",
        {"bank": "dfspc", "psu": "PSU-Rejected"},
        ("dfspc-lets-personas-through", None, None, 0),
    ),
    ("an ordinary payment", {}, None),
]


@pytest.mark.parametrize(
    ("changes", "expected"), [case[1:] for case in APPLIED], ids=[case[0] for case in APPLIED]
)
def test_configured_rules_apply_in_order_then_the_personas(
    changes: dict[str, str], expected: Expected | None
) -> None:
    rules = build_rules(load(EXAMPLE).rules, sandbox=True)
    applied = rules.first({**PAYMENT, **changes})
    got = applied and (
        applied.rule_name,
        applied.outcome.reject,
        applied.outcome.status,
        applied.outcome.delay_s,
    )
    assert got == expected


def test_a_configured_refusal_carries_its_text() -> None:
    rules = build_rules(load(EXAMPLE).rules, sandbox=False)
    applied = rules.first({"debtor": "DE02120300000000202051"})
    assert applied == Applied(
        "blocked-debtor", Outcome(reject=Reason.BLOCKED_ACCOUNT, text="this account is blocked")
    )


def test_without_the_sandbox_only_the_configured_rules_apply() -> None:
    rules = build_rules(load(EXAMPLE).rules, sandbox=False)
    assert [rule.name for rule in rules] == [
        "blocked-debtor",
        "big-payments-held",
        "slow-dfspb",
        "dfspc-lets-personas-through",
    ]
    assert rules.first({**PAYMENT, "psu": "PSU-Rejected"}) is None


def test_no_rules_configured_leaves_the_personas() -> None:
    assert len(build_rules(Holder().rules, sandbox=True)) == 5
    assert len(build_rules(Holder().rules, sandbox=False)) == 0


def test_a_yaml_regex_in_single_quotes_reaches_the_matcher_as_written() -> None:
    holder = load(r"""
rules:
  - name: cents-99
    when: {amount: 're:.*\.99'}
    then: {reject: insufficient-funds}
""")
    rules = build_rules(holder.rules, sandbox=False)
    assert rules.first({"amount": "3.99"}) is not None
    assert rules.first({"amount": "3x99"}) is None


def test_rules_survive_a_dump_and_reload() -> None:
    holder = load(EXAMPLE)
    again = Holder.model_validate(holder.model_dump(mode="json"))
    assert again == holder


def rule(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "r", "when": {"psu": "x"}, "then": {"reject": "rejected"}}
    return {"rules": [{**base, **fields}]}


INVALID: list[tuple[str, dict[str, Any], str]] = [
    (
        "bad regex",
        rule(when={"amount": "re:("}),
        "rules.0.when.amount: 're:(' is not a valid regular expression",
    ),
    (
        "bad regex in a list",
        rule(when={"debtor": ["DE02", "re:[A-"]}),
        "rules.0.when.debtor: item 1: 're:[A-' is not a valid regular expression",
    ),
    (
        "a regex that backtracks exponentially",
        rule(when={"end_to_end_id": "re:(a+)+$"}),
        "rules.0.when.end_to_end_id: 're:(a+)+$' repeats a group that holds a repeat or an"
        " alternative of its own",
    ),
    (
        "a regex with three open-ended repeats",
        rule(when={"body.note": "re:.*a.*a.*b"}),
        "rules.0.when.body.note: 're:.*a.*a.*b' has too many ways to match a long value",
    ),
    (
        "unknown fact",
        rule(when={"debitor": "DE02"}),
        "rules.0.when.debitor.[key]: 'debitor' is no fact: a payment rule names dialect, event,"
        " bank, tpp, psu, debtor, creditor, amount, currency, end_to_end_id; a message rule"
        " method, path, url, id, type, sub_id, service_type, sender, receiver, header.<Name> or"
        " body.<dotted.name>",
    ),
    (
        "an unquoted number",
        rule(when={"amount": 10.1}),
        "rules.0.when.amount: 10.1 is no matcher: write a quoted text",
    ),
    (
        "a comparison with no number",
        rule(when={"amount": ">= lots"}),
        "rules.0.when.amount: '>= lots' compares with a number",
    ),
    ("no condition", rule(when={}), "rules.0.when: Dictionary should have at least 1 item"),
    (
        "unknown reason",
        rule(then={"reject": "broke"}),
        "rules.0.then.reject: Input should be 'insufficient-funds', 'blocked-account',"
        " 'closed-account', 'limit-exceeded', 'rejected', 'psu-unknown' or 'sca-failed'",
    ),
    (
        "unknown status",
        rule(then={"status": "ACSC"}),
        "rules.0.then.status: Input should be 'ACCEPTED', 'PENDING', 'SETTLED_DEBTOR' or"
        " 'SETTLED_CREDITOR'",
    ),
    (
        "reject and status",
        rule(then={"reject": "rejected", "status": "PENDING"}),
        "rules.0.then: a rule either rejects or ends in a status, not both",
    ),
    ("nothing happens", rule(then={}), "rules.0.then: say what happens"),
    (
        "text without reject",
        rule(then={"status": "PENDING", "text": "held"}),
        "rules.0.then: text is the message of a refusal",
    ),
    (
        "negative delay",
        rule(then={"delay_s": -1}),
        "rules.0.then: delay_s is a number of seconds from 0 to 604800",
    ),
    ("a yes for a delay", rule(then={"delay_s": True}), "rules.0.then.delay_s: Input should be"),
    ("unknown then key", rule(then={"skip": True}), "rules.0.then.skip: Extra inputs"),
    ("unknown rule key", rule(unless={}), "rules.0.unless: Extra inputs"),
    (
        "a persona's name",
        rule(name="sandbox.mine"),
        "rules.0.name: names starting 'sandbox.' are the built-in personas'",
    ),
    ("a name with spaces", rule(name="my rule"), "rules.0.name: String should match pattern"),
    (
        "two rules, one name",
        {"rules": [rule()["rules"][0], rule(when={"psu": "y"})["rules"][0]]},
        "rules: rules 0 and 1 are both named 'r'",
    ),
]


@pytest.mark.parametrize(
    ("data", "message"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_a_rule_mistake_is_refused_at_its_key_saying_what_is_allowed(
    data: dict[str, Any], message: str
) -> None:
    found = problems(data)
    assert any(problem.startswith(message) for problem in found), found


# --- message rules (issue 15) ----------------------------------------------------------

MESSAGES = r"""
rules:
  - name: refuse-one-consent-request
    when:
      method: POST
      path: /consentRequests
      body.consentRequestId: "6988c34f-9e51-4a64-9e4c-bc5a7d2a0f11"
    then: {error: {code: "7203", text: "no channel", sync: true}}
  - name: party-not-found
    when: {path: "/parties/{Type}/{ID}", id: "re:1999.*"}
    then: {error: 3204}
  - name: slow-otp
    when: {header.fspiop-source: pispa, "body.scopes[0].address": dfspa.carol.chequing}
    then: {delay_s: 5, duplicate: 1, reorder: true}
  - name: fixed-consent
    when: {method: PATCH, receiver: dfspa}
    then: {consent_id: "8e34f91d-d078-4077-8263-2c047876fcf6", channel: WEB, secret: "123456"}
  - name: lost-answer
    when: {url: /consentRequests/x}
    then: {drop: true}
  - name: broken-answer
    when: {sender: pispb}
    then: {override: {"body.authChannels[0]": SMS}, unchecked: true}
  - name: slow-payment
    when: {bank: dfspb}
    then: {delay_s: 30}
"""


def test_a_rule_whose_when_names_a_message_fact_is_a_message_rule() -> None:
    rules = build_rules(load(MESSAGES).rules, sandbox=False)
    kinds = {rule.name: type(rule.then).__name__ for rule in rules}
    assert kinds == {
        "refuse-one-consent-request": "MessageOutcome",
        "party-not-found": "MessageOutcome",
        "slow-otp": "MessageOutcome",
        "fixed-consent": "MessageOutcome",
        "lost-answer": "MessageOutcome",
        "broken-answer": "MessageOutcome",
        "slow-payment": "Outcome",  # delay_s alone: when names payment facts
    }


def test_message_outcomes_are_spelled_as_the_config_says() -> None:
    rules = {rule.name: rule.then for rule in build_rules(load(MESSAGES).rules, sandbox=False)}
    assert rules["refuse-one-consent-request"] == MessageOutcome(
        error_code="7203", error_text="no channel", sync=True
    )
    assert rules["party-not-found"] == MessageOutcome(error_code="3204")
    assert rules["slow-otp"] == MessageOutcome(delay_s=5, duplicate=1, reorder=True)
    assert rules["fixed-consent"] == MessageOutcome(
        consent_id="8e34f91d-d078-4077-8263-2c047876fcf6", channel="WEB", secret="123456"
    )
    assert rules["broken-answer"] == MessageOutcome(
        override={"body.authChannels[0]": "SMS"}, unchecked=True
    )


def test_message_rules_survive_a_dump_and_reload() -> None:
    holder = load(MESSAGES)
    assert Holder.model_validate(holder.model_dump(mode="json")) == holder


def message_rule(when: dict[str, Any] | None = None, **then: Any) -> dict[str, Any]:
    return {"rules": [{"name": "m", "when": when or {"method": "POST"}, "then": then}]}


MESSAGE_INVALID: list[tuple[str, dict[str, Any], str]] = [
    (
        "a code of three digits",
        message_rule(error=320),
        "rules.0.then: error code '320' is no FSPIOP error code: write its 4 digits",
    ),
    (
        "a code that is a word",
        message_rule(error={"code": "oops"}),
        "rules.0.then: error code 'oops' is no FSPIOP error code",
    ),
    (
        "sync that is no bool",
        message_rule(error={"code": "3204", "sync": "yes"}),
        "rules.0.then.error.sync: Input should be a valid boolean",
    ),
    (
        "an error and a drop",
        message_rule(error=3204, drop=True),
        "rules.0.then: with error the participant refuses the message",
    ),
    (
        "a sync error delayed",
        message_rule(error={"code": "3204", "sync": True}, delay_s=1),
        "rules.0.then: a sync error is the HTTP answer itself",
    ),
    (
        "a drop and a duplicate",
        message_rule(drop=True, duplicate=1),
        "rules.0.then: drop sends nothing",
    ),
    (
        "a duplicate that is no number",
        message_rule(duplicate=True),
        "rules.0.then.duplicate: Input should be a valid integer",
    ),
    (
        "too many duplicates",
        message_rule(duplicate=11),
        "rules.0.then: duplicate sends each answer 1 to 10",
    ),
    (
        "an override of a header",
        message_rule(override={"header.Date": "x"}),
        "rules.0.then: override sets body fields: write body.header.Date",
    ),
    (
        "an override of no path",
        message_rule(override={"body.scopes[": "x"}),
        "rules.0.then: 'scopes[' is no field name",
    ),
    (
        "unchecked alone",
        message_rule(unchecked=True),
        "rules.0.then: unchecked lets an override break the OpenAPI: give override too",
    ),
    (
        "an unknown channel",
        message_rule(channel="SMS"),
        "rules.0.then.channel: Input should be 'OTP' or 'WEB'",
    ),
    (
        "a consent id that is no UUID",
        message_rule(consent_id="abc"),
        "rules.0.then.consent_id: String should match pattern",
    ),
    (
        "a payment's reject and a message's drop",
        message_rule(reject="rejected", drop=True),
        "rules.0.then: reject, status and text say what happens to a payment",
    ),
    (
        "a message's action for a payment",
        message_rule({"debtor": "DE02"}, drop=True),
        "rules.0: then says what a participant does about a message, so when must name a"
        " message fact",
    ),
    (
        "a payment's outcome for a message",
        message_rule({"method": "POST"}, reject="rejected"),
        "rules.0: when names message facts (method), so this is a message rule",
    ),
    (
        "message and payment facts together",
        message_rule({"method": "POST", "amount": ">= 1"}, drop=True),
        "rules.0: when names message facts (method) and payment facts (amount)",
    ),
    (
        "a body fact that is no path",
        message_rule({"body.a..b": "x"}, drop=True),
        "rules.0.when.body.a..b.[key]: 'a..b' is no field name",
    ),
    ("nothing to do", message_rule(), "rules.0.then: say what happens"),
]


@pytest.mark.parametrize(
    ("data", "message"),
    [case[1:] for case in MESSAGE_INVALID],
    ids=[case[0] for case in MESSAGE_INVALID],
)
def test_a_message_rule_mistake_is_refused_at_its_key_saying_what_to_write(
    data: dict[str, Any], message: str
) -> None:
    found = problems(data)
    assert any(problem.startswith(message) for problem in found), found


def test_a_scenario_config_overlay_brings_its_own_rules() -> None:
    """Per-scenario rules: a scenario's ``config: {rules: [...]}`` is laid over the
    config it runs with (``config.overlay``), rules and all."""
    base = load_config().model_dump(mode="json")
    scenario = {"rules": MESSAGES_DATA["rules"][:1]}
    config = parse_config(overlay(base, scenario))
    found = config.rulebook().for_message(
        {
            "method": "POST",
            "path": "/consentRequests",
            "body.consentRequestId": "6988c34f-9e51-4a64-9e4c-bc5a7d2a0f11",
        }
    )
    assert found is not None and found.rule_name == "refuse-one-consent-request"


MESSAGES_DATA = read_yaml(MESSAGES.encode(), file="<test>")
