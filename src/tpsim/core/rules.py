"""Rules: magic outcomes chosen by what is happening, in no protocol's words.

A dialect describes one thing happening as **facts**, a flat ``Mapping[str, str]`` of
neutral names, and asks ``Rules.first(facts)`` what should happen instead of the usual:

    {"dialect": "xs2a", "event": "payment.initiate", "bank": "dfspa", "tpp": "tpp-one",
     "psu": "PSU-Rejected", "debtor": "DE89370400440532013000", "creditor": "DE02…",
     "amount": "12.99", "currency": "EUR", "end_to_end_id": "FAIL-1"}

A ``Rule`` is a name, a ``Match`` (every one of its fact matchers must match: AND; a fact
the dialect did not give never matches) and an ``Outcome``. ``Rules.first`` gives the
**first rule in order** whose match holds, as ``Applied(rule_name, outcome)``, or None:
the configured rules come before the built-in ``sandbox_rules``, so a configured rule can
override a persona (``then: {delay_s: 0}`` lets a payment through unchanged). Everything
here is pure and deterministic: no I/O, no clock.

Matchers, written as text (``matcher``):

    "PSU-Rejected"          the exact value
    "re:FAIL-.*"            a regular expression the whole value must match (fullmatch),
                            refused when it could backtrack too long (``core.pattern_cost``);
                            a value longer than ``MAX_MATCHED`` never matches it
    ">= 1000", "< 0.01"     a numeric comparison (<, <=, >, >=, ==, !=) on Decimal values;
                            a value that is no finite number never matches
    ["DE02…", "re:GB.*"]    any of these matchers

A dialect maps an ``Outcome`` to its own words: a ``Reason`` to its error or status
reason code (XS2A ``psu-unknown`` is 401 PSU_CREDENTIALS_INVALID, ``insufficient-funds``
ends RJCT…), a ``Status`` to its status (XS2A ACCP, PDNG, ACSC, ACCC).

Messages (issue 15): a dialect describes a message on its way to a participant tpsim
plays as facts too (``MessageFact``: ``method``, ``path`` template, ``url``, ``id``,
``sender``, ``receiver``, ``header.<Name>``, ``body.<dotted.name>`` with list indexes such
as ``body.scopes[0].accountId``), and ``Rules.for_message`` gives the first rule whose
``then`` is a ``MessageOutcome``: ``MessageRule(rule_name, outcome)``. ``Matcher`` and
``Match`` serve both kinds unchanged; ``field_path`` and ``field_value`` read a dotted
name in a JSON body, the same way for matching and for overriding.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Protocol, cast

from tpsim.core.message_rules import (
    MAX_DELAY_S,
    MAX_TEXT,
    MessageFact,
    MessageOutcome,
    MessageRule,
    RuleInvalid,
    field_path,
    field_value,
    is_message_fact,
)
from tpsim.core.pattern_cost import MAX_MATCHED, check_cost

__all__ = [
    "AnyOf",
    "Applied",
    "Compare",
    "Exact",
    "Fact",
    "Facts",
    "Match",
    "Matcher",
    "MessageFact",
    "MessageOutcome",
    "MessageRule",
    "MAX_DELAY_S",
    "MAX_TEXT",
    "Outcome",
    "Pattern",
    "Reason",
    "Rule",
    "RuleEvent",
    "RuleInvalid",
    "Rules",
    "Status",
    "field_path",
    "field_value",
    "is_message_fact",
    "matcher",
    "sandbox_rules",
]

Facts = Mapping[str, str]

MAX_ANY_OF = 100
MAX_NUMBER = 64  # longer values are no amount: not parsed as one
MAX_MESSAGE = 500  # XS2A's tppMessageText maxLength; other dialects cut to theirs


class Fact(StrEnum):
    """The fact names every dialect uses for a payment (a dialect gives the ones it knows
    at that point; the PSU, for one, may be known only at authorisation).

    - ``dialect``: ``mojaloop``, ``xs2a``, ``obie`` or ``stet``
    - ``event``: what is happening (``RuleEvent``)
    - ``bank``: the fspId of the simulated bank that holds the debtor's account
    - ``tpp``: who initiates: a TPP's ``client_id`` (PSD2), a PISP's fspId (Mojaloop)
    - ``psu``: the PSU's id as the dialect receives it (XS2A ``PSU-ID``, ``sim_psu``)
    - ``debtor``, ``creditor``: the accounts as the request names them; IBANs in
      electronic format (upper case, no spaces)
    - ``amount``: the amount as the request spells it (a decimal, e.g. ``12.99``)
    - ``currency``: its ISO 4217 code
    - ``end_to_end_id``: the TPP's end-to-end identification (XS2A
      ``endToEndIdentification``, UK ``EndToEndIdentification``, STET ``endToEndId``)
    """

    DIALECT = "dialect"
    EVENT = "event"
    BANK = "bank"
    TPP = "tpp"
    PSU = "psu"
    DEBTOR = "debtor"
    CREDITOR = "creditor"
    AMOUNT = "amount"
    CURRENCY = "currency"
    END_TO_END_ID = "end_to_end_id"


class RuleEvent(StrEnum):
    """The ``event`` fact: where a dialect asks. At initiation it knows the payment (and the
    PSU when the request names one); at authorisation it knows the PSU who signs in."""

    PAYMENT_INITIATE = "payment.initiate"
    PAYMENT_AUTHORISE = "payment.authorise"


# --- matchers -------------------------------------------------------------------------


class Matcher(Protocol):
    """One fact's condition."""

    def matches(self, value: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Exact:
    value: str

    def matches(self, value: str) -> bool:
        return value == self.value


@dataclass(frozen=True, slots=True)
class Pattern:
    """A regular expression, compiled once, that the whole value must match; a value longer
    than ``MAX_MATCHED`` never does (``core.pattern_cost`` bounds the time up to it)."""

    regex: re.Pattern[str]

    def matches(self, value: str) -> bool:
        return len(value) <= MAX_MATCHED and self.regex.fullmatch(value) is not None


_OPERATORS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True, slots=True)
class Compare:
    """``value <op> bound`` on Decimals: ``12.990`` is ``== 12.99``, ``9.5`` is ``< 10``."""

    op: str
    bound: Decimal

    def matches(self, value: str) -> bool:
        number = _number(value)
        return number is not None and _OPERATORS[self.op](number, self.bound)


