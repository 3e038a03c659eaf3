"""The wheel carries what a user of an installed tpsim needs, where ``../shared`` and the
source tree do not exist: the licence, the official OpenAPI bundles with their provenance,
the built-in config and credentials, the pages, the admin API's description, ``py.typed``
and both entry points.

The wheel is built from a copy of the project (the build writes ``build/`` and an
``.egg-info`` beside its sources) without build isolation, so no package is fetched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    project = tmp_path_factory.mktemp("project")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, project / name)
    # Symlinks (src/tpsim/fixtures → fixtures/) are copied as the files they name.
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    built = subprocess.run(  # noqa: S603 - pip on our own project copy
        [*command, "--no-index", "-q", "-w", str(out), str(project)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    [path] = out.glob("tpsim-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_carries_the_licence(wheel: zipfile.ZipFile) -> None:
    [licence] = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    assert "Apache License" in wheel.read(licence).decode()
    metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    assert "Apache" in wheel.read(metadata).decode()


@pytest.mark.parametrize(
    "name",
    [
        "tpsim/py.typed",
        "tpsim/fixtures/default.yaml",
        "tpsim/fixtures/credentials/alice-fido.json",
        "tpsim/serve/ui.html",
        "tpsim/serve/login.html",
        "tpsim/serve/admin_openapi.yaml",
        "tpsim/scenario/reports/report.html",
        "tpsim/specs/mojaloop/PROVENANCE.md",
        "tpsim/specs/mojaloop/thirdparty-pisp-api.yaml",
        "tpsim/specs/psd2/PROVENANCE.md",
        "tpsim/specs/psd2/obie-payment-initiation-openapi-v4.0-update4.yaml",
    ],
)
def test_the_wheel_carries_what_tpsim_reads_at_run_time(wheel: zipfile.ZipFile, name: str) -> None:
    assert name in wheel.namelist()


def test_every_shipped_bundle_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    specs = ROOT / "src" / "tpsim" / "specs"
    shipped = {f"tpsim/specs/{p.relative_to(specs)}" for p in specs.rglob("*.yaml")}
    assert shipped and shipped <= set(wheel.namelist())


def test_the_wheel_names_the_command_and_the_pytest_plugin(wheel: zipfile.ZipFile) -> None:
    points = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    text = wheel.read(points).decode()
    assert "tpsim = tpsim.cli:main" in text
    assert "[pytest11]" in text and "tpsim = tpsim.pytest_plugin" in text


def test_the_wheel_holds_tpsim_only(wheel: zipfile.ZipFile) -> None:
    tops = {n.split("/", 1)[0] for n in wheel.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"tpsim"}
