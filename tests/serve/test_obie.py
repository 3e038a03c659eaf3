"""UK Open Banking on a served tpsim: a TPP written from the spec pays over real HTTP, for
v3.1 and v4.0 — client token, consent, the PSU at the bank (headless), the code for the
PSU's token, funds, the payment, its status — and every answer it gets is as the official
OpenAPI of its version documents it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from tests.conftest import MakeScheme
from tests.support.browser import CHROMIUM, needs_browser
from tests.support.scheme import Scheme
from tpsim.specs import Spec

MITS, HARRY = "10000109010101", "20000319470104"
WORDS = {
    "3.1": ("AwaitingAuthorisation", "AcceptedCreditSettlementCompleted"),
    "4.0": ("AWAU", "ACCC"),
}


def consent_body(version: str) -> dict[str, Any]:
    # v4.0 made RemittanceInformation.Unstructured an array (and dropped Reference there).
    remittance: dict[str, Any] = {"Reference": "FRESCO-101", "Unstructured": "Internal ops 5120101"}
    if version == "4.0":
        remittance = {"Unstructured": ["Internal ops 5120101"]}
    return {
        "Data": {
            "Initiation": {
                "InstructionIdentification": "ACME412",
                "EndToEndIdentification": "FRESCO.21302.GFX.20",
                "InstructedAmount": {"Amount": "165.88", "Currency": "GBP"},
                "DebtorAccount": {
                    "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                    "Identification": MITS,
                    "Name": "Mits",
                },
                "CreditorAccount": {
                    "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                    "Identification": HARRY,
                    "Name": "Harry Smith",
                },
                "RemittanceInformation": remittance,
            }
        },
        "Risk": {},
    }


class UkTpp:
    """A UK TPP from the spec: tokens from the bank's OAuth server, the PISP API."""

    def __init__(self, scheme: Scheme, http: aiohttp.ClientSession, version: str) -> None:
        self.scheme, self.http, self.version = scheme, http, version
        self.base = f"{scheme.url}/obie/dfspa"
        self.answers: list[tuple[str, str, int, Any, dict[str, str]]] = []

    async def token(self, **form: str) -> dict[str, Any]:
        credentials = {"client_id": "tpp-one", "client_secret": "tpp-one-secret"}
        async with self.http.post(f"{self.base}/token", data={**form, **credentials}) as answer:
            assert answer.status == 200, await answer.text()
            return await answer.json()  # type: ignore[no-any-return]

    async def call(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}", "x-fapi-interaction-id": str(uuid.uuid4())}
        if method == "POST":
            headers["x-idempotency-key"] = str(uuid.uuid4())
        url = f"{self.base}/open-banking/v{self.version}/pisp/{path}"
        async with self.http.request(method, url, json=body, headers=headers) as answer:
            data = await answer.json() if answer.content_length else None
            assert answer.headers["x-fapi-interaction-id"] == headers["x-fapi-interaction-id"]
            self.answers.append((method, "/" + path, answer.status, data, dict(answer.headers)))
            return answer.status, data

    def check_answers(self) -> None:
        spec = Spec.load(f"obie-{self.version}")
        for method, path, status, body, headers in self.answers:
            operation = spec.operation(method, path)
            assert operation is not None, path
            assert not operation.check_response(status, body, headers), (method, path, status)


SCHEDULED = "domestic-scheduled-payment-consents"


async def scheduled_in_a_minute(
    scheme: Scheme, tpp: UkTpp, *, debtor_named: bool = True
) -> tuple[str, str]:
    """A v4.0 scheduled consent executing a minute from now on tpsim's clock (without a
    debtor account unless ``debtor_named``): its ConsentId and the client token."""
    from tests.obie.support import scheduled_body

    assert scheme.sim is not None
    token = await tpp.token(grant_type="client_credentials", scope="payments")
    body = scheduled_body("4.0", scheme.sim.clock.now() + timedelta(minutes=1))
    if not debtor_named:
        del body["Data"]["Initiation"]["DebtorAccount"]
    _, consent = await tpp.call("POST", SCHEDULED, token["access_token"], body)
    return str(consent["Data"]["ConsentId"]), str(token["access_token"])


