"""XS2A's scenario actions: a built-in TPP (and its PSU) of the simulated banks' Berlin
Group NextGenPSD2 interface. Parameters in ``params.py``; what each action sends in
``actions.py``, the SCA it follows in ``sca.py``, over the client in ``client.py`` (headers,
what the TPP remembers); registered here under ``xs2a.NAME``."""

from __future__ import annotations

from pydantic import BaseModel

from tpsim.scenario.registry import ActionRegistry, Handler
from tpsim.scenario.xs2a import actions as a
from tpsim.scenario.xs2a import params as p
from tpsim.scenario.xs2a import sca

DIALECT = "xs2a"

# In the order docs/scenarios.md lists them (and the JSON Schema).
ACTIONS: list[tuple[str, type[BaseModel], Handler]] = [
    ("initiate", p.Initiate, a.initiate),
    ("authorise", p.Authorise, sca.authorise),
    ("start_authorisation", p.StartAuthorisation, a.start_authorisation),
    ("update_authorisation", p.UpdateAuthorisation, a.update_authorisation),
    ("get_authorisation", p.GetAuthorisation, a.get_authorisation),
    ("status", p.Status, a.status),
    ("get_payment", p.GetPayment, a.get_payment),
    ("cancel", p.Cancel, a.cancel),
    ("decide", p.Decide, sca.decide),
    ("request", p.Request, a.request),
]


def register(registry: ActionRegistry) -> None:
    """Add XS2A's actions to ``registry`` (never under bare names: Mojaloop is the default
    dialect)."""
    for name, params, run in ACTIONS:
        registry.add(name, params, run, dialect=DIALECT)
