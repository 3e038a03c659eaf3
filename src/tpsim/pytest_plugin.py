"""The pytest plugin (entry point ``pytest11: tpsim``): a ``tpsim`` fixture per test.

Fixtures (docs/pytest.md has the example):

- ``tpsim``: an in-process tpsim on 127.0.0.1 and an ephemeral port (``tpsim.testing.Tpsim``:
  ``url``, ``journal()``, ``accounts()``, ``reset()``, ``advance()``, ``settle()``,
  ``admin()``, ``config``), stopped after the test. Async: it needs pytest-asyncio
  (pytest-aiohttp brings it) and runs on the test's event loop.
- ``tpsim_config``: the config it serves: the nearest ``@pytest.mark.tpsim_config(PATH,
  **overrides)`` (a relative PATH is read from the test file's folder), else
  ``--tpsim-config PATH`` (from where pytest was started), else the built-in scheme.
  Override the fixture to choose another way.
- ``tpsim_pisp_url``: where the config's external PISP is (``--tpsim-pisp-url``, else the
  config's own endpoint); override it to return the URL of a PISP a fixture starts.

Loading the plugin imports nothing of tpsim: every pytest run in an environment that
has tpsim installed pays nothing until a test asks for the fixture.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from tpsim.testing import ConfigSource, Tpsim

MARKER = "tpsim_config"
_OPTION_CONFIG = "--tpsim-config"
_OPTION_PISP = "--tpsim-pisp-url"
_T = TypeVar("_T")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tpsim", "tpsim, the payment-initiation simulator")
    group.addoption(
        _OPTION_CONFIG,
        dest="tpsim_config",
        metavar="PATH",
        help="config (YAML) the tpsim fixture serves, unless a test's "
        "@pytest.mark.tpsim_config says otherwise (default: the built-in scheme)",
    )
    group.addoption(
        _OPTION_PISP,
        dest="tpsim_pisp_url",
        metavar="URL",
        help="endpoint of the external PISP(s) of the tpsim fixture's config",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path=None, **overrides): the config the tpsim fixture serves: a YAML "
        "file (relative to the test file's folder) and/or top-level sections laid over it",
    )


@pytest.fixture
def tpsim_config(request: pytest.FixtureRequest) -> ConfigSource:
    """The config the ``tpsim`` fixture serves (a ``Config``; an override may return a
    path): the nearest ``tpsim_config`` marker, else ``--tpsim-config``, else the built-in
    scheme. A mistake in the file fails the test with its file and key path."""
    from tpsim.testing import resolve_config

    marker = request.node.get_closest_marker(MARKER)
    path: str | None = request.config.getoption("tpsim_config")
    base = request.config.invocation_params.dir
    overrides: dict[str, Any] = {}
    if marker is not None:
        marked, overrides = _marker_arguments(marker)
        if marked is not None:
            path, base = marked, request.path.parent
    source = None if path is None else base / Path(path).expanduser()
    return _configured("tpsim_config", lambda: resolve_config(source, overrides=overrides))


def _configured(fixture: str, make: Callable[[], _T]) -> _T:
    """What ``make`` makes; a mistake in the config (``ConfigError``) fails the test with
    what to fix, named after ``fixture``, and no traceback."""
    from tpsim.errors import ConfigError

    try:
        return make()
    except ConfigError as exc:
        failure = f"{fixture}: {exc}"
    pytest.fail(failure, pytrace=False)  # outside the except: no chained exception shown


def _marker_arguments(marker: pytest.Mark) -> tuple[str | None, dict[str, Any]]:
    """``(path, overrides)`` of ``@pytest.mark.tpsim_config``: at most one path, given
    first or as ``path=`` (the marker's signature, ``pytest --markers``), and config
    sections as keywords."""
    overrides = dict(marker.kwargs)
    paths = [*marker.args, *([overrides.pop("path")] if "path" in overrides else [])]
    if len(paths) > 1 or not all(isinstance(p, str | Path) for p in paths):
        pytest.fail(
            f"@pytest.mark.{MARKER} takes one config path and config sections as keywords "
            f"(e.g. {MARKER}('scheme.yaml', behaviour={{'quote_expiry_s': 600}})), "
            f"not {paths!r}",
            pytrace=False,
        )
    return (str(paths[0]) if paths else None), overrides


@pytest.fixture
def tpsim_pisp_url(request: pytest.FixtureRequest) -> str | None:
    """Where the config's external PISP listens (None: the config's own endpoint)."""
    url: str | None = request.config.getoption("tpsim_pisp_url")
    return url


def _needs_pytest_asyncio() -> None:
    pytest.fail(
        "the tpsim fixture is async and needs pytest-asyncio: pip install pytest-asyncio "
        "(or pytest-aiohttp, which brings it), then write the test as 'async def'",
        pytrace=False,
    )


async def _tpsim(
    request: pytest.FixtureRequest, tpsim_config: ConfigSource, tpsim_pisp_url: str | None
) -> AsyncIterator[Tpsim]:
    """An in-process tpsim serving ``tpsim_config`` on 127.0.0.1 and a free port, for one
    test (docs/pytest.md shows how to share one across a session)."""
    from tpsim.testing import Tpsim

    test = getattr(request.node, "obj", None)
    if callable(test) and not inspect.iscoroutinefunction(test):
        # The loop tpsim serves on does not run while a synchronous test does: its first
        # request would wait forever.
        pytest.fail(
            f"{request.node.name} uses the tpsim fixture, which serves on the test's event "
            "loop: write the test as 'async def' (docs/pytest.md)",
            pytrace=False,
        )

    # A path from an overridden tpsim_config, and --tpsim-pisp-url, are read here.
    tpsim = _configured("tpsim", lambda: Tpsim(tpsim_config, pisp_url=tpsim_pisp_url))
    async with tpsim as running:
        yield running


def _define_tpsim() -> Any:
    """The ``tpsim`` fixture: pytest-asyncio runs it when installed; without it, a fixture
    that says what to install instead of pytest's "async fixture not handled"."""
    try:
        import pytest_asyncio
    except ImportError:
        return pytest.fixture(_needs_pytest_asyncio, name="tpsim")
    # No loop_scope: the fixture runs on the loop the project's pytest-asyncio settings give
    # function fixtures, the one its tests run on.
    return pytest_asyncio.fixture(_tpsim, name="tpsim")


tpsim = _define_tpsim()
