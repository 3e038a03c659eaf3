"""Proof Key for Code Exchange (RFC 7636): the challenge a client sends to the
authorisation endpoint and the verifier it proves it with at the token endpoint."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from tpsim.auth.b64 import b64url_nopad
from tpsim.auth.oauth_errors import OAuthError

__all__ = ["METHODS", "challenge_of", "check_challenge", "verify"]

METHODS = ("S256", "plain")
# RFC 7636 4.1 and 4.2: 43 to 128 unreserved characters (S256's is always 43).
_UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def check_challenge(
    challenge: str | None,
    method: str | None,
    *,
    required: bool,
    methods: Sequence[str] = METHODS,
) -> str | None:
    """The challenge method in force (``plain`` when only a challenge is sent, RFC 7636
    4.3), None without PKCE; ``OAuthError`` invalid_request for a method without a
    challenge, an unknown method (4.4.1) or one outside ``methods`` (a dialect that takes
    S256 only), a malformed challenge, or none when ``required``."""
    if challenge is None:
        if method is not None:
            raise OAuthError("invalid_request", "code_challenge_method needs a code_challenge")
        if required:
            raise OAuthError(
                "invalid_request",
                "this bank requires PKCE: send code_challenge and code_challenge_method=S256",
            )
        return None
    named, method = method is not None, method or "plain"
    if method not in methods:
        allowed = " (or plain)" if "plain" in methods else ""
        sent = f"code_challenge_method {method!r}" if named else "no code_challenge_method (plain)"
        raise OAuthError(
            "invalid_request",
            f"{sent} is not supported here: send code_challenge_method=S256{allowed} and"
            " code_challenge=BASE64URL(SHA256(code_verifier)) (RFC 7636 4.2)",
        )
    if not _UNRESERVED.fullmatch(challenge):
        raise OAuthError(
            "invalid_request",
            "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 4.2)",
        )
    return method


def verify(challenge: str | None, method: str | None, verifier: str | None) -> None:
    """Check ``verifier`` against the code's challenge, or raise ``OAuthError``
    invalid_grant (RFC 7636 4.6). A verifier for a code issued without a challenge is
    refused too: it would hide a PKCE downgrade."""
    if challenge is None:
        if verifier is not None:
            raise OAuthError(
                "invalid_grant", "code_verifier sent, but the code was issued without PKCE"
            )
        return
    if verifier is None:
        raise OAuthError("invalid_grant", "the code was issued with PKCE: send code_verifier")
    if not _UNRESERVED.fullmatch(verifier):
        raise OAuthError(
            "invalid_grant",
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 4.1)",
        )
    expected = challenge_of(verifier) if method == "S256" else verifier
    if not hmac.compare_digest(expected.encode(), challenge.encode()):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")


def challenge_of(verifier: str) -> str:
    """The S256 challenge of ``verifier``: BASE64URL(SHA256(ASCII(verifier)))."""
    return b64url_nopad(hashlib.sha256(verifier.encode("ascii")).digest())
