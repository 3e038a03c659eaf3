from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.support.fixtures import openapi  # noqa: F401 - re-exported fixture
from tests.support.scheme import Scheme

MakeScheme = Callable[..., Awaitable[Scheme]]


@pytest.fixture
async def make_scheme() -> AsyncIterator[MakeScheme]:
    """Start isolated tpsim schemes (config overrides as keyword arguments); on teardown,
    every body tpsim sent must validate against the official OpenAPI."""
    started: list[Scheme] = []

    async def start(**overrides: Any) -> Scheme:
        scheme = await Scheme(overrides=overrides).start()
        started.append(scheme)
        return scheme

    yield start
    for scheme in started:
        await scheme.settle()
        try:
            scheme.validate_sent_bodies()
        finally:
            await scheme.close()


@pytest.fixture
async def scheme(make_scheme: MakeScheme) -> Scheme:
    """The built-in default scheme with a test PISP."""
    return await make_scheme()