def authorize_query(consent_id: str, state: str, **more: str) -> dict[str, str]:
    """The TPP's ``/authorize`` query for ``consent_id``, back to https://tpp.example/cb."""
    return {
        "response_type": "code",
        "client_id": "tpp-one",
        "redirect_uri": "https://tpp.example/cb",
        "scope": "openid payments",
        "state": state,
        "openbanking_intent_id": consent_id,
        **more,
    }


async def approved_headless(
    http: aiohttp.ClientSession, tpp: UkTpp, consent_id: str, state: str, nonce: str
) -> dict[str, str]:
    """The TPP's ``/authorize`` (code id_token) approved headless by Mits: what the
    redirect back carries (its fragment, else its query)."""
    query = authorize_query(
        consent_id, state, response_type="code id_token", nonce=nonce,
        sim_decision="approve", sim_psu="mits",
    )  # fmt: skip
    async with http.get(f"{tpp.base}/authorize", params=query, allow_redirects=False) as back:
        assert back.status in (302, 303), await back.text()
        location = urlsplit(back.headers["Location"])
    return dict(parse_qsl(location.fragment or location.query))


@pytest.mark.parametrize("version", ["3.1", "4.0"])
async def test_a_uk_payment_from_consent_to_settlement_over_http(
    scheme: Scheme, version: str
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, version)
        client = (await tpp.token(grant_type="client_credentials", scope="payments"))[
            "access_token"
        ]
        status, consent = await tpp.call(
            "POST", "domestic-payment-consents", client, consent_body(version)
        )
        assert (status, consent["Data"]["Status"]) == (201, WORDS[version][0])
        consent_id = consent["Data"]["ConsentId"]
        answered = await approved_headless(http, tpp, consent_id, "s-1", "n-1")
        assert answered["state"] == "s-1" and "id_token" in answered
        psu = await tpp.token(
            grant_type="authorization_code",
            code=answered["code"],
            redirect_uri="https://tpp.example/cb",
        )
        token = psu["access_token"]
        status, funds = await tpp.call(
            "GET", f"domestic-payment-consents/{consent_id}/funds-confirmation", token
        )
        assert funds["Data"]["FundsAvailableResult"]["FundsAvailable"] is True
        payment = {
            "Data": {"ConsentId": consent_id, "Initiation": consent["Data"]["Initiation"]},
            "Risk": consent["Risk"],
        }
        status, paid = await tpp.call("POST", "domestic-payments", token, payment)
        assert status == 201, paid
        await scheme.settle()  # Harry is at dfspb: the switch carries a quote and a transfer
        status, got = await tpp.call(
            "GET", f"domestic-payments/{paid['Data']['DomesticPaymentId']}", client
        )
        assert (status, got["Data"]["Status"]) == (200, WORDS[version][1])
        tpp.check_answers()
    assert scheme.balance("dfspa.mits.current") == "1834.12"
    assert scheme.balance("dfspb.harry.current") == "165.88"


# A scheduled payment's words: consent created, payment taken (waiting for its date),
# executed and settled (v4.0's scheduled enum has no ACCC).
SCHEDULED_WORDS = {
    "3.1": ("AwaitingAuthorisation", "InitiationPending", "InitiationCompleted"),
    "4.0": ("AWAU", "PDNG", "ACSC"),
}


