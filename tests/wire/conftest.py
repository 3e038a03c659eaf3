"""Fixtures for the wire tests (tests/conftest.py imports them too; the duplicate is harmless)."""

from tests.support.fixtures import openapi

__all__ = ["openapi"]
