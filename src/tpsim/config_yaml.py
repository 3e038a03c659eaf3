"""Reading a config's bytes as YAML (or JSON, which is YAML), bounded before anything is built.

A config arrives from a file or from ``PUT /admin/fixtures`` (any client that reaches the
admin API), so its bytes are refused with a ``YamlRefused`` that says why (not UTF-8, not
YAML, nested deeper than ``MAX_YAML_DEPTH``) rather than a ``UnicodeDecodeError`` or a
``RecursionError``.
"""

from __future__ import annotations

from typing import Any

import yaml

from tpsim.errors import ConfigError

# Far deeper than any config (about 8 levels); the YAML composer recurses once per level.
MAX_YAML_DEPTH = 64


class YamlRefused(ConfigError):
    """A config's bytes are no YAML document tpsim reads; ``code`` says why: ``NOT_UTF8``,
    ``NOT_YAML`` or ``TOO_DEEP`` (the admin API answers ``FIXTURES_<code>``)."""

    def __init__(self, message: str, *, code: str, file: str) -> None:
        super().__init__(message, file=file)
        self.code = code


def read_yaml(raw: bytes, *, file: str) -> Any:
    """The YAML (or JSON: JSON is YAML) document in ``raw``, decoded as UTF-8.

    Raises ``YamlRefused`` rather than ``UnicodeDecodeError`` or ``RecursionError``: nesting
    is bounded while the document is composed, before any object is built from it.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlRefused(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}; save it as UTF-8",
            code="NOT_UTF8",
            file=file,
        ) from None
    try:
        return yaml.load(text, Loader=_DepthBoundedLoader)  # noqa: S506 - a SafeLoader
    except _TooDeep as exc:
        raise YamlRefused(str(exc), code="TOO_DEEP", file=file) from None
    except yaml.MarkedYAMLError as exc:  # one line, where it is: file:line
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "a syntax error"
        raise YamlRefused(
            f"not valid YAML (nor JSON): {where}{problem}", code="NOT_YAML", file=file
        ) from None
    except yaml.YAMLError as exc:
        raise YamlRefused(f"not valid YAML (nor JSON): {exc}", code="NOT_YAML", file=file) from None


class _TooDeep(Exception):
    pass


class _DepthBoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing documents nested deeper than ``MAX_YAML_DEPTH``."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
                mark = event.start_mark or self.get_mark()
                raise _TooDeep(
                    f"nested more than {MAX_YAML_DEPTH} levels deep (line {mark.line + 1},"
                    f" column {mark.column + 1})"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
