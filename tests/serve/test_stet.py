"""STET on a served tpsim: a PISP written from STET 1.4.2 pays over real HTTP on loopback.

Seed 002's journey end to end: the PISP's client-credentials token at
``/stet/{fspId}/token``, a payment request that names no debtor account, the PSU at the
bank's page (sign in, then choose among her accounts the one that can pay), the browser
back at ``successfulReportUrl``, the status read back and Louis paid at another bank
through the switch. Then the headless switch of the page, the o-confirmation variant
(the bank's ``/authorize`` and the PSU's token), the edge's refusals and strict
signatures. Every answer the PISP gets is checked as STET allows it
(``tests.stet.support.check_answer``: ``sent_problems``, the echoed ``X-Request-ID``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from tests.conftest import MakeScheme
from tests.stet.support import CLAIRE, LIVRET, LOUIS, LUCA, NOK_URL, OK_URL, payment_request
from tests.support.browser import CHROMIUM, needs_browser
from tests.support.raw_http import send_raw
from tests.support.scheme import Scheme
from tests.support.stet_openapi import (
    CALLBACK,
    REQUESTS,
    Pisp,
    PsuBrowser,
    balances,
    headless,
    with_stet,
)
from tpsim.stet.signatures import sign

Body = dict[str, Any]


async def journal(http: aiohttp.ClientSession, scheme: Scheme, resource_id: str) -> list[Body]:
    async with http.get(f"{scheme.url}/admin/journal", params={"correlationId": resource_id}) as a:
        return list((await a.json())["entries"])


# -- seed 002's journey -----------------------------------------------------------------


async def test_claire_signs_in_chooses_the_account_that_can_pay_and_louis_is_paid(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token)
        location = created.headers["Location"]
        resource_id = location.rsplit("/", 1)[1]
        assert location == f"{pisp.base}/v1/{REQUESTS}/{resource_id}"
        assert created.body["appliedAuthenticationApproach"] == "REDIRECT"
        assert await pisp.statuses(location, token) == ("ACTC", None)

        browser = PsuBrowser(http)
        page = await browser.open(created.body["_links"]["consentApproval"]["href"])
        assert page.status == 200 and "124.35 EUR to Louis Martin" in page.html
        # Step 1: who she is (user id and password), no account yet.
        assert (page.named("text"), page.named("password"), page.offered()) == (
            ["user"],
            ["password"],
            [],
        )
        assert page.decisions() == ["sign_in", "deny"]
        page, _ = await browser.submit(page, "sign_in", user="claire", password="claire")
        # Step 2: only her compte courant can pay 124.35 EUR; the 20 EUR Livret A is not offered.
        assert page.status == 200 and page.decisions() == ["approve", "deny"]
        assert page.offered() == ["dfspa.claire.courant"]
        assert CLAIRE in page.html and LIVRET not in page.html
        assert {"csrf", "user", "signed_in"} <= set(page.named("hidden"))
        back, location_back = await browser.submit(page, "approve")
        assert (back.status, location_back) == (303, OK_URL)

        await scheme.settle()  # Louis is at dfspb: the switch carries a quote and a transfer
        got = await pisp.call("GET", location, token=token)
        resource = got.body["paymentRequest"]
        assert resource["paymentInformationStatus"] == "ACSC"
        assert resource["debtorAccount"] == {"iban": CLAIRE}  # the account she chose
        assert resource["creditTransferTransaction"][0]["transactionStatus"] == "ACSC"
        money = await balances(http, scheme)
        assert (money[CLAIRE], money[LIVRET], money[LOUIS]) == ("2875.65", "20", "124.35")
        hops = [
            (e["hop"], e["dialect"], e["method"], e["status"], e["redirect"])
            for e in await journal(http, scheme, resource_id)
        ]
    assert ("received", "stet", "POST", None, None) in hops
    assert ("sent", "stet", "POST", 201, None) in hops
    assert ("out-of-band", "stet", "POST", 303, OK_URL) in hops
    assert ("sent", "stet", "GET", 200, None) in hops


async def test_a_wrong_password_is_asked_again_and_the_third_sends_the_psu_back(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token)
        browser = PsuBrowser(http)
        page = await browser.open(created.body["_links"]["consentApproval"]["href"])
        for _ in range(2):
            page, _ = await browser.submit(page, "sign_in", user="claire", password="nope")
            assert page.status == 401 and "wrong user id or password" in page.html
        ended, _ = await browser.submit(page, "sign_in", user="claire", password="nope")
        assert ended.status == 403 and f'href="{NOK_URL}"' in ended.html
        assert await pisp.statuses(created.headers["Location"], token) == ("RJCT", "MS03")
        assert (await balances(http, scheme))[CLAIRE] == "3000"


async def test_the_second_step_pays_only_from_an_account_the_psu_holds(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token)
        browser = PsuBrowser(http)
        page = await browser.open(created.body["_links"]["consentApproval"]["href"])
        page, _ = await browser.submit(page, "sign_in", user="claire", password="claire")
        # A form changed to pay from Erika's account (she has 5000 EUR at dfspa): refused.
        again, location = await browser.submit(page, "approve", account="dfspa.erika.giro")
        assert (again.status, location) == (400, None) and "does not hold" in again.html
        assert await pisp.statuses(created.headers["Location"], token) == ("ACTC", None)
        assert (await balances(http, scheme))["DE89370400440532013000"] == "5000"


@needs_browser("test_claire_signs_in_chooses_the_account_that_can_pay… drives it over HTTP")
async def test_the_approval_page_in_a_headless_browser(
    make_scheme: MakeScheme,
) -> None:  # pragma: no cover - only where chromium is installed
    from playwright.async_api import async_playwright

    async def back_at_the_pisp(request: web.Request) -> web.Response:
        return web.Response(text="back at the PISP")

    app = web.Application()
    app.router.add_get("/ok", back_at_the_pisp)
    async with TestServer(app, host="127.0.0.1") as pisp_site:
        done = str(pisp_site.make_url("/ok"))
        tpps = [
            {
                "client_id": "tpp-b",
                "client_secret": "b",
                "name": "Browser PISP",
                "redirect_uris": [done],
            }
        ]
        scheme = await make_scheme(tpps=tpps)
        async with aiohttp.ClientSession() as http:
            pisp = Pisp(scheme, http, client=("tpp-b", "b"))
            token = await pisp.token()
            body = payment_request("12.50", creditor=LUCA, report=(done, None))
            created = await pisp.create(token, body)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = await browser.new_page()
                await page.goto(created.body["_links"]["consentApproval"]["href"])
                await page.fill('input[name="user"]', "claire")
                await page.fill('input[name="password"]', "claire")
                async with page.expect_navigation():
                    await page.click('button[value="sign_in"]')
                # 12.50 EUR: both her accounts can pay; she picks the Livret A.
                await page.check('input[value="dfspa.claire.livret"]')
                async with page.expect_navigation():
                    await page.click('button[value="approve"]')
                assert (page.url, await page.inner_text("body")) == (done, "back at the PISP")
                await browser.close()
            assert await pisp.statuses(created.headers["Location"], token) == ("ACSC", None)
            assert (await balances(http, scheme))[LIVRET] == "7.5"


# -- headless ---------------------------------------------------------------------------


async def approval_link(pisp: Pisp, token: str, body: Body | None = None) -> tuple[str, str]:
    """A new REDIRECT request's (Location, consentApproval)."""
    created = await pisp.create(token, body)
    return created.headers["Location"], created.body["_links"]["consentApproval"]["href"]


