"""The scenario report shows the message rule that changed a hop (issue 15): a ``rule X``
note on the hop's arrow and a ``rule:`` line in its details."""

from __future__ import annotations

from tpsim.scenario.reports.diagram import arrow_for, tooltip

ENTRY = {
    "seq": 4,
    "hop": "dropped",
    "at": "2030-01-01T00:00:00.000+00:00",
    "method": "PUT",
    "path": "/consentRequests/6988c34f-9e51-4a64-9e4c-bc5a7d2a0f11",
    "source": "dfspa",
    "destination": "pispa",
    "error": "dropped by rule lost-answer",
    "rule": "lost-answer",
    "correlation_ids": [],
}


def test_a_hop_a_rule_touched_carries_the_rules_name_on_its_arrow() -> None:
    arrow = arrow_for(ENTRY, "switch")
    assert arrow is not None and arrow.note == "rule lost-answer"
    assert "rule: lost-answer" in tooltip(ENTRY, "switch").splitlines()


def test_a_redirect_and_a_rule_share_the_note() -> None:
    arrow = arrow_for({**ENTRY, "hop": "sent", "redirect": "https://x.example"}, "switch")
    assert arrow is not None and arrow.note == "to https://x.example · rule lost-answer"


def test_a_hop_no_rule_touched_has_no_rule_note() -> None:
    arrow = arrow_for({**ENTRY, "rule": None}, "switch")
    assert arrow is not None and arrow.note is None
