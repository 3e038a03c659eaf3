"""The command line: exit codes, config errors without tracebacks, and a real `tpsim serve`."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tpsim.cli import main


def test_config_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", "fixtures/default.yaml"]) == 0
    assert "OK (4 participants" in capsys.readouterr().out


def test_config_error_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scheme.yaml"
    path.write_text("participants:\n  - fsp_id: pispa\n    kind: pisp\n")
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: participants.0" in err
    assert "Traceback" not in err


def test_unknown_command_exits_2() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_starts_on_default_config_and_answers_health() -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tpsim",
        "serve",
        "--port",
        str(port),
        "--log-json",
        stderr=subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/health") as response:
                        assert response.status == 200
                        assert await response.json() == {"status": "OK"}
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail("tpsim serve did not answer /health within 10 s")
    finally:
        process.terminate()
        _, stderr = await process.communicate()
    assert process.returncode == 0
    assert b'"event": "tpsim is serving"' in stderr


async def test_serve_with_invalid_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "scheme.yaml"
    path.write_text("behaviour:\n  profile: strict\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tpsim",
        "serve",
        "--config",
        str(path),
        stderr=subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode == 2
    assert b"behaviour.profile" in stderr
    assert b"Traceback" not in stderr


def _latin1_config(folder: Path) -> Path:
    path = folder / "latin1.yaml"
    path.write_bytes("hub:\n  name: caf\xe9\n".encode("latin-1"))
    return path


def test_config_check_of_a_file_that_is_not_utf8_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _latin1_config(tmp_path)
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"tpsim: config error: {path}: not UTF-8 text: byte 0xe9 at offset 16" in err
    assert "Traceback" not in err


async def test_serve_with_a_config_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    path = _latin1_config(tmp_path)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tpsim", "serve", "--config", str(path), stderr=subprocess.PIPE
    )
    _, stderr = await process.communicate()
    assert process.returncode == 2
    assert b"not UTF-8 text: byte 0xe9 at offset 16; save it as UTF-8" in stderr
    assert b"Traceback" not in stderr


def test_run_help_says_the_bundles_ship_with_tpsim(capsys: pytest.CaptureFixture[str]) -> None:
    """``--check-sent`` needs no ``--spec-dir``: the official bundles ship in the package."""
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "else the ones tpsim ships" in help_text
    assert "needs the bundles" not in help_text
