"""The state machines of Mojaloop's own resources at a simulated DFSP, one table each,
applied by ``core.states.next_state`` (a transaction request is a core payment intent:
``transaction_state.py`` names its states).

A consent request (``consent_requests.py``):

    RECEIVED ─web→ AUTHENTICATING ─approved→ AWAITING_PATCH ─accepted→ GRANTED
    RECEIVED ─otp→ AWAITING_PATCH            (refused: a wrong token, attempts left)
    RECEIVED ─invalid→ REJECTED;  AUTHENTICATING ─denied→ DENIED
    AUTHENTICATING | AWAITING_PATCH ─locked→ FAILED;  AWAITING_PATCH ─expired→ FAILED
    RECEIVED | AUTHENTICATING | AWAITING_PATCH ─withdrawn→ FAILED   (the DFSP no longer
                                                played by tpsim: a restart's config)

A consent (``consent_state.py``):

    ISSUED ─credential→ REGISTERING ─verified→ LINKING ─linked→ ACTIVE
    ISSUED | REGISTERING | LINKING ─refused→ FAILED   (also: the DFSP no longer played)
    ISSUED | REGISTERING | LINKING | ACTIVE ─revoked→ REVOKED

(Who may revoke a consent when is ``linking.py``'s to say: while its credential is with the
auth-service (REGISTERING), only that auth-service.)
"""

from __future__ import annotations

from enum import StrEnum

from tpsim.mojaloop.wire.models.linking import ConsentStatus

# -- consent requests ------------------------------------------------------------------


class CrState(StrEnum):
    RECEIVED = "RECEIVED"
    AUTHENTICATING = "AUTHENTICATING"  # WEB: waiting for the user on the login page
    AWAITING_PATCH = "AWAITING_PATCH"  # an OTP or web secret waits for PATCH
    GRANTED = "GRANTED"
    DENIED = "DENIED"
    FAILED = "FAILED"  # the token expired, or too many wrong ones
    REJECTED = "REJECTED"  # refused on arrival


class CrEvent(StrEnum):
    WEB = "web"
    OTP = "otp"
    INVALID = "invalid"
    APPROVED = "approved"
    DENIED = "denied"
    REFUSED = "refused"
    ACCEPTED = "accepted"
    LOCKED = "locked"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # tpsim no longer plays the DFSP (made external, or removed)


CONSENT_REQUEST_TRANSITIONS: dict[tuple[CrState, CrEvent], CrState] = {
    (CrState.RECEIVED, CrEvent.WEB): CrState.AUTHENTICATING,
    (CrState.RECEIVED, CrEvent.OTP): CrState.AWAITING_PATCH,
    (CrState.RECEIVED, CrEvent.INVALID): CrState.REJECTED,
    (CrState.AUTHENTICATING, CrEvent.APPROVED): CrState.AWAITING_PATCH,
    (CrState.AUTHENTICATING, CrEvent.DENIED): CrState.DENIED,
    (CrState.AUTHENTICATING, CrEvent.REFUSED): CrState.AUTHENTICATING,
    (CrState.AUTHENTICATING, CrEvent.LOCKED): CrState.FAILED,
    (CrState.AWAITING_PATCH, CrEvent.REFUSED): CrState.AWAITING_PATCH,
    (CrState.AWAITING_PATCH, CrEvent.ACCEPTED): CrState.GRANTED,
    (CrState.AWAITING_PATCH, CrEvent.LOCKED): CrState.FAILED,
    (CrState.AWAITING_PATCH, CrEvent.EXPIRED): CrState.FAILED,
    (CrState.RECEIVED, CrEvent.WITHDRAWN): CrState.FAILED,
    (CrState.AUTHENTICATING, CrEvent.WITHDRAWN): CrState.FAILED,
    (CrState.AWAITING_PATCH, CrEvent.WITHDRAWN): CrState.FAILED,
}
CONSENT_REQUEST_TERMINAL = frozenset(
    {CrState.GRANTED, CrState.DENIED, CrState.FAILED, CrState.REJECTED}
)


# -- consents --------------------------------------------------------------------------


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


LINK_TRANSITIONS: dict[tuple[LinkState, LinkEvent], LinkState] = {
    (LinkState.ISSUED, LinkEvent.CREDENTIAL): LinkState.REGISTERING,
    (LinkState.ISSUED, LinkEvent.REFUSED): LinkState.FAILED,
    (LinkState.ISSUED, LinkEvent.REVOKED): LinkState.REVOKED,
    (LinkState.REGISTERING, LinkEvent.VERIFIED): LinkState.LINKING,
    (LinkState.REGISTERING, LinkEvent.REFUSED): LinkState.FAILED,
    (LinkState.REGISTERING, LinkEvent.REVOKED): LinkState.REVOKED,
    (LinkState.LINKING, LinkEvent.LINKED): LinkState.ACTIVE,
    (LinkState.LINKING, LinkEvent.REFUSED): LinkState.FAILED,
    (LinkState.LINKING, LinkEvent.REVOKED): LinkState.REVOKED,
    (LinkState.ACTIVE, LinkEvent.REVOKED): LinkState.REVOKED,
}
LINK_TERMINAL = frozenset({LinkState.REVOKED, LinkState.FAILED})

# A consent seeded from the config is already linked, or already revoked.
SEEDED = {ConsentStatus.ISSUED: LinkState.ACTIVE, ConsentStatus.REVOKED: LinkState.REVOKED}