@dataclass(frozen=True, slots=True)
class AnyOf:
    options: tuple[Matcher, ...]

    def matches(self, value: str) -> bool:
        return any(option.matches(value) for option in self.options)


def _number(text: str) -> Decimal | None:
    """``text`` as a finite Decimal, or None: an amount that is no number matches no
    comparison (rather than raising where a dialect only asked)."""
    if len(text) > MAX_NUMBER:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


_COMPARISON = re.compile(r"\s*(<=|>=|==|!=|<|>)\s*(.*?)\s*")


def matcher(spec: str | Sequence[str]) -> Matcher:
    """The matcher a text (or a list of texts: any of them) stands for, or ``RuleInvalid``
    saying what to write instead."""
    if isinstance(spec, str):
        return _one(spec)
    if not spec or len(spec) > MAX_ANY_OF:
        raise RuleInvalid(f"a list matches any of its values: give 1 to {MAX_ANY_OF} of them")
    return AnyOf(tuple(_item(i, text) for i, text in enumerate(spec)))


def _item(index: int, text: str) -> Matcher:
    try:
        return _one(text)
    except RuleInvalid as exc:
        raise RuleInvalid(f"item {index}: {exc}") from None


def _one(text: str) -> Matcher:
    if not text:
        raise RuleInvalid("an empty matcher: write a value, or 're:.+' for any value")
    if len(text) > MAX_TEXT:
        raise RuleInvalid(f"a matcher is at most {MAX_TEXT} characters, this is {len(text)}")
    if text.startswith("re:"):
        return _pattern(text.removeprefix("re:"))
    if text.lstrip()[:1] in {"<", ">", "=", "!"}:
        return _comparison(text)
    return Exact(text)


