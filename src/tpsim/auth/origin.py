"""Which WebAuthn origins a verifier accepts, and which RP ID it expects for them.

The reference auth-service takes the expected origin from the very clientDataJSON it
checks (spec §6, §9.10), so in effect it only requires a well-formed origin, https unless
the host is ``localhost`` / ``*.localhost``, and an RP ID equal to the origin's host.
``OriginPolicy()`` reproduces that; ``allowed_origins`` pins origins as a real
relying party should, and ``rp_id`` pins the RP ID when it differs from the host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from tpsim.auth.errors import CryptoError

MAX_ORIGIN_CHARS = 256
_DEFAULT_PORTS = {"https": 443, "http": 80}


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
    return _origin_parts(origin)[1]


def serialized_origin(origin: object) -> str:
    """``origin`` as a browser writes it into clientDataJSON (WebAuthn §5.8.1, the HTML
    serialization of an origin): scheme and host in lower case, the port only when it is
    not the scheme's default. Refuses what ``origin_host`` refuses."""
    scheme, host, port = _origin_parts(origin)
    netloc = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}"


def allowed_origin_problem(entry: str) -> str | None:
    """Why ``entry`` of ``behaviour.fido.allowed_origins`` can never equal the origin a
    browser sends, with what to write instead; None when it can.

    ``OriginPolicy.check`` compares origins as strings, so ``https://pisp.example/``,
    ``https://PISP.example`` or ``https://pisp.example:443`` would refuse every ceremony.
    They are refused at load rather than rewritten: a scheme-less ``pisp.example`` or a
    page URL is a guess to rewrite, and the policy's errors then show the entry as written.
    """
    try:
        serialized = serialized_origin(entry)
    except CryptoError as exc:
        try:
            serialized = serialized_origin(_origin_part(entry))
        except CryptoError:
            return str(exc)
    if serialized == entry:
        return None
    return (
        f"{entry!r} never equals the origin a browser sends (scheme://host[:port]: lower case,"
        f" no path or trailing slash, no default port); write {serialized}"
    )


def _origin_part(entry: str) -> str:
    """``entry`` up to its path, query or fragment, with https when it names no scheme."""
    scheme, sep, rest = entry.partition("://")
    if not sep:
        scheme, rest = "https", entry
    return f"{scheme}://{re.split(r'[/?#]', rest, maxsplit=1)[0]}"


def _origin_parts(origin: object) -> tuple[str, str, int | None]:
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
    if not host or parts.username is not None or parts.password is not None:
        raise CryptoError("origin", f"origin {origin!r} has no host (or carries credentials)")
    if parts.path or parts.query or parts.fragment or origin.endswith(("?", "#")):
        raise CryptoError(
            "origin", f"origin {origin!r} must be exactly scheme://host[:port], nothing after"
        )
    if parts.scheme == "https":
        return parts.scheme, host, port
    local = host == "localhost" or host.endswith(".localhost")
    if parts.scheme == "http" and local:
        return parts.scheme, host, port
    raise CryptoError(
        "origin",
        f"origin {origin!r} must use https (http is only allowed for localhost and *.localhost)",
    )
