"""The journal: bounded, queryable by correlation id, streamed to a JSONL file, and neutral:
which dialect spoke, in which conversation, in which direction, to which redirect."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tpsim.journal import Direction, Exchange, Hop, HttpExchange, Journal, register_dialect
from tpsim.journal_links import Conversations, Reading
from tpsim.mojaloop.message import Message, make_headers
from tpsim.mojaloop.roles.common import new_message

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
    assert [
        (e.body or {}).get("transactionRequestId") for e in journal.entries(since=first.seq)
    ] == ["r-2"]


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


# --- the protocol-neutral fields ---------------------------------------------------------


@pytest.mark.parametrize(
    ("hop", "direction"),
    [
        (Hop.RECEIVED, Direction.IN),
        (Hop.DELIVERED, Direction.INTERNAL),
        (Hop.SENT, Direction.OUT),
        (Hop.DROPPED, Direction.INTERNAL),
        (Hop.OUT_OF_BAND, Direction.OUT),
    ],
)
def test_direction_follows_the_hop(hop: Hop, direction: Direction) -> None:
    assert Journal().record(hop, message("r-1"), at=AT).direction is direction


def test_a_mojaloop_message_is_journaled_as_mojaloop() -> None:
    entry = Journal().record(Hop.RECEIVED, message("r-1"), at=AT, path_id="r-1")
    data = entry.to_json()
    assert (data["dialect"], data["conversation"], data["direction"]) == ("mojaloop", "r-1", "in")
    assert data["redirect"] is None
    # The fields entries had before dialects keep their names, in their order.
    assert list(data)[:13] == [
        "seq", "at", "hop", "method", "path", "source", "destination", "headers", "body",
        "correlation_ids", "status", "duration_ms", "error",
    ]  # fmt: skip


def test_an_account_s_path_id_finds_its_hops_but_links_no_conversations() -> None:
    # /participants and /parties name a party or an account by their path id, which every
    # consent of that account shares: a hop joins a conversation by its sender's ids only.
    journal = Journal()
    path = "/participants/THIRD_PARTY_LINK/dfspa.carol.chequing"
    account = "THIRD_PARTY_LINK/dfspa.carol.chequing"
    now = AT
    for consent in ("c-1", "c-2"):
        sent = new_message(
            "POST",
            path,
            source="dfspa",
            destination=None,
            body={"fspId": "dfspa"},
            now=now,
            related=(consent,),
        )
        entry = journal.record(Hop.DELIVERED, sent, at=AT, path_id=account)
        assert (entry.correlation_ids, entry.conversation) == ([account, consent], consent)
    refused = Message("DELETE", path, make_headers({"FSPIOP-Source": "dfspb"}))  # no route
    orphan = journal.record(Hop.RECEIVED, refused, at=AT, path_id=account, status=400)
    assert (orphan.correlation_ids, orphan.linked, orphan.conversation) == ([account], [], account)
    assert [e.conversation for e in journal.entries(correlation_id="c-1")] == ["c-1"]
    assert len(journal.entries(correlation_id=account)) == 3
    lookup = new_message(
        "GET", "/parties/MSISDN/123", source="pispa", destination=None, body=None, now=now
    )
    party = journal.record(Hop.RECEIVED, lookup, at=AT, path_id="MSISDN/123")
    assert (party.linked, party.conversation) == ([], "MSISDN/123")


def test_a_conversation_keeps_the_name_it_started_with() -> None:
    journal = Journal()
    headers = make_headers({"FSPIOP-Source": "dfspa", "FSPIOP-Destination": "dfspb"})
    journal.record(Hop.RECEIVED, message("r-1"), at=AT, path_id="r-1")
    quote = {"quoteId": "q-1", "transactionId": "t-1", "transactionRequestId": "r-1"}
    post = journal.record(
        Hop.DELIVERED, Message("POST", "/quotes", headers, quote), at=AT, path_id="q-1"
    )
    put = journal.record(
        Hop.DELIVERED, Message("PUT", "/quotes/q-1", headers, {}), at=AT, path_id="q-1"
    )
    assert (post.conversation, put.conversation) == ("r-1", "r-1")
    # Only a consentId: found by it, named by it, linking nothing.
    tagged = journal.record(
        Hop.DELIVERED, Message("GET", "/x", headers, {"consentId": "c-9"}), at=AT
    )
    assert (tagged.conversation, tagged.correlation_ids) == ("c-9", ["c-9"])
    assert journal.record(Hop.DELIVERED, Message("GET", "/y", headers), at=AT).conversation is None


def test_a_login_redirect_note_carries_its_url() -> None:
    headers = make_headers({"FSPIOP-Source": "dfspa", "FSPIOP-Destination": "carol"})
    body = {"consentRequestId": "cr-1", "location": "https://pisp.example/cb?secret=s"}
    note = Message("REDIRECT", "/users/carol", headers, body)
    entry = Journal().record(Hop.OUT_OF_BAND, note, at=AT)
    assert (entry.redirect, entry.direction, entry.conversation) == (
        "https://pisp.example/cb?secret=s",
        Direction.OUT,
        "cr-1",
    )


@dataclass(frozen=True)
class Unregistered:
    """An exchange of a type no dialect registered: no FSPIOP headers."""

    method: str
    path: str
    body: dict[str, Any] | None
    headers: Mapping[str, str] = field(default_factory=dict)
    related: tuple[str, ...] = ()
    source: str = "tpp"
    destination: str | None = "dfspa"


@dataclass(frozen=True)
class Psd2Request(Unregistered):
    """Another dialect's exchange (the tests register it): its ids in no FSPIOP field."""


