"""Prometheus metrics at ``/metrics`` (issue 16; being built)."""

from __future__ import annotations

from aiohttp import web


def add_metrics_routes(app: web.Application) -> None:
    """Mount ``GET /metrics`` (admin-guarded)."""
