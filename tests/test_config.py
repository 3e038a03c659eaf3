"""Config files: every mistake is a ConfigError naming the file, the key path and the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.scheme import default_config_data
from tpsim.config import Profile, load_config, parse_config
from tpsim.config import overlay as merge
from tpsim.errors import ConfigError
from tpsim.serve.simulation import Simulation

DEFAULT = default_config_data()


def with_participants(*extra: dict[str, Any]) -> dict[str, Any]:
    return {"participants": [*DEFAULT["participants"], *extra]}


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("unknown key", {"behavior": {}}, "behavior: Extra inputs are not permitted"),
    (
        "both simulated and endpoint",
        with_participants(
            {"fsp_id": "x", "kind": "dfsp", "simulated": True, "endpoint": "http://a"}
        ),
        "participants.4: give either 'simulated: true' or 'endpoint: URL'",
    ),
    (
        "bad endpoint",
        with_participants({"fsp_id": "x", "kind": "dfsp", "endpoint": "ftp://a"}),
        "must be an http:// or https:// URL",
    ),
    (
        "unknown kind",
        with_participants({"fsp_id": "x", "kind": "bank", "simulated": True}),
        "participants.4.kind",
    ),
    (
        "duplicate participant",
        with_participants({"fsp_id": "dfspa", "kind": "dfsp", "simulated": True}),
        "participants.4.fsp_id: 'dfspa' is declared twice",
    ),
    ("bad profile", {"behaviour": {"profile": "strict"}}, "behaviour.profile"),
    (
        "amount with trailing zeros",
        {"behaviour": {"payee_fees": {"fee": "1.50"}}},
        "is not an FSPIOP Amount",
    ),
    (
        "account at an unknown DFSP",
        {"accounts": [{"address": "a.b", "fsp_id": "nobody", "owner": "u", "currency": "USD"}]},
        "accounts.0.fsp_id: 'nobody' is not one of the participants",
    ),
    (
        "consent id not a UUID",
        {"consents": [{**DEFAULT["consents"][0], "consent_id": "123"}]},
        "consents.0.consent_id",
    ),
    (
        "credential without key",
        {"consents": [{**DEFAULT["consents"][0], "credential": {"type": "FIDO"}}]},
        "give either 'public_key_pem' or 'fido_attestation'",
    ),
    ("negative timeout", {"behaviour": {"authorization_timeout_s": 0}}, "authorization_timeout_s"),
    (
        "nickname that is no FSPIOP Name",
        {"accounts": [{**DEFAULT["accounts"][0], "nickname": "Alice (main)"}]},
        "accounts.0.nickname: 'Alice (main)' is not an FSPIOP Name",
    ),
    (
        "user at an unknown DFSP",
        {"users": [{"user_id": "carol", "fsp_id": "nobody"}]},
        "users.0.fsp_id: 'nobody' is not one of the participants",
    ),
    (
        "user declared twice",
        {"users": [{"user_id": "carol", "fsp_id": "dfspa"}] * 2},
        "users.1.user_id: 'dfspa/carol' is declared twice",
    ),
    (
        "unknown channel",
        {"behaviour": {"linking": {"auth_channels": ["SMS"]}}},
        "behaviour.linking.auth_channels.0",
    ),
    (
        "channel twice",
        {"behaviour": {"linking": {"auth_channels": ["OTP", "OTP"]}}},
        "behaviour.linking.auth_channels: list each channel once",
    ),
    (
        "user's channels empty",
        {"users": [{"user_id": "carol", "fsp_id": "dfspa", "auth_channels": []}]},
        "users.0.auth_channels",
    ),
    (
        "fixed OTP a PISP cannot send",
        {"behaviour": {"linking": {"otp": {"fixed": "12 34"}}}},
        "behaviour.linking.otp.fixed",
    ),
    ("no attempts", {"behaviour": {"linking": {"max_attempts": 0}}}, "linking.max_attempts"),
    (
        "allowlist entry without a scheme",
        {"behaviour": {"linking": {"callback_uri_allowlist": ["pisp.example/cb"]}}},
        "behaviour.linking.callback_uri_allowlist.0",
    ),
    (
        "IBAN with wrong check digits",
        {"accounts": [{**DEFAULT["accounts"][0], "iban": "DE88370400440532013000"}]},
        "accounts.0.iban: 'DE88370400440532013000' is not an IBAN: its check",
    ),
    (
        "IBAN of the wrong shape",
        {"accounts": [{**DEFAULT["accounts"][0], "iban": "12345"}]},
        "accounts.0.iban: '12345' is not an IBAN: 2 letters",
    ),
    (
        "sort code and account number of the wrong length",
        {"accounts": [{**DEFAULT["accounts"][0], "sort_code_account_number": "1234"}]},
        "accounts.0.sort_code_account_number",
    ),
    (
        "public URL that is not http",
        {"behaviour": {"linking": {"web": {"public_url": "ftp://tpsim"}}}},
        "behaviour.linking.web.public_url: 'ftp://tpsim' must be an http:// or https:// URL",
    ),
]


@pytest.mark.parametrize(("case", "overrides", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_config_names_key_path(case: str, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(merge(DEFAULT, overrides), file="scheme.yaml")
    assert str(error.value).startswith("scheme.yaml: ")
    assert message in str(error.value)


def test_unusable_public_key_is_a_config_error() -> None:
    consent = merge(DEFAULT["consents"][0], {"credential": {"public_key_pem": "not a key"}})
    config = parse_config(merge(DEFAULT, {"consents": [consent]}))
    with pytest.raises(ConfigError, match=r"consents\.0\.credential"):
        Simulation(config)


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("hub: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config("/nonexistent/tpsim.yaml")


def test_default_config_and_pisp_url() -> None:
    config = load_config(pisp_url="http://127.0.0.1:6123")
    assert config.hub.name == "switch"
    assert config.behaviour.profile is Profile.SPEC
    assert config.behaviour.challenge == "quote"
    assert config.participant("pispa").endpoint == "http://127.0.0.1:6123"  # type: ignore[union-attr]
    assert [p.fsp_id for p in config.participants if p.simulated] == [
        "dfspa",
        "dfspb",
        "central-auth",
    ]


def test_account_aliases_find_the_account() -> None:
    accounts = [
        {**DEFAULT["accounts"][0], "iban": "de89 3704 0044 0532 0130 00"},
        {**DEFAULT["accounts"][1], "sort_code_account_number": "40400112345678"},
    ]
    sim = Simulation(parse_config(merge(DEFAULT, {"accounts": accounts})))
    bank = sim.state.bank
    by_iban = bank.accounts.find("DE89370400440532013000")  # stored in electronic form
    by_sort_code = bank.accounts.find("40400112345678")
    assert by_iban is not None and by_iban.address == accounts[0]["address"]
    assert by_sort_code is not None and by_sort_code.address == accounts[1]["address"]


def test_an_alias_naming_two_accounts_is_a_config_error() -> None:
    accounts = [
        {**DEFAULT["accounts"][0], "iban": "DE89370400440532013000"},
        {**DEFAULT["accounts"][1], "iban": "DE89370400440532013000"},
    ]
    config = parse_config(merge(DEFAULT, {"accounts": accounts}))
    with pytest.raises(ConfigError, match=r"accounts\.1: DE89370400440532013000 already names"):
        Simulation(config)
