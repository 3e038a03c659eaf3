"""The simulated DFSPs' login page (hub/login.py), the ``authUri`` of a WEB consent request,
driven with real HTTP requests; and once in a headless browser when one is installed."""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from tests.conftest import MakeScheme
from tests.support.browser import CHROMIUM, needs_browser
from tests.support.flows import error_code
from tests.support.linking import (
    CAROL,
    CAROL_CHEQUING,
    CAROL_SAVINGS,
    CONSENTS,
    authenticate,
    form_accounts,
    form_token,
    request_consent,
    uid,
    wait_grant,
    web_login,
)
from tests.support.pisp import Received
from tests.support.scheme import Scheme
from tpsim.journal import Hop

REQUEST_ID = uid("login-request")


async def web_request(scheme: Scheme, **options: object) -> Received:
    answer = await request_consent(
        scheme, REQUEST_ID, CAROL, [CAROL_CHEQUING, CAROL_SAVINGS], channels=("WEB",), **options
    )
    assert answer.path.endswith(REQUEST_ID), answer.body
    return answer


async def post(url: str, data: list[tuple[str, str]]) -> tuple[int, str, str | None]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=data, allow_redirects=False) as response:
            return response.status, await response.text(), response.headers.get("Location")


async def get(url: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            return response.status, await response.text(), dict(response.headers)


async def token(url: str) -> tuple[str, str]:
    """The form's token, as the page hands it to whoever opens it."""
    _, page, _ = await get(url)
    return ("csrf", form_token(page))


async def test_form_shows_who_asks_for_which_accounts(scheme: Scheme) -> None:
    answer = await web_request(scheme)
    auth_uri = (answer.body or {})["authUri"]
    assert auth_uri == f"{scheme.url}/login/dfspa/{REQUEST_ID}"

    status, page, headers = await get(auth_uri)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "no-store"
    assert "Carol Cheng" in page and "pispa" in page
    assert escape("Carol's chequing account (USD)") in page
    assert form_accounts(page) == [CAROL_CHEQUING, CAROL_SAVINGS]
    assert page.count("checked") == 2
    assert 'type="password"' in page


async def test_approval_redirects_to_the_callback_with_the_secret(scheme: Scheme) -> None:
    answer = await web_request(scheme, callback=f"{scheme.pisp.url}/callback?state=abc")
    login = await web_login(answer)

    assert login.status == 303
    assert login.location is not None
    assert login.location.startswith(f"{scheme.pisp.url}/callback?state=abc&")
    assert login.params["consentRequestId"] == REQUEST_ID
    assert login.params["state"] == "abc"
    # The browser followed the redirect to the PISP, which read the secret there.
    (followed,) = [r for r in scheme.pisp.received if r.method == "GET"]
    assert followed.path == "/callback"

    await authenticate(scheme, REQUEST_ID, login.secret)
    grant = await wait_grant(scheme, REQUEST_ID)
    assert grant.path == CONSENTS
    await scheme.settle()
    assert scheme.sim is not None
    (note,) = [e for e in scheme.sim.journal.entries() if e.hop is Hop.OUT_OF_BAND]
    assert (note.method, note.destination) == ("REDIRECT", CAROL)
    assert note.body is not None and note.body["location"] == login.location


async def test_app_scheme_callback_is_not_followed(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme()
    answer = await web_request(scheme, callback="pisp-app://callback")
    auth_uri = (answer.body or {})["authUri"]
    data = [("password", "tpsim"), ("decision", "approve"), ("account", CAROL_SAVINGS)]
    status, _, location = await post(auth_uri, [*data, await token(auth_uri)])
    assert status == 303 and location is not None
    assert location.startswith("pisp-app://callback?consentRequestId=")
    assert set(parse_qs(urlsplit(location).query)) == {"consentRequestId", "secret"}


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ([("password", "nope"), ("decision", "approve"), ("account", CAROL_CHEQUING)], 401,
         "wrong password"),
        ([("password", "tpsim"), ("decision", "approve")], 400, "choose at least one account"),
        ([("password", "tpsim"), ("decision", "approve"), ("account", "dfspa.alice.chequing")],
         400, "choose at least one account"),
        ([("password", "tpsim")], 400, "choose Approve or Deny"),
    ],
    ids=["wrong password", "no account", "account not requested", "no decision"],
)  # fmt: skip
async def test_refused_input_shows_the_form_again(
    scheme: Scheme, data: list[tuple[str, str]], status: int, message: str
) -> None:
    answer = await web_request(scheme)
    auth_uri = (answer.body or {})["authUri"]

    got, page, location = await post(auth_uri, [*data, await token(auth_uri)])
    assert (got, location) == (status, None)
    assert 'role="alert"' in page and escape(message) in page
    assert form_accounts(page) == [CAROL_CHEQUING, CAROL_SAVINGS]
    # Nothing was decided: the user can still sign in.
    assert (await web_login(answer)).status == 303


