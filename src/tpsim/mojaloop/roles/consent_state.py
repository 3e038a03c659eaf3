"""A consent as its simulated DFSP holds it: states, events, the transition table, the record.

    ISSUED ─credential→ REGISTERING ─verified→ LINKING ─linked→ ACTIVE
    ISSUED | REGISTERING ─refused→ FAILED;   ISSUED | ACTIVE ─revoked→ REVOKED

There is one record per consent. ``roles/linking.py`` drives it and keeps every consent of
its DFSP; from the credential's verification on (or from the start, for a consent seeded
from the config) the same record is published in ``SchemeState.consents``, where the payer
side (``consent_for_link``) and the admin API read it. Its ``status`` is derived from its
state, so a revocation reaches every reader at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tpsim.core.machine import next_state
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.wire.models.linking import ConsentStatus


class LinkState(StrEnum):
    ISSUED = "ISSUED"  # granted; waiting for the PISP's credential
    REGISTERING = "REGISTERING"  # credential sent to the auth-service
    LINKING = "LINKING"  # verified; THIRD_PARTY_LINKs being registered with the ALS
    ACTIVE = "ACTIVE"  # linked: transfers may use it
    REVOKED = "REVOKED"
    FAILED = "FAILED"


class LinkEvent(StrEnum):
    CREDENTIAL = "credential"
    VERIFIED = "verified"
    LINKED = "linked"
    REFUSED = "refused"
    REVOKED = "revoked"


TRANSITIONS: dict[tuple[LinkState, LinkEvent], LinkState] = {
    (LinkState.ISSUED, LinkEvent.CREDENTIAL): LinkState.REGISTERING,
    (LinkState.ISSUED, LinkEvent.REFUSED): LinkState.FAILED,
    (LinkState.ISSUED, LinkEvent.REVOKED): LinkState.REVOKED,
    (LinkState.REGISTERING, LinkEvent.VERIFIED): LinkState.LINKING,
    (LinkState.REGISTERING, LinkEvent.REFUSED): LinkState.FAILED,
    (LinkState.LINKING, LinkEvent.LINKED): LinkState.ACTIVE,
    (LinkState.ACTIVE, LinkEvent.REVOKED): LinkState.REVOKED,
}
TERMINAL = frozenset({LinkState.REVOKED, LinkState.FAILED})

# A consent seeded from the config is already linked, or already revoked.
SEEDED = {ConsentStatus.ISSUED: LinkState.ACTIVE, ConsentStatus.REVOKED: LinkState.REVOKED}


@dataclass(slots=True)
class Consent:
    """One consent as its DFSP knows it (the DFSP side of account linking)."""

    consent_id: str
    pisp: str
    scopes: list[dict[str, Any]]  # as granted, exactly as the PISP's credential signs them
    consent_request_id: str | None = None
    state: LinkState = LinkState.ISSUED
    dfsp: str = ""
    signed: dict[str, Any] | None = None  # the SignedCredential the PISP sent, as sent
    # The VerifiedCredential as the DFSP reports it (GET /consents/{ID}); None for a consent
    # seeded from a bare public key.
    credential: dict[str, Any] | None = None
    auth_service: str = ""  # the auth-service asked to verify the credential
    pending: list[str] = field(default_factory=list)  # addresses the ALS has not confirmed
    revoked_at: datetime | None = None
    ended: FspiopError | None = None  # what every later message about it is told

    @property
    def status(self) -> ConsentStatus:
        """The spec's ``ConsentStatus``: ISSUED until revoked."""
        if self.state is LinkState.REVOKED:
            return ConsentStatus.REVOKED
        return ConsentStatus.ISSUED

    @property
    def finalised(self) -> bool:
        """Whether the consent has ended (revoked or failed): no event moves it any more."""
        return self.state in TERMINAL

    def grants(self, address: str, action: str) -> bool:
        return any(s["address"] == address and action in s["actions"] for s in self.scopes)

    def advance(self, event: LinkEvent) -> None:
        """Apply ``event`` or raise: an ended consent re-raises the error that ended it."""
        self.state = next_state(
            TRANSITIONS,
            TERMINAL,
            self.state,
            event,
            what=f"consent {self.consent_id}",
            ended=self.ended,
        )
