"""``tpsim run --server URL`` points the running tpsim at the runner's PISP for the run, then
puts back the config it replaced: after a pass, a failure or Ctrl-C (issue 16, item 4).
Against a real tpsim served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.scenario.test_runner import TRANSFER
from tests.support.scenarios import write
from tpsim.auth.keys import KeyType, generate_private_key, private_key_pem
from tpsim.cli import main
from tpsim.config import Config, load_config, parse_config
from tpsim.errors import ScenarioError
from tpsim.scenario.results import Outcome
from tpsim.scenario.runner import RunOptions, run
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

USERS_PISP = "http://127.0.0.1:5999"  # the PISP the server was started for


@asynccontextmanager
async def served(config: Config | None = None) -> AsyncIterator[tuple[str, Simulation]]:
    """A tpsim serving ``config`` (default: the built-in one, for the user's PISP)."""
    sim = Simulation(config or load_config(pisp_url=USERS_PISP))
    server = TestServer(create_app(sim), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), sim
    finally:
        await server.close()


def in_force(sim: Simulation) -> dict[str, Any]:
    return sim.config.model_dump(mode="json")


def pisp_endpoint(sim: Simulation) -> str | None:
    return next(p.endpoint for p in sim.config.participants if p.fsp_id == "pispa")


async def test_after_a_passing_run_the_server_has_its_own_config_again(tmp_path: Path) -> None:
    path = write(tmp_path, "transfer.yaml", TRANSFER)
    async with served() as (url, sim):
        before = in_force(sim)
        result = await run([str(path)], RunOptions(server=url))
        (scenario,) = result.scenarios
        # The transfer passed, so its callbacks reached the runner's PISP, not the user's.
        assert scenario.outcome is Outcome.PASSED, scenario.failures
        assert in_force(sim) == before
        assert pisp_endpoint(sim) == USERS_PISP


async def test_after_a_failing_run_the_server_has_its_own_config_again(tmp_path: Path) -> None:
    failing = (
        "name: wrong balance\nsteps:\n  - check_balances: {balances: {dfspa.alice.chequing: '1'}}\n"
    )
    paths = [write(tmp_path, "a.yaml", TRANSFER), write(tmp_path, "b.yaml", failing)]
    async with served() as (url, sim):
        before = in_force(sim)
        result = await run([str(p) for p in paths], RunOptions(server=url))
        assert [s.outcome for s in result.scenarios] == [Outcome.PASSED, Outcome.FAILED]
        assert in_force(sim) == before


async def test_after_ctrl_c_the_server_has_its_own_config_again(tmp_path: Path) -> None:
    path = write(tmp_path, "slow.yaml", "name: slow\nsteps:\n  - wait: {for: 60s}\n")
    async with served() as (url, sim):
        before = in_force(sim)
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tpsim", "run", "--server", url, str(path)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            for _ in range(400):  # until the scenario's config is in force: it is running
                if pisp_endpoint(sim) != USERS_PISP:
                    break
                await asyncio.sleep(0.05)
            assert pisp_endpoint(sim) != USERS_PISP, "the run never started"
            process.send_signal(signal.SIGINT)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 130
        assert b"Traceback" not in stderr
        assert in_force(sim) == before


async def test_a_server_whose_keys_could_not_be_put_back_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The admin API never shows a signing key, so a config holding one could not be put
    back: the run is refused (exit 2) and the server keeps its config."""
    data = load_config(pisp_url=USERS_PISP).model_dump(mode="json")
    data["hub"]["jws_private_key_pem"] = private_key_pem(generate_private_key(KeyType.P256))
    path = write(tmp_path, "transfer.yaml", TRANSFER)
    async with served(parse_config(data)) as (url, sim):
        before = sim.config
        with pytest.raises(
            ScenarioError, match="holds signing keys \\(switch: jws_private_key_pem"
        ):
            await run([str(path)], RunOptions(server=url))
        code = await asyncio.to_thread(main, ["run", "--server", url, str(path)])
        assert sim.config is before and not sim.journal.entries()
    assert code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"tpsim: scenario error: --server {url}: its config holds signing keys")
