"""A rule pattern's worst case, bounded before it is used (``core.rules``' ``re:`` matchers).

Python's ``re`` backtracks: ``(a+)+$`` tries every way of splitting a run of ``a`` between
the two repeats, 2**n of them, and ``.*a.*a.*a.*b`` about n**4; against a value a client
sends, either would hold tpsim's one event loop for minutes. So a pattern is refused when
its rule is built unless the number of ways it can try to match one value (its **cost**)
is small:

- a sequence costs the product of its items, an alternative (``a|b``) the sum of its
  branches, a repeat of ``lo`` to ``hi`` (``*``, ``+``, ``?``, ``{m,n}``) ``hi - lo + 1``
  choices of count, at most ``MAX_MATCHED + 1`` (the longest value a pattern tests);
- an open-ended repeat whose body has choices of its own (a repeat or an alternative
  inside a repeated group: ``(a+)+``, ``(a|ab)*``) is exponential and refused outright;
  a bounded one costs the sum of its body's cost to the power of each count it allows;
- a pattern may cost at most ``MAX_COST``: two open-ended repeats (``.*SLOW.*``) fit,
  three (``.*a.*b.*``) do not.

A value longer than ``MAX_MATCHED`` characters never matches a pattern (``Pattern``), as
a value longer than ``MAX_NUMBER`` is no number: facts are ids, IBANs and amounts.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from tpsim.core.message_rules import RuleInvalid

__all__ = ["MAX_COST", "MAX_MATCHED", "check_cost"]

MAX_MATCHED = 1024  # characters of a value a pattern is tested on
MAX_COST = (MAX_MATCHED + 1) ** 2  # two open-ended repeats in a row

# The parser ``re`` itself uses (3.11+): the pattern's tree exactly as it will run, rather
# than a second reading of the syntax that could disagree with it.
_parser = importlib.import_module("re._parser")
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})
_MAXREPEAT = int(importlib.import_module("re._constants").MAXREPEAT)  # no upper bound


class _Nested(Exception):
    """An open-ended repeat whose body has choices of its own."""


def check_cost(source: str) -> None:
    """Refuse ``source`` (a valid regular expression) with ``RuleInvalid`` when matching one
    value may backtrack too long, saying what to write instead."""
    try:
        cost = _sequence(_parser.parse(source).data)
    except _Nested:
        raise RuleInvalid(
            f"'re:{source}' repeats a group that holds a repeat or an alternative of its own"
            " (such as (a+)+ or (a|ab)*), which can take exponential time: repeat single"
            " characters or classes instead, e.g. 're:a+' or 're:[ab]*'"
        ) from None
    if cost > MAX_COST:
        raise RuleInvalid(
            f"'re:{source}' has too many ways to match a long value (more than two"
            " open-ended repeats such as .* or + one after another, or many repeated"
            " alternatives), which can take minutes: use at most two, e.g. 're:.*SLOW.*'"
        )


def _sequence(items: Iterable[tuple[object, object]]) -> int:
    cost = 1
    for op, av in items:
        cost = min(cost * _item(str(op), av), MAX_COST + 1)
    return cost


def _item(op: str, av: object) -> int:
    if op in _REPEATS:
        lo, hi, body = _triple(av)
        return _repeat(_int(lo), _int(hi), _sequence(_data(body)))
    if op == "BRANCH":
        _, branches = _pair(av)
        return sum(_sequence(_data(b)) for b in _data(branches))
    if op in ("SUBPATTERN", "ASSERT", "ASSERT_NOT"):
        return _sequence(_data(_tuple(av)[-1]))
    if op == "ATOMIC_GROUP":
        return _sequence(_data(av))
    if op == "GROUPREF_EXISTS":
        _, yes, no = _triple(av)
        return _sequence(_data(yes)) + (1 if no is None else _sequence(_data(no)))
    return 1  # one character, a class, an anchor, a back-reference: no choice


def _repeat(lo: int, hi: int, inner: int) -> int:
    """``inner`` ways, ``lo`` to ``hi`` times: the sum of ``inner**count``."""
    if inner == 1:
        return min(hi - lo, MAX_MATCHED) + 1  # only the count is chosen
    if hi == _MAXREPEAT:
        raise _Nested  # (a+)+, (a|ab)*: exponential in the value's length
    cost, ways = 0, inner**lo if lo < 64 else MAX_COST + 1
    for _ in range(lo, hi + 1):
        cost = min(cost + ways, MAX_COST + 1)
        if cost > MAX_COST:
            break
        ways *= inner
    return cost


def _data(node: object) -> list[tuple[object, object]]:
    """The items of a parsed (sub)pattern: a ``SubPattern`` or a list of items."""
    items = getattr(node, "data", node)
    assert isinstance(items, list)  # noqa: S101 - re._parser's tree
    return items


def _tuple(av: object) -> tuple[object, ...]:
    assert isinstance(av, tuple)  # noqa: S101 - re._parser's tree
    return av


def _pair(av: object) -> tuple[object, object]:
    first, second = _tuple(av)
    return first, second


def _triple(av: object) -> tuple[object, object, object]:
    first, second, third = _tuple(av)
    return first, second, third


def _int(value: object) -> int:
    assert isinstance(value, int)  # noqa: S101 - re._parser's counts (MAXREPEAT is an int)
    return value
