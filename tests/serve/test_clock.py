"""The wall clock moved forward at run time: due timers fire at once, earliest first."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tpsim.serve.clock import SystemClock


async def test_advance_moves_now_forward() -> None:
    clock = SystemClock()
    before = clock.now()
    clock.advance(3600)
    assert clock.now() - before >= timedelta(hours=1)
    assert clock.offset_s == 3600


async def test_timers_that_fall_due_fire_at_once_earliest_first() -> None:
    clock = SystemClock()
    fired: list[str] = []
    start = clock.now()
    clock.call_at(start + timedelta(minutes=10), lambda: fired.append("10 min"))
    clock.call_at(start + timedelta(minutes=5), lambda: fired.append("5 min"))
    clock.call_at(start + timedelta(hours=2), lambda: fired.append("2 h"))

    clock.advance(15 * 60)
    await asyncio.sleep(0.05)
    assert fired == ["5 min", "10 min"]

    clock.advance(2 * 3600)
    await asyncio.sleep(0.05)
    assert fired == ["5 min", "10 min", "2 h"]


async def test_a_cancelled_timer_never_fires() -> None:
    clock = SystemClock()
    fired: list[str] = []
    handle = clock.call_at(clock.now() + timedelta(minutes=1), lambda: fired.append("x"))
    handle.cancel()
    clock.advance(120)
    await asyncio.sleep(0.05)
    assert fired == []


async def test_a_timer_still_fires_on_the_wall_clock() -> None:
    clock = SystemClock()
    fired = asyncio.Event()
    clock.call_at(clock.now() + timedelta(milliseconds=20), fired.set)
    await asyncio.wait_for(fired.wait(), 2)


async def test_time_never_moves_back() -> None:
    with pytest.raises(ValueError, match="forward"):
        SystemClock().advance(-1)
