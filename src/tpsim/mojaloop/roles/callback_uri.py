"""Which ``callbackUri`` a simulated DFSP trusts, and the redirect its login page sends there.

Linking patterns §5.2 (6204 Bad callbackUri) leaves the rule to the DFSP; its example
refuses a plain ``http://`` URI. With ``behaviour.linking.callback_uri_allowlist`` empty,
tpsim trusts ``https://``, app schemes (``pisp-app://callback``) and ``http://`` on a
loopback host only; with entries, only URIs of an entry's scheme and host whose path starts
with the entry's path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import SplitResult, urlencode, urlsplit, urlunsplit

# Schemes a browser would not hand to a PISP (or would run as code).
_NEVER = frozenset({"javascript", "data", "file", "vbscript", "blob", "about"})


def callback_uri_problem(uri: str, allowlist: Sequence[str]) -> str | None:
    """Why ``uri`` is not trusted as a ``callbackUri``, or None when it is."""
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in uri):
        return "a callbackUri must not contain spaces or control characters"
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError as exc:
        return f"{uri!r} is not a URI: {exc}"
    scheme = parts.scheme.lower()
    if not scheme:
        return f"{uri!r} is not an absolute URI (scheme://…)"
    if allowlist:
        if any(_within(parts, entry) for entry in allowlist):
            return None
        return f"{uri} is not in the DFSP's callback_uri_allowlist"
    if scheme in _NEVER:
        return f"a {scheme}: URI cannot receive the login page's redirect"
    if scheme == "http" and not _loopback(host):
        return f"{uri} uses http:// on a host that is not loopback; use https://"
    return None


def with_query(uri: str, params: Mapping[str, str]) -> str:
    """``uri`` with ``params`` appended to its query (existing parameters kept)."""
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _within(parts: SplitResult, entry: str) -> bool:
    allowed = urlsplit(entry)
    same_origin = (parts.scheme.lower(), parts.netloc.lower()) == (
        allowed.scheme.lower(),
        allowed.netloc.lower(),
    )
    return same_origin and parts.path.startswith(allowed.path)


def _loopback(host: str | None) -> bool:
    return host is not None and (
        host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")
    )
