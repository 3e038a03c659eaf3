"""A rule's ``re:`` pattern is refused when it is built if matching one value could
backtrack for minutes (``core.pattern_cost``): tpsim runs every rule on its one event
loop, against values clients send."""

from __future__ import annotations

import time

import pytest

from tpsim.core.pattern_cost import MAX_MATCHED
from tpsim.core.rules import Match, RuleInvalid, matcher, sandbox_rules

NESTED = "repeats a group that holds a repeat or an alternative of its own"
COSTLY = "has too many ways to match a long value (more than two open-ended repeats"

# (pattern, what the refusal says): each would take minutes on a long enough value.
REFUSED: list[tuple[str, str]] = [
    ("re:(a+)+$", NESTED),
    ("re:(a*)*", NESTED),
    ("re:(?:a|ab)*c", NESTED),
    ("re:(x+x+)+y", NESTED),
    ("re:(?:\\d?){2,40}", COSTLY),
    ("re:([a-z]+\\.)*com", NESTED),
    ("re:.*a.*a.*b", COSTLY),
    ("re:a*a*a*a*a*a*a*a*b", COSTLY),
    ("re:(?:a?){60}b", COSTLY),
    ("re:(?:x.*|y.*|z.*).*", COSTLY),
]


@pytest.mark.parametrize(("spec", "words"), REFUSED)
def test_a_pattern_that_could_backtrack_for_minutes_is_refused_saying_what_to_write(
    spec: str, words: str
) -> None:
    with pytest.raises(RuleInvalid) as info:
        matcher(spec)
    assert words in str(info.value)
    assert repr(spec) in str(info.value) or f"'{spec}'" in str(info.value)
    assert "e.g. 're:" in str(info.value)


def test_the_refusal_names_the_fact_and_the_item() -> None:
    with pytest.raises(RuleInvalid) as info:
        Match.of({"end_to_end_id": ["FAIL-1", "re:(a+)+$"]})
    assert str(info.value).startswith("end_to_end_id: item 1: 're:(a+)+$' repeats a group")


# Patterns rules are written with (the docs', the built-in personas') and their kin.
ORDINARY = [
    "re:SLOW-.*",
    "re:FAIL-.*",
    "re:.*\\.99",
    "re:1999.*",
    "re:GB.*",
    "re:.*SLOW.*",
    "re:DE[0-9]{2}[0-9]{8}[0-9]{10}",
    "re:[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}",
    "re:(?:GB|DE|FR)[0-9]{2}.*",
    "re:GB.*|DE.*|FR.*",
    "re:(?:ab)+",
    "re:(a|b)*",
    "re:(?:[0-9]{3})*",
    "re:[0-9]{0,14}(\\.[0-9]{1,3})?",
    "re:(?i)psu-.*",
]


@pytest.mark.parametrize("spec", ORDINARY)
def test_ordinary_patterns_are_taken(spec: str) -> None:
    matcher(spec)


def test_the_built_in_personas_are_taken() -> None:
    assert len(sandbox_rules()) == 5


def test_a_pattern_matches_values_up_to_the_longest_it_tests() -> None:
    anything = matcher("re:.*")
    assert anything.matches("a" * MAX_MATCHED)
    assert not anything.matches("a" * (MAX_MATCHED + 1))


def test_the_worst_value_for_a_taken_pattern_is_matched_at_once() -> None:
    # Two open-ended repeats, the most a pattern may have, against the longest value
    # tested and one that makes every split fail.
    worst = matcher("re:.*a.*b")
    started = time.perf_counter()
    assert not worst.matches("a" * (MAX_MATCHED - 1) + "\n")
    assert time.perf_counter() - started < 1.0
