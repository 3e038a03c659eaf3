"""The errors every part of tpsim shares, none of them on any wire.

    TpsimError (core.errors)     root of every error tpsim raises on purpose
    ├── ConfigError              exit code 2 (serve, config check) or 400 (admin API)
    │   └── YamlRefused (config_yaml)  bytes that are no YAML tpsim reads (``.code``: NOT_UTF8,
    │                            NOT_YAML, TOO_DEEP)
    ├── ScenarioError            exit code 2 (tpsim run)
    ├── LoginRefused             a PSU page refuses what the user entered (an HTML page)
    └── SpecError (specs.schema) a bundled OpenAPI tpsim cannot use (unknown name, a
                                 pattern with no Python form)

Dialect errors live with their dialect (``mojaloop.errors``: FSPIOP codes); refusals of
the simulated bank in ``core.errors``, failed proofs of identity in ``auth.errors``.
"""

from __future__ import annotations

from tpsim.core.errors import TpsimError

__all__ = ["ConfigError", "LoginRefused", "ScenarioError", "TpsimError"]


class ConfigError(TpsimError):
    """A config file (or CLI option) is invalid: says the file, the key path and the problem."""

    def __init__(self, message: str, *, file: str | None = None, path: str | None = None) -> None:
        self.file = file
        self.path = path
        where = ": ".join(p for p in (file, path) if p)
        super().__init__(f"{where}: {message}" if where else message)


class ScenarioError(TpsimError):
    """A scenario file is invalid (runner usage error, exit code 2)."""


class LoginRefused(TpsimError):
    """A simulated bank's login page refuses what the user entered; ``http_status`` is the
    status of the page that says so (401 wrong password, 400 nothing chosen, 409 closed)."""

    def __init__(self, message: str, *, http_status: int = 400) -> None:
        self.http_status = http_status
        super().__init__(message)
