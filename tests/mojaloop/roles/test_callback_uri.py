"""Which ``callbackUri`` a simulated DFSP trusts (linking patterns §5.2, 6204): an allowlist
entry matches by scheme, host and port exactly and by path segment by segment, and a path a
browser would rewrite before following the redirect is refused outright (issue 11).
(The default policy's table is in test_linking_tables.py.)"""

from __future__ import annotations

import pytest

from tpsim.mojaloop.roles.callback_uri import callback_uri_problem

ALLOW = ["https://pisp.example/cb"]

# fmt: off
# (case, uri, allowlist, trusted?)
ALLOWLIST = [
    ("the entry itself", "https://pisp.example/cb", ALLOW, True),
    ("a trailing slash", "https://pisp.example/cb/", ALLOW, True),
    ("a path below", "https://pisp.example/cb/done?state=1", ALLOW, True),
    ("a . segment dropped", "https://pisp.example/./cb/done", ALLOW, True),
    ("the default port spelled out", "https://pisp.example:443/cb", ALLOW, True),
    ("an entry ending in /", "https://pisp.example/cb/x", ["https://pisp.example/cb/"], True),
    ("an entry of a whole host", "https://pisp.example/anything", ["https://pisp.example"], True),
    ("a longer segment", "https://pisp.example/cbevil", ALLOW, False),
    ("a longer segment below", "https://pisp.example/cbevil/cb", ALLOW, False),
    (".. out of the entry", "https://pisp.example/cb/../../evil", ALLOW, False),
    (".. back into the entry", "https://pisp.example/cb/../cb", ALLOW, False),
    ("encoded dots", "https://pisp.example/cb/%2e%2e/evil", ALLOW, False),
    ("encoded dots, upper case", "https://pisp.example/cb/%2E%2E/evil", ALLOW, False),
    ("an encoded slash", "https://pisp.example/cb%2f..%2fevil", ALLOW, False),
    ("backslashes", "https://pisp.example/cb\\..\\evil", ALLOW, False),
    ("another port", "https://pisp.example:8443/cb", ALLOW, False),
    ("user info", "https://evil@pisp.example/cb", ALLOW, False),
    ("a longer host", "https://pisp.example.evil/cb", ALLOW, False),
    ("another scheme", "http://pisp.example/cb", ALLOW, False),
    ("a port out of range", "https://pisp.example:99999/cb", ALLOW, False),
]
# fmt: on


@pytest.mark.parametrize(
    ("uri", "allowlist", "trusted"), [pytest.param(*r[1:], id=r[0]) for r in ALLOWLIST]
)
def test_allowlist_matches_origin_exactly_and_path_by_segment(
    uri: str, allowlist: list[str], trusted: bool
) -> None:
    assert (callback_uri_problem(uri, allowlist) is None) == trusted


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("https://pisp.example/cb/../evil", "'..' segments"),
        ("https://pisp.example/cb/%2E./evil", "percent-encode dots, slashes or backslashes"),
        ("https://pisp.example/cb%5Cevil", "percent-encode dots, slashes or backslashes"),
        ("https://pisp.example/cb\\evil", "backslashes (browsers read them as /)"),
    ],
)
@pytest.mark.parametrize("allowlist", [[], ALLOW], ids=["default policy", "allowlist"])
def test_a_path_a_browser_would_rewrite_is_refused_whatever_the_policy(
    uri: str, reason: str, allowlist: list[str]
) -> None:
    problem = callback_uri_problem(uri, allowlist)
    assert problem is not None and reason in problem


def test_the_query_is_not_the_path() -> None:
    """Encoded slashes and dots in the query are data the PISP gets back, not a path."""
    assert callback_uri_problem("https://pisp.example/cb?next=%2F..%2Fx", ALLOW) is None
