"""The admin API described as OpenAPI 3.0.3 (issue 16), for tools and clients:

GET /admin/openapi.json     ``admin_openapi.yaml`` (shipped beside this module) as JSON,
                            ``info.version`` the installed tpsim's; admin-guarded

The document is written by hand, next to the handlers it describes (``serve.admin``,
``serve.admin_psd2``, ``serve.live``, ``serve.metrics``); ``tests/serve/test_admin_openapi.py``
keeps the two in step: every route the app mounts under ``/admin/``, ``/metrics``, ``/ui``
and ``/health`` is documented and nothing else is, and real answers validate against it.
Its ``servers`` URL is relative (``/``), so a tool that loads it from a running tpsim
sends its requests to that tpsim, whatever its host and port.
"""

from __future__ import annotations

import functools
import json
from importlib import metadata, resources
from typing import Any

import yaml
from aiohttp import web

from tpsim.serve.admin import admin_only

__all__ = ["DOCUMENT", "add_admin_docs", "admin_openapi"]

DOCUMENT = "admin_openapi.yaml"
PATH = "/admin/openapi.json"


@functools.cache
def admin_openapi() -> dict[str, Any]:
    """The admin API's OpenAPI document, read from the package once per process, with
    ``info.version`` the installed tpsim's (the admin API changes with tpsim's releases).
    Callers must not change it: it is shared."""
    text = resources.files("tpsim.serve").joinpath(DOCUMENT).read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    try:
        # The package root is no layer ``serve`` imports: ask the installed distribution.
        document["info"]["version"] = metadata.version("tpsim")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
        document["info"]["version"] = "unknown (not installed)"
    return document


@functools.cache
def _encoded() -> bytes:
    """The document as the JSON body, encoded once: it never changes while tpsim runs."""
    return json.dumps(admin_openapi(), indent=1).encode()


async def get_openapi(request: web.Request) -> web.Response:
    """``GET /admin/openapi.json``: the document (Swagger UI, Postman and code generators
    read JSON without a YAML parser)."""
    return web.Response(
        body=_encoded(), content_type="application/json", headers={"Cache-Control": "no-cache"}
    )


def add_admin_docs(app: web.Application) -> None:
    """Mount ``GET /admin/openapi.json`` on ``app``, behind ``admin_only`` as every admin
    route is (no HEAD, like the other ``/admin/`` routes)."""
    app.router.add_route("GET", PATH, admin_only(get_openapi))
