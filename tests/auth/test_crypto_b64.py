"""Lenient base64: either alphabet, optional padding, bounded length, coded errors."""

from __future__ import annotations

import pytest

from tpsim.auth import b64
from tpsim.auth.errors import CryptoError

RAW = bytes(range(250, 256)) + b"\xfb\xff"


@pytest.mark.parametrize(
    "text",
    [b64.b64(RAW), b64.b64(RAW).rstrip("="), b64.b64url_nopad(RAW), b64.b64url_nopad(RAW) + "="],
)
def test_decodes_every_mojaloop_spelling(text: str) -> None:
    assert b64.decode(text, what="x", max_chars=100) == RAW


def test_encoders() -> None:
    assert b64.b64(b"\xfb\xff") == "+/8="
    assert b64.b64url_nopad(b"\xfb\xff") == "-_8"


@pytest.mark.parametrize(
    ("value", "check", "words"),
    [
        ("a" * 101, "size", "too long"),
        ("abc$", "encoding", "not base64"),
        ("ab=c", "encoding", "not base64"),
        ("abc===", "encoding", "not base64"),
        ("abcde", "encoding", "no valid length"),
        (b"YWJj", "encoding", "bytes"),
        (None, "encoding", "NoneType"),
    ],
)
def test_refusals(value: object, check: str, words: str) -> None:
    with pytest.raises(CryptoError) as info:
        b64.decode(value, what="field", max_chars=100)
    assert info.value.check == check
    assert words in str(info.value)
    assert "field" in str(info.value)