@pytest.mark.parametrize(
    ("query", "report", "outcome"),
    [
        ({"sim_decision": "approve", "sim_psu": "claire"}, (OK_URL, NOK_URL), (OK_URL, "ACSC")),
        ({"sim_decision": "approve", "sim_account": CLAIRE}, (OK_URL, NOK_URL), (OK_URL, "ACSC")),
        ({"sim_decision": "deny"}, (OK_URL, NOK_URL), (NOK_URL, "RJCT")),
        # Without unsuccessfulReportUrl a refusal goes back to successfulReportUrl (§3.2).
        ({"sim_decision": "deny"}, (OK_URL, None), (OK_URL, "RJCT")),
    ],
    ids=["approve as claire", "approve from an account", "deny", "deny, no unsuccessful url"],
)
async def test_sim_decision_on_the_approval_link_answers_the_final_redirect(
    scheme: Scheme, query: dict[str, str], report: tuple[str, str | None], outcome: tuple[str, str]
) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        location, link = await approval_link(pisp, token, payment_request(report=report))
        assert await headless(http, link, **query) == (302, outcome[0])
        await scheme.settle()
        status, reason = await pisp.statuses(location, token)
        assert (status, reason) == (outcome[1], "CUST" if outcome[1] == "RJCT" else None)
        # The decision is made: the page has nothing left to approve.
        assert (await headless(http, link, sim_decision="approve"))[0] == 409


