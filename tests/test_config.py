"""Config files: every mistake is a ConfigError naming the file, the key path and the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.scheme import default_config_data
from tpsim.config import load_config, parse_config
from tpsim.config import overlay as merge
from tpsim.config_settings import Profile
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
    (
        "endpoint with a query string",
        with_participants({"fsp_id": "x", "kind": "dfsp", "endpoint": "http://a/?x=1"}),
        "participants.4.endpoint: endpoint 'http://a/?x=1' must not have a query string",
    ),
    (
        "endpoint with user info",
        with_participants({"fsp_id": "x", "kind": "dfsp", "endpoint": "http://u:p@a/"}),
        "participants.4.endpoint: endpoint 'http://u:p@a/' must not carry a user name",
    ),
    (
        "endpoint without a host",
        with_participants({"fsp_id": "x", "kind": "dfsp", "endpoint": "https:///x"}),
        "participants.4.endpoint: endpoint 'https:///x' needs a host",
    ),
    ("header timeout of zero", {"server": {"header_timeout_s": 0}}, "server.header_timeout_s"),
    ("idle timeout of a day", {"server": {"idle_timeout_s": 86400}}, "server.idle_timeout_s"),
    ("no connections", {"server": {"max_connections": 0}}, "server.max_connections"),
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


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:5000", "https://pisp.example/api/v1/", "http://[::1]:8080", "HTTP://a"],
)
def test_a_plain_http_base_url_is_an_endpoint(endpoint: str) -> None:
    config = parse_config(with_participants({"fsp_id": "x", "kind": "dfsp", "endpoint": endpoint}))
    assert config.participant("x").endpoint == endpoint  # type: ignore[union-attr]


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("hub:\n  name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.yaml: not UTF-8 text: byte 0xe9 at offset 16"):
        load_config(path)


def test_a_file_nested_too_deep_is_a_config_error_not_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("hub: " + "[" * 1000 + "]" * 1000)
    with pytest.raises(ConfigError, match=r"nested more than 64 levels deep \(line 1, column"):
        load_config(path)


def test_connection_limits_default_within_a_minute() -> None:
    limits = load_config().server
    assert limits.header_timeout_s <= 60 and limits.idle_timeout_s <= 60
    assert limits.max_connections < 1024  # the usual open-file limit, shared with deliveries


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
    # Bob's party goes with his account (a party is paid into an account of its DFSP).
    sim = Simulation(parse_config(merge(DEFAULT, {"accounts": accounts, "parties": []})))
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
    config = parse_config(merge(DEFAULT, {"accounts": accounts, "parties": []}))
    with pytest.raises(ConfigError, match=r"accounts\.1: DE89370400440532013000 already names"):
        Simulation(config)


PARTY = DEFAULT["parties"][0]  # Bob, at dfspb, paid into dfspb.bob.chequing

# A config that loads but has the ALS or a payee DFSP answer wrongly at run time.
MISLEADING: list[tuple[str, dict[str, Any], str]] = [
    (
        "participant named as the hub but for case",
        with_participants({"fsp_id": "SWITCH", "kind": "pisp", "endpoint": "http://a"}),
        "participants.4.fsp_id: 'SWITCH' is the hub's name (hub.name: switch)",
    ),
    (
        "party declared twice",
        {"parties": [PARTY, {**PARTY, "fsp_id": "dfspa", "account": "dfspa.alice.chequing"}]},
        "parties.1: MSISDN 16135551212 is declared twice (first as parties.0): keep one",
    ),
    (
        "party paid into another bank's account",
        {"parties": [{**PARTY, "account": "dfspa.alice.chequing"}]},
        "parties.0.account: 'dfspa.alice.chequing' is an account of dfspa, not of the party's"
        " DFSP dfspb",
    ),
    (
        "party paid into no account",
        {"parties": [{**PARTY, "account": "dfspb.nobody"}]},
        "parties.0.account: 'dfspb.nobody' is not one of the accounts",
    ),
    (
        "party of a simulated DFSP paid into no account",
        {"parties": [{**PARTY, "account": None}]},
        "parties.0: a party of dfspb, which tpsim plays, is paid into one of its accounts",
    ),
    (
        "party held by a PISP",
        {"parties": [{**PARTY, "fsp_id": "pispa", "account": None}]},
        "parties.0.fsp_id: 'pispa' is a participant of kind pisp; name one of kind dfsp",
    ),
    (
        "account at the auth-service",
        {"accounts": [{**DEFAULT["accounts"][0], "fsp_id": "central-auth"}], "parties": []},
        "accounts.0.fsp_id: 'central-auth' is a participant of kind auth-service",
    ),
    (
        "user at a PISP",
        {"users": [{"user_id": "carol", "fsp_id": "pispa"}]},
        "users.0.fsp_id: 'pispa' is a participant of kind pisp",
    ),
    (
        "consent given to a DFSP",
        {"consents": [{**DEFAULT["consents"][0], "pisp": "dfspb"}]},
        "consents.0.pisp: 'dfspb' is a participant of kind dfsp; name one of kind pisp",
    ),
    (
        "consent held by the auth-service",
        {"consents": [{**DEFAULT["consents"][0], "dfsp": "central-auth"}]},
        "consents.0.dfsp: 'central-auth' is a participant of kind auth-service",
    ),
]


@pytest.mark.parametrize(
    ("case", "overrides", "message"), MISLEADING, ids=[c[0] for c in MISLEADING]
)
def test_a_config_that_would_misroute_or_mispay_is_refused(
    case: str, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(merge(DEFAULT, overrides), file="scheme.yaml")
    assert message in str(error.value)


def test_a_party_of_an_external_dfsp_needs_no_account() -> None:
    dfspx = {"fsp_id": "dfspx", "kind": "dfsp", "endpoint": "http://127.0.0.1:4005"}
    data = merge(
        DEFAULT,
        {
            "participants": [*DEFAULT["participants"], dfspx],
            "parties": [PARTY, {"party_identifier": "15550001", "fsp_id": "dfspx"}],
        },
    )
    assert parse_config(data).parties[1].account is None


def test_one_identifier_with_two_sub_ids_is_two_parties() -> None:
    work = {**PARTY, "party_sub_id_or_type": "work"}
    config = parse_config(merge(DEFAULT, {"parties": [PARTY, work]}))
    assert len(config.parties) == 2


LINED = """\
participants:
  - fsp_id: pispa
    kind: pisp
    endpoint: http://127.0.0.1:5000
  - fsp_id: dfspb
    kind: dfsp
    simulated: true
