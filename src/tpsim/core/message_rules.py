"""Message rules' vocabulary (issue 15): a message's facts, dotted body fields, outcomes.

``core.rules`` matches and orders every rule; this module holds what only rules about
messages need, and is re-exported there: the fact names a dialect gives for a message
(``MessageFact``, ``header.<Name>``, ``body.<dotted.name>``), how a dotted name with list
indexes reads a JSON body (``field_path``, ``field_value``: the same for matching and for
overriding), and ``MessageOutcome`` with every check of its combination, so a rule that
cannot be carried out is refused when it is built, saying what to write instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from tpsim.core.errors import TpsimError

MAX_TEXT = 256  # an exact value or a pattern: facts are ids, IBANs and amounts
MAX_DELAY_S = 7 * 86_400
MAX_ERROR_TEXT = 128  # FSPIOP ErrorDescription's maxLength
MAX_DUPLICATE = 10
MAX_OVERRIDES = 50
MAX_PATH = 200
CHANNELS = ("OTP", "WEB")  # the linking channels a DFSP can be made to pick
_ERROR_CODE = re.compile(r"[1-9][0-9]{3}")  # FSPIOP ErrorCode


class RuleInvalid(TpsimError, ValueError):
    """A rule that cannot be built: its text says what to write instead. A ValueError too,
    so config validation reports it at the key it came from."""


class MessageFact(StrEnum):
    """The fact names of a message on its way to a participant tpsim plays (besides
    ``dialect``, and ``header.<Name>`` and ``body.<dotted.name>``, which are open-ended):

    - ``method``: the HTTP method, upper case
    - ``path``: the route's template (``/consentRequests/{ID}``), ``url``: the actual path
    - ``id``, ``type``, ``sub_id``, ``service_type``: the path's ``{ID}``, ``{Type}``,
      ``{SubId}`` and ``{ServiceType}``, where it has them
    - ``sender``: who sent it (Mojaloop's ``FSPIOP-Source``); ``receiver``: the
      participant it is delivered to
    """

    METHOD = "method"
    PATH = "path"
    URL = "url"
    ID = "id"
    TYPE = "type"
    SUB_ID = "sub_id"
    SERVICE_TYPE = "service_type"
    SENDER = "sender"
    RECEIVER = "receiver"


HEADER_PREFIX = "header."  # header.<Name>: case-insensitive
BODY_PREFIX = "body."  # body.<dotted.name>, e.g. body.scopes[0].accountId
_MESSAGE_FACTS = frozenset(MessageFact)


def is_message_fact(name: str) -> bool:
    """Whether ``name`` is a fact only messages have (``dialect`` is everyone's)."""
    if name in _MESSAGE_FACTS:
        return True
    return any(name.startswith(p) and len(name) > len(p) for p in (HEADER_PREFIX, BODY_PREFIX))


_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[[0-9]+\])*)")
_INDEX = re.compile(r"\[([0-9]+)\]")
FieldPath = tuple[str | int, ...]


def field_path(dotted: str) -> FieldPath:
    """``scopes[0].accountId`` as ``("scopes", 0, "accountId")``: field names joined by
    dots, each followed by any number of ``[n]`` list indexes. ``RuleInvalid`` otherwise."""
    path: list[str | int] = []
    for segment in dotted.split(".") if 0 < len(dotted) <= MAX_PATH else [""]:
        found = _SEGMENT.fullmatch(segment)
        if found is None:
            raise RuleInvalid(
                f"{dotted!r} is no field name: write names joined by dots, with [n] for a list"
                " item, e.g. body.scopes[0].accountId"
            )
        path.append(found.group(1))
        path.extend(int(i) for i in _INDEX.findall(found.group(2)))
    return tuple(path)


