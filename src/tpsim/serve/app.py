"""The aiohttp application: admin routes, ``/health``, the simulated DFSPs' login pages, the
PSD2 dialects' bases (``/xs2a/{fspId}/…``, ``/obie/{fspId}/…``, ``/stet/{fspId}/…``),
a PISP's sdk-scheme-adapter party lookup (``/sdk/{fspId}/parties/…``), ``/metrics``, the
live view, and the FSPIOP edge for everything else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from tpsim.serve.admin import add_admin_routes, admin_only, no_admin_route
from tpsim.serve.admin_docs import add_admin_docs
from tpsim.serve.admin_psd2 import PSD2_ADMIN_ROUTES
from tpsim.serve.edge import MAX_BODY_BYTES, SIMULATION, expect_handler, handle_fspiop
from tpsim.serve.live import add_live_routes, index, wants_a_page
from tpsim.serve.login import add_login_routes
from tpsim.serve.metrics import add_metrics_routes
from tpsim.serve.obie import add_obie_routes
from tpsim.serve.parser_refusals import tunnel_refusal
from tpsim.serve.sdk import add_sdk_routes
from tpsim.serve.simulation import Simulation
from tpsim.serve.stet import add_stet_routes
from tpsim.serve.traffic import timed
from tpsim.serve.xs2a import add_xs2a_routes

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def written(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Write what a request changed (``--state``) before its answer goes out, whichever part
    of tpsim answers it (a PSD2 dialect, its OAuth server and pages, the admin API), so
    nobody is told of a change a kill -9 would undo. The FSPIOP edge's messages are kept
    by the router (``serve.router``); a commit with nothing to write costs nothing."""
    try:
        return await handler(request)
    finally:
        request.app[SIMULATION].router.commit()


@web.middleware
async def admin_refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A path under ``/admin/`` that only the FSPIOP catch-all matched (an unknown admin
    path, or an admin path with another method), or ``/health``, ``/metrics`` or ``/ui``
    with another method, is the admin API's refusal, not an FSPIOP ``errorInformation``;
    a browser's ``GET /`` is a page pointing at ``/ui`` (``live.index``).
    A ``CONNECT``, which no route matches (aiohttp gives it no path), is refused in the
    format of the API its target names (``tunnel_refusal``)."""
    if request.method == hdrs.METH_CONNECT:
        return await tunnel_refusal(request)
    if request.match_info.handler is handle_fspiop:
        if wants_a_page(request):  # a browser opening tpsim's address
            return await index(request)
        if request.path.startswith("/admin/") or request.path == "/metrics":
            return await admin_only(no_admin_route)(request)
        if request.path in _OPEN_PATHS:
            return await no_admin_route(request)
    return await handler(request)


# tpsim's own paths outside /admin/ that need no token: another method on them is the
# admin API's 405, not the FSPIOP edge's "no Third Party resource".
_OPEN_PATHS = frozenset({"/health", "/ui"})


def create_app(sim: Simulation) -> web.Application:
    """An application serving ``sim``; closing the app closes the simulation."""
    # The edge enforces the FSPIOP size limit itself (3104); leave aiohttp room above it.
    # ``timed`` notes when each request began, for the traffic log's milliseconds.
    app = web.Application(
        client_max_size=MAX_BODY_BYTES * 2, middlewares=[timed, written, admin_refusals]
    )
    app[SIMULATION] = sim
    add_admin_routes(app, PSD2_ADMIN_ROUTES)
    add_admin_docs(app)
    add_metrics_routes(app)
    add_live_routes(app)
    add_login_routes(app)
    add_xs2a_routes(app)
    add_obie_routes(app)
    add_stet_routes(app)
    add_sdk_routes(app, sim)  # the PISP's sdk-scheme-adapter party lookup (/sdk/{fspId}/…)
    # [\s\S]*, not .*: a path may hold a decoded %0A, which "." does not match.
    app.router.add_route("*", r"/{tail:[\s\S]*}", handle_fspiop, expect_handler=expect_handler)

    async def close(app: web.Application) -> None:
        await sim.close()

    app.on_cleanup.append(close)
    return app
