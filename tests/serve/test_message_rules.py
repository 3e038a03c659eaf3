"""Message rules over real HTTP (config ``rules:``, issue 15): what a simulated participant
does about a message a rule matches, as an external PISP sees it and as the journal tells.

One rule per test, about the PISP's ``POST /consentRequests`` to the simulated dfspa (or,
for several answers, its ``POST /thirdpartyRequests/transactions``): an error callback with
the rule's code, a sync error, a delay the admin clock releases, a drop, a duplicate, a
reversed order, an override the OpenAPI allows, one it refuses, and one sent ``unchecked``.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.conftest import MakeScheme
from tests.support.flows import TX, request_transfer
from tests.support.linking import CAROL_CHEQUING, CONSENT_REQUESTS, consent_request, send
from tests.support.scheme import Scheme
from tpsim.journal import Hop, JournalEntry

REQUEST = "6988c34f-9e51-4a64-9e4c-bc5a7d2a0f11"
OTHER = "0f2b1c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
TX_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"
PUT_REQUEST = ("PUT", f"{CONSENT_REQUESTS}/{REQUEST}")
WHEN = {"method": "POST", "path": "/consentRequests", "body.consentRequestId": REQUEST}


def rules(*then: dict[str, Any], when: dict[str, Any] | None = None) -> dict[str, Any]:
    """Config overrides: one rule per ``then``, each about the consent request REQUEST."""
    return {
        "rules": [
            {"name": f"rule-{i}", "when": when or WHEN, "then": one} for i, one in enumerate(then)
        ]
    }


async def ask(scheme: Scheme, request_id: str = REQUEST) -> None:
    body = consent_request(scheme, request_id, "carol", [CAROL_CHEQUING])
    await send(scheme, "POST", CONSENT_REQUESTS, body)
    await scheme.settle()


def arrived(scheme: Scheme, method: str, path: str) -> list[dict[str, Any] | None]:
    return [r.body for r in scheme.pisp.received if (r.method, r.path) == (method, path)]


def hops(scheme: Scheme, rule: str) -> list[JournalEntry]:
    assert scheme.sim is not None
    return [e for e in scheme.sim.journal.entries() if e.rule == rule]


async def test_an_error_rule_answers_with_its_code_from_the_receiving_participant(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(**rules({"error": {"code": "7203", "text": "no channel for you"}}))
    await ask(scheme)

    error = await scheme.pisp.wait_for("PUT", f"{CONSENT_REQUESTS}/{REQUEST}/error")
    assert error.headers["FSPIOP-Source"] == "dfspa"
    assert error.body is not None
    info = error.body["errorInformation"]
    assert (info["errorCode"], info["errorDescription"]) == ("7203", "no channel for you")
    assert arrived(scheme, *PUT_REQUEST) == []
    delivered, sent = hops(scheme, "rule-0")
    assert (delivered.hop, delivered.method, delivered.path) == (
        Hop.DELIVERED,
        "POST",
        CONSENT_REQUESTS,
    )
    assert delivered.error == "refused by rule rule-0: 7203"
    assert (sent.hop, sent.path) == (Hop.SENT, f"{CONSENT_REQUESTS}/{REQUEST}/error")


async def test_an_error_rule_under_the_reference_profile_uses_mojaloops_text(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(behaviour={"profile": "reference"}, **rules({"error": 7203}))
    await ask(scheme)

    error = await scheme.pisp.wait_for("PUT", f"{CONSENT_REQUESTS}/{REQUEST}/error")
    assert error.body == {
        "errorInformation": {
            "errorCode": "7203",
            "errorDescription": "FSP does not support any requested authentication channels",
        }
    }


async def test_a_message_the_rule_does_not_match_is_handled_as_usual(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(**rules({"error": 7203}))
    await ask(scheme, OTHER)

    assert arrived(scheme, "PUT", f"{CONSENT_REQUESTS}/{OTHER}")
    assert hops(scheme, "rule-0") == []


async def test_a_sync_error_rule_is_the_http_answer(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(**rules({"error": {"code": "3204", "sync": True}}))
    body = consent_request(scheme, REQUEST, "carol", [CAROL_CHEQUING])
    answer = await scheme.pisp.send("POST", CONSENT_REQUESTS, body, destination="dfspa")
    await scheme.settle()

    assert answer.status == 404
    assert answer.body is not None
    assert answer.body["errorInformation"]["errorCode"] == "3204"
    assert answer.body["errorInformation"]["errorDescription"] == "Party not found"
    assert scheme.pisp.received == []
    [received] = hops(scheme, "rule-0")
    assert (received.hop, received.status) == (Hop.RECEIVED, 404)


async def test_a_delay_rule_holds_the_answer_until_the_clock_passes_it(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(**rules({"delay_s": 30}))
    await ask(scheme)
    assert arrived(scheme, *PUT_REQUEST) == []

    async with aiohttp.ClientSession() as session:
        async with session.post(f"{scheme.url}/admin/clock/advance", json={"seconds": 29}):
            pass
        await scheme.settle()
        assert arrived(scheme, *PUT_REQUEST) == []
        async with session.post(f"{scheme.url}/admin/clock/advance", json={"seconds": 1}):
            pass
    await scheme.settle()

    assert len(arrived(scheme, *PUT_REQUEST)) == 1
    assert [(e.hop, e.method) for e in hops(scheme, "rule-0")] == [
        (Hop.DELIVERED, "POST"),
        (Hop.SENT, "PUT"),
    ]


async def test_a_delayed_answer_is_forgotten_when_the_scheme_reloads(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(**rules({"delay_s": 30}))
    await ask(scheme)
    assert scheme.sim is not None
    scheme.sim.reset()
    scheme.advance(60)
    await scheme.settle()

    assert arrived(scheme, *PUT_REQUEST) == []


async def test_a_drop_rule_sends_nothing_and_journals_the_answer_as_dropped(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(**rules({"drop": True}))
    await ask(scheme)

    assert scheme.pisp.received == []
    delivered, dropped = hops(scheme, "rule-0")
    assert delivered.hop is Hop.DELIVERED
    assert (dropped.hop, dropped.method, dropped.path) == (Hop.DROPPED, *PUT_REQUEST)
    assert dropped.error == "dropped by rule rule-0"


async def test_a_duplicate_rule_sends_each_answer_again(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(**rules({"duplicate": 2}))
    await ask(scheme)

    first, *again = arrived(scheme, *PUT_REQUEST)
    assert again == [first, first]


async def test_a_reorder_rule_sends_the_answers_in_reverse(make_scheme: MakeScheme) -> None:
    when = {"method": "POST", "path": TX, "receiver": "dfspa"}
    scheme = await make_scheme(**rules({"reorder": True}, when=when))
    await request_transfer(scheme, TX_ID)
    await scheme.settle()

    assert scheme.sim is not None
    answers = [
        (e.method, e.path)
        for e in scheme.sim.journal.entries()
        if e.source == "dfspa" and e.rule == "rule-0" and e.hop is not Hop.RECEIVED
    ]
    # The payer DFSP answers a transaction request with a PATCH/PUT to the PISP, then the
    # quote to the payee DFSP; reversed, the quote leaves first.
    assert answers[0] == ("POST", "/quotes")
    assert answers[1][1] == f"{TX}/{TX_ID}"


async def test_an_override_the_openapi_allows_is_sent(make_scheme: MakeScheme) -> None:
    callback = "https://pisp.example/linked"
    scheme = await make_scheme(**rules({"override": {"body.callbackUri": callback}}))
    await ask(scheme)

    [body] = arrived(scheme, *PUT_REQUEST)
    assert body is not None and body["callbackUri"] == callback
    sent = next(e for e in hops(scheme, "rule-0") if e.hop is Hop.SENT)
    assert sent.error is None


async def test_an_override_that_breaks_the_openapi_is_not_sent(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(**rules({"override": {"body.authChannels[0]": "SMS"}}))
    await ask(scheme)

    [body] = arrived(scheme, *PUT_REQUEST)
    assert body is not None and body["authChannels"][0] in ("WEB", "OTP")
    sent = next(e for e in hops(scheme, "rule-0") if e.hop is Hop.SENT)
    assert sent.error is not None
    assert sent.error.startswith("override of rule rule-0 not sent: it breaks the OpenAPI")
    assert "authChannels" in sent.error


async def test_an_unchecked_override_is_sent_as_the_rule_says() -> None:
    # Not make_scheme: its teardown checks tpsim sent only OpenAPI-valid bodies, and this
    # rule says explicitly to send one that is not.
    then = {"override": {"body.authChannels[0]": "SMS"}, "unchecked": True}
    scheme = await Scheme(overrides=rules(then)).start()
    try:
        await ask(scheme)
        [body] = arrived(scheme, *PUT_REQUEST)
        assert body is not None and body["authChannels"][0] == "SMS"
    finally:
        await scheme.close()


async def test_the_journal_names_the_rule_in_its_json(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(**rules({"duplicate": 1}))
    await ask(scheme)

    assert scheme.sim is not None
    named = [e.to_json()["rule"] for e in scheme.sim.journal.entries()]
    assert named.count("rule-0") == 3  # the request delivered, its answer sent twice
    assert named[0] is None  # the request as received: no rule changed the edge's answer


async def test_a_rule_acts_once_on_a_lookup_the_als_passes_on_to_the_partys_dfsp(
    make_scheme: MakeScheme,
) -> None:
    bob = "/parties/MSISDN/16135551212"
    when = {"method": "GET", "path": "/parties/{Type}/{ID}"}  # matches at the ALS and at dfspb
    scheme = await make_scheme(**rules({"duplicate": 1}, when=when))
    await scheme.pisp.send("GET", bob)
    await scheme.settle()

    assert len(arrived(scheme, "PUT", bob)) == 2  # the answer and its one copy, not four
