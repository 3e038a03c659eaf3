"""``tpsim credential …``: the software authenticator and challenge derivation on the CLI.

``add_credential_commands(subparsers)`` registers the commands on the top-level parser;
every leaf parser sets ``handler`` so the caller runs ``args.handler(args)`` and exits
with the returned code (0 ok, 2 bad input, message on stderr, never a traceback)::

    tpsim credential new [--type fido|generic] [--key p256|secp256k1|rsa|ed25519]
                         [--origin URL] [--rp-id ID] [--out FILE]
    tpsim credential attest --credential FILE (--challenge HEX | --consent-id ID --scopes JSON)
                            [--format none|packed|fido-u2f] [--broken VARIANT]
    tpsim credential sign --credential FILE --challenge STRING [--broken VARIANT]
    tpsim credential challenge consent --consent-id ID --scopes JSON
    tpsim credential challenge transaction --mode MODE [--body FILE]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tpsim.auth.authenticator import DEFAULT_ORIGIN, SoftwareAuthenticator
from tpsim.auth.broken import Broken
from tpsim.auth.challenge import consent_challenge, transaction_challenge
from tpsim.auth.keys import KeyType
from tpsim.errors import TpsimError

Handler = Callable[[argparse.Namespace], int]
_BROKEN = [b.value for b in Broken]


class UsageError(Exception):
    """Bad command-line input that argparse cannot see (exit code 2)."""


def add_credential_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``credential`` and its sub-commands to ``subparsers``; return its parser."""
    credential = subparsers.add_parser(
        "credential", help="software authenticator: make credentials, attest, sign, challenges"
    )
    commands = credential.add_subparsers(dest="credential_command", required=True)

    new = commands.add_parser("new", help="create a credential and its state file")
    new.add_argument("--type", choices=["fido", "generic"], default="fido")
    new.add_argument("--key", choices=[k.value for k in KeyType], default=KeyType.P256.value)
    new.add_argument("--origin", default=DEFAULT_ORIGIN, help="WebAuthn origin (FIDO)")
    new.add_argument("--rp-id", help="RP ID (default: the origin's host)")
    new.add_argument("--out", type=Path, help="state file to create (default: print it)")
    new.set_defaults(handler=run_new)

    attest = commands.add_parser("attest", help="print the credential payload for PUT /consents")
    attest.add_argument("--credential", type=Path, required=True)
    source = attest.add_mutually_exclusive_group(required=True)
    source.add_argument("--challenge", help="consent challenge (hex) as the DFSP derived it")
    source.add_argument("--consent-id", help="derive the challenge from consent id and scopes")
    attest.add_argument("--scopes", help='JSON array, e.g. [{"address":"a.b","actions":[...]}]')
    attest.add_argument("--format", choices=["none", "packed", "fido-u2f"], default="none")
    attest.add_argument("--broken", choices=_BROKEN)
    attest.set_defaults(handler=run_attest)

    sign = commands.add_parser("sign", help="sign a transaction challenge (FIDO: assertion)")
    sign.add_argument("--credential", type=Path, required=True)
    sign.add_argument("--challenge", required=True, help="the challenge exactly as received")
    sign.add_argument("--broken", choices=_BROKEN)
    sign.set_defaults(handler=run_sign)

    challenge = commands.add_parser("challenge", help="derive a challenge")
    kinds = challenge.add_subparsers(dest="challenge_kind", required=True)
    consent = kinds.add_parser("consent", help="consent (registration) challenge")
    consent.add_argument("--consent-id", required=True)
    consent.add_argument("--scopes", required=True, help="JSON array of scopes")
    consent.set_defaults(handler=run_consent_challenge)
    transaction = kinds.add_parser("transaction", help="transaction challenge")
    transaction.add_argument(
        "--mode", required=True, help="quote | authorization-request | a verbatim challenge"
    )
    transaction.add_argument("--body", help="JSON file with the body the mode hashes ('-': stdin)")
    transaction.set_defaults(handler=run_transaction_challenge)
    return credential


def _guarded(handler: Callable[[argparse.Namespace], None]) -> Handler:
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            handler(args)
        except (TpsimError, UsageError, OSError) as exc:
            print(f"tpsim credential: error: {exc}", file=sys.stderr)
            return 2
        return 0

    return run


@_guarded
def run_new(args: argparse.Namespace) -> None:
    """``credential new``: make a credential; write its state file or print it."""
    authenticator = SoftwareAuthenticator.create(
        credential_type="FIDO" if args.type == "fido" else "GENERIC",
        key_type=args.key,
        origin=args.origin,
        rp_id=args.rp_id,
    )
    if args.out is None:
        sys.stdout.write(authenticator.to_json())
        return
    # O_EXCL: never overwrite a credential someone may still need; 0600: it holds a key.
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(authenticator.to_json())
    _print_json(
        {
            "file": str(args.out),
            "credentialType": authenticator.credential_type,
            "keyType": authenticator.key_type.value,
            "credentialId": authenticator.credential_id_b64url,
            "publicKey": authenticator.generic_public_key(),
            "publicKeyPem": authenticator.public_key_pem,
        }
    )


@_guarded
def run_attest(args: argparse.Namespace) -> None:
    """``credential attest``: print the FIDO attestation or the GENERIC credential payload."""
    authenticator = _load(args.credential)
    if args.consent_id is not None:
        if args.scopes is None:
            raise UsageError("--consent-id needs --scopes")
        challenge = consent_challenge(args.consent_id, _scopes(args.scopes))
    else:
        challenge = args.challenge
    if authenticator.credential_type == "GENERIC":
        _print_json(authenticator.generic_payload(challenge, args.broken))
    else:
        _print_json(authenticator.attestation(challenge, args.format, args.broken))


@_guarded
def run_sign(args: argparse.Namespace) -> None:
    """``credential sign``: FIDO prints the assertion and saves the counter; GENERIC a signature."""
    authenticator = _load(args.credential)
    if authenticator.credential_type == "GENERIC":
        print(authenticator.generic_signature(args.challenge, args.broken))
        return
    assertion = authenticator.assertion(args.challenge, args.broken)
    _save(args.credential, authenticator)
    _print_json(assertion)


@_guarded
def run_consent_challenge(args: argparse.Namespace) -> None:
    """``credential challenge consent``: print the consent challenge hex."""
    print(consent_challenge(args.consent_id, _scopes(args.scopes)))


@_guarded
def run_transaction_challenge(args: argparse.Namespace) -> None:
    """``credential challenge transaction``: print the challenge for ``--mode``."""
    body = None if args.body is None else _read_json(args.body)
    if body is not None and not isinstance(body, dict):
        raise UsageError("--body must hold a JSON object")
    print(transaction_challenge(args.mode, quote=body, authorization_request=body))


def _load(path: Path) -> SoftwareAuthenticator:
    return SoftwareAuthenticator.from_json(path.read_text(encoding="utf-8"), source=str(path))


def _save(path: Path, authenticator: SoftwareAuthenticator) -> None:
    # Write beside and rename, so an interrupted run never leaves half a key file.
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(authenticator.to_json())
    os.replace(temporary, path)


def _scopes(text: str) -> list[dict[str, Any]]:
    try:
        scopes = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--scopes is not JSON: {exc}") from None
    if not isinstance(scopes, list) or not all(isinstance(s, dict) for s in scopes):
        raise UsageError('--scopes must be a JSON array of objects {"address", "actions"}')
    return scopes


def _read_json(name: str) -> Any:
    text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{name} is not JSON: {exc}") from None


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))
