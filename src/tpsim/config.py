"""The config file: parties, accounts, users and consents, and the checks across sections
(the participants and the hub are in ``config_participants``; the settings sections,
``behaviour:``, ``journal:`` and ``server:``, in ``config_settings``).

YAML, snake_case keys, validated by the pydantic models below. ``load_config`` turns
every problem into a ``ConfigError`` naming the file, the key path and what is wrong,
so ``tpsim serve`` exits 2 with a message instead of a traceback.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field, field_validator, model_validator

from tpsim.auth.credential import MAX_SIGN_COUNT

# Re-exported: tpsim.config.Kind and the rest are where users of tpsim.config find them.
from tpsim.config_participants import ENDPOINT_FAMILIES as ENDPOINT_FAMILIES
from tpsim.config_participants import FspIdStr as FspIdStr
from tpsim.config_participants import HubConfig as HubConfig
from tpsim.config_participants import Kind as Kind
from tpsim.config_participants import ParticipantConfig as ParticipantConfig
from tpsim.config_participants import check_endpoint as check_endpoint
from tpsim.config_psd2 import Psd2Settings, TppConfig
from tpsim.config_rules import RuleList, build_rules
from tpsim.config_settings import (
    AuthChannel,
    BehaviourConfig,
    JournalConfig,
    ScopeActionStr,
    ServerConfig,
    Strict,
    amount,
)
from tpsim.config_yaml import line_of, read_yaml
from tpsim.core.rules import Rules
from tpsim.errors import ConfigError
from tpsim.files import read_file

AddressStr = Annotated[
    str, Field(min_length=1, max_length=1023, pattern=r"^([0-9A-Za-z_~\-\.]+[0-9A-Za-z_~\-])$")
]
_CORRELATION_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
# The FSPIOP ``Name`` of an account nickname (PUT /accounts/{ID}).
_NICKNAME = r"^[A-Za-z0-9_ .,'-]*[A-Za-z0-9_.,'-][A-Za-z0-9_ .,'-]*$"
UserIdStr = Annotated[str, Field(min_length=1, max_length=128)]


class PartyConfig(Strict):
    party_id_type: Literal[
        "MSISDN", "EMAIL", "PERSONAL_ID", "BUSINESS", "DEVICE", "ACCOUNT_ID", "IBAN", "ALIAS"
    ] = "MSISDN"
    party_identifier: Annotated[str, Field(min_length=1, max_length=128)]
    party_sub_id_or_type: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    fsp_id: FspIdStr
    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None
    merchant_classification_code: str | None = None
    account: AddressStr | None = Field(
        default=None, description="account credited when this party is paid"
    )


class AccountConfig(Strict):
    address: AddressStr
    fsp_id: FspIdStr
    owner: UserIdStr
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    balance: str = "0"
    nickname: Annotated[str, Field(max_length=128)] = "Account"
    # Aliases PSD2 dialects name the account by (DESIGN.md "Accounts"); each must be unique.
    iban: str | None = None
    # UK.OBIE.SortCodeAccountNumber: the 6-digit sort code, then the 8-digit account number.
    sort_code_account_number: Annotated[str, Field(pattern=r"^\d{14}$")] | None = None

    _balance = field_validator("balance", mode="before")(amount)

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        return None if value is None else check_iban(value)

    @field_validator("nickname")
    @classmethod
    def _name(cls, value: str) -> str:
        # Sent as accountNickname (FSPIOP Name) in PUT /accounts/{ID}.
        if not re.match(_NICKNAME, value):
            raise ValueError(
                f"{value!r} is not an FSPIOP Name: letters, digits, _ .,'- and spaces, not blank"
            )
        return value


def check_iban(value: str) -> str:
    """``value`` as an IBAN in its electronic form (no spaces, upper case), or the
    ``ValueError`` saying why it is not one (ISO 13616: country, check digits, mod 97)."""
    iban = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        raise ValueError(
            f"{value!r} is not an IBAN: 2 letters, 2 check digits, then 11 to 30 letters or"
            " digits (e.g. DE89370400440532013000)"
        )
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    if int(digits) % 97 != 1:
        raise ValueError(f"{value!r} is not an IBAN: its check digits are wrong (mod 97)")
    return iban


def is_iban(value: str) -> bool:
    """Whether ``value`` is an IBAN as written on the wire: its electronic form (no spaces,
    upper case) and its mod-97 check holding (ISO 13616)."""
    try:
        return check_iban(value) == value
    except ValueError:
        return False


class UserConfig(Strict):
    """A user of a simulated DFSP (the ``owner`` of accounts), for linking."""

    user_id: UserIdStr
    fsp_id: FspIdStr
    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    auth_channels: list[AuthChannel] | None = Field(default=None, min_length=1)
    password: Annotated[str, Field(min_length=1)] | None = None


class ScopeConfig(Strict):
    address: AddressStr
    actions: list[ScopeActionStr] = Field(min_length=1, max_length=32)


class CredentialConfig(Strict):
    type: Literal["FIDO", "GENERIC"]
    public_key_pem: str | None = None
    credential_id: str | None = Field(
        default=None, description="FIDO credential id, base64url (optional with a PEM)"
    )
    # The authenticator's signature counter is 32 bits (WebAuthn §6.1 signCount).
    sign_count: int = Field(default=0, ge=0, le=MAX_SIGN_COUNT)
    fido_attestation: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CredentialConfig:
        if (self.public_key_pem is None) == (self.fido_attestation is None):
            raise ValueError("give either 'public_key_pem' or 'fido_attestation'")
        if self.fido_attestation is not None and self.type != "FIDO":
            raise ValueError("'fido_attestation' needs type FIDO")
        return self


class ConsentConfig(Strict):
    consent_id: Annotated[str, Field(pattern=_CORRELATION_ID)]
    pisp: FspIdStr
    dfsp: FspIdStr
    scopes: list[ScopeConfig] = Field(min_length=1, max_length=256)
    status: Literal["ISSUED", "REVOKED"] = "ISSUED"
    credential: CredentialConfig


# The most entries a list may hold, refused at load with the key's line: only the YAML
# value count bounded them, so a generated scheme with a few zeros too many loaded and
# took the memory and the start-up time with it. A large test scheme stays far below:
# the library's has a handful of each, the benchmarks seed one account, user and consent
# per worker (100 at their highest concurrency). Participants and TPPs are fewer than the
# people and accounts they serve: a real scheme has tens of DFSPs, not thousands.
MAX_PARTICIPANTS = 1_000
MAX_TPPS = 1_000
MAX_SCHEME_ENTRIES = 10_000  # parties, accounts, users, consents: each


class Config(Strict):
    hub: HubConfig = HubConfig()
    participants: list[ParticipantConfig] = Field(default_factory=list, max_length=MAX_PARTICIPANTS)
    parties: list[PartyConfig] = Field(default_factory=list, max_length=MAX_SCHEME_ENTRIES)
    accounts: list[AccountConfig] = Field(default_factory=list, max_length=MAX_SCHEME_ENTRIES)
    users: list[UserConfig] = Field(default_factory=list, max_length=MAX_SCHEME_ENTRIES)
    consents: list[ConsentConfig] = Field(default_factory=list, max_length=MAX_SCHEME_ENTRIES)
    tpps: list[TppConfig] = Field(default_factory=list, max_length=MAX_TPPS)
    rules: RuleList = Field(default_factory=list)
    behaviour: BehaviourConfig = BehaviourConfig()
    journal: JournalConfig = JournalConfig()
    server: ServerConfig = ServerConfig()

    @model_validator(mode="after")
    def _references(self) -> Config:
        ids = [p.fsp_id for p in self.participants]
        _unique(ids, "participants", "fsp_id")
        # Case aside: the switch knows its own messages by FSPIOP-Source whatever the case
        # (``wire.headers.forward_headers`` drops the signature of the hub's).
        hub = [i for i, fsp_id in enumerate(ids) if fsp_id.lower() == self.hub.name.lower()]
        if hub:
            raise ValueError(
                f"participants.{hub[0]}.fsp_id: {ids[hub[0]]!r} is the hub's name"
                f" (hub.name: {self.hub.name}): give the participant another"
            )
        _unique([a.address for a in self.accounts], "accounts", "address")
        _unique([c.consent_id for c in self.consents], "consents", "consent_id")
        known = set(ids)
        kinds = {p.fsp_id: p.kind for p in self.participants}
        for i, account in enumerate(self.accounts):
            _known(account.fsp_id, known, f"accounts.{i}.fsp_id")
            _of_kind(account.fsp_id, kinds, Kind.DFSP, f"accounts.{i}.fsp_id")
        held = {a.address: a.fsp_id for a in self.accounts}
        simulated = {p.fsp_id for p in self.participants if p.simulated}
        parties: dict[tuple[str, str, str | None], int] = {}
        for i, party in enumerate(self.parties):
            _known(party.fsp_id, known, f"parties.{i}.fsp_id")
            _party(party, i, kinds, held, parties, simulated=party.fsp_id in simulated)
        for i, user in enumerate(self.users):
            _known(user.fsp_id, known, f"users.{i}.fsp_id")
            _of_kind(user.fsp_id, kinds, Kind.DFSP, f"users.{i}.fsp_id")
        _unique([f"{u.fsp_id}/{u.user_id}" for u in self.users], "users", "user_id")
        for i, consent in enumerate(self.consents):
            _known(consent.pisp, known, f"consents.{i}.pisp")
            _known(consent.dfsp, known, f"consents.{i}.dfsp")
            _of_kind(consent.pisp, kinds, Kind.PISP, f"consents.{i}.pisp")
            _of_kind(consent.dfsp, kinds, Kind.DFSP, f"consents.{i}.dfsp")
        _unique([t.client_id for t in self.tpps], "tpps", "client_id")
        _keys_readable(self.tpps)
        return self

    def participant(self, fsp_id: str) -> ParticipantConfig | None:
        return next((p for p in self.participants if p.fsp_id == fsp_id), None)

    def user(self, fsp_id: str, user_id: str) -> UserConfig | None:
        return next((u for u in self.users if (u.fsp_id, u.user_id) == (fsp_id, user_id)), None)

    def rulebook(self) -> Rules:
        """The rules applied: ``rules:`` in order, then the sandbox personas while
        ``behaviour.psd2.sandbox_rules``."""
        return build_rules(self.rules, sandbox=self.behaviour.psd2.sandbox_rules)

    def tpp(self, client_id: str) -> TppConfig | None:
        return next((t for t in self.tpps if t.client_id == client_id), None)

    def psd2(self, fsp_id: str) -> Psd2Settings:
        """The PSD2 settings of simulated bank ``fsp_id``: ``behaviour.psd2`` with its own."""
        participant = self.participant(fsp_id)
        own = participant.psd2 if participant is not None else None
        return Psd2Settings.of(self.behaviour.psd2, own)

    def ids(self, kind: Kind) -> list[str]:
        """The fspIds of the participants of ``kind``, in the order declared."""
        return [p.fsp_id for p in self.participants if p.kind is kind]


def _unique(values: list[str], section: str, key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise ValueError(f"{section}.{i}.{key}: {value!r} is declared twice")
        seen.add(value)


def _of_kind(fsp_id: str, kinds: dict[str, Kind], kind: Kind, where: str) -> None:
    """Refuse a known participant ``fsp_id`` named at ``where`` that is not of ``kind``."""
    if kinds[fsp_id] is not kind:
        raise ValueError(
            f"{where}: {fsp_id!r} is a participant of kind {kinds[fsp_id].value}; name one"
            f" of kind {kind.value}"
        )


def _party(
    party: PartyConfig,
    i: int,
    kinds: dict[str, Kind],
    held: dict[str, str],
    seen: dict[tuple[str, str, str | None], int],
    *,
    simulated: bool,
) -> None:
    """Refuse what would make the ALS or the payee DFSP answer wrongly for ``party``
    (``parties.{i}``): a party declared twice (a lookup would find the last only), one held
    by no DFSP (the ALS would forward its lookups there), or paid into an account that is
    not one of its DFSP's, or into none at a DFSP tpsim plays (that payee DFSP would
    credit another bank's account, or nobody, and tell the payer the transfer COMMITTED:
    the payer's money gone)."""
    key = (party.party_id_type, party.party_identifier, party.party_sub_id_or_type)
    if key in seen:
        sub = f" {party.party_sub_id_or_type}" if party.party_sub_id_or_type else ""
        raise ValueError(
            f"parties.{i}: {party.party_id_type} {party.party_identifier}{sub} is declared"
            f" twice (first as parties.{seen[key]}): keep one"
        )
    seen[key] = i
    _of_kind(party.fsp_id, kinds, Kind.DFSP, f"parties.{i}.fsp_id")
    if party.account is None:
        if simulated:
            raise ValueError(
                f"parties.{i}: a party of {party.fsp_id}, which tpsim plays, is paid into one"
                " of its accounts: give account (an address of accounts)"
            )
        return
    bank = held.get(party.account)
    if bank is None:
        raise ValueError(
            f"parties.{i}.account: {party.account!r} is not one of the accounts: declare it"
            f" under accounts (fsp_id: {party.fsp_id})"
        )
    if bank != party.fsp_id:
        raise ValueError(
            f"parties.{i}.account: {party.account!r} is an account of {bank}, not of the"
            f" party's DFSP {party.fsp_id}"
        )


