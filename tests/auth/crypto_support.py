"""Shared data for the crypto tests: the vector files copied from Mojaloop's test suites."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
LOCALHOST = "http://localhost:8080"


@cache
def vectors(name: str) -> dict[str, Any]:
    """One of ``tests/vectors/*.json`` (provenance fields inside each file)."""
    data: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def fido_sets() -> list[str]:
    return list(vectors("fido_vectors"))