@pytest.mark.parametrize("version", ["3.1", "4.0"])
async def test_a_uk_scheduled_payment_waits_for_its_date_then_pays_over_http(
    scheme: Scheme, version: str
) -> None:
    words = SCHEDULED_WORDS[version]
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, version)
        client = (await tpp.token(grant_type="client_credentials", scope="payments"))[
            "access_token"
        ]
        due = (scheme.clock.now() + timedelta(days=1)).replace(microsecond=0)
        body = consent_body(version)  # Harry at dfspb: paid through the switch
        body["Data"]["Permission"] = "Create"
        body["Data"]["Initiation"]["RequestedExecutionDateTime"] = due.isoformat()
        path = SCHEDULED
        status, consent = await tpp.call("POST", path, client, body)
        assert (status, consent["Data"]["Status"]) == (201, words[0]), consent
        consent_id = consent["Data"]["ConsentId"]
        past = {**body, "Data": {**body["Data"], "Initiation": dict(body["Data"]["Initiation"])}}
        past["Data"]["Initiation"]["RequestedExecutionDateTime"] = "2020-01-01T09:00:00+00:00"
        status, refused = await tpp.call("POST", path, client, past)
        assert status == 400 and refused["Errors"][0]["Path"] == (
            "Data.Initiation.RequestedExecutionDateTime"
        )
        code = (await approved_headless(http, tpp, consent_id, "s-6", "n-6"))["code"]
        psu = await tpp.token(
            grant_type="authorization_code", code=code, redirect_uri="https://tpp.example/cb"
        )
        payment = {
            "Data": {"ConsentId": consent_id, "Initiation": consent["Data"]["Initiation"]},
            "Risk": consent["Risk"],
        }
        status, paid = await tpp.call(
            "POST", "domestic-scheduled-payments", psu["access_token"], payment
        )
        assert (status, paid["Data"]["Status"]) == (201, words[1]), paid
        payment_id = paid["Data"]["DomesticScheduledPaymentId"]
        await scheme.settle()
        assert scheme.balance("dfspa.mits.current") == "2000"  # nothing moves before the date
        async with http.get(f"{scheme.url}/admin/psd2/intents/{consent_id}") as shown:
            state = await shown.json()
        assert (state["kind"], state["domesticScheduledPaymentId"]) == (
            "domestic-scheduled",
            payment_id,
        )

        async with http.post(
            f"{scheme.url}/admin/clock/advance", json={"seconds": 86_400 + 60}
        ) as moved:
            assert moved.status == 200
        client = (await tpp.token(grant_type="client_credentials", scope="payments"))[
            "access_token"
        ]
        await scheme.settle()  # Harry is at dfspb: the switch carries a quote and a transfer
        status, got = await tpp.call("GET", f"domestic-scheduled-payments/{payment_id}", client)
        assert (status, got["Data"]["Status"]) == (200, words[2])
        status, details = await tpp.call(
            "GET", f"domestic-scheduled-payments/{payment_id}/payment-details", client
        )
        assert status == 200 and len(details["Data"]["PaymentStatus"]) >= 3
        status, read = await tpp.call("GET", f"{path}/{consent_id}", client)
        assert read["Data"]["Status"] in ("Consumed", "COND")
        tpp.check_answers()
    assert scheme.balance("dfspa.mits.current") == "1834.12"
    assert scheme.balance("dfspb.harry.current") == "165.88"


