"""Mojaloop's scenario actions, as the built-in PISP: parameters in ``params.py``, what each
sends in ``actions.py``, registered here (``mojaloop.NAME``; with ``default``, also the bare
``NAME`` every scenario written before dialects uses)."""

from __future__ import annotations

from pydantic import BaseModel

from tpsim.scenario.mojaloop import actions as a
from tpsim.scenario.mojaloop import params as p
from tpsim.scenario.registry import ActionRegistry, Handler

DIALECT = "mojaloop"

# In the order docs/scenarios.md lists them (and the JSON Schema).
ACTIONS: list[tuple[str, type[BaseModel], Handler]] = [
    ("discover", p.Discover, a.discover),
    ("list_accounts", p.ListAccounts, a.list_accounts),
    ("request_consent", p.RequestConsent, a.request_consent),
    ("authenticate", p.Authenticate, a.authenticate),
    ("register_credential", p.RegisterCredential, a.register_credential),
    ("lookup_party", p.LookupParty, a.lookup_party),
    ("sdk_lookup", p.SdkLookup, a.sdk_lookup),
    ("initiate_transfer", p.InitiateTransfer, a.initiate_transfer),
    ("approve", p.Approve, a.approve),
    ("reject", p.Reject, a.reject),
    ("get_transaction", p.GetTransaction, a.get_transaction),
    ("revoke_consent", p.RevokeConsent, a.revoke_consent),
    ("send", p.Send, a.send_raw),
]


def register(registry: ActionRegistry, *, default: bool = False) -> None:
    """Add Mojaloop's actions to ``registry``."""
    for name, params, run in ACTIONS:
        registry.add(name, params, run, dialect=DIALECT, default=default)
