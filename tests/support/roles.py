"""Socket-free role tests: a scheme's roles built from config, fed messages, read back.

Hypercorn tests its protocols this way: no server, no PISP, a manual clock. ``Roles``
builds every simulated participant of the built-in default config (plus overrides) the way
``serve.simulation.Simulation`` does, but without a router: a test hands one role a message
and asserts on the ``Effects`` it returns (messages, timers) and on the scheme's state.

    roles = Roles.build()
    effects = roles.dfsp("dfspa").handle(roles.message("POST", TX, body, source="pispa"))
    assert [m.path for m in effects.messages] == [f"{TX}/{ID}", "/quotes"]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tpsim.config import Config, load_config, overlay, parse_config
from tpsim.core.clock import ManualClock, SequentialIds
from tpsim.core.payment import PaymentIntent, Payments
from tpsim.core.sca import Authentication, ScaEvent, ScaMethod
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.roles.common import new_message
from tpsim.serve.simulation import Simulation

START = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class Roles:
    """The simulated participants of one scheme, with its state, clock and ids."""

    sim: Simulation
    clock: ManualClock

    @classmethod
    def build(cls, **overrides: Any) -> Roles:
        """The built-in default config with ``overrides`` (a config overlay) applied."""
        data = overlay(load_config().model_dump(mode="json"), overrides)
        clock = ManualClock(START)
        return cls(Simulation(parse_config(data), clock=clock, ids=SequentialIds()), clock)

    @property
    def config(self) -> Config:
        return self.sim.config

    def role(self, fsp_id: str) -> Any:
        """The simulated role registered as ``fsp_id`` (a DFSP, the auth-service, the hub)."""
        participant = self.sim.router.registry.get(fsp_id)
        assert participant is not None and hasattr(participant, "role"), fsp_id
        return participant.role

    def message(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        source: str,
        destination: str | None = None,
    ) -> Message:
        """A message as a participant sends it (route matched, dated by the clock)."""
        return new_message(
            method, path, source=source, destination=destination, body=body, now=self.clock.now()
        )

    def send(
        self,
        to: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        source: str,
    ) -> Effects:
        """Hand ``to``'s role a message from ``source``; its effects."""
        message = self.message(method, path, body, source=source, destination=to)
        result: Effects = self.role(to).handle(message)
        return result

    def balance(self, address: str) -> str:
        return format(self.sim.state.bank.ledger.available(address), "f")


def executing(
    payments: Payments,
    intent_id: str,
    *,
    debtor: str,
    creditor: str,
    amount: str,
    currency: str = "USD",
    at: datetime | None = None,
) -> PaymentIntent:
    """A payment taken through the core API as a dialect takes one (received, its user's
    strong authentication proved, executed): EXECUTING, its debit reserved, ready for the
    settlement port."""
    payments.receive(
        PaymentIntent(intent_id, debtor, creditor, Decimal(amount), currency, created_at=at)
    )
    payments.start_sca(intent_id, Authentication())
    payments.authenticate(intent_id, ScaEvent.SUBMIT, method=ScaMethod.OTP, at=at)
    payments.authenticate(intent_id, ScaEvent.PROVE, at=at)
    return payments.execute(intent_id, at=at)
