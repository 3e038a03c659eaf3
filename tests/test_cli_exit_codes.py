"""Exit codes and one-line messages of the command line (issue 16, item 3): a mistake in
what the user gave (a report path, a port, a config or scenario file) is exit 2 with one
line saying what to fix, found before anything runs; never a Python traceback, never the
exit 1 that means "a scenario failed"."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.scenarios import write
from tpsim.cli import main

QUICK = "name: quick\nsteps:\n  - wait: {}\n"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_refusal(err: str, starts: str) -> None:
    assert err.startswith(starts), err
    assert err.count("\n") == 1 and "Traceback" not in err, err


# --- reports -------------------------------------------------------------------------------


def test_report_directories_are_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write(tmp_path, "quick.yaml", QUICK)
    junit, report, html = (
        tmp_path / "reports" / d / n for d, n in [("a", "x.xml"), ("b", "r.json"), ("c", "r.html")]
    )
    code, out, _ = run_cli(
        capsys,
        "run",
        str(scenario),
        "--junit",
        str(junit),
        "--json",
        str(report),
        "--html",
        str(html),
    )
    assert code == 0, out
    assert junit.read_text("utf-8").startswith("<?xml")
    assert json.loads(report.read_text("utf-8"))["scenarios"][0]["outcome"] == "passed"
    assert "<html" in html.read_text("utf-8")


@pytest.mark.parametrize("option", ["--junit", "--json", "--html"])
def test_an_unwritable_report_path_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    scenario = write(tmp_path, "quick.yaml", QUICK)
    (tmp_path / "taken").write_text("a file, not a directory")
    target = tmp_path / "taken" / "report.out"
    code, out, err = run_cli(capsys, "run", str(scenario), option, str(target))
    assert code == 2
    assert out == ""  # nothing ran
    assert_one_line_refusal(err, f"tpsim: {option} {target}: {tmp_path / 'taken'} is a file")


@pytest.mark.parametrize(
    ("option", "example"), [("--html", "report.html"), ("--junit", "junit.xml")]
)
@pytest.mark.parametrize("slash", ["", "/"])
def test_a_report_path_that_is_a_directory_asks_for_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, example: str, slash: str
) -> None:
    scenario = write(tmp_path, "quick.yaml", QUICK)
    folder = tmp_path / "out"
    if not slash:
        folder.mkdir()
    code, out, err = run_cli(capsys, "run", str(scenario), option, f"{folder}{slash}")
    assert code == 2 and out == ""
    assert_one_line_refusal(
        err,
        f"tpsim: {option} {folder}{slash}: is a directory: name the report's file, e.g."
        f" {folder / example}",
    )


def test_a_report_that_cannot_be_written_after_the_run_is_exit_2_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tpsim.scenario import reports

    def disk_full(run: object, path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(reports, "write_junit", disk_full)
    scenario = write(tmp_path, "quick.yaml", QUICK)
    target = tmp_path / "junit.xml"
    code, out, err = run_cli(capsys, "run", str(scenario), "--junit", str(target))
    assert code == 2 and "1 passed" in out
    assert_one_line_refusal(
        err, f"tpsim: --junit {target}: cannot write the report: No space left on device"
    )


# --- serve ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("port", "problem"),
    [("99999", "port must be 0–65535"), ("-1", "port must be 0–65535"), ("http", "'http' is not")],
)
def test_serve_refuses_a_port_out_of_range(
    capsys: pytest.CaptureFixture[str], port: str, problem: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", port])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"tpsim serve: error: argument --port: {problem}" in err
    assert "Traceback" not in err


# --- config and scenario files -------------------------------------------------------------


def test_run_with_a_config_that_is_not_utf8_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "latin1.yaml"
    config.write_bytes("hub:\n  name: caf\xe9\n".encode("latin-1"))
    scenario = write(tmp_path, "quick.yaml", QUICK)
    code, out, err = run_cli(capsys, "run", str(scenario), "--config", str(config))
    assert code == 2 and out == ""
    assert_one_line_refusal(err, "tpsim: scenario error: base config: ")
    assert f"{config}: not UTF-8 text: byte 0xe9 at offset 16" in err


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "name: r\nsteps:\n  - initiate_transfer: {}\n    expect:\n      messages:\n"
            "        - method: POST\n          path: /thirdpartyRequests/authorizations\n"
            '          body: {challenge: "re:[0-9a-f{64"}\n',
            ":8: steps[0].expect.messages[0].body.challenge: 're:[0-9a-f{64' is not a valid",
        ),
        (
            "name: v\nsteps:\n  - initiate_transfer: {}\n  - approve: {transfer: '${nothere}'}\n",
            ":4: steps[1].approve.transfer: ${nothere}: no variable 'nothere'",
        ),
        (
            "name: m\nmatrix: {profile: []}\nsteps:\n  - wait: {}\n",
            ":2: matrix.profile: profile has no values",
        ),
    ],
    ids=["invalid regex", "reference to nothing", "empty matrix"],
)
def test_a_mistake_in_a_scenario_file_is_exit_2_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, where: str
) -> None:
    # A good scenario beside it: nothing at all runs when one file is wrong.
    write(tmp_path, "a_good.yaml", QUICK)
    bad = write(tmp_path, "b_bad.yaml", text)
    code, out, err = run_cli(capsys, "run", str(tmp_path), "--junit", str(tmp_path / "j.xml"))
    assert code == 2 and out == ""
    assert_one_line_refusal(err, f"tpsim: scenario error: {bad}{where}")


def test_a_config_that_is_not_yaml_is_one_line_naming_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text("participants: [1, 2\nhub: switch\n")
    code, _, err = run_cli(capsys, "config", "check", str(config))
    assert code == 2
    assert_one_line_refusal(err, "tpsim: config error:")
    assert "line 2, column" in err and str(config) in err


# --- a reader that leaves early ------------------------------------------------------------


BROKEN_PIPE = 128 + signal.SIGPIPE  # what a shell reports for a command SIGPIPE stopped


class _ReaderGone(io.StringIO):
    """A stdout whose reader has gone (`tpsim run --schema | head`): every write fails."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize(
    "argv",
    [["run", "--schema"], ["credential", "list"]],
    ids=["run --schema", "credential list"],
)
def test_a_reader_that_leaves_early_ends_the_command_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", _ReaderGone())
    assert main(argv) == BROKEN_PIPE
    assert "Traceback" not in capsys.readouterr().err


def test_piping_the_schema_into_head_is_no_traceback() -> None:
    """The real thing: the ~110 kB schema into a pipe its reader closes after a few bytes.
    Without the fix Python prints BrokenPipeError's traceback (and another one as it
    flushes stdout at exit)."""
    command = [sys.executable, "-m", "tpsim", "run", "--schema"]
    # More than a pipe holds (64 KiB): the command is still writing when the reader leaves.
    with subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as cli:
        assert cli.stdout is not None and cli.stderr is not None
        assert cli.stdout.read(10).startswith(b"{")
        cli.stdout.close()
        err = cli.stderr.read().decode()
        code = cli.wait(timeout=30)
    assert (code, err) == (BROKEN_PIPE, "")
