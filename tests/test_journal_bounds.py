"""The journal is bounded whatever clients send (issue 11): in entries and in bytes, with
refused and oversized bodies kept as excerpts; its JSONL sink never blocks or fails a
request, and fixtures can change its bounds and sink while it runs."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import MakeScheme
from tests.support.scheme import Scheme, transaction_request
from tpsim.config import parse_config
from tpsim.config_settings import JournalConfig
from tpsim.errors import ConfigError
from tpsim.journal import EXCERPT_BYTES, REFUSED_BODY_BYTES, Hop, Journal
from tpsim.mojaloop.message import Message, make_headers

AT = datetime(2030, 1, 1, tzinfo=UTC)
PATH = "/thirdpartyRequests/transactions"
REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"
REFUSED = "amount.amount: is not an FSPIOP Amount"


def large_body(n: int, tag: str = "r-1") -> tuple[dict[str, Any], bytes]:
    """A body of ``n`` extensions (about 130 bytes each) as decoded and as it arrived."""
    extensions = [{"key": f"k{i}", "value": "v" * 100} for i in range(n)]
    raw = json.dumps({"transactionRequestId": tag, "extensionList": {"extension": extensions}})
    return json.loads(raw), raw.encode()


def arrived(body: dict[str, Any] | None, **headers: str) -> Message:
    values = {"FSPIOP-Source": "pispa", "FSPIOP-Destination": "dfspa", **headers}
    return Message("POST", PATH, make_headers(values), body)


# --- what an entry keeps of a body -------------------------------------------------------


def test_a_refused_request_keeps_an_excerpt_of_a_large_body_not_the_body() -> None:
    body, raw = large_body(1_000)
    entry = Journal().record(Hop.RECEIVED, arrived(body), at=AT, status=400, error=REFUSED, raw=raw)
    assert entry.body is None
    assert (entry.body_truncated, entry.body_bytes) == (True, len(raw))
    assert entry.body_excerpt == raw[:EXCERPT_BYTES].decode()
    data = entry.to_json()
    assert (data["body"], data["body_truncated"], data["body_bytes"]) == (None, True, len(raw))


def test_without_the_raw_bytes_the_content_length_sizes_the_body() -> None:
    # What the edge passes today: the decoded body and the request's headers.
    body, raw = large_body(1_000)
    message = arrived(body, **{"Content-Length": str(len(raw))})
    entry = Journal().record(Hop.RECEIVED, message, at=AT, status=400, error=REFUSED)
    assert (entry.body, entry.body_truncated, entry.body_bytes) == (None, True, len(raw))
    assert entry.body_excerpt is not None and len(entry.body_excerpt) == EXCERPT_BYTES
    assert entry.body_excerpt.startswith('{"transactionRequestId":"r-1","extensionList"')


def test_a_small_refused_body_is_kept_whole_for_conformance_reports() -> None:
    body = {"transactionRequestId": REQUEST_ID, "amount": {"amount": "10.00"}}
    raw = json.dumps(body).encode()
    assert len(raw) <= REFUSED_BODY_BYTES
    entry = Journal().record(Hop.RECEIVED, arrived(body), at=AT, error=REFUSED, raw=raw)
    assert (entry.body, entry.body_truncated, entry.body_excerpt) == (body, False, None)


def test_a_body_that_is_not_json_keeps_its_text() -> None:
    raw = b'{"transactionRequestId": '
    entry = Journal().record(Hop.RECEIVED, arrived(None), at=AT, error="not JSON", raw=raw)
    assert (entry.body, entry.body_excerpt, entry.body_truncated) == (None, raw.decode(), False)


def test_an_accepted_body_over_the_entry_cap_is_an_excerpt_wherever_it_goes() -> None:
    journal = Journal(max_body_bytes=64 * 1024)
    body, raw = large_body(1_000)  # ~130 kB
    received = journal.record(Hop.RECEIVED, arrived(body), at=AT, status=202, raw=raw)
    # The switch forwards the same body object to the DFSP.
    delivered = journal.record(Hop.DELIVERED, arrived(body), at=AT, status=202)
    for entry in (received, delivered):
        assert (entry.body, entry.body_truncated, entry.body_bytes) == (None, True, len(raw))
    small = {"transactionRequestId": "r-2"}
    kept = journal.record(Hop.RECEIVED, arrived(small), at=AT, raw=json.dumps(small).encode())
    assert kept.body == small


def test_refused_bodies_do_not_stay_in_memory() -> None:
    """60 refused 4 MB bodies took tpsim to 2.5 GB: what the journal holds of them is now
    an excerpt each, whatever their decoded objects weighed."""
    journal = Journal()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20):
            body, raw = large_body(5_000, tag=f"r-{i}")  # ~650 kB, ~2 MB decoded
            message = arrived(body, **{"Content-Length": str(len(raw))})  # as the edge has it
            journal.record(Hop.RECEIVED, message, at=AT, error=REFUSED)
            del body, raw, message
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(journal) == 20
    assert held < 2 * 1024 * 1024


# --- the bounds ----------------------------------------------------------------------------


def test_the_ring_is_bounded_in_bytes_as_well_as_entries() -> None:
    journal = Journal(max_entries=1_000, max_bytes=1024 * 1024)
    for i in range(40):
        body, raw = large_body(800, tag=f"r-{i}")  # ~100 kB as it arrived
        journal.record(Hop.RECEIVED, arrived(body), at=AT, status=202, raw=raw)
    assert journal.size_bytes <= 1024 * 1024
    kept = [e.body["transactionRequestId"] for e in journal.entries() if e.body]
    assert 5 <= len(kept) < 40
    assert kept[-1] == "r-39"  # the oldest drop off first


def test_a_forwarded_body_counts_as_it_arrived() -> None:
    journal = Journal(max_bytes=1024 * 1024)
    body, raw = large_body(800)
    journal.record(Hop.RECEIVED, arrived(body), at=AT, status=202, raw=raw)
    after_received = journal.size_bytes
    journal.record(Hop.DELIVERED, arrived(body), at=AT, status=202)
    assert journal.size_bytes - after_received >= len(raw)


# --- the JSONL sink ------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (ENOSPC)")
def test_a_full_disk_is_reported_once_and_fails_nothing(caplog: pytest.LogCaptureFixture) -> None:
    journal = Journal(sink=Path("/dev/full"))
    for i in range(5):
        journal.record(Hop.RECEIVED, arrived({"transactionRequestId": f"r-{i}"}), at=AT)
    journal.close()  # waits for the writer: every line has been tried
    assert journal.sink_dropped == 5
    assert len(journal) == 5
    assert len(journal.entries(correlation_id="r-4")) == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "tpsim.journal"]
    assert len(warnings) == 1
    assert "/dev/full" in warnings[0] and "No space left on device" in warnings[0]


def test_lines_past_the_sink_queue_are_dropped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = tmp_path / "journal.jsonl"
    journal = Journal(sink=sink, sink_queue_bytes=2_000)
    large, _ = large_body(20)  # a line of ~3 kB: never fits
    journal.record(Hop.DELIVERED, arrived({"transactionRequestId": "r-1"}), at=AT)
    journal.record(Hop.DELIVERED, arrived(large), at=AT)
    journal.record(Hop.DELIVERED, arrived(large), at=AT)
    journal.close()
    assert journal.sink_dropped == 2
    assert [json.loads(line)["seq"] for line in sink.read_text().splitlines()] == [1]
    assert len([r for r in caplog.records if r.name == "tpsim.journal"]) == 1
    assert len(journal) == 3  # memory keeps every hop


def test_a_sink_that_cannot_be_opened_leaves_the_journal_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal(sink=tmp_path / "missing" / "journal.jsonl")
    journal.record(Hop.DELIVERED, arrived({"transactionRequestId": "r-1"}), at=AT)
    journal.close()
    assert len(journal) == 1
    [warning] = [r.getMessage() for r in caplog.records if r.name == "tpsim.journal"]
    assert "missing/journal.jsonl" in warning


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (ENOSPC)")
async def test_a_full_disk_under_the_jsonl_sink_fails_no_request(
    make_scheme: MakeScheme, caplog: pytest.LogCaptureFixture
) -> None:
    scheme = await make_scheme(journal={"jsonl": "/dev/full"})
    assert scheme.sim is not None
    try:
        answer = await scheme.pisp.send(
            "POST", PATH, transaction_request(REQUEST_ID), destination="dfspa"
        )
        assert answer.status == 202
        await scheme.settle()
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{scheme.url}/admin/journal?correlationId={REQUEST_ID}") as response,
        ):
            assert response.status == 200
            assert (await response.json())["entries"][0]["hop"] == "received"
    finally:
        scheme.sim.journal.close()
    assert len([r for r in caplog.records if r.name == "tpsim.journal"]) == 1


async def test_a_refused_large_body_reaches_the_journal_as_an_excerpt(scheme: Scheme) -> None:
    body = transaction_request(REQUEST_ID)
    body["amount"]["amount"] = "10.00"  # refused: not an FSPIOP Amount
    body["extensionList"] = {"extension": [{"key": "k", "value": "v" * 100}] * 8_000}
    raw = json.dumps(body).encode()
    answer = await scheme.pisp.send("POST", PATH, raw=raw, destination="dfspa")
    assert answer.status == 400
    assert scheme.sim is not None
    [entry] = [e for e in scheme.sim.journal.entries() if e.status == 400]
    assert (entry.body, entry.body_truncated, entry.body_bytes) == (None, True, len(raw))


# --- fixtures reconfigure it ---------------------------------------------------------------


def test_reconfigure_applies_new_bounds_now() -> None:
    journal = Journal(max_entries=10)
    for i in range(10):
        journal.record(Hop.DELIVERED, arrived({"transactionRequestId": f"r-{i}"}), at=AT)
    journal.reconfigure(max_entries=3, max_bytes=64 * 1024, max_body_bytes=4096, sink=None)
    assert [e.seq for e in journal.entries()] == [8, 9, 10]
    body, raw = large_body(100)  # ~13 kB, over the new body cap
    entry = journal.record(Hop.RECEIVED, arrived(body), at=AT, raw=raw)
    assert entry.body_truncated


def test_reconfigure_moves_the_sink(tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    journal = Journal(sink=first)
    journal.record(Hop.DELIVERED, arrived({"transactionRequestId": "r-1"}), at=AT)
    journal.reconfigure(max_entries=10, max_bytes=1 << 20, max_body_bytes=4096, sink=second)
    journal.record(Hop.DELIVERED, arrived({"transactionRequestId": "r-2"}), at=AT)
    journal.reconfigure(max_entries=10, max_bytes=1 << 20, max_body_bytes=4096, sink=None)
    journal.record(Hop.DELIVERED, arrived({"transactionRequestId": "r-3"}), at=AT)
    journal.close()

    def seqs(path: Path) -> list[int]:
        return [json.loads(line)["seq"] for line in path.read_text().splitlines()]

    assert (seqs(first), seqs(second)) == ([1], [2])


# --- the config ----------------------------------------------------------------------------


def test_the_journal_config_bounds_bytes_by_default() -> None:
    config = JournalConfig()
    assert (config.max_bytes, config.max_body_bytes) == (64 * 1024 * 1024, 1024 * 1024)


def test_a_body_cap_over_the_journal_bound_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"journal: max_body_bytes \(2097152\) must not"):
        parse_config({"journal": {"max_bytes": 1024 * 1024, "max_body_bytes": 2 * 1024 * 1024}})
