"""``${…}`` references in scenario values.

``${name}`` and ``${name.field.0.sub}`` read a variable (the scenario's ``variables``, the
matrix cell, what earlier steps saved or set), ``${env.NAME}`` an environment variable and
``${uuid}`` a new UUID each time. A string that is exactly one reference takes the
referenced value with its type (a mapping stays a mapping); elsewhere the value is
written into the string. ``$${`` is a literal ``${``.

What a scenario may reference is known before it runs, except what steps set: the names
in ``SET_WHILE_RUNNING`` (the runner's and the actions') and each earlier step's
``save:``. The loader refuses a reference to anything else (``unresolved``), with its line.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from tpsim.errors import TpsimError

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")

KeyPath = tuple[str | int, ...]

# The names the runner and the built-in actions set while a scenario runs (docs/scenarios.md,
# "Variables"). tests/scenario/test_load_errors.py checks it against every
# ``variables.set(…)`` of ``tpsim.scenario``: an action that sets a new name adds it here.
SET_WHILE_RUNNING = frozenset(
    {
        # runner.py: the tpsim under the scenario and the built-in PISP
        "tpsim_url",
        "pisp_url",
        # actions.py
        "now",
        # mojaloop/
        "consent_request",
        "consent",
        "transfer",
        # xs2a/
        "xs2a",
        "payment_id",
        "authorisation_id",
        "sca_redirect",
        "links",
        # obie/
        "obie",
        "client_token",
        "psu_token",
        "consent_id",
        "consent_page",
        "auth_code",
        # stet/
        "stet",
        "payment_request_id",
        "consent_approval",
        "approval_page",
    }
)


class VariableError(TpsimError):
    """A reference that names nothing (a mistake in the scenario, not a failure of the
    system under test). ``at``: where it was met, as a key path inside the resolved value."""

    def __init__(self, message: str, at: KeyPath = ()) -> None:
        super().__init__(message)
        self.at = at

    def under(self, key: str | int) -> VariableError:
        """The same error, met one level down under ``key``."""
        return VariableError(str(self), (key, *self.at))


T = TypeVar("T")


class Variables:
    def __init__(self, values: Mapping[str, Any] | None = None, env: Mapping[str, str] = {}):
        self.values: dict[str, Any] = dict(values or {})
        self.env = env

    def set(self, name: str, value: Any) -> None:
        self.values[name] = value

    def kept(self, name: str, kind: type[T]) -> T:
        """The ``kind`` object kept under ``name`` (a dialect's memory of what the
        scenario made), made with ``kind()`` on first use or when ``name`` holds another."""
        value = self.values.get(name)
        if not isinstance(value, kind):
            value = self.values[name] = kind()
        return value

    def resolve(self, value: Any, *, partial: bool = False) -> Any:
        """``value`` with every reference replaced (mappings and lists recursively).

        ``partial`` leaves references to variables not defined yet (and ``${uuid}``) as
        they are, for those that steps will set."""
        if isinstance(value, str):
            return self._string(value, partial)
        if isinstance(value, Mapping):
            resolved: dict[str, Any] = {}
            for key, item in value.items():
                try:
                    resolved[str(self.resolve(key, partial=partial))] = self.resolve(
                        item, partial=partial
                    )
                except VariableError as exc:
                    raise exc.under(str(key)) from None
            return resolved
        if isinstance(value, list):
            items = []
            for index, item in enumerate(value):
                try:
                    items.append(self.resolve(item, partial=partial))
                except VariableError as exc:
                    raise exc.under(index) from None
            return items
        return value

    def _later(self, expression: str) -> bool:
        name = root(expression)
        return name == "uuid" or (name != "env" and name not in self.values)

    def lookup(self, expression: str) -> Any:
        name, *fields = expression.strip().split(".")
        if name == "uuid" and not fields:
            return str(uuid.uuid4())
        if name == "env":
            key = ".".join(fields)
            if key not in self.env:
                raise VariableError(f"${{{expression}}}: environment variable {key} is not set")
            return self.env[key]
        if name not in self.values:
            known = ", ".join(sorted(self.values)) or "none yet"
            raise VariableError(f"${{{expression}}}: no variable {name!r} (defined: {known})")
        value = self.values[name]
        for depth, part in enumerate(fields):
            value = _field(value, part, ".".join([name, *fields[: depth + 1]]))
        return value

    def _string(self, text: str, partial: bool) -> Any:
        whole = _REFERENCE.fullmatch(text)
        if whole is not None and whole.group(1) is not None:
            if partial and self._later(whole.group(1)):
                return text
            return self.lookup(whole.group(1))

        def replace(found: re.Match[str]) -> str:
            if found.group(1) is None:
                return "$${" if partial else "${"
            if partial and self._later(found.group(1)):
                return found.group(0)
            return _as_text(self.lookup(found.group(1)), found.group(1))

        return _REFERENCE.sub(replace, text)


def _as_text(value: Any, expression: str) -> str:
    """``value`` written into a string: text as it is, anything else as JSON; a value JSON
    has no form for (YAML's ``!!binary``, ``!!set``) is a mistake in the file."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise VariableError(
            f"${{{expression}}}: cannot be written into text ({exc}): give the variable"
            " strings, numbers, lists and mappings only"
        ) from None


def _field(value: Any, part: str, where: str) -> Any:
    if isinstance(value, Mapping):
        if part in value:
            return value[part]
        known = ", ".join(map(str, value)) or "none"
        raise VariableError(f"${{{where}}}: no field {part!r} (fields: {known})")
    if isinstance(value, list) and part.isdigit():
        if int(part) < len(value):
            return value[int(part)]
        raise VariableError(f"${{{where}}}: the list has {len(value)} items")
    raise VariableError(f"${{{where}}}: {type(value).__name__} value has no field {part!r}")


def texts(value: Any, at: KeyPath = (), *, keys: bool = False) -> Iterator[tuple[KeyPath, str]]:
    """Every string in ``value`` (list items and mapping values recursively; mapping keys
    too with ``keys``), with the key path it was found at."""
    if isinstance(value, str):
        yield at, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if keys and isinstance(key, str):
                yield (*at, key), key
            yield from texts(item, (*at, str(key)), keys=keys)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from texts(item, (*at, index), keys=keys)


def references(value: Any) -> Iterator[tuple[KeyPath, str]]:
    """Every ``${…}`` expression in ``value`` (in mapping keys too), with the key path it
    was found at; ``$${`` literals are not references."""
    for at, text in texts(value, keys=True):
        for found in _REFERENCE.finditer(text):
            if found.group(1) is not None:
                yield at, found.group(1)


def unresolved(value: Any, known: set[str] | frozenset[str]) -> Iterator[tuple[KeyPath, str]]:
    """The references left in ``value`` after partial resolution that nothing will set:
    their name is neither ``uuid``, nor in ``SET_WHILE_RUNNING``, nor in ``known`` (the
    ``save:`` names of earlier steps)."""
    for at, expression in references(value):
        name = root(expression)
        if name != "uuid" and name not in SET_WHILE_RUNNING and name not in known:
            yield at, expression


def root(expression: str) -> str:
    """The variable an expression reads (``transfer`` of ``${transfer.body.x}``)."""
    return expression.strip().split(".")[0]


def is_reference(value: object) -> bool:
    """Whether ``value`` is a string that is exactly one ``${…}`` reference."""
    if not isinstance(value, str):
        return False
    whole = _REFERENCE.fullmatch(value)
    return whole is not None and whole.group(1) is not None
