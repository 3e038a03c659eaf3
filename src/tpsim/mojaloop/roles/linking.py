"""A simulated DFSP's side of account linking after authentication, the consent's life
from its grant to its end (linking patterns §3.2, §3.5-3.6, §4; digest §2.1-2.2, §4.5).

    GET /accounts/{ID}                       PUT /accounts/{ID} (the user's accounts) | 6205
    grant (consent_requests.py)              POST /consents {ISSUED, new consentId} → PISP
    PUT /consents/{ID} PENDING (PISP)        POST /consents (credential) → auth-service
    PUT /consents/{ID} VERIFIED (auth)       publish the consent; its THIRD_PARTY_LINKs
                                             registered with the ALS, whose answers end in
                                             PATCH /consents/{ID} VERIFIED → PISP or in its
                                             failure (``link_registrations.py``); none
                                             in registration_timeout_s (or a restart
                                             meanwhile): that failure
    PUT /consents/{ID}/error (auth)          PUT /consents/{ID}/error 6200 → PISP
    no answer from the auth-service          (registration_timeout_s + delivery_timeout_s)
                                             the same 6200 → PISP; a VERIFIED after it:
                                             PATCH /consents/{ID} REVOKED → the auth-service
    PUT /consents/{ID}/error (PISP, switch)  the consent is abandoned (6103 from then on);
                                             the PISP's while linking: its links undone
                                             as for a refused one; the switch's once
                                             verified (a GET's answer undelivered): none
    PUT /consents/{ID} VERIFIED again        taken quietly (a resend)
    DELETE /consents/{ID} (PISP)             hub-hosted: on to the auth-service (§4.2);
                                             DFSP-hosted: REVOKED, PATCH → PISP (§4.1);
                                             credential being verified: 3000, not yet
    admin revoke (the user, at the bank)     REVOKED; hub-hosted: DELETE /consents/{ID} →
                                             the auth-service; DFSP-hosted: PATCH → PISP
    PATCH /consents/{ID} REVOKED (auth)      REVOKED (§4.2), at any step after the credential
    every revocation                         its THIRD_PARTY_LINKs removed from the ALS
                                             (``link_registrations.py``); answers about a
                                             revoked consent's credential are taken quietly
    GET /consents/{ID}                       PUT /consents/{ID} as it stands (owner only)

Who hosts a consent decides how it is unlinked (linking patterns §4): one the hub's
auth-service verified (linking or linked, or seeded while the scheme has one) is the
auth-service's to revoke (§4.2), which tells the PISP and this DFSP; any other (an ISSUED
one, a scheme without an auth-service) is this DFSP's (§4.1). Each consent is one record
(``roles/consent_state.py``) that ``roles/consent_book.py`` keeps, published once verified;
every step is one transition of its table, and terminal states are final
(``Consent.advance``). ``Linking`` owns the book and the ALS bookkeeping
(``roles/link_registrations.py``), and hands each of them its part.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tpsim.mojaloop.errors import (
    ConsentNotFound,
    ConsentNotGranted,
    ConsentNotValid,
    CredentialNotVerified,
    NoAccountsFound,
    NotImplementedYet,
    TransactionStateError,
    UnsupportedScopes,
)
from tpsim.mojaloop.message import Effects, Message, Timer
from tpsim.mojaloop.roles.common import downstream_error, parse_datetime
from tpsim.mojaloop.roles.consent_book import ConsentBook, links_sent, path, revoked_error, unique
from tpsim.mojaloop.roles.consent_state import Consent
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.hub_services import forwarded
from tpsim.mojaloop.roles.link_registrations import LinkRegistrations
from tpsim.mojaloop.roles.states import LinkEvent, LinkState
from tpsim.mojaloop.wire.models.linking import (
    ConsentsIDPatchResponseRevoked,
    ConsentsIDPutResponseVerified,
    ConsentStatus,
    CredentialStatus,
)

VERIFYING = "verifying:"  # the timer of a credential with the auth-service: + consentId
LINKING = "linking:"  # the timer of a consent's THIRD_PARTY_LINKs with the ALS: + consentId


class Linking:
    """Accounts and consents of one simulated DFSP: ``book`` keeps the consents,
    ``links`` their THIRD_PARTY_LINKs at the ALS (and handles the ALS's answers)."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        self.book = ConsentBook(ctx)
        self.links = LinkRegistrations(ctx, self.book)
        for consent in list(ctx.state.consents):
            if consent.dfsp == ctx.fsp_id:
                self._adopt(consent)

    def _adopt(self, seeded: Consent) -> None:
        """Take charge of a consent seeded from the config (ACTIVE or already REVOKED)."""
        if seeded.state is LinkState.REVOKED and seeded.ended is None:
            seeded.revoked_at = seeded.revoked_at or self.ctx.clock.now()
            seeded.ended = revoked_error(seeded)
            self.ctx.state.consents.put(seeded.consent_id, seeded)

    # -- GET /accounts/{ID} -----------------------------------------------------------

    def get_accounts(self, message: Message, params: dict[str, str]) -> Effects:
        user = params["ID"]
        accounts = [
            {"accountNickname": a.nickname, "address": a.address, "currency": a.currency}
            for a in self.ctx.state.accounts.held_by(self.ctx.fsp_id, user)
        ]
        if not accounts:
            raise NoAccountsFound(f"{self.ctx.fsp_id} has no user {user} with accounts")
        reply = self.ctx.message(
            "PUT", f"/accounts/{user}", to=message.source, body={"accounts": accounts}
        )
        return Effects(messages=[reply])

    # -- grant: POST /consents → PISP --------------------------------------------------

    def grant(
        self,
        pisp: str,
        consent_request_id: str,
        scopes: list[dict[str, Any]],
        *,
        consent_id: str | None = None,
    ) -> Effects:
        """Issue a consent for an authenticated consent request (linking patterns §3.5):
        under a new consentId, or ``consent_id`` (a rule's, issue 15: recorded credentials
        sign a fixed consent), refused (6102 / reference 7200) when already issued."""
        if consent_id is not None and self.book.issued(consent_id):
            raise ConsentNotGranted(
                f"consentId {consent_id} (a rule's consent_id) is already issued; a consentId"
                " names one consent: give the rule's consent_id to one consent request only",
                field="consentId",
            )
        consent = Consent(
            consent_id or self.ctx.ids.new_id(),
            pisp,
            scopes,
            consent_request_id=consent_request_id,
            dfsp=self.ctx.fsp_id,
        )
        self.book.add(consent)
        body = {
            "consentId": consent.consent_id,
            "consentRequestId": consent_request_id,
            "scopes": scopes,
            "status": ConsentStatus.ISSUED.value,
        }
        return Effects(messages=[self.ctx.message("POST", "/consents", to=pisp, body=body)])

    # -- PUT /consents/{ID}: the PISP's credential, the auth-service's verdict ----------

    def put_consent(self, message: Message, params: dict[str, str]) -> Effects:
        if isinstance(message.model(), ConsentsIDPutResponseVerified):
            return self._verified(message, params["ID"])
        consent = self.book.own(params["ID"], message.source)
        sent = message.body or {}
        # Compared as sent: the credential signs a challenge over exactly the granted scopes.
        if sent["scopes"] != consent.scopes:
            raise UnsupportedScopes(
                f"consent {consent.consent_id} was granted for {_addresses(consent.scopes)};"
                " send PUT /consents/{ID} with the scopes of POST /consents, unchanged",
                field="scopes",
            )
        auth_service = self.ctx.auth_service()
        consent.advance(LinkEvent.CREDENTIAL)
        # Forwarded as sent: the auth-service verifies the attestation's exact bytes.
        consent.signed, consent.auth_service = sent["credential"], auth_service
        # ConsentsPostRequestAUTH without consentRequestId: with it the body would match
        # both oneOf variants (wire/models/linking.py), and the reference omits it.
        register = {
            "consentId": consent.consent_id,
            "scopes": consent.scopes,
            "credential": consent.signed,
            "status": ConsentStatus.ISSUED.value,
        }
        deadline = self.ctx.clock.now() + timedelta(seconds=self._verification_wait())
        return Effects(
            messages=[self.ctx.message("POST", "/consents", to=auth_service, body=register)],
            timers=[Timer(VERIFYING + consent.consent_id, deadline)],
        )

    @staticmethod
    def owns_timer(key: str) -> bool:
        return key.startswith((VERIFYING, LINKING))

    def _verification_wait(self) -> float:
        """How long the auth-service may take: its own wait for the ALS, and a delivery."""
        behaviour = self.ctx.config.behaviour
        return behaviour.linking.registration_timeout_s + behaviour.delivery_timeout_s

    def on_timer(self, key: str) -> Effects:
        if key.startswith(LINKING):
            consent = self.consent(key.removeprefix(LINKING))
            if consent is None or consent.state is not LinkState.LINKING:
                return Effects()  # linked, or ended, in time
            wait = self.ctx.config.behaviour.linking.registration_timeout_s
            return Effects(messages=self.links.give_up(consent, f"no answer in {wait:g} s"))
        consent = self.consent(key.removeprefix(VERIFYING))
        if consent is None or consent.state is not LinkState.REGISTERING:
            return Effects()  # answered in time
        return self._give_up(consent, f"no answer in {self._verification_wait():g} s")

    def recover(self) -> Effects:
        """End each consent whose credential was with the auth-service, or whose links
        were with the ALS, when tpsim stopped (``--state``): its timer died with the
        process, and with it any answer a rule was delaying."""
        effects = Effects()
        for consent in self.book.unpublished():
            if consent.state is LinkState.REGISTERING:
                effects.extend(self._give_up(consent, "tpsim restarted meanwhile"))
        for consent in self.book.linking():
            effects.messages.extend(self.links.give_up(consent, "tpsim restarted meanwhile"))
        return effects

    def withdraw(self, cause: str) -> list[str]:
        """End each consent of this DFSP not linked yet (issued, its credential with the
        auth-service, its links with the ALS) as refused, with ``cause``: tpsim no longer
        plays this DFSP (a restart's config). What ending it would send is dropped:
        nothing goes out in the name of a DFSP tpsim no longer plays. The ids ended."""
        ended = []
        for consent in [*self.book.unpublished(), *self.book.linking()]:
            if consent.finalised:
                continue
            if consent.state is LinkState.LINKING:
                self.links.give_up(consent, cause)  # unpublished; its messages dropped
            else:
                consent.advance(LinkEvent.REFUSED)
                consent.ended = ConsentNotValid(
                    f"consent {consent.consent_id} ended before it was linked ({cause}):"
                    " link the accounts again"
                )
                self.book.keep(consent)
                self.book.end(consent)
            ended.append(consent.consent_id)
        return ended

    def _give_up(self, consent: Consent, why: str) -> Effects:
        """Stop waiting for the auth-service's answer about ``consent``'s credential: the
        consent fails, and the PISP is told as if the auth-service had refused it."""
        consent.advance(LinkEvent.REFUSED)
        self.book.end(consent)  # REGISTERING: never published
        consent.ended = CredentialNotVerified(
            f"the credential of consent {consent.consent_id} went to {consent.auth_service},"
            f" which did not verify it ({why}): link the accounts again"
        )
        return Effects(messages=[self.book.error(consent, consent.ended)])

    def _verified(self, message: Message, consent_id: str) -> Effects:
        consent = self.consent(consent_id)
        if consent is None or message.source != consent.auth_service:
            raise ConsentNotFound(
                f"{self.ctx.fsp_id} did not ask {message.source} to verify consent {consent_id}:"
                " only that auth-service reports it VERIFIED"
            )
        if consent.state is LinkState.REVOKED:
            return Effects()  # the auth-service revoked it before this reached us: no links
        if links_sent(consent):
            # Its answer again (a resend): refused, the error callback would have the
            # auth-service withdraw a consent verified here (AuthService.put_consent_error).
            return Effects()
        if consent.state is LinkState.FAILED:  # gave up meanwhile: it may not vouch for it
            now = self.ctx.clock.now()
            return Effects(messages=[self.book.revocation(consent, message.source, at=now)])
        consent.advance(LinkEvent.VERIFIED)
        consent.credential = dict(consent.signed or {}, status=CredentialStatus.VERIFIED.value)
        consent.pending = unique(consent.scopes)
        self.book.publish(consent)
        # An ALS answer lost (a rule's drop) must not leave it linking for ever.
        wait = timedelta(seconds=self.ctx.config.behaviour.linking.registration_timeout_s)
        timer = Timer(LINKING + consent.consent_id, self.ctx.clock.now() + wait)
        return Effects(messages=self.links.register(consent), timers=[timer])

    def put_consent_error(self, message: Message, params: dict[str, str]) -> Effects:
        """A failure reported on a consent: the auth-service refused the credential (the PISP
        is told), or the PISP - or the switch, unable to reach someone - abandoned it. One
        verified already leaves nothing behind (``LinkRegistrations.abandon``)."""
        consent = self.consent(params["ID"])
        hub = self.ctx.hub_name
        if consent is None or message.source not in (consent.pisp, consent.auth_service, hub):
            raise ConsentNotFound(f"{self.ctx.fsp_id} has no consent {params['ID']}")
        if message.source == hub and (links_sent(consent) or consent.finalised):
            # Undelivered: the answer to a GET (linking), or the final PATCH (the PISP
            # missed it): the consent stands as it is.
            return Effects()
        if message.source == consent.auth_service and consent.finalised:
            return Effects()  # about a credential that no longer matters
        registering, linking = consent.state is LinkState.REGISTERING, links_sent(consent)
        consent.advance(LinkEvent.REFUSED)
        self.book.end(consent)  # never published: forgotten in time
        who = {consent.auth_service: "the auth-service", consent.pisp: consent.pisp}.get(
            message.source, "the switch"
        )
        told: list[Message] = []
        if message.source == consent.auth_service or (message.source == hub and registering):
            consent.ended = downstream_error(CredentialNotVerified, who, message)
            told.append(self.book.error(consent, consent.ended))
        else:
            consent.ended = downstream_error(ConsentNotValid, f"abandoned: {who}", message)
        if linking:  # verified, its links being made: none may stay
            told.extend(self.links.abandon(consent))
        return Effects(messages=told)

    # -- GET / DELETE / PATCH /consents/{ID}, revocation -------------------------------

    def get_consent(self, message: Message, params: dict[str, str]) -> Effects:
        consent = self.book.own(params["ID"], message.source)
        if consent.state is LinkState.REVOKED:
            return Effects(messages=[self.book.revocation(consent, consent.pisp)])
        if consent.ended is not None:
            return Effects(messages=[self.book.error(consent, consent.ended)])
        if consent.state is LinkState.ISSUED:
            raise TransactionStateError(
                f"consent {consent.consent_id} has no credential yet: send PUT /consents/{{ID}}"
            )
        body = {
            "status": ConsentStatus.ISSUED.value,
            "scopes": consent.scopes,
            "credential": self._reported_credential(consent),
        }
        return Effects(
            messages=[self.ctx.message("PUT", path(consent), to=consent.pisp, body=body)]
        )

    def _reported_credential(self, consent: Consent) -> dict[str, Any]:
        if consent.state is not LinkState.ACTIVE:
            return dict(consent.signed or {})  # still PENDING
        if consent.credential is None:
            raise NotImplementedYet(
                f"consent {consent.consent_id} was configured with a bare public key;"
                f" {self.ctx.fsp_id} holds no credential payload to report"
            )
        return consent.credential

    def delete_consent(self, message: Message, params: dict[str, str]) -> Effects:
        """The PISP unlinks. A DFSP-hosted consent is revoked here (§4.1). A hub-hosted one
        is the auth-service's: "the PISP still addresses its DELETE /consents/{ID} call to
        the DFSP", and the switch, having looked up its authoritative source, redirects it
        to the auth-service (linking patterns §4.2). tpsim's switch routes by
        FSPIOP-Destination only, so this DFSP stands in for that redirection: the request
        goes on as sent, the PISP still its source; the auth-service's PATCH tells us."""
        consent = self.book.own(params["ID"], message.source)
        host = self._host(consent)
        if host is None:
            return self.revoke(consent.consent_id)
        return Effects(messages=[forwarded(message, host)])

    def revoke(self, consent_id: str) -> Effects:
        """Revoke ``consent_id`` at this DFSP (the user at the bank, via the admin API; the
        PISP's DELETE of a DFSP-hosted consent): REVOKED at once, its THIRD_PARTY_LINKs
        removed from the ALS. A hub-hosted consent is then revoked at the auth-service
        (``DELETE /consents/{ID}``: "PISP or DFSP → auth-service when hub-hosted", digest
        §2.2 row 11), which tells the PISP; otherwise the PISP gets our PATCH (§4.1)."""
        consent = self.consent(consent_id)
        if consent is None:
            raise ConsentNotFound(f"{self.ctx.fsp_id} has no consent {consent_id}")
        if consent.state is LinkState.REGISTERING:
            # The auth-service's answer is on its way: revoked now, its record would stay.
            raise TransactionStateError(
                f"consent {consent_id}'s credential is with {consent.auth_service} for"
                " verification: revoke it once the auth-service has answered"
            )
        host, linked = self._host(consent), links_sent(consent)
        consent.advance(LinkEvent.REVOKED)
        if host is not None:
            tell = self.ctx.message("DELETE", path(consent), to=host, body=None)
        else:
            consent.revoked_at = self.ctx.clock.now()  # book.revocation reads it
            tell = self.book.revocation(consent, consent.pisp)
        effects = Effects(messages=[tell])
        effects.messages.extend(self._revoked(consent, self.ctx.clock.now(), linked=linked))
        return effects

    def patch_consent(self, message: Message, params: dict[str, str]) -> Effects:
        """``PATCH /consents/{ID}`` REVOKED from the auth-service that holds the consent:
        "Auth Service must also inform the DFSP of the updated status" (linking patterns
        §4.2). Already ended here (the user revoked it at the bank, or its links failed and
        this DFSP told the auth-service so): nothing more."""
        consent = self.consent(params["ID"])
        if consent is None or not consent.auth_service or message.source != consent.auth_service:
            raise ConsentNotFound(
                f"{self.ctx.fsp_id} has no consent {params['ID']} registered with"
                f" {message.source}: only the auth-service holding it reports its status"
            )
        patch = message.model()
        if not isinstance(patch, ConsentsIDPatchResponseRevoked):
            raise TransactionStateError(
                f"{message.source} may only report consent {consent.consent_id} REVOKED:"
                " send PATCH /consents/{ID} {status: REVOKED, revokedAt}"
            )
        if consent.finalised:
            return Effects()
        linked = links_sent(consent)
        consent.advance(LinkEvent.REVOKED)
        at = parse_datetime(patch.revokedAt) or self.ctx.clock.now()
        return Effects(messages=self._revoked(consent, at, linked=linked))

    def consent(self, consent_id: str) -> Consent | None:
        """This DFSP's record of ``consent_id``, in whatever state (None: not one of ours)."""
        return self.book.consent(consent_id)

    def holds(self, consent_id: str) -> bool:
        return self.consent(consent_id) is not None

    def revoked_at(self, consent_id: str) -> datetime | None:
        consent = self.consent(consent_id)
        return None if consent is None else consent.revoked_at

    def _host(self, consent: Consent) -> str | None:
        """The hub auth-service hosting ``consent`` (its authority, linking patterns §4.2):
        the one that verified it (linking or linked); None when this DFSP is (§4.1)."""
        if not links_sent(consent) or not consent.auth_service:
            return None
        return consent.auth_service

    def _revoked(self, consent: Consent, at: datetime, *, linked: bool) -> list[Message]:
        """Record that ``consent`` was revoked ``at``; the ALS deletions of its links
        (``linked``: it had asked for them). A link the ALS has yet to confirm stays
        ``pending``, and is deleted once it is (``LinkRegistrations.put_participant``)."""
        consent.revoked_at = consent.revoked_at or at
        consent.ended = revoked_error(consent)
        self.book.keep(consent)
        return self.links.remove(consent) if linked else []


def _addresses(scopes: list[dict[str, Any]]) -> str:
    return ", ".join(s["address"] for s in scopes)