def field_value(body: object, path: FieldPath) -> object:
    """The value at ``path`` in a JSON ``body``; ``LookupError`` when there is none (a
    missing field, an index past a list's end, a name into a list or a scalar)."""
    value = body
    for step in path:
        if isinstance(step, int) and isinstance(value, list) and step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            raise LookupError(step)
    return value


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    """What a simulated participant does about a message a rule matched, instead of (or on
    top of) what it usually does. Issue 15; the switch applies the delivery actions, the
    roles the ones about what they decide:

    - ``error_code`` (+ ``error_text``): refuse the message with that FSPIOP error code;
      ``sync`` answers it at once (HTTP 4xx/5xx) instead of with the ``PUT …/error``
      callback
    - ``delay_s``: the participant's answers to it leave that many seconds later
    - ``drop``: its answers are never sent (journaled as dropped)
    - ``duplicate``: each answer is sent that many extra times
    - ``reorder``: its answers are sent in the reverse order
    - ``override``: ``{"body.dotted.name": value}`` set in its answers' bodies;
      ``unchecked`` lets an override break the official OpenAPI (refused otherwise)
    - ``channel``: the linking channel a DFSP picks (``OTP``, ``WEB``)
    - ``secret``: the OTP or WEB secret a DFSP issues
    - ``consent_id``: the consentId a DFSP issues
    """

    error_code: str | None = None
    error_text: str | None = None
    sync: bool = False
    delay_s: float | None = None
    drop: bool = False
    duplicate: int = 0
    reorder: bool = False
    override: Mapping[str, object] | None = None
    unchecked: bool = False
    channel: str | None = None
    secret: str | None = None
    consent_id: str | None = None

    def __post_init__(self) -> None:
        for check in (self._error, self._delivery, self._override, self._decisions):
            check()

    @property
    def answers_changed(self) -> bool:
        """Whether the switch changes the participant's answers (delay, drop, …)."""
        return bool(
            self.delay_s is not None or self.drop or self.duplicate or self.reorder or self.override
        )

    def _error(self) -> None:
        if self.error_code is None:
            if self.error_text is not None or self.sync:
                raise RuleInvalid("text and sync belong to an error: give its code too")
            return
        if _ERROR_CODE.fullmatch(self.error_code) is None:
            raise RuleInvalid(
                f"error code {self.error_code!r} is no FSPIOP error code: write its 4 digits,"
                " e.g. 3204 (party not found) or 7203"
            )
        if self.error_text is not None and not 0 < len(self.error_text) <= MAX_ERROR_TEXT:
            raise RuleInvalid(f"an error's text is 1 to {MAX_ERROR_TEXT} characters")
        if self.sync and self.delay_s is not None:
            raise RuleInvalid("a sync error is the HTTP answer itself: it cannot be delayed")
        decided = bool(self.drop or self.duplicate or self.reorder or self.override)
        if decided or self.channel or self.secret or self.consent_id or self.unchecked:
            raise RuleInvalid(
                "with error the participant refuses the message: it sends no answer to drop,"
                " duplicate, reorder or override and decides no channel, secret or consent_id"
                " (delay_s delays the error callback)"
            )

    def _delivery(self) -> None:
        if self.delay_s is not None and not (
            math.isfinite(self.delay_s) and 0 <= self.delay_s <= MAX_DELAY_S
        ):
            raise RuleInvalid(f"delay_s is a number of seconds from 0 to {MAX_DELAY_S}")
        if not 0 <= self.duplicate <= MAX_DUPLICATE:
            raise RuleInvalid(f"duplicate sends each answer 1 to {MAX_DUPLICATE} extra times")
        if self.drop and (self.delay_s is not None or self.duplicate or self.reorder):
            raise RuleInvalid("drop sends nothing: there is nothing to delay, duplicate or reorder")
        if self.drop and self.override:
            raise RuleInvalid("drop sends nothing: there is nothing to override")

    def _override(self) -> None:
        if self.unchecked and not self.override:
            raise RuleInvalid("unchecked lets an override break the OpenAPI: give override too")
        if self.override is None:
            return
        if not 0 < len(self.override) <= MAX_OVERRIDES:
            raise RuleInvalid(f"override sets 1 to {MAX_OVERRIDES} fields")
        for name in self.override:
            if not name.startswith(BODY_PREFIX):
                raise RuleInvalid(
                    f"override sets body fields: write {BODY_PREFIX}{name} or another"
                    f" {BODY_PREFIX}<dotted.name>, not {name!r}"
                )
            field_path(name.removeprefix(BODY_PREFIX))
            if not _is_json(self.override[name]):
                raise RuleInvalid(
                    f"override {name}: {self.override[name]!r} is no JSON value (YAML reads an"
                    " unquoted date or time as a date, .nan and .inf as numbers JSON has not):"
                    ' quote it, e.g. "2026-12-01T00:00:00.000Z"'
                )

    def _decisions(self) -> None:
        if self.channel is not None and self.channel not in CHANNELS:
            raise RuleInvalid(f"channel is one of {', '.join(CHANNELS)}, not {self.channel!r}")
        for name, value in (("secret", self.secret), ("consent_id", self.consent_id)):
            if value is not None and not 0 < len(value) <= MAX_TEXT:
                raise RuleInvalid(f"{name} is 1 to {MAX_TEXT} characters")


def _is_json(value: object) -> bool:
    """Whether ``value`` is what JSON can carry: text, a finite number, a boolean, null, or
    a list or an object (with text keys) of them."""
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


@dataclass(frozen=True, slots=True)
class MessageRule:
    """The rule that matched a message (its name goes on the journal's hop) and what the
    simulated participant does about the message.

    The switch marks the answers a rule touched with ``MessageRule(name, MessageOutcome())``
    (no action: whoever receives an answer has nothing to apply) so that their hops name
    the rule too; ``note`` says what the journal should know (an override refused)."""

    rule_name: str
    outcome: MessageOutcome
    note: str | None = None
