"""Which WebAuthn origins a verifier accepts, and which RP ID it expects for them.

The reference auth-service takes the expected origin from the very clientDataJSON it
checks (spec §6, §9.10), so in effect it only requires a well-formed origin, https unless
the host is ``localhost`` / ``*.localhost``, and an RP ID equal to the origin's host.
``OriginPolicy()`` reproduces that; ``allowed_origins`` pins origins as a real
relying party should, and ``rp_id`` pins the RP ID when it differs from the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from tpsim.auth.errors import CryptoError

MAX_ORIGIN_CHARS = 256


@dataclass(frozen=True)
class OriginPolicy:
    """Accepted origins (empty = any well-formed origin) and the RP ID (None = origin host)."""

    allowed_origins: tuple[str, ...] = ()
    rp_id: str | None = None

    def check(self, origin: object) -> str:
        """Check ``origin`` from clientDataJSON against the policy and return the RP ID.

        Raises ``CryptoError`` with check ``origin`` when the origin is malformed
        (not exactly ``scheme://host[:port]``), not https for a non-localhost host, or
        not in ``allowed_origins`` when that is set.
        """
        host = origin_host(origin)
        if self.allowed_origins and origin not in self.allowed_origins:
            raise CryptoError(
                "origin",
                "origin is not allowed",
                expected=" or ".join(self.allowed_origins),
                actual=str(origin),
            )
        return self.rp_id if self.rp_id is not None else host


def origin_host(origin: object) -> str:
    """Validate a serialized WebAuthn origin and return its host (``CryptoError`` ``origin``)."""
    if not isinstance(origin, str) or not origin or len(origin) > MAX_ORIGIN_CHARS:
        raise CryptoError("origin", "clientDataJSON.origin must be a non-empty string")
    if not origin.isascii():
        # Browsers serialize origins with punycode hosts, so non-ASCII means forged.
        raise CryptoError("origin", f"origin {origin!r} is not ASCII (hosts are punycode)")
    try:
        parts = urlsplit(origin)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise CryptoError("origin", f"origin {origin!r} is not a URL: {exc}") from exc
    del port  # parsed only to reject a malformed port
    if not host or parts.username is not None or parts.password is not None:
        raise CryptoError("origin", f"origin {origin!r} has no host (or carries credentials)")
    if parts.path or parts.query or parts.fragment or origin.endswith(("?", "#")):
        raise CryptoError(
            "origin", f"origin {origin!r} must be exactly scheme://host[:port], nothing after"
        )
    if parts.scheme == "https":
        return host
    local = host == "localhost" or host.endswith(".localhost")
    if parts.scheme == "http" and local:
        return host
    raise CryptoError(
        "origin",
        f"origin {origin!r} must use https (http is only allowed for localhost and *.localhost)",
    )
