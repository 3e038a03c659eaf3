"""The scheme's data that simulated participants share: accounts, parties, consents, oracle.

Everything but the parties (config only) is in the bank's store (``core.store``): the
accounts, users and ledger, and as records (``core.records``) the DFSPs' published consents
(kind ``consents``), the auth-service's (``auth-consents``, with the sign counter of each
verified credential) and the ALS oracle (``oracle``). Seeded from the config
(``SchemeState.from_config``, which also keeps the config's ``fingerprint``), or, after a
restart with ``--state``, read back from the store (``SchemeState.restore``). Each
simulated role only touches the records of its own fspId.

``PICKLING`` says how the store's file (``core.sqlite_store``) keeps what pickle cannot
take whole: a message (its read-only headers, its route) and a registered credential (its
loaded key object); and a transaction without its typed bodies, parsed again when read
back (its exact bodies are kept: pickling the models too doubled the cost of each write).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from tpsim.auth.b64 import decode
from tpsim.auth.challenge import consent_challenge
from tpsim.auth.credential import RegisteredCredential
from tpsim.auth.origin import OriginPolicy
from tpsim.config import Config, ConsentConfig, CredentialConfig, PartyConfig, is_iban
from tpsim.config_participants import Kind
from tpsim.core.bank import Account as Account  # the roles name the account type from here
from tpsim.core.bank import Accounts, Bank, User
from tpsim.core.errors import AliasTaken
from tpsim.core.records import Records, evolvable
from tpsim.core.store import MemoryStore, Store
from tpsim.errors import ConfigError, TpsimError
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.consent_state import Consent
from tpsim.mojaloop.roles.states import SEEDED, LinkState
from tpsim.mojaloop.roles.transaction_state import Transaction
from tpsim.mojaloop.wire.models import (
    QuotesIDPutResponse,
    ThirdpartyRequestsTransactionsPostRequest,
)
from tpsim.mojaloop.wire.models.linking import ConsentStatus, CredentialStatus, CredentialType
from tpsim.mojaloop.wire.routes import ROUTES_BY_NAME


@evolvable  # kept in --state files: fields added since read back at their defaults
@dataclasses.dataclass(slots=True)
class AuthConsent:
    """A consent as the auth-service holds it: who registered it and the verified credential."""

    consent_id: str
    dfsp: str
    scopes: list[dict[str, Any]]
    credential: RegisteredCredential
    status: ConsentStatus = ConsentStatus.ISSUED
    revoked_at: datetime | None = None


PartyKey = tuple[str, str, str | None]

SEED = ("scheme", "seed")  # (kind, key) of the fingerprint of the config the store was seeded from


class Oracle:
    """The ALS oracle: (partyIdType, identifier) → the fspId that registered it, for CONSENT
    and THIRD_PARTY_LINK; a later registration replaces an earlier one."""

    def __init__(self, records: Records[str]) -> None:
        self._records = records

    def get(self, key: tuple[str, str]) -> str | None:
        return self._records.get(_oracle_key(key))

    def __getitem__(self, key: tuple[str, str]) -> str:
        return self._records[_oracle_key(key)]

    def __setitem__(self, key: tuple[str, str], fsp_id: str) -> None:
        self._records.put(_oracle_key(key), fsp_id)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return _oracle_key(key) in self._records

    def __delitem__(self, key: tuple[str, str]) -> None:
        self._records.drop(_oracle_key(key))


def _oracle_key(key: tuple[str, str]) -> str:
    id_type, identifier = key
    return f"{id_type}/{identifier}"  # a partyIdType never holds "/"


class Consents(Records[Consent]):
    """The DFSPs' published consents (``Records`` of kind ``consents``), found by an
    address their scopes cover without reading every consent (a transfer looks its payer's
    up; a load test seeds thousands)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, "consents")
        self._first = itertools.count()
        self._rank: dict[str, int] = {}  # key → order first kept, as ``Store.records`` gives
        self._addresses: dict[str, set[str]] = {}  # key → the addresses it is indexed by
        self._by_address: dict[str, set[str]] = {}
        for consent in self:
            self._index(consent.consent_id, consent)

    def covering(self, address: str) -> list[tuple[int, Consent]]:
        """The consents with a scope on ``address``, each with its place in the order
        they were first kept (in no order). Read only: a durable store does not write
        them again for being looked at."""
        found = [(self._rank[key], self.peek(key)) for key in self._by_address.get(address, ())]
        return [(rank, c) for rank, c in found if c is not None]

    def put(self, key: str, record: Consent) -> None:
        super().put(key, record)
        self._index(key, record)

    def drop(self, key: str) -> None:
        super().drop(key)
        self._unindex(key)
        self._rank.pop(key, None)

    def _index(self, key: str, consent: Consent) -> None:
        self._unindex(key)
        if key not in self._rank:
            self._rank[key] = next(self._first)
        addresses = self._addresses[key] = {scope["address"] for scope in consent.scopes}
        for address in addresses:
            self._by_address.setdefault(address, set()).add(key)

    def _unindex(self, key: str) -> None:
        for address in self._addresses.pop(key, ()):
            keys = self._by_address[address]
            keys.discard(key)
            if not keys:
                del self._by_address[address]


