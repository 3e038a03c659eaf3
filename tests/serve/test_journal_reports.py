"""What tpsim reports of its traffic (journal, live stream) where it was wrong, each found
by driving a served tpsim; all fixed:

- Forgetting old ids (``Conversations.relink``) also forgot links between ids still in the
  ring: hops of a transfer no longer found by their own ``conversation``.
- Linking an account that is already linked merged the new consent's conversation with
  the old one through the ALS's ``/participants/THIRD_PARTY_LINK/{address}`` path id (now
  a tag: the ALS's hops join a consent's conversation by the consentId its DFSP names).
- A refused PSD2 request whose body ``json.loads`` accepts but JSON has not (``NaN``, or
  nested hundreds deep) is journaled as that body: ``GET /admin/journal`` then answers 500
  (or ``NaN``, not JSON), the live stream breaks, the JSONL line is not JSON.
- A filtered live stream dropped for slowness names a ``since`` past an entry it never
  sent (one a later message tied into the conversation): resuming there loses it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import MakeScheme
from tests.serve.test_live import stream
from tests.serve.test_xs2a import PAYMENTS, headers
from tests.support.flows import complete_transfer
from tests.support.linking import CAROL_CHEQUING, admin, link, new_authenticator, uid
from tests.support.scheme import Scheme
from tpsim.journal import Hop, JournalEntry
from tpsim.mojaloop.message import Message, make_headers
from tpsim.serve import live

AT = datetime(2030, 1, 1, tzinfo=UTC)


def strict_json(text: str) -> Any:
    """``text`` as JSON (RFC 8259): ``NaN`` and ``Infinity``, which Python accepts, refused."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


# --- conversations -------------------------------------------------------------------------


async def test_hops_stay_in_their_conversation_when_old_ids_are_forgotten(
    make_scheme: MakeScheme,
) -> None:
    # README (admin API): GET /admin/journal?correlationId= gives "every hop" of it, and the
    # log's `conversation` is "the id GET /admin/journal?correlationId= takes"; journal.py:
    # "a query by any id of a conversation finds all of it".
    scheme = await make_scheme(journal={"max_entries": 20})
    assert scheme.sim is not None
    journal = scheme.sim.journal
    lost: list[tuple[int, int, str]] = []

    def check(recorded: JournalEntry) -> None:
        for entry in journal.entries():
            name = entry.conversation
            if name and entry not in journal.entries(correlation_id=name):
                lost.append((recorded.seq, entry.seq, entry.path))

    journal.subscribe(check)
    # 13 hops and 5 new ids each: the journal forgets old ids (past 8 × 20) at the 33rd.
    for n in range(1, 41):
        await complete_transfer(scheme, f"{n:08d}-1111-4111-8111-111111111111", amount="1")
        await scheme.settle()
    assert lost == []


async def test_linking_an_account_again_is_a_conversation_of_its_own(scheme: Scheme) -> None:
    # README (live view): "click a correlation id … to watch only that transfer, payment or
    # consent"; journal_links.py: a consent "outlives every conversation" and never links
    # them; an account outlives its consents the same way.
    first_request, second_request = uid("first-link"), uid("second-link")
    first = await link(
        scheme, first_request, new_authenticator("GENERIC"), addresses=[CAROL_CHEQUING]
    )
    await scheme.settle()
    await link(scheme, second_request, new_authenticator("GENERIC"), addresses=[CAROL_CHEQUING])
    await scheme.settle()
    assert scheme.sim is not None
    second = scheme.sim.journal.entries(correlation_id=second_request)
    assert second, "the second linking is journaled"
    theirs = [e.seq for e in second if {first_request, first} & set(e.correlation_ids)]
    assert theirs == [], "the first linking's hops are not the second's"


async def test_each_linking_of_an_account_keeps_its_own_als_hops(scheme: Scheme) -> None:
    # Every hop of one linking is in its conversation (the ALS's answer too, though it names
    # only the address and an fspId); the first consent's unlinking stays in the first's;
    # the address finds every ALS hop of the account, and links none of them.
    first_request, second_request = uid("first-link"), uid("second-link")
    first = await link(
        scheme, first_request, new_authenticator("GENERIC"), addresses=[CAROL_CHEQUING]
    )
    await scheme.settle()
    status, _ = await admin(scheme, "POST", f"/admin/consents/{first}/revoke")
    assert status == 200
    await scheme.settle()
    second = await link(
        scheme, second_request, new_authenticator("GENERIC"), addresses=[CAROL_CHEQUING]
    )
    await scheme.settle()
    assert scheme.sim is not None
    journal = scheme.sim.journal
    als = f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"

    def als_hops(correlation_id: str) -> list[tuple[str, str, str]]:
        found = journal.entries(correlation_id=correlation_id)
        return [(e.method, e.source, e.destination or "") for e in found if e.path == als]

    registered = [("POST", "dfspa", "switch"), ("PUT", "switch", "dfspa")]
    removed = [("DELETE", "dfspa", "switch"), ("PUT", "switch", "dfspa")]
    assert als_hops(first_request) == als_hops(first) == registered + removed
    assert als_hops(second_request) == als_hops(second) == registered
    assert len(als_hops(f"THIRD_PARTY_LINK/{CAROL_CHEQUING}")) == 6
    ones = {e.conversation for e in journal.entries(correlation_id=first_request)}
    twos = {e.conversation for e in journal.entries(correlation_id=second_request)}
    assert len(ones) == len(twos) == 1 and ones != twos