async def test_the_consent_page_lets_the_psu_choose_the_account_to_pay_from(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, "4.0")
        client = (await tpp.token(grant_type="client_credentials", scope="payments"))[
            "access_token"
        ]
        body = consent_body("4.0")
        del body["Data"]["Initiation"]["DebtorAccount"]  # the PSU picks it at the bank
        _, consent = await tpp.call("POST", "domestic-payment-consents", client, body)
        query = authorize_query(consent["Data"]["ConsentId"], "s-2")
        async with http.get(f"{tpp.base}/authorize", params=query) as page:
            html = await page.text()
            form_url = str(page.url)
        # Before the PSU signs in, the page lists no account of the bank's customers.
        assert 'name="account"' not in html and "10000109010103" not in html
        token = html.split('name="csrf" value="')[1].split('"')[0]
        sign_in = {"csrf": token, "user": "mits", "password": "mits", "decision": "sign_in"}
        async with http.post(form_url, data=sign_in) as page:
            html = await page.text()
        assert 'type="radio" name="account"' in html and "165.88 GBP" in html
        assert "10000109010103" not in html  # rora's: not mits's to choose
        token = html.split('name="csrf" value="')[1].split('"')[0]
        signed_in = html.split('name="signed_in" value="')[1].split('"')[0]
        form = {
            "csrf": token,
            "user": "mits",
            "signed_in": signed_in,
            "account": "dfspa.mits.savings",
            "decision": "approve",
        }
        async with http.post(form_url, data=form, allow_redirects=False) as back:
            assert back.status == 303, await back.text()
            assert "code=" in back.headers["Location"]
        status, read = await tpp.call(
            "GET", f"domestic-payment-consents/{consent['Data']['ConsentId']}", client
        )
        assert read["Data"]["Status"] == "AUTH"
        # The spec: Data.Debtor, only when Initiation.DebtorAccount was left out.
        assert "DebtorAccount" not in read["Data"]["Initiation"]
        assert read["Data"]["Debtor"]["Identification"] == "10000109010102"
        tpp.check_answers()


@needs_browser("test_the_consent_page_lets_the_psu_choose_the_account_to_pay_from drives it")
async def test_the_consent_page_in_a_headless_browser(
    make_scheme: MakeScheme,
) -> None:  # pragma: no cover
    from playwright.async_api import async_playwright

    async def back_at_the_tpp(request: web.Request) -> web.Response:
        return web.Response(text="back at the TPP")

    app = web.Application()
    app.router.add_get("/cb", back_at_the_tpp)
    async with TestServer(app, host="127.0.0.1") as tpp_site:
        callback = str(tpp_site.make_url("/cb"))
        tpps = [
            {
                "client_id": "tpp-one",
                "client_secret": "tpp-one-secret",
                "name": "Browser TPP",
                "redirect_uris": [callback],
            }
        ]
        scheme = await make_scheme(tpps=tpps)
        async with aiohttp.ClientSession() as http:
            tpp = UkTpp(scheme, http, "3.1")
            client = (await tpp.token(grant_type="client_credentials", scope="payments"))[
                "access_token"
            ]
            body = consent_body("3.1")
            del body["Data"]["Initiation"]["DebtorAccount"]
            _, consent = await tpp.call("POST", "domestic-payment-consents", client, body)
            query = {
                "response_type": "code",
                "client_id": "tpp-one",
                "redirect_uri": callback,
                "scope": "openid payments",
                "state": "s-3",
                "openbanking_intent_id": consent["Data"]["ConsentId"],
            }
            url = str(URL(f"{tpp.base}/authorize").with_query(query))
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = await browser.new_page()
                await page.goto(url)
                await page.fill('input[name="user"]', "mits")
                await page.fill('input[name="password"]', "mits")
                async with page.expect_navigation():
                    await page.click('button[value="sign_in"]')
                assert "165.88 GBP" in await page.content()
                await page.check('input[value="dfspa.mits.savings"]')
                async with page.expect_navigation():
                    await page.click('button[value="approve"]')
                assert page.url.startswith(callback) and "code=" in page.url
                assert await page.inner_text("body") == "back at the TPP"
                await browser.close()
            _, read = await tpp.call(
                "GET", f"domestic-payment-consents/{consent['Data']['ConsentId']}", client
            )
            assert read["Data"]["Status"] == "Authorised"
            assert read["Data"]["Debtor"]["Identification"] == "10000109010102"


