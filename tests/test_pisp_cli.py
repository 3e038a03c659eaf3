"""``tpsim pisp``: a built-in PISP plays the flows against a running tpsim, printing each
hop as it happens, and leaves the server's config as it found it (issue 16, item 2).
Against a tpsim served on 127.0.0.1; the command runs in-process (``main``) in a thread
while the test's event loop serves."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.cli import main
from tpsim.config import Config, load_config
from tpsim.pisp_cli import Hops
from tpsim.scenario.pisp_client import Callback
from tpsim.serve.admin import ADMIN_TOKEN
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

USERS_PISP = "http://127.0.0.1:5999"  # the PISP the server was started for
README = Path(__file__).resolve().parents[1] / "README.md"


@asynccontextmanager
async def served(
    config: Config | None = None, token: str | None = None
) -> AsyncIterator[Simulation]:
    """A tpsim serving ``config`` (default: the built-in one, for the user's PISP)."""
    sim = Simulation(config or load_config(pisp_url=USERS_PISP))
    app = create_app(sim)
    if token is not None:
        app[ADMIN_TOKEN] = token
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    sim.site.url = str(server.make_url("")).rstrip("/")
    try:
        yield sim
    finally:
        await server.close()


def in_force(sim: Simulation) -> dict[str, Any]:
    return sim.config.model_dump(mode="json")


async def pisp(*args: str) -> int:
    """``tpsim pisp ARGS`` as the command line runs it."""
    return await asyncio.to_thread(main, ["pisp", *args, "--timeout", "5"])


def hops(out: str) -> list[tuple[str, set[str]]]:
    """Each line the PISP sent (``→``) with the set of callbacks printed after it (``←``):
    callbacks of one request may come in either order."""
    grouped: list[tuple[str, set[str]]] = []
    for line in out.splitlines():
        if line.startswith("→"):
            grouped.append((line, set()))
        elif line.startswith("←"):
            grouped[-1][1].add(re.sub(r"challenge \w+…|consentId \S+", "…", line))
    return grouped


async def test_pisp_transfer_prints_every_hop_pays_bob_and_puts_the_config_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with served() as sim:
        before = in_force(sim)
        code = await pisp("transfer", "--amount", "10", "--server", sim.site.url)
        after = in_force(sim)
        journal = [(e.method, e.path) for e in sim.journal.entries()]
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert hops(out) == [
        ("→ GET /parties/MSISDN/16135551212  switch  202", {
            "← PUT /parties/MSISDN/16135551212  dfspb  Bob Babirye at dfspb"}),
        ("→ POST /thirdpartyRequests/transactions  dfspa  202", {
            "← PUT /thirdpartyRequests/transactions/{ID}  dfspa  RECEIVED",
            "← POST /thirdpartyRequests/authorizations  dfspa  10 USD, …"}),
        ("→ PUT /thirdpartyRequests/authorizations/{ID}  dfspa  200", {
            "← PATCH /thirdpartyRequests/transactions/{ID}  dfspa  ACCEPTED / COMPLETED"}),
    ]  # fmt: skip
    assert out.splitlines()[-1] == (
        "transfer COMPLETED: 10 USD from dfspa.alice.chequing (1000 → 990 USD)"
        " to MSISDN 16135551212 at dfspb"
    )
    assert "Traceback" not in err
    # The server's own config is in force again, and the journal kept what happened.
    assert after == before
    tx = "/thirdpartyRequests/transactions/"
    assert any(method == "PATCH" and path.startswith(tx) for method, path in journal)
    # The README's sample is what the command prints.
    assert hops(readme_sample()) == hops(out)


async def test_two_transfers_in_a_row_against_one_server_both_complete(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The built-in credential is read from the package each run: its counter starts where
    the server's auth-service has it, or the second assertion would be a replay (6201)."""
    async with served() as sim:
        first = await pisp("transfer", "--amount", "10", "--server", sim.site.url)
        second = await pisp("transfer", "--amount", "5", "--server", sim.site.url)
    out, err = capsys.readouterr()
    assert (first, second) == (0, 0), out + err
    assert out.splitlines()[-1].startswith("transfer COMPLETED: 5 USD")
    assert "(990 → 985 USD)" in out.splitlines()[-1]


def readme_sample() -> str:
    """The ``tpsim pisp transfer`` sample of README "Watching the flows with tpsim pisp",
    the parts that change from run to run (the challenge, the amount's words) left out."""
    text = README.read_text(encoding="utf-8")
    start = text.index("### Watching the flows with `tpsim pisp`")
    return text[start : text.index("\n## ", start)]


async def test_pisp_link_over_otp_prints_every_hop_and_puts_the_config_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with served() as sim:
        before = in_force(sim)
        code = await pisp("link", "--user", "carol", "--channel", "OTP", "--server", sim.site.url)
        after = in_force(sim)
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert hops(out) == [
        ("→ GET /services/THIRD_PARTY_DFSP  switch  202", {
            "← PUT /services/THIRD_PARTY_DFSP  switch  dfspa, dfspb"}),
        ("→ GET /accounts/carol  dfspa  202", {
            "← PUT /accounts/carol  dfspa  dfspa.carol.chequing, dfspa.carol.savings"}),
        ("→ POST /consentRequests  dfspa  202", {"← PUT /consentRequests/{ID}  dfspa  OTP"}),
        ("→ PATCH /consentRequests/{ID}  dfspa  202", {"← POST /consents  dfspa  …"}),
        ("→ PUT /consents/{ID}  dfspa  202", {"← PATCH /consents/{ID}  dfspa  VERIFIED"}),
    ]  # fmt: skip
    assert re.search(r"the user reads the OTP \d{6} from their SMS", out)
    assert re.fullmatch(
        r"linked: carol at dfspa gave pispa consent \S+ for dfspa\.carol\.chequing,"
        r" dfspa\.carol\.savings \(FIDO credential VERIFIED\)",
        out.splitlines()[-1],
    )
    assert after == before


async def test_pisp_link_over_web_signs_in_on_the_login_page(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with served() as sim:
        code = await pisp("link", "--user", "carol", "--channel", "WEB", "--server", sim.site.url)
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "← PUT /consentRequests/{ID}  dfspa  WEB / http://" in out
    assert "the browser comes back to the callbackUri with ?secret=…" in out


async def test_a_signature_the_consent_does_not_hold_fails_the_transfer_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = tmp_path / "stranger.json"
    stranger.write_text(SoftwareAuthenticator.create().to_json())
    async with served() as sim:
        before = in_force(sim)
        code = await pisp(
            "transfer", "--amount", "10", "--credential", str(stranger), "--server", sim.site.url
        )
        assert in_force(sim) == before
    out, _ = capsys.readouterr()
    assert code == 1
    assert re.fullmatch(
        r"transfer FAILED: PUT /thirdpartyRequests/transactions/\S+/error from dfspa: 6201 .+",
        out.splitlines()[-1],
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--payer", "dfspa.nobody"], "no account 'dfspa.nobody'"),
        (["--pisp", "dfspa"], "has no PISP 'dfspa'"),
        (["--payer", "dfspa.carol.chequing"], "no built-in credential signs for"),
        (["--credential", "/nonexistent/alice.json"], "--credential /nonexistent/alice.json"),
    ],
)
async def test_a_flow_that_cannot_be_played_exits_2_saying_why(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with served() as sim:
        before = in_force(sim)
        code = await pisp("transfer", "--amount", "1", "--server", sim.site.url, *args)
        assert in_force(sim) == before
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("tpsim pisp transfer: error: ") and says in err, err
    assert "Traceback" not in err


async def test_a_server_that_cannot_be_reached_or_wants_a_token_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    unreachable = f"http://127.0.0.1:{_closed_port()}"
    assert await pisp("transfer", "--amount", "1", "--server", unreachable) == 2
    async with served(token="s3cret") as sim:  # noqa: S106 - a test token
        assert await pisp("transfer", "--amount", "1", "--server", sim.site.url) == 2
        code = await pisp(
            "transfer", "--amount", "1", "--server", sim.site.url, "--admin-token", "s3cret"
        )
    _, err = capsys.readouterr()
    assert f"GET {unreachable}/admin/config" in err
    assert "ADMIN_TOKEN_REQUIRED" in err or "Authorization" in err
    assert code == 0


def test_a_callback_that_arrives_before_the_answer_is_printed_after_it() -> None:
    lines: list[str] = []
    printer = Hops(lines.append)
    printer.sending()
    printer.received(
        Callback.of(
            "PUT",
            "/thirdpartyRequests/transactions/x",
            "dfspa",
            {"transactionRequestState": "RECEIVED"},
            200,
        )
    )
    printer.sent("POST", "/thirdpartyRequests/transactions", "dfspa", 202)
    assert lines == [
        "→ POST /thirdpartyRequests/transactions  dfspa  202",
        "← PUT /thirdpartyRequests/transactions/x  dfspa  RECEIVED",
    ]


def test_listen_prints_each_callback_with_its_path_and_body() -> None:
    lines: list[str] = []
    body = {
        "authorizationRequestId": "5b1e6f7a-0c2d-4e3f-8a9b-1c2d3e4f5a6b",
        "transferAmount": {"currency": "USD", "amount": "10"},
        "challenge": "ab12",
    }
    path = "/thirdpartyRequests/authorizations"
    Hops(lines.append, bodies=True).received(Callback.of("POST", path, "dfspa", body, 202))
    (printed,) = lines
    assert printed.splitlines()[0] == f"← POST {path}  dfspa  10 USD, challenge ab12…"
    assert '    "challenge": "ab12"' in printed.splitlines()


# `tpsim pisp listen` as the console script runs it, in a fresh interpreter: its exit code,
# and whether the flows (and aiohttp) were imported by then, as JSON.
LISTEN_REFUSED = """
import json, sys
from tpsim.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exited:
    code = exited.code
imported = [m for m in ("tpsim.scenario.pisp_flows", "aiohttp") if m in sys.modules]
print(json.dumps({"code": code, "imported": imported}))
"""


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_listen_refuses_a_port_out_of_range_before_importing_the_flows(port: str) -> None:
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", LISTEN_REFUSED, "pisp", "listen", "--port", port],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert json.loads(done.stdout) == {"code": 2, "imported": []}, done.stderr
    assert "tpsim pisp listen: error: argument --port:" in done.stderr
    assert "Traceback" not in done.stderr
