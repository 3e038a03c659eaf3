"""Seed 002 in a real headless browser: Claire identifies and authenticates at her bank,
then selects an account with a sufficient balance (the page offers no other), approves,
and her browser lands back at the PISP's successfulReportUrl; the money moves.

Runs when Debian's chromium and Playwright are installed (``.ci/run`` installs chromium
where it can); ``test_stet.py`` drives the same two-step page over plain HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import MakeScheme
from tests.support.browser import CHROMIUM, needs_browser

COURANT, LIVRET = "dfspa.claire.courant", "dfspa.claire.livret"
LOUIS = "FR1420041010050500013M02606"


def payment_request(report: str) -> dict[str, Any]:
    """A STET 1.4.2 payment request without debtorAccount: the PSU chooses at the bank."""
    return {
        "paymentInformationId": "MyPmtInfId",
        "creationDateTime": "2026-11-30T10:00:00Z",
        "numberOfTransactions": 1,
        "initiatingParty": {"name": "Browser PISP"},
        "paymentTypeInformation": {"serviceLevel": "SEPA", "categoryPurpose": "DVPM"},
        "beneficiary": {"creditor": {"name": "Louis Martin"}, "creditorAccount": {"iban": LOUIS}},
        "chargeBearer": "SLEV",
        "requestedExecutionDate": "2026-11-30T10:00:00Z",
        "creditTransferTransaction": [
            {
                "paymentId": {"instructionId": "MyInstrId", "endToEndId": "MyEndToEndId"},
                "instructedAmount": {"currency": "EUR", "amount": "124.35"},
                "remittanceInformation": ["Order 42"],
            }
        ],
        "supplementaryData": {
            "acceptedAuthenticationApproach": ["REDIRECT"],
            "successfulReportUrl": f"{report}/ok",
            "unsuccessfulReportUrl": f"{report}/nok",
        },
    }


@needs_browser("tests/serve/test_stet.py drives the two-step page over HTTP")
async def test_claire_signs_in_picks_the_account_that_can_pay_and_approves(
    make_scheme: MakeScheme,
) -> None:  # pragma: no cover
    from playwright.async_api import async_playwright

    async def report(request: web.Request) -> web.Response:
        return web.Response(text=f"back at the PISP: {request.path}")

    app = web.Application()
    app.router.add_get("/report/{outcome}", report)
    async with TestServer(app, host="127.0.0.1") as pisp_site:
        back = str(pisp_site.make_url("/report"))
        tpps = [
            {
                "client_id": "tpp-one",
                "client_secret": "tpp-one-secret",
                "name": "Browser PISP",
                "redirect_uris": [back],
            }
        ]
        scheme = await make_scheme(tpps=tpps)
        base = f"{scheme.url}/stet/dfspa"
        async with aiohttp.ClientSession() as http:
            form = {
                "grant_type": "client_credentials",
                "scope": "pisp",
                "client_id": "tpp-one",
                "client_secret": "tpp-one-secret",
            }
            async with http.post(f"{base}/token", data=form) as answer:
                token = (await answer.json())["access_token"]
            headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "b-1"}
            async with http.post(
                f"{base}/v1/payment-requests", json=payment_request(back), headers=headers
            ) as answer:
                assert answer.status == 201, await answer.text()
                location = answer.headers["Location"]
                approval = (await answer.json())["_links"]["consentApproval"]["href"]
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = await browser.new_page()
                await page.goto(approval)
                assert "124.35 EUR to Louis Martin" in await page.content()
                assert await page.locator('input[name="account"]').count() == 0
                await page.fill('input[name="user"]', "claire")
                await page.fill('input[name="password"]', "claire")
                async with page.expect_navigation():
                    await page.click('button[value="sign_in"]')
                offered = page.locator('input[name="account"]')
                assert await offered.count() == 1  # the 20 EUR Livret A cannot pay 124.35
                assert await offered.get_attribute("value") == COURANT
                async with page.expect_navigation():
                    await page.click('button[value="approve"]')
                assert page.url == f"{back}/ok"
                assert await page.inner_text("body") == "back at the PISP: /report/ok"
                await browser.close()
            await scheme.settle()
            async with http.get(location, headers={**headers, "X-Request-ID": "b-2"}) as answer:
                read = (await answer.json())["paymentRequest"]
        assert read["paymentInformationStatus"] == "ACSC"
        assert read["debtorAccount"] == {"iban": "FR7630006000011234567890189"}
        assert scheme.balance(COURANT) == "2875.65"
        assert scheme.balance(LIVRET) == "20"
        assert scheme.balance("dfspb.louis.courant") == "124.35"