class SchemeState:
    """The scheme's shared data over ``bank``'s store, and the config's ``parties``."""

    def __init__(
        self, bank: Bank | None = None, parties: dict[PartyKey, PartyConfig] | None = None
    ) -> None:
        # The simulated banks' accounts, users, ledger and payment intents (``core.bank``).
        self.bank = bank if bank is not None else Bank()
        self.parties = parties if parties is not None else {}
        store = self.bank.store
        # The DFSPs' consents once verified (or seeded): where the payer side finds them.
        self.consents = Consents(store)
        self.auth_consents: Records[AuthConsent] = Records(store, "auth-consents")
        self.oracle = Oracle(Records(store, "oracle"))

    @classmethod
    def from_config(
        cls, config: Config, policy: OriginPolicy, store: Store | None = None
    ) -> SchemeState:
        """Seed the state from fixtures (into ``store``, by default a new one); a FIDO
        attestation in a consent is verified here."""
        store = store if store is not None else MemoryStore()
        state = cls(
            Bank(store, retention=_retention(config), max_ended=config.behaviour.retention_max),
            _parties(config),
        )
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
        auth = config.ids(Kind.AUTH_SERVICE)
        for i, c in enumerate(config.consents):
            scopes = [s.model_dump(mode="json") for s in c.scopes]
            status = ConsentStatus(c.status)
            state.consents.put(
                c.consent_id,
                Consent(
                    c.consent_id,
                    c.pisp,
                    scopes,
                    dfsp=c.dfsp,
                    state=SEEDED[status],
                    credential=_reported(c),
                    # Registered with the hub's auth-service, when there is one: hub-hosted.
                    auth_service=auth[0] if auth else "",
                ),
            )
            credential = _credential(c, i, policy)
            state.auth_consents.put(
                c.consent_id, AuthConsent(c.consent_id, c.dfsp, scopes, credential, status)
            )
            if auth:
                state.oracle[("CONSENT", c.consent_id)] = auth[0]
            for scope in scopes:
                state.oracle[("THIRD_PARTY_LINK", scope["address"])] = c.dfsp
        store.put_record(*SEED, fingerprint(config))
        return state

    @classmethod
    def restore(cls, config: Config, store: Store, *, where: str) -> SchemeState:
        """The state kept in ``store`` (``where`` names it), which was seeded from
        ``config``'s accounts, users and consents; the parties are ``config``'s."""
        if store.get_record(*SEED) != fingerprint(config):
            raise ConfigError(
                "this state was seeded from other accounts, users or consents than this"
                " config's (another config, or fixtures loaded with PUT /admin/fixtures):"
                " serve it with that config, or give --state a new file to start afresh"
                " from this one",
                file=where,
            )
        return cls(
            Bank(store, retention=_retention(config), max_ended=config.behaviour.retention_max),
            _parties(config),
        )

    @staticmethod
    def seeded(store: Store) -> bool:
        """Whether ``store`` holds a scheme's state (it was seeded from a config)."""
        return store.get_record(*SEED) is not None

    @property
    def accounts(self) -> Accounts:
        """The accounts by address (``accounts.find`` also takes an alias)."""
        return self.bank.accounts

    def consent_for_link(self, dfsp: str, address: str, pisp: str) -> Consent | None:
        """The consent of ``dfsp`` whose scopes cover the THIRD_PARTY_LINK ``address``.

        An address linked more than once (relinked after a revocation, or to several PISPs)
        resolves to ``pisp``'s consent before another PISP's, a linked (ACTIVE) one before
        one still being linked, an ISSUED one before a REVOKED one, and the newest of equals.
        """
        candidates = [
            (c.pisp == pisp, c.state is LinkState.ACTIVE, c.status == "ISSUED", order, c)
            for order, c in self.consents.covering(address)
            if c.dfsp == dfsp
        ]
        return max(candidates, key=lambda item: item[:4])[4] if candidates else None

    def find_party(self, id_type: str, identifier: str, sub_id: str | None) -> PartyConfig | None:
        """The party fixture, else for ACCOUNT_ID or IBAN the account it names (by address
        or alias) as a party of the account's bank.

        An IBAN lookup names an account only by an identifier that is an IBAN (``is_iban``):
        an account's address or another alias (a sort code and account number, an MSISDN)
        is no IBAN, and answering it as one would tell the payer an IBAN the bank never
        gave. An ACCOUNT_ID is any format a bank uses (FSPIOP v1.1 §7.5.6), so an address
        or any alias names its account."""
        party = self.parties.get((id_type, identifier, sub_id))
        if party is not None or sub_id is not None or id_type not in ("ACCOUNT_ID", "IBAN"):
            return party
        if id_type == "IBAN" and not is_iban(identifier):
            return None
        account = self.accounts.find(identifier)
        if account is None:
            return None
        return PartyConfig(
            party_id_type=id_type,
            party_identifier=identifier,
            fsp_id=account.fsp_id,
            account=account.address,
        )


