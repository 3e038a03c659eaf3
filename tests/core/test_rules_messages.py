"""Message rules' matching (issue 15): a message's facts, dotted body fields with list
indexes, and ``Rules.for_message`` giving the first message rule that matches.

The facts are a Mojaloop ``Message``'s (``mojaloop.rules.MessageFacts``), the one dialect
with message rules today; the matching itself is ``core.rules``'."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tpsim.core.rules import (
    Match,
    MessageOutcome,
    MessageRule,
    Outcome,
    Reason,
    Rule,
    RuleInvalid,
    Rules,
    field_path,
    field_value,
    is_message_fact,
)
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.common import new_message
from tpsim.mojaloop.rules import MessageFacts, overridden

NOW = datetime(2030, 1, 1, tzinfo=UTC)
REQUEST = "6988c34f-9e51-4a64-9e4c-bc5a7d2a0f11"
BODY: dict[str, Any] = {
    "consentRequestId": REQUEST,
    "userId": "carol",
    "scopes": [
        {"address": "dfspa.carol.chequing", "actions": ["ACCOUNTS_TRANSFER"]},
        {"address": "dfspa.carol.savings", "actions": ["ACCOUNTS_GET_BALANCE"]},
    ],
    "authChannels": ["WEB", "OTP"],
    "callbackUri": "https://pisp.example/cb",
    "count": 3,
    "ratio": 0.5,
    "flag": True,
    "nothing": None,
}


def posted() -> Message:
    return new_message(
        "POST", "/consentRequests", source="pispa", destination="dfspa", body=BODY, now=NOW
    )


def facts(message: Message | None = None, receiver: str = "dfspa") -> MessageFacts:
    return MessageFacts(message or posted(), receiver)


FACTS: list[tuple[str, Message, str, str | None]] = [
    ("dialect", posted(), "dialect", "mojaloop"),
    ("method", posted(), "method", "POST"),
    ("path template", posted(), "path", "/consentRequests"),
    ("url", posted(), "url", "/consentRequests"),
    ("sender", posted(), "sender", "pispa"),
    ("receiver", posted(), "receiver", "dfspa"),
    ("header, any case", posted(), "header.fspiop-destination", "dfspa"),
    ("missing header", posted(), "header.FSPIOP-Signature", None),
    ("body text", posted(), "body.userId", "carol"),
    ("body list item field", posted(), "body.scopes[1].address", "dfspa.carol.savings"),
    ("body nested list", posted(), "body.scopes[0].actions[0]", "ACCOUNTS_TRANSFER"),
    ("body number as JSON", posted(), "body.count", "3"),
    ("body fraction as JSON", posted(), "body.ratio", "0.5"),
    ("body bool as JSON", posted(), "body.flag", "true"),
    ("body null as JSON", posted(), "body.nothing", "null"),
    ("body missing field", posted(), "body.consentId", None),
    ("body index past the end", posted(), "body.scopes[2].address", None),
    ("body object is no value", posted(), "body.scopes[0]", None),
    ("body list is no value", posted(), "body.authChannels", None),
    ("body name into a list", posted(), "body.scopes.address", None),
    ("no id on a collection", posted(), "id", None),
    ("unknown fact", posted(), "amount", None),
]

PUT = new_message(
    "PUT",
    f"/consentRequests/{REQUEST}",
    source="dfspa",
    destination="pispa",
    body={},
    now=NOW,
)
PARTY = new_message(
    "GET", "/parties/MSISDN/16135551212/7", source="pispa", destination=None, body=None, now=NOW
)
SERVICES = new_message(
    "GET", "/services/PISP", source="pispa", destination=None, body=None, now=NOW
)
FACTS += [
    ("path template with an id", PUT, "path", "/consentRequests/{ID}"),
    ("the path's id", PUT, "id", REQUEST),
    ("a party's type", PARTY, "type", "MSISDN"),
    ("a party's id", PARTY, "id", "16135551212"),
    ("a party's sub-id", PARTY, "sub_id", "7"),
    ("a service type", SERVICES, "service_type", "PISP"),
    ("no destination: no header", PARTY, "header.FSPIOP-Destination", None),
]


@pytest.mark.parametrize(
    ("message", "name", "value"), [c[1:] for c in FACTS], ids=[c[0] for c in FACTS]
)
def test_a_message_gives_each_fact_a_rule_can_name(
    message: Message, name: str, value: str | None
) -> None:
    assert facts(message).get(name) == value


def test_iterating_the_facts_gives_the_fixed_ones_and_the_headers() -> None:
    names = list(facts())
    assert names[:6] == ["dialect", "method", "path", "url", "sender", "receiver"]
    assert "header.FSPIOP-Source" in names
    assert len(facts()) == len(names)


@pytest.mark.parametrize(
    ("dotted", "path"),
    [
        ("userId", ("userId",)),
        ("scopes[0].accountId", ("scopes", 0, "accountId")),
        ("a[1][2].b", ("a", 1, 2, "b")),
    ],
)
def test_a_dotted_name_is_a_path_of_names_and_indexes(
    dotted: str, path: tuple[str | int, ...]
) -> None:
    assert field_path(dotted) == path
    assert field_value({"a": [[0], [0, 1, {"b": "x"}]]}, field_path("a[1][2].b")) == "x"


@pytest.mark.parametrize("dotted", ["", "a..b", "a[x]", "a[0", "[0]", ".a", "a."])
def test_a_name_that_is_no_path_is_refused_saying_how_to_write_one(dotted: str) -> None:
    with pytest.raises(RuleInvalid, match=r"e\.g\. body\.scopes\[0\]\.accountId"):
        field_path(dotted)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("method", True),
        ("receiver", True),
        ("header.Date", True),
        ("body.x", True),
        ("body.", False),
        ("dialect", False),
        ("amount", False),
    ],
)
def test_message_facts_are_told_from_payment_facts(name: str, expected: bool) -> None:
    assert is_message_fact(name) is expected


def message_rule(name: str, when: dict[str, Any], **then: Any) -> Rule:
    return Rule(name, Match.of(when), MessageOutcome(**then))


RULES = Rules(
    [
        Rule("payment", Match.of({"dialect": "mojaloop"}), Outcome(reject=Reason.REJECTED)),
        message_rule("other-request", {"body.consentRequestId": "re:0.*"}, drop=True),
        message_rule("this-request", {"body.consentRequestId": REQUEST}, error_code="7203"),
        message_rule("any-post", {"method": "POST"}, delay_s=5),
    ]
)


def test_the_first_message_rule_in_order_that_matches_applies() -> None:
    found = RULES.for_message(facts())
    assert found == MessageRule("this-request", MessageOutcome(error_code="7203"))


def test_payment_rules_are_never_a_messages_and_message_rules_never_a_payments() -> None:
    assert RULES.for_message({"dialect": "mojaloop"}) is None
    assert RULES.first({"dialect": "mojaloop", "method": "POST"}) is not None
    assert (
        Rules([message_rule("m", {"method": "POST"}, drop=True)]).first({"method": "POST"}) is None
    )


def test_a_missing_field_never_matches_even_a_pattern_for_anything() -> None:
    rules = Rules([message_rule("m", {"body.consentId": "re:.*"}, drop=True)])
    assert rules.for_message(facts()) is None


def test_matchers_are_cores_on_message_facts_too() -> None:
    rules = Rules(
        [
            message_rule(
                "big", {"body.count": ">= 3", "sender": ["pispb", "re:pisp.*"]}, drop=True
            ),
        ]
    )
    assert rules.for_message(facts()) is not None
    assert rules.for_message(facts(posted(), "dfspb")) is not None  # receiver not named


def test_an_override_sets_only_the_fields_an_answer_has() -> None:
    changed = overridden(
        BODY, {"body.scopes[1].address": "dfspa.carol.pension", "body.consentId": "x"}
    )
    assert changed is not None
    assert changed["scopes"][1]["address"] == "dfspa.carol.pension"
    assert "consentId" not in changed
    assert BODY["scopes"][1]["address"] == "dfspa.carol.savings"  # the answer is not touched
    assert overridden(BODY, {"body.consentId": "x"}) is None


OUTCOMES: list[tuple[str, dict[str, Any], str]] = [
    ("a code that is no FSPIOP code", {"error_code": "42"}, "is no FSPIOP error code"),
    ("a text without a code", {"error_text": "x"}, "give its code too"),
    ("sync without a code", {"sync": True}, "give its code too"),
    ("a delayed sync error", {"error_code": "3204", "sync": True, "delay_s": 1}, "cannot be"),
    ("an error and a drop", {"error_code": "3204", "drop": True}, "refuses the message"),
    (
        "a delayed error and a duplicate",
        {"error_code": "3204", "delay_s": 1, "duplicate": 2},
        "refuses the message",
    ),
    ("an error and a channel", {"error_code": "3204", "channel": "OTP"}, "refuses the message"),
    ("a drop and a delay", {"drop": True, "delay_s": 1}, "drop sends nothing"),
    ("a drop and an override", {"drop": True, "override": {"body.a": 1}}, "drop sends nothing"),
    ("too many duplicates", {"duplicate": 11}, "1 to 10 extra times"),
    ("a negative delay", {"delay_s": -1}, "delay_s is a number of seconds"),
    ("unchecked alone", {"unchecked": True}, "give override too"),
    ("an override of a header", {"override": {"header.Date": "x"}}, "override sets body"),
    ("an override of no path", {"override": {"body.a[": "x"}}, "is no field name"),
    ("an unknown channel", {"channel": "SMS"}, "channel is one of OTP, WEB"),
    ("an empty secret", {"secret": ""}, "secret is 1 to"),
]


@pytest.mark.parametrize(
    ("fields", "message"), [c[1:] for c in OUTCOMES], ids=[c[0] for c in OUTCOMES]
)
def test_a_message_outcome_that_cannot_be_carried_out_is_refused(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(RuleInvalid, match=message):
        MessageOutcome(**fields)


def test_an_error_may_be_delayed() -> None:
    assert MessageOutcome(error_code="3204", delay_s=5).delay_s == 5
