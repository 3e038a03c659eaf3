"""XS2A on a served tpsim: a TPP written from the spec pays over real HTTP on loopback.

Every answer of every test here is checked against the official XS2A OpenAPI when the
scheme closes (``Scheme.validate_xs2a_answers``, run by the ``make_scheme`` fixture).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import MakeScheme
from tests.serve.test_oauth import CHALLENGE, VERIFIER
from tests.support.browser import CHROMIUM, needs_browser
from tests.support.scheme import Scheme, default_config_data

ERIKA, LUCA, MAX = "DE89370400440532013000", "DE75512108001245126199", "DE02120300000000202051"
OUTSIDE = "DE44500105175407324931"  # a valid IBAN no simulated bank holds
PAYMENTS = "/xs2a/dfspa/v1/payments/sepa-credit-transfers"


def payment(creditor: str = MAX, amount: str = "42.00", **more: Any) -> dict[str, Any]:
    return {
        "instructedAmount": {"currency": "EUR", "amount": amount},
        "debtorAccount": {"iban": ERIKA},
        "creditorName": "Max Mustermann",
        "creditorAccount": {"iban": creditor},
        "remittanceInformationUnstructured": "Invoice 7",
        **more,
    }


def headers(**more: str) -> dict[str, str]:
    return {
        "X-Request-ID": str(uuid.uuid4()),
        "PSU-IP-Address": "192.168.8.78",
        "Content-Type": "application/json",
        **{name.replace("_", "-"): value for name, value in more.items()},
    }


def with_profile(fsp_id: str, **xs2a: Any) -> list[dict[str, Any]]:
    """The built-in participants, bank ``fsp_id`` with this XS2A profile."""
    participants: list[dict[str, Any]] = default_config_data()["participants"]
    for participant in participants:
        if participant["fsp_id"] == fsp_id:
            participant["psd2"] = {"xs2a": xs2a}
    return participants


class Tpp:
    """A TPP written from the spec: only what the answers say (links), nothing of tpsim's."""

    def __init__(self, scheme: Scheme, http: aiohttp.ClientSession) -> None:
        self.scheme, self.http = scheme, http

    async def call(
        self, method: str, path_or_url: str, body: Any = None, **more: str
    ) -> tuple[int, Any, dict[str, str]]:
        url = path_or_url if path_or_url.startswith("http") else self.scheme.url + path_or_url
        async with self.http.request(
            method, url, json=body, headers=headers(**more), allow_redirects=False
        ) as response:
            data = await response.json() if response.content_length else None
            return response.status, data, dict(response.headers)

    async def status(self, initiated: dict[str, Any]) -> dict[str, Any]:
        status, body, _ = await self.call("GET", initiated["_links"]["status"]["href"])
        assert status == 200
        return body  # type: ignore[no-any-return]


