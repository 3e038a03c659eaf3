"""What the config says about the journal and signatures is what the running scheme does,
from the start and after ``PUT /admin/fixtures`` (``Simulation.load``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.roles import START
from tests.support.scheme import default_config_data
from tpsim.config import overlay, parse_config
from tpsim.core.clock import ManualClock
from tpsim.serve.simulation import Simulation

BOUNDS = {"max_entries": 50, "max_bytes": 65536, "max_body_bytes": 4096}


def config(**changes: Any) -> Any:
    return parse_config(overlay(default_config_data(), changes))


def bounds(sim: Simulation) -> dict[str, int]:
    journal = sim.journal
    return {
        "max_entries": journal._max_entries,
        "max_bytes": journal._max_bytes,
        "max_body_bytes": journal._max_body_bytes,
    }


async def test_the_journal_takes_its_bounds_from_the_config() -> None:
    sim = Simulation(config(journal=BOUNDS), clock=ManualClock(START))
    try:
        assert bounds(sim) == BOUNDS
    finally:
        await sim.close()


async def test_fixtures_change_the_journals_bounds_but_never_its_file(tmp_path: Path) -> None:
    started = tmp_path / "journal.jsonl"
    sim = Simulation(config(journal={"jsonl": str(started)}), clock=ManualClock(START))
    try:
        elsewhere = tmp_path / "chosen-by-an-admin-client.jsonl"
        sim.load(config(journal={**BOUNDS, "jsonl": str(elsewhere)}))
        assert bounds(sim) == BOUNDS
        assert sim.journal.sink_path == started
    finally:
        await sim.close()
    assert not elsewhere.exists()