async def test_a_tpp_cannot_have_the_psu_decide_another_tpps_consent(
    make_scheme: MakeScheme,
) -> None:
    two = {
        "client_id": "tpp-two",
        "client_secret": "two-secret",
        "name": "Two",
        "redirect_uris": ["https://two.example/"],
    }
    one = {
        "client_id": "tpp-one",
        "client_secret": "tpp-one-secret",
        "name": "One",
        "redirect_uris": ["https://tpp.example/"],
    }
    scheme = await make_scheme(tpps=[one, two])
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, "4.0")
        client = (await tpp.token(grant_type="client_credentials", scope="payments"))[
            "access_token"
        ]
        _, consent = await tpp.call(
            "POST", "domestic-payment-consents", client, consent_body("4.0")
        )
        consent_id = consent["Data"]["ConsentId"]
        query = {
            "response_type": "code",
            "client_id": "tpp-two",
            "redirect_uri": "https://two.example/cb",
            "scope": "openid payments",
            "state": "s-4",
            "openbanking_intent_id": consent_id,
            "sim_decision": "deny",
        }
        async with http.get(f"{tpp.base}/authorize", params=query, allow_redirects=False) as back:
            assert "error=invalid_request" in back.headers["Location"]
        _, read = await tpp.call("GET", f"domestic-payment-consents/{consent_id}", client)
        assert read["Data"]["Status"] == "AWAU"  # untouched


async def test_the_admin_decides_a_consent_and_answers_the_waiting_authorize(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, "4.0")
        client = (await tpp.token(grant_type="client_credentials", scope="payments"))[
            "access_token"
        ]
        _, consent = await tpp.call(
            "POST", "domestic-payment-consents", client, consent_body("4.0")
        )
        consent_id = consent["Data"]["ConsentId"]
        query = authorize_query(consent_id, "s-5")
        async with http.get(f"{tpp.base}/authorize", params=query, allow_redirects=False):
            pass  # the browser is on the consent page; the PSU decides in the admin API
        async with http.post(
            f"{scheme.url}/admin/psd2/authorisations/{consent_id}/decision",
            json={"decision": "approve", "psu": "mits"},
        ) as decided:
            answer = await decided.json()
        assert decided.status == 200, answer
        assert answer["status"] == "AUTH"
        assert answer["redirect"].startswith("https://tpp.example/cb?code=")


async def test_an_admin_approval_once_a_scheduled_date_passed_tells_the_waiting_authorize(
    scheme: Scheme,
) -> None:
    # The bank rejects the consent (U003). Before, the admin answered 400 and the TPP's
    # waiting /authorize was never told: it waited until it expired.
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, "4.0")
        consent_id, _ = await scheduled_in_a_minute(scheme, tpp)
        query = authorize_query(consent_id, "s-6")
        async with http.get(f"{tpp.base}/authorize", params=query, allow_redirects=False):
            pass  # the browser is on the consent page; the PSU decides in the admin API
        scheme.advance(61)  # its date is no longer ahead of the bank's clock
        async with http.post(
            f"{scheme.url}/admin/psd2/authorisations/{consent_id}/decision",
            json={"decision": "approve", "psu": "mits"},
        ) as decided:
            answer = await decided.json()
    assert decided.status == 200, answer
    assert answer["status"] == "RJCT"
    back = dict(parse_qsl(urlsplit(answer["redirect"]).query))
    assert (back["error"], back["state"]) == ("access_denied", "s-6")
    assert "RequestedExecutionDateTime" in back["error_description"], back


