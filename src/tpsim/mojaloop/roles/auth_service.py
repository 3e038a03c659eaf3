"""The hub auth-service (digest §6): credential registration and signature verification.

    POST /consents (from a DFSP)            verify the attestation / GENERIC signature over the
                                            consent challenge → POST /participants/CONSENT/{ID}
                                            to the ALS → on its PUT, PUT /consents/{ID} VERIFIED;
                                            none in registration_timeout_s: PUT
                                            /consents/{ID}/error (6000 / 7200) → the DFSP, DELETE
                                            /participants/CONSENT/{ID} → the ALS
    POST /thirdpartyRequests/verifications  verify the FIDO assertion or GENERIC signature over
                                            the challenge → PUT …/verifications/{ID} VERIFIED;
                                            the same request again: the same answer again
                                            (FSPIOP §3.2.5), another body under its id: 3106
    DELETE /consents/{ID}                   from the consent's PISP or DFSP: REVOKED; PATCH
                                            /consents/{ID} REVOKED → the PISP and the DFSP;
                                            DELETE /participants/CONSENT/{ID} → the ALS (§4.2)
    PATCH /consents/{ID} REVOKED            the registering DFSP revoked it (or its links
                                            failed): later verifications are refused;
                                            DELETE /participants/CONSENT/{ID} → the ALS

Unlike Mojaloop's auth-service, this one verifies GENERIC credentials, stores the FIDO
sign counter after every verification (so a replayed assertion is refused) and applies
the configured origin allowlist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tpsim.auth.challenge import consent_challenge
from tpsim.auth.credential import RegisteredCredential
from tpsim.auth.errors import CryptoError
from tpsim.auth.generic import generic_credential, verify_generic
from tpsim.config_participants import Kind
from tpsim.core.errors import KeyReused
from tpsim.core.idempotency import Idempotency
from tpsim.core.records import Records
from tpsim.mojaloop.errors import (
    AuthServiceConsentNotValid,
    ConsentAlreadyRegistered,
    ConsentNotFound,
    ConsentNotValid,
    ConsentRegistrationFailed,
    FspiopError,
    IdNotFound,
    InvalidConsentCredential,
    InvalidTransactionSignature,
    MissingElement,
    ModifiedRequest,
    UnknownConsent,
)
from tpsim.mojaloop.message import Effects, Message, Timer
from tpsim.mojaloop.roles.common import error_callback, format_datetime
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.dispatch import HandlerTable, dispatch
from tpsim.mojaloop.roles.state import AuthConsent
from tpsim.mojaloop.wire.models.common import ErrorInformationObject, PartyIdType
from tpsim.mojaloop.wire.models.linking import (
    ConsentsIDPatchResponseRevoked,
    ConsentsPostRequestAUTH,
    ConsentStatus,
    CredentialStatus,
    CredentialType,
    SignedCredential,
)
from tpsim.mojaloop.wire.models.transfer import (
    AuthenticationResponse,
    ThirdpartyRequestsVerificationsPostRequestFIDO,
    ThirdpartyRequestsVerificationsPostRequestGeneric,
)

REGISTRATION = "registration:"  # the timer of a registration awaiting the ALS: + consentId

Verification = (
    ThirdpartyRequestsVerificationsPostRequestFIDO
    | ThirdpartyRequestsVerificationsPostRequestGeneric
)


@dataclass(slots=True)
class PendingRegistration:
    request: Message
    consent: AuthConsent


class AuthService:
    """A simulated hub auth-service participant."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        self.fsp_id = ctx.fsp_id
        # Registrations awaiting the ALS.
        self._pending: Records[PendingRegistration] = ctx.records("registrations")
        # Each verification request, by asker and id → its answer (for GET, and for a
        # duplicate: FSPIOP §3.2.5), forgotten the retention after it was given.
        self._seen: Idempotency[Message] = Idempotency(ctx.records("verification-requests-seen"))
        self._handlers = self._handler_table()

    # -- dispatch ----------------------------------------------------------------------

    def handle(self, message: Message) -> Effects:
        return dispatch(self._handlers, message, fsp_id=self.fsp_id)

    def on_timer(self, key: str) -> Effects:
        """A registration the ALS has not answered in time fails (``_give_up``)."""
        if not key.startswith(REGISTRATION):
            return Effects()
        consent_id = key.removeprefix(REGISTRATION)
        seconds = self.ctx.config.behaviour.linking.registration_timeout_s
        return self._give_up(
            consent_id,
            f"the ALS did not answer POST /participants/{PartyIdType.CONSENT.value}/{consent_id}"
            f" within {seconds:g} s",
        )

    def recover(self) -> Effects:
        """End each registration that awaited the ALS when tpsim stopped (``--state``): its
        timer and messages died with the process."""
        effects = Effects()
        for pending in list(self._pending):
            consent_id = pending.consent.consent_id
            why = f"tpsim restarted while the ALS was registering consent {consent_id}"
            effects.extend(self._give_up(consent_id, why))
        return effects

    def _give_up(self, consent_id: str, why: str) -> Effects:
        """The registration of ``consent_id`` fails: the DFSP is told (it fails the consent
        and tells the PISP), and whatever the ALS registered is removed. An answer arriving
        later finds nothing pending and is taken quietly."""
        pending = self._pending.pop(consent_id)
        if pending is None:
            return Effects()  # answered in time
        effects = self._reply_error(pending.request, ConsentRegistrationFailed(why))
        effects.messages.append(self._unregister(consent_id))
        return effects

    def _handler_table(self) -> HandlerTable:
        return {
            ("POST", "/consents"): self.post_consent,
            ("PATCH", "/consents/{ID}"): self.patch_consent,
            ("PUT", "/consents/{ID}/error"): self.put_consent_error,
            ("DELETE", "/consents/{ID}"): self.delete_consent,
            ("PUT", "/participants/{Type}/{ID}"): self.put_participant,
            ("PUT", "/participants/{Type}/{ID}/error"): self.put_participant_error,
            ("POST", "/thirdpartyRequests/verifications"): self.post_verification,
            ("GET", "/thirdpartyRequests/verifications/{ID}"): self.get_verification,
        }

    # -- registration ------------------------------------------------------------------

    def post_consent(self, message: Message, params: dict[str, str]) -> Effects:
        request = message.model()
        if not isinstance(request, ConsentsPostRequestAUTH):
            # The PISP's variant (no credential) has nothing for an auth-service to verify.
            raise MissingElement(
                f"POST /consents to {self.fsp_id} registers a credential: add the credential"
                " (ConsentsPostRequestAUTH)",
                field="credential",
            )
        consent_id = request.consentId
        if consent_id in self.ctx.state.auth_consents or consent_id in self._pending:
            raise ConsentAlreadyRegistered(
                f"consent {consent_id} is already registered at {self.fsp_id};"
                " a new credential needs a new consentId",
                field="consentId",
            )
        sent = message.body or {}
        # The challenge is over the scopes exactly as sent (digest §6.1).
        scopes = [{"address": s["address"], "actions": s["actions"]} for s in sent["scopes"]]
        challenge = consent_challenge(consent_id, scopes)
        credential = self._register(request.credential, sent["credential"], challenge)
        self._pending.put(
            consent_id,
            PendingRegistration(
                message, AuthConsent(consent_id, message.source, scopes, credential)
            ),
        )
        # The ALS's answer is awaited until the deadline (then the DFSP is told, on_timer):
        # the registration is kept that long, and is never forgotten while it is awaited.
        wait = timedelta(seconds=self.ctx.config.behaviour.linking.registration_timeout_s)
        deadline = self.ctx.clock.now() + wait
        self._pending.end(consent_id, at=deadline)
        oracle = self.ctx.message(
            "POST",
            f"/participants/{PartyIdType.CONSENT.value}/{consent_id}",
            to=self.ctx.hub_name,
            body={"fspId": self.fsp_id},
            related=(consent_id,),
        )
        return Effects(messages=[oracle], timers=[Timer(REGISTRATION + consent_id, deadline)])

    def _register(
        self, credential: SignedCredential, sent: dict[str, Any], challenge: str
    ) -> RegisteredCredential:
        """The credential proved over ``challenge``: a FIDO attestation (checked on its
        bytes as ``sent``) or a GENERIC key with its signature."""
        from tpsim.auth.fido import verify_attestation  # fido2: loaded with the first use

        try:
            if credential.credentialType is CredentialType.FIDO:
                return verify_attestation(
                    sent["fidoPayload"], challenge=challenge, policy=self.ctx.origin_policy
                )
            generic = credential.genericPayload
            assert generic is not None  # noqa: S101 - SignedCredential requires it for GENERIC
            return generic_credential(generic.publicKey, generic.signature, challenge)
        except CryptoError as exc:
            raise InvalidConsentCredential(exc.detail, extensions={"check": exc.check}) from None

    def put_participant(self, message: Message, params: dict[str, str]) -> Effects:
        self.ctx.check_from_als(message, params)
        pending = self._pending.pop(params["ID"])
        if pending is None:
            # A deletion confirmed (no fspId), or a duplicate; or the ALS made the entry
            # after on_timer gave up (its DELETE then found nothing): delete it now.
            held = self.ctx.state.auth_consents.get(params["ID"])
            made = (message.body or {}).get("fspId") == self.fsp_id
            if made and (held is None or held.status == ConsentStatus.REVOKED):
                return Effects(messages=[self._unregister(params["ID"])])
            return Effects()
        consent = pending.consent
        self.ctx.state.auth_consents.put(consent.consent_id, consent)
        effects = Effects(cancel=[REGISTRATION + consent.consent_id])
        # Scopes and credential as the DFSP sent them (digest §4.5).
        sent = pending.request.body or {}
        verified = dict(sent["credential"], status=CredentialStatus.VERIFIED.value)
        reply = self.ctx.message(
            "PUT",
            f"/consents/{consent.consent_id}",
            to=pending.request.source,
            body={"scopes": sent["scopes"], "credential": verified},
        )
        effects.messages.append(reply)
        return effects

    def put_participant_error(self, message: Message, params: dict[str, str]) -> Effects:
        self.ctx.check_from_als(message, params)
        pending = self._pending.pop(params["ID"])
        if pending is None:
            return Effects()
        report: ErrorInformationObject = message.model()
        info = report.errorInformation
        error = ConsentRegistrationFailed(
            f"the ALS refused to register consent {params['ID']}:"
            f" {info.errorCode} {info.errorDescription}"
        )
        effects = self._reply_error(pending.request, error)
        effects.cancel.append(REGISTRATION + params["ID"])
        return effects

    def patch_consent(self, message: Message, params: dict[str, str]) -> Effects:
        consent = self.ctx.state.auth_consents.get(params["ID"])
        if consent is None or consent.dfsp != message.source:
            raise UnknownConsent(
                f"{self.fsp_id} holds no consent {params['ID']} registered by {message.source}"
            )
        if not isinstance(message.model(), ConsentsIDPatchResponseRevoked):
            return Effects()
        return self._withdraw(consent)

    def put_consent_error(self, message: Message, params: dict[str, str]) -> Effects:
        """The DFSP that registered a consent refused its ``PUT /consents/{ID}`` VERIFIED
        (it had given up waiting, and forgotten the consent since): nobody links it, so
        this auth-service stops vouching for it, as for the DFSP's PATCH REVOKED."""
        consent = self.ctx.state.auth_consents.get(params["ID"])
        if consent is None or consent.dfsp != message.source:
            raise UnknownConsent(
                f"{self.fsp_id} holds no consent {params['ID']} registered by {message.source}"
            )
        return self._withdraw(consent)

    def orphaned(self, consent_id: str, dfsp: str) -> Effects:
        """``dfsp``, which registered ``consent_id``, is no longer simulated and failed the
        consent before it was linked (a restart's config): nobody will tell this
        auth-service, so it stops vouching for it here, its ALS entry removed in its own
        name. Nothing when it holds no such consent of ``dfsp``, or one revoked already."""
        consent = self.ctx.state.auth_consents.get(consent_id)
        if consent is None or consent.dfsp != dfsp:
            return Effects()
        return self._withdraw(consent)

    def _withdraw(self, consent: AuthConsent) -> Effects:
        """Revoke ``consent`` here and remove its ALS entry (whoever else needs telling is
        the caller's); one revoked already stays as it is."""
        if consent.status == ConsentStatus.REVOKED:
            return Effects()
        consent.status = ConsentStatus.REVOKED
        consent.revoked_at = self.ctx.clock.now()
        self.ctx.state.auth_consents.put(consent.consent_id, consent)
        return Effects(messages=[self._unregister(consent.consent_id)])

    # -- unlinking (linking patterns §4.2) ----------------------------------------------

    def delete_consent(self, message: Message, params: dict[str, str]) -> Effects:
        """Revoke a consent registered here, "the Authoritative source on the Consent
        object" (linking patterns §4.2), at the request of its PISP or of the DFSP that
        registered it: PATCH REVOKED from here to the PISP, then to the DFSP ("Auth
        Service must also inform the DFSP"), and the consent's ALS entry removed."""
        consent = self.ctx.state.auth_consents.get(params["ID"])
        pisp = None if consent is None else self._pisp_of(consent, message.source)
        if consent is None or message.source not in (consent.dfsp, pisp):
            # Another participant's consent is reported as unknown, as its DFSP does.
            raise ConsentNotFound(
                f"{self.fsp_id} holds no consent {params['ID']} of {message.source}"
            )
        if consent.status == ConsentStatus.REVOKED:
            when = format_datetime(consent.revoked_at) if consent.revoked_at else "an earlier time"
            raise ConsentNotValid(f"consent {consent.consent_id} was revoked at {when}")
        unregistered = self._withdraw(consent).messages
        path = f"/consents/{consent.consent_id}"
        body = {
            "status": ConsentStatus.REVOKED.value,
            "revokedAt": format_datetime(consent.revoked_at or self.ctx.clock.now()),
        }
        told = [to for to in (pisp, consent.dfsp) if to is not None]
        patches = [self.ctx.message("PATCH", path, to=to, body=dict(body)) for to in told]
        return Effects(messages=[*patches, *unregistered])

    def _unregister(self, consent_id: str) -> Message:
        """``DELETE /participants/CONSENT/{ID}``: the ALS stops naming this auth-service."""
        return self.ctx.message(
            "DELETE",
            f"/participants/{PartyIdType.CONSENT.value}/{consent_id}",
            to=self.ctx.hub_name,
            body=None,
            related=(consent_id,),
        )

    def _pisp_of(self, consent: AuthConsent, source: str) -> str | None:
        """The PISP ``consent`` was granted to, as its simulated DFSP published it. A
        registration (ConsentsPostRequestAUTH) names no PISP, so for an external DFSP's
        consent the sender of the DELETE, when it is a PISP, is taken for it."""
        published = self.ctx.state.consents.get(consent.consent_id)
        if published is not None and published.dfsp == consent.dfsp:
            return published.pisp
        # Only a PISP of the scheme is taken for it: never another DFSP or the hub.
        return source if source in self.ctx.config.ids(Kind.PISP) else None

    # -- verification ------------------------------------------------------------------

    def post_verification(self, message: Message, params: dict[str, str]) -> Effects:
        request: Verification = message.model()
        request_id = request.verificationRequestId
        repeat = self._repeat(message, request_id)
        if repeat is not None:
            return repeat
        try:
            self._verify(request, message.body or {}, requester=message.source)
        except FspiopError as exc:
            effects = self._reply_error(message, exc)
        else:
            reply = self.ctx.message(
                "PUT",
                f"/thirdpartyRequests/verifications/{request_id}",
                to=message.source,
                body={"authenticationResponse": AuthenticationResponse.VERIFIED.value},
            )
            effects = Effects(messages=[reply])
        now = self.ctx.clock.now()
        if effects.messages:
            # By asker and id: another DFSP using the same id keeps its own answer (GET).
            self._seen.answer(request_id, effects.messages[0], scope=message.source, at=now)
        else:
            self._seen.end(request_id, scope=message.source, at=now)
        return effects

    def _repeat(self, message: Message, request_id: str) -> Effects | None:
        """The answer again for a verification request seen before (FSPIOP §3.2.5), None for
        a new one. Verified again, a FIDO assertion's counter no longer increases: a resend
        of a request that was VERIFIED would be refused, and GET would report that refusal.
        The same id with another body is ``ModifiedRequest``."""
        try:
            seen = self._seen.check(
                request_id, message.body, scope=message.source, now=self.ctx.clock.now()
            )
        except KeyReused:
            raise ModifiedRequest(
                f"verification request {request_id} was already received with a different"
                " body; use a new verificationRequestId",
                field="verificationRequestId",
            ) from None
        if seen is None:
            return None
        return Effects(messages=[seen.answer] if seen.answer else [])

    def _verify(self, request: Verification, sent: dict[str, Any], *, requester: str) -> None:
        consent = self._verifiable(request.consentId, requester)
        credential = consent.credential
        kind = request.signedPayloadType
        if kind != credential.credential_type:
            raise InvalidTransactionSignature(
                f"consent {consent.consent_id} holds a {credential.credential_type}"
                f" credential, the request is signed with {kind.value}",
                field="signedPayloadType",
            )
        from tpsim.auth.fido import verify_assertion  # fido2: loaded with the first use

        try:
            if isinstance(request, ThirdpartyRequestsVerificationsPostRequestFIDO):
                # Checked on the assertion as sent: its bytes are what the authenticator signed.
                count = verify_assertion(
                    sent["fidoSignedPayload"],
                    challenge=request.challenge,
                    credential=credential,
                    policy=self.ctx.origin_policy,
                )
                consent.credential = credential.with_sign_count(count)
            else:
                verify_generic(credential, request.genericSignedPayload, request.challenge)
        except CryptoError as exc:
            raise InvalidTransactionSignature(exc.detail, extensions={"check": exc.check}) from None

    def _verifiable(self, consent_id: str, requester: str) -> AuthConsent:
        """The consent a signature may be verified against: registered here by the DFSP
        asking (another DFSP's consent is reported as unknown: not theirs to use or see),
        not revoked."""
        consent = self.ctx.state.auth_consents.get(consent_id)
        if consent is None or consent.dfsp != requester:
            raise UnknownConsent(
                f"consent {consent_id} is unknown at {self.fsp_id} for {requester}",
                field="consentId",
            )
        if consent.status != ConsentStatus.ISSUED:
            raise AuthServiceConsentNotValid(
                f"consent {consent_id} is {consent.status} at {self.fsp_id}",
                field="consentId",
            )
        return consent

    def get_verification(self, message: Message, params: dict[str, str]) -> Effects:
        stored = self._seen.answered(params["ID"], scope=message.source)
        if stored is None:
            # Only the DFSP that asked for a verification may read its result.
            raise IdNotFound(
                f"{self.fsp_id} has no verification request {params['ID']} from {message.source}"
            )
        return Effects(messages=[stored])

    def _reply_error(self, request: Message, error: FspiopError) -> Effects:
        callback = error_callback(
            request, error, sender=self.fsp_id, profile=self.ctx.profile, now=self.ctx.clock.now()
        )
        return Effects(messages=[callback] if callback else [])
