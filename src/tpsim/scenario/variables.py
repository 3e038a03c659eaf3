"""``${…}`` references in scenario values.

``${name}`` and ``${name.field.0.sub}`` read a variable (the scenario's ``variables``, the
matrix cell, what earlier steps saved or set), ``${env.NAME}`` an environment variable and
``${uuid}`` a new UUID each time. A string that is exactly one reference takes the
referenced value with its type (a mapping stays a mapping); elsewhere the value is
written into the string. ``$${`` is a literal ``${``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from tpsim.errors import TpsimError

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")


class VariableError(TpsimError):
    """A reference that names nothing (a mistake in the scenario, not a failure of the
    system under test)."""


class Variables:
    def __init__(self, values: Mapping[str, Any] | None = None, env: Mapping[str, str] = {}):
        self.values: dict[str, Any] = dict(values or {})
        self.env = env

    def set(self, name: str, value: Any) -> None:
        self.values[name] = value

    def resolve(self, value: Any, *, partial: bool = False) -> Any:
        """``value`` with every reference replaced (mappings and lists recursively).

        ``partial`` leaves references to variables not defined yet (and ``${uuid}``) as
        they are, for those that steps will set."""
        if isinstance(value, str):
            return self._string(value, partial)
        if isinstance(value, Mapping):
            return {
                str(self.resolve(key, partial=partial)): self.resolve(item, partial=partial)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.resolve(item, partial=partial) for item in value]
        return value

    def _later(self, expression: str) -> bool:
        name = expression.strip().split(".")[0]
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
            value = self.lookup(found.group(1))
            return value if isinstance(value, str) else json.dumps(value)

        return _REFERENCE.sub(replace, text)


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


def is_reference(value: object) -> bool:
    """Whether ``value`` is a string that is exactly one ``${…}`` reference."""
    if not isinstance(value, str):
        return False
    whole = _REFERENCE.fullmatch(value)
    return whole is not None and whole.group(1) is not None
