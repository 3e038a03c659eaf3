"""The Mojaloop OpenAPI bundles ship with tpsim, unmodified: conformance and --check-sent
work on a machine with nothing beside the package."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest

from tpsim.mojaloop.wire.openapi import BUNDLES, ENV_VAR, SHIPPED, missing_bundles, spec_dir

ROW = re.compile(r"^\| `([^`]+\.yaml)` \| [^|]+ \| `([0-9a-f]{64})` \|", re.MULTILINE)


def test_every_bundle_ships_byte_identical_to_its_recorded_sha256() -> None:
    recorded = dict(ROW.findall((SHIPPED / "PROVENANCE.md").read_text("utf-8")))
    assert set(recorded) == set(BUNDLES.values())
    for name, digest in recorded.items():
        assert hashlib.sha256((SHIPPED / name).read_bytes()).hexdigest() == digest, name


def test_the_shipped_bundles_are_used_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert spec_dir() == SHIPPED and missing_bundles(SHIPPED) == []
    monkeypatch.setenv(ENV_VAR, "/elsewhere")
    assert spec_dir() == Path("/elsewhere")


def test_the_wheel_carries_them() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text("utf-8"))["tool"]["setuptools"]["package-data"]
    assert {"specs/mojaloop/*.yaml", "specs/mojaloop/*.md"} <= set(data["tpsim"])
