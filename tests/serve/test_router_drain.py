"""``Router.drain`` waits for every background delivery and then returns, on every Python.

Since 3.12, ``asyncio.gather`` over tasks that are all done completes without yielding to
the loop; a drain that relied on the tasks' done-callbacks to empty its set spun forever
(issue 9). The timeout turns such a spin into a failure with a traceback.
"""

from __future__ import annotations

import asyncio

import pytest

from tpsim.core.clock import ManualClock
from tpsim.journal import Journal
from tpsim.mojaloop.message import Effects
from tpsim.mojaloop.registry import Registry
from tpsim.mojaloop.switch import Switch
from tpsim.serve.router import Router
from tpsim.serve.transports import Recording, Transports


def _router() -> Router:
    switch = Switch(Registry(), "switch", ManualClock())
    return Router(switch, journal=Journal(), transports=Transports(lambda _: Recording()))


@pytest.mark.timeout(5)
async def test_drain_returns_when_the_tasks_finished_before_their_callbacks_ran() -> None:
    router = _router()
    router.submit_effects("dfspa", Effects())
    # One turn of the loop: the task runs to its end, its done-callbacks are only scheduled.
    await asyncio.sleep(0)
    await router.drain()


@pytest.mark.timeout(5)
async def test_drain_waits_for_work_that_background_work_spawns() -> None:
    router = _router()
    finished: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0.01)
        finished.append("second")

    async def first() -> None:
        await asyncio.sleep(0.01)
        router._spawn(second())
        finished.append("first")

    router._spawn(first())
    await router.drain()
    assert finished == ["first", "second"]