def _keys_readable(tpps: list[TppConfig]) -> None:
    """Refuse a TPP's ``jwks`` that is no JWK Set, as the banks' authorisation servers
    would (they are built with their dialect's first request); joserfc is imported only
    when a TPP registers keys."""
    with_keys = [(i, tpp) for i, tpp in enumerate(tpps) if tpp.jwks is not None]
    if not with_keys:
        return
    from tpsim.auth.oauth_jose import jwks_problem

    for i, tpp in with_keys:
        problem = jwks_problem(tpp.jwks or {})
        if problem is not None:
            raise ValueError(f"tpps.{i}.jwks: the keys of tpp {tpp.client_id} are {problem}")


def _known(fsp_id: str, known: set[str], where: str) -> None:
    if fsp_id not in known:
        raise ValueError(f"{where}: {fsp_id!r} is not one of the participants {sorted(known)}")


def parse_config(data: object, *, file: str = "<config>", raw: bytes | None = None) -> Config:
    """Validate a config mapping; every problem becomes a ``ConfigError`` with its key path,
    and its line in ``raw`` (the YAML ``data`` was read from) when given."""
    if not isinstance(data, dict):
        raise ConfigError("the config must be a YAML mapping", file=file)
    try:
        return Config.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(_describe(exc, raw), file=file) from None