def test_another_dialect_registers_how_its_ids_link() -> None:
    def read(exchange: Exchange) -> Reading:
        body = exchange.body or {}
        return Reading(links=tuple(str(body[k]) for k in ("paymentId",) if k in body))

    register_dialect(Psd2Request, "xs2a", read)
    journal = Journal()
    created = journal.record(
        Hop.RECEIVED, Psd2Request("POST", "/xs2a/dfspa/v1/payments", {"paymentId": "p-1"}), at=AT
    )
    redirect = journal.record(
        Hop.OUT_OF_BAND,
        Psd2Request("GET", "/login/dfspa/a-1", None),
        at=AT,
        reading=Reading(links=("a-1", "p-1"), redirect="https://tpp.example/done"),
    )
    assert (created.dialect, created.conversation) == ("xs2a", "p-1")
    assert (redirect.dialect, redirect.conversation, redirect.redirect) == (
        "xs2a",
        "p-1",
        "https://tpp.example/done",
    )
    assert [e.seq for e in journal.entries(correlation_id="a-1")] == [created.seq, redirect.seq]
    # A body field FSPIOP links on means nothing to this dialect.
    other = Psd2Request("POST", "/x", {"transactionRequestId": "r-1"})
    assert journal.record(Hop.RECEIVED, other, at=AT, dialect="stet").correlation_ids == []
    assert journal.entries()[-1].dialect == "stet"


def test_an_unregistered_exchange_is_journaled_without_a_dialect() -> None:
    @dataclass(frozen=True)
    class Bare(Psd2Request):
        pass

    register_dialect(Psd2Request, "xs2a", lambda exchange: Reading())
    # A subclass speaks its base's dialect; a type nobody registered speaks none.
    assert Journal().record(Hop.RECEIVED, Bare("GET", "/z", None), at=AT).dialect == "xs2a"
    entry = Journal().record(Hop.RECEIVED, Unregistered("GET", "/z", {"quoteId": "q"}), at=AT)
    assert (entry.dialect, entry.correlation_ids, entry.conversation) == (None, [], None)


def test_old_links_are_forgotten_with_their_entries() -> None:
    journal = Journal(max_entries=2)
    for i in range(40):  # far past the 8 × max_entries ids the journal keeps links for
        journal.record(Hop.DELIVERED, message(f"r-{i}"), at=AT)
    assert len(journal._conversations) <= 17  # the bound is the point
    assert [e.seq for e in journal.entries(correlation_id="r-39")] == [40]
    assert len(journal.entries(correlation_id="c-1")) == 2


def test_headers_a_caller_may_still_change_are_copied_and_a_messages_kept() -> None:
    journal = Journal()
    given = {"FSPIOP-Source": "pispa"}
    copied = journal.record(Hop.RECEIVED, Unregistered("GET", "/x", None, given), at=AT)
    given["FSPIOP-Source"] = "changed later"
    assert copied.headers == {"FSPIOP-Source": "pispa"}
    message = Message("PUT", "/quotes/1", make_headers({"FSPIOP-Source": "dfspb"}), {})
    kept = journal.record(Hop.DELIVERED, message, at=AT)
    assert kept.headers is message.headers  # read-only already: not copied
    assert kept.to_json()["headers"] == {"FSPIOP-Source": "dfspb"}
    assert json.loads(kept._line())["headers"] == {"FSPIOP-Source": "dfspb"}


def test_a_ring_of_entries_naming_many_ids_is_not_walked_on_every_hop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A STET bulk's entries name its hundred intents: the ring holds more ids than the
    # 8 × max_entries that trigger forgetting, and each hop relinked the whole ring.
    relinks = 0
    relink = Conversations.relink

    def counted(self: Conversations, linked: Any) -> None:
        nonlocal relinks
        relinks += 1
        relink(self, linked)

    monkeypatch.setattr(Conversations, "relink", counted)
    journal = Journal(max_entries=10)
    for i in range(200):
        ids = tuple(f"i-{i}-{n}" for n in range(20))
        journal.record(Hop.SENT, HttpExchange("GET", "/p", {}, None, "b", "t", ids), at=AT)
    # Each relink waits for as many ids again as it kept (a ring's worth: ten entries).
    assert relinks <= 20
    assert len(journal._conversations) <= 2 * 10 * 20 + 20  # still bounded by the ring's
    assert [e.seq for e in journal.entries(correlation_id="i-199-7")] == [200]
