"""``Tpsim.start`` is all or nothing: when any step of starting fails, whatever it had
started is closed again (the simulation, the runner, the listening socket, their tasks)
and the error reaches the caller as raised."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from tpsim import testing
from tpsim.serve.server import GuardedSite
from tpsim.serve.simulation import Simulation
from tpsim.testing import Tpsim


class Broken(Exception):
    """What the step made to fail raises."""


def _failing(*_: Any, **__: Any) -> Any:
    raise Broken("this step failed")


async def _failing_async(*_: Any, **__: Any) -> None:
    raise Broken("this step failed")


def _listening_then_failing(opened: list[socket.socket]) -> Callable[..., Any]:
    """``GuardedSite.start`` that opens its socket, then fails (as a later step would)."""
    original = GuardedSite.start

    async def start(site: GuardedSite) -> None:
        await original(site)
        opened.extend(sock for sock in site._server.sockets)  # type: ignore[union-attr]
        raise Broken("this step failed")

    return start


@pytest.mark.parametrize("step", ["create_app", "runner.setup", "site.start"])
async def test_a_start_that_fails_leaves_nothing_running(
    monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    closed: list[Simulation] = []
    close = Simulation.close

    async def counted_close(sim: Simulation) -> None:
        closed.append(sim)
        await close(sim)

    monkeypatch.setattr(Simulation, "close", counted_close)
    opened: list[socket.socket] = []
    if step == "create_app":
        monkeypatch.setattr(testing, "create_app", _failing)
    elif step == "runner.setup":
        monkeypatch.setattr(web.AppRunner, "setup", _failing_async)
    else:
        monkeypatch.setattr(GuardedSite, "start", _listening_then_failing(opened))
    before = asyncio.all_tasks()

    tpsim = Tpsim()
    with pytest.raises(Broken, match="this step failed"):
        await tpsim.start()

    await asyncio.sleep(0)  # let what was cancelled finish
    assert asyncio.all_tasks() == before
    assert len({id(sim) for sim in closed}) == 1  # the simulation: timers, client, journal
    assert all(sock.fileno() == -1 for sock in opened)  # the listening socket: closed
    assert step != "site.start" or opened  # (the socket was opened before the failure)
    assert tpsim.url == ""
    with pytest.raises(RuntimeError, match="not running"):
        tpsim.simulation  # noqa: B018 - reading it is the check
    await tpsim.close()  # and closing it afterwards is harmless


async def test_a_tpsim_whose_start_failed_can_start_again(monkeypatch: pytest.MonkeyPatch) -> None:
    tpsim = Tpsim()
    with monkeypatch.context() as patched:
        patched.setattr(testing, "create_app", _failing)
        with pytest.raises(Broken):
            await tpsim.start()
    async with tpsim:
        assert tpsim.url.startswith("http://127.0.0.1:")
