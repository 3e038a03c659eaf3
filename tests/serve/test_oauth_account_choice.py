"""A headless ``/authorize`` (``sim_decision=approve&sim_account=…``) takes the account the
admin decision would take, in every dialect: the debtor account the payment names, else one
of the PSU's in its currency. Any other goes back to the client as ``access_denied`` saying
which accounts may be picked, and nothing is decided (never paid from the named account
instead, the choice silently dropped). XS2A's redirect page takes its headless
``sim_account`` by the same rule, refusing another as it refuses its other bad input (400)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from tests.conftest import MakeScheme
from tests.serve.test_admin_input_checks import get, uk_consent, uk_status
from tests.serve.test_obie import MITS, UkTpp, authorize_query, scheduled_in_a_minute
from tests.serve.test_xs2a import ERIKA, LUCA, PAYMENTS, Tpp, payment, pkce_query, with_profile
from tests.stet.support import CLAIRE, LIVRET, LOUIS, payment_request
from tests.support.scheme import Scheme
from tests.support.stet_openapi import CALLBACK, Pisp, headless, with_stet


async def authorize(http: aiohttp.ClientSession, url: str, query: dict[str, str]) -> Any:
    """The parameters the client gets back from a headless ``/authorize``."""
    async with http.get(url, params=query, allow_redirects=False) as back:
        assert back.status == 302, await back.text()
        location = urlsplit(back.headers["Location"])
    return dict(parse_qsl(location.fragment or location.query))


async def test_a_uk_headless_approval_from_another_account_than_the_named_one_is_refused(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        consent_id = await uk_consent(scheme, http, named=True)
        query = authorize_query(
            consent_id, "s-1", response_type="code id_token", nonce="n-1",
            sim_decision="approve", sim_psu="mits",
            sim_account="dfspa.mits.savings",  # hers, but the consent names her current
        )  # fmt: skip
        answered = await authorize(http, f"{scheme.url}/obie/dfspa/authorize", query)
    assert (answered["error"], answered["state"]) == ("access_denied", "s-1")
    assert MITS in answered["error_description"], answered
    assert await uk_status(scheme, consent_id) == "AWAU"


async def test_a_stet_headless_approval_from_another_account_than_the_named_one_is_refused(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(participants=with_stet(o_confirmation=True))
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token, payment_request("10.00", debtor=CLAIRE, creditor=LOUIS))
        link = created.body["_links"]["consentApproval"]["href"]
        sim = {"sim_decision": "approve", "sim_psu": "claire", "sim_account": LIVRET}
        got, back = await headless(http, f"{link}&redirect_uri={CALLBACK}&state=s-2", **sim)
        answered = dict(parse_qsl(urlsplit(back).query))
        assert (got, answered["error"], answered["state"]) == (302, "access_denied", "s-2")
        assert CLAIRE in answered["error_description"], answered
        location = created.headers["Location"]
        assert await pisp.statuses(location, token) == ("ACTC", None)


async def test_an_xs2a_headless_approval_from_another_account_than_the_debtor_is_refused(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(
        participants=with_profile("dfspa", sca_approaches_supported=["OAUTH"])
    )
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call("POST", PAYMENTS, payment(LUCA, "3"))
        query = pkce_query(
            created["paymentId"], "s-3", sim_decision="approve",
            sim_account=LUCA,  # Luca's, not the debtor account Erika's
        )  # fmt: skip
        answered = await authorize(http, f"{scheme.url}/xs2a/dfspa/authorize", query)
        assert (answered["error"], answered["state"]) == ("access_denied", "s-3")
        assert ERIKA in answered["error_description"], answered
        assert (await tpp.status(created))["transactionStatus"] == "RCVD"
        _, state = await get(scheme, f"/admin/psd2/intents/{created['paymentId']}")
        assert state["intents"][0]["state"] != "AUTHORISED", state


async def redirect_page(
    http: aiohttp.ClientSession, link: str, query: dict[str, str]
) -> tuple[int, str, str | None]:
    """What XS2A's redirect SCA page answers a headless decision: status, text, Location."""
    async with http.get(link, params=query, allow_redirects=False) as back:
        return back.status, await back.text(), back.headers.get("Location")


async def test_an_xs2a_redirect_page_approval_from_another_account_than_the_debtor_is_refused(
    scheme: Scheme,
) -> None:
    # As /authorize's sim_account: the page's own headless input refused (400), never
    # approved from the debtor account with the choice silently dropped.
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST", PAYMENTS, payment(), TPP_Redirect_URI="https://tpp.example/ok"
        )
        link = created["_links"]["scaRedirect"]["href"]
        sim = {"sim_decision": "approve", "sim_account": LUCA}  # Luca's, not Erika's debtor
        status, text, location = await redirect_page(http, link, sim)
        assert (status, location) == (400, None), text
        assert "sim_account" in text and ERIKA in text, text
        assert (await tpp.status(created))["transactionStatus"] == "RCVD"
        # Nothing was decided: the same link still approves.
        approved = await redirect_page(http, link, {"sim_decision": "approve"})
        assert approved[::2] == (302, "https://tpp.example/ok"), approved


async def test_an_xs2a_redirect_page_approval_naming_the_debtor_account_approves(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST", PAYMENTS, payment(), TPP_Redirect_URI="https://tpp.example/ok"
        )
        link = created["_links"]["scaRedirect"]["href"]
        sim = {"sim_decision": "approve", "sim_account": ERIKA}
        assert (await redirect_page(http, link, sim))[::2] == (302, "https://tpp.example/ok")
        assert (await tpp.status(created))["transactionStatus"] != "RCVD"


async def test_a_uk_headless_approval_once_a_scheduled_date_passed_is_denied_saying_why(
    scheme: Scheme,
) -> None:
    # Before, it was authorised, and its payment then refused (400 U003).
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, "4.0")
        consent_id, _ = await scheduled_in_a_minute(scheme, tpp)
        scheme.advance(61)  # its date is no longer ahead of the bank's clock
        query = authorize_query(
            consent_id, "s-4", response_type="code id_token", nonce="n-4",
            sim_decision="approve", sim_psu="mits",
        )  # fmt: skip
        answered = await authorize(http, f"{scheme.url}/obie/dfspa/authorize", query)
    assert (answered["error"], answered["state"]) == ("access_denied", "s-4")
    assert "RequestedExecutionDateTime" in answered["error_description"], answered
    assert "passed" in answered["error_description"], answered
    assert await uk_status(scheme, consent_id) == "RJCT"
