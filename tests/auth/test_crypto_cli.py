"""``tpsim credential`` handlers end to end through a throwaway argparse parser."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tpsim.auth.challenge import consent_challenge
from tpsim.auth.cli import add_credential_commands
from tpsim.auth.fido import OriginPolicy, verify_assertion, verify_attestation
from tpsim.auth.generic import generic_credential, verify_generic

SCOPES = [{"address": "dfspa.username.5678", "actions": ["ACCOUNTS_TRANSFER"]}]


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tpsim")
    add_credential_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["credential", *argv])
    code: int = args.handler(args)
    return code


def test_fido_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "cred.json"
    assert run("new", "--out", str(file)) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["credentialType"], summary["keyType"], len(summary["credentialId"])) == (
        "FIDO",
        "p256",
        86,
    )
    assert file.stat().st_mode & 0o777 == 0o600

    assert (
        run(
            "attest",
            "--credential",
            str(file),
            "--consent-id",
            "c1",
            "--scopes",
            json.dumps(SCOPES),
            "--format",
            "packed",
        )
        == 0
    )
    attestation = json.loads(capsys.readouterr().out)
    challenge = consent_challenge("c1", SCOPES)
    credential = verify_attestation(attestation, challenge=challenge, policy=OriginPolicy())
    assert credential.attestation_type == "self"

    assert (
        run("sign", "--credential", str(file), "--challenge", "unimplemented123", "--update") == 0
    )
    assertion = json.loads(capsys.readouterr().out)
    counter = verify_assertion(
        assertion, challenge="unimplemented123", credential=credential, policy=OriginPolicy()
    )
    assert counter == 1 == json.loads(file.read_text())["counter"]

    assert (
        run(
            "sign",
            *("--credential", str(file), "--challenge", "x", "--broken", "replayed_counter"),
            "--update",
        )
        == 0
    )
    replay = json.loads(capsys.readouterr().out)
    assert json.loads(file.read_text())["counter"] == 1
    with pytest.raises(Exception, match="counter"):
        verify_assertion(
            replay,
            challenge="x",
            credential=credential.with_sign_count(counter),
            policy=OriginPolicy(),
        )


def test_generic_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "generic.json"
    assert run("new", "--type", "generic", "--key", "ed25519", "--out", str(file)) == 0
    capsys.readouterr()
    assert run("attest", "--credential", str(file), "--challenge", "ab" * 32) == 0
    payload = json.loads(capsys.readouterr().out)
    credential = generic_credential(payload["publicKey"], payload["signature"], "ab" * 32)
    assert run("sign", "--credential", str(file), "--challenge", "tx") == 0
    verify_generic(credential, capsys.readouterr().out.strip(), "tx")


def test_new_without_out_prints_the_state(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("new", "--origin", "https://pisp.example") == 0
    state = json.loads(capsys.readouterr().out)
    assert (state["rpId"], state["format"]) == ("pisp.example", "tpsim-credential/1")


def test_challenges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("challenge", "consent", "--consent-id", "c1", "--scopes", json.dumps(SCOPES)) == 0
    assert capsys.readouterr().out.strip() == consent_challenge("c1", SCOPES)
    body = tmp_path / "quote.json"
    body.write_text('{"transferAmount": {"amount": "1", "currency": "USD"}}')
    assert run("challenge", "transaction", "--mode", "quote", "--body", str(body)) == 0
    assert len(capsys.readouterr().out.strip()) == 64
    assert run("challenge", "transaction", "--mode", "unimplemented123") == 0
    assert capsys.readouterr().out.strip() == "unimplemented123"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("attest", "--credential", "{missing}", "--challenge", "ab"), "no such file; give"),
        (
            ("sign", "--credential", "alice-fido", "--challenge", "ab"),
            "copy it first with `tpsim credential export alice-fido",
        ),
        (
            ("attest", "--credential", "{file}", "--challenge", "xyz"),
            "--challenge 'xyz' is not hex",
        ),
        (("attest", "--credential", "{file}", "--challenge", "ab cd"), "not hex"),
        (("attest", "--credential", "{file}", "--challenge", ""), "not hex"),
        (("attest", "--credential", "{file}", "--consent-id", "c1"), "--consent-id needs --scopes"),
        (("attest", "--credential", "{file}", "--consent-id", "c1", "--scopes", "[1"), "not JSON"),
        (
            ("attest", "--credential", "{file}", "--consent-id", "c1", "--scopes", "{}"),
            "JSON array",
        ),
        (
            (
                "attest",
                "--credential",
                "{file}",
                "--consent-id",
                "c1",
                "--scopes",
                '[{"address": "a"}]',
            ),
            "actions",
        ),
        (
            (
                "attest",
                "--credential",
                "{file}",
                "--challenge",
                "ab",
                "--broken",
                "replayed_counter",
            ),
            "does not apply",
        ),
        (
            ("sign", "--credential", "{file}", "--challenge", "x", "--broken", "replayed_counter"),
            "nothing to replay",
        ),
        (("sign", "--credential", "{file}", "--challenge", "\u20ac"), "Latin-1"),
        (("new", "--out", "{file}"), "exists"),
        (("new", "--type", "fido", "--key", "rsa"), "cannot be RSA"),
        (("challenge", "transaction", "--mode", "quote"), "give it with --body FILE"),
        (
            ("challenge", "transaction", "--mode", "authorization-request"),
            "POST /thirdpartyRequests/authorizations body: give it with --body FILE",
        ),
        (("challenge", "transaction", "--mode", "quote", "--body", "{file}x"), "No such file"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], words: str
) -> None:
    file = tmp_path / "cred.json"
    assert run("new", "--out", str(file)) == 0
    capsys.readouterr()
    missing = tmp_path / "missing.json"
    args = [a.replace("{file}", str(file)).replace("{missing}", str(missing)) for a in argv]
    assert run(*args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert words in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize(
    "argv",
    [("sign", "--challenge", "x"), ("attest", "--challenge", "ab")],
    ids=["sign", "attest"],
)
def test_a_credential_file_that_is_no_utf8_text_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    binary = tmp_path / "key.der"
    binary.write_bytes(b"\x30\x82\xff\xfe")
    assert run(*argv, "--credential", str(binary)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{binary}: not a tpsim credential file (not UTF-8 text" in captured.err


def test_argparse_refuses_unknown_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run("sign", "--credential", "x", "--challenge", "y", "--broken", "nope")
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("scopes", "words"),
    [
        ('[{"address": 1, "actions": 1}]', "--scopes[0].address must be a non-empty string"),
        ('[{"address": "", "actions": ["ACCOUNTS_TRANSFER"]}]', "--scopes[0].address must be"),
        ('[{"address": "a.b", "actions": 1}]', "--scopes[0].actions must be a non-empty array"),
        ('[{"address": "a.b", "actions": []}]', "--scopes[0].actions must be a non-empty array"),
        ('[{"address": "a.b", "actions": [1]}]', "--scopes[0].actions[0] must be a string"),
        (
            '[{"address": "a.b", "actions": ["ACCOUNTS_TRANSFER"]}, {"address": null,'
            ' "actions": ["ACCOUNTS_TRANSFER"]}]',
            "--scopes[1].address must be a non-empty string",
        ),
        ("[]", "--scopes must hold at least one scope"),
    ],
)
@pytest.mark.parametrize("command", ["attest", "challenge"])
def test_scopes_of_the_wrong_types_exit_2_naming_what_is_wrong(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    scopes: str,
    words: str,
    command: str,
) -> None:
    """A consent's scopes are ``{address: string, actions: [string, …]}`` (spec ``Scope``):
    scopes of other types derive a challenge no consent can have."""
    file = tmp_path / "cred.json"
    assert run("new", "--out", str(file)) == 0
    capsys.readouterr()
    given = ("--consent-id", "c1", "--scopes", scopes)
    argv = (
        ("attest", "--credential", str(file)) if command == "attest" else ("challenge", "consent")
    )
    assert run(*argv, *given) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert words in captured.err and "Traceback" not in captured.err
