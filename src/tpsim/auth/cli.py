"""``tpsim credential …``: the software authenticator and challenge derivation on the CLI.

``add_credential_commands(subparsers)`` registers the commands on the top-level parser;
every leaf parser sets ``handler`` so the caller runs ``args.handler(args)`` and exits
with the returned code (0 ok, 2 bad input, message on stderr, never a traceback)::

    tpsim credential new [--type fido|generic] [--key p256|secp256k1|rsa|ed25519]
                         [--origin URL] [--rp-id ID] [--out FILE]
    tpsim credential attest --credential FILE (--challenge HEX | --consent-id ID --scopes JSON)
                            [--format none|packed|fido-u2f] [--broken VARIANT]
    tpsim credential sign --credential FILE --challenge STRING [--broken VARIANT]
                          [--update | --out FILE]
    tpsim credential list
    tpsim credential export NAME [--out FILE]
    tpsim credential challenge consent --consent-id ID --scopes JSON
    tpsim credential challenge transaction --mode MODE [--body FILE]

The built-in test credentials (those the built-in config's consents hold) ship inside the
package (``tpsim/fixtures/credentials/``): ``list`` names them and ``export`` copies one
out. No command ever writes a file of the package (or one of the repository's
``fixtures/``, which the package's files are): ``sign`` keeps a FIDO credential's advanced
counter only where it is told to, ``--update`` (the file signed with) or ``--out FILE``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import string
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from tpsim.auth.authenticator import DEFAULT_ORIGIN, SoftwareAuthenticator
from tpsim.auth.broken import Broken
from tpsim.auth.challenge import consent_challenge, transaction_challenge
from tpsim.auth.keys import KeyType
from tpsim.errors import TpsimError
from tpsim.files import read_text, replace_text

Handler = Callable[[argparse.Namespace], int]
_BROKEN = [b.value for b in Broken]
BUILTIN_FOLDER = "fixtures/credentials"  # in the tpsim package


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
    keep = sign.add_mutually_exclusive_group()
    keep.add_argument(
        "--update",
        action="store_true",
        help="FIDO: save the advanced counter in the --credential file (never a built-in one)",
    )
    keep.add_argument(
        "--out", type=Path, help="FIDO: write the credential with its advanced counter here"
    )
    sign.set_defaults(handler=run_sign)

    listing = commands.add_parser("list", help="the built-in test credentials")
    listing.set_defaults(handler=run_list)
    export = commands.add_parser("export", help="copy a built-in test credential to a file")
    export.add_argument("name", help="a name `tpsim credential list` shows, e.g. alice-fido")
    export.add_argument("--out", type=Path, help="file to create (default: print it)")
    export.set_defaults(handler=run_export)

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
        except BrokenPipeError:
            raise  # stdout's reader left (`| head`): the command line ends quietly
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
    _create(args.out, authenticator.to_json())
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
        challenge = _hex(args.challenge)
    if authenticator.credential_type == "GENERIC":
        _print_json(authenticator.generic_payload(challenge, args.broken))
    else:
        _print_json(authenticator.attestation(challenge, args.format, args.broken))


def _hex(challenge: str) -> str:
    """``--challenge`` of ``attest``: the consent challenge as the DFSP derived it, hex (a
    SHA-256, 64 digits), or ``UsageError``: anything else no DFSP would have derived."""
    if not challenge or any(c not in string.hexdigits for c in challenge):
        raise UsageError(
            f"--challenge {challenge[:80]!r} is not hex: give the consent challenge as the DFSP"
            " derived it (64 hex digits), or --consent-id and --scopes to derive it here"
        )
    return challenge


@_guarded
def run_sign(args: argparse.Namespace) -> None:
    """``credential sign``: FIDO prints the assertion, GENERIC a signature.

    A FIDO assertion advances the credential's counter, which a verifier keeps (a counter
    that does not grow is a cloned authenticator's): the advanced state is written only
    where the user said, ``--update`` (the credential file itself) or ``--out FILE`` (a new
    file), and never into the package or its built-in files. Without either the counter
    is not kept, and stderr says so."""
    if args.update:
        _refuse_builtin(args.credential, "--update")
    if args.out is not None:
        _refuse_builtin(args.out, "--out")
    authenticator = _load(args.credential)
    if authenticator.credential_type == "GENERIC":
        print(authenticator.generic_signature(args.challenge, args.broken))
        return
    assertion = authenticator.assertion(args.challenge, args.broken)
    if args.update:
        replace_text(args.credential, authenticator.to_json())  # never half a key file
    elif args.out is not None:
        _create(args.out, authenticator.to_json())
    else:
        how = (
            "export it (tpsim credential export NAME --out FILE) and sign that file with --update"
            if _is_builtin(args.credential)
            else "sign with --update (or --out FILE)"
        )
        print(
            f"tpsim credential: note: counter {authenticator.counter} not saved, and a verifier"
            f" refuses a counter that does not grow: to keep it, {how}",
            file=sys.stderr,
        )
    _print_json(assertion)


@_guarded
def run_list(args: argparse.Namespace) -> None:
    """``credential list``: the built-in test credentials, one per line (name, type, key)."""
    for name, text in builtin_credentials().items():
        authenticator = SoftwareAuthenticator.from_json(text, source=name)
        kind = f"{authenticator.credential_type} {authenticator.key_type.value}"
        print(f"{name}\t{kind}\t(test key: never use it for anything real)")


@_guarded
def run_export(args: argparse.Namespace) -> None:
    """``credential export NAME``: the built-in credential's file, as shipped, written to
    ``--out`` (created, never overwritten, mode 0600) or printed."""
    shipped = builtin_credentials()
    if args.name not in shipped:
        known = ", ".join(shipped) or "none"
        raise UsageError(f"no built-in credential {args.name!r} (built-in: {known})")
    if args.out is None:
        sys.stdout.write(shipped[args.name])
        return
    _refuse_builtin(args.out, "--out")
    _create(args.out, shipped[args.name])
    fido = SoftwareAuthenticator.from_json(shipped[args.name]).credential_type == "FIDO"
    hint = " (sign with --update to keep its counter)" if fido else ""
    print(f"{args.out}: {args.name} exported{hint}")


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
    hashed = {
        "quote": "PUT /quotes/{ID}",
        "authorization-request": "POST /thirdpartyRequests/authorizations",
    }
    if body is None and args.mode in hashed:
        raise UsageError(
            f"--mode {args.mode} hashes the {hashed[args.mode]} body: give it with --body FILE"
            " ('-': stdin)"
        )
    print(transaction_challenge(args.mode, quote=body, authorization_request=body))


def _load(path: Path) -> SoftwareAuthenticator:
    """The credential in file ``path``; a file that is no UTF-8 text (a key in DER, a
    binary named by mistake) is bad input, as a file that is no credential is."""
    try:
        text = read_text(path)
    except FileNotFoundError:
        hint = "give the credential file `tpsim credential new` or `export` wrote"
        if path.name in builtin_credentials():
            hint = (
                f"{path.name} is a built-in credential: copy it first with"
                f" `tpsim credential export {path.name} --out {path.name}.json`"
            )
        raise UsageError(f"--credential {path}: no such file; {hint}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: not a tpsim credential file (not UTF-8 text: {exc.reason})"
        ) from None
    return SoftwareAuthenticator.from_json(text, source=str(path))


def builtin_credentials() -> dict[str, str]:
    """The built-in credentials' files as shipped, by name (read from the installed
    package, so they are reached from a wheel with no repository beside it)."""
    folder = resources.files("tpsim").joinpath(BUILTIN_FOLDER)
    found = sorted(
        (entry.name.removesuffix(".json"), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    )
    return dict(found)


def _is_builtin(path: Path) -> bool:
    """Whether ``path`` is in the installed package, or is the same file as a built-in
    credential (in a checkout, the package's credentials are links to the repository's
    ``fixtures/credentials/``, which a commit would then carry)."""
    package = Path(str(resources.files("tpsim")))
    roots = (package, package.resolve())
    where = (Path(os.path.abspath(path)), path.resolve())
    if any(p.is_relative_to(root) for p in where for root in roots):
        return True
    return any(
        _same_file(path, package / BUILTIN_FOLDER / f"{n}.json") for n in builtin_credentials()
    )


# The name scenario/pisp_client.py imports today; drop once it imports builtin_credentials.
_builtins = builtin_credentials


def _refuse_builtin(path: Path, option: str) -> None:
    """Refuse to write ``path`` when ``_is_builtin``: the built-ins stay as shipped."""
    if _is_builtin(path):
        raise UsageError(
            f"{option} {path}: that is one of tpsim's built-in credentials (or inside the"
            " installed package), which stay as shipped: copy it first with `tpsim credential"
            " export NAME --out FILE` and sign with that file"
        )


def _same_file(path: Path, other: Path) -> bool:
    try:
        return path.exists() and os.path.samefile(path, other)
    except OSError:
        return False


def _create(path: Path, text: str) -> None:
    """A new file holding ``text``: O_EXCL never overwrites a credential someone may still
    need; 0600, as it holds a private key."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} exists already: give another file name, or remove it") from None
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