async def test_sim_decision_is_refused_while_headless_is_off(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(behaviour={"psd2": {"headless": False}})
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        location, link = await approval_link(pisp, token)
        assert (await headless(http, link, sim_decision="approve", sim_psu="claire"))[0] == 403
        assert await pisp.statuses(location, token) == ("ACTC", None)  # nothing decided
        page = await PsuBrowser(http).open(link)  # the page itself still works
        assert page.status == 200 and page.decisions() == ["sign_in", "deny"]


async def test_sim_decision_on_a_request_the_bank_does_not_have_is_a_404(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        link = f"{scheme.url}/login/dfspa/stet/no-such-request"
        status, text = await headless(http, link, sim_decision="approve", sim_psu="claire")
        assert status == 404 and "no-such-request" in text


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"sim_decision": "maybe"}, 400),
        ({"sim_decision": "approve", "sim_psu": "louis"}, 400),  # louis banks at dfspb
        ({"sim_decision": "approve", "sim_account": LOUIS}, 400),  # not dfspa's account
        ({"sim_decision": "approve"}, 400),  # no debtorAccount, no PSU: nobody to pay
    ],
    ids=["no such decision", "another bank's PSU", "another bank's account", "nobody"],
)
async def test_a_headless_decision_that_names_no_payer_is_refused_and_decides_nothing(
    scheme: Scheme, query: dict[str, str], status: int
) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        location, link = await approval_link(pisp, token)
        got, text = await headless(http, link, **query)
        assert got == status and text
        assert await pisp.statuses(location, token) == ("ACTC", None)


async def test_a_headless_approval_from_another_account_than_the_named_one_is_a_400(
    scheme: Scheme,
) -> None:
    # As the admin decision and /authorize's sim_account (serve.account_choice): never
    # paid from the named account instead, the choice silently dropped.
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        named = payment_request("10.00", debtor=CLAIRE, creditor=LOUIS)
        location, link = await approval_link(pisp, token, named)
        sim = {"sim_decision": "approve", "sim_psu": "claire", "sim_account": LIVRET}
        got, text = await headless(http, link, **sim)
        assert got == 400 and CLAIRE in text, text
        assert await pisp.statuses(location, token) == ("ACTC", None)
        repeated = await headless(http, link, **{**sim, "sim_account": CLAIRE})
        assert repeated == (302, OK_URL)


# -- the o-confirmation variant ---------------------------------------------------------


