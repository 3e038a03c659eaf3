"""Message rules in Mojaloop's words: a message's facts, a rule's error, a rule's override.

``core.rules`` matches and orders rules in no protocol's words; the switch
(``mojaloop.switch``) evaluates them for each message on its way to a participant tpsim
plays and carries them out. This module gives it what is Mojaloop's:

- ``MessageFacts``: the facts of a ``Message`` (``core.rules.MessageFact``) as a lazy
  mapping: a fact is computed when a rule asks for it, so a body is only walked for the
  ``body.*`` names a rule matches on;
- ``rule_error``: the ``FspiopError`` a rule's ``error`` stands for, with the code as
  written, the HTTP status of its kind and, when the rule gives no text, the code's own
  text (under ``profile: reference`` Mojaloop's, ``errors.MOJALOOP_TEXTS``);
- ``overridden``: an answer's body with a rule's ``override`` fields set.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from tpsim.config_settings import Profile
from tpsim.core.message_rules import BODY_PREFIX, HEADER_PREFIX, FieldPath, MessageFact
from tpsim.core.rules import Fact, RuleInvalid, field_path, field_value
from tpsim.mojaloop import errors
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.message import Message

__all__ = ["DIALECT", "MessageFacts", "error_kind", "overridden", "rule_error"]

DIALECT = "mojaloop"

_Getter = Callable[[Message, str], str | None]


def _param(name: str) -> _Getter:
    return lambda message, receiver: message.params.get(name)


_FIXED: dict[str, _Getter] = {
    Fact.DIALECT: lambda message, receiver: DIALECT,
    MessageFact.METHOD: lambda message, receiver: message.method.upper(),
    MessageFact.PATH: lambda message, receiver: message.route.template if message.route else None,
    MessageFact.URL: lambda message, receiver: message.path.split("?", 1)[0],
    MessageFact.ID: _param("ID"),
    MessageFact.TYPE: _param("Type"),
    MessageFact.SUB_ID: _param("SubId"),
    MessageFact.SERVICE_TYPE: _param("ServiceType"),
    MessageFact.SENDER: lambda message, receiver: message.source or None,
    MessageFact.RECEIVER: lambda message, receiver: receiver,
}


class MessageFacts(Mapping[str, str]):
    """The facts of ``message`` delivered to ``receiver``, computed when asked for.

    A ``body.<dotted.name>`` is the field's JSON text (a string as it is, ``12``, ``true``,
    ``null``); a field that is missing, or is an object or a list, is no fact (so it never
    matches). ``header.<Name>`` is case-insensitive. Iterating gives the fixed facts and
    the headers a message has, not its body's fields.
    """

    __slots__ = ("_message", "_receiver")

    def __init__(self, message: Message, receiver: str) -> None:
        self._message = message
        self._receiver = receiver

    def __getitem__(self, name: str) -> str:
        value = self._fact(name)
        if value is None:
            raise KeyError(name)
        return value

    def _fact(self, name: str) -> str | None:
        if name.startswith(HEADER_PREFIX):
            return self._message.headers.get(name.removeprefix(HEADER_PREFIX))
        if name.startswith(BODY_PREFIX):
            return _body_fact(self._message.body, name.removeprefix(BODY_PREFIX))
        getter = _FIXED.get(name)
        return None if getter is None else getter(self._message, self._receiver)

    def __iter__(self) -> Iterator[str]:
        for name in _FIXED:
            if self._fact(name) is not None:
                yield name
        for header in dict.fromkeys(self._message.headers):
            yield HEADER_PREFIX + header

    def __len__(self) -> int:
        return sum(1 for _ in self)


@functools.lru_cache(maxsize=1024)
def _path(dotted: str) -> FieldPath | None:
    try:
        return field_path(dotted)
    except RuleInvalid:
        return None


def _body_fact(body: dict[str, Any] | None, dotted: str) -> str | None:
    path = _path(dotted)
    if body is None or path is None:
        return None
    try:
        value = field_value(body, path)
    except LookupError:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return None
    return json.dumps(value)


# --- a rule's error ----------------------------------------------------------------------

# The kind of a code no class has, by its first digit (FSPIOP v1.1 §7.6 categories).
_CATEGORY: dict[str, type[FspiopError]] = {
    "1": errors.CommunicationError,
    "2": errors.ServerError,
    "3": errors.ClientError,
    "4": errors.PayerError,
    "5": errors.PayeeError,
    "6": errors.ThirdPartyError,
    "7": errors.ThirdPartyError,
}


def _classes() -> Iterator[type[FspiopError]]:
    """Every error class of ``mojaloop.errors``, the most general first (breadth first)."""
    level: list[type[FspiopError]] = [FspiopError]
    while level:
        yield from level
        level = [sub for cls in level for sub in cls.__subclasses__() if _ours(sub)]


def _ours(cls: type) -> bool:
    return cls.__module__ == errors.__name__


@functools.lru_cache(maxsize=256)
def error_kind(code: str, text: str | None = None) -> type[FspiopError]:
    """The error class a rule's ``code`` stands for: the most general class of
    ``mojaloop.errors`` with that code (its HTTP status and description), else one with it
    as its reference code (a Mojaloop 7xxx code), else its category's; made to report
    ``code`` itself under every profile (the rule says which code to send) and, when the
    rule gives one, ``text`` as Mojaloop's text too."""
    known = next((c for c in _classes() if c.code == code), None)
    known = known or next((c for c in _classes() if c.reference_code == code), None)
    base = known or _CATEGORY.get(code[:1], FspiopError)
    fields: dict[str, object] = {"code": code, "reference_code": None, "__module__": __name__}
    if text is not None:
        fields["reference_text"] = text
    return cast("type[FspiopError]", type(f"RuleError{code}", (base,), fields))


def rule_error(rule_name: str, code: str, text: str | None, profile: Profile) -> FspiopError:
    """The error rule ``rule_name`` answers a message with: ``code`` and ``text``; without
    a text, Mojaloop's fixed text for the code under ``profile: reference`` (the body is
    then exactly what Mojaloop sends) and the code's description under ``spec``, where the
    rule's name rides in an extension (tpsim's diagnostic)."""
    kind = error_kind(code, text)
    if profile is Profile.REFERENCE:
        return kind(text or kind().mojaloop_text)
    return kind(text or kind.description, extensions={"rule": rule_name})


# --- a rule's override --------------------------------------------------------------------


def overridden(
    body: dict[str, Any] | None, override: Mapping[str, object]
) -> dict[str, Any] | None:
    """A copy of ``body`` with each ``body.<dotted.name>`` of ``override`` that it has set to
    its value, or None when it has none of them (an override replaces fields; it adds
    none, so an answer of another kind is left as it is)."""
    if body is None:
        return None
    changed: dict[str, Any] | None = None
    for name, value in override.items():
        path = _path(name.removeprefix(BODY_PREFIX))
        if path is None or not _has(body, path):
            continue
        if changed is None:
            changed = copy.deepcopy(body)
        parent = cast("Any", field_value(changed, path[:-1]))
        parent[path[-1]] = copy.deepcopy(value)
    return changed


def _has(body: dict[str, Any], path: FieldPath) -> bool:
    try:
        field_value(body, path)
    except LookupError:
        return False
    return True
