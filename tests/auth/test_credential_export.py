"""The built-in test credentials stay as shipped, and a wheel user can reach them (issue 16,
item 5): ``tpsim credential list`` and ``export`` read them from the installed package;
``sign`` writes a FIDO credential's advanced counter only where it is told (``--update``,
``--out``) and never into the package or the repository's ``fixtures/``."""

from __future__ import annotations

import json
import os
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from tpsim.auth.fido import OriginPolicy, verify_assertion
from tpsim.cli import main

REPO = Path(__file__).resolve().parents[2]
PACKAGED = Path(str(resources.files("tpsim").joinpath("fixtures/credentials")))
BUILT_IN = ["alice-fido", "alice-generic"]


def run(*argv: str) -> int:
    """``tpsim credential …`` as the command line runs it."""
    return main(["credential", *argv])


def snapshot(path: Path) -> tuple[bytes, int, int]:
    """What a write would change: the bytes, the mode and the inode (a rename)."""
    status = path.stat()
    return path.read_bytes(), status.st_mode, status.st_ino


def test_list_names_the_built_in_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        ["alice-fido", "FIDO p256"],
        ["alice-generic", "GENERIC p256"],
    ]


@pytest.mark.parametrize("name", BUILT_IN)
def test_export_copies_a_built_in_credential_as_shipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    out = tmp_path / f"{name}.json"
    assert run("export", name, "--out", str(out)) == 0
    assert out.read_bytes() == (PACKAGED / f"{name}.json").read_bytes()
    assert out.stat().st_mode & 0o777 == 0o600  # it holds a private key
    assert capsys.readouterr().out.startswith(f"{out}: {name} exported")


def test_export_without_out_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("export", "alice-fido") == 0
    assert json.loads(capsys.readouterr().out)["credentialType"] == "FIDO"


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["export", "bob"], "no built-in credential 'bob' (built-in: alice-fido, alice-generic)"),
        (["export", "alice-fido", "--out", "{existing}"], "exists already: give another file"),
        (["export", "alice-fido", "--out", f"{PACKAGED}/copy.json"], "built-in credentials"),
    ],
    ids=["unknown name", "existing file", "into the package"],
)
def test_export_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], problem: str
) -> None:
    existing = tmp_path / "existing.json"
    existing.write_text("mine")
    assert run(*(a.replace("{existing}", str(existing)) for a in argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("tpsim credential: error: ") and problem in err
    assert existing.read_text() == "mine"
    assert not (PACKAGED / "copy.json").exists()


def test_sign_without_update_or_out_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "alice.json"
    assert run("export", "alice-fido", "--out", str(mine)) == 0
    before = snapshot(mine)
    assert run("sign", "--credential", str(mine), "--challenge", "abc") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.split("\n", 1)[1])["id"]
    assert snapshot(mine) == before
    assert "counter 1 not saved" in captured.err and "--update" in captured.err
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    "path",
    [PACKAGED / "alice-fido.json", REPO / "fixtures" / "credentials" / "alice-fido.json"],
    ids=["in the package", "in the repository's fixtures"],
)
def test_signing_with_a_built_in_credential_never_rewrites_it(
    capsys: pytest.CaptureFixture[str], path: Path
) -> None:
    before = snapshot(path)
    assert run("sign", "--credential", str(path), "--challenge", "abc") == 0
    assert "export it (tpsim credential export NAME --out FILE)" in capsys.readouterr().err
    assert run("sign", "--credential", str(path), "--challenge", "abc", "--update") == 2
    assert "built-in credentials" in capsys.readouterr().err
    assert snapshot(path) == before
    assert not list(path.parent.glob(".*.tmp"))


def test_sign_update_keeps_the_counter_in_a_user_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "alice.json"
    assert run("export", "alice-fido", "--out", str(mine)) == 0
    for expected in (1, 2):
        assert run("sign", "--credential", str(mine), "--challenge", "c", "--update") == 0
        assert json.loads(mine.read_text())["counter"] == expected
    assert mine.stat().st_mode & 0o777 == 0o600
    assert "not saved" not in capsys.readouterr().err


def test_sign_out_writes_a_new_file_and_leaves_the_credential(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine, bumped = tmp_path / "alice.json", tmp_path / "alice-next.json"
    assert run("export", "alice-fido", "--out", str(mine)) == 0
    before = snapshot(mine)
    assert run("sign", "--credential", str(mine), "--challenge", "c", "--out", str(bumped)) == 0
    assert snapshot(mine) == before
    assert json.loads(bumped.read_text())["counter"] == 1
    assert bumped.stat().st_mode & 0o777 == 0o600
    assert run("sign", "--credential", str(mine), "--challenge", "c", "--out", str(bumped)) == 2
    assert "exists already" in capsys.readouterr().err
    assert json.loads(bumped.read_text())["counter"] == 1


def test_update_and_out_are_one_or_the_other(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        run("sign", "--credential", "a", "--challenge", "c", "--update", "--out", "b")
    assert exited.value.code == 2


def test_an_exported_credential_signs_for_the_built_in_consent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's transfer step: the exported copy signs as the built-in config's
    consent expects (its registered public key), and --update keeps counters growing."""
    from tpsim.auth.authenticator import SoftwareAuthenticator

    mine = tmp_path / "alice.json"
    assert run("export", "alice-fido", "--out", str(mine)) == 0
    registered = SoftwareAuthenticator.from_json(
        (PACKAGED / "alice-fido.json").read_text("utf-8")
    ).registered_credential()
    capsys.readouterr()
    counters = []
    for challenge in ("first", "second"):
        assert run("sign", "--credential", str(mine), "--challenge", challenge, "--update") == 0
        assertion = json.loads(capsys.readouterr().out)
        credential = registered.with_sign_count(counters[-1] if counters else 0)
        policy = OriginPolicy()
        counters.append(
            verify_assertion(assertion, challenge=challenge, credential=credential, policy=policy)
        )
    assert counters == [1, 2]


def test_the_wheel_carries_the_built_in_credentials() -> None:
    data = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    assert "fixtures/credentials/*.json" in data["tool"]["setuptools"]["package-data"]["tpsim"]
    assert sorted(p.stem for p in PACKAGED.glob("*.json")) == BUILT_IN
    assert all(os.access(p, os.R_OK) for p in PACKAGED.glob("*.json"))
