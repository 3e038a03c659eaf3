"""``tpsim load``, ``tpsim pisp`` and ``tpsim run --server`` against what is not a healthy
tpsim: a URL without a scheme, a server that never answers or answers with what no tpsim
would, a server or switch nothing listens on, a credentials file whose workers share one
FIDO credential, a credential that is not UTF-8. Each must end at once with one line
saying what to fix (exit 2), within ``--timeout``, and keep the report's stdout for the
report.
Everything runs on 127.0.0.1: stand-in servers on ephemeral ports, or a port nothing
listens on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.cli import main
from tpsim.config import load_config
from tpsim.scenario.harness import HarnessError, RemoteTpsim, http_request
from tpsim.scenario.load_setup import Quiet, read_credentials
from tpsim.scenario.pisp_client import CannotPlay
from tpsim.scenario.pisp_flows import against

CLOSED = "http://127.0.0.1:9"  # nothing listens there
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def stand_in(handler: Handler) -> AsyncIterator[str]:
    """A server answering every request with ``handler``, on an ephemeral port: its URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def never_answering() -> AsyncIterator[str]:
    """A server that accepts every request and never answers (until the test is over)."""
    over = asyncio.Event()

    async def never(request: web.Request) -> web.Response:
        await over.wait()
        return web.Response(status=500)

    async with stand_in(never) as url:
        try:
            yield url
        finally:
            over.set()


def answering(body: Any) -> Handler:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body)

    return answer


