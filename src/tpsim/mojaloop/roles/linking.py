"""A simulated DFSP's side of account linking after authentication (linking patterns
§3.2, §3.5-3.6, §4.1; digest §2.1-2.2, §4.5).

    GET /accounts/{ID}                       PUT /accounts/{ID} (the user's accounts) | 6205
    grant (consent_requests.py)              POST /consents {ISSUED, new consentId} → PISP
    PUT /consents/{ID} PENDING (PISP)        POST /consents (credential) → auth-service
    PUT /consents/{ID} VERIFIED (auth)       publish the consent; POST /participants/
                                             THIRD_PARTY_LINK/{address} per scope → ALS
    PUT /participants/THIRD_PARTY_LINK/{a}   all answered → PATCH /consents/{ID} VERIFIED
    PUT /consents/{ID}/error (auth)          PUT /consents/{ID}/error 6200 → PISP
    PUT /consents/{ID}/error (PISP, switch)  the consent is abandoned (6103 from then on)
    DELETE /consents/{ID}, admin revoke      REVOKED; PATCH /consents/{ID} REVOKED → the
                                             auth-service holding it, then the PISP
    GET /consents/{ID}                       PUT /consents/{ID} as it stands (owner only)

The DFSP is the consent's authority (linking patterns §4.1): it revokes and tells the
auth-service, whose record then refuses verifications. Every step is one transition of
``TRANSITIONS``; terminal states are final and checked only in ``Link.advance``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tpsim.core.machine import next_state
from tpsim.mojaloop.errors import (
    ConsentNotFound,
    ConsentNotValid,
    CredentialNotVerified,
    FspiopError,
    NoAccountsFound,
    NotImplementedYet,
    TransactionStateError,
    UnsupportedScopes,
)
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.roles.common import downstream_error, format_datetime
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.state import Consent


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


@dataclass(slots=True)
class Link:
    """One consent as its DFSP links it (seeded consents start ACTIVE or REVOKED)."""

    consent_id: str
    pisp: str
    scopes: list[dict[str, Any]]
    consent_request_id: str | None = None
    state: LinkState = LinkState.ISSUED
    credential: dict[str, Any] | None = None  # the SignedCredential the PISP sent
    auth_service: str = ""
    pending: list[str] = field(default_factory=list)  # addresses the ALS has not confirmed
    revoked_at: datetime | None = None
    ended: FspiopError | None = None  # what every later message about it is told

    def advance(self, event: LinkEvent) -> None:
        """Apply ``event`` or raise: a terminal link re-raises the error that ended it."""
        ended = copy.copy(self.ended) if self.ended is not None else None
        self.state = next_state(
            TRANSITIONS, TERMINAL, self.state, event, what=f"consent {self.consent_id}", ended=ended
        )


class Linking:
    """Accounts and consents of one simulated DFSP."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        self._links: dict[str, Link] = {}
        self._awaiting: dict[str, list[str]] = {}  # address → consents awaiting its ALS PUT
        for consent in ctx.state.consents.values():
            if consent.dfsp == ctx.fsp_id:
                self._links[consent.consent_id] = self._seeded(consent)

    def _seeded(self, consent: Consent) -> Link:
        link = Link(consent.consent_id, consent.pisp, consent.scopes, state=LinkState.ACTIVE)
        if consent.status == "REVOKED":
            link.state = LinkState.REVOKED
            link.revoked_at = consent.revoked_at or self.ctx.clock.now()
            link.ended = self._revoked_error(link)
        return link

    # -- GET /accounts/{ID} -----------------------------------------------------------

    def get_accounts(self, message: Message, params: dict[str, str]) -> Effects:
        user = params["ID"]
        accounts = [
            {"accountNickname": a.nickname, "address": a.address, "currency": a.currency}
            for a in self.ctx.state.accounts.values()
            if a.fsp_id == self.ctx.fsp_id and a.owner == user
        ]
        if not accounts:
            raise NoAccountsFound(f"{self.ctx.fsp_id} has no user {user} with accounts")
        reply = self.ctx.message(
            "PUT", f"/accounts/{user}", to=message.source, body={"accounts": accounts}
        )
        return Effects(messages=[reply])

    # -- grant: POST /consents → PISP --------------------------------------------------

    def grant(self, pisp: str, consent_request_id: str, scopes: list[dict[str, Any]]) -> Effects:
        """Issue a consent for an authenticated consent request (linking patterns §3.5)."""
        link = Link(self.ctx.ids.new_id(), pisp, scopes, consent_request_id)
        self._links[link.consent_id] = link
        body = {
            "consentId": link.consent_id,
            "consentRequestId": consent_request_id,
            "scopes": scopes,
            "status": "ISSUED",
        }
        return Effects(messages=[self.ctx.message("POST", "/consents", to=pisp, body=body)])

    # -- PUT /consents/{ID}: the PISP's credential, the auth-service's verdict ----------

    def put_consent(self, message: Message, params: dict[str, str]) -> Effects:
        body = message.body or {}
        if body.get("credential", {}).get("status") == "VERIFIED":
            return self._verified(message, params["ID"])
        link = self._own(params["ID"], message.source)
        if body["scopes"] != link.scopes:
            raise UnsupportedScopes(
                f"consent {link.consent_id} was granted for {_addresses(link.scopes)};"
                " send PUT /consents/{ID} with the scopes of POST /consents, unchanged",
                field="scopes",
            )
        auth_service = self.ctx.auth_service()
        link.advance(LinkEvent.CREDENTIAL)
        link.credential, link.auth_service = body["credential"], auth_service
        # ConsentsPostRequestAUTH without consentRequestId: with it the body would match
        # both oneOf variants (wire/models/linking.py), and the reference omits it.
        register = {
            "consentId": link.consent_id,
            "scopes": link.scopes,
            "credential": link.credential,
            "status": "ISSUED",
        }
        return Effects(
            messages=[self.ctx.message("POST", "/consents", to=auth_service, body=register)]
        )

    def _verified(self, message: Message, consent_id: str) -> Effects:
        link = self._links.get(consent_id)
        if link is None or message.source != link.auth_service:
            raise ConsentNotFound(
                f"{self.ctx.fsp_id} did not ask {message.source} to verify consent {consent_id}:"
                " only that auth-service reports it VERIFIED"
            )
        link.advance(LinkEvent.VERIFIED)
        verified = dict(link.credential or {}, status="VERIFIED")
        self.ctx.state.consents[link.consent_id] = Consent(
            link.consent_id, link.pisp, self.ctx.fsp_id, link.scopes, credential=verified
        )
        link.pending = list(dict.fromkeys(s["address"] for s in link.scopes))
        effects = Effects()
        for address in link.pending:
            self._awaiting.setdefault(address, []).append(link.consent_id)
            effects.messages.append(
                self.ctx.message(
                    "POST",
                    f"/participants/THIRD_PARTY_LINK/{address}",
                    to=self.ctx.hub_name,
                    body={"fspId": self.ctx.fsp_id},
                    related=(link.consent_id,),
                )
            )
        return effects

    def put_consent_error(self, message: Message, params: dict[str, str]) -> Effects:
        """A failure reported on a consent: the auth-service refused the credential (the PISP
        is told), or the PISP - or the switch, unable to reach someone - abandoned it."""
        link = self._links.get(params["ID"])
        hub = self.ctx.hub_name
        if link is None or message.source not in (link.pisp, link.auth_service, hub):
            raise ConsentNotFound(f"{self.ctx.fsp_id} has no consent {params['ID']}")
        if message.source == hub and (link.state is LinkState.ACTIVE or link.state in TERMINAL):
            return Effects()  # the PISP missed the final PATCH: the consent stands as it is
        registering = link.state is LinkState.REGISTERING
        link.advance(LinkEvent.REFUSED)
        who = {link.auth_service: "the auth-service", link.pisp: link.pisp}.get(
            message.source, "the switch"
        )
        if message.source == link.auth_service or (message.source == hub and registering):
            link.ended = downstream_error(CredentialNotVerified, who, message)
            return Effects(messages=[self._error(link, link.ended)])
        link.ended = downstream_error(ConsentNotValid, f"abandoned: {who}", message)
        return Effects()

    # -- PUT /participants/THIRD_PARTY_LINK/{address} → PATCH VERIFIED -----------------

    def put_participant(self, message: Message, params: dict[str, str]) -> Effects:
        waiting = self._awaiting.get(params["ID"]) if params["Type"] == "THIRD_PARTY_LINK" else None
        if not waiting:
            return Effects()  # nothing of ours: the ALS confirms, we need not answer
        link = self._links[waiting.pop(0)]
        link.pending.remove(params["ID"])
        if link.pending:
            return Effects()
        link.advance(LinkEvent.LINKED)
        patch = {"credential": {"status": "VERIFIED"}}
        return Effects(
            messages=[self.ctx.message("PATCH", self._path(link), to=link.pisp, body=patch)]
        )

    # -- GET / DELETE /consents/{ID}, revocation -------------------------------------

    def get_consent(self, message: Message, params: dict[str, str]) -> Effects:
        link = self._own(params["ID"], message.source)
        if link.state is LinkState.REVOKED:
            return Effects(messages=[self._revocation(link, link.pisp)])
        if link.ended is not None:
            return Effects(messages=[self._error(link, link.ended)])
        if link.state is LinkState.ISSUED:
            raise TransactionStateError(
                f"consent {link.consent_id} has no credential yet: send PUT /consents/{{ID}}"
            )
        credential = self._reported_credential(link)
        body = {"status": "ISSUED", "scopes": link.scopes, "credential": credential}
        return Effects(
            messages=[self.ctx.message("PUT", self._path(link), to=link.pisp, body=body)]
        )

    def _reported_credential(self, link: Link) -> dict[str, Any]:
        if link.state is not LinkState.ACTIVE:
            return dict(link.credential or {})  # still PENDING
        published = self.ctx.state.consents.get(link.consent_id)
        if published is None or published.credential is None:
            raise NotImplementedYet(
                f"consent {link.consent_id} was configured with a bare public key;"
                f" {self.ctx.fsp_id} holds no credential payload to report"
            )
        return published.credential

    def delete_consent(self, message: Message, params: dict[str, str]) -> Effects:
        return self.revoke(self._own(params["ID"], message.source).consent_id)

    def revoke(self, consent_id: str) -> Effects:
        """Revoke ``consent_id`` (the PISP's DELETE, or the user / DFSP via the admin API):
        tell the auth-service holding it, then the PISP (linking patterns §4.1)."""
        link = self._links.get(consent_id)
        if link is None:
            raise ConsentNotFound(f"{self.ctx.fsp_id} has no consent {consent_id}")
        link.advance(LinkEvent.REVOKED)
        link.revoked_at = self.ctx.clock.now()
        link.ended = self._revoked_error(link)
        published = self.ctx.state.consents.get(consent_id)
        if published is not None:
            published.status, published.revoked_at = "REVOKED", link.revoked_at
        effects = Effects()
        holder = self.ctx.state.oracle.get(("CONSENT", consent_id))
        if holder is not None and published is not None:
            effects.messages.append(self._revocation(link, holder))
        effects.messages.append(self._revocation(link, link.pisp))
        return effects

    def holds(self, consent_id: str) -> bool:
        return consent_id in self._links

    def revoked_at(self, consent_id: str) -> datetime | None:
        link = self._links.get(consent_id)
        return None if link is None else link.revoked_at

    def _revoked_error(self, link: Link) -> FspiopError:
        when = format_datetime(link.revoked_at) if link.revoked_at else "an earlier time"
        return ConsentNotValid(f"consent {link.consent_id} was revoked at {when}")

    def _revocation(self, link: Link, destination: str) -> Message:
        assert link.revoked_at is not None  # noqa: S101 - set whenever REVOKED
        body = {"status": "REVOKED", "revokedAt": format_datetime(link.revoked_at)}
        return self.ctx.message("PATCH", self._path(link), to=destination, body=body)

    # -- helpers -----------------------------------------------------------------------

    def _own(self, consent_id: str, pisp: str) -> Link:
        link = self._links.get(consent_id)
        if link is None or link.pisp != pisp:
            # Another PISP's consent is reported as unknown: its existence is not theirs.
            raise ConsentNotFound(f"{self.ctx.fsp_id} has no consent {consent_id} of {pisp}")
        return link

    @staticmethod
    def _path(link: Link) -> str:
        return f"/consents/{link.consent_id}"

    def _error(self, link: Link, error: FspiopError) -> Message:
        return self.ctx.error(self._path(link), error, to=link.pisp)


def _addresses(scopes: list[dict[str, Any]]) -> str:
    return ", ".join(s["address"] for s in scopes)
