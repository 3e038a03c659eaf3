"""Which callbacks a waiting ``/sdk`` party lookup takes (``SdkLookups.claim``), without
sockets: only the ``PUT /parties`` (or ``…/error``) of the party it waits for, destined to
its PISP, one waiting lookup per callback, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.common import new_message
from tpsim.serve import sdk
from tpsim.serve.sdk import SdkLookups

NOW = datetime(2030, 1, 1, tzinfo=UTC)
BOB = ("pispa", "MSISDN", "16135551212", None)
PARTY: dict[str, Any] = {
    "party": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "16135551212"}}
}
ERROR: dict[str, Any] = {"errorInformation": {"errorCode": "3204", "errorDescription": "x"}}


def put(path: str, body: dict[str, Any], to: str = "pispa") -> Message:
    return new_message("PUT", path, source="dfspb", destination=to, body=body, now=NOW)


@pytest.mark.parametrize(
    ("to", "message", "taken"),
    [
        ("pispa", put("/parties/MSISDN/16135551212", PARTY), True),
        ("pispa", put("/parties/MSISDN/16135551212/error", ERROR), True),
        ("pispb", put("/parties/MSISDN/16135551212", PARTY, to="pispb"), False),
        ("pispa", put("/parties/MSISDN/16135551213", PARTY), False),
        ("pispa", put("/parties/EMAIL/16135551212", PARTY), False),
        ("pispa", put("/parties/MSISDN/16135551212/home", PARTY), False),
        ("pispa", put("/accounts/16135551212", {"accounts": []}), False),
        (
            "pispa",
            new_message(
                "GET",
                "/parties/MSISDN/16135551212",
                source="x",
                destination=None,
                body=None,
                now=NOW,
            ),
            False,
        ),
    ],
)
async def test_only_the_callback_of_the_party_a_lookup_waits_for_is_taken(
    to: str, message: Message, taken: bool
) -> None:
    lookups = SdkLookups()
    waiting = lookups.wait(BOB)

    assert lookups.claim(to, message) is taken
    assert waiting.done() is taken


async def test_each_callback_answers_one_lookup_oldest_first() -> None:
    lookups = SdkLookups()
    first, second = lookups.wait(BOB), lookups.wait(BOB)
    found = put("/parties/MSISDN/16135551212", PARTY)
    missing = put("/parties/MSISDN/16135551212/error", ERROR)

    assert lookups.claim("pispa", found)
    assert (first.result(), second.done()) == (found, False)
    assert lookups.claim("pispa", missing)
    assert second.result() == missing
    assert not lookups.claim("pispa", found)  # nobody waits any more: it is sent as usual


async def test_a_lookup_that_stopped_waiting_takes_nothing() -> None:
    lookups = SdkLookups()
    gone = lookups.wait(BOB)
    lookups.forget(BOB, gone)

    assert not lookups.claim("pispa", put("/parties/MSISDN/16135551212", PARTY))


async def test_a_timed_out_lookup_not_yet_forgotten_leaves_the_callback_to_the_next() -> None:
    lookups = SdkLookups()
    timed_out, next_one = lookups.wait(BOB), lookups.wait(BOB)
    timed_out.set_exception(TimeoutError())  # its handler has not run ``forget`` yet
    found = put("/parties/MSISDN/16135551212", PARTY)

    assert lookups.claim("pispa", found)
    assert next_one.result() == found
    timed_out.exception()  # retrieved: no "never retrieved" warning


async def test_past_its_bound_a_lookup_is_refused_rather_than_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sdk, "MAX_WAITING", 2)
    lookups = SdkLookups()
    for _ in range(2):
        lookups.wait(BOB)

    with pytest.raises(sdk.Refused) as refused:
        lookups.wait(BOB)
    assert (refused.value.status, refused.value.code) == (503, "2003")
