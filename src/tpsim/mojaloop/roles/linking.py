"""A simulated DFSP's side of account linking after authentication (linking patterns
§3.2, §3.5-3.6, §4; digest §2.1-2.2, §4.5).

    GET /accounts/{ID}                       PUT /accounts/{ID} (the user's accounts) | 6205
    grant (consent_requests.py)              POST /consents {ISSUED, new consentId} → PISP
    PUT /consents/{ID} PENDING (PISP)        POST /consents (credential) → auth-service
    PUT /consents/{ID} VERIFIED (auth)       publish the consent; POST /participants/
                                             THIRD_PARTY_LINK/{address} per scope → ALS
    PUT /participants/THIRD_PARTY_LINK/{a}   all answered → PATCH /consents/{ID} VERIFIED
    PUT /participants/THIRD_PARTY_LINK/{a}/error
                                             the consent fails: PUT /consents/{ID}/error
                                             6000 (reference 7214) → PISP; PATCH
                                             /consents/{ID} REVOKED → the auth-service
    PUT /consents/{ID}/error (auth)          PUT /consents/{ID}/error 6200 → PISP
    no answer from the auth-service          (registration_timeout_s + delivery_timeout_s)
                                             the same 6200 → PISP; a VERIFIED after it:
                                             PATCH /consents/{ID} REVOKED → the auth-service
    PUT /consents/{ID}/error (PISP, switch)  the consent is abandoned (6103 from then on)
    DELETE /consents/{ID} (PISP)             hub-hosted: on to the auth-service (§4.2);
                                             DFSP-hosted: REVOKED, PATCH → PISP (§4.1);
                                             credential being verified: 3000, not yet
    admin revoke (the user, at the bank)     REVOKED; hub-hosted: DELETE /consents/{ID} →
                                             the auth-service; DFSP-hosted: PATCH → PISP
    PATCH /consents/{ID} REVOKED (auth)      REVOKED (§4.2), at any step after the credential
    every revocation                         DELETE /participants/THIRD_PARTY_LINK/{a} → ALS
                                             for each link made, and for each the ALS
                                             confirms later; answers about a revoked
                                             consent's credential are taken quietly
    GET /consents/{ID}                       PUT /consents/{ID} as it stands (owner only)

Who hosts a consent decides how it is unlinked (linking patterns §4): one the hub's
auth-service verified (linking or linked, or seeded while the scheme has one) is the
auth-service's to revoke (§4.2), which tells the PISP and this DFSP; any other (an ISSUED
one, a scheme without an auth-service) is this DFSP's (§4.1). Each consent is one record
(``roles/consent_state.py``) in the scheme's store: this DFSP's own records (kind
``{fspId}/pending-consents``) until verified, then moved to ``SchemeState.consents``, where
the payer side finds it (one that fails after that goes back, unpublished); every step is
one transition of its table, and terminal states are final (``Consent.advance``). The ALS
registrations a verified consent still awaits are its ``pending`` addresses, so nothing
about a consent lives outside the store.

The ALS answers ``POST`` and ``DELETE /participants/THIRD_PARTY_LINK/{address}`` alike with
``PUT /participants/THIRD_PARTY_LINK/{address}`` (fspId empty for a deletion) or its
``/error``, which names no request: the requests this DFSP has yet to hear answered are kept
per address, oldest first (kind ``{fspId}/link-requests``: ``(method, consentId)`` pairs),
and each answer is the oldest one's, each registration answered in the order it was sent.
A refused deletion belongs to the consent whose links were being removed, never to another
consent linking the same account meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tpsim.core.records import Records
from tpsim.mojaloop.errors import (
    AccountLinksNotRegistered,
    ConsentNotFound,
    ConsentNotGranted,
    ConsentNotValid,
    CredentialNotVerified,
    FspiopError,
    NoAccountsFound,
    NotImplementedYet,
    TransactionStateError,
    UnsupportedScopes,
)
from tpsim.mojaloop.message import Effects, Message, Timer
from tpsim.mojaloop.roles.common import downstream_error, format_datetime, parse_datetime
from tpsim.mojaloop.roles.consent_state import Consent
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.hub_services import forwarded
from tpsim.mojaloop.roles.states import LinkEvent, LinkState
from tpsim.mojaloop.wire.models.common import PartyIdType
from tpsim.mojaloop.wire.models.linking import (
    ConsentsIDPatchResponseRevoked,
    ConsentsIDPutResponseVerified,
    ConsentStatus,
    CredentialStatus,
)

_LINK = PartyIdType.THIRD_PARTY_LINK.value
VERIFYING = "verifying:"  # the timer of a credential with the auth-service: + consentId


class Linking:
    """Accounts and consents of one simulated DFSP."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        # This DFSP's consents until verified; from then on in ctx.state.consents.
        self._pending: Records[Consent] = ctx.records("pending-consents")
        # Per address, the ALS requests not answered yet: (method, consentId), oldest first.
        self._asked: Records[tuple[tuple[str, str], ...]] = ctx.records("link-requests")
        for consent in list(ctx.state.consents):
            if consent.dfsp == ctx.fsp_id:
                self._adopt(consent)

    def _adopt(self, seeded: Consent) -> None:
        """Take charge of a consent seeded from the config (ACTIVE or already REVOKED)."""
        if seeded.state is LinkState.REVOKED and seeded.ended is None:
            seeded.revoked_at = seeded.revoked_at or self.ctx.clock.now()
            seeded.ended = self._revoked_error(seeded)
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
        if consent_id is not None and self._issued(consent_id):
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
        self._pending.put(consent.consent_id, consent)
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
        consent = self._own(params["ID"], message.source)
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
        return key.startswith(VERIFYING)

    def _verification_wait(self) -> float:
        """How long the auth-service may take: its own wait for the ALS, and a delivery."""
        behaviour = self.ctx.config.behaviour
        return behaviour.linking.registration_timeout_s + behaviour.delivery_timeout_s

    def on_timer(self, key: str) -> Effects:
        consent = self.consent(key.removeprefix(VERIFYING))
        if consent is None or consent.state is not LinkState.REGISTERING:
            return Effects()  # answered in time
        return self._give_up(consent, f"no answer in {self._verification_wait():g} s")

    def recover(self) -> Effects:
        """End each consent whose credential was with the auth-service when tpsim stopped
        (``--state``): its timer died with the process."""
        effects = Effects()
        for consent in list(self._pending):
            if consent.state is LinkState.REGISTERING:
                effects.extend(self._give_up(consent, "tpsim restarted meanwhile"))
        return effects

    def _give_up(self, consent: Consent, why: str) -> Effects:
        """Stop waiting for the auth-service's answer about ``consent``'s credential: the
        consent fails, and the PISP is told as if the auth-service had refused it."""
        consent.advance(LinkEvent.REFUSED)
        self._pending.end(consent.consent_id, at=self.ctx.clock.now())
        consent.ended = CredentialNotVerified(
            f"the credential of consent {consent.consent_id} went to {consent.auth_service},"
            f" which did not verify it ({why}): link the accounts again"
        )
        return Effects(messages=[self._error(consent, consent.ended)])

    def _verified(self, message: Message, consent_id: str) -> Effects:
        consent = self.consent(consent_id)
        if consent is None or message.source != consent.auth_service:
            raise ConsentNotFound(
                f"{self.ctx.fsp_id} did not ask {message.source} to verify consent {consent_id}:"
                " only that auth-service reports it VERIFIED"
            )
        if consent.state is LinkState.REVOKED:
            return Effects()  # the auth-service revoked it before this reached us: no links
        if consent.state is LinkState.FAILED:  # gave up meanwhile: it may not vouch for it
            now = self.ctx.clock.now()
            return Effects(messages=[self._revocation(consent, message.source, at=now)])
        consent.advance(LinkEvent.VERIFIED)
        consent.credential = dict(consent.signed or {}, status=CredentialStatus.VERIFIED.value)
        consent.pending = _unique(consent.scopes)
        # Published: from now on the payer side finds it by its THIRD_PARTY_LINKs.
        self._pending.drop(consent.consent_id)
        self.ctx.state.consents.put(consent.consent_id, consent)
        effects = Effects()
        for address in consent.pending:
            effects.messages.append(self._ask("POST", address, consent))
        return effects

    def put_consent_error(self, message: Message, params: dict[str, str]) -> Effects:
        """A failure reported on a consent: the auth-service refused the credential (the PISP
        is told), or the PISP - or the switch, unable to reach someone - abandoned it."""
        consent = self.consent(params["ID"])
        hub = self.ctx.hub_name
        if consent is None or message.source not in (consent.pisp, consent.auth_service, hub):
            raise ConsentNotFound(f"{self.ctx.fsp_id} has no consent {params['ID']}")
        if message.source == hub and (consent.state is LinkState.ACTIVE or consent.finalised):
            return Effects()  # the PISP missed the final PATCH: the consent stands as it is
        if message.source == consent.auth_service and consent.finalised:
            return Effects()  # about a credential that no longer matters
        registering = consent.state is LinkState.REGISTERING
        consent.advance(LinkEvent.REFUSED)
        if consent.consent_id in self._pending:  # never published: forgotten in time
            self._pending.end(consent.consent_id, at=self.ctx.clock.now())
        who = {consent.auth_service: "the auth-service", consent.pisp: consent.pisp}.get(
            message.source, "the switch"
        )
        if message.source == consent.auth_service or (message.source == hub and registering):
            consent.ended = downstream_error(CredentialNotVerified, who, message)
            return Effects(messages=[self._error(consent, consent.ended)])
        consent.ended = downstream_error(ConsentNotValid, f"abandoned: {who}", message)
        return Effects()

    # -- PUT /participants/THIRD_PARTY_LINK/{address} → PATCH VERIFIED -----------------

    def put_participant(self, message: Message, params: dict[str, str]) -> Effects:
        if params["Type"] != PartyIdType.THIRD_PARTY_LINK:
            return Effects()  # nothing of ours
        address = params["ID"]
        if not (message.body or {}).get("fspId"):
            # A deletion confirmed (its fspId left empty): nothing more to do.
            self._answered(address, "DELETE")
            return Effects()
        consent = self._registering(self._answered(address, "POST"), address)
        if consent is None:
            return Effects()
        consent.pending.remove(address)
        self._keep(consent)  # changed: keep it again
        if consent.finalised:  # revoked, or failed, while the ALS registered the link
            return Effects(messages=self._unlinks(consent, [address]))
        if consent.pending:
            return Effects()
        consent.advance(LinkEvent.LINKED)
        patch = {"credential": {"status": CredentialStatus.VERIFIED.value}}
        return Effects(
            messages=[self.ctx.message("PATCH", _path(consent), to=consent.pisp, body=patch)]
        )

    def put_participant_error(self, message: Message, params: dict[str, str]) -> Effects:
        """The ALS refused a THIRD_PARTY_LINK: the consent awaiting it fails, the PISP is
        told (7214 under the reference profile) and the links already made are removed.
        A refused deletion leaves nothing to undo (the journal holds it): it is the oldest
        request about the address, and its consent ended already; another consent
        registering the same address meanwhile is not the one refused."""
        if params["Type"] != PartyIdType.THIRD_PARTY_LINK:
            return Effects()
        consent = self._registering(self._answered(params["ID"], None), params["ID"])
        if consent is None:
            return Effects()
        if consent.finalised:  # revoked or failed meanwhile; this link was never made
            consent.pending.remove(params["ID"])
            self._keep(consent)
            return Effects()
        consent.advance(LinkEvent.REFUSED)
        linked = [a for a in _unique(consent.scopes) if a not in consent.pending]
        # The links still awaited are deleted as the ALS confirms them (put_participant).
        consent.pending.remove(params["ID"])
        consent.ended = downstream_error(AccountLinksNotRegistered, "the ALS", message)
        # Unpublished: the payer side must not find a consent that never linked.
        self.ctx.state.consents.drop(consent.consent_id)
        self._pending.put(consent.consent_id, consent)
        self._pending.end(consent.consent_id, at=self.ctx.clock.now())
        effects = Effects(messages=[self._error(consent, consent.ended)])
        # The refused address too when the ALS (the hub's: tpsim's own) names this DFSP
        # for it: made for a consent revoked meanwhile, and kept for this one (_unlinks).
        refused = params["ID"]
        if self.ctx.state.oracle.get((_LINK, refused)) == self.ctx.fsp_id:
            linked.append(refused)
        effects.messages.extend(self._unlinks(consent, linked))
        # The auth-service holds it verified, and the ALS names it: neither may go on.
        now = self.ctx.clock.now()
        effects.messages.append(self._revocation(consent, consent.auth_service, at=now))
        return effects

    # -- GET / DELETE / PATCH /consents/{ID}, revocation -------------------------------

    def get_consent(self, message: Message, params: dict[str, str]) -> Effects:
        consent = self._own(params["ID"], message.source)
        if consent.state is LinkState.REVOKED:
            return Effects(messages=[self._revocation(consent, consent.pisp)])
        if consent.ended is not None:
            return Effects(messages=[self._error(consent, consent.ended)])
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
            messages=[self.ctx.message("PUT", _path(consent), to=consent.pisp, body=body)]
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
        consent = self._own(params["ID"], message.source)
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
        host, linked = self._host(consent), _links_sent(consent)
        consent.advance(LinkEvent.REVOKED)
        if host is not None:
            tell = self.ctx.message("DELETE", _path(consent), to=host, body=None)
        else:
            consent.revoked_at = self.ctx.clock.now()  # _revocation reads it
            tell = self._revocation(consent, consent.pisp)
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
        linked = _links_sent(consent)
        consent.advance(LinkEvent.REVOKED)
        at = parse_datetime(patch.revokedAt) or self.ctx.clock.now()
        return Effects(messages=self._revoked(consent, at, linked=linked))

    def consent(self, consent_id: str) -> Consent | None:
        """This DFSP's record of ``consent_id``, in whatever state (None: not one of ours)."""
        pending = self._pending.get(consent_id)
        if pending is not None:
            return pending
        published = self.ctx.state.consents.get(consent_id)
        return published if published is not None and published.dfsp == self.ctx.fsp_id else None

    def holds(self, consent_id: str) -> bool:
        return self.consent(consent_id) is not None

    def revoked_at(self, consent_id: str) -> datetime | None:
        consent = self.consent(consent_id)
        return None if consent is None else consent.revoked_at

    def _issued(self, consent_id: str) -> bool:
        """Whether ``consent_id`` names a consent already: one of ours, any DFSP's published
        one, or one an auth-service holds."""
        state = self.ctx.state
        return (
            consent_id in self._pending
            or consent_id in state.consents
            or consent_id in state.auth_consents
        )

    def _host(self, consent: Consent) -> str | None:
        """The hub auth-service hosting ``consent`` (its authority, linking patterns §4.2):
        the one that verified it (linking or linked); None when this DFSP is (§4.1)."""
        if not _links_sent(consent) or not consent.auth_service:
            return None
        return consent.auth_service

    def _revoked(self, consent: Consent, at: datetime, *, linked: bool) -> list[Message]:
        """Record that ``consent`` was revoked ``at``; the ALS deletions of its links
        (``linked``: it had asked for them). A link the ALS has yet to confirm stays
        ``pending``, and is deleted once it is (``put_participant``)."""
        consent.revoked_at = consent.revoked_at or at
        consent.ended = self._revoked_error(consent)
        self._keep(consent)
        if not linked:
            return []
        made = [a for a in _unique(consent.scopes) if a not in consent.pending]
        return self._unlinks(consent, made)

    def _unlinks(self, consent: Consent, addresses: list[str]) -> list[Message]:
        """``DELETE /participants/THIRD_PARTY_LINK/{address}`` to the ALS for each of
        ``addresses`` that no other live consent of ours links: the ALS holds one entry per
        address, which a consent of another PISP to the same account still needs."""
        kept = {
            s["address"]
            for c in self.ctx.state.consents
            if c.consent_id != consent.consent_id
            and c.dfsp == self.ctx.fsp_id
            and c.state in (LinkState.ACTIVE, LinkState.LINKING)
            for s in c.scopes
        }
        return [
            self._ask("DELETE", address, consent) for address in addresses if address not in kept
        ]

    def _keep(self, consent: Consent) -> None:
        """Keep ``consent`` again where it is (changed: a store may hold a copy)."""
        if consent.consent_id in self._pending:
            self._pending.put(consent.consent_id, consent)
        else:
            self.ctx.state.consents.put(consent.consent_id, consent)

    def _ask(self, method: str, address: str, consent: Consent) -> Message:
        """``method /participants/THIRD_PARTY_LINK/{address}`` to the ALS for ``consent``
        (POST registers this DFSP, DELETE removes it), kept until the ALS answers it."""
        asked = self._asked.get(address) or ()
        self._asked.put(address, (*asked, (method, consent.consent_id)))
        body = {"fspId": self.ctx.fsp_id} if method == "POST" else None
        return self.ctx.message(
            method,
            f"/participants/{_LINK}/{address}",
            to=self.ctx.hub_name,
            body=body,
            related=(consent.consent_id,),
        )

    def _answered(self, address: str, method: str | None) -> tuple[str, str] | None:
        """The request about ``address`` the ALS has answered, forgotten now: the oldest
        unanswered ``method`` (a confirmation says which: a deletion's fspId is empty), or
        the oldest of any (an error names neither); None when none is awaited."""
        asked = list(self._asked.get(address) or ())
        found = next((i for i, (m, _) in enumerate(asked) if method in (None, m)), None)
        if found is None:
            return None
        request = asked.pop(found)
        if asked:
            self._asked.put(address, tuple(asked))
        else:
            self._asked.drop(address)
        return request

    def _registering(self, request: tuple[str, str] | None, address: str) -> Consent | None:
        """The consent whose registration of ``address`` ``request`` is, when it still
        awaits it: linking, or revoked or failed while it was (unpublished then); None for
        a deletion, or for an answer this DFSP did not wait for."""
        if request is None or request[0] != "POST":
            return None
        consent = self.consent(request[1])
        return consent if consent is not None and address in consent.pending else None

    def _revoked_error(self, consent: Consent) -> FspiopError:
        when = format_datetime(consent.revoked_at) if consent.revoked_at else "an earlier time"
        return ConsentNotValid(f"consent {consent.consent_id} was revoked at {when}")

    def _revocation(
        self, consent: Consent, destination: str, at: datetime | None = None
    ) -> Message:
        """``PATCH /consents/{ID}`` REVOKED to ``destination``: revoked ``at``, by default
        when the consent was."""
        when = at or consent.revoked_at
        assert when is not None  # noqa: S101 - set whenever REVOKED
        body = {"status": ConsentStatus.REVOKED.value, "revokedAt": format_datetime(when)}
        return self.ctx.message("PATCH", _path(consent), to=destination, body=body)

    # -- helpers -----------------------------------------------------------------------

    def _own(self, consent_id: str, pisp: str) -> Consent:
        consent = self.consent(consent_id)
        if consent is None or consent.pisp != pisp:
            # Another PISP's consent is reported as unknown: its existence is not theirs.
            raise ConsentNotFound(f"{self.ctx.fsp_id} has no consent {consent_id} of {pisp}")
        return consent

    def _error(self, consent: Consent, error: FspiopError) -> Message:
        return self.ctx.error(_path(consent), error, to=consent.pisp)


def _links_sent(consent: Consent) -> bool:
    """Whether ``consent``'s THIRD_PARTY_LINKs were asked of the ALS (verified by its
    auth-service: linking, or linked)."""
    return consent.state in (LinkState.LINKING, LinkState.ACTIVE)


def _path(consent: Consent) -> str:
    return f"/consents/{consent.consent_id}"


def _addresses(scopes: list[dict[str, Any]]) -> str:
    return ", ".join(s["address"] for s in scopes)


def _unique(scopes: list[dict[str, Any]]) -> list[str]:
    """The scopes' addresses, each once, in order."""
    return list(dict.fromkeys(s["address"] for s in scopes))
