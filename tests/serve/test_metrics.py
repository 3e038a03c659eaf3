"""``GET /metrics`` (issue 16): what a served tpsim tells Prometheus, scraped over real HTTP
and read with prometheus_client's own parser, so the exposition is what a scraper reads.

Messages by dialect, method, route template, direction and status; flows by dialect and
outcome with their durations; delivery failures by participant and reason; the journal's
size; guarded like the admin API; labels bounded whatever clients send; one registry per
application.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.serve.test_admin_token import served
from tests.serve.test_xs2a import PAYMENTS, Tpp, payment
from tests.support.flows import complete_transfer, error_code
from tests.support.linking import link, new_authenticator
from tests.support.scheme import Scheme, transaction_request
from tpsim.config import parse_config
from tpsim.journal import Hop, HttpExchange, Journal
from tpsim.serve.flows import Ended, Flows, psd2_status
from tpsim.serve.metrics import MAX_RAW_KEYS, Metrics
from tpsim.serve.simulation import Simulation
from tpsim.serve.traffic import Seen
from tpsim.serve.transports import failure_reason

TX = "/thirdpartyRequests/transactions"
Labels = frozenset[tuple[str, str]]


class Scrape:
    """One scrape, parsed: every sample by name and labels."""

    def __init__(self, text: str) -> None:
        self.samples: dict[tuple[str, Labels], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                self.samples[key] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The sample ``name`` with exactly ``labels`` (0 when absent, as Prometheus reads
        a series that never started)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def labels_of(self, name: str, label: str) -> set[str]:
        return {dict(labels)[label] for n, labels in self.samples if n == name}


async def scrape(url: str, **headers: str) -> Scrape:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics", headers=headers) as got:
        assert got.status == 200, await got.text()
        assert got.headers["Content-Type"].startswith("text/plain; version=")
        return Scrape(await got.text())


async def test_a_transfer_and_a_psd2_payment_are_counted_as_messages_and_flows(
    scheme: Scheme,
) -> None:
    await complete_transfer(scheme, str(uuid.uuid4()))
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        status, created, _ = await tpp.call(
            "POST", PAYMENTS, payment(), TPP_Redirect_URI="http://localhost:8000/cb/ok"
        )
        assert status == 201
        link_ = created["_links"]["scaRedirect"]["href"] + "?sim_decision=approve"
        async with http.get(link_, allow_redirects=False) as back:
            assert back.status == 302
        await scheme.settle()
        assert (await tpp.status(created))["transactionStatus"] == "ACCC"
    await scheme.settle()

    got = await scrape(scheme.url)

    messages = "tpsim_messages_total"
    # The PISP's request: answered 202 at the edge, then delivered to dfspa in-process.
    request = {"dialect": "mojaloop", "method": "POST", "route": TX}
    assert got.value(messages, **request, direction="in", status="202") == 1
    assert got.value(messages, **request, direction="internal", status="202") == 1
    # Its outcome, sent to the PISP over HTTP and answered 200.
    patch = {"dialect": "mojaloop", "method": "PATCH", "route": f"{TX}/{{ID}}"}
    assert got.value(messages, **patch, direction="out", status="200") == 1
    # Quotes and transfers between the simulated DFSPs never leave the process.
    assert got.value(
        messages, dialect="mojaloop", method="POST", route="/quotes", direction="internal",
        status="202",
    ) >= 1  # fmt: skip
    xs2a = {"dialect": "xs2a", "method": "POST", "direction": "in", "status": "201"}
    assert got.value(messages, **xs2a, route="/xs2a/{fspId}/v1/payments/sepa-credit-transfers") == 1
    status_route = "/xs2a/{fspId}/v1/payments/sepa-credit-transfers/{id}/status"
    assert got.value(messages, **xs2a | {"method": "GET", "status": "200"}, route=status_route) == 1

    transfer = {"dialect": "mojaloop", "flow": "transfer", "outcome": "COMPLETED"}
    assert got.value("tpsim_flows_total", **transfer, code="") == 1
    assert got.value("tpsim_flow_duration_seconds_count", **transfer) == 1
    assert got.value("tpsim_flow_duration_seconds_sum", **transfer) > 0
    paid = {"dialect": "xs2a", "flow": "payment", "outcome": "ACCC"}
    assert got.value("tpsim_flows_total", **paid, code="") == 1
    assert got.value("tpsim_flow_duration_seconds_count", **paid) == 1

    assert scheme.sim is not None
    assert got.value("tpsim_journal_entries") == len(scheme.sim.journal)
    assert got.value("tpsim_journal_bytes") == scheme.sim.journal.size_bytes
    assert got.value("tpsim_journal_sink_dropped_total") == 0
    if sys.platform == "linux":  # prometheus_client reads the process's CPU from /proc
        assert got.value("process_cpu_seconds_total") > 0


async def test_a_flow_is_counted_once_however_often_its_end_is_read(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST", PAYMENTS, payment(), TPP_Redirect_URI="http://localhost:8000/cb/ok"
        )
        link_ = created["_links"]["scaRedirect"]["href"] + "?sim_decision=deny"
        async with http.get(link_, allow_redirects=False) as back:
            assert back.status == 302
        for _ in range(3):
            assert (await tpp.status(created))["transactionStatus"] == "RJCT"

    got = await scrape(scheme.url)
    assert (
        got.value("tpsim_flows_total", dialect="xs2a", flow="payment", outcome="RJCT", code="") == 1
    )


async def test_a_linking_is_counted_with_its_outcome(scheme: Scheme) -> None:
    await link(scheme, str(uuid.uuid4()), new_authenticator("FIDO"))
    await scheme.settle()

    got = await scrape(scheme.url)
    verified = {"dialect": "mojaloop", "flow": "linking", "outcome": "VERIFIED"}
    assert got.value("tpsim_flows_total", **verified, code="") == 1
    assert got.value("tpsim_flow_duration_seconds_count", **verified) == 1


async def test_a_failed_transfer_is_counted_with_its_error_code(scheme: Scheme) -> None:
    request_id = str(uuid.uuid4())
    start = len(scheme.pisp.received)
    body = transaction_request(request_id, payer="dfspa.nobody.nothing")  # no such account
    sent = await scheme.pisp.send("POST", TX, body, destination="dfspa")
    assert sent.status == 202
    error = await scheme.pisp.wait_until(
        lambda r: r.path == f"{TX}/{request_id}/error", start=start
    )
    await scheme.settle()

    got = await scrape(scheme.url)
    failed = {"dialect": "mojaloop", "flow": "transfer", "outcome": "error"}
    assert got.value("tpsim_flows_total", **failed, code=error_code(error)) == 1


async def dead_endpoint() -> str:
    """An endpoint nobody listens on: a port bound, then closed."""
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    return f"http://127.0.0.1:{port}"


async def unreachable_pisp(scheme: Scheme) -> str:
    """Point the scheme's ``pispa`` at a dead endpoint (it still sends from its client)."""
    assert scheme.sim is not None
    data = scheme.sim.config.model_dump(mode="json")
    endpoint = await dead_endpoint()
    for participant in data["participants"]:
        if participant["fsp_id"] == "pispa":
            participant["endpoint"] = endpoint
    scheme.sim.load(parse_config(data))
    return endpoint


