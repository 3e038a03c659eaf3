"""The router drives the switch without a socket: ``Recording`` transports stand in for
the external PISP (httpx's ``MockTransport``), simulated roles run in-process, and the
journal shows every hop as the switch decided it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.scheme import in_process
from tpsim.config_participants import Kind
from tpsim.core.clock import ManualClock
from tpsim.journal import Hop, Journal, JournalEntry
from tpsim.mojaloop.message import Effects, Message, Timer, make_headers
from tpsim.mojaloop.registry import External, Participant, Registry, Simulated
from tpsim.mojaloop.roles.common import new_message
from tpsim.mojaloop.steps import Answered, DeliveryResult, Unreachable
from tpsim.mojaloop.switch import Switch
from tpsim.serve.router import Router
from tpsim.serve.simulation import Simulation
from tpsim.serve.transports import Recording, Transport, Transports

START = datetime(2030, 1, 1, tzinfo=UTC)
BOB = "/parties/MSISDN/16135551212"
CR = "/consentRequests/6ee8b8a5-2a1c-4e3b-9b3e-4a6d0f6d2a11"


def simulation(pisp: Recording) -> Simulation:
    """The built-in default scheme, its external PISP replaced by ``pisp``."""
    return in_process(pisp, START)


def from_pisp(method: str, path: str, to: str | None = None) -> Message:
    return new_message(method, path, source="pispa", destination=to, body=None, now=START)


def hops(journal: Journal) -> list[tuple[Any, ...]]:
    return [_hop(e) for e in journal.entries()]


def _hop(e: JournalEntry) -> tuple[Any, ...]:
    return (e.hop, e.method, e.path, e.source, e.destination, e.status, e.error)


def code(message: Message) -> str:
    value: str = (message.body or {})["errorInformation"]["errorCode"]
    return value


# --- through the default scheme ----------------------------------------------------------


async def test_a_party_lookup_goes_through_the_als_to_the_pisp() -> None:
    pisp = Recording()
    sim = simulation(pisp)

    await sim.router.send(from_pisp("GET", BOB))

    assert hops(sim.journal) == [
        (Hop.DELIVERED, "GET", BOB, "pispa", None, 202, None),
        (Hop.DELIVERED, "GET", BOB, "pispa", "dfspb", 202, None),
        (Hop.SENT, "PUT", BOB, "dfspb", "pispa", 202, None),
    ]
    [put] = pisp.received
    assert put.body is not None and put.body["party"]["partyIdInfo"]["fspId"] == "dfspb"
    assert "Accept" not in put.headers  # the switch's header transform (PUT)
    assert sim.journal.entries()[-1].headers == dict(put.headers)


async def test_a_role_error_is_called_back_from_the_role() -> None:
    pisp = Recording()
    sim = simulation(pisp)

    await sim.router.send(from_pisp("GET", "/parties/MSISDN/19995550000"))

    [error] = pisp.received
    assert (error.path, error.source, code(error)) == (
        "/parties/MSISDN/19995550000/error",
        "switch",
        "3204",
    )
    assert [(e.hop, e.status, e.error) for e in sim.journal.entries()] == [
        (Hop.DELIVERED, 202, "no DFSP has registered MSISDN 19995550000"),
        (Hop.SENT, 202, None),
    ]


async def test_an_unknown_destination_is_dropped_and_answered_by_the_hub() -> None:
    pisp = Recording()
    sim = simulation(pisp)

    await sim.router.send(from_pisp("GET", CR, to="nobody"))

    assert hops(sim.journal) == [
        (Hop.DROPPED, "GET", CR, "pispa", "nobody", None, "unknown destination 'nobody'"),
        (Hop.SENT, "PUT", f"{CR}/error", "switch", "pispa", 202, None),
    ]
    assert [code(m) for m in pisp.received] == ["3201"]


async def test_a_failing_pisp_gets_the_dfsp_a_1001_from_the_hub() -> None:
    pisp = Recording(lambda _: Answered(500, 1.0, "down"))
    sim = simulation(pisp)

    await sim.router.send(from_pisp("GET", BOB))

    # dfspb takes the switch's error callback about its own message quietly (issue 15).
    assert hops(sim.journal)[2:] == [
        (Hop.SENT, "PUT", BOB, "dfspb", "pispa", 500, None),
        (Hop.DELIVERED, "PUT", f"{BOB}/error", "switch", "dfspb", 200, None),
    ]
    assert len(pisp.received) == 1
    callback = sim.journal.entries()[-1]
    assert callback.body is not None
    assert callback.body["errorInformation"] == {
        "errorCode": "1001",
        "errorDescription": "pispa answered 500: down",
    }


async def test_an_unreachable_pisp_is_reported_as_1001() -> None:
    sim = simulation(Recording(lambda _: Unreachable("cannot reach it", 2.0)))

    await sim.router.send(from_pisp("GET", BOB))

    sent, callback = sim.journal.entries()[2:]
    assert (sent.hop, sent.status, sent.error, sent.duration_ms) == (
        Hop.SENT,
        None,
        "cannot reach it",
        2.0,
    )
    assert callback.body is not None
    assert callback.body["errorInformation"]["errorCode"] == "1001"
    assert callback.body["errorInformation"]["errorDescription"].endswith(": cannot reach it")


async def test_a_bug_in_a_role_is_answered_by_the_hub_with_2001() -> None:
    pisp = Recording()
    http = Transports(lambda _: pisp)

    def broken(_: Message) -> DeliveryResult:
        raise RuntimeError("a bug")

    def transports(participant: Participant) -> Transport:
        return Recording(broken) if participant.fsp_id == "dfspb" else http(participant)

    sim = simulation(pisp)
    sim.router.transports = transports

    await sim.router.send(from_pisp("GET", BOB))

    [error] = pisp.received
    assert (error.path, error.source, code(error)) == (f"{BOB}/error", "switch", "2001")


# --- effects and timers, with a scripted role ---------------------------------------------


@dataclass
class Scripted:
    """A simulated role that answers every message with ``effects`` and every timer with
    a message of its own, and remembers which timers fired."""

    fsp_id: str
    effects: Effects
    fired: list[str] = field(default_factory=list)

    def handle(self, message: Message) -> Effects:
        return self.effects

    def on_timer(self, key: str) -> Effects:
        self.fired.append(key)
        return Effects(messages=[note(f"/consentRequests/{key}")])


def note(path: str) -> Message:
    return new_message("PUT", path, source="dfspa", destination="pispa", body={}, now=START)


def scripted(effects: Effects) -> tuple[Router, Scripted, Recording, ManualClock]:
    clock, pisp = ManualClock(START), Recording()
    role = Scripted("dfspa", effects)
    registry = Registry()
    registry.add(Simulated("dfspa", Kind.DFSP, role))
    registry.add(External("pispa", Kind.PISP, "http://pisp.example"))
    router = Router(
        Switch(registry, "switch", clock), journal=Journal(), transports=Transports(lambda _: pisp)
    )
    return router, role, pisp, clock


def later(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


async def test_effects_are_applied_in_order_notes_first() -> None:
    oob = Message("SMS", "/users/alice", make_headers({"FSPIOP-Source": "dfspa"}), {"otp": "1"})
    router, _, pisp, _ = scripted(
        Effects(
            messages=[note("/consentRequests/1"), note("/consentRequests/2")], out_of_band=[oob]
        )
    )

    await router.send(from_pisp("GET", CR, to="dfspa"))

    assert [(e.hop, e.path) for e in router.journal.entries()] == [
        (Hop.DELIVERED, CR),
        (Hop.OUT_OF_BAND, "/users/alice"),
        (Hop.SENT, "/consentRequests/1"),
        (Hop.SENT, "/consentRequests/2"),
    ]
    assert [m.path for m in pisp.received] == ["/consentRequests/1", "/consentRequests/2"]


async def test_a_timer_fires_on_the_clock_and_its_effects_are_delivered() -> None:
    router, role, pisp, clock = scripted(Effects(timers=[Timer("t1", later(10))]))
    await router.send(from_pisp("GET", CR, to="dfspa"))

    clock.advance(9)
    await router.drain()
    assert role.fired == []

    clock.advance(1)
    await router.drain()
    assert role.fired == ["t1"]
    assert [m.path for m in pisp.received] == ["/consentRequests/t1"]


async def test_a_timer_with_the_same_key_replaces_the_earlier_one() -> None:
    router, role, _, clock = scripted(Effects(timers=[Timer("t1", later(10))]))
    await router.send(from_pisp("GET", CR, to="dfspa"))
    router.submit_effects("dfspa", Effects(timers=[Timer("t1", later(20))]))
    await router.drain()

    clock.advance(15)
    await router.drain()
    assert role.fired == []
    clock.advance(5)
    await router.drain()
    assert role.fired == ["t1"]


async def test_cancelled_timers_and_a_reloaded_scheme_fire_nothing() -> None:
    router, role, _, clock = scripted(
        Effects(timers=[Timer("t1", later(10)), Timer("t2", later(10))])
    )
    await router.send(from_pisp("GET", CR, to="dfspa"))
    router.submit_effects("dfspa", Effects(cancel=["t1"]))
    await router.drain()

    router.load(router.switch)
    clock.advance(10)
    await router.drain()
    assert role.fired == []