async def test_a_redirect_payment_to_another_bank_settles_through_the_switch(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        status, created, answered = await tpp.call(
            "POST", PAYMENTS, payment(), TPP_Redirect_URI="http://localhost:8000/cb/ok"
        )
        assert status == 201
        assert answered["ASPSP-SCA-Approach"] == "REDIRECT"
        assert created["transactionStatus"] == "RCVD"
        link = created["_links"]["scaRedirect"]["href"]
        async with http.get(link + "?sim_decision=approve", allow_redirects=False) as back:
            assert back.status == 302
            assert back.headers["Location"] == "http://localhost:8000/cb/ok"
        await scheme.settle()
        assert await tpp.status(created) == {"transactionStatus": "ACCC", "fundsAvailable": True}
    assert scheme.balance("dfspa.erika.giro") == "4958"
    assert scheme.balance("dfspb.max.giro") == "42"
    assert scheme.sim is not None
    hops = [
        (e.hop.value, e.dialect, e.method, e.path.split("/")[1])
        for e in scheme.sim.journal.entries(correlation_id=created["paymentId"])
    ]
    assert ("delivered", "mojaloop", "POST", "quotes") in hops
    assert ("delivered", "mojaloop", "PUT", "transfers") in hops
    assert ("out-of-band", "xs2a", "GET", "login") in hops


async def test_an_embedded_payment_is_authorised_with_password_method_and_tan(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        status, created, answered = await tpp.call(
            "POST", PAYMENTS, payment(LUCA, "10"), TPP_Redirect_Preferred="false", PSU_ID="erika"
        )
        assert (status, answered["ASPSP-SCA-Approach"]) == (201, "EMBEDDED")
        step = created["_links"]["updatePsuAuthentication"]["href"]
        status, body, _ = await tpp.call("PUT", step, {"psuData": {"password": "wrong"}})
        assert (status, body["tppMessages"][0]["code"]) == (401, "PSU_CREDENTIALS_INVALID")
        status, body, _ = await tpp.call("PUT", step, {"psuData": {"password": "12345"}})
        assert (status, body["scaStatus"]) == (200, "psuAuthenticated")
        method = body["scaMethods"][0]["authenticationMethodId"]
        select = body["_links"]["selectAuthenticationMethod"]["href"]
        status, body, _ = await tpp.call("PUT", select, {"authenticationMethodId": method})
        assert (status, body["scaStatus"]) == (200, "scaMethodSelected")
        authorise = body["_links"]["authoriseTransaction"]["href"]
        status, body, _ = await tpp.call("PUT", authorise, {"scaAuthenticationData": "123456"})
        assert (status, body["scaStatus"]) == (200, "finalised")
        assert (await tpp.status(created))["transactionStatus"] == "ACCC"
    assert scheme.balance("dfspa.luca.giro") == "110"


async def test_a_decoupled_payment_waits_for_the_psu_in_their_app(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST", PAYMENTS, payment(OUTSIDE, "5"), TPP_Decoupled_Preferred="true", PSU_ID="erika"
        )
        assert (created["scaStatus"], created["psuMessage"]) == (
            "started",
            "Please confirm the payment in your dfspa app.",
        )
        sca = created["_links"]["scaStatus"]["href"]
        authorisation_id = sca.rsplit("/", 1)[1]
        async with http.post(
            f"{scheme.url}/admin/psd2/authorisations/{authorisation_id}/decision",
            json={"decision": "approve"},
        ) as decided:
            assert await decided.json() == {"redirect": None, "status": "finalised"}
        status, body, _ = await tpp.call("GET", sca)
        assert (status, body) == (200, {"scaStatus": "finalised"})
        # A creditor outside tpsim: the money leaves the debtor's account, and that is all.
        assert (await tpp.status(created))["transactionStatus"] == "ACSC"
    assert scheme.balance("dfspa.erika.giro") == "4995"


async def test_a_decoupled_initiation_naming_a_psu_without_the_account_keeps_nothing(
    scheme: Scheme,
) -> None:
    # Decoupled, the authorisation that starts with the payment pushes to PSU-ID's app at
    # once, and luca holds no account this payment debits: 401 PSU_CREDENTIALS_INVALID. The
    # error names no paymentId, so the initiation is refused whole: no payment is left in
    # the bank that the TPP could never reach, and naming erika then is the only payment.
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        status, body, answered = await tpp.call(
            "POST", PAYMENTS, payment(), TPP_Decoupled_Preferred="true", PSU_ID="luca"
        )
        [message] = body["tppMessages"]
        assert (status, message["code"], message["path"]) == (
            401,
            "PSU_CREDENTIALS_INVALID",
            "PSU-ID",
        )
        assert "Location" not in answered and "paymentId" not in body
        status, created, _ = await tpp.call(
            "POST", PAYMENTS, payment(), TPP_Decoupled_Preferred="true", PSU_ID="erika"
        )
        assert (status, created["scaStatus"]) == (201, "started")
        async with http.get(f"{scheme.url}/admin/journal") as got:
            journal = (await got.json())["entries"]
    refusal = [e for e in journal if e["error"] or e["status"] == 401]
    assert [(e["hop"], e["correlation_ids"]) for e in refusal] == [
        ("received", []),
        ("sent", []),
    ]  # the journal ties the refusal to no payment
    assert scheme.sim is not None
    bank = scheme.sim.psd2.xs2a["dfspa"].bank
    assert [p.payment_id for p in bank.payments] == [created["paymentId"]]


async def test_an_explicit_decoupled_start_naming_another_psu_may_come_again_corrected(
    scheme: Scheme,
) -> None:
    # The TPP follows startAuthorisation naming luca, who holds no account this payment
    # debits: the push would go to luca's app, so 401 before anything is kept. The refusal
    # names no authorisation, and none blocks the start naming erika, the only one listed.
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST",
            PAYMENTS,
            payment(),
            TPP_Decoupled_Preferred="true",
            TPP_Explicit_Authorisation_Preferred="true",
        )
        start = created["_links"]["startAuthorisationWithPsuIdentification"]["href"]
        status, body, answered = await tpp.call("POST", start, {}, PSU_ID="luca")
        [message] = body["tppMessages"]
        assert (status, message["code"], message["path"]) == (
            401,
            "PSU_CREDENTIALS_INVALID",
            "PSU-ID",
        )
        assert "Location" not in answered and "authorisationId" not in body
        status, started, answered = await tpp.call("POST", start, {}, PSU_ID="erika")
        assert (status, started["scaStatus"]) == (201, "started")
        status, listed, _ = await tpp.call("GET", start)
        assert listed == {"authorisationIds": [started["authorisationId"]]}
        async with http.get(f"{scheme.url}/admin/psd2/intents/{created['paymentId']}") as got:
            kept = (await got.json())["authorisations"]
    assert [(a["authorisationId"], a["attempts"]) for a in kept] == [
        (started["authorisationId"], 0)
    ]


async def test_a_denied_redirect_payment_is_rejected_and_the_browser_goes_to_the_nok_uri(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST",
            PAYMENTS,
            payment(),
            TPP_Redirect_URI="http://localhost:8000/cb/ok",
            TPP_Nok_Redirect_URI="http://localhost:8000/cb/nok",
        )
        link = created["_links"]["scaRedirect"]["href"]
        async with http.get(link + "?sim_decision=deny", allow_redirects=False) as back:
            assert back.headers["Location"] == "http://localhost:8000/cb/nok"
        assert (await tpp.status(created))["transactionStatus"] == "RJCT"
        status, body, _ = await tpp.call("DELETE", created["_links"]["self"]["href"])
        assert (status, body["tppMessages"][0]["code"]) == (400, "FORMAT_ERROR")
    assert scheme.balance("dfspa.erika.giro") == "5000"


async def test_an_unauthorised_payment_is_cancelled_at_once(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST", PAYMENTS, payment(), TPP_Redirect_URI="https://tpp.example/x"
        )
        status, body, answered = await tpp.call("DELETE", created["_links"]["self"]["href"])
        assert (status, body) == (204, None)
        assert "X-Request-ID" in answered
        assert (await tpp.status(created))["transactionStatus"] == "CANC"


async def test_refusals_are_tpp_messages_naming_what_to_fix(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        cases = [
            ("POST", "/xs2a/dfspa/v1/payments/swift-transfers", payment(), 404, "PRODUCT_UNKNOWN"),
            ("POST", PAYMENTS, payment(amount="1.2345"), 400, "FORMAT_ERROR"),
            ("POST", PAYMENTS, {"creditorName": "x"}, 400, "FORMAT_ERROR"),
            ("GET", f"{PAYMENTS}/no-such-payment", None, 404, "RESOURCE_UNKNOWN"),
            ("PATCH", f"{PAYMENTS}/no-such-payment", None, 404, "RESOURCE_UNKNOWN"),
            (
                "GET",
                "/xs2a/dfspz/v1/payments/sepa-credit-transfers/x",
                None,
                404,
                "RESOURCE_UNKNOWN",
            ),
            ("POST", PAYMENTS, payment(), 400, "FORMAT_ERROR"),  # REDIRECT without its URI
        ]
        for method, path, body, status, code in cases:
            got, answer, answered = await tpp.call(method, path, body)
            assert (got, answer["tppMessages"][0]["code"]) == (status, code), (method, path)
            assert answer["tppMessages"][0]["text"]
            assert "X-Request-ID" in answered
        got, answer, _ = await tpp.call("GET", f"{PAYMENTS}/x/status", Accept="text/html")
        assert (got, answer) == (406, None)  # the spec: no message code, no body, for a 406
        got, answer, _ = await tpp.call(
            "POST", PAYMENTS, payment(), TPP_Redirect_URI="https://evil.example/"
        )
        assert (got, answer["tppMessages"][0]["path"]) == (400, "TPP-Redirect-URI")


async def test_the_sca_page_takes_the_psus_password(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST", PAYMENTS, payment(LUCA, "1"), TPP_Redirect_URI="https://tpp.example/done"
        )
        link = created["_links"]["scaRedirect"]["href"]
        async with http.get(link) as page:
            html = await page.text()
        assert "Example TPP" in html and "1 EUR to Max Mustermann" in html
        token = html.split('name="csrf" value="')[1].split('"')[0]
        form = {"csrf": token, "password": "12345", "decision": "approve"}
        async with http.post(link, data=form, allow_redirects=False) as back:
            assert (back.status, back.headers["Location"]) == (303, "https://tpp.example/done")
        assert (await tpp.status(created))["transactionStatus"] == "ACCC"


def pkce_query(payment_id: str, state: str, **more: str) -> dict[str, str]:
    """A TPP's ``/authorize`` query for XS2A payment ``payment_id`` (OAuth SCA): the PKCE
    code flow of RFC 7636 Appendix B's challenge, back to https://tpp.example/cb."""
    return {
        "response_type": "code",
        "client_id": "tpp-one",
        "redirect_uri": "https://tpp.example/cb",
        "scope": f"PIS:{payment_id}",
        "state": state,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **more,
    }


async def test_an_oauth_payment_is_authorised_with_a_pkce_code_flow(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(
        participants=with_profile("dfspa", sca_approaches_supported=["OAUTH"])
    )
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        status, created, answered = await tpp.call("POST", PAYMENTS, payment(LUCA, "3"))
        assert (status, answered["ASPSP-SCA-Approach"]) == (201, "REDIRECT")
        async with http.get(created["_links"]["scaOAuth"]["href"]) as found:
            metadata = await found.json()
        query = pkce_query(created["paymentId"], "s-1", sim_decision="approve")
        async with http.get(
            metadata["authorization_endpoint"], params=query, allow_redirects=False
        ) as back:
            location = back.headers["Location"]
        assert location.startswith("https://tpp.example/cb?")
        code = dict(parse_qsl(urlsplit(location).query))["code"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://tpp.example/cb",
            "code_verifier": VERIFIER,
            "client_id": "tpp-one",  # client_secret_post
            "client_secret": "tpp-one-secret",
        }
        async with http.post(metadata["token_endpoint"], data=form) as token:
            assert token.status == 200, await token.text()
            assert (await token.json())["token_type"] == "Bearer"
        assert (await tpp.status(created))["transactionStatus"] == "ACCC"
    assert scheme.balance("dfspa.luca.giro") == "103"


async def test_the_oauth_sca_approach_takes_s256_and_pis_scopes_only(
    make_scheme: MakeScheme,
) -> None:
    """Berlin Group's OAuth SCA approach: PKCE with S256 and scope PIS:{paymentId}; a plain
    challenge or another scope goes back to the TPP refused, naming what to send."""
    scheme = await make_scheme(
        participants=with_profile("dfspa", sca_approaches_supported=["OAUTH"])
    )
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call("POST", PAYMENTS, payment(LUCA, "3"))
        async with http.get(created["_links"]["scaOAuth"]["href"]) as found:
            metadata = await found.json()
        assert metadata["code_challenge_methods_supported"] == ["S256"]
        good = pkce_query(created["paymentId"], "s-1")
        refusals = [
            (
                {"code_challenge": VERIFIER, "code_challenge_method": "plain"},
                "invalid_request",
                "send code_challenge_method=S256 and",
            ),
            (
                {"scope": f"PIS:{created['paymentId']} anything"},
                "invalid_scope",
                "scope anything is not supported",
            ),
        ]
        for changes, error, says in refusals:
            async with http.get(
                metadata["authorization_endpoint"],
                params={**good, **changes},
                allow_redirects=False,
            ) as back:
                answered = dict(parse_qsl(urlsplit(back.headers["Location"]).query))
            assert (back.status, answered["error"], answered["state"]) == (302, error, "s-1")
            assert says in answered["error_description"]


@needs_browser("test_the_sca_page_takes_the_psus_password drives the same page over plain HTTP")
async def test_the_sca_page_in_a_headless_browser(
    make_scheme: MakeScheme,
) -> None:  # pragma: no cover
    from playwright.async_api import async_playwright

    async def back_at_the_tpp(request: web.Request) -> web.Response:
        return web.Response(text="back at the TPP")

    app = web.Application()
    app.router.add_get("/cb/done", back_at_the_tpp)
    async with TestServer(app, host="127.0.0.1") as tpp_site:
        done = str(tpp_site.make_url("/cb/done"))
        tpps = [{"client_id": "tpp-b", "name": "Browser TPP", "redirect_uris": [done]}]
        scheme = await make_scheme(tpps=tpps)
        async with aiohttp.ClientSession() as http:
            tpp = Tpp(scheme, http)
            _, created, _ = await tpp.call(
                "POST", PAYMENTS, payment(LUCA, "2"), TPP_Redirect_URI=done
            )
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = await browser.new_page()
                await page.goto(created["_links"]["scaRedirect"]["href"])
                assert "2 EUR to Max Mustermann" in await page.content()
                await page.fill('input[name="password"]', "12345")
                async with page.expect_navigation():
                    await page.click('button[value="approve"]')
                assert (page.url, await page.inner_text("body")) == (done, "back at the TPP")
                await browser.close()
            assert (await tpp.status(created))["transactionStatus"] == "ACCC"
    assert scheme.balance("dfspa.luca.giro") == "102"


async def test_a_payment_is_visible_only_to_the_tpp_that_initiated_it(
    make_scheme: MakeScheme,
) -> None:
    tpps = [
        {"client_id": "tpp-one", "name": "One", "redirect_uris": ["https://one.example/"]},
        {"client_id": "tpp-two", "name": "Two", "redirect_uris": ["https://two.example/"]},
    ]
    scheme = await make_scheme(tpps=tpps)
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST",
            PAYMENTS,
            payment(),
            TPP_Client_ID="tpp-two",
            TPP_Redirect_URI="https://two.example/cb",
        )
        status_link = created["_links"]["status"]["href"]
        assert (await tpp.call("GET", status_link, TPP_Client_ID="tpp-two"))[0] == 200
        for other in ({"TPP_Client_ID": "tpp-one"}, {}):  # no header: the first TPP
            status, body, _ = await tpp.call("GET", status_link, **other)
            assert (status, body["tppMessages"][0]["code"]) == (403, "RESOURCE_UNKNOWN")
            status, _, _ = await tpp.call("DELETE", created["_links"]["self"]["href"], **other)
            assert status == 403
        status, body, _ = await tpp.call("GET", status_link, TPP_Client_ID="tpp-nobody")
        assert (status, body["tppMessages"][0]["code"]) == (401, "CERTIFICATE_INVALID")


async def test_a_newline_in_a_path_segment_is_a_coded_xs2a_404(scheme: Scheme) -> None:
    # aiohttp's ".*" route pattern does not match a decoded %0A: the path fell through to
    # aiohttp's text/plain 404 (found by tests/serve/test_xs2a_fuzz.py).
    async with aiohttp.ClientSession() as http:
        status, body, answered = await Tpp(scheme, http).call("GET", f"{PAYMENTS}/a%0Ab")
    assert status == 404
    assert body["tppMessages"][0]["code"] == "RESOURCE_UNKNOWN"
    assert answered["Content-Type"].startswith("application/json")
    assert "X-Request-ID" in answered