def fingerprint(config: Config) -> str:
    """What identifies the seed of ``config`` (its accounts, users and consents): a state
    kept from another seed does not belong to it."""
    seed = config.model_dump(mode="json", include={"accounts", "users", "consents"})
    return hashlib.sha256(json.dumps(seed, sort_keys=True).encode()).hexdigest()


def _retention(config: Config) -> timedelta:
    return timedelta(seconds=config.behaviour.retention_s)


def _parties(config: Config) -> dict[PartyKey, PartyConfig]:
    return {
        (p.party_id_type, p.party_identifier, p.party_sub_id_or_type): p for p in config.parties
    }


# -- how the state file keeps what pickle cannot take whole ------------------------------


def rebuilt_message(
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: dict[str, Any] | None,
    related: tuple[str, ...],
    route: str | None,
    params: dict[str, str],
) -> Message:
    """A message as ``_reduce_message`` kept it: its route found again by name, its body
    parsed again when first asked (state files name this function: keep its name)."""
    found = None if route is None else ROUTES_BY_NAME[route]
    return Message(
        method, path, CIMultiDictProxy(CIMultiDict(headers)), body, related, found, params
    )


def _reduce_message(message: Message) -> tuple[Any, ...]:
    route = None if message.route is None else message.route.name
    headers = list(message.headers.items())
    fields = (message.body, message.related, route, dict(message.params))
    return rebuilt_message, (message.method, message.path, headers, *fields)


def _reduce_credential(credential: RegisteredCredential) -> tuple[Any, ...]:
    # Its constructor loads the key again from the PEM.
    fields = dataclasses.fields(credential)
    return RegisteredCredential, tuple(getattr(credential, f.name) for f in fields if f.init)


def rebuilt_transaction(fields: dict[str, Any]) -> Transaction:
    """A transaction as ``_reduce_transaction`` kept it, its bodies parsed again (state
    files name this function: keep its name)."""
    model = ThirdpartyRequestsTransactionsPostRequest.model_validate(fields["request"])
    quoted = fields["quote"]
    quote = QuotesIDPutResponse.model_validate(quoted) if quoted else None
    return Transaction(**fields, model=model, quote_model=quote)


def _reduce_transaction(tx: Transaction) -> tuple[Any, ...]:
    typed = ("model", "quote_model")
    fields = {f.name: getattr(tx, f.name) for f in _TX_FIELDS if f.name not in typed}
    return rebuilt_transaction, (fields,)


_TX_FIELDS = dataclasses.fields(Transaction)

PICKLING: Mapping[type, Callable[[Any], tuple[Any, ...]]] = {
    Message: _reduce_message,
    RegisteredCredential: _reduce_credential,
    Transaction: _reduce_transaction,
}


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
            from tpsim.auth.fido import verify_attestation  # fido2: only for attestations

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