accounts:
  - address: dfspb.bob.chequing
    fsp_id: dfspb
    owner: bob
    currency: USD
parties:
  - party_identifier: "16135551212"
    fsp_id: dfspb
    account: dfspb.bob.chequing
  - party_identifier: "16135551212"
    fsp_id: dfspb
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            ("endpoint: http://127.0.0.1:5000", "endpoint: ftp://127.0.0.1"),
            "participants.0.endpoint (line 4): endpoint 'ftp://127.0.0.1' must be",
            id="a key's value: the key's line",
        ),
        pytest.param(
            ("    kind: dfsp\n", ""),
            "participants.1.kind (line 5): Field required",
            id="a key not given: the line of its mapping",
        ),
        pytest.param(
            ("", ""),
            "parties.1 (line 17): MSISDN 16135551212 is declared twice (first as parties.0)",
            id="a check of the whole config: the line of the path it names",
        ),
        pytest.param(
            ("account: dfspb.bob.chequing", "account: dfspb.bob.savings"),
            "parties.0.account (line 16): 'dfspb.bob.savings' is not one of the accounts",
            id="a reference",
        ),
    ],
)
def test_a_refusal_names_the_key_path_and_its_line(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "scheme.yaml"
    path.write_text(LINED.replace(*change) if change[0] else LINED)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}: {message}" in str(error.value)


def test_a_credential_refused_by_config_check_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tpsim.cli import main

    consent = {**DEFAULT["consents"][0], "credential": {"type": "GENERIC", "public_key_pem": "x"}}
    data = merge(DEFAULT, {"consents": [consent]})
    path = tmp_path / "scheme.json"  # JSON is YAML: one key a line, as json.dumps indents
    path.write_text(json.dumps(data, indent=1))
    line = next(
        n
        for n, text in enumerate(path.read_text().splitlines(), 1)
        if text.strip().startswith('"credential"')
    )
    assert main(["config", "check", str(path)]) == 2
    assert f"consents.0.credential (line {line}): " in capsys.readouterr().err


def test_a_tpp_jwks_that_is_no_jwk_set_is_refused_by_config_check_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tpsim config check`` refuses what ``tpsim serve`` refuses: a TPP's keys are read
    with the rest of the config, and the refusal names ``tpps.N.jwks`` and its line."""
    from tpsim.cli import main

    second = {**DEFAULT["tpps"][0], "client_id": "tpp-two", "jwks": {"keys": "not a list"}}
    path = tmp_path / "scheme.json"  # JSON is YAML: one key a line, as json.dumps indents
    path.write_text(json.dumps(merge(DEFAULT, {"tpps": [DEFAULT["tpps"][0], second]}), indent=1))
    lines = path.read_text().splitlines()
    second_at = lines.index('   "client_id": "tpp-two",')
    line = next(n for n in range(second_at, len(lines)) if '"jwks"' in lines[n]) + 1
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: tpps.1.jwks (line {line}): " in err
    assert "tpp-two" in err and "not a JWK Set" in err


def test_a_tpp_jwks_that_is_no_jwk_set_is_refused_wherever_a_config_is_parsed() -> None:
    data = merge(DEFAULT, {"tpps": [{**DEFAULT["tpps"][0], "jwks": {"keys": [{"kty": "RSA"}]}}]})
    with pytest.raises(ConfigError, match=r"tpps\.0\.jwks: .*not a JWK Set"):
        parse_config(data)
