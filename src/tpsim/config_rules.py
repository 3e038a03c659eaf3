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

``when`` maps fact names to a matcher: an exact value, ``re:`` and a regular expression the
whole value matches, a comparison (``">= 1000"``), or a list (any of them). A rule is about
a payment (facts ``core.rules.Fact``) or, when its ``when`` names a message fact (``method``,
``path``, ``url``, ``id``, ``type``, ``sub_id``, ``service_type``, ``sender``, ``receiver``,
``header.<Name>``, ``body.<dotted.name>``), about a message on its way to a participant
tpsim plays (issue 15):

      - name: dfspa-refuses-one-consent-request
        when: {method: POST, path: /consentRequests, body.consentRequestId: "6988c34f-…"}
        then: {error: {code: "7203", text: "FSP does not support any requested …"}}
      - name: slow-party-answer
        when: {method: GET, path: "/parties/{Type}/{ID}", id: "16135551212"}
        then: {delay_s: 5}

``then`` says what happens: to a payment ``reject`` with a reason (and the ``text`` the
dialect shows), ``status`` to stop in, ``delay_s`` before execution; to a message ``error``
(a code, or ``{code, text, sync}``), ``delay_s``, ``drop``, ``duplicate``, ``reorder``,
``override`` (+ ``unchecked``), ``channel``, ``secret``, ``consent_id``
(``core.rules.MessageOutcome``). Every mistake is refused when the config loads, at its key
(``rules.0.when.amount: …``), saying what to write.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tpsim.core.message_rules import BODY_PREFIX
from tpsim.core.rules import (
    Fact,
    Match,
    MessageFact,
    MessageOutcome,
    Outcome,
    Reason,
    Rule,
    Rules,
    Status,
    field_path,
    is_message_fact,
    matcher,
    sandbox_rules,
)

__all__ = ["MAX_RULES", "ErrorConfig", "RuleConfig", "RuleList", "ThenConfig", "build_rules"]

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


def _error_spec(value: object) -> object:
    """``error: 3204`` (YAML reads a number) or ``error: "7203"``: a code alone."""
    if isinstance(value, int | str) and not isinstance(value, bool):
        return {"code": str(value)}
    return value


class ErrorConfig(_Strict):
    """``error: {code: "3204", text: "…", sync: true}``: the FSPIOP code the participant
    refuses the message with (``core.rules.MessageOutcome`` checks it), the
    ``errorDescription`` (default: the code's own text) and whether the HTTP answer itself
    is the error (``sync``) instead of the ``PUT …/error`` callback."""

    code: str
    text: str | None = None
    sync: Annotated[bool, Field(strict=True)] = False


_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
_PAYMENT_KEYS = ("reject", "status", "text")
_MESSAGE_KEYS = (
    "error",
    "drop",
    "duplicate",
    "reorder",
    "override",
    "unchecked",
    "channel",
    "secret",
    "consent_id",
)
_MESSAGE_FACTS = (
    "method, path, url, id, type, sub_id, service_type, sender, receiver, header.<Name> or"
    " body.<dotted.name>"
)


class ThenConfig(_Strict):
    """What happens. To a payment: ``reject`` (a ``Reason``; ``text`` its message),
    ``status`` (a ``Status``) or only ``delay_s`` (``core.rules.Outcome``). To a message
    (``core.rules.MessageOutcome``): ``error``, ``delay_s``, ``drop``, ``duplicate``,
    ``reorder``, ``override`` (+ ``unchecked``), ``channel``, ``secret``, ``consent_id``.
    Its keys say which, but for ``delay_s`` alone: then the rule's ``when`` decides."""

    reject: Reason | None = None
    status: Status | None = None
    delay_s: Annotated[float, Field(strict=True)] | None = None  # not YAML's true as 1.0
    text: str | None = None
    error: Annotated[ErrorConfig | None, BeforeValidator(_error_spec)] = None
    drop: Annotated[bool, Field(strict=True)] = False
    duplicate: Annotated[int, Field(strict=True, ge=0)] = 0
    reorder: Annotated[bool, Field(strict=True)] = False
    override: dict[str, Any] | None = None
    unchecked: Annotated[bool, Field(strict=True)] = False
    channel: Literal["OTP", "WEB"] | None = None
    secret: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    consent_id: Annotated[str, Field(pattern=_UUID)] | None = None

    @model_validator(mode="after")
    def _an_outcome(self) -> ThenConfig:
        kind = self.kind()
        if kind == "both":
            raise ValueError(
                "reject, status and text say what happens to a payment; error, drop,"
                " duplicate, reorder, override, unchecked, channel, secret and consent_id what"
                " a participant does about a message: a rule is about one or the other"
            )
        if kind is None and self.delay_s is None:
            raise ValueError(
                "say what happens: reject (a reason), status or delay_s to a payment; error,"
                " delay_s, drop, duplicate, reorder, override, channel, secret or consent_id"
                " to a message"
            )
        if kind != "message":
            self.to_outcome()
        if kind != "payment":
            self.to_message_outcome()
        return self

    def kind(self) -> str | None:
        """``payment`` or ``message`` by the keys given, ``both`` (refused) or None (only
        ``delay_s``, which both have)."""
        payment = any(getattr(self, key) is not None for key in _PAYMENT_KEYS)
        # By value, not by the keys written: a dumped config has every key.
        message = any(getattr(self, key) not in (None, False, 0) for key in _MESSAGE_KEYS)
        if payment and message:
            return "both"
        return "payment" if payment else "message" if message else None

    def to_outcome(self) -> Outcome:
        return Outcome(reject=self.reject, status=self.status, delay_s=self.delay_s, text=self.text)

    def to_message_outcome(self) -> MessageOutcome:
        error = self.error
        return MessageOutcome(
            error_code=None if error is None else error.code,
            error_text=None if error is None else error.text,
            sync=error is not None and error.sync,
            delay_s=self.delay_s,
            drop=self.drop,
            duplicate=self.duplicate,
            reorder=self.reorder,
            override=self.override,
            unchecked=self.unchecked,
            channel=self.channel,
            secret=self.secret,
            consent_id=self.consent_id,
        )


