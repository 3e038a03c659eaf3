"""The scheme's data that simulated participants share: accounts, parties, consents, oracle.

Built from the config (``SchemeState.from_config``) and replaced as a whole when the
admin API loads fixtures. Each simulated role only touches the records of its own fspId.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from tpsim.auth.b64 import decode
from tpsim.auth.challenge import consent_challenge
from tpsim.auth.fido import OriginPolicy, RegisteredCredential, verify_attestation
from tpsim.config import Config, ConsentConfig, CredentialConfig, Kind, PartyConfig
from tpsim.core.bank import Account as Account  # the roles name the account type from here
from tpsim.core.bank import Accounts, Bank, User
from tpsim.core.errors import AliasTaken
from tpsim.errors import ConfigError, TpsimError
from tpsim.mojaloop.roles.consent_state import Consent
from tpsim.mojaloop.roles.states import SEEDED
from tpsim.mojaloop.wire.models.linking import ConsentStatus, CredentialStatus, CredentialType


@dataclass(slots=True)
class AuthConsent:
    """A consent as the auth-service holds it: who registered it and the verified credential."""

    consent_id: str
    dfsp: str
    scopes: list[dict[str, Any]]
    credential: RegisteredCredential
    status: ConsentStatus = ConsentStatus.ISSUED


PartyKey = tuple[str, str, str | None]


@dataclass(slots=True)
class SchemeState:
    # The simulated banks' accounts, users, ledger and payment intents (``core.bank``).
    bank: Bank = field(default_factory=Bank)
    parties: dict[PartyKey, PartyConfig] = field(default_factory=dict)
    consents: dict[str, Consent] = field(default_factory=dict)
    auth_consents: dict[str, AuthConsent] = field(default_factory=dict)
    # The ALS oracle: (partyIdType, identifier) -> fspId, for CONSENT and THIRD_PARTY_LINK.
    oracle: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config, policy: OriginPolicy) -> SchemeState:
        """Seed the state from fixtures; a FIDO attestation in a consent is verified here."""
        state = cls(Bank(retention=timedelta(seconds=config.behaviour.retention_s)))
        for i, a in enumerate(config.accounts):
            account = Account(
                a.address,
                a.fsp_id,
                a.owner,
                a.currency,
                a.nickname,
                iban=a.iban,
                sort_code_account_number=a.sort_code_account_number,
            )
            try:
                state.bank.open_account(account, Decimal(a.balance))
            except AliasTaken as exc:
                raise ConfigError(str(exc), path=f"accounts.{i}") from None
        for u in config.users:
            channels = None if u.auth_channels is None else tuple(u.auth_channels)
            state.bank.add_user(User(u.user_id, u.fsp_id, u.name, u.password, channels))
        for p in config.parties:
            state.parties[(p.party_id_type, p.party_identifier, p.party_sub_id_or_type)] = p
        auth = config.ids(Kind.AUTH_SERVICE)
        for i, c in enumerate(config.consents):
            scopes = [s.model_dump(mode="json") for s in c.scopes]
            status = ConsentStatus(c.status)
            state.consents[c.consent_id] = Consent(
                c.consent_id,
                c.pisp,
                scopes,
                dfsp=c.dfsp,
                state=SEEDED[status],
                credential=_reported(c),
            )
            credential = _credential(c, i, policy)
            state.auth_consents[c.consent_id] = AuthConsent(
                c.consent_id, c.dfsp, scopes, credential, status
            )
            if auth:
                state.oracle[("CONSENT", c.consent_id)] = auth[0]
            for scope in scopes:
                state.oracle[("THIRD_PARTY_LINK", scope["address"])] = c.dfsp
        return state

    @property
    def accounts(self) -> Accounts:
        """The accounts by address (``accounts.find`` also takes an alias)."""
        return self.bank.accounts

    def consent_for_link(self, dfsp: str, address: str, pisp: str) -> Consent | None:
        """The consent of ``dfsp`` whose scopes cover the THIRD_PARTY_LINK ``address``.

        An address linked more than once (relinked after a revocation, or to several PISPs)
        resolves to ``pisp``'s consent before another PISP's, an ISSUED one before a
        REVOKED one, and the newest of equals.
        """
        candidates = [
            (c.pisp == pisp, c.status == "ISSUED", order, c)
            for order, c in enumerate(self.consents.values())
            if c.dfsp == dfsp and any(s["address"] == address for s in c.scopes)
        ]
        return max(candidates, key=lambda item: item[:3])[3] if candidates else None

    def find_party(self, id_type: str, identifier: str, sub_id: str | None) -> PartyConfig | None:
        """The party fixture, else for ACCOUNT_ID or IBAN the account it names (by address
        or alias) as a party of the account's bank."""
        party = self.parties.get((id_type, identifier, sub_id))
        if party is not None or sub_id is not None or id_type not in ("ACCOUNT_ID", "IBAN"):
            return party
        account = self.accounts.find(identifier)
        if account is None:
            return None
        return PartyConfig(
            party_id_type=id_type,
            party_identifier=identifier,
            fsp_id=account.fsp_id,
            account=account.address,
        )


def _reported(consent: ConsentConfig) -> dict[str, Any] | None:
    attestation = consent.credential.fido_attestation
    if attestation is None:
        return None
    return {
        "credentialType": CredentialType.FIDO.value,
        "status": CredentialStatus.VERIFIED.value,
        "fidoPayload": attestation,
    }


def _credential(consent: ConsentConfig, index: int, policy: OriginPolicy) -> RegisteredCredential:
    where = f"consents.{index}.credential"
    cfg: CredentialConfig = consent.credential
    try:
        if cfg.fido_attestation is not None:
            challenge = consent_challenge(
                consent.consent_id, [s.model_dump(mode="json") for s in consent.scopes]
            )
            return verify_attestation(cfg.fido_attestation, challenge=challenge, policy=policy)
        assert cfg.public_key_pem is not None  # noqa: S101 - guaranteed by CredentialConfig
        credential_id = None
        if cfg.credential_id is not None:
            credential_id = decode(cfg.credential_id, what="credential_id", max_chars=118)
        return RegisteredCredential.from_public_key_pem(
            cfg.public_key_pem,
            credential_type=cfg.type,
            credential_id=credential_id,
            sign_count=cfg.sign_count,
        )
    except TpsimError as exc:
        raise ConfigError(str(exc), path=where) from None
