"""STET's scenario actions: a built-in PISP (and its PSU) of the simulated banks' STET
payment initiation API (1.4.2) and their OAuth 2.0 servers. Parameters in ``params.py``;
what each action sends in ``actions.py``, the PSU at the bank in ``psu.py``, over the
client in ``client.py`` (headers, tokens, what the PISP remembers); the conformance
checks of an external PISP's STET requests and of tpsim's STET answers in
``conformance.py``; registered here under ``stet.NAME``."""

from __future__ import annotations

from pydantic import BaseModel

from tpsim.scenario.registry import ActionRegistry, Handler
from tpsim.scenario.stet import actions as a
from tpsim.scenario.stet import params as p
from tpsim.scenario.stet import psu

DIALECT = "stet"

# In the order docs/scenarios.md lists them (and the JSON Schema).
ACTIONS: list[tuple[str, type[BaseModel], Handler]] = [
    ("token", p.StetToken, a.token),
    ("create_payment_request", p.CreatePaymentRequest, a.create_payment_request),
    ("approve", p.StetApprove, psu.approve),
    ("authorize", p.StetAuthorize, psu.authorize),
    ("decide", p.StetDecide, psu.decide),
    ("get", p.GetPaymentRequest, a.get),
    ("confirm", p.StetConfirm, a.confirm),
    ("o_confirm", p.StetOConfirm, a.o_confirm),
    ("cancel", p.StetCancel, a.cancel),
    ("request", p.StetRequest, a.request),
]


def register(registry: ActionRegistry) -> None:
    """Add STET's actions to ``registry`` (under ``stet.NAME`` only)."""
    for name, params, run in ACTIONS:
        registry.add(name, params, run, dialect=DIALECT)
