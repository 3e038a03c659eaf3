"""WebAuthn Level 3 backup flags: Backup State (BS) without Backup Eligibility (BE) is
invalid authenticator data, refused at registration and in assertions (§6.1.3, §7.1, §7.2).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fido2 import cbor

from tpsim.auth import b64, keys
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.errors import CryptoError
from tpsim.auth.fido import verify_assertion, verify_attestation
from tpsim.auth.origin import OriginPolicy

CHALLENGE = "ab" * 32
BE, BS = 0x08, 0x10
# (flags added to the authenticator's own, accepted)
FLAGS = [
    pytest.param(BS, False, id="BS without BE is refused"),
    pytest.param(BE | BS, True, id="BE and BS (a synced passkey) are accepted"),
    pytest.param(BE, True, id="BE alone (eligible, not yet backed up) is accepted"),
]


def _raw(text: str) -> bytes:
    return b64.decode(text, what="test data", max_chars=4096)


def _with_flags(auth_data: bytes, extra: int) -> bytes:
    return auth_data[:32] + bytes([auth_data[32] | extra]) + auth_data[33:]


def _attestation(authenticator: SoftwareAuthenticator, extra: int) -> dict[str, Any]:
    """A ``none`` attestation (no statement signature) whose authenticator data has ``extra``
    flags set."""
    payload = authenticator.attestation(CHALLENGE)
    att_obj = cbor.decode(_raw(payload["response"]["attestationObject"]))
    att_obj["authData"] = _with_flags(att_obj["authData"], extra)
    payload["response"]["attestationObject"] = b64.b64(cbor.encode(att_obj))
    return payload


def _assertion(authenticator: SoftwareAuthenticator, extra: int) -> dict[str, Any]:
    """An assertion with ``extra`` flags set and signed again, so only the flags are wrong."""
    payload = authenticator.assertion("tx")
    response = payload["response"]
    auth_data = _with_flags(_raw(response["authenticatorData"]), extra)
    client_hash = hashlib.sha256(_raw(response["clientDataJSON"])).digest()
    response["authenticatorData"] = b64.b64(auth_data)
    response["signature"] = b64.b64(keys.sign(authenticator.private_key, auth_data + client_hash))
    return payload


@pytest.mark.parametrize(("extra", "accepted"), FLAGS)
def test_registration_refuses_backup_state_without_backup_eligibility(
    extra: int, accepted: bool
) -> None:
    payload = _attestation(SoftwareAuthenticator.create(), extra)
    if accepted:
        verify_attestation(payload, challenge=CHALLENGE, policy=OriginPolicy())
        return
    with pytest.raises(CryptoError) as info:
        verify_attestation(payload, challenge=CHALLENGE, policy=OriginPolicy())
    assert info.value.check == "backup_state"
    assert "Backup State" in str(info.value) and "Backup Eligibility" in str(info.value)


@pytest.mark.parametrize(("extra", "accepted"), FLAGS)
def test_assertion_refuses_backup_state_without_backup_eligibility(
    extra: int, accepted: bool
) -> None:
    authenticator = SoftwareAuthenticator.create()
    credential = verify_attestation(
        authenticator.attestation(CHALLENGE), challenge=CHALLENGE, policy=OriginPolicy()
    )
    payload = _assertion(authenticator, extra)
    if accepted:
        counter = verify_assertion(
            payload, challenge="tx", credential=credential, policy=OriginPolicy()
        )
        assert counter == 1
        return
    with pytest.raises(CryptoError) as info:
        verify_assertion(payload, challenge="tx", credential=credential, policy=OriginPolicy())
    assert info.value.check == "backup_state"
