"""Every docstring of tpsim's code and tests is Unicode text.

Python 3.13 cleans docstrings when it compiles a module and encodes them as UTF-8 there:
a docstring spelling a lone surrogate with an escape (``"\\ud800"`` written with one
backslash) makes the module fail to import on 3.13 alone, while 3.11 and 3.12 take it.
Read from each file's syntax tree, so the check runs on whichever Python runs the tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FILES = sorted(
    path
    for folder in ("src", "tests", "benchmarks")
    for path in (REPO / folder).rglob("*.py")
    if "__pycache__" not in path.parts
)


def docstrings(tree: ast.Module) -> list[tuple[int, str]]:
    """Each docstring in ``tree`` (module, class, function) with its line."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                if isinstance(first.value.value, str):
                    found.append((first.lineno, first.value.value))
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_docstring_is_unicode_text(path: Path) -> None:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    for line, text in docstrings(tree):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            pytest.fail(
                f"{path.relative_to(REPO)}:{line}: a docstring holds {text[exc.start]!r}, no"
                " text on Python 3.13: write the escape with two backslashes"
            )
