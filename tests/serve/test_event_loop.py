"""``tpsim serve``'s event loop (issue 17): uvloop when installed (the ``tpsim[fast]``
extra), the standard loop otherwise or when ``TPSIM_LOOP=asyncio`` says so."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from tpsim.serve import server

HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


async def running_loop_kind() -> str:
    return server._loop_kind(asyncio.get_running_loop())


def test_run_gives_back_what_the_coroutine_returns() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert server.run(answer()) == 42


def test_tpsim_loop_asyncio_keeps_the_standard_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(server.LOOP_ENV, "asyncio")
    assert server.event_loop_name() == "asyncio"
    assert server.loop_factory() is None
    assert server.run(running_loop_kind()) == "asyncio"


@pytest.mark.skipif(not HAS_UVLOOP, reason="uvloop is not installed")
def test_uvloop_serves_when_it_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(server.LOOP_ENV, raising=False)
    assert server.event_loop_name() == "uvloop"
    assert server.run(running_loop_kind()) == "uvloop"


def test_without_uvloop_the_standard_loop_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(server.LOOP_ENV, raising=False)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "uvloop" else real_find_spec(name, *args),
    )
    assert server.event_loop_name() == "asyncio"
    assert server.run(running_loop_kind()) == "asyncio"
