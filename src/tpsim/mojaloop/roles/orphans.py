"""What a DFSP no longer simulated (a restart's config: made external, or removed) left at
the hub when its account linkings were failed (``Simulation._recover_orphans``): the hub's
roles are still tpsim's, so they are put right here, with nothing sent in the gone DFSP's
name."""

from __future__ import annotations

from tpsim.mojaloop.message import Message
from tpsim.mojaloop.registry import Registry
from tpsim.mojaloop.roles.auth_service import AuthService
from tpsim.mojaloop.roles.consent_book import links_sent
from tpsim.mojaloop.roles.dfsp import SimulatedDfsp
from tpsim.mojaloop.roles.state import SchemeState
from tpsim.mojaloop.wire.models.common import PartyIdType

__all__ = ["undo_at_hub"]

_LINK = PartyIdType.THIRD_PARTY_LINK.value


def undo_at_hub(
    state: SchemeState,
    registry: Registry,
    role: SimulatedDfsp,
    withdrawn: list[str],
    linked: dict[str, list[str]],
) -> list[Message]:
    """Undo at the hub what the consents ``withdrawn`` (failed as ``role``'s DFSP is no
    longer simulated) left there: the ALS's THIRD_PARTY_LINK entries of those that were
    ``linked`` (address lists) and no linked consent of the DFSP still holds, removed
    at once; a simulated auth-service that verified one stops vouching for it
    (``AuthService.orphaned``), what it sends for that being returned. The messages
    the DFSP would have sent for this are dropped, as all it sends now."""
    fsp_id, oracle, consents = role.linking.ctx.fsp_id, state.oracle, state.consents
    for address in {a for addresses in linked.values() for a in addresses}:
        held = [c for _, c in consents.covering(address) if c.dfsp == fsp_id]
        if oracle.get((_LINK, address)) == fsp_id and not any(map(links_sent, held)):
            del oracle[(_LINK, address)]
    messages: list[Message] = []
    for consent_id in withdrawn:
        consent = role.linking.consent(consent_id)
        verifier = None if consent is None else consent.auth_service
        auth = registry.role(verifier) if verifier else None
        if isinstance(auth, AuthService):
            messages.extend(auth.orphaned(consent_id, fsp_id).messages)
    return messages
