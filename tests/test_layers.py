"""The layers of ``src/tpsim`` import only what docs/architecture.md says they may.

Read from the code's own imports (every ``import`` statement, at any depth, including the
ones under ``TYPE_CHECKING``), so the rules stay true as the code grows.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tpsim"

DIALECTS = frozenset({"mojaloop", "obie", "xs2a", "stet"})
SHARED = frozenset(
    {"core", "errors", "auth", "config", "config_participants", "config_psd2"}
    | {"config_settings", "config_yaml", "journal", "journal_links", "specs", "files"}
)
# What each top-level part of tpsim may import of tpsim (beside itself).
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "errors": frozenset({"core"}),
    "journal": frozenset({"core", "journal_body", "journal_links", "journal_sink"}),
    "journal_body": frozenset(),
    "journal_links": frozenset(),
    "journal_sink": frozenset(),
    "files": frozenset(),
    "auth": frozenset({"core", "errors", "files"}),
    "config": frozenset(
        {"core", "errors", "auth", "config_participants", "config_psd2", "config_rules"}
        | {"config_settings", "config_yaml", "files"}
    ),
    "config_participants": frozenset({"auth", "config_psd2", "config_settings"}),
    "config_psd2": frozenset(),
    "config_settings": frozenset({"auth", "config_psd2"}),
    "config_rules": frozenset({"core"}),
    "specs": frozenset({"core", "errors"}),
    "config_yaml": frozenset({"core", "errors"}),
    "logging": frozenset(),
    **{dialect: SHARED for dialect in DIALECTS},
    # serve.traffic writes its per-message line through tpsim.logging's handler.
    "serve": SHARED | DIALECTS | {"logging"},
    "scenario": SHARED | DIALECTS | {"serve", "cli_options"},  # load_cli: --timeout
    "cli": SHARED
    | DIALECTS
    | {"serve", "scenario", "logging", "__init__", "pisp_cli", "cli_options"},
    "pisp_cli": SHARED | {"scenario", "cli_options"},  # `tpsim pisp`: aiohttp only in scenario/
    "cli_options": frozenset(),
    "__main__": frozenset({"cli"}),
    # tpsim in a user's tests: the fixture's implementation runs the app; the plugin
    # imports it only when a test asks for the fixture.
    "testing": SHARED | DIALECTS | {"serve"},
    "pytest_plugin": frozenset({"errors", "testing"}),
    "__init__": frozenset(),
}
# Third-party packages that only the I/O edges may use.
IO_LIBRARIES = frozenset({"aiohttp"})


def part_of(path: Path) -> str:
    """The top-level part of tpsim a source file belongs to (``core``, ``config``…)."""
    relative = path.relative_to(SRC)
    return relative.parts[0].removesuffix(".py")


@functools.cache
def imports_of(path: Path) -> tuple[str, ...]:
    return tuple(imported(path))


def imported(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, absolute."""
    tree = ast.parse(path.read_text("utf-8"))
    package = ".".join(("tpsim", *path.relative_to(SRC).parent.parts))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield module
            # ``from tpsim import x``: x is a part of tpsim, or a name of its __init__.
            if module == "tpsim":
                for alias in node.names:
                    is_part = (SRC / alias.name).is_dir() or (SRC / f"{alias.name}.py").exists()
                    yield f"tpsim.{alias.name if is_part else '__init__'}"


def sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


@functools.cache
def edges() -> dict[str, set[str]]:
    """Which parts of tpsim each part imports."""
    graph: dict[str, set[str]] = {}
    for path in sources():
        part = part_of(path)
        for module in imports_of(path):
            if module.startswith("tpsim."):
                other = module.split(".")[1]
                if other != part:
                    graph.setdefault(part, set()).add(other)
    return graph


def test_every_part_is_known() -> None:
    assert {part_of(p) for p in sources()} <= set(ALLOWED)


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_the_layers_below_it(part: str) -> None:
    uses = edges().get(part, set())
    assert uses <= ALLOWED[part], f"{part} may not import {sorted(uses - ALLOWED[part])}"


def test_core_uses_the_standard_library_only() -> None:
    for path in (SRC / "core").rglob("*.py"):
        for module in imports_of(path):
            top = module.split(".")[0]
            if top == "tpsim":
                assert module.startswith("tpsim.core"), f"{path.name} imports {module}"
            else:
                assert top in sys.stdlib_module_names, f"{path.name} imports {module}"
                assert top != "asyncio", f"{path.name} imports asyncio (core is sans-IO)"


def test_only_the_edges_do_io() -> None:
    for path in sources():
        if part_of(path) in {"serve", "scenario", "cli", "testing"}:
            continue
        for module in imports_of(path):
            assert module.split(".")[0] not in IO_LIBRARIES, (
                f"{path.relative_to(SRC)} imports {module}"
            )


def test_no_import_cycle_between_parts() -> None:
    graph = edges()
    done: set[str] = set()

    def visit(node: str, trail: tuple[str, ...]) -> None:
        assert node not in trail, f"import cycle: {' -> '.join((*trail, node))}"
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, (*trail, node))
        done.add(node)

    for node in sorted(graph):
        visit(node, ())
