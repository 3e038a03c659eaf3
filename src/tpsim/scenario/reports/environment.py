"""Where a run happened, for the reports: which tpsim, which Python, which command and
which base config (with its SHA-256 and profile), so that a report read later can be
reproduced or told apart from another."""

from __future__ import annotations

import hashlib
import platform
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from tpsim.config import load_config
from tpsim.errors import ConfigError


def _version() -> str:
    """tpsim's version as installed (the package root is no layer ``scenario`` imports)."""
    try:
        return metadata.version("tpsim")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


VERSION = _version()

# Options whose value must not end up in a report (it is read by people and kept by CI).
SECRET_OPTIONS = ("--admin-token",)
HIDDEN = "HIDDEN"


@dataclass(frozen=True, slots=True)
class Environment:
    """What the report's environment block lists; ``None``: not known to the writer."""

    tpsim: str = VERSION
    python: str = platform.python_version()
    system: str = platform.platform(terse=True)
    command: str | None = None
    config: str | None = None  # the base config: its path, or the built-in one
    config_sha256: str | None = None
    profile: str | None = None
    target: str | None = None  # in-process, or the --server URL

    def items(self) -> list[tuple[str, str]]:
        """(name, value) in display order, the unknown left out."""
        named = [
            ("tpsim", self.tpsim),
            ("python", self.python),
            ("platform", self.system),
            ("command", self.command),
            ("config", self.config),
            ("config sha256", self.config_sha256),
            ("profile", self.profile),
            ("target", self.target),
        ]
        return [(name, value) for name, value in named if value]


def run_environment(
    argv: Sequence[str], config: str | None, server: str | None = None
) -> Environment:
    """The environment of ``tpsim run`` invoked with ``argv`` (without the program name)
    on base config ``config`` (None: the built-in one), against ``server`` (None: one
    tpsim in-process per scenario). Never raises: what cannot be read is left out (the
    run itself reports a config it cannot load)."""
    return Environment(
        command=shlex.join(["tpsim", *redacted(argv)]),
        config=config or f"built-in (tpsim {VERSION})",
        config_sha256=_sha256(config) if config else None,
        profile=_profile(config),
        target=server or "in-process (one tpsim per scenario)",
    )


def _sha256(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _profile(config: str | None) -> str | None:
    """The base config's ``behaviour.profile`` (a scenario may set its own)."""
    try:
        return load_config(config).behaviour.profile.value
    except ConfigError:
        return None


def redacted(argv: Sequence[str]) -> list[str]:
    """``argv`` with the value of every ``SECRET_OPTIONS`` option hidden."""
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        option, equals, _ = arg.partition("=")
        if hide_next:
            shown.append(HIDDEN)
        elif equals and option in SECRET_OPTIONS:
            shown.append(f"{option}={HIDDEN}")
        else:
            shown.append(arg)
        hide_next = not hide_next and arg in SECRET_OPTIONS
    return shown
