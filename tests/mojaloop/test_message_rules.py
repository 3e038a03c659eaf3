"""Message rules in the switch, sans-IO (``mojaloop.switch``, issue 15): each action as the
steps the switch decides for a message going to a simulated participant and for what that
participant answers. Rows reuse ``test_switch``'s summary of steps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.mojaloop.test_switch import HUB, PISP_URL, START, TX, Idle, msg, summary
from tpsim.config_participants import Kind
from tpsim.config_settings import Profile
from tpsim.core.clock import ManualClock
from tpsim.core.rules import Match, MessageOutcome, MessageRule, Rule, Rules
from tpsim.journal import Hop
from tpsim.mojaloop.errors import PartyNotFound
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.registry import External, Registry, Simulated
from tpsim.mojaloop.steps import Apply, Deliver, Handled, Later, Raised, Record
from tpsim.mojaloop.switch import Switch

REQUEST = "6988c34f-9e51-4a64-9e4c-bc5a7d2a0f11"
CONSENT_REQUEST = {
    "consentRequestId": REQUEST,
    "userId": "carol",
    "scopes": [{"address": "dfspa.carol.chequing", "actions": ["ACCOUNTS_TRANSFER"]}],
    "authChannels": ["WEB"],
    "callbackUri": "https://pisp.example/cb",
}


def switch(*outcomes: MessageOutcome, profile: Profile = Profile.SPEC) -> Switch:
    registry = Registry()
    registry.add(Simulated(HUB, Kind.HUB, Idle(HUB)))
    registry.add(Simulated("dfspa", Kind.DFSP, Idle("dfspa")))
    registry.add(External("pispa", Kind.PISP, PISP_URL))
    rules = Rules(
        Rule(f"r{i}", Match.of({"method": "POST", "receiver": "dfspa"}), outcome)
        for i, outcome in enumerate(outcomes)
    )
    return Switch(registry, HUB, ManualClock(START), profile, rules=rules)


def request() -> Message:
    return msg("POST", "/consentRequests", CONSENT_REQUEST)


def answer(n: int = 0, body: dict[str, Any] | None = None) -> Message:
    put = {**CONSENT_REQUEST, "authUri": f"https://dfspa.example/{n}"}
    del put["consentRequestId"], put["userId"]
    return msg("PUT", f"/consentRequests/{REQUEST}", body or put, source="dfspa", to="pispa")


def settled(sw: Switch, *answers: Message) -> list[Any]:
    [deliver] = sw.route(request())
    assert isinstance(deliver, Deliver)
    return sw.settle(deliver, Handled(Effects(messages=list(answers))))


def sent(steps: list[Any]) -> list[Message]:
    return [m for step in steps if isinstance(step, Apply) for m in step.effects.messages]


def test_a_matched_message_carries_its_rule_to_the_participant() -> None:
    outcome = MessageOutcome(channel="OTP", secret="123456")
    [deliver] = switch(outcome).route(request())
    assert isinstance(deliver, Deliver)
    assert deliver.message.rule == MessageRule("r0", outcome)


def test_an_external_participants_messages_are_not_ruled() -> None:
    sw = switch(MessageOutcome(drop=True))
    [deliver] = sw.route(msg("POST", "/consentRequests", CONSENT_REQUEST, to="pispa"))
    assert isinstance(deliver, Deliver) and deliver.message.rule is None


def test_an_error_rule_refuses_as_the_participant_without_delivering() -> None:
    steps = switch(MessageOutcome(error_code="7203")).route(request())
    assert summary(steps[:1]) == [("record", Hop.DELIVERED, 202, "refused by rule r0: 7203")]
    assert steps[0].rule == "r0"
    [callback] = sent(steps)
    assert (callback.path, callback.source, callback.destination) == (
        f"/consentRequests/{REQUEST}/error",
        "dfspa",
        "pispa",
    )
    assert callback.body == {
        "errorInformation": {
            "errorCode": "7203",
            "errorDescription": "FSP does not support any requested authentication channels",
            "extensionList": {"extension": [{"key": "rule", "value": "r0"}]},
        }
    }
    assert callback.rule is not None and callback.rule.rule_name == "r0"


@pytest.mark.parametrize(
    ("code", "status", "text"),
    [
        ("3204", 404, "Party not found"),
        ("3000", 400, "Generic client error"),
        ("7205", 400, "OTP failed validation"),
        ("3999", 400, "Generic client error"),
        ("5999", 400, "Generic Payee error"),
    ],
)
def test_a_sync_error_is_refused_at_the_edge_with_its_status(
    code: str, status: int, text: str
) -> None:
    sw = switch(MessageOutcome(error_code=code, sync=True), profile=Profile.REFERENCE)
    refusal = sw.sync_refusal(request())
    assert refusal is not None and refusal.rule.rule_name == "r0"
    assert refusal.error.http_status == status
    assert refusal.error.error_information(Profile.REFERENCE) == {
        "errorInformation": {"errorCode": code, "errorDescription": text}
    }


def test_a_callback_error_is_no_sync_refusal_and_a_sync_one_routed_in_process_is_a_callback() -> (
    None
):
    assert switch(MessageOutcome(error_code="3204")).sync_refusal(request()) is None
    steps = switch(MessageOutcome(error_code="3204", sync=True)).route(request())
    assert [m.body["errorInformation"]["errorCode"] for m in sent(steps)] == ["3204"]  # type: ignore[index]


def test_a_delayed_error_callback_leaves_later() -> None:
    steps = switch(MessageOutcome(error_code="3204", delay_s=5)).route(request())
    [later] = [s for s in steps if isinstance(s, Later)]
    assert later.at == START + timedelta(seconds=5)
    assert later.message.path.endswith("/error")


def test_drop_journals_each_answer_as_dropped_and_sends_none() -> None:
    steps = settled(switch(MessageOutcome(drop=True)), answer(0), answer(1))
    assert sent(steps) == []
    dropped = [s for s in steps if isinstance(s, Record) and s.hop is Hop.DROPPED]
    assert [(s.error, s.rule) for s in dropped] == [("dropped by rule r0", "r0")] * 2


def test_duplicate_sends_each_answer_that_many_extra_times() -> None:
    steps = settled(switch(MessageOutcome(duplicate=2)), answer(0), answer(1))
    assert [m.body["authUri"][-1] for m in sent(steps)] == list("000111")  # type: ignore[index]


def test_reorder_sends_the_answers_in_reverse() -> None:
    steps = settled(switch(MessageOutcome(reorder=True)), answer(0), answer(1), answer(2))
    assert [m.body["authUri"][-1] for m in sent(steps)] == list("210")  # type: ignore[index]


def test_delay_turns_each_answer_into_a_later_step_on_the_clock() -> None:
    steps = settled(switch(MessageOutcome(delay_s=30)), answer(0), answer(1))
    later = [s for s in steps if isinstance(s, Later)]
    assert [s.at for s in later] == [START + timedelta(seconds=30)] * 2
    assert sent(steps) == []


def test_the_participants_other_effects_are_applied_at_once() -> None:
    steps = settled(switch(MessageOutcome(delay_s=30)), answer(0))
    assert summary(steps)[:2] == [("record", Hop.DELIVERED, 202, None), ("apply", "dfspa")]


def test_answers_are_marked_with_the_rule_and_nothing_to_apply() -> None:
    steps = settled(switch(MessageOutcome(secret="123456")), answer(0))
    [put] = sent(steps)
    assert put.rule == MessageRule("r0", MessageOutcome())
    assert switch().record(Hop.SENT, put).rule == "r0"


def test_an_override_the_openapi_allows_replaces_the_field() -> None:
    outcome = MessageOutcome(override={"body.authUri": "https://dfspa.example/x"})
    [put] = sent(settled(switch(outcome), answer(0)))
    assert put.body is not None and put.body["authUri"] == "https://dfspa.example/x"
    assert put.model().authUri == "https://dfspa.example/x"  # the typed model follows


def test_an_override_that_breaks_the_openapi_leaves_the_answer_and_says_why() -> None:
    outcome = MessageOutcome(override={"body.authChannels[0]": "SMS"})
    original = answer(0)
    [put] = sent(settled(switch(outcome), original))
    assert put.body == original.body
    assert put.rule is not None and put.rule.note is not None
    assert "authChannels" in put.rule.note and "unchecked: true" in put.rule.note
    record = switch().record(Hop.SENT, put)
    assert record.error == put.rule.note


def test_an_unchecked_override_is_sent_as_written() -> None:
    outcome = MessageOutcome(override={"body.authChannels[0]": "SMS"}, unchecked=True)
    [put] = sent(settled(switch(outcome), answer(0)))
    assert put.body is not None and put.body["authChannels"] == ["SMS"]


def test_an_answer_without_the_overridden_field_is_sent_as_it_is() -> None:
    outcome = MessageOutcome(override={"body.consentId": "x"})
    original = answer(0)
    [put] = sent(settled(switch(outcome), original))
    assert put.body == original.body and put.rule is not None and put.rule.note is None


def test_a_raised_errors_callback_gets_the_rules_actions_too() -> None:
    sw = switch(MessageOutcome(duplicate=1))
    [deliver] = sw.route(request())
    assert isinstance(deliver, Deliver)
    steps = sw.settle(deliver, Raised(PartyNotFound("no carol")))
    assert [m.path for m in sent(steps)] == [f"/consentRequests/{REQUEST}/error"] * 2


def test_a_marked_answer_to_a_simulated_participant_changes_nothing_there() -> None:
    sw = switch()
    marked = msg("PUT", TX, {}, source="pispa", to="dfspa")
    marked = Message(
        marked.method,
        marked.path,
        marked.headers,
        marked.body,
        route=marked.route,
        params=marked.params,
        rule=MessageRule("r0", MessageOutcome()),
    )
    [deliver] = sw.route(marked)
    assert isinstance(deliver, Deliver)
    steps = sw.settle(deliver, Handled(Effects(messages=[answer(0)])))
    [put] = sent(steps)
    assert put.rule is None
