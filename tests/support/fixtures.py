"""Pytest fixtures shared by test packages; ``tests/conftest.py`` imports them.

``openapi`` is session-scoped (the YAML bundles are parsed once) and skips the test, naming
the directory it looked in and the variable to set, when the bundles are not there.
"""

from __future__ import annotations

import pytest

from tpsim.mojaloop.wire.openapi import ENV_VAR, OpenApiValidator, missing_bundles, spec_dir


@pytest.fixture(scope="session")
def openapi() -> OpenApiValidator:
    directory = spec_dir()
    missing = missing_bundles(directory)
    if missing:
        pytest.skip(
            f"OpenAPI bundles {', '.join(missing)} not found in {directory}; "
            f"set {ENV_VAR} to the directory holding them"
        )
    return OpenApiValidator(directory)
