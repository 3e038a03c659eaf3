"""Base64 as Mojaloop sends it: standard or URL alphabet, padded or not.

Real Third Party payloads mix encodings within one object (spec §8: FIDO ``id`` is
base64url without padding, ``rawId`` and the ``response`` fields are padded standard
base64; ``BinaryString`` fields use the URL alphabet), so every decoder here accepts both
alphabets and optional padding, and refuses anything else with a coded error.
"""

from __future__ import annotations

import base64
import binascii
import re

from tpsim.auth.errors import CryptoError

_LENIENT = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def decode(text: object, *, what: str, max_chars: int) -> bytes:
    """Decode ``text`` leniently (either alphabet, padding optional) into bytes.

    ``what`` names the field in error messages and ``max_chars`` is checked before any
    work is done, so oversized input is refused cheaply. Raises ``CryptoError`` with
    check ``size`` when the text is too long and ``encoding`` when it is not a string,
    uses characters outside both alphabets, or has an impossible length.
    """
    if not isinstance(text, str):
        raise CryptoError("encoding", f"{what} must be a base64 string, not {type(text).__name__}")
    if len(text) > max_chars:
        raise CryptoError(
            "size", f"{what} is too long", expected=f"<= {max_chars} chars", actual=str(len(text))
        )
    if _LENIENT.fullmatch(text) is None:
        raise CryptoError(
            "encoding",
            f"{what} is not base64: only A-Z a-z 0-9 + / - _ and up to two trailing '=' allowed",
        )
    # bytes.translate is several times faster than str.translate (hot path of every check).
    body = text.rstrip("=").encode("ascii").translate(_TO_STANDARD)
    if len(body) % 4 == 1:
        raise CryptoError(
            "encoding", f"{what} is not base64: {len(body)} characters is no valid length"
        )
    try:
        return base64.b64decode(body + b"=" * (-len(body) % 4), validate=True)
    except binascii.Error as exc:  # unreachable after the checks above; kept as a guard
        raise CryptoError("encoding", f"{what} is not base64: {exc}") from exc


def b64(data: bytes) -> str:
    """Padded standard base64 (the encoding of ``rawId`` and the FIDO ``response`` fields)."""
    return base64.b64encode(data).decode("ascii")


def b64url_nopad(data: bytes) -> str:
    """Base64url without padding (FIDO ``id``, ``clientDataJSON.challenge``, BinaryString)."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
