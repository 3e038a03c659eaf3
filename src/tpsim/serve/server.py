"""Running the application until SIGINT / SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import signal

import structlog
from aiohttp import web
from aiohttp.log import access_logger

from tpsim.config import Config
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

log = structlog.get_logger("tpsim")


async def serve(config: Config, *, host: str, port: int, access_log: bool = False) -> None:
    """Serve ``config``'s scheme on ``host:port`` until interrupted."""
    sim = Simulation(config)
    runner = web.AppRunner(create_app(sim), access_log=access_logger if access_log else None)
    await runner.setup()
    tune_gc()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        sim.site.url = f"http://{_browser_host(host)}:{port}"
        external = {p.fsp_id: p.endpoint for p in config.participants if p.endpoint}
        log.info(
            "tpsim is serving",
            url=f"http://{host}:{port}",
            login_pages=config.behaviour.linking.web.public_url or sim.site.url,
            hub=config.hub.name,
            profile=config.behaviour.profile.value,
            challenge=config.behaviour.challenge,
            external=external,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("tpsim is stopping")
    finally:
        await runner.cleanup()


def tune_gc() -> None:
    """Collect cycles less often, and never look at what start-up built again.

    A transfer allocates a few thousand short-lived containers (messages, models, journal
    entries), so with the default thresholds (700, 10, 10) the collector ran ~0.4 collections
    per transfer and took 13 % of the server's CPU, most of it in full collections walking
    the state every earlier transfer left (benchmarks/bench_transfer.py). tpsim makes few
    reference cycles; fewer, later collections reclaim them all the same.
    """
    gc.collect()
    gc.freeze()  # imports, config, routes, models: permanent, never scanned again
    gc.set_threshold(50_000, 20, 100)


def _browser_host(host: str) -> str:
    """A host a browser on this machine can open for the address served on."""
    if host in ("0.0.0.0", "", "::"):  # noqa: S104 - comparing, not binding
        return "localhost"
    return f"[{host}]" if ":" in host else host