def _fact_name(name: str) -> str:
    if name in _FACTS or is_message_fact(name):
        if name.startswith(BODY_PREFIX):
            field_path(name.removeprefix(BODY_PREFIX))  # RuleInvalid says what to write
        return name
    raise ValueError(
        f"{name!r} is no fact: a payment rule names {', '.join(_FACTS)}; a message rule"
        f" {_MESSAGE_FACTS}"
    )


_FACTS = tuple(Fact)
FactName = Annotated[str, AfterValidator(_fact_name)]


class RuleConfig(_Strict):
    name: RuleName
    when: dict[FactName, MatcherText] = Field(min_length=1)
    then: ThenConfig

    @model_validator(mode="after")
    def _one_kind(self) -> RuleConfig:
        """A message rule is one whose ``when`` names a message fact; its ``then`` must be
        a message's, and a payment rule's a payment's."""
        message = [fact for fact in self.when if is_message_fact(fact)]
        payment = [fact for fact in self.when if fact in _FACTS and fact != Fact.DIALECT]
        if message and payment:
            raise ValueError(
                f"when names message facts ({', '.join(message)}) and payment facts"
                f" ({', '.join(payment)}): a rule is about a message or a payment, not both"
            )
        _upper_case_methods(self.when.get(MessageFact.METHOD))
        _path_templates(self.when.get(MessageFact.PATH))
        kind = self.then.kind()
        if message and kind == "payment":
            raise ValueError(
                f"when names message facts ({', '.join(message)}), so this is a message rule:"
                " its then says error, delay_s, drop, duplicate, reorder, override, unchecked,"
                " channel, secret or consent_id (reject, status and text are a payment's)"
            )
        if not message and kind == "message":
            raise ValueError(
                "then says what a participant does about a message, so when must name a"
                f" message fact: {_MESSAGE_FACTS} (a rule without one is about payments)"
            )
        return self

    def is_message_rule(self) -> bool:
        return any(is_message_fact(fact) for fact in self.when)

    def to_rule(self) -> Rule:
        """The core rule (its regular expressions compiled once, here)."""
        then = self.then.to_message_outcome() if self.is_message_rule() else self.then.to_outcome()
        return Rule(self.name, Match.of(dict(self.when)), then)


def _upper_case_methods(spec: str | list[str] | None) -> None:
    """A ``method`` written in lower case would never match (a message's method is upper
    case, ``core.rules.MessageFact``): refused, saying what to write."""
    for text in [spec] if isinstance(spec, str) else spec or []:
        if text.startswith("re:") or text == text.upper():
            continue
        raise ValueError(
            f"when.method {text!r} never matches: a method is upper case, write {text.upper()!r}"
        )


# The placeholders of a route's template, by the facts that give their values
# (core.message_rules.MessageFact): id is {ID}, type {Type}, sub_id {SubId}.
_PLACEHOLDERS = {"id": "ID", "type": "Type", "subid": "SubId", "servicetype": "ServiceType"}
_PLACEHOLDER = re.compile(r"{([^{}]*)}")


def _path_templates(spec: str | list[str] | None) -> None:
    """A ``path`` is a route's template (``/consents/{ID}``): one not starting with ``/``,
    or with a placeholder no route has (``{id}``, ``{consentId}``), would never match."""
    for text in [spec] if isinstance(spec, str) else spec or []:
        if text.startswith("re:"):
            continue
        if not text.startswith("/"):
            raise ValueError(
                f"when.path {text!r} never matches: a path is a route's template starting"
                " with '/', such as /consents/{ID}"
            )
        for name in _PLACEHOLDER.findall(text):
            if name in _PLACEHOLDERS.values():
                continue
            known = _PLACEHOLDERS.get(name.lower().replace("_", "").replace("-", ""))
            write = (
                f"write {{{known}}}"
                if known
                else "a route's are {ID}, {Type}, {SubId}, {ServiceType}"
            )
            raise ValueError(
                f"when.path {text!r} never matches: {{{name}}} is no placeholder of a route"
                f" template ({write}; to match an actual path, use url)"
            )


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
