"""Which ``callbackUri`` a simulated DFSP trusts, and the redirect its login page sends there.

Linking patterns §5.2 (6204 Bad callbackUri) leaves the rule to the DFSP; its example
refuses a plain ``http://`` URI. With ``behaviour.linking.callback_uri_allowlist`` empty,
tpsim trusts ``https://``, app schemes (``pisp-app://callback``) and ``http://`` on a
loopback host only; with entries, only URIs of an entry's scheme, host and port (default
ports filled in) whose path lies under the entry's path segment by segment: ``…/cb`` allows
``…/cb`` and ``…/cb/done``, not ``…/cbevil``.

A path a browser would rewrite before following the redirect is refused whatever the
policy, so that the URI checked is the URI followed: ``..`` segments, backslashes (read as
``/``) and percent-encoded dots, slashes and backslashes (RFC 3986 §5.2.4, WHATWG URL).
``.`` segments are dropped before matching, as a browser drops them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import SplitResult, urlencode, urlsplit, urlunsplit

from tpsim.config_psd2 import path_rewritten

# Schemes a browser would not hand to a PISP (or would run as code).
_NEVER = frozenset({"javascript", "data", "file", "vbscript", "blob", "about"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def callback_uri_problem(uri: str, allowlist: Sequence[str]) -> str | None:
    """Why ``uri`` is not trusted as a ``callbackUri``, or None when it is."""
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in uri):
        return "a callbackUri must not contain spaces or control characters"
    try:
        parts = urlsplit(uri)
        host, _ = parts.hostname, parts.port  # an invalid port raises here
    except ValueError as exc:
        return f"{uri!r} is not a URI: {exc}"
    scheme = parts.scheme.lower()
    if not scheme:
        return f"{uri!r} is not an absolute URI (scheme://…)"
    problem = path_rewritten(parts.path)
    if problem is not None:
        return f"{uri}: {problem}"
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
    """Same scheme, user info, host and port as ``entry``, and a path under its path."""
    allowed = urlsplit(entry)
    if _origin(parts) != _origin(allowed):
        return False
    prefix = _segments(allowed.path)
    while prefix and not prefix[-1]:  # "/cb/" and "/cb" both mean the segment cb
        prefix.pop()
    return _segments(parts.path)[: len(prefix)] == prefix


def _origin(parts: SplitResult) -> tuple[str, str | None, str | None, str | None, int | None]:
    scheme = parts.scheme.lower()
    port = parts.port if parts.port is not None else _DEFAULT_PORTS.get(scheme)
    return scheme, parts.username, parts.password, parts.hostname, port


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment != "."]


def _loopback(host: str | None) -> bool:
    return host is not None and (
        host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")
    )
