"""``tpsim load`` beyond tests/test_load.py: what a load tester meets when a run goes wrong.

Each test asserts what the README ("Load testing with ``tpsim load``") or the report's
own docstring promises: percentiles by nearest rank, ``--duration`` kept when the rate
outruns the workers, ``--timeout`` bounding a switch that never answers, the config put
back on SIGTERM or Ctrl-C with the report of the run so far, a killed run's workers taken
over, numbers that are finite, files that are not UTF-8 and a ``--json`` that cannot be
written refused before the run; credential counters that cannot be written back never
cost the report, and say what to set.
Everything runs on 127.0.0.1: an in-process tpsim (``tests.test_pisp_cli.served``, also
as the switch of ``--switch``), a stand-in switch that never answers, or a port nothing
listens on.
"""

from __future__ import annotations

import asyncio
import errno
import io
import json
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.test_pisp_cli import served
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.credential import CredentialType
from tpsim.cli import build_parser, main
from tpsim.config import MAX_SCHEME_ENTRIES, load_config, parse_config
from tpsim.scenario import load_setup
from tpsim.scenario.load import Completed, LoadPlan, drive
from tpsim.scenario.load_report import LoadStats, percentiles
from tpsim.scenario.load_seed import Seeding, seed
from tpsim.scenario.load_setup import Setup, Unsaved, against_switch
from tpsim.scenario.pisp_client import Callback, Inbox

CLOSED = "http://127.0.0.1:9"  # nothing listens there: a run that gets that far exits 2
# One worker of a --credentials file: Alice's consent c1, its credential in c.json.
WORKER: dict[str, Any] = {
    "consentId": "c1",
    "payer": "dfspa.alice.chequing",
    "dfsp": "dfspa",
    "currency": "USD",
    "credential": "c.json",
    "payee": {"partyIdentifier": "16135551212"},
}
REPO = Path(__file__).resolve().parents[1]
ALICE_FIDO_CONSENT = "8e34f91d-d078-4077-8263-2c047876fcf6"  # fixtures/default.yaml's


# --- the numbers -------------------------------------------------------------------------


def test_percentiles_are_the_nearest_rank() -> None:
    """Nearest rank: the p-th percentile of n sorted values is the ceil(p/100 × n)-th."""
    hundred = percentiles([float(v) for v in range(1, 101)])
    assert (hundred["p50"], hundred["p90"], hundred["p99"], hundred["max"]) == (50, 90, 99, 100)
    ten = percentiles([float(v) for v in range(1, 11)])
    assert (ten["p50"], ten["p90"], ten["p99"]) == (5, 9, 10)
    assert percentiles([1.0, 2.0])["p50"] == 1.0  # not the max of two samples


async def test_a_duration_ends_on_time_when_the_rate_outruns_the_workers() -> None:
    async def run(amount: str) -> Completed:  # a worker that can do 20 flows a second
        await asyncio.sleep(0.05)
        return Completed(0.05, {})

    stats = LoadStats(flow="transfer")
    plan = LoadPlan(duration=0.3, rate=100)  # 30 starts due within 0.3 s; 1 worker does 6
    await asyncio.wait_for(drive([run], plan, stats), 5)
    assert stats.elapsed < 0.6, f"--duration 0.3 ran {stats.elapsed:.2f} s"
    assert stats.started <= 8


async def test_a_stopped_run_counts_as_started_only_the_flows_that_began() -> None:
    async def run(amount: str) -> Completed:
        return Completed(0.0, {})

    stats = LoadStats(flow="transfer")
    running = asyncio.create_task(drive([run], LoadPlan(duration=60, rate=1), stats))
    await asyncio.sleep(0.2)  # the first flow is done, the second waits for its slot
    running.cancel()  # Ctrl-C
    with pytest.raises(asyncio.CancelledError):
        await running
    assert (stats.started, stats.completed) == (1, 1)


# --- time limits ----------------------------------------------------------------------------