def _scopes(text: str) -> list[dict[str, Any]]:
    """``--scopes``: a consent's scopes (spec ``Scope``: ``address`` a string, ``actions``
    an array of strings). Scopes of other types would give a challenge that no consent can
    have, so they are refused here, naming what is wrong, rather than hashed."""
    try:
        scopes = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--scopes is not JSON: {exc}") from None
    if not isinstance(scopes, list) or not all(isinstance(s, dict) for s in scopes):
        raise UsageError('--scopes must be a JSON array of objects {"address", "actions"}')
    if not scopes:
        raise UsageError(f"--scopes must hold at least one scope, e.g. {_SCOPE_EXAMPLE}")
    for index, scope in enumerate(scopes):
        problem = _scope_problem(scope)
        if problem is not None:
            raise UsageError(f"--scopes[{index}].{problem}, e.g. {_SCOPE_EXAMPLE}")
    return scopes


_SCOPE_EXAMPLE = '[{"address":"dfspa.alice.chequing","actions":["ACCOUNTS_TRANSFER"]}]'


def _scope_problem(scope: dict[str, Any]) -> str | None:
    """What is wrong with one scope's types (None: nothing); a missing key is left to
    ``consent_challenge``, which names it."""
    address, actions = scope.get("address", "-"), scope.get("actions", ["-"])
    if not isinstance(address, str) or not address:
        return (
            f"address must be a non-empty string (the account address), not {json.dumps(address)}"
        )
    if not isinstance(actions, list) or not actions:
        return f"actions must be a non-empty array of strings, not {json.dumps(actions)}"
    for number, action in enumerate(actions):
        if not isinstance(action, str):
            shown = json.dumps(action)
            return f"actions[{number}] must be a string (e.g. ACCOUNTS_TRANSFER), not {shown}"
    return None


def _read_json(name: str) -> Any:
    """The JSON in file ``name`` (``-``: standard input), at most 16 MiB of UTF-8."""
    try:
        return json.loads(read_text(name))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name} is not UTF-8 text: {exc.reason}") from None
    except ValueError as exc:
        raise UsageError(f"{name} is not JSON: {exc}") from None


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))