def _pattern(source: str) -> Pattern:
    try:
        compiled = re.compile(source)
    except re.error as exc:
        raise RuleInvalid(
            f"'re:{source}' is not a valid regular expression ({exc}); after 're:' write a"
            " Python regular expression the whole value must match, e.g. 're:FAIL-.*'"
        ) from None
    check_cost(source)  # RuleInvalid: it could hold the event loop for minutes
    return Pattern(compiled)


def _comparison(text: str) -> Compare:
    found = _COMPARISON.fullmatch(text)
    bound = _number(found.group(2)) if found else None
    if found is None or bound is None:
        raise RuleInvalid(
            f"{text!r} compares with a number: write one of {' '.join(_OPERATORS)} and a"
            " number, e.g. '>= 1000' (to match text that starts with <, >, = or !, write"
            " 're:' and the text)"
        )
    return Compare(found.group(1), bound)


@dataclass(frozen=True, slots=True)
class Match:
    """Every condition must hold (AND); a fact that is not given never matches."""

    conditions: tuple[tuple[str, Matcher], ...]

    @classmethod
    def of(cls, when: Mapping[str, str | Sequence[str]]) -> Match:
        """The match for ``{fact: matcher text}``; a bad matcher's ``RuleInvalid`` names
        its fact."""
        conditions = []
        for fact, spec in when.items():
            try:
                conditions.append((fact, matcher(spec)))
            except RuleInvalid as exc:
                raise RuleInvalid(f"{fact}: {exc}") from None
        return cls(tuple(conditions))

    def matches(self, facts: Facts) -> bool:
        for fact, condition in self.conditions:
            value = facts.get(fact)
            if value is None or not condition.matches(value):
                return False
        return True


# --- outcomes -------------------------------------------------------------------------


class Reason(StrEnum):
    """Why a payment is refused; each dialect words it with its own code."""

    INSUFFICIENT_FUNDS = "insufficient-funds"
    BLOCKED_ACCOUNT = "blocked-account"
    CLOSED_ACCOUNT = "closed-account"
    LIMIT_EXCEEDED = "limit-exceeded"
    REJECTED = "rejected"
    PSU_UNKNOWN = "psu-unknown"
    SCA_FAILED = "sca-failed"


class Status(StrEnum):
    """Where a payment stops instead of its usual end (XS2A's words in brackets)."""

    ACCEPTED = "ACCEPTED"  # checks passed, never executed (ACCP)
    PENDING = "PENDING"  # held by the bank (PDNG)
    SETTLED_DEBTOR = "SETTLED_DEBTOR"  # settled on the debtor's account (ACSC)
    SETTLED_CREDITOR = "SETTLED_CREDITOR"  # settled on the creditor's account too (ACCC)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happens to a payment a rule matched: refused for ``reject`` (with ``text`` as
    the message the dialect shows), or ended in ``status``; its execution waits
    ``delay_s`` simulated seconds first. ``Outcome(delay_s=0)`` changes nothing: a rule
    with it lets a payment through that a later rule would stop."""

    reject: Reason | None = None
    status: Status | None = None
    delay_s: float | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.reject is not None and self.status is not None:
            raise RuleInvalid("a rule either rejects or ends in a status, not both")
        if self.reject is None and self.status is None and self.delay_s is None:
            raise RuleInvalid("say what happens: reject (a reason), status or delay_s")
        if self.text is not None and self.reject is None:
            raise RuleInvalid("text is the message of a refusal: give it with reject")
        if self.text is not None and not 0 < len(self.text) <= MAX_MESSAGE:
            raise RuleInvalid(f"text is 1 to {MAX_MESSAGE} characters")
        if self.delay_s is not None and not (
            math.isfinite(self.delay_s) and 0 <= self.delay_s <= MAX_DELAY_S
        ):
            raise RuleInvalid(f"delay_s is a number of seconds from 0 to {MAX_DELAY_S}")


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    when: Match
    then: Outcome | MessageOutcome


@dataclass(frozen=True, slots=True)
class Applied:
    """The rule that matched (its name goes in the journal) and what it says happens."""

    rule_name: str
    outcome: Outcome


class Rules:
    """An ordered list of rules with distinct names; the first that matches applies."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules = tuple(rules)
        # Asked about every message delivered in-process: only the rules about messages.
        self._about_messages = tuple(r for r in self._rules if isinstance(r.then, MessageOutcome))
        seen: set[str] = set()
        for rule in self._rules:
            if rule.name in seen:
                raise RuleInvalid(f"two rules are named {rule.name!r}: give each its own name")
            seen.add(rule.name)

    def first(self, facts: Facts) -> Applied | None:
        """The first payment rule, in order, whose match holds for ``facts``, or None
        (rules about messages are ``for_message``'s)."""
        for rule in self._rules:
            if isinstance(rule.then, Outcome) and rule.when.matches(facts):
                return Applied(rule.name, rule.then)
        return None

    @property
    def about_messages(self) -> bool:
        """Whether any rule is about messages (callers gather no facts when none is)."""
        return bool(self._about_messages)

    def for_message(self, facts: Facts) -> MessageRule | None:
        """The first message rule, in order, whose match holds for ``facts`` (a message's,
        ``MessageFact``), or None; payment rules are ``first``'s."""
        for rule in self._about_messages:
            if rule.when.matches(facts):
                return MessageRule(rule.name, cast("MessageOutcome", rule.then))
        return None

    def by_psu(self, applied: Applied, facts: Facts) -> bool:
        """Whether ``applied`` matched ``facts`` because of who signs in (a sandbox persona
        such as PSU-Rejected, who signs in for an account's holder) rather than the
        payment: without the PSU, another rule or none applies."""
        without = {k: v for k, v in facts.items() if k != Fact.PSU}
        other = self.first(without)
        return other is None or other.rule_name != applied.rule_name

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)


