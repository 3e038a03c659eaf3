"""The ``rules:`` part of the config: magic outcomes, checked here, applied by ``core.rules``.

    rules:                             in order: the first rule that matches applies
      - name: blocked-debtor
        when: {debtor: [DE02120300000000202051, DE02500105170137075030]}
        then: {reject: blocked-account, text: "this account is blocked"}
      - name: big-payments-held
        when: {dialect: xs2a, amount: ">= 10000", currency: EUR}
        then: {status: PENDING}
      - name: slow-dfspb
        when: {bank: dfspb, end_to_end_id: "re:SLOW-.*"}
        then: {delay_s: 30}
    behaviour:
      psd2:
        sandbox_rules: true            the built-in personas (core.rules.sandbox_rules),
                                       after the configured rules

``when`` maps fact names (``core.rules.Fact``) to a matcher: an exact value, ``re:`` and a
regular expression the whole value matches, a comparison (``">= 1000"``), or a list (any of
them). ``then`` says what happens: ``reject`` with a reason (and the ``text`` the dialect
shows), ``status`` to stop in, ``delay_s`` before execution. Every mistake is refused when
the config loads, at its key (``rules.0.when.amount: …``), saying what to write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tpsim.core.rules import (
    Fact,
    Match,
    Outcome,
    Reason,
    Rule,
    Rules,
    Status,
    matcher,
    sandbox_rules,
)

__all__ = ["MAX_RULES", "RuleConfig", "RuleList", "ThenConfig", "build_rules"]

MAX_RULES = 200
SANDBOX_PREFIX = "sandbox."  # the built-in personas' names (core.rules.SANDBOX)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _text_or_list(value: object) -> object:
    """Numbers are refused rather than turned into text: YAML reads ``10.10`` as 10.1."""
    if isinstance(value, str | list):
        return value
    raise ValueError(
        f'{value!r} is no matcher: write a quoted text ("10.10", ">= 1000", "re:…")'
        " or a list of them"
    )


def _valid_matcher(value: str | list[str]) -> str | list[str]:
    matcher(value)  # raises RuleInvalid (a ValueError) saying what to write
    return value


MatcherText = Annotated[
    str | list[str], BeforeValidator(_text_or_list), AfterValidator(_valid_matcher)
]


def _own_name(value: str) -> str:
    if value.startswith(SANDBOX_PREFIX):
        raise ValueError(f"names starting {SANDBOX_PREFIX!r} are the built-in personas'")
    return value


RuleName = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"),
    AfterValidator(_own_name),
]


class ThenConfig(_Strict):
    """What happens: ``reject`` (a ``Reason``; ``text`` its message), ``status`` (a
    ``Status``) or only ``delay_s``; ``core.rules.Outcome`` checks the combination."""

    reject: Reason | None = None
    status: Status | None = None
    delay_s: Annotated[float, Field(strict=True)] | None = None  # not YAML's true as 1.0
    text: str | None = None

    @model_validator(mode="after")
    def _an_outcome(self) -> ThenConfig:
        self.to_outcome()
        return self

    def to_outcome(self) -> Outcome:
        return Outcome(reject=self.reject, status=self.status, delay_s=self.delay_s, text=self.text)


class RuleConfig(_Strict):
    name: RuleName
    when: dict[Fact, MatcherText] = Field(min_length=1)
    then: ThenConfig

    def to_rule(self) -> Rule:
        """The core rule (its regular expressions compiled once, here)."""
        when = {fact.value: spec for fact, spec in self.when.items()}
        return Rule(self.name, Match.of(when), self.then.to_outcome())


def _distinct_names(rules: list[RuleConfig]) -> list[RuleConfig]:
    first: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.name in first:
            raise ValueError(
                f"rules {first[rule.name]} and {i} are both named {rule.name!r}: the journal"
                " names the rule that applied, so give each its own name"
            )
        first[rule.name] = i
    return rules


RuleList = Annotated[list[RuleConfig], Field(max_length=MAX_RULES), AfterValidator(_distinct_names)]


def build_rules(configured: Sequence[RuleConfig], *, sandbox: bool) -> Rules:
    """The rules a simulation applies: the configured ones in order, then (when ``sandbox``)
    the built-in personas, so a configured rule comes first for the same payment."""
    built = [rule.to_rule() for rule in configured]
    return Rules([*built, *(sandbox_rules() if sandbox else [])])
