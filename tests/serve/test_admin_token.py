"""The admin API answers only its owner (issue 11; DESIGN.md "Security defaults"): with a
token, every ``/admin/`` route needs ``Authorization: Bearer <token>``; served on loopback
without one it stays open; served anywhere else without one, tpsim makes one up and prints
it. ``/health`` is always open, and ``tpsim run --server`` sends the token."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.scenario.test_runner import TRANSFER
from tests.support.loopback import serving
from tests.support.scenarios import write
from tpsim.config import load_config
from tpsim.scenario.harness import HarnessError
from tpsim.scenario.results import Outcome
from tpsim.scenario.runner import RunOptions, run
from tpsim.serve.admin import ADMIN_ROUTES, ADMIN_TOKEN, admin_token_for
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

REPO = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-token"


@pytest.mark.parametrize(
    ("host", "configured", "required"),
    [
        ("127.0.0.1", None, None),
        ("127.8.9.10", None, None),
        ("::1", None, None),
        ("[::1]", None, None),
        ("localhost", None, None),
        ("LOCALHOST", None, None),
        ("127.0.0.1", TOKEN, TOKEN),
        ("0.0.0.0", TOKEN, TOKEN),  # noqa: S104 - a host name under test, nothing binds
    ],
)
def test_the_token_required_is_the_one_given_and_none_on_loopback(
    host: str, configured: str | None, required: str | None
) -> None:
    assert admin_token_for(host, configured) == required


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.168.1.10", "tpsim.example"])  # noqa: S104
def test_off_loopback_without_a_token_a_fresh_random_one_is_required(host: str) -> None:
    first, second = admin_token_for(host, None), admin_token_for(host, None)
    assert first and second and first != second
    assert len(first) >= 32


@asynccontextmanager
async def served(token: str | None) -> AsyncIterator[str]:
    app = create_app(Simulation(load_config()))
    if token is not None:
        app[ADMIN_TOKEN] = token
    async with serving(app) as url:
        yield url


async def call(
    url: str, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url + path, headers=headers) as response,
    ):
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, dict(response.headers), body


ROUTES = [(method, path.replace("{", "").replace("}", "")) for method, path, _ in ADMIN_ROUTES]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_admin_route_refuses_a_request_without_the_token(
    method: str, path: str
) -> None:
    async with served(TOKEN) as url:
        status, headers, body = await call(url, method, path)
        assert status == 401
        assert body["code"] == "ADMIN_TOKEN_REQUIRED"
        assert "Authorization: Bearer <token>" in body["error"]
        assert "tpsim pisp and tpsim load take it as --admin-token" in body["error"]
        assert headers["WWW-Authenticate"].startswith("Bearer")

        status, _, _ = await call(url, method, path, {"Authorization": f"Bearer {TOKEN}"})
        assert status != 401


# fmt: off
WRONG = [
    ("another token", f"Bearer {TOKEN}x"),
    ("a prefix of it", f"Bearer {TOKEN[:-1]}"),
    ("Basic credentials", "Basic czNjcmV0LXRva2Vu"),
    ("the bare token", TOKEN),
    ("no token after Bearer", "Bearer "),
    ("non-ASCII", "Bearer s3cret-tökén"),
]
# fmt: on


@pytest.mark.parametrize("authorization", [pytest.param(a, id=i) for i, a in WRONG])
async def test_a_wrong_token_is_refused_as_invalid(authorization: str) -> None:
    async with served(TOKEN) as url:
        status, headers, body = await call(
            url, "GET", "/admin/config", {"Authorization": authorization}
        )
    assert (status, body["code"]) == (401, "ADMIN_TOKEN_INVALID")
    assert "Authorization: Bearer <token>" in body["error"]
    assert 'error="invalid_token"' in headers["WWW-Authenticate"]


async def test_the_scheme_word_is_case_insensitive() -> None:
    async with served(TOKEN) as url:
        status, _, body = await call(
            url, "GET", "/admin/config", {"Authorization": f"bearer {TOKEN}"}
        )
    assert status == 200 and body["hub"]["name"] == "switch"


async def test_health_needs_no_token() -> None:
    async with served(TOKEN) as url:
        status, _, body = await call(url, "GET", "/health")
    assert (status, body) == (200, {"status": "OK"})


async def test_without_a_token_the_admin_api_is_open_as_on_loopback() -> None:
    async with served(None) as url:
        assert (await call(url, "GET", "/admin/accounts"))[0] == 200


async def test_tpsim_run_against_a_server_sends_its_token(tmp_path: Path) -> None:
    path = write(tmp_path, "scenario.yaml", TRANSFER)
    async with served(TOKEN) as url:
        passed = await run([str(path)], RunOptions(server=url, admin_token=TOKEN))
        # Without it the server cannot be used: refused before any scenario runs.
        with pytest.raises(HarnessError, match="ADMIN_TOKEN_REQUIRED") as refused:
            await run([str(path)], RunOptions(server=url))
        assert "{'error'" not in str(refused.value)  # the refusal's words, not a dict's repr
    assert passed.scenarios[0].outcome is Outcome.PASSED, passed.scenarios[0].failures


async def test_tpsim_run_reads_the_token_from_the_option_or_the_environment(
    tmp_path: Path,
) -> None:
    path = str(write(tmp_path, "scenario.yaml", TRANSFER))

    async def tpsim_run(*options: str, token_env: str = "") -> int:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tpsim", "run", path, *options),
            stdout=subprocess.DEVNULL,
            env={**os.environ, "TPSIM_ADMIN_TOKEN": token_env},
        )
        return await process.wait()

    async with served(TOKEN) as url:
        by_option = await tpsim_run("--server", url, "--admin-token", TOKEN)
        by_environment = await tpsim_run("--server", url, token_env=TOKEN)
        without = await tpsim_run("--server", url)
    assert (by_option, by_environment, without) == (0, 0, 2)  # 2: the server cannot be used


def test_docker_compose_publishes_on_loopback_and_passes_the_token_through() -> None:
    service = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["tpsim"]
    assert all(str(port).startswith("127.0.0.1:") for port in service["ports"])
    assert "TPSIM_ADMIN_TOKEN" in service["environment"]


# `tpsim serve` itself, as a process: only loopback is ever bound in tests, so the
# off-loopback case is played by telling tpsim that 127.0.0.1 is not loopback.
OFF_LOOPBACK = "import tpsim.serve.admin as a; a.is_loopback = lambda host: False; "


@asynccontextmanager
async def tpsim_serve(
    *options: str, prelude: str = "", env: dict[str, str] | None = None
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A ``tpsim serve`` process on an ephemeral loopback port: its URL and start line."""
    code = prelude + "import sys; from tpsim.cli import main; sys.exit(main(sys.argv[1:]))"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        *("serve", "--port", "0", "--log-json", *options),
        stderr=subprocess.PIPE,
        env={**os.environ, "TPSIM_ADMIN_TOKEN": "", **(env or {})},
    )
    assert process.stderr is not None
    try:
        line: dict[str, Any] = {}
        while line.get("event") != "tpsim is serving":
            raw = await asyncio.wait_for(process.stderr.readline(), 20)
            assert raw, "tpsim serve stopped before serving"
            line = json.loads(raw) if raw.startswith(b"{") else {}
        yield line["url"], line
    finally:
        process.terminate()
        await process.communicate()


async def test_serve_with_a_token_from_the_environment_requires_it_and_does_not_print_it() -> None:
    async with tpsim_serve(env={"TPSIM_ADMIN_TOKEN": TOKEN}) as (url, start):
        assert (await call(url, "GET", "/admin/config"))[0] == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert (await call(url, "GET", "/admin/config", bearer))[0] == 200
    assert TOKEN not in json.dumps(start)


async def test_serve_off_loopback_without_a_token_generates_one_and_prints_it() -> None:
    async with tpsim_serve(prelude=OFF_LOOPBACK) as (url, start):
        token = start["admin_token"]
        assert (await call(url, "GET", "/health"))[0] == 200
        assert (await call(url, "GET", "/admin/otp/x"))[0] == 401
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await call(url, "GET", "/admin/config", bearer))[0] == 200


async def test_serve_on_loopback_without_a_token_keeps_the_admin_api_open() -> None:
    async with tpsim_serve() as (url, start):
        assert (await call(url, "GET", "/admin/config"))[0] == 200
    assert "admin_token" not in start
