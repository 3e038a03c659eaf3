"""Throughput of tpsim's crypto on one core: verifications and challenge derivations per second.

Run: ``python benchmarks/bench_crypto.py [--seconds 1.0]``. Each line is one operation
repeated for about ``--seconds``; the process is pinned to one CPU where the OS allows.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.challenge import consent_challenge, transaction_challenge
from tpsim.auth.fido import OriginPolicy, verify_assertion, verify_attestation
from tpsim.auth.generic import generic_credential, verify_generic

VECTORS = Path(__file__).resolve().parent.parent / "tests" / "vectors"
POLICY = OriginPolicy(allowed_origins=("http://localhost:8080",))
CONSENT = "ab" * 32


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``operation`` over about ``seconds`` (after a short warm-up)."""
    for _ in range(20):
        operation()
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            operation()
        calls += 50
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def quote_body() -> dict[str, Any]:
    """A PUT /quotes body of about 860 bytes, like the one in python-deps-notes."""
    money = {"currency": "USD", "amount": "100"}
    return {
        "transferAmount": money,
        "payeeReceiveAmount": {"currency": "USD", "amount": "99"},
        "payeeFspFee": {"currency": "USD", "amount": "1"},
        "payeeFspCommission": {"currency": "USD", "amount": "0"},
        "expiration": "2030-01-01T00:00:00.000Z",
        "ilpPacket": base64.urlsafe_b64encode(bytes(range(256)) * 2).decode()[:486],
        "condition": "HOr22-H3AfTDHrSkPjJtVPRdKouuMkDXTR4ejlQa8Ks",
        "extensionList": {"extension": [{"key": "k", "value": "v"}]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    seconds = parser.parse_args().seconds
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    fido = json.loads((VECTORS / "fido_vectors.json").read_text())["A_localhost8080_be433b9e"]
    challenges = json.loads((VECTORS / "challenge_vectors.json").read_text())
    auth_request = challenges["thirdparty_sdk_transaction_challenge"]["authRequestPartial"]
    consent = fido["consent"]
    consent_hex = consent_challenge(consent["consentId"], consent["scopes"])
    yubikey = verify_attestation(fido["attestation"], challenge=consent_hex, policy=POLICY)

    authenticator = SoftwareAuthenticator.create()
    none_payload = authenticator.attestation(CONSENT, fmt="none")
    packed_payload = authenticator.attestation(CONSENT, fmt="packed")
    software = verify_attestation(none_payload, challenge=CONSENT, policy=POLICY)
    assertion = authenticator.assertion("tx")

    generic: list[tuple[str, Callable[[], object]]] = []
    for key_type in ("p256", "secp256k1", "rsa", "ed25519"):
        signer = SoftwareAuthenticator.create(credential_type="GENERIC", key_type=key_type)
        credential = generic_credential(
            signer.generic_public_key(), signer.generic_signature(CONSENT), CONSENT
        )
        signature = signer.generic_signature("tx")
        generic.append(
            (
                f"GENERIC verify {key_type} (stored credential)",
                lambda c=credential, s=signature: verify_generic(c, s, "tx"),
            )
        )
    quote = quote_body()

    rows: list[tuple[str, Callable[[], object]]] = [
        (
            "assertion verify, YubiKey vector A (ES256)",
            lambda: verify_assertion(
                fido["assertion"], challenge="unimplemented123", credential=yubikey, policy=POLICY
            ),
        ),
        (
            "assertion verify, software authenticator (ES256)",
            lambda: verify_assertion(assertion, challenge="tx", credential=software, policy=POLICY),
        ),
        (
            "attestation verify, fmt none",
            lambda: verify_attestation(none_payload, challenge=CONSENT, policy=POLICY),
        ),
        (
            "attestation verify, fmt packed (self)",
            lambda: verify_attestation(packed_payload, challenge=CONSENT, policy=POLICY),
        ),
        (
            "attestation verify, fido-u2f YubiKey vector A",
            lambda: verify_attestation(fido["attestation"], challenge=consent_hex, policy=POLICY),
        ),
        *generic,
        (
            "challenge, authorization-request mode",
            lambda: transaction_challenge(
                "authorization-request", authorization_request=auth_request
            ),
        ),
        (
            "challenge, quote mode (~860-byte quote)",
            lambda: transaction_challenge("quote", quote=quote),
        ),
        (
            "challenge, consent (2 scopes)",
            lambda: consent_challenge(consent["consentId"], consent["scopes"]),
        ),
    ]
    print(
        f"tpsim crypto benchmark: Python {platform.python_version()}, one core, {seconds:g} s each"
    )
    for name, operation in rows:
        per_second = rate(operation, seconds)
        print(f"{name:<52} {per_second:>10,.0f} /s  {1e6 / per_second:>8.1f} µs")


if __name__ == "__main__":
    main()