async def test_a_switch_that_never_answers_ends_the_flow_within_the_timeout(
    tmp_path: Path,
) -> None:
    over = asyncio.Event()

    async def never(request: web.Request) -> web.Response:  # until the test is over
        await over.wait()
        return web.Response(status=202)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", never)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    switch = f"http://127.0.0.1:{runner.addresses[0][1]}"
    credential = SoftwareAuthenticator.create(credential_type="GENERIC")
    (tmp_path / "c.json").write_text(credential.to_json())
    (tmp_path / "workers.yaml").write_text(json.dumps({"workers": [WORKER]}))
    stats = LoadStats(flow="transfer")
    try:
        async with against_switch(
            switch, ("127.0.0.1", 0), tmp_path / "workers.yaml", timeout=0.5
        ) as setup:
            started = time.perf_counter()
            try:
                await asyncio.wait_for(drive(setup.runs, LoadPlan(duration=0.2), stats), 3)
            except TimeoutError:
                pytest.fail(f"--duration 0.2 --timeout 0.5: still running after 3 s: {stats}")
            took = time.perf_counter() - started
    finally:
        over.set()
        await runner.cleanup()
    assert took < 2
    assert (stats.started, stats.completed) == (1, 0)
    assert dict(stats.errors) == {"connection": 1}  # "a request that never got an HTTP answer"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_puts_the_servers_config_back_and_reports_the_run_so_far(
    signum: signal.Signals, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    async with served() as sim:
        before = sim.config.model_dump(mode="json")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tpsim", "load", "--server", sim.site.url,
            "--duration", "20", "--rate", "20", "--concurrency", "1",
            "--credential-type", "GENERIC", "--json", str(report),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(200):  # the run has seeded its workers
                if any(u.user_id == "load0" for u in sim.config.users):
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("tpsim load never seeded its workers")
            await asyncio.sleep(0.3)
            process.send_signal(signum)
            out, _ = await asyncio.wait_for(process.communicate(), 10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        after = sim.config.model_dump(mode="json")
    assert process.returncode == 128 + signum
    assert not any(u["user_id"] == "load0" for u in after["users"])
    assert after == before
    assert f"interrupted by {signum.name}" in out.decode()
    summary = json.loads(report.read_text())
    assert summary["interrupted"] == signum.name
    assert summary["completed"] + summary["failed"] <= summary["started"]


@pytest.mark.parametrize("waiting_on", ["watch", "inbox"])
async def test_a_sigterm_landing_as_the_callback_arrives_still_stops_the_run(
    waiting_on: str,
) -> None:
    """SIGTERM cancels the run's task. A cancel that lands in the loop turn where the
    awaited callback arrives must still stop it: Python 3.11's ``asyncio.wait_for`` returned
    the callback instead, and the run went on to its end (``--duration 20``: 20 s). (Only
    3.11 has the race, and CI runs 3.11: from 3.12, ``wait_for`` is ``asyncio.timeout``.)"""
    inbox = Inbox(keep=waiting_on == "inbox")
    watch = inbox.watch("t1")
    wait = watch.first if waiting_on == "watch" else inbox.first
    waiting = asyncio.create_task(wait(lambda _: True, timeout=5))
    for _ in range(3):  # it is waiting
        await asyncio.sleep(0)
    arrived = Callback.of("PUT", "/thirdpartyRequests/transactions/t1", "dfspa", {}, 200)
    assert arrived.ids() == {"t1"}
    await inbox.add(arrived)
    waiting.cancel()  # the signal, in the same turn
    with pytest.raises(asyncio.CancelledError):
        await waiting


def test_a_server_left_with_a_killed_runs_workers_takes_the_next_run() -> None:
    config = load_config().model_dump(mode="json")
    seed(config, Seeding(workers=4, flow="transfer"), "pispa")  # the killed run's
    left = parse_config(config, file="left").model_dump(mode="json")  # what the server shows
    seed(left, Seeding(workers=2, flow="transfer"), "pispa")
    parse_config(left, file="seeded again")


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["--rate", "nan"], ["--rate", "inf"], ["--duration", "nan"]],
    ids=["rate-nan", "rate-inf", "duration-nan"],  # --timeout: test_cli_bad_targets
)
def test_a_number_that_is_not_finite_is_refused(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["load", *args, "--server", CLOSED])
    assert exited.value.code == 2
    assert "give a number above 0" in capsys.readouterr().err