@pytest.mark.parametrize("named", [True, False], ids=["debtor-named", "psu-signs-in-first"])
async def test_a_page_approval_once_a_scheduled_date_passed_sends_the_psu_back_denied(
    scheme: Scheme, named: bool
) -> None:
    # The bank rejects the consent (U003). Before, the page showed a 400 and the TPP's
    # authorisation request waited, with no way back to it, until it expired.
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, "4.0")
        consent_id, client = await scheduled_in_a_minute(scheme, tpp, debtor_named=named)
        query = authorize_query(consent_id, "s-7")
        async with http.get(f"{tpp.base}/authorize", params=query) as page:
            html, form_url = await page.text(), str(page.url)
        form = {"csrf": html.split('name="csrf" value="')[1].split('"')[0]}
        if named:
            form.update(password="mits", account="dfspa.mits.current")
        else:
            form.update(user="mits", password="mits", decision="sign_in")
            async with http.post(form_url, data=form) as page:
                html = await page.text()
            form = {
                "csrf": html.split('name="csrf" value="')[1].split('"')[0],
                "user": "mits",
                "signed_in": html.split('name="signed_in" value="')[1].split('"')[0],
                "account": "dfspa.mits.current",
            }
        scheme.advance(61)  # its date is no longer ahead of the bank's clock
        async with http.post(
            form_url, data={**form, "decision": "approve"}, allow_redirects=False
        ) as back:
            assert back.status == 303, await back.text()
            location = back.headers["Location"]
        _, read = await tpp.call("GET", f"{SCHEDULED}/{consent_id}", client)
        again_form = {**form, "decision": "approve"}
        async with http.post(form_url, data=again_form, allow_redirects=False) as again:
            assert again.status == 409, await again.text()  # nothing left to decide
    assert location.startswith("https://tpp.example/cb?"), location
    back_at_tpp = dict(parse_qsl(urlsplit(location).query))
    assert (back_at_tpp["error"], back_at_tpp["state"]) == ("access_denied", "s-7")
    assert "RequestedExecutionDateTime" in back_at_tpp["error_description"], back_at_tpp
    assert read["Data"]["Status"] == "RJCT"


async def test_the_admin_api_shows_a_consent_and_the_bank_may_reject_it(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, "3.1")
        client = (await tpp.token(grant_type="client_credentials", scope="payments"))[
            "access_token"
        ]
        _, consent = await tpp.call(
            "POST", "domestic-payment-consents", client, consent_body("3.1")
        )
        consent_id = consent["Data"]["ConsentId"]
        async with http.get(f"{scheme.url}/admin/psd2/intents/{consent_id}") as shown:
            state = await shown.json()
        assert (state["dialect"], state["status"], state["tpp"]) == (
            "obie",
            "AwaitingAuthorisation",
            "tpp-one",
        )
        url = f"{scheme.url}/admin/psd2/intents/{consent_id}/status"
        async with http.post(url, json={"status": "RJCT", "reason": "fraud suspected"}) as forced:
            assert (forced.status, (await forced.json())["status"]) == (200, "Rejected")
        async with http.post(url, json={"status": "RJCT"}) as again:
            assert again.status == 409
        _, read = await tpp.call("GET", f"domestic-payment-consents/{consent_id}", client)
        assert read["Data"]["Status"] == "Rejected"


async def test_even_the_edges_own_404_carries_an_interaction_id(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{scheme.url}/obie/dfspa/open-banking/v3.0/pisp/domestic-payments"
        async with http.get(url, headers={"x-fapi-interaction-id": "abc-1"}) as answer:
            assert (answer.status, answer.headers["x-fapi-interaction-id"]) == (404, "abc-1")
        async with http.get(url) as answer:
            assert answer.headers["x-fapi-interaction-id"]


async def test_a_body_too_large_is_a_coded_refusal_and_tpsim_keeps_serving(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, "4.0")
        client = (await tpp.token(grant_type="client_credentials", scope="payments"))[
            "access_token"
        ]
        url = f"{tpp.base}/open-banking/v4.0/pisp/domestic-payment-consents"
        headers = {"Authorization": f"Bearer {client}", "Content-Type": "application/json"}
        async with http.post(url, data=b"{" + b" " * 600_000 + b"}", headers=headers) as answer:
            body = await answer.json()
            assert answer.status == 400 and answer.headers["x-fapi-interaction-id"]
        assert body["Errors"][0]["ErrorCode"] == "U010"
        status, _ = await tpp.call("POST", "domestic-payment-consents", client, consent_body("4.0"))
        assert status == 201