def load_config(path: str | Path | None = None, *, pisp_url: str | None = None) -> Config:
    """Load ``path`` (or the built-in default config).

    ``pisp_url`` overrides the endpoint of every external PISP.
    """
    if path is None:
        raw = resources.files("tpsim").joinpath("fixtures/default.yaml").read_bytes()
        name = "<built-in default config>"
    else:
        name = str(path)
        try:
            raw = read_file(path)
        except OSError as exc:
            raise ConfigError(f"cannot read the file: {exc.strerror}", file=name) from None
    data = read_yaml(raw, file=name)
    config = parse_config(data if data is not None else {}, file=name, raw=raw)
    return with_pisp_url(config, pisp_url) if pisp_url else config


def overlay(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied: mappings merge key by key, anything else (lists
    included) replaces."""
    result = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = overlay(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def with_pisp_url(config: Config, url: str, *, given_as: str = "--pisp-url") -> Config:
    """The config with every external PISP's endpoint set to ``url``; a ``ConfigError``
    names the URL as ``given_as`` says it was given."""
    participants = [
        p.model_copy(update={"endpoint": url}) if p.kind is Kind.PISP and not p.simulated else p
        for p in config.participants
    ]
    data = config.model_dump(mode="json")
    data["participants"] = [p.model_dump(mode="json") for p in participants]
    return parse_config(data, file=given_as)


# A check of the whole config names the key path it refuses first: "parties.3.account: …".
_NAMED_PATH = re.compile(r"^([a-z_]+(?:\.[A-Za-z0-9_]+)*): ")


def _describe(exc: pydantic.ValidationError, raw: bytes | None = None) -> str:
    """Each problem as ``key.path: what is wrong`` (``key.path (line N): …`` with ``raw``)."""
    problems = []
    for error in exc.errors()[:10]:
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        loc: tuple[str | int, ...] = tuple(error["loc"])
        named = _NAMED_PATH.match(message) if not where else None
        if named is not None:
            where, message = named.group(1), message[named.end() :]
            loc = tuple(int(p) if p.isdigit() else p for p in where.split("."))
        line = line_of(raw, loc) if raw is not None and loc else None
        if line is not None:
            where = f"{where} (line {line})"
        problems.append(f"{where or '(top level)'}: {message}")
    more = exc.error_count() - len(problems)
    if more > 0:
        problems.append(f"… and {more} more")
    return "; ".join(problems)
