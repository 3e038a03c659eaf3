"""A consent as its simulated DFSP holds it (its states and table: ``roles/states.py``).

There is one record per consent. ``roles/linking.py`` drives it (the ALS's answers about
its links: ``roles/link_registrations.py``), and ``roles/consent_book.py`` keeps every
consent of its DFSP; from the credential's verification on (or from the start, for a
consent seeded from the config) the same record is published in ``SchemeState.consents``,
where the payer side (``consent_for_link``) and the admin API read it. Its ``status`` is
derived from its state, so a revocation reaches every reader at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tpsim.core.states import next_state
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.roles.states import (
    LINK_TERMINAL,
    LINK_TRANSITIONS,
    LinkEvent,
    LinkState,
)
from tpsim.mojaloop.wire.models.linking import ConsentStatus


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
        return self.state in LINK_TERMINAL

    def grants(self, address: str, action: str) -> bool:
        return any(s["address"] == address and action in s["actions"] for s in self.scopes)

    def advance(self, event: LinkEvent) -> None:
        """Apply ``event`` or raise: an ended consent re-raises the error that ended it."""
        self.state = next_state(
            LINK_TRANSITIONS,
            LINK_TERMINAL,
            self.state,
            event,
            what=f"consent {self.consent_id}",
            ended=self.ended,
        )
