"""Prometheus metrics at ``GET /metrics`` (text exposition format, or OpenMetrics when the
scraper asks for it), guarded like the admin API (``serve.admin.admin_only``).

Each application has its own ``CollectorRegistry`` (never the library's global one), so two
tpsims in one process (tests, the pytest plugin) count apart. What is counted comes from
the traffic (``serve.traffic``: every hop the edges and the router journal) and, at scrape
time, from the journal itself:

    tpsim_messages_total{dialect, method, route, direction, status}
        every hop of every message: received from outside (direction "in"; a PSD2
        request, with the status it was answered), delivered in-process ("internal"),
        sent over HTTP ("out"); ``route`` is the route template (``/quotes/{ID}``), never
        the raw path; ``status`` is "none" for a message dropped or never answered
    tpsim_flows_total{dialect, flow, outcome, code}
        flows ended (``serve.flows``): Mojaloop transfers (COMPLETED, REJECTED, error)
        and linkings (VERIFIED, error), with the error callback's ``code``; PSD2 payments
        by the final status their TPP was told
    tpsim_flow_duration_seconds{dialect, flow, outcome}
        histogram of the same flows, from their first message to their last
    tpsim_delivery_failures_total{participant, reason}
        messages tpsim could not hand over: ``reason`` connection_refused, timeout,
        unreachable, status_4xx, status_5xx (the participant answered so), or
        unknown_destination (participant "(unknown)")
    tpsim_journal_entries, tpsim_journal_bytes
        the journal's size now (entries kept in memory, and the bytes they count)
    tpsim_journal_sink_dropped_total
        hops the JSONL sink could not write
    process_*
        the process's CPU, memory and file descriptors (prometheus_client's collector)

Labels stay few whatever clients send: routes are templates, a path no route matches is
"(unmatched)", a dialect's routes past ``MAX_ROUTES`` and methods HTTP does not define
are "(other)".
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from tpsim.journal import Hop
from tpsim.serve.admin import admin_only
from tpsim.serve.edge import SIMULATION
from tpsim.serve.flows import Flows
from tpsim.serve.simulation import Simulation
from tpsim.serve.traffic import Seen
from tpsim.serve.transports import failure_reason

MAX_ROUTES = 200  # distinct route labels per dialect
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "(other)"
UNKNOWN = "(unknown)"
# From a hop in-process (well under a millisecond) to a person signing by hand.
MAX_RAW_KEYS = 4096  # hops' raw values remembered to find their counter at once
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    """The counters of one application's traffic, in their own registry."""

    def __init__(self, sim: Simulation) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "tpsim_messages",
            "Messages by hop: received from outside (in), delivered in-process (internal),"
            " sent over HTTP (out); route is the route template",
            ["dialect", "method", "route", "direction", "status"],
            registry=self.registry,
        )
        self.flows = Counter(
            "tpsim_flows",
            "Flows ended: Mojaloop transfers and linkings, PSD2 payments by final status",
            ["dialect", "flow", "outcome", "code"],
            registry=self.registry,
        )
        self.durations = Histogram(
            "tpsim_flow_duration_seconds",
            "Time from a flow's first message to its last",
            ["dialect", "flow", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.failures = Counter(
            "tpsim_delivery_failures",
            "Messages tpsim could not hand to their receiver, by participant and reason",
            ["participant", "reason"],
            registry=self.registry,
        )
        self.registry.register(JournalCollector(sim))
        ProcessCollector(registry=self.registry)
        self._flows = Flows()
        self._routes: dict[str, set[str]] = {}
        # Each label set's child, found once: ``labels()`` validates and locks every call.
        self._by_labels: dict[tuple[str, ...], Counter] = {}
        # The same children by the hop's raw values, which need no label made first; at
        # most MAX_RAW_KEYS of them (raw methods and paths are the clients' to choose).
        self._counted: dict[tuple[object, ...], Counter] = {}

    def seen(self, seen: Seen) -> None:
        """Count one hop (a ``serve.traffic`` listener)."""
        entry = seen.entry
        # Found by the hop's own values, before any label is made of them: a route once
        # counted keeps its label (``_route``'s choice for a route never changes).
        key = (entry.dialect, entry.method, seen.route, entry.direction, seen.status)
        counter = self._counted.get(key)
        if counter is None:
            labels = self._labels(seen)
            counter = self._by_labels.get(labels)
            if counter is None:
                counter = self._by_labels[labels] = self.messages.labels(*labels)
            if len(self._counted) < MAX_RAW_KEYS:
                self._counted[key] = counter
        counter.inc()
        if seen.failed_delivery:
            self._failed(seen)
        ended = self._flows.seen(seen, time.perf_counter())
        if ended is None:
            return
        self.flows.labels(ended.dialect, ended.flow, ended.outcome, ended.code).inc()
        if ended.seconds is not None:
            durations = self.durations.labels(ended.dialect, ended.flow, ended.outcome)
            durations.observe(ended.seconds)

    def _labels(self, seen: Seen) -> tuple[str, ...]:
        """The labels of a hop's ``tpsim_messages``."""
        entry = seen.entry
        dialect = entry.dialect or ""
        status = "none" if seen.status is None else str(seen.status)
        route = self._route(dialect, seen.route)
        method = entry.method if entry.method in METHODS else OTHER
        return (dialect, method, route, entry.direction.value, status)

    def _failed(self, seen: Seen) -> None:
        entry = seen.entry
        if entry.hop is Hop.DROPPED:
            self.failures.labels(UNKNOWN, "unknown_destination").inc()
            return
        reason = failure_reason(seen.status, entry.error)
        self.failures.labels(entry.destination or UNKNOWN, reason).inc()

    def _route(self, dialect: str, route: str) -> str:
        """``route``, or ``OTHER`` once the dialect has ``MAX_ROUTES`` others."""
        known = self._routes.setdefault(dialect, set())
        if route in known:
            return route
        if len(known) >= MAX_ROUTES:
            return OTHER
        known.add(route)
        return route


METRICS = web.AppKey("metrics", Metrics)


class JournalCollector(Collector):
    """The journal's size, read when scraped (a reset or a reload changes it)."""

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim

    def collect(self) -> Iterator[Metric]:
        journal = self._sim.journal
        yield GaugeMetricFamily(
            "tpsim_journal_entries", "Journal entries kept in memory", value=len(journal)
        )
        yield GaugeMetricFamily(
            "tpsim_journal_bytes",
            "Bytes the journal's entries count against journal.max_bytes",
            value=journal.size_bytes,
        )
        yield CounterMetricFamily(
            "tpsim_journal_sink_dropped",
            "Hops the JSONL sink could not write (queue full or file failed)",
            value=journal.sink_dropped,
        )


async def get_metrics(request: web.Request) -> web.Response:
    """The metrics in the format the scraper accepts (Prometheus text, or OpenMetrics)."""
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    output = encode(request.app[METRICS].registry)
    return web.Response(body=output, headers={"Content-Type": content_type})


def add_metrics_routes(app: web.Application) -> None:
    """Count the traffic of ``app``'s simulation and mount ``GET /metrics`` (admin-guarded)."""
    sim = app[SIMULATION]
    metrics = app[METRICS] = Metrics(sim)
    sim.router.traffic.listen(metrics.seen)
    app.router.add_get("/metrics", admin_only(get_metrics))
