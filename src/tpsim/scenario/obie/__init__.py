"""UK Open Banking's scenario actions: a built-in TPP (and its PSU) of the simulated banks'
payment initiation API, v3.1 and v4.0, and their OAuth 2.0 servers. Parameters in
``params.py``; what each action sends in ``actions.py``, the PSU at the bank in
``psu.py``, over the client in ``client.py`` (headers, tokens, what the TPP remembers);
registered here under ``obie.NAME``."""

from __future__ import annotations

from pydantic import BaseModel

from tpsim.scenario.obie import actions as a
from tpsim.scenario.obie import params as p
from tpsim.scenario.obie import psu
from tpsim.scenario.registry import ActionRegistry, Handler

DIALECT = "obie"

# In the order docs/scenarios.md lists them (and the JSON Schema).
ACTIONS: list[tuple[str, type[BaseModel], Handler]] = [
    ("token", p.Token, a.token),
    ("create_consent", p.CreateConsent, a.create_consent),
    ("get_consent", p.GetConsent, a.get_consent),
    ("authorise", p.AuthoriseConsent, psu.authorise),
    ("decide", p.DecideConsent, psu.decide),
    ("funds", p.Funds, a.funds),
    ("pay", p.Pay, a.pay),
    ("get_payment", p.GetDomesticPayment, a.get_payment),
    ("payment_details", p.PaymentDetails, a.payment_details),
    ("request", p.UkRequest, a.request),
]


def register(registry: ActionRegistry) -> None:
    """Add UK Open Banking's actions to ``registry`` (under ``obie.NAME`` only)."""
    for name, params, run in ACTIONS:
        registry.add(name, params, run, dialect=DIALECT)