# --- built-in personas ----------------------------------------------------------------

PSD2_DIALECTS = ("xs2a", "obie", "stet")
_OFF = "(tpsim sandbox persona; behaviour.psd2.sandbox_rules: false turns it off)"

# psd2-digest §2.7, §5.4. PSU-InternalLimit is adorsys psd2-accelerator's; PSU-Rejected,
# PSU-Unknown and the FAIL-/.99 values are tpsim inventions in the accelerator's style.
# An unknown PSU comes first: a bank checks who signs in before what they ask for. Only
# the PSD2 dialects: Mojaloop transfers of 12.99 stay ordinary.
SANDBOX: tuple[tuple[str, Fact, str, Reason, str], ...] = (
    ("sandbox.psu-unknown", Fact.PSU, "PSU-Unknown", Reason.PSU_UNKNOWN, "PSU-Unknown is no PSU"),
    (
        "sandbox.psu-rejected",
        Fact.PSU,
        "PSU-Rejected",
        Reason.REJECTED,
        "payments of PSU-Rejected are rejected",
    ),
    (
        "sandbox.psu-internal-limit",
        Fact.PSU,
        "PSU-InternalLimit",
        Reason.LIMIT_EXCEEDED,
        "payments of PSU-InternalLimit exceed its limit",
    ),
    (
        "sandbox.end-to-end-fail",
        Fact.END_TO_END_ID,
        "re:FAIL-.*",
        Reason.REJECTED,
        "an endToEndIdentification starting FAIL- is rejected",
    ),
    (
        "sandbox.amount-99",
        Fact.AMOUNT,
        r"re:.*\.99",
        Reason.INSUFFICIENT_FUNDS,
        "an amount ending in .99 finds insufficient funds",
    ),
)


def sandbox_rules() -> list[Rule]:
    """The built-in psd2-accelerator-style personas (``SANDBOX``), for the PSD2 dialects,
    in order; the config's ``behaviour.psd2.sandbox_rules`` turns them on and off."""
    return [
        Rule(
            name,
            Match.of({Fact.DIALECT: PSD2_DIALECTS, fact: value}),
            Outcome(reject=reason, text=f"{text} {_OFF}"),
        )
        for name, fact, value, reason, text in SANDBOX
    ]
