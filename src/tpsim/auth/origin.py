"""Which WebAuthn origins a verifier accepts, and which RP ID it expects for them.

The reference auth-service takes the expected origin from the very clientDataJSON it
checks (spec §6, §9.10), so in effect it only requires a well-formed origin, https unless
the host is ``localhost`` / ``*.localhost``, and an RP ID equal to the origin's host.
``OriginPolicy()`` reproduces that; ``allowed_origins`` pins origins as a real
relying party should, and ``rp_id`` pins the RP ID when it differs from the host.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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


def rp_id_problem(rp_id: str, allowed_origins: Sequence[str]) -> str | None:
    """Why ``behaviour.fido.rp_id`` would fail every ceremony at ``allowed_origins`` (each
    already a serialized origin), with what to write instead; None when it would not.

    The authenticator hashes the RP ID's exact text into authenticatorData (rpIdHash), so it
    must be a bare domain as a browser writes a host: lower case, no scheme, port or path.
    WebAuthn (§5.1.3, "RP ID") also wants it to be each origin's host or a registrable
    domain suffix of it. Without the Public Suffix List this accepts the host itself or any
    suffix of it on a label boundary that still has a dot (``pisp.example`` for
    ``https://app.pisp.example``, never ``example``): a public suffix such as ``co.uk``
    passes here and is left to the browser to refuse. With no ``allowed_origins`` any origin
    is accepted, so only the form is checked.
    """
    try:
        bare = origin_host(f"https://{rp_id}") == rp_id
    except CryptoError:
        bare = False
    if not bare:
        return (
            f"{rp_id!r} is not an RP ID (a lower-case domain, no scheme, port or path);"
            f" {_rp_id_hint(rp_id)}"
        )
    for origin in allowed_origins:
        host = origin_host(origin)
        if rp_id != host and not ("." in rp_id and host.endswith("." + rp_id)):
            return (
                f"{rp_id!r} is neither the host of {origin} nor a domain suffix of it, so"
                f" every ceremony from there fails; write {host} (or a suffix of it with a"
                " dot that every allowed origin shares), or leave rp_id out to use each"
                " origin's host"
            )
    return None


def _rp_id_hint(rp_id: str) -> str:
    """What to write instead of the malformed RP ID ``rp_id``."""
    try:
        return f"write {origin_host(_origin_part(rp_id))}"
    except CryptoError:
        return "write a domain such as pisp.example"


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