async def test_a_participant_that_cannot_be_reached_is_a_delivery_failure(
    scheme: Scheme,
) -> None:
    await unreachable_pisp(scheme)
    sent = await scheme.pisp.send("GET", "/parties/MSISDN/16135551212")
    assert sent.status == 202
    await scheme.settle()

    got = await scrape(scheme.url)
    failures = "tpsim_delivery_failures_total"
    assert got.value(failures, participant="pispa", reason="connection_refused") == 1
    put = {"dialect": "mojaloop", "method": "PUT", "route": "/parties/{Type}/{ID}"}
    assert got.value("tpsim_messages_total", **put, direction="out", status="none") == 1


async def test_an_answer_other_than_2xx_is_a_delivery_failure_by_its_class(
    scheme: Scheme,
) -> None:
    scheme.pisp.respond_with = 503
    await scheme.pisp.send("GET", "/parties/MSISDN/16135551212")
    await scheme.settle()

    got = await scrape(scheme.url)
    assert got.value("tpsim_delivery_failures_total", participant="pispa", reason="status_5xx") == 1


async def test_made_up_paths_and_methods_do_not_make_new_labels(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        for n in range(30):
            async with http.get(f"{scheme.url}/xs2a/dfspa/v1/made-up-{n}") as got:
                assert got.status == 404
        # Methods aiohttp's parser knows (WebDAV's, a cache's) but HTTP does not define.
        for method in ("PROPFIND", "MKCOL", "LOCK", "PURGE"):
            async with http.request(method, f"{scheme.url}/made-up-{method}") as got:
                assert got.status == 404

    scraped = await scrape(scheme.url)
    assert scraped.labels_of("tpsim_messages_total", "route") == {"(unmatched)"}
    assert scraped.labels_of("tpsim_messages_total", "method") == {"GET", "(other)"}
    assert scraped.value(
        "tpsim_messages_total", dialect="xs2a", method="GET", route="(unmatched)",
        direction="in", status="404",
    ) == 30  # fmt: skip


# -- the guard, and one registry per application -------------------------------------------


async def status_of(url: str, **headers: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics", headers=headers) as got:
        return got.status


async def test_metrics_are_refused_like_the_admin_api() -> None:
    async with served(None) as url:
        # On loopback without a token: open to this machine only, not to a rebound name.
        assert await status_of(url) == 200
        assert await status_of(url, Host="tpsim.example") == 403
        assert await status_of(url, Origin="http://evil.example") == 403
    async with served("s3cret") as url:
        assert await status_of(url) == 401
        assert await status_of(url, Authorization="Bearer wrong") == 401
        assert await status_of(url, Authorization="Bearer s3cret") == 200


async def test_each_application_counts_in_its_own_registry() -> None:
    async with served(None) as first, served(None) as second:
        async with aiohttp.ClientSession() as http:
            for _ in range(2):
                async with http.get(f"{first}/xs2a/dfspa/v1/nothing-here") as got:
                    assert got.status == 404
        first_scrape, second_scrape = await asyncio.gather(scrape(first), scrape(second))

    unmatched = {"dialect": "xs2a", "method": "GET", "route": "(unmatched)", "direction": "in"}
    assert first_scrape.value("tpsim_messages_total", **unmatched, status="404") == 2
    assert second_scrape.value("tpsim_messages_total", **unmatched, status="404") == 0


async def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(scheme: Scheme) -> None:
    accept = "application/openmetrics-text; version=1.0.0"
    async with (
        aiohttp.ClientSession() as http,
        http.get(scheme.url + "/metrics", headers={"Accept": accept}) as got,
    ):
        assert got.status == 200
        assert got.headers["Content-Type"].startswith("application/openmetrics-text")
        assert (await got.text()).endswith("# EOF\n")


# -- which answers end a PSD2 payment, and the flows' bounds (no sockets) ------------------


@pytest.mark.parametrize(
    ("dialect", "answer", "final"),
    [
        ("xs2a", {"transactionStatus": "ACSC"}, "ACSC"),
        ("xs2a", {"transactionStatus": "ACCC", "fundsAvailable": True}, "ACCC"),
        ("xs2a", {"transactionStatus": "CANC"}, "CANC"),
        ("xs2a", {"transactionStatus": "PART"}, "PART"),
        ("xs2a", {"transactionStatus": "RCVD"}, None),
        ("xs2a", {"transactionStatus": "ACSP"}, None),
        ("obie", {"Data": {"DomesticPaymentId": "p", "Status": "AcceptedSettlementCompleted"}},
         "AcceptedSettlementCompleted"),
        ("obie", {"Data": {"DomesticPaymentId": "p", "Status": "ACCC"}}, "ACCC"),
        ("obie", {"Data": {"DomesticPaymentId": "p", "Status": "Rejected"}}, "Rejected"),
        ("obie", {"Data": {"DomesticPaymentId": "p", "Status": "Pending"}}, None),
        ("obie", {"Data": {"ConsentId": "c", "Status": "Rejected"}}, None),  # a consent
        ("stet", {"paymentRequest": {"paymentInformationStatus": "ACSC"}}, "ACSC"),
        ("stet", {"paymentRequest": {"paymentInformationStatus": "PART"}}, "PART"),
        ("stet", {"paymentRequest": {"paymentInformationStatus": "ACTC"}}, None),
        ("stet", {"appliedAuthenticationApproach": "REDIRECT"}, None),
        ("xs2a", {"tppMessages": [{"code": "FORMAT_ERROR"}]}, None),
        ("xs2a", None, None),
    ],
)  # fmt: skip
def test_a_payment_ends_when_its_tpp_is_told_a_final_status(
    dialect: str, answer: dict[str, Any] | None, final: str | None
) -> None:
    assert psd2_status(dialect, answer) == final


def seen_hop(method: str, status: int, conversation: str, answer: dict[str, Any]) -> Seen:
    exchange = HttpExchange(method, "/xs2a/dfspa/v1/payments", {}, None, "tpp", "dfspa")
    entry = Journal().record(Hop.RECEIVED, exchange, at=datetime.now(UTC), dialect="xs2a")
    entry.conversation = conversation
    return Seen(entry, "/xs2a/{fspId}/v1/payments", status, answer=answer)


def test_flows_in_progress_are_bounded_and_an_end_without_its_start_has_no_duration() -> None:
    flows = Flows(bound=2)
    for n, conversation in enumerate(("a", "b", "c")):
        assert flows.seen(seen_hop("POST", 201, conversation, {}), now=float(n)) is None
    done = {"transactionStatus": "ACSC"}
    assert flows.seen(seen_hop("GET", 200, "a", done), now=10.0) == Ended(
        "xs2a", "payment", "ACSC"
    )  # "a" was the oldest start: forgotten
    assert flows.seen(seen_hop("GET", 200, "c", done), now=10.0) == Ended(
        "xs2a", "payment", "ACSC", seconds=8.0
    )
    assert flows.seen(seen_hop("GET", 200, "c", done), now=11.0) is None  # counted once


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (None, "ClientConnectorError: connection refused", "connection_refused"),
        (None, "no answer within 10 s", "timeout"),
        (None, "ServerDisconnectedError: the connection was closed before an answer came",
         "unreachable"),
        (None, "ClientConnectorDNSError: the host name could not be resolved (…)", "unreachable"),
        (503, None, "status_5xx"),
        (404, None, "status_4xx"),
        (302, None, "status_3xx"),
    ],
)  # fmt: skip
def test_a_delivery_failure_has_a_reason_from_a_few(
    status: int | None, error: str | None, reason: str
) -> None:
    assert failure_reason(status, error) == reason


def test_hops_are_counted_right_past_the_raw_values_remembered() -> None:
    # The counters are found by a hop's raw values, remembered for MAX_RAW_KEYS of them
    # (raw methods and paths are the clients' to choose); past that, by their labels.
    metrics = Metrics(cast("Simulation", None))  # the journal collector is never scraped
    hops = [seen_hop("GET", 100 + n, f"c{n}", {}) for n in range(MAX_RAW_KEYS + 10)]
    for hop in [*hops, *hops[-3:]]:
        metrics.seen(hop)
    assert len(metrics._counted) == MAX_RAW_KEYS
    route, last = "/xs2a/{fspId}/v1/payments", str(100 + MAX_RAW_KEYS + 9)
    child = metrics.messages.labels("xs2a", "GET", route, "in", last)
    assert child._value.get() == 2  # noqa: SLF001 - prometheus_client's own counter
