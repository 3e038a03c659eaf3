"""The journal: bounded, queryable by correlation id, and streamed to a JSONL file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tpsim.journal import Hop, Journal
from tpsim.mojaloop.message import Message, make_headers

AT = datetime(2030, 1, 1, tzinfo=UTC)


def message(request_id: str) -> Message:
    headers = make_headers({"FSPIOP-Source": "pispa", "FSPIOP-Destination": "dfspa"})
    body = {"transactionRequestId": request_id, "consentId": "c-1"}
    return Message("POST", "/thirdpartyRequests/transactions", headers, body)


def test_entries_by_correlation_id_and_since() -> None:
    journal = Journal()
    first = journal.record(Hop.RECEIVED, message("r-1"), at=AT, status=202)
    journal.record(Hop.RECEIVED, message("r-2"), at=AT, status=202)
    assert [e.seq for e in journal.entries(correlation_id="r-1")] == [first.seq]
    assert len(journal.entries(correlation_id="c-1")) == 2
    assert [e.body["transactionRequestId"] for e in journal.entries(since=first.seq)] == ["r-2"]


def test_bounded_ring_drops_the_oldest() -> None:
    journal = Journal(max_entries=3)
    for i in range(5):
        journal.record(Hop.DELIVERED, message(f"r-{i}"), at=AT)
    assert len(journal) == 3
    assert [e.seq for e in journal.entries()] == [3, 4, 5]


def test_jsonl_sink_keeps_every_hop(tmp_path: Path) -> None:
    sink = tmp_path / "journal.jsonl"
    journal = Journal(max_entries=1, sink=sink)
    for i in range(3):
        journal.record(Hop.SENT, message(f"r-{i}"), at=AT, status=200, duration_ms=1.23456)
    journal.close()
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert lines[0]["hop"] == "sent"
    assert lines[0]["duration_ms"] == 1.235
    assert lines[0]["headers"]["FSPIOP-Source"] == "pispa"


def test_ids_seen_together_link_a_conversation() -> None:
    journal = Journal()
    headers = make_headers({"FSPIOP-Source": "dfspa", "FSPIOP-Destination": "dfspb"})
    quote = {"quoteId": "q-1", "transactionId": "t-1", "transactionRequestId": "r-1"}
    journal.record(Hop.DELIVERED, Message("POST", "/quotes", headers, quote), at=AT)
    journal.record(Hop.DELIVERED, Message("PUT", "/quotes/q-1", headers, {}), at=AT, path_id="q-1")
    verification = {"verificationRequestId": "v-1", "consentId": "c-1"}
    journal.record(
        Hop.DELIVERED,
        Message("POST", "/thirdpartyRequests/verifications", headers, verification, ("r-1",)),
        at=AT,
    )
    journal.record(Hop.DELIVERED, message("r-2"), at=AT)  # another transfer, same consent c-1
    paths = [e.path for e in journal.entries(correlation_id="r-1")]
    assert paths == ["/quotes", "/quotes/q-1", "/thirdpartyRequests/verifications"]
    # The consent finds both transfers' messages, but does not merge their conversations.
    assert len(journal.entries(correlation_id="c-1")) == 2
    assert len(journal.entries(correlation_id="r-2")) == 1
