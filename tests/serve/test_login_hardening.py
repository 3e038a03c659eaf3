"""The login page stands up to what is not its own user at its own form (issue 11): a form it
cannot read is a 400 page saying why (never a 500), another site can neither frame the page
nor submit it for the user (a per-journey token), and password guessing ends the journey.
Over real HTTP against the simulated DFSPs' page (serve/login.py)."""

from __future__ import annotations

import io
from html import escape

import aiohttp
import pytest

from tests.support.flows import error_code
from tests.support.linking import (
    CAROL,
    CAROL_CHEQUING,
    CONSENT_REQUESTS,
    Login,
    form_token,
    request_consent,
    uid,
    wait_grant,
    web_login,
)
from tests.support.scheme import Scheme
from tpsim.auth.psu import MAX_WRONG_PASSWORDS

REQUEST_ID = uid("hardened-login")
FRAMING = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def web_request(scheme: Scheme, request_id: str = REQUEST_ID) -> str:
    """A WEB consent request of Carol's: its ``authUri``, the login page."""
    answer = await request_consent(scheme, request_id, CAROL, [CAROL_CHEQUING], channels=("WEB",))
    assert answer.path == f"{CONSENT_REQUESTS}/{request_id}", answer.body
    return str((answer.body or {})["authUri"])


async def call(
    method: str, url: str, *, data: bytes | list[tuple[str, str]] | None = None, **headers: str
) -> tuple[int, str, dict[str, str]]:
    """Status, text and headers of one request; raw ``data`` goes as is (give its type)."""
    body = io.BytesIO(data) if isinstance(data, bytes) else data
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, url, data=body, headers=headers or None, allow_redirects=False
        ) as response,
    ):
        return response.status, await response.text(), dict(response.headers)


async def token(url: str) -> tuple[str, str]:
    _, page, _ = await call("GET", url)
    return ("csrf", form_token(page))


# --- a form the page cannot read ------------------------------------------------------------

URLENCODED = "application/x-www-form-urlencoded"

# fmt: off
# (case, Content-Type, body, text the page must show)
UNREADABLE: list[tuple[str, str, bytes, str]] = [
    ("multipart without a boundary", "multipart/form-data", b"decision=deny",
     f"send the form as {URLENCODED}"),
    ("a broken multipart body", "multipart/form-data; boundary=zz", b"--zz\r\nbad\r\n",
     f"send the form as {URLENCODED}"),
    ("JSON", "application/json", b'{"decision": "deny"}', f"send the form as {URLENCODED}"),
    ("not UTF-8", URLENCODED, b"decision=deny&user=\xff\xfe", "not URL-encoded UTF-8"),
    ("percent-encoded bytes that are not UTF-8", URLENCODED, b"decision=deny&user=%ff",
     "not URL-encoded UTF-8"),
    ("an unknown charset", f"{URLENCODED}; charset=foo", b"decision=%ff", "not URL-encoded UTF-8"),
    ("too many fields", URLENCODED, b"&".join([b"account=x"] * 101), "fields"),
]
# fmt: on


@pytest.mark.parametrize(
    ("content_type", "body", "text"), [pytest.param(*r[1:], id=r[0]) for r in UNREADABLE]
)
@pytest.mark.parametrize("journey", ["known", "unknown"])
async def test_a_form_that_cannot_be_read_is_a_400_page_saying_why(
    scheme: Scheme, journey: str, content_type: str, body: bytes, text: str
) -> None:
    auth_uri = await web_request(scheme)
    url = auth_uri if journey == "known" else f"{scheme.url}/login/dfspa/{uid('nothing')}"
    status, page, headers = await call("POST", url, data=body, **{"Content-Type": content_type})
    assert status == 400, page
    assert headers["Content-Type"].startswith("text/html")
    assert "The form could not be read" in page and escape(text) in page
    # Nothing was decided: the user can still sign in.
    assert (await call("GET", auth_uri))[0] == 200


async def test_a_form_too_large_is_a_413_page(scheme: Scheme) -> None:
    auth_uri = await web_request(scheme)
    body = b"password=" + b"x" * (10 * 1024 * 1024 + 1)
    status, page, _ = await call("POST", auth_uri, data=body, **{"Content-Type": URLENCODED})
    assert status == 413 and "the form could not be read: the body" in page


# --- framing, referrers -----------------------------------------------------------------------