async def test_o_confirmation_executes_only_with_the_psus_token(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(participants=with_stet(o_confirmation=True))
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        location, link = await approval_link(pisp, token)
        resource_id = location.rsplit("/", 1)[1]
        approval = urlsplit(link)
        assert approval.path == "/stet/dfspa/authorize"
        assert dict(parse_qsl(approval.query)) == {
            "response_type": "code",
            "client_id": "tpp-one",
            "scope": "pisp",
            "paymentRequestResourceId": resource_id,
        }
        mine = {"redirect_uri": CALLBACK, "state": "s-42"}
        sim = {"sim_decision": "approve", "sim_psu": "claire"}
        got, back = await headless(http, f"{link}&{urlencode(mine)}", **sim)
        answered = dict(parse_qsl(urlsplit(back).query))
        assert (got, back.split("?")[0], answered["state"]) == (302, CALLBACK, "s-42")

        # Approved, not executed: nothing moves before the o-confirmation.
        assert await pisp.statuses(location, token) == ("ACCP", None)
        assert (await balances(http, scheme))[CLAIRE] == "3000"
        confirm = f"{location}/o-confirmation"
        refused = await pisp.call("POST", confirm, {}, token=token)
        assert (refused.status, refused.body["error"]) == (403, "TOKEN_KIND")

        psu = await pisp.token(
            grant_type="authorization_code", code=answered["code"], redirect_uri=CALLBACK
        )
        confirmed = await pisp.call("POST", confirm, {}, token=psu)
        # Louis banks at dfspb: money moves (ACSP) until the switch's transfer commits.
        assert confirmed.body["paymentRequest"]["paymentInformationStatus"] == "ACSP"
        await scheme.settle()
        assert await pisp.statuses(location, token) == ("ACSC", None)
        again = await pisp.call("POST", confirm, {}, token=psu)
        assert (again.status, again.body["error"]) == (400, "STATUS_INVALID")
        assert (await balances(http, scheme))[LOUIS] == "124.35"


# -- the edge's refusals ----------------------------------------------------------------

HUGE = b'{"paymentInformationId": "' + b"x" * (600 * 1024) + b'"}'
# In UTC this is after 9999-12-31: no datetime holds it.
FAR = json.dumps(payment_request(when="9999-12-31T23:59:59-23:59")).encode()


@pytest.mark.parametrize(
    ("method", "path", "sent", "headers", "refusal"),
    [
        ("POST", REQUESTS, HUGE, {}, (413, "FIELD_INVALID")),
        ("POST", REQUESTS, b"{not json", {}, (400, "FIELD_INVALID")),
        ("POST", REQUESTS, b"[1, 2]", {}, (400, "FIELD_INVALID")),
        ("POST", REQUESTS, b"{}", {"Content-Type": "text/plain"}, (415, "UNSUPPORTED_MEDIA_TYPE")),
        ("POST", REQUESTS, None, {"Accept": "text/html"}, (406, "NOT_ACCEPTABLE")),
        ("GET", f"{REQUESTS}/nope", None, {}, (404, "PAYMENT_REQUEST_UNKNOWN")),
        ("DELETE", f"{REQUESTS}/nope", None, {}, (405, "METHOD_NOT_ALLOWED")),
        ("GET", "accounts", None, {}, (404, "RESOURCE_UNKNOWN")),
        ("GET", f"{REQUESTS}/a%0Ab/c", None, {}, (404, "RESOURCE_UNKNOWN")),
        ("POST", REQUESTS, FAR, {}, (400, "FIELD_INVALID")),
    ],
    ids=[
        "too large",
        "not json",
        "not an object",
        "not sent as json",
        "json not accepted",
        "unknown request",
        "no such method",
        "no such resource",
        "a newline in a segment",
        "a date out of range",
    ],
)
async def test_the_edge_refuses_with_an_error_model_and_keeps_serving(
    scheme: Scheme,
    method: str,
    path: str,
    sent: bytes | None,
    headers: dict[str, str],
    refusal: tuple[int, str],
) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        got = await pisp.call(method, path, token=token, raw=sent, headers=headers)
        assert (got.status, got.body["error"]) == refusal
        assert got.body["message"] and got.body["path"].startswith("/stet/dfspa/v1/")
        await pisp.create(token)  # …and tpsim still takes a payment request


@pytest.mark.parametrize(
    "url",
    ["/stet/dfspz/v1/payment-requests", "/stet/dfspa/v2/payment-requests", "/stet/dfspa/"],
    ids=["an unknown bank", "an unknown version", "the bank's root"],
)
async def test_a_path_no_bank_serves_is_a_404_error_model(scheme: Scheme, url: str) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        got = await pisp.call("GET", f"{scheme.url}{url}")
        assert (got.status, got.body["error"]) == (404, "RESOURCE_UNKNOWN")


async def test_tokens_are_refused_before_anything_else(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        body = payment_request()
        missing = await pisp.call("POST", REQUESTS, body)
        assert (missing.status, missing.body["error"]) == (401, "TOKEN_MISSING")
        unknown = await pisp.call("POST", REQUESTS, body, token="x" * 43)
        assert (unknown.status, unknown.body["error"]) == (401, "TOKEN_INVALID")
        uk = await pisp.token(grant_type="client_credentials", scope="payments")
        scoped = await pisp.call("POST", REQUESTS, body, token=uk)
        assert (scoped.status, scoped.body["error"]) == (403, "TOKEN_SCOPE")


async def test_a_bearer_token_of_bytes_that_are_no_utf8_is_401_not_a_500(scheme: Scheme) -> None:
    answer = await send_raw(
        scheme.url,
        "POST",
        "/stet/dfspa/v1/payment-requests",
        {
            "Content-Type": "application/json",
            "X-Request-ID": "r-1",
            "Authorization": b"Bearer \xff\xfe",
        },
        json.dumps(payment_request()).encode(),
    )
    assert (answer.status, answer.body["error"]) == (401, "TOKEN_INVALID")


async def test_the_bpce_flavour_answers_405_to_put_and_to_both_confirmations(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(participants=with_stet(flavour="bpce-1.4.0"))
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        location = (await pisp.create(token)).headers["Location"]
        resource = await pisp.resource(location, token)
        cancel = {**resource, "paymentInformationStatus": "RJCT", "statusReasonInformation": "DS02"}
        for method, url, body in (
            ("PUT", location, cancel),
            ("POST", f"{location}/confirmation", {}),
            ("POST", f"{location}/o-confirmation", {}),
        ):
            refused = await pisp.call(method, url, body, token=token)
            assert (refused.status, refused.body["error"]) == (405, "METHOD_NOT_ALLOWED")
            assert "bpce-1.4.0" in refused.body["message"]
        assert await pisp.statuses(location, token) == ("ACTC", None)


async def test_a_date_time_sent_with_a_java_offset_is_answered_in_rfc_3339(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        body = payment_request(creationDateTime="2026-11-30T11:00:00+0100")
        resource = await pisp.resource((await pisp.create(token, body)).headers["Location"], token)
    assert resource["creationDateTime"] == "2026-11-30T11:00:00+01:00"


# -- strict signatures ------------------------------------------------------------------

SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SIGNED_TPP = {
    "client_id": "tpp-one",
    "client_secret": "tpp-one-secret",
    "name": "Signing PISP",
    "redirect_uris": ["https://tpp.example/"],
    "jwks": {"keys": [RSAKey.import_key(SIGNING_KEY.public_key(), {"kid": "qseal-1"}).as_dict()]},
}


def signed(target: str, body: bytes, request_id: str) -> dict[str, str]:
    """The headers of a POST ``target`` signed as a STET PISP signs it (the QSealC key)."""
    headers = {"Date": "Mon, 30 Nov 2026 10:00:00 GMT", "X-Request-ID": request_id}
    return {**headers, **sign("POST", target, headers, body, SIGNING_KEY, "qseal-1")}


STRICT = {"behaviour": {"psd2": {"strict_signatures": True}}, "tpps": [SIGNED_TPP]}


async def test_strict_signatures_take_a_signed_request_and_refuse_the_rest(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(**STRICT)
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        target = f"/stet/{pisp.bank}/v1/{REQUESTS}"
        raw = json.dumps(payment_request()).encode()
        token = await pisp.token()
        headers = signed(target, raw, str(uuid.uuid4()))
        accepted = await pisp.call("POST", REQUESTS, token=token, raw=raw, headers=headers)
        assert accepted.status == 201, accepted.body
        unsigned = await pisp.call("POST", REQUESTS, token=token, raw=raw)
        assert (unsigned.status, unsigned.body["error"]) == (401, "SIGNATURE_MISSING")
        assert unsigned.headers["WWW-Authenticate"].startswith("Signature")
        tampered = raw.replace(b"124.35", b"999.99")
        changed = await pisp.call("POST", REQUESTS, token=token, raw=tampered, headers=headers)
        assert (changed.status, changed.body["error"]) == (400, "DIGEST_MISMATCH")
        replayed = {**headers, "X-Request-ID": str(uuid.uuid4())}  # not the one signed
        wrong = await pisp.call("POST", REQUESTS, token=token, raw=raw, headers=replayed)
        assert (wrong.status, wrong.body["error"]) == (401, "SIGNATURE_INVALID")
        got = await pisp.call("GET", accepted.headers["Location"], token=token)
        assert (got.status, got.body["error"]) == (401, "SIGNATURE_MISSING")  # a GET signs too
