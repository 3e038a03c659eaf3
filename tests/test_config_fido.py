"""FIDO settings and seeded FIDO credentials are checked when the config loads: an
allowed origin a browser can never send, or a FIDO credential whose assertions cannot fit
the schema, is refused with its key path, its line and what to write instead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.scheme import default_config_data
from tpsim.auth import keys
from tpsim.auth.credential import RegisteredCredential
from tpsim.auth.errors import CryptoError
from tpsim.auth.keys import KeyType
from tpsim.config import load_config
from tpsim.config import overlay as merge
from tpsim.errors import ConfigError

DEFAULT = default_config_data()


def _fido_yaml(tmp_path: Path, *origins: str) -> Path:
    path = tmp_path / "scheme.yaml"
    lines = "".join(f"      - {json.dumps(origin)}\n" for origin in origins)
    path.write_text(f"behaviour:\n  fido:\n    allowed_origins:\n{lines}")
    return path


@pytest.mark.parametrize(
    ("entry", "write"),
    [
        pytest.param("https://pisp.example/", "https://pisp.example", id="trailing slash"),
        pytest.param("https://pisp.example/pay", "https://pisp.example", id="a page URL"),
        pytest.param("https://pisp.example:443", "https://pisp.example", id="default port"),
        pytest.param("http://localhost:80", "http://localhost", id="default http port"),
        pytest.param("https://PISP.example", "https://pisp.example", id="upper-case host"),
        pytest.param("HTTPS://pisp.example", "https://pisp.example", id="upper-case scheme"),
        pytest.param("pisp.example", "https://pisp.example", id="no scheme"),
    ],
)
def test_an_allowed_origin_no_browser_sends_is_refused_naming_the_form_that_matches(
    tmp_path: Path, entry: str, write: str
) -> None:
    path = _fido_yaml(tmp_path, "https://ok.example", entry)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"behaviour.fido.allowed_origins.1 (line 5): {entry!r} never equals" in str(error.value)
    assert str(error.value).endswith(f"write {write}")


def test_an_allowed_origin_over_http_off_localhost_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"allowed_origins\.0 \(line 4\): .*must use https"):
        load_config(_fido_yaml(tmp_path, "http://pisp.example"))


@pytest.mark.parametrize(
    "entry",
    ["https://pisp.example", "https://pisp.example:8443", "http://localhost:8080", "https://[::1]"],
)
def test_an_allowed_origin_as_a_browser_serializes_it_loads(tmp_path: Path, entry: str) -> None:
    config = load_config(_fido_yaml(tmp_path, entry))
    assert config.behaviour.fido.allowed_origins == [entry]


def _rsa_pem() -> str:
    return keys.public_key_pem(keys.generate_private_key(KeyType.RSA).public_key())


def test_a_fido_credential_cannot_be_seeded_with_an_rsa_key() -> None:
    with pytest.raises(CryptoError) as info:
        RegisteredCredential.from_public_key_pem(_rsa_pem())
    assert info.value.check == "key_type"
    assert "344" in str(info.value) and "256" in str(info.value)


def test_a_generic_credential_may_be_seeded_with_an_rsa_key() -> None:
    # GenericCredential.signature is a BinaryString: no maximum length.
    seeded = RegisteredCredential.from_public_key_pem(_rsa_pem(), credential_type="GENERIC")
    assert seeded.key_type == "rsa"


@pytest.mark.parametrize(("credential_type", "refused"), [("FIDO", True), ("GENERIC", False)])
def test_config_check_refuses_a_consent_whose_fido_key_is_rsa_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], credential_type: str, refused: bool
) -> None:
    from tpsim.cli import main

    credential = {"type": credential_type, "public_key_pem": _rsa_pem()}
    consent = {**DEFAULT["consents"][0], "credential": credential}
    path = tmp_path / "scheme.json"  # JSON is YAML: one key a line, as json.dumps indents
    path.write_text(json.dumps(merge(DEFAULT, {"consents": [consent]}), indent=1))
    line = next(
        n
        for n, text in enumerate(path.read_text().splitlines(), 1)
        if text.strip().startswith('"credential"')
    )
    assert main(["config", "check", str(path)]) == (2 if refused else 0)
    err = capsys.readouterr().err
    if refused:
        refusal = "a FIDO credential cannot have an RSA key"
        assert f"consents.0.credential (line {line}): {refusal}" in err
        assert "P-256" in err and "secp256k1" in err and "Ed25519" in err
    else:
        assert err == ""


def _rp_id_yaml(tmp_path: Path, rp_id: str, *origins: str) -> Path:
    path = _fido_yaml(tmp_path, *origins)
    path.write_text(path.read_text() + f"    rp_id: {json.dumps(rp_id)}\n")
    return path


@pytest.mark.parametrize(
    ("rp_id", "write"),
    [
        pytest.param("https://pisp.example", "write pisp.example", id="a scheme"),
        pytest.param("pisp.example:8443", "write pisp.example", id="a port"),
        pytest.param("PISP.example", "write pisp.example", id="upper case"),
        pytest.param("pisp.example/", "write pisp.example", id="a path"),
        pytest.param("https://", "write a domain", id="no host"),
    ],
)
def test_an_rp_id_that_is_not_a_bare_lower_case_domain_is_refused_naming_what_to_write(
    tmp_path: Path, rp_id: str, write: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(_rp_id_yaml(tmp_path, rp_id, "https://pisp.example"))
    message = str(error.value)
    assert f"behaviour.fido.rp_id (line 5): {rp_id!r} is not an RP ID" in message
    assert write in message


@pytest.mark.parametrize(
    ("rp_id", "origins"),
    [
        pytest.param("other.example", ["https://pisp.example"], id="another domain"),
        pytest.param("example", ["https://pisp.example"], id="a suffix with no dot"),
        pytest.param("sp.example", ["https://pisp.example"], id="not on a label boundary"),
        pytest.param(
            "pisp.example", ["https://pisp.example", "https://other.example"], id="one of two"
        ),
        pytest.param("app.pisp.example", ["https://pisp.example"], id="a subdomain"),
    ],
)
def test_an_rp_id_no_allowed_origin_may_use_is_refused_naming_the_origin(
    tmp_path: Path, rp_id: str, origins: list[str]
) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(_rp_id_yaml(tmp_path, rp_id, *origins))
    message = str(error.value)
    refused = origins[-1]  # each case's last origin is the one the RP ID does not fit
    assert f"behaviour.fido.rp_id (line {4 + len(origins)}): {rp_id!r}" in message
    assert f"neither the host of {refused} nor a domain suffix of it" in message


@pytest.mark.parametrize(
    ("rp_id", "origins"),
    [
        pytest.param("pisp.example", ["https://pisp.example"], id="the host"),
        pytest.param("pisp.example", ["https://pisp.example:8443"], id="the host, a port"),
        pytest.param(
            "pisp.example", ["https://app.pisp.example", "https://pisp.example"], id="a suffix"
        ),
        pytest.param("localhost", ["http://localhost:8080"], id="localhost"),
        pytest.param("pisp.example", [], id="any origin"),
    ],
)
def test_an_rp_id_every_allowed_origin_may_use_loads(
    tmp_path: Path, rp_id: str, origins: list[str]
) -> None:
    path = _rp_id_yaml(tmp_path, rp_id, *origins) if origins else tmp_path / "scheme.yaml"
    if not origins:
        path.write_text(f"behaviour:\n  fido:\n    rp_id: {rp_id}\n")
    assert load_config(path).behaviour.fido.rp_id == rp_id