# --- what a client sends never breaks the journal ----------------------------------------

DEEP = b'{"a":' + b"[" * 600 + b"]" * 600 + b"}"  # 1.2 kB: kept whole as a refused body
NAN = b'{"instructedAmount": NaN}'


async def refused_xs2a(scheme: Scheme, raw: bytes) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(scheme.url + PAYMENTS, data=raw, headers=headers()) as answer,
    ):
        assert answer.status == 400  # refused (FORMAT_ERROR), as it must be


async def test_a_refused_psd2_body_nested_deep_leaves_the_journal_readable(
    scheme: Scheme,
) -> None:
    # README (admin API): "A body not kept whole has body: null, body_truncated, body_bytes
    # and its first 4 kB in body_excerpt"; Journal.record: "a body that is not a JSON object
    # is kept only as that excerpt"; the stream sends each entry "as GET /admin/journal
    # gives it".
    await refused_xs2a(scheme, DEEP)
    async with (
        aiohttp.ClientSession() as http,
        http.get(scheme.url + "/admin/journal") as answer,
    ):
        assert answer.status == 200, await answer.text()
        (received, _) = (await answer.json())["entries"]
    assert received["body"] is None and received["body_excerpt"] == DEEP.decode()
    async with stream(scheme.url) as events:
        backlog = await events.until_live()
    assert [e["seq"] for e in backlog] == [1, 2]


async def test_a_refused_psd2_body_with_nan_is_journaled_as_json(
    make_scheme: MakeScheme, tmp_path: Path
) -> None:
    # README (config): `jsonl` "file to append every hop to" (JSON Lines); the stream's
    # `data:` is "the entry as GET /admin/journal gives it" (JSON, read by JSON.parse).
    sink = tmp_path / "journal.jsonl"
    scheme = await make_scheme(journal={"jsonl": str(sink)})
    await refused_xs2a(scheme, NAN)
    async with (
        aiohttp.ClientSession() as http,
        http.get(scheme.url + "/admin/journal") as answer,
    ):
        (received, _) = strict_json(await answer.text())["entries"]
    assert received["body"] is None and received["body_excerpt"] == NAN.decode()
    async with stream(scheme.url) as events:
        line = b""
        while not line.startswith(b"data: "):
            line = await events.response.content.readline()
    assert strict_json(line.decode().removeprefix("data: "))["seq"] == 1
    assert scheme.sim is not None
    scheme.sim.journal.close()  # writes what is queued
    assert [strict_json(text)["seq"] for text in sink.read_text().splitlines()] == [1, 2]


# --- the live stream -----------------------------------------------------------------------


async def test_a_filtered_stream_dropped_for_slowness_resumes_without_a_gap(
    scheme: Scheme, monkeypatch: pytest.MonkeyPatch
) -> None:
    # README (admin API): "A client more than 1000 entries behind gets event: dropped
    # {…, "since"} and the stream ends (reconnect with that since)"; live.py: "reconnect
    # with since and the ring still holds the rest".
    monkeypatch.setattr(live, "QUEUE_ENTRIES", 3)
    assert scheme.sim is not None
    target = scheme.sim.journal
    mojaloop = make_headers({"FSPIOP-Source": "pispa", "FSPIOP-Destination": "dfspa"})

    def hop(**body: str) -> JournalEntry:
        return target.record(Hop.DELIVERED, Message("PUT", "/x", mojaloop, body), at=AT)

    async with stream(scheme.url, correlationId="tr-1") as events:
        assert await events.until_live() == []
        quote = hop(quoteId="q-1")  # not (yet) the watched conversation's
        own = hop(transactionRequestId="tr-1")
        assert [e["seq"] for e in await events.entries(1)] == [own.seq]
        # All at once (the stream's task cannot run in between): the quote is tied in.
        hop(transactionRequestId="tr-1", quoteId="q-1")
        for _ in range(3):
            hop(transactionRequestId="tr-1")
        dropped = await events.next()
        assert dropped is not None and dropped.event == "dropped"
    async with stream(scheme.url, correlationId="tr-1", since=dropped.data["since"]) as events:
        resumed = await events.until_live()
    seen = {own.seq} | {e["seq"] for e in resumed}
    assert quote.seq in seen
    assert seen == {e.seq for e in target.entries(correlation_id="tr-1")}
