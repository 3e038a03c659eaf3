"""Challenge derivation (spec §5) and how a challenge string becomes WebAuthn bytes.

Transaction challenge, ``behaviour.challenge`` (DESIGN.md):

========================  ==============================================================
``quote``                 hex SHA-256 of JCS(``PUT /quotes/{ID}`` body) — the written spec
``authorization-request`` hex SHA-256 of JCS(``POST /thirdpartyRequests/authorizations``
                          body without ``challenge`` and ``extensionList``) — thirdparty-sdk
any other string          used verbatim (replays recorded FIDO assertions)
========================  ==============================================================

Consent challenge: hex SHA-256 of JCS({consentId, scopes: [{address, actions}]}).

Whatever the challenge, the PISP treats it as opaque text and hands its Latin-1 bytes to
WebAuthn, so ``clientDataJSON.challenge`` is base64url-no-pad of those bytes (§5.3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from tpsim.auth.b64 import b64url_nopad
from tpsim.auth.canonical import sha256_hex
from tpsim.auth.errors import CryptoError, MissingInput

# Fields the thirdparty-sdk leaves out of AuthRequestPartial before hashing.
_NOT_HASHED = frozenset({"challenge", "extensionList"})


class ChallengeMode(StrEnum):
    """The derived transaction challenge modes; any other string is a verbatim challenge."""

    QUOTE = "quote"
    AUTHORIZATION_REQUEST = "authorization-request"


def transaction_challenge(
    mode: str,
    *,
    quote: Mapping[str, Any] | None = None,
    authorization_request: Mapping[str, Any] | None = None,
) -> str:
    """The ``challenge`` the payer DFSP puts in ``POST /thirdpartyRequests/authorizations``.

    ``mode`` is ``"quote"`` (needs ``quote``, the PUT /quotes body as on the wire),
    ``"authorization-request"`` (needs ``authorization_request``, the body as it will be
    sent; ``challenge`` and ``extensionList`` are dropped before hashing) or any other
    non-empty Latin-1 string, returned verbatim. Raises ``MissingInput`` when the body
    a mode needs is missing, ``CanonicalJsonError`` when it cannot be canonicalized and
    ``CryptoError`` (check ``challenge``/``encoding``) for an unusable verbatim challenge.
    """
    if mode == ChallengeMode.QUOTE:
        if quote is None:
            raise MissingInput("challenge mode 'quote' needs the PUT /quotes body", field="quote")
        return sha256_hex(dict(quote))
    if mode == ChallengeMode.AUTHORIZATION_REQUEST:
        if authorization_request is None:
            raise MissingInput(
                "challenge mode 'authorization-request' needs the authorization request body",
                field="authorization_request",
            )
        partial = {k: v for k, v in authorization_request.items() if k not in _NOT_HASHED}
        return sha256_hex(partial)
    if not mode:
        raise CryptoError("challenge", "a verbatim challenge must not be empty")
    webauthn_challenge_bytes(mode)
    return mode


def consent_challenge(consent_id: str, scopes: Sequence[Mapping[str, Any]]) -> str:
    """Hex SHA-256 of JCS({consentId, scopes}) — the credential registration challenge.

    Scope order is kept and only ``address`` and ``actions`` of each scope are hashed,
    as Mojaloop's auth-service does (spec §5.2). Raises ``MissingInput`` naming the
    scope that lacks one of them, ``CanonicalJsonError`` for non-JSON values.
    """
    reduced: list[dict[str, Any]] = []
    for index, scope in enumerate(scopes):
        if not isinstance(scope, Mapping):
            raise MissingInput("a scope must be an object", field=f"scopes[{index}]")
        for key in ("address", "actions"):
            if key not in scope:
                raise MissingInput(f"scope has no {key!r}", field=f"scopes[{index}].{key}")
        reduced.append({"address": scope["address"], "actions": scope["actions"]})
    return sha256_hex({"consentId": consent_id, "scopes": reduced})


def webauthn_challenge_bytes(challenge: str) -> bytes:
    """The bytes a PISP passes to WebAuthn for ``challenge``: one byte per character.

    Mojaloop's test UI maps each character through ``charCodeAt`` into a ``Uint8Array``,
    i.e. Latin-1. A character above U+00FF would be silently truncated by the browser,
    so we refuse it (``CryptoError`` check ``encoding``) instead of guessing.
    """
    try:
        return challenge.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise CryptoError(
            "encoding",
            f"challenge has {exc.object[exc.start]!r} at index {exc.start}, outside Latin-1; "
            "WebAuthn clients send one byte per character",
        ) from exc


def client_data_challenge(challenge: str) -> str:
    """The ``clientDataJSON.challenge`` a browser produces for ``challenge`` (base64url, no pad)."""
    return b64url_nopad(webauthn_challenge_bytes(challenge))
