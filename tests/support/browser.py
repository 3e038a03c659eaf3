"""A real headless browser for the tests that render pages, when one is installed: Debian's
chromium driven through Playwright (which then downloads no browser of its own)."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING = [
    name
    for name, present in (
        ("Debian's chromium", CHROMIUM is not None),
        ("the playwright package", importlib.util.find_spec("playwright") is not None),
    )
    if not present
]


def needs_browser(instead: str) -> pytest.MarkDecorator:
    """Skip unless chromium and Playwright are there; ``instead`` says what covers the page
    without them."""
    return pytest.mark.skipif(
        bool(MISSING), reason=f"optional: {' and '.join(MISSING)} not installed; {instead}"
    )