async def test_user_password_from_config(make_scheme: MakeScheme) -> None:
    users = [{"user_id": CAROL, "fsp_id": "dfspa", "name": "Carol", "password": "s3cret"}]
    scheme = await make_scheme(users=users)
    answer = await web_request(scheme)
    assert (await web_login(answer, password="tpsim")).status == 401
    assert (await web_login(answer, password="s3cret")).status == 303


async def test_names_are_escaped(make_scheme: MakeScheme) -> None:
    users = [{"user_id": CAROL, "fsp_id": "dfspa", "name": "<script>alert(1)</script>"}]
    scheme = await make_scheme(users=users)
    answer = await web_request(scheme)
    _, page, _ = await get((answer.body or {})["authUri"])
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_only_a_request_waiting_for_sign_in_is_shown(scheme: Scheme) -> None:
    unknown = f"{scheme.url}/login/dfspa/{uid('nothing')}"
    assert (await get(unknown))[0] == 404
    assert (await get(f"{scheme.url}/login/dfspz/{REQUEST_ID}"))[0] == 404
    assert (await post(unknown, [("decision", "deny")]))[0] == 404

    answer = await web_request(scheme)
    auth_uri = (answer.body or {})["authUri"]
    login = await web_login(answer)
    status, page, _ = await get(auth_uri)
    assert status == 409 and "AWAITING_PATCH" in page
    assert (await post(auth_uri, [("decision", "deny"), ("csrf", form_token(login.form))]))[
        0
    ] == 409


async def test_otp_request_has_no_login_page(scheme: Scheme) -> None:
    await request_consent(scheme, REQUEST_ID, channels=("OTP",))
    assert (await get(f"{scheme.url}/login/dfspa/{REQUEST_ID}"))[0] == 409


async def test_public_url_from_config(make_scheme: MakeScheme) -> None:
    web = {"public_url": "https://bank.example/tpsim/"}
    scheme = await make_scheme(behaviour={"linking": {"web": web}})
    answer = await web_request(scheme)
    assert (answer.body or {})["authUri"] == f"https://bank.example/tpsim/login/dfspa/{REQUEST_ID}"


async def test_denial_is_final(scheme: Scheme) -> None:
    answer = await web_request(scheme)
    login = await web_login(answer, decision="deny")
    assert login.params["error"] == "access_denied"
    denied = await wait_grant(scheme, REQUEST_ID)
    assert error_code(denied) == "6102"
    assert (await web_login_status(answer, form_token(login.form))) == 409


async def web_login_status(answer: Received, csrf: str) -> int:
    data = [("decision", "approve"), ("csrf", csrf)]
    status, _, _ = await post((answer.body or {})["authUri"], data)
    return status


# --- a real browser, when one is installed --------------------------------------------------


@needs_browser("the tests above drive the same page over plain HTTP")
async def test_login_in_a_headless_browser(scheme: Scheme) -> None:  # pragma: no cover
    from playwright.async_api import async_playwright

    answer = await web_request(scheme)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = await browser.new_page()
        await page.goto((answer.body or {})["authUri"])
        await page.fill('input[name="password"]', "tpsim")
        await page.uncheck(f'input[value="{CAROL_CHEQUING}"]')
        async with page.expect_navigation():
            await page.click('button[value="approve"]')
        secret = parse_qs(urlsplit(page.url).query)["secret"][0]
        await browser.close()
    await authenticate(scheme, REQUEST_ID, secret)
    grant = await wait_grant(scheme, REQUEST_ID)
    assert (grant.body or {})["scopes"] == [
        {"address": CAROL_SAVINGS, "actions": ["ACCOUNTS_GET_BALANCE", "ACCOUNTS_TRANSFER"]}
    ]
