"""The live traffic view: ``GET /admin/journal/stream`` and ``/ui`` (issue 16; being built)."""

from __future__ import annotations

from aiohttp import web


def add_live_routes(app: web.Application) -> None:
    """Mount the journal stream and the live page (admin-guarded)."""