def test_more_workers_than_a_config_may_hold_accounts_is_a_usage_error_naming_concurrency(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each worker is seeded one account and consent: more workers than the config's bound
    would be refused by the server at start, so argparse refuses them, before any server."""

    def contacted(*args: object, **kwargs: object) -> None:
        raise AssertionError("the run contacted a server")

    monkeypatch.setattr(load_setup, "against_tpsim", contacted)
    with pytest.raises(SystemExit) as exited:
        main(["load", "--concurrency", str(MAX_SCHEME_ENTRIES + 1), "--server", CLOSED])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert "--concurrency" in err
    assert f"at most {MAX_SCHEME_ENTRIES}" in err
    assert "Traceback" not in err


def test_as_many_workers_as_a_config_may_hold_accounts_is_a_valid_concurrency() -> None:
    args = build_parser("load").parse_args(["load", "--concurrency", str(MAX_SCHEME_ENTRIES)])
    assert args.concurrency == MAX_SCHEME_ENTRIES


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--flow", "stet", "--payee", "123"], "stet does not use --payee: only --flow transfer"),
        (["--flow", "xs2a", "--credential-type", "FIDO"], "only --flow transfer or link takes it"),
        (["--flow", "transfer", "--channel", "WEB"], "does not use --channel: only --flow link"),
        (["--flow", "link", "--amount", "5"], "--flow link does not use --amount"),
        (
            ["--switch", CLOSED, "--listen", "127.0.0.1:0", "--credentials", "w.yaml",
             "--payee", "123"],
            "--payee is for a run against a tpsim (--server)",
        ),
    ],
    ids=["stet-payee", "xs2a-credential-type", "transfer-channel", "link-amount", "switch-payee"],
)  # fmt: skip
def test_an_option_the_run_would_ignore_is_a_usage_error_naming_who_takes_it(
    args: list[str], said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def contacted(*args: object, **kwargs: object) -> None:
        raise AssertionError("the run contacted a server")

    monkeypatch.setattr(load_setup, "against_tpsim", contacted)
    monkeypatch.setattr(load_setup, "against_switch", contacted)
    assert main(["load", *args]) == 2
    assert said in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["credentials", "credential"])
def test_a_credentials_file_that_is_not_utf8_exits_2_naming_it(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credential = SoftwareAuthenticator.create(credential_type="GENERIC").to_json()
    workers = json.dumps({"workers": [WORKER]})
    encoding = {"credentials": "utf-16", "credential": "utf-8"}
    (tmp_path / "workers.yaml").write_text(workers, encoding=encoding[bad])
    (tmp_path / "c.json").write_text(
        credential, encoding="utf-16" if bad == "credential" else "utf-8"
    )
    code = main(
        ["load", "--switch", CLOSED, "--listen", "127.0.0.1:0",
         "--credentials", str(tmp_path / "workers.yaml")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("tpsim load: error: --credentials")
    assert "Traceback" not in err


def test_a_json_report_that_cannot_be_written_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["load", "--server", CLOSED, "--transfers", "1", "--json", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"tpsim load: --json {tmp_path}:"), err  # not the server's error


# --- the credentials' counters, written back ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_counters_that_cannot_be_written_back_come_after_the_whole_report_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long run against another switch used to end with ``error: [Errno 28] …``, exit 2
    and no report at all (neither on stdout nor in ``--json``): the write-back of the
    credentials' counters failed after the run and took the report with it. The report
    comes out whole; then stderr says which file to fix and the counter to set in it,
    which is the one the switch now holds; exit 3; the file itself is as it was."""
    (tmp_path / "keys").mkdir()
    alice = tmp_path / "keys" / "alice.json"
    shutil.copy(REPO / "fixtures" / "credentials" / "alice-fido.json", alice)
    before = alice.read_bytes()
    worker = {
        **WORKER,
        "consentId": ALICE_FIDO_CONSENT,
        "credential": "keys/alice.json",
        "payee": {"partyIdentifier": "16135551212", "fspId": "dfspb"},  # Bob
    }
    (tmp_path / "workers.yaml").write_text(json.dumps({"workers": [worker]}))
    report = tmp_path / "report.json"

    def disk_full(path: Path, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(load_setup, "replace_text", disk_full)
    both = io.StringIO()  # stdout and stderr in the order they were written
    monkeypatch.setattr(sys, "stdout", both)
    monkeypatch.setattr(sys, "stderr", both)
    port = _free_port()  # tpsim, the switch here, calls pispa back where the PISP listens
    async with served(load_config(pisp_url=f"http://127.0.0.1:{port}")) as sim:
        code = await asyncio.to_thread(
            main,
            ["load", "--switch", sim.site.url, "--listen", f"127.0.0.1:{port}",
             "--credentials", str(tmp_path / "workers.yaml"), "--transfers", "3",
             "--timeout", "10", "--json", str(report)],
        )  # fmt: skip
        held = sim.state.auth_consents.get(ALICE_FIDO_CONSENT)
    out = both.getvalue()
    assert code == 3, out
    summary = json.loads(report.read_text())
    assert (summary["started"], summary["completed"], summary["failed"]) == (3, 3, 0), out
    assert held is not None and held.credential.sign_count == 3
    told = out.index("tpsim load: error: the advanced signature counter of 1 credential")
    assert out.index("transfer: 3 completed, 0 failed of 3") < told
    assert out.index("errors: none") < told  # the report's last line, before it
    assert f'{alice}: set "counter": 3 (it was 0; not written: No space left on device)' in out
    assert "Traceback" not in out
    assert alice.read_bytes() == before


def _advanced(
    folder: Path, credential_type: CredentialType = "FIDO"
) -> tuple[Path, SoftwareAuthenticator]:
    """A credential file in ``folder`` and its signer, which has signed once since."""
    folder.mkdir()
    signer = SoftwareAuthenticator.create(credential_type=credential_type)
    path = folder / "c.json"
    path.write_text(signer.to_json())
    return path, signer


def test_a_credential_file_whose_folder_is_gone_is_reported_and_the_others_saved(
    tmp_path: Path,
) -> None:
    """Running as root, a chmod does not make a file unwritable: the folder of one
    credential is replaced by a file during the run, as a clean-up job might."""
    gone, gone_signer = _advanced(tmp_path / "gone")
    kept, kept_signer = _advanced(tmp_path / "kept")
    setup = Setup([], {gone: gone_signer, kept: kept_signer})
    for signer in (gone_signer, kept_signer):
        signer.assertion("challenge")
        signer.assertion("challenge")
    shutil.rmtree(tmp_path / "gone")
    (tmp_path / "gone").write_text("a file now, not a folder")
    setup.save_counters()
    assert setup.unsaved == [Unsaved(gone, 2, 0, "Not a directory")]
    assert json.loads(kept.read_text())["counter"] == 2  # written all the same
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["c.json"]  # no leftover


def test_a_credential_that_did_not_sign_is_not_written_at_all(tmp_path: Path) -> None:
    """A GENERIC credential's counter never moves, nor does a FIDO one's that no flow
    signed with: nothing to write back, so nothing to fail (a read-only copy is fine)."""
    generic, generic_signer = _advanced(tmp_path / "generic", "GENERIC")
    idle, idle_signer = _advanced(tmp_path / "idle")
    setup = Setup([], {generic: generic_signer, idle: idle_signer})
    generic_signer.generic_signature("challenge")
    for folder in ("generic", "idle"):  # either write would now fail
        shutil.rmtree(tmp_path / folder)
        (tmp_path / folder).write_text("a file")
    setup.save_counters()
    assert setup.unsaved == []
