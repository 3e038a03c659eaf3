"""Bad input to the command line beyond tests/test_cli_exit_codes.py: scenario and config
files, report paths and ``--server`` / ``--spec-dir`` values that crashed ``tpsim`` with a
traceback, hung it (alias bombs), lost data (keys given twice, a report written over a
scenario) or were refused without saying what to fix.

The project's rule: bad input never crashes and never loses data; every rejection says
what to fix. For the CLI (README, "CLI", exit codes): ``2`` for a usage, config or
scenario-file error found before anything runs, one line ``tpsim: …`` naming the file,
the line and the key, never a traceback.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.scenarios import write
from tests.test_cli_exit_codes import QUICK, assert_one_line_refusal, run_cli

LOOKUP = (
    "name: lookup\nsteps:\n  - lookup_party: {}\n"
    '    expect: {messages: ["PUT /parties/{Type}/{ID}"]}\n'
)
UNSET = "TPSIM_FOLLOWUP_NEVER_SET"


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def run_bounded(*argv: str, seconds: float = 5.0) -> subprocess.CompletedProcess[str]:
    """``tpsim argv`` in a child process with 2 GiB of memory: a hang is a failure
    after ``seconds`` (subprocess.TimeoutExpired), not a stuck test run."""
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "tpsim", *argv],
        capture_output=True,
        text=True,
        timeout=seconds,
        preexec_fn=_limit_memory,  # noqa: PLW1509 - no threads in the child yet
        check=False,
    )


def alias_bomb(levels: int, indent: str) -> str:
    """A "billion laughs" YAML block: a few hundred bytes standing for 10**levels strings."""
    lines = [f'{indent}a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [
        f"{indent}a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)
    ]
    return "\n".join(lines) + "\n"


# --- ${…} in the scenario's name ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (f"Pay under ${{env.{UNSET}}}", f"environment variable {UNSET} is not set"),
        ("Pay under ${profle}", "${profle}: no variable 'profle'"),
    ],
    ids=["missing environment variable", "reference to nothing"],
)
def test_a_reference_in_the_name_that_nothing_defines_is_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    problem: str,
) -> None:
    # docs/scenarios.md: `${env.NAME}` "(a missing one is an error before anything runs)";
    # README: exit 2 for "a `${…}` that no variable, matrix value, earlier `save:` or action
    # defines".
    monkeypatch.delenv(UNSET, raising=False)
    scenario = write(tmp_path, "named.yaml", f"name: {name}\nsteps:\n  - wait: {{}}\n")
    code, out, err = run_cli(capsys, "run", str(scenario))
    assert code == 2 and out == ""
    assert_one_line_refusal(err, f"tpsim: scenario error: {scenario}:1: name: ")
    assert problem in err


# --- the scenario's config overlay ---------------------------------------------------------


@pytest.mark.parametrize("participants", ["5", "abc", "null", "{a: 1}", "[5]"])
def test_a_config_overlay_whose_participants_are_no_list_of_mappings_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], participants: str
) -> None:
    scenario = write(
        tmp_path,
        "overlay.yaml",
        f"name: q\nconfig: {{participants: {participants}}}\nsteps:\n  - wait: {{}}\n",
    )
    code, out, err = run_cli(capsys, "run", str(scenario))
    assert code == 2 and out == ""
    assert_one_line_refusal(err, f"tpsim: scenario error: {scenario}: config: ")
    assert "participants" in err


def test_pisp_fsp_id_naming_a_participant_that_is_no_pisp_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/scenarios.md: `pisp` is "who plays the PISP"; a mistake in the file is exit 2
    # before anything runs, never a failure of the system under test.
    scenario = write(tmp_path, "dfsp.yaml", "name: q\npisp: {fsp_id: dfspa}\n" + QUICK[12:])
    code, out, err = run_cli(capsys, "run", str(scenario))
    assert code == 2 and out == ""
    assert_one_line_refusal(err, f"tpsim: scenario error: {scenario}:2: pisp.fsp_id: ")
    assert "dfspa" in err and "dfsp" in err


# --- YAML: duplicate keys, aliases ---------------------------------------------------------


def test_a_key_given_twice_in_a_scenario_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first expect: would fail the step; it is silently lost and the scenario passes.
    scenario = write(
        tmp_path,
        "twice.yaml",
        "name: twice\nsteps:\n  - lookup_party: {}\n"
        '    expect: {messages: ["PUT /parties/{Type}/{ID}/error"]}\n'
        "    expect: {}\n",
    )
    code, out, err = run_cli(capsys, "run", str(scenario))
    assert code == 2 and out == ""
    assert_one_line_refusal(err, f"tpsim: scenario error: {scenario}:5: ")
    assert "expect" in err and "twice" in err


def test_a_key_given_twice_in_a_config_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "twice.yaml"
    config.write_text(
        "participants:\n  - {fsp_id: dfspa, kind: dfsp, simulated: true}\n"
        "hub: {name: switch}\n"
        "participants:\n  - {fsp_id: pispa, kind: pisp, endpoint: 'http://127.0.0.1:5000'}\n"
    )
    code, out, err = run_cli(capsys, "config", "check", str(config))
    assert code == 2 and out == ""
    assert_one_line_refusal(err, f"tpsim: config error: {config}: ")
    assert "line 4" in err and "participants" in err


def test_a_recursive_alias_in_a_scenario_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(
        tmp_path, "loop.yaml", "name: q\nvariables: {x: &a [*a]}\nsteps:\n  - wait: {}\n"
    )
    code, out, err = run_cli(capsys, "run", str(scenario))
    assert code == 2 and out == ""
    assert_one_line_refusal(err, f"tpsim: scenario error: {scenario}:2: ")


def test_an_alias_bomb_in_a_scenario_is_refused_at_once(tmp_path: Path) -> None:
    scenario = write(
        tmp_path, "bomb.yaml", "variables:\n" + alias_bomb(9, "  ") + "name: q\n" + QUICK[12:]
    )
    done = run_bounded("run", str(scenario))
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.startswith(f"tpsim: scenario error: {scenario}:"), done.stderr
    assert "alias" in done.stderr and "Traceback" not in done.stderr


def test_an_alias_bomb_in_a_config_is_refused_at_once(tmp_path: Path) -> None:
    config = tmp_path / "bomb.yaml"
    config.write_text(
        "rules:\n  - name: r\n    when:\n      body.x:\n"
        + alias_bomb(9, "        ")
        + "    then: {drop: true}\n"
    )
    done = run_bounded("config", "check", str(config))
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.startswith(f"tpsim: config error: {config}: "), done.stderr
    assert "alias" in done.stderr and "Traceback" not in done.stderr


def test_a_small_alias_expansion_is_still_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Anchors and aliases are ordinary YAML: a modest expansion (10**4 values) must load.
    scenario = write(tmp_path, "anchors.yaml", "variables:\n" + alias_bomb(4, "  ") + QUICK)
    code, out, _ = run_cli(capsys, "run", str(scenario))
    assert code == 0, out


# --- files that are no config, scenario or credentials -----------------------------------


def huge(tmp_path: Path, name: str) -> Path:
    """A file of 17 MiB (sparse: nothing is written), past what tpsim reads."""
    path = tmp_path / name
    with path.open("wb") as file:
        file.truncate(17 * 1024 * 1024)
    return path


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("config", "check", "{huge}"), "tpsim: config error: {huge}: cannot read the file: more"),
        (("serve", "--config", "/dev/zero"), "tpsim: config error: /dev/zero: cannot read"),
        (("run", "{huge}"), "tpsim: scenario error: {huge}: cannot read: more than 16 MiB"),
        (("run", "/dev/zero"), "tpsim: scenario error: /dev/zero: not a scenario file"),
        (
            ("load", "--switch", "http://127.0.0.1:9", "--listen", "127.0.0.1:0",
             "--credentials", "{huge}"),
            "tpsim load: error: --credentials {huge}: more than 16 MiB",
        ),
    ],
    ids=["config", "config /dev/zero", "scenario", "scenario /dev/zero", "load credentials"],
)  # fmt: skip
def test_a_file_too_big_or_no_file_at_all_is_refused_at_once(
    tmp_path: Path, argv: tuple[str, ...], said: str
) -> None:
    """``/dev/zero`` or a disk image given by mistake was read until the memory ran out."""
    path = str(huge(tmp_path, "big.yaml"))
    done = run_bounded(*(a.format(huge=path) for a in argv), seconds=10)
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.startswith(said.format(huge=path)), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("given", "said"),
    [("/dev/zero", "more than 16 MiB"), ("latin1", "- is not UTF-8 text")],
    ids=["/dev/zero", "not UTF-8"],
)
def test_a_body_on_standard_input_is_bounded_and_utf8(
    tmp_path: Path, given: str, said: str
) -> None:
    source = Path(given) if given.startswith("/") else tmp_path / "body.json"
    if not given.startswith("/"):
        source.write_bytes(b'{"x": "\xff"}')
    with source.open("rb") as stdin:
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "tpsim", "credential", "challenge", "transaction",
             "--mode", "spec", "--body", "-"],
            stdin=stdin, capture_output=True, text=True, timeout=20,
            preexec_fn=_limit_memory, check=False,  # noqa: PLW1509
        )  # fmt: skip
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr


# --- include -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["loop.yaml", "bad\\0name.yaml"], ids=["symlink loop", "NUL"])
def test_an_include_that_cannot_be_resolved_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop2.yaml")
    (tmp_path / "loop2.yaml").symlink_to(tmp_path / "loop.yaml")
    scenario = write(tmp_path, "inc.yaml", f'name: q\nsteps:\n  - include: "{target}"\n')
    code, out, err = run_cli(capsys, "run", str(scenario))
    assert code == 2 and out == ""
    assert_one_line_refusal(err, f"tpsim: scenario error: {scenario}:3: steps[0].include: ")


# --- report paths --------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--json", "--junit", "--html"])
def test_a_report_path_that_is_an_input_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    scenario = write(tmp_path, "smoke.yaml", QUICK)
    code, out, err = run_cli(capsys, "run", str(scenario), option, str(scenario))
    assert scenario.read_text() == QUICK  # the scenario is not lost
    assert code == 2 and out == ""
    assert_one_line_refusal(err, f"tpsim: {option} {scenario}: ")
    assert "scenario" in err


def test_two_reports_on_the_same_path_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, "smoke.yaml", QUICK)
    same = tmp_path / "report.out"
    code, out, err = run_cli(
        capsys, "run", str(scenario), "--junit", str(same), "--json", str(same)
    )
    assert code == 2 and out == ""
    assert_one_line_refusal(err, "tpsim: ")
    assert "--junit" in err and "--json" in err and str(same) in err


# --- --server, --spec-dir ------------------------------------------------------------------


@pytest.mark.parametrize("server", ["notaurl", "ftp://127.0.0.1:4040", "localhost:4040"])
def test_run_server_that_is_no_http_url_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str
) -> None:
    scenario = write(tmp_path, "smoke.yaml", QUICK)
    code, out, err = run_cli(capsys, "run", str(scenario), "--server", server)
    assert code == 2 and out == ""
    assert_one_line_refusal(err, f"tpsim: --server {server}: ")
    assert "http://" in err


def test_a_spec_dir_that_does_not_exist_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/scenarios.md: "a `--spec-dir` that lacks them stops with exit 2".
    scenario = write(tmp_path, "smoke.yaml", QUICK)
    missing = tmp_path / "no-such-specs"
    code, out, err = run_cli(capsys, "run", str(scenario), "--spec-dir", str(missing))
    assert code == 2 and out == ""
    assert_one_line_refusal(err, "tpsim: scenario error: ")
    assert str(missing) in err


def test_a_spec_dir_whose_bundles_are_no_openapi_is_exit_2_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tpsim.mojaloop.wire.openapi import BUNDLES

    specs = tmp_path / "specs"
    specs.mkdir()
    for name in BUNDLES.values():
        (specs / name).write_text("{}\n")  # e.g. an unfetched Git LFS pointer, or a stub
    scenario = write(tmp_path, "lookup.yaml", LOOKUP)
    code, out, err = run_cli(capsys, "run", str(scenario), "--spec-dir", str(specs), "--check-sent")
    assert code == 2 and out == ""
    assert_one_line_refusal(err, "tpsim: scenario error: ")
    assert str(specs) in err and "thirdparty-pisp-api.yaml" in err


# --- messages that say what to fix ---------------------------------------------------------


@pytest.mark.parametrize(
    ("matrix", "where"),
    [("[1, 2]", "matrix[0]"), ("{profile: spec}", "matrix.profile"), ("5", "matrix")],
)
def test_a_matrix_of_the_wrong_shape_says_what_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], matrix: str, where: str
) -> None:
    scenario = write(tmp_path, "m.yaml", f"name: m\nmatrix: {matrix}\n" + QUICK[12:])
    code, out, err = run_cli(capsys, "run", str(scenario))
    assert code == 2 and out == ""
    assert_one_line_refusal(err, f"tpsim: scenario error: {scenario}:2: {where}: ")
    assert "dict[" not in err and "list[" not in err
    assert "list" in err  # a mapping of lists, or a list of mappings