def credentials_file(tmp_path: Path, *credentials: str) -> Path:
    """A ``--credentials`` file with one worker per credential file named."""
    workers = [
        {
            "consentId": f"c{n}",
            "payer": "dfspa.alice.chequing",
            "dfsp": "dfspa",
            "currency": "USD",
            "credential": name,
            "payee": {"partyIdentifier": "16135551212"},
        }
        for n, name in enumerate(credentials)
    ]
    path = tmp_path / "workers.yaml"
    path.write_text(json.dumps({"workers": workers}))
    return path


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["load", "--server", "127.0.0.1:4040"],
        ["load", "--server", "ftp://127.0.0.1:4040"],
        ["load", "--switch", "127.0.0.1:4040", "--listen", "127.0.0.1:0"],
        ["pisp", "transfer", "--amount", "1", "--server", "127.0.0.1:4040"],
        ["pisp", "link", "--user", "carol", "--server", "localhost:4040"],
    ],
    ids=["load-server", "load-ftp", "load-switch", "pisp-transfer", "pisp-link"],
)
def test_a_url_without_http_scheme_exits_2_saying_what_to_give(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's thirdparty-sdk settings name the switch as ``host:port``: given so to
    ``--switch``, every flow failed as ``connection`` for the whole ``--duration``."""
    credential = SoftwareAuthenticator.create(credential_type="GENERIC")
    (tmp_path / "c.json").write_text(credential.to_json())
    if "--switch" in args:
        args = [*args, "--credentials", str(credentials_file(tmp_path, "c.json"))]
    started = time.perf_counter()
    code = main([*args, "--timeout", "5"] if args[0] == "load" else args)
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert "not an http:// or https:// URL" in err and "http://127.0.0.1:4040" in err, err
    assert out == ""
    assert time.perf_counter() - started < 10  # never waited for the --timeout


@pytest.mark.parametrize(
    "args",
    [
        ["load", "--server", "http://a..b:4040"],
        ["load", "--switch", "http://a..b:4040", "--listen", "127.0.0.1:0"],
        ["pisp", "transfer", "--amount", "1", "--server", "http://a..b:4040"],
    ],
    ids=["load-server", "load-switch", "pisp"],
)
def test_a_host_no_resolver_takes_exits_2_naming_it(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``a..b`` fails the resolver's IDNA encoding with a UnicodeError: a traceback."""
    credential = SoftwareAuthenticator.create(credential_type="GENERIC")
    (tmp_path / "c.json").write_text(credential.to_json())
    if "--switch" in args:
        args = [*args, "--credentials", str(credentials_file(tmp_path, "c.json"))]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "not a URL (its host 'a..b'" in err, err
    assert "Traceback" not in err


# --- a server that never answers ---------------------------------------------------------------


async def test_a_request_that_gets_no_answer_in_time_says_so() -> None:
    """The error named nothing: ``GET http://…/admin/config: `` (an empty TimeoutError):
    it says how long it waited, the session's timeout when the request gave none."""
    async with (
        never_answering() as url,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as http,
    ):
        with pytest.raises(HarnessError) as failed:
            await http_request(http, "GET", url + "/admin/config")
    assert str(failed.value) == f"GET {url}/admin/config: no answer within 0.2 s"


async def test_load_against_a_server_that_never_answers_says_so_once_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Once: the config was read twice (two ``--timeout`` waits), the first failure also
    logged as a warning on stdout, where the report goes, that the config "cannot be put
    back" although nothing had changed it."""
    async with never_answering() as url:
        started = time.perf_counter()
        code = await asyncio.to_thread(
            main, ["load", "--server", url, "--transfers", "1", "--timeout", "0.5"]
        )
        took = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == f"tpsim load: error: GET {url}/admin/config: no answer within 0.5 s\n"
    assert took < 10  # one wait of 0.5 s (generous: a loaded machine)


async def test_pisp_against_a_server_that_never_answers_gives_up_within_the_timeout() -> None:
    """``tpsim pisp transfer --timeout 0.5`` waited aiohttp's five minutes instead."""
    async with never_answering() as url:
        started = time.perf_counter()
        with pytest.raises(HarnessError, match="no answer within 0.5 s"):
            async with asyncio.timeout(20):
                async with against(url, log=Quiet(), admin_token=None, timeout=0.5):
                    pytest.fail("a server that never answers was pointed at")
    assert time.perf_counter() - started < 10


async def test_a_put_back_that_fails_is_said_on_stderr_not_in_the_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A server that takes the load's workers, refuses every flow, then refuses to take
    its config back: the warning went to stdout, into the report."""
    config: dict[str, Any] = load_config().model_dump(mode="json")
    puts: list[int] = []

    async def admin_api(request: web.Request) -> web.Response:
        nonlocal config
        if request.path == "/admin/config":
            return web.json_response(config)
        if request.path == "/admin/fixtures" and not puts:
            puts.append(1)
            config = await request.json()
            return web.json_response({})
        return web.json_response({"error": "no"}, status=500)

    async with stand_in(admin_api) as url:
        code = await asyncio.to_thread(
            main, ["load", "--server", url, "--transfers", "1", "--timeout", "5"]
        )
    out, err = capsys.readouterr()
    assert code == 1
    assert out.startswith("transfer: 0 completed, 1 failed of 1"), out
    assert "could not be put back" not in out
    assert "tpsim load: warning: --server: the config in force before the run could not" in err


# --- not a tpsim -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"participants": "pispa"},
        {"participants": ["pispa"]},
        {"participants": [{"kind": "pisp", "fsp_id": "pispa"}], "parties": 3},
    ],
    ids=["a-string", "strings", "parties-a-number"],
)
@pytest.mark.parametrize("command", ["load", "pisp"])
async def test_a_server_whose_config_is_no_tpsim_config_exits_2(
    command: str, body: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """A JSON server that is no tpsim (answering 200 and the same object to everything):
    an AttributeError or KeyError traceback."""
    args = ["transfer", "--amount", "1"] if command == "pisp" else ["--transfers", "1"]
    async with stand_in(answering(body)) as url:
        code = await asyncio.to_thread(main, [command, *args, "--server", url, "--timeout", "5"])
    _, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err
    assert f"{url}/admin/config is no tpsim config" in err, err


async def test_an_endpoint_change_answered_without_the_previous_one_is_a_harness_error() -> None:
    async with (
        stand_in(answering({"ok": True})) as url,
        aiohttp.ClientSession() as http,
    ):
        with pytest.raises(HarnessError, match="previous"):
            await RemoteTpsim(url, http).point("pispa", "http://127.0.0.1:1")


# --- another switch ----------------------------------------------------------------------------


def test_a_switch_nothing_listens_on_exits_2_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every flow failed at once as ``connection``, thousands a second, for the whole
    ``--duration``; exit 1."""
    credential = SoftwareAuthenticator.create(credential_type="GENERIC")
    (tmp_path / "c.json").write_text(credential.to_json())
    workers = credentials_file(tmp_path, "c.json")
    started = time.perf_counter()
    code = main(
        ["load", "--switch", CLOSED, "--listen", "127.0.0.1:0", "--credentials", str(workers),
         "--duration", "60"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert err.startswith(f"tpsim load: error: --switch {CLOSED} cannot be reached"), err
    assert time.perf_counter() - started < 30  # not the whole --duration


def test_two_workers_sharing_one_fido_credential_are_refused(tmp_path: Path) -> None:
    """Both signed with the same counter: every other assertion was refused (6201)."""
    (tmp_path / "a.json").write_text(SoftwareAuthenticator.create().to_json())
    (tmp_path / "copy.json").write_text((tmp_path / "a.json").read_text())
    for shared in (["a.json", "a.json"], ["a.json", "copy.json"]):
        with pytest.raises(CannotPlay, match="workers 0 and 1 share one FIDO credential"):
            read_credentials(credentials_file(tmp_path, *shared))


def test_workers_may_share_a_generic_credential(tmp_path: Path) -> None:
    (tmp_path / "g.json").write_text(
        SoftwareAuthenticator.create(credential_type="GENERIC").to_json()
    )
    (tmp_path / "f.json").write_text(SoftwareAuthenticator.create().to_json())
    _, workers, _ = read_credentials(credentials_file(tmp_path, "g.json", "g.json", "f.json"))
    assert len(workers) == 3


# --- tpsim pisp ------------------------------------------------------------------------------


def test_a_credential_that_is_not_utf8_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.json"
    path.write_text(SoftwareAuthenticator.create().to_json(), encoding="utf-16")
    code = main(
        ["pisp", "transfer", "--amount", "1", "--server", CLOSED, "--credential", str(path)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"tpsim pisp transfer: error: --credential {path}: not UTF-8"), err


@pytest.mark.parametrize("report", ["workers.yaml", "c.json"])
def test_a_report_written_over_the_credentials_is_refused(
    report: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--json`` naming the credentials file, or a credential file it names, would
    overwrite a registered credential with the report: refused before the run, the files
    as they were."""
    credential = SoftwareAuthenticator.create(credential_type="FIDO")
    (tmp_path / "c.json").write_text(credential.to_json())
    workers = credentials_file(tmp_path, "c.json")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    code = main(
        ["load", "--switch", CLOSED, "--listen", "127.0.0.1:0", "--credentials", str(workers),
         "--transfers", "1", "--json", str(tmp_path / report)]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert err.startswith(f"tpsim load: error: --json {tmp_path / report}: the credentials"), err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# --- tpsim run --server ------------------------------------------------------------------------

QUICK = "name: quick {n}\nsteps:\n  - wait: {{for: 1ms}}\n"


def scenarios(folder: Path, count: int = 3) -> Path:
    """A directory of ``count`` scenarios that would each pass at once."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / f"s{n}.yaml").write_text(QUICK.format(n=n))
    return folder


def test_run_against_a_server_nothing_listens_on_exits_2_before_any_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every scenario ran, each an ERROR ("Cannot connect"), and the run exited 1: a CI job
    could not tell "tpsim is down" from "the scenarios failed" (``load`` and ``pisp`` exit
    2)."""
    report = tmp_path / "out" / "report.json"
    code = main(["run", "--server", CLOSED, str(scenarios(tmp_path / "s")), "--json", str(report)])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert out == ""  # no scenario ran
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"tpsim: --server {CLOSED}: GET {CLOSED}/admin/config: "), err
    assert "Cannot connect" in err, err
    assert not report.exists()


async def test_run_against_a_server_that_is_no_tpsim_exits_2_before_any_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with stand_in(answering({"participants": "pispa"})) as url:
        code = await asyncio.to_thread(main, ["run", "--server", url, str(scenarios(tmp_path))])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert out == ""
    assert err == f"tpsim: --server {url}: {url}/admin/config is no tpsim config" + (
        f" (participants is not a list of objects): is {url} a tpsim?\n"
    )


# --- tpsim run --server ----------------------------------------------------------------------


@asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """A raw TCP server that accepts every connection and never reads or answers: its URL."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # kept open, never answered

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_run_against_a_server_that_never_answers_exits_2_within_the_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tpsim run --server`` waited aiohttp's five minutes for the server's config before
    failing; ``--timeout`` (as ``tpsim pisp`` and ``tpsim load`` have) bounds each admin
    call, and the first one fails with one line naming the URL before anything runs."""
    scenario = tmp_path / "wait.yaml"
    scenario.write_text("name: waits\nsteps:\n  - wait: {for: 10ms}\n")
    async with silent_server() as url:
        started = time.perf_counter()
        code = await asyncio.to_thread(
            main, ["run", str(scenario), "--server", url, "--timeout", "0.5"]
        )
        took = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert err == f"tpsim: --server {url}: GET {url}/admin/config: no answer within 0.5 s\n"
    assert took < 10  # one wait of 0.5 s (generous: a loaded machine)


@pytest.mark.parametrize("command", [["run", "x.yaml"], ["pisp", "transfer", "--amount", "1"]])
@pytest.mark.parametrize("given", ["0", "-1", "soon", "3601"])
def test_run_refuses_the_timeouts_pisp_refuses(
    command: list[str], given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """One ``--timeout`` option: the same numbers refused with the same words."""
    with pytest.raises(SystemExit) as exited:
        main([*command, "--timeout", given])
    assert exited.value.code == 2
    assert "argument --timeout:" in capsys.readouterr().err


@pytest.mark.parametrize("given", ["0", "-1", "soon", "nan", "inf", "3601", "1e9"])
def test_load_refuses_the_timeouts_run_refuses_in_the_same_words(
    given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tpsim load --timeout`` had its own copy of the option: no upper bound (a timeout
    of years was taken), other words for the rest."""
    with pytest.raises(SystemExit):
        main(["run", "x.yaml", "--timeout", given])
    run_said = capsys.readouterr().err.splitlines()[-1]
    with pytest.raises(SystemExit) as exited:
        main(["load", "--server", CLOSED, "--timeout", given])
    assert exited.value.code == 2
    said = capsys.readouterr().err.splitlines()[-1]
    assert said == run_said.replace("tpsim run:", "tpsim load:")
    assert said.startswith("tpsim load: error: argument --timeout: "), said


def test_load_still_waits_30_seconds_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["load", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--timeout SECONDS how long each request, callback or final status may take" in (
        help_text
    )
    assert "(default 30)" in help_text


async def test_every_admin_call_of_a_remote_tpsim_gives_up_within_its_timeout() -> None:
    """Not only the first look at the config: a fixture load or a journal read that gets
    no answer ends within the timeout too, whatever the session's own timeout."""
    async with silent_server() as url, aiohttp.ClientSession() as http:
        remote = RemoteTpsim(url, http, timeout=0.3)
        started = time.perf_counter()
        with pytest.raises(HarnessError, match="no answer within 0.3 s"):
            await remote.entries()
        assert time.perf_counter() - started < 10
