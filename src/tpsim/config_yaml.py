"""Reading a config's bytes as YAML (or JSON, which is YAML), bounded before anything is built.

A config arrives from a file or from ``PUT /admin/fixtures`` (any client that reaches the
admin API), so its bytes are refused with a ``YamlRefused`` that says why (not UTF-8, not
YAML, nested deeper than ``MAX_YAML_DEPTH``) rather than a ``UnicodeDecodeError`` or a
``RecursionError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from tpsim.errors import ConfigError

# Far deeper than any config (about 8 levels); the YAML composer recurses once per level.
MAX_YAML_DEPTH = 64
# Values a document may stand for once its aliases are expanded: far more than any config
# or scenario, far fewer than an alias bomb ("billion laughs": a few hundred bytes standing
# for 10**9 values, which anything walking the document would take hours over).
MAX_YAML_VALUES = 1_000_000
_MERGE = "tag:yaml.org,2002:merge"


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
        return _load(text)
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


def line_of(raw: bytes, path: Sequence[str | int]) -> int | None:
    """The line (from 1) where the value at ``path`` (mapping keys and list indexes, as a
    validation error locates it: ``("participants", 2, "endpoint")``) is given in the YAML
    document ``raw``: its key's line, or a list item's; for a key that is not there (a
    missing one) the line of the deepest part that is. None when ``raw`` is no YAML tpsim
    reads, or the path leads nowhere in it."""
    try:
        loader = _DepthBoundedLoader(raw.decode("utf-8"))
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except (UnicodeDecodeError, yaml.YAMLError, _TooDeep):
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = next(
                (
                    (key, value)
                    for key, value in node.value
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part)
                ),
                None,
            )
            if found is None:
                return line if line is not None else node.start_mark.line + 1
            key, node = found
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


class _TooDeep(Exception):
    pass


def _load(text: str) -> Any:
    loader = _DepthBoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_document(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_document(node: yaml.Node) -> None:
    """Refuse, before anything is built from it, a composed document that YAML allows but
    that would silently lose data or never finish: a mapping that gives a key twice (the
    loader would keep the last), an alias inside the node it names (a recursive structure),
    and aliases standing for more than ``MAX_YAML_VALUES`` values. Raises a
    ``yaml.MarkedYAMLError`` at the place, as a syntax error is.

    Each node is visited once (aliases share their node), without recursion."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, finished = stack.pop()
        key = id(current)
        children = _children(current)
        if finished:
            open_nodes.discard(key)
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > MAX_YAML_VALUES:
                raise _refused(
                    current,
                    f"with its aliases expanded this stands for more than {MAX_YAML_VALUES:,}"
                    " values (an alias bomb?): write the values out, or use fewer aliases",
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _refused(
                current,
                "an alias inside the node it names makes a recursive structure, which tpsim"
                " does not read: write the value out",
            )
        if isinstance(current, yaml.MappingNode):
            _check_keys(current)
        open_nodes.add(key)
        stack.append((current, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_keys(node: yaml.MappingNode) -> None:
    first: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
            continue
        given = (key.tag, key.value)
        if given in first:
            raise _refused(
                key,
                f"the key {key.value!r} is given twice in one mapping (first on line"
                f" {first[given]}): YAML would keep only the last; keep one",
            )
        first[given] = key.start_mark.line + 1


def _refused(node: yaml.Node, problem: str) -> yaml.MarkedYAMLError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


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