async def test_every_page_answer_forbids_framing_and_referrers(scheme: Scheme) -> None:
    auth_uri = await web_request(scheme)
    csrf = await token(auth_uri)
    unknown = f"{scheme.url}/login/dfspa/{uid('nothing')}"
    wrong = [("decision", "approve"), ("password", "nope"), ("account", CAROL_CHEQUING), csrf]
    approve = [("decision", "approve"), ("password", "tpsim"), ("account", CAROL_CHEQUING), csrf]
    answers = [
        await call("GET", auth_uri),  # 200 the form
        await call("GET", unknown),  # 404
        await call("POST", auth_uri, data=[("decision", "deny")]),  # 403 no token
        await call("POST", auth_uri, data=b"\xff", **{"Content-Type": URLENCODED}),  # 400
        await call("POST", auth_uri, data=wrong),  # 401 the form again
        await call("POST", auth_uri, data=approve),  # 303 the redirect
        await call("GET", auth_uri),  # 409 nothing to approve
    ]
    assert [status for status, _, _ in answers] == [200, 404, 403, 400, 401, 303, 409]
    for status, _, headers in answers:
        assert {k: headers.get(k) for k in FRAMING} == FRAMING, status
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], status


# --- cross-site request forgery ---------------------------------------------------------------


@pytest.mark.parametrize("decision", ["deny", "approve"])
@pytest.mark.parametrize("sent", [None, "", "forged"], ids=["no token", "empty", "wrong"])
async def test_a_post_without_the_pages_token_decides_nothing(
    scheme: Scheme, decision: str, sent: str | None
) -> None:
    auth_uri = await web_request(scheme)
    data = [("decision", decision), ("password", "tpsim"), ("account", CAROL_CHEQUING)]
    if sent is not None:
        data.append(("csrf", sent))
    status, page, headers = await call("POST", auth_uri, data=data, Origin="https://evil.example")
    assert (status, headers.get("Location")) == (403, None)
    assert "nothing was decided" in page
    # The request still waits for its user, and the PISP heard nothing.
    await scheme.settle()
    assert not [r for r in scheme.pisp.received if r.path.endswith("/error")]
    assert (await web_login_answer(scheme)).status == 303


async def web_login_answer(scheme: Scheme, request_id: str = REQUEST_ID) -> Login:
    """The user signs in for real on the page of ``request_id``."""
    answer = [r for r in scheme.pisp.received if r.path == f"{CONSENT_REQUESTS}/{request_id}"]
    return await web_login(answer[-1])


async def test_the_token_is_the_journeys_own(scheme: Scheme) -> None:
    first = await web_request(scheme)
    second = await web_request(scheme, uid("second-request"))
    first_token = await token(first)
    assert first_token != await token(second)
    assert first_token == await token(first)  # the same form, opened again
    status, _, _ = await call("POST", second, data=[("decision", "deny"), first_token])
    assert status == 403


# --- password guessing --------------------------------------------------------------------------


async def test_wrong_passwords_end_the_journey_as_denied(scheme: Scheme) -> None:
    auth_uri = await web_request(scheme)
    csrf = await token(auth_uri)
    data = [("decision", "approve"), ("password", "guess"), ("account", CAROL_CHEQUING), csrf]
    for left in range(MAX_WRONG_PASSWORDS - 1, 0, -1):
        status, page, _ = await call("POST", auth_uri, data=data)
        assert status == 401 and f"wrong password; {left} attempt(s) left" in page

    status, page, _ = await call("POST", auth_uri, data=data)
    assert status == 403
    assert f"{MAX_WRONG_PASSWORDS} wrong passwords" in page and "has denied this request" in page
    assert 'href="http://127.0.0.1:' in page and "error=access_denied" in page
    # Ended as a denial is: the PISP is told (6102) and the page has nothing left to approve.
    denied = await wait_grant(scheme, REQUEST_ID)
    assert error_code(denied) == "6102"
    right = [("decision", "approve"), ("password", "tpsim"), ("account", CAROL_CHEQUING), csrf]
    assert (await call("POST", auth_uri, data=right))[0] == 409


async def test_forged_posts_do_not_count_as_wrong_passwords(scheme: Scheme) -> None:
    auth_uri = await web_request(scheme)
    forged = [("decision", "approve"), ("password", "guess"), ("account", CAROL_CHEQUING)]
    for _ in range(MAX_WRONG_PASSWORDS + 1):
        assert (await call("POST", auth_uri, data=forged))[0] == 403
    assert (await web_login_answer(scheme)).status == 303
