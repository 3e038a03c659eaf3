"""The switch's decisions, without a socket or an event loop (``mojaloop.switch``).

Each table row is a message (and, for ``settle``, what its transport reported) and the
steps the switch decides, summarised as tuples: who gets it, what is journaled, who is
told of a failure and with which FSPIOP code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tpsim.config_participants import Kind
from tpsim.config_settings import Profile
from tpsim.core.clock import ManualClock
from tpsim.core.errors import KeyReused, StateRefused
from tpsim.journal import Hop
from tpsim.mojaloop.errors import InsufficientFunds, PartyNotFound
from tpsim.mojaloop.message import Effects, Message, Timer
from tpsim.mojaloop.registry import External, Registry, Simulated
from tpsim.mojaloop.roles.common import new_message
from tpsim.mojaloop.steps import (
    Answered,
    Apply,
    Deliver,
    DeliveryResult,
    ErrorCallback,
    Handled,
    Raised,
    Record,
    Step,
    Unanswered,
    Unreachable,
)
from tpsim.mojaloop.switch import Switch
from tpsim.mojaloop.wire import headers as wire_headers

START = datetime(2030, 1, 1, tzinfo=UTC)
HUB = "switch"
PISP_URL = "http://pisp.example:5000"
TX = "/thirdpartyRequests/transactions/b51ec534-ee48-4575-b6a9-ead2955b8069"
PARTY = "/parties/MSISDN/16135551212"


@dataclass
class Idle:
    """A simulated role the switch never calls (it only decides; transports deliver)."""

    fsp_id: str

    def handle(self, message: Message) -> Effects:
        raise AssertionError("the switch must not deliver")

    def on_timer(self, key: str) -> Effects:
        raise AssertionError("the switch must not fire timers")


def make_switch(profile: Profile = Profile.SPEC) -> Switch:
    registry = Registry()
    registry.add(Simulated(HUB, Kind.HUB, Idle(HUB)))
    registry.add(Simulated("dfspa", Kind.DFSP, Idle("dfspa")))
    registry.add(External("pispa", Kind.PISP, PISP_URL))
    return Switch(registry, HUB, ManualClock(START), profile)


def msg(
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    source: str = "pispa",
    to: str | None = "dfspa",
) -> Message:
    return new_message(method, path, source=source, destination=to, body=body, now=START)


def summary(steps: list[Step]) -> list[tuple[Any, ...]]:
    """Each step as a short tuple a table can spell out."""
    out: list[tuple[Any, ...]] = []
    for step in steps:
        match step:
            case Deliver(participant, message):
                out.append(("deliver", participant.fsp_id, message.method, message.path))
            case Record(hop, _, _, status, _, error):
                out.append(("record", hop, status, error))
            case Apply(fsp_id, _):
                out.append(("apply", fsp_id))
            case ErrorCallback(callback):
                code = (callback.body or {})["errorInformation"]["errorCode"]
                out.append(("callback", callback.path, callback.source, callback.destination, code))
            case Unanswered(_, error, reason):
                out.append(("unanswered", reason, error.code))
    return out


# --- route: where a message goes -------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(msg("GET", TX), ("dfspa", "GET", TX), id="simulated destination"),
        pytest.param(
            msg("PUT", PARTY, {}, source="dfspa", to="pispa"),
            ("pispa", "PUT", PARTY),
            id="external destination",
        ),
        pytest.param(msg("GET", PARTY, to=None), (HUB, "GET", PARTY), id="no destination: hub"),
        pytest.param(
            msg("GET", "/services/PISP", to=None),
            (HUB, "GET", "/services/PISP"),
            id="services: hub",
        ),
    ],
)
def test_a_known_destination_is_delivered_to(message: Message, expected: tuple[str, ...]) -> None:
    assert summary(make_switch().route(message)) == [("deliver", *expected)]


def test_a_simulated_participant_gets_the_message_as_sent() -> None:
    message = msg("PUT", TX, {}, source="pispa", to="dfspa")
    [step] = make_switch().route(message)
    assert isinstance(step, Deliver)
    assert step.message is message


def test_an_external_participant_gets_the_switch_header_transform() -> None:
    sent = msg("PUT", PARTY, {}, source="dfspa", to="pispa")
    [step] = make_switch().route(sent)

    assert isinstance(step, Deliver)
    forwarded = wire_headers.forward_headers(sent.headers, "PUT", START, hub_name=HUB)
    assert dict(step.message.headers) == forwarded
    assert "Accept" not in step.message.headers  # dropped on PUT (§3.2)
    assert step.message.source == "dfspa"
    assert step.message.destination == "pispa"
    assert (step.message.path, step.message.body) == (sent.path, sent.body)


UNKNOWN = "unknown destination 'nobody'"


@pytest.mark.parametrize(
    ("message", "follow_up"),
    [
        pytest.param(
            msg("GET", TX, to="nobody"),
            ("callback", f"{TX}/error", HUB, "pispa", "3201"),
            id="answered by the hub with 3201",
        ),
        pytest.param(
            msg("GET", TX, source="stranger", to="nobody"),
            ("unanswered", "the source is not a participant", "3201"),
            id="source unknown: nobody to tell",
        ),
        pytest.param(
            msg("PUT", f"{TX}/error", {}, to="nobody"),
            ("unanswered", "no error callback applies", "3201"),
            id="an error callback is never answered",
        ),
    ],
)
def test_an_unknown_destination_is_dropped(message: Message, follow_up: tuple[str, ...]) -> None:
    steps = make_switch().route(message)
    assert summary(steps) == [("record", Hop.DROPPED, None, UNKNOWN), follow_up]
    assert isinstance(steps[0], Record) and steps[0].message is message


def test_the_drop_is_journaled_with_the_path_id() -> None:
    [dropped, _] = make_switch().route(msg("GET", TX, to="nobody"))
    assert isinstance(dropped, Record)
    assert dropped.path_id == TX.rsplit("/", 1)[1]


# --- settle: what follows a delivery ---------------------------------------------------

EFFECTS = Effects(timers=[Timer("expiry", START)])
REFUSED = StateRefused("transaction request", "COMPLETED", "put", final=True)


@pytest.mark.parametrize(
    ("to", "message", "result", "expected"),
    [
        pytest.param(
            "dfspa",
            msg("GET", TX),
            Handled(EFFECTS),
            [("record", Hop.DELIVERED, 202, None), ("apply", "dfspa")],
            id="role handled: its effects",
        ),
        pytest.param(
            "dfspa",
            msg("PUT", TX, {}),
            Handled(Effects()),
            [("record", Hop.DELIVERED, 200, None), ("apply", "dfspa")],
            id="role handled a PUT: the route's sync status",
        ),
        pytest.param(
            "dfspa",
            msg("GET", TX),
            Raised(PartyNotFound("no party")),
            [
                ("record", Hop.DELIVERED, 202, "no party"),
                ("callback", f"{TX}/error", "dfspa", "pispa", "3204"),
            ],
            id="role raised: its callback, from the role",
        ),
        pytest.param(
            "dfspa",
            msg("GET", TX),
            Raised(KeyReused("b51ec534")),
            [
                (
                    "record",
                    Hop.DELIVERED,
                    202,
                    "b51ec534 was already used for a different request; use a new id",
                ),
                ("callback", f"{TX}/error", "dfspa", "pispa", "3106"),
            ],
            id="role raised a neutral refusal: coded",
        ),
        pytest.param(
            "dfspa",
            msg("PUT", TX, {}),
            Raised(REFUSED),
            [
                ("record", Hop.DELIVERED, 200, str(REFUSED)),
                ("callback", f"{TX}/error", "dfspa", "pispa", "3000"),
            ],
            id="role's state refused",
        ),
        pytest.param(
            "dfspa",
            msg("PUT", f"{TX}/error", {}),
            Raised(PartyNotFound("no party")),
            [
                ("record", Hop.DELIVERED, 200, "no party"),
                ("unanswered", "no error callback applies", "3204"),
            ],
            id="role raised on an error callback: never answered",
        ),
        pytest.param(
            "pispa",
            msg("PUT", TX, {}, source="dfspa", to="pispa"),
            Answered(200, 3.5),
            [("record", Hop.SENT, 200, None)],
            id="2xx: done",
        ),
        pytest.param(
            "pispa",
            msg("GET", TX, source="dfspa", to="pispa"),
            Answered(202),
            [("record", Hop.SENT, 202, None)],
            id="202: done",
        ),
        pytest.param(
            "pispa",
            msg("PUT", TX, {}, source="dfspa", to="pispa"),
            Answered(400, body="bad"),
            [("record", Hop.SENT, 400, None), ("callback", f"{TX}/error", HUB, "dfspa", "3000")],
            id="4xx: the hub's 3000",
        ),
        pytest.param(
            "pispa",
            msg("PUT", TX, {}, source="dfspa", to="pispa"),
            Answered(404),
            [("record", Hop.SENT, 404, None), ("callback", f"{TX}/error", HUB, "dfspa", "3000")],
            id="404: the hub's 3000",
        ),
        pytest.param(
            "pispa",
            msg("PUT", TX, {}, source="dfspa", to="pispa"),
            Answered(500, body="boom"),
            [("record", Hop.SENT, 500, None), ("callback", f"{TX}/error", HUB, "dfspa", "1001")],
            id="5xx: the hub's 1001",
        ),
        pytest.param(
            "pispa",
            msg("PUT", TX, {}, source="dfspa", to="pispa"),
            Answered(302),
            [("record", Hop.SENT, 302, None), ("callback", f"{TX}/error", HUB, "dfspa", "1001")],
            id="3xx: the hub's 1001",
        ),
        pytest.param(
            "pispa",
            msg("PUT", TX, {}, source="dfspa", to="pispa"),
            Unreachable("cannot reach it", 10.0),
            [
                ("record", Hop.SENT, None, "cannot reach it"),
                ("callback", f"{TX}/error", HUB, "dfspa", "1001"),
            ],
            id="connection error: the hub's 1001",
        ),
        pytest.param(
            "pispa",
            msg("PUT", f"{TX}/error", {}, source="dfspa", to="pispa"),
            Answered(500),
            [("record", Hop.SENT, 500, None), ("unanswered", "no error callback applies", "1001")],
            id="an error callback that failed: never answered",
        ),
        pytest.param(
            "pispa",
            msg("PUT", TX, {}, source="stranger", to="pispa"),
            Unreachable("timed out"),
            [
                ("record", Hop.SENT, None, "timed out"),
                ("unanswered", "the source is not a participant", "1001"),
            ],
            id="source unknown: nobody to tell",
        ),
    ],
)
def test_settle(to: str, message: Message, result: DeliveryResult, expected: list[Any]) -> None:
    switch = make_switch()
    participant = switch.registry.get(to)
    assert participant is not None
    assert summary(switch.settle(Deliver(participant, message), result)) == expected


def settle_one(message: Message, result: DeliveryResult, *, to: str = "pispa") -> list[Step]:
    switch = make_switch()
    participant = switch.registry.get(to)
    assert participant is not None
    return switch.settle(Deliver(participant, message), result)


def callback_text(steps: list[Step]) -> str:
    callback = steps[-1]
    assert isinstance(callback, ErrorCallback)
    text: str = (callback.message.body or {})["errorInformation"]["errorDescription"]
    return text


@pytest.mark.parametrize(
    ("result", "text"),
    [
        (Answered(400, body="bad"), "pispa answered 400: bad"),
        (Answered(503), "pispa answered 503"),  # nothing said: no dangling colon
        (Unreachable("connection refused"), f"pispa at {PISP_URL}: connection refused"),
    ],
)
def test_the_hub_says_what_the_destination_did(result: DeliveryResult, text: str) -> None:
    steps = settle_one(msg("PUT", TX, {}, source="dfspa", to="pispa"), result)
    assert callback_text(steps) == text


def test_a_remote_answer_is_journaled_with_its_duration() -> None:
    [sent] = settle_one(msg("PUT", TX, {}, source="dfspa", to="pispa"), Answered(200, 12.5))
    assert isinstance(sent, Record)
    assert (sent.duration_ms, sent.path_id) == (12.5, TX.rsplit("/", 1)[1])


def test_handled_effects_are_passed_on_untouched() -> None:
    [_, apply] = settle_one(msg("GET", TX), Handled(EFFECTS), to="dfspa")
    assert apply == Apply("dfspa", EFFECTS)


def test_the_profile_picks_the_code_of_the_callback() -> None:
    switch = make_switch(Profile.REFERENCE)
    dfspa = switch.registry.get("dfspa")
    assert dfspa is not None
    steps = switch.settle(Deliver(dfspa, msg("GET", TX)), Raised(InsufficientFunds()))
    assert summary(steps)[-1] == ("callback", f"{TX}/error", "dfspa", "pispa", "7101")


def test_reject_is_from_the_hub_unless_a_sender_is_named() -> None:
    switch = make_switch()
    message = msg("GET", TX)
    assert summary(switch.reject(message, PartyNotFound())) == [
        ("callback", f"{TX}/error", HUB, "pispa", "3204")
    ]
    assert summary(switch.reject(message, PartyNotFound(), sender="dfspa")) == [
        ("callback", f"{TX}/error", "dfspa", "pispa", "3204")
    ]


def test_nobody_answers_their_own_message() -> None:
    steps = make_switch().reject(msg("GET", TX, source="dfspa"), PartyNotFound(), sender="dfspa")
    assert summary(steps) == [("unanswered", "no error callback applies", "3204")]


# --- the hub's checks of a transfer (central-ledger's prepare validation) ---------------

TRANSFER_ID = "0b6a0bdf-1c1a-4c1e-8d2a-3f6e1a2b4c5d"
MISMATCH = "FSPIOP-Source header should match Payer"


def prepare(source: str, payer: str, payee: str = "dfspa") -> Message:
    body = {
        "transferId": TRANSFER_ID,
        "payerFsp": payer,
        "payeeFsp": payee,
        "amount": {"currency": "USD", "amount": "500"},
        "ilpPacket": "AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3AxLm1lci45T2RTOF91bRBjxE",
        "condition": "f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA",
        "expiration": "2030-01-01T00:01:00.000Z",
    }
    return msg("POST", "/transfers", body, source=source, to=payee)


def with_external_dfsp() -> Switch:
    switch = make_switch()
    switch.registry.add(External("dfspx", Kind.DFSP, "http://dfspx.example:4000"))
    return switch


@pytest.mark.parametrize(
    ("source", "payer", "why"),
    [
        pytest.param("pispa", "pispa", "pispa is a pisp", id="a PISP paying"),
        pytest.param("pispa", "dfspx", MISMATCH, id="PISP as DFSP"),
        pytest.param("dfspx", "dfspa", MISMATCH, id="DFSP as DFSP"),
    ],
)
def test_a_transfer_not_from_its_payer_dfsp_is_refused(source: str, payer: str, why: str) -> None:
    # Delivered, the payee DFSP would credit its party on the quote's condition while no
    # payer is debited: money from nothing (central-ledger refuses it, 3100).
    steps = with_external_dfsp().route(prepare(source, payer))
    [dropped, callback] = summary(steps)
    assert dropped[:3] == ("record", Hop.DROPPED, None) and why in dropped[3]
    assert callback == ("callback", f"/transfers/{TRANSFER_ID}/error", HUB, source, "3100")


def test_a_transfer_from_its_payer_dfsp_is_delivered() -> None:
    steps = with_external_dfsp().route(prepare("dfspx", "dfspx"))
    assert summary(steps) == [("deliver", "dfspa", "POST", "/transfers")]
