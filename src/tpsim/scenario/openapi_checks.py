"""Which official OpenAPI bundles a scenario run checks messages against, found and
read before anything runs: a missing or unreadable bundle stops the run (exit 2) rather
than crashing the checks after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
import yaml

from tpsim.errors import ScenarioError
from tpsim.mojaloop.wire.openapi import (
    BUNDLES,
    ENV_VAR,
    OpenApiValidator,
    missing_bundles,
    spec_dir,
)
from tpsim.scenario import mojaloop
from tpsim.scenario.model import ACTIONS

if TYPE_CHECKING:
    from tpsim.scenario.cells import Cell

log = structlog.get_logger("tpsim.run")


def validator_for(
    cells: Sequence[Cell], given: Path | None, *, check_sent: bool
) -> OpenApiValidator | None:
    """The Third Party OpenAPI bundles' validator, when a check needs it (``check_sent``:
    ``--check-sent``; ``given``: ``--spec-dir``). tpsim ships the bundles, but
    ``$TPSIM_SPEC_DIR`` may name a directory without them; the XS2A OpenAPI is checked
    apart, so ``--check-sent`` without the bundles still checks XS2A answers. They are
    required by a PISP under test, by ``--spec-dir``, and by ``--check-sent`` on scenarios
    with Mojaloop steps (what they check is FSPIOP)."""
    pisp_checks = any(c.pisp.endpoint and c.pisp.checks for c in cells)
    directory = given or spec_dir()
    missing = missing_bundles(directory)
    if missing and given is not None:  # a mistake, checks or not
        raise _missing(missing, directory)
    if not (check_sent or pisp_checks):
        return None
    if not missing:
        return _usable(OpenApiValidator(directory))
    if pisp_checks or any(map(_has_mojaloop_steps, cells)):
        raise _missing(missing, directory)
    log.warning(
        "--check-sent: the Third Party OpenAPI bundles are missing: XS2A answers are checked,"
        " FSPIOP bodies (a cross-bank payment's settlement) are not",
        missing=", ".join(missing),
        directory=str(directory),
    )
    return None


def _missing(missing: list[str], directory: Path) -> ScenarioError:
    return ScenarioError(
        f"conformance scenarios and --check-sent check messages against the official"
        f" OpenAPI, but {', '.join(missing)} are not in {directory}: pass --spec-dir DIR or"
        f" set {ENV_VAR}"
    )


def _usable(validator: OpenApiValidator) -> OpenApiValidator:
    """``validator`` once each of its bundles reads as an OpenAPI document, so that a
    directory of other files (stubs, unfetched Git LFS pointers) is refused before the run
    rather than crashing the checks after it."""
    for bundle, name in BUNDLES.items():
        where = validator.directory / name
        try:
            document: object = validator.document(bundle)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problem = f"cannot be read as YAML ({exc.__class__.__name__})"
        else:
            if isinstance(document, dict) and isinstance(document.get("paths"), dict):
                continue
            problem = "is no OpenAPI document (it has no paths)"
        raise ScenarioError(
            f"{where} {problem}: pass --spec-dir a directory holding the official bundles"
            f" ({', '.join(BUNDLES.values())}), or set {ENV_VAR}"
        )
    return validator


def _has_mojaloop_steps(cell: Cell) -> bool:
    return any(ACTIONS[s.action].name.startswith(f"{mojaloop.DIALECT}.") for s in cell.steps)
