"""The admin API takes its input as strictly as it documents it: a number parameter is
ASCII digits (nothing Python's ``int()`` would also read), and a PSD2 decision's
``account`` is one the PSU may pay from, in every dialect, or the decision is refused (400,
saying which accounts the PSU may pick) and nothing is decided."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.serve.test_obie import MITS, UkTpp, consent_body
from tests.serve.test_xs2a import ERIKA, LUCA, PAYMENTS, Tpp, payment
from tests.stet.support import CLAIRE, LIVRET, payment_request
from tests.support.scheme import Scheme
from tests.support.stet_openapi import Pisp

LOOSE_NUMBERS = ["1_0", " 12 ", "\u0661\u0662", "+5", "12.0", "0x10", ""]


async def get(scheme: Scheme, path: str, **headers: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{scheme.url}{path}", headers=headers) as response,
    ):
        return response.status, await response.json()


async def decide(scheme: Scheme, found: str, body: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{scheme.url}/admin/psd2/authorisations/{found}/decision", json=body) as answer,
    ):
        return answer.status, await answer.json()


# -- body members ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "code", "named"),
    [
        ("/clock/advance", {"secs": 10}, "BODY_MEMBER_UNKNOWN", ["secs", "seconds missing"]),
        ("/clock/advance", {}, "BODY_MEMBER_MISSING", ["seconds missing"]),
        ("/clock/advance", {"seconds": 1, "x": 1}, "BODY_MEMBER_UNKNOWN", ["member x"]),
        ("/participants/pispa/endpoint", {"url": "http://127.0.0.1:1"}, "BODY_MEMBER_UNKNOWN",
         ["url", "endpoint missing"]),
        ("/psd2/authorisations/a1/decision", {"decision": "approve", "tan": "1"},
         "BODY_MEMBER_UNKNOWN", ["member tan", "psu (optional)", "otp (optional)"]),
        ("/psd2/authorisations/a1/decision", {"psu": "erika"}, "BODY_MEMBER_MISSING",
         ["decision missing"]),
        ("/psd2/intents/p1/status", {"state": "RJCT"}, "BODY_MEMBER_UNKNOWN",
         ["member state", "status missing"]),
    ],
    ids=["secs", "empty", "extra", "endpoint-url", "decision-tan", "no-decision", "state"],
)  # fmt: skip
async def test_a_body_member_the_route_does_not_take_or_lacks_is_a_coded_400_naming_it(
    scheme: Scheme, path: str, body: Any, code: str, named: list[str]
) -> None:
    before = await get(scheme, "/admin/accounts")
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            "PUT" if path.endswith("/endpoint") else "POST", f"{scheme.url}/admin{path}", json=body
        ) as answer,
    ):
        status, refused = answer.status, await answer.json()
    assert (status, refused.get("code")) == (400, code), refused
    assert all(words in refused["error"] for words in named), refused["error"]
    assert await get(scheme, "/admin/accounts") == before  # nothing done


# -- number parameters ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["since", "limit"])
@pytest.mark.parametrize("value", LOOSE_NUMBERS)
async def test_a_journal_number_is_ascii_digits_or_a_400_naming_it(
    scheme: Scheme, name: str, value: str
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{scheme.url}/admin/journal", params={name: value}) as response,
    ):
        status, body = response.status, await response.json()
    assert status == 400, body
    assert name in body["error"]


@pytest.mark.parametrize("value", ["1_0", " 12 ", "\u0661\u0662", "+5"])
async def test_the_streams_since_and_last_event_id_are_ascii_digits_too(
    scheme: Scheme, value: str
) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{scheme.url}/admin/journal/stream"
        async with http.get(url, params={"since": value}) as response:
            assert response.status == 400
            assert "since" in (await response.json())["error"]
        if value.strip() != value:
            return  # a header's surrounding blanks are not its value (RFC 9110 §5.5)
        async with http.get(url, headers={"Last-Event-ID": value}) as response:
            assert response.status == 400
            assert "Last-Event-ID" in (await response.json())["error"]


async def test_plain_digits_still_read_the_journal(scheme: Scheme) -> None:
    status, body = await get(scheme, "/admin/journal?since=0&limit=10")
    assert (status, body) == (200, {"entries": []})
    status, body = await get(scheme, "/admin/journal?limit=-1")
    assert status == 400 and "limit" in body["error"]


# -- the decision's account: UK ------------------------------------------------------------


async def uk_consent(scheme: Scheme, http: aiohttp.ClientSession, *, named: bool) -> str:
    tpp = UkTpp(scheme, http, "4.0")
    token = (await tpp.token(grant_type="client_credentials", scope="payments"))["access_token"]
    body = consent_body("4.0")
    if not named:
        del body["Data"]["Initiation"]["DebtorAccount"]
    _, consent = await tpp.call("POST", "domestic-payment-consents", token, body)
    return str(consent["Data"]["ConsentId"])


async def uk_status(scheme: Scheme, consent_id: str) -> str:
    _, state = await get(scheme, f"/admin/psd2/intents/{consent_id}")
    return str(state["status"])


@pytest.mark.parametrize(
    ("named", "account"),
    [
        (True, "nope"),
        (True, "dfspa.mits.savings"),  # hers, but the consent names her current account
        (False, "nope"),
        (False, "dfspb.harry.current"),  # Harry's, at another bank
        (False, "dfspa.rora.current"),  # Rora's, not Mits's
        (False, "dfspa.erika.giro"),  # in euros
        (False, ""),
    ],
    ids=[
        "unknown",
        "not-the-named-one",
        "unknown-unnamed",
        "another-bank",
        "another-psu",
        "another-currency",
        "empty",
    ],
)
async def test_a_uk_decision_on_an_account_the_psu_may_not_pick_is_a_400_deciding_nothing(
    scheme: Scheme, named: bool, account: str
) -> None:
    async with aiohttp.ClientSession() as http:
        consent_id = await uk_consent(scheme, http, named=named)
    status, body = await decide(
        scheme, consent_id, {"decision": "approve", "psu": "mits", "account": account}
    )
    assert status == 400, body
    assert MITS in body["error"] or "dfspa.mits.current" in body["error"], body
    assert await uk_status(scheme, consent_id) == "AWAU"


async def test_a_uk_decision_by_a_psu_who_does_not_hold_the_named_account_is_a_400(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        consent_id = await uk_consent(scheme, http, named=True)
    status, body = await decide(scheme, consent_id, {"decision": "approve", "psu": "rora"})
    assert status == 400 and MITS in body["error"], body  # as STET answers it, not 409
    assert await uk_status(scheme, consent_id) == "AWAU"


async def test_a_uk_decision_may_repeat_the_named_account_or_pick_one_of_the_psus(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        named = await uk_consent(scheme, http, named=True)
        unnamed = await uk_consent(scheme, http, named=False)
    approve = {"decision": "approve", "psu": "mits"}
    assert (await decide(scheme, named, {**approve, "account": MITS}))[0] == 200
    assert (await decide(scheme, unnamed, {**approve, "account": "dfspa.mits.savings"}))[0] == 200
    _, state = await get(scheme, f"/admin/psd2/intents/{unnamed}")
    assert (state["status"], state["debtor"]) == ("AUTH", "dfspa.mits.savings")


# -- the decision's account: XS2A and STET -------------------------------------------------


async def xs2a_authorisation(scheme: Scheme, http: aiohttp.ClientSession) -> tuple[Tpp, Any]:
    tpp = Tpp(scheme, http)
    _, created, _ = await tpp.call(
        "POST", PAYMENTS, payment(LUCA, "5"), TPP_Decoupled_Preferred="true", PSU_ID="erika"
    )
    return tpp, created


@pytest.mark.parametrize(
    "decision",
    [
        {"decision": "approve", "account": "nope"},
        {"decision": "approve", "account": CLAIRE},  # at the bank, not the one named
        {"decision": "approve", "psu": "erika", "account": LUCA},
        {"decision": "approve", "account": 7},
    ],
    ids=["unknown", "not-the-named-one", "another-psus", "not-a-string"],
)
async def test_an_xs2a_decision_on_another_account_is_a_400_deciding_nothing(
    scheme: Scheme, decision: dict[str, Any]
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp, created = await xs2a_authorisation(scheme, http)
        sca = created["_links"]["scaStatus"]["href"]
        status, body = await decide(scheme, sca.rsplit("/", 1)[1], decision)
        assert status == 400, body
        if isinstance(decision["account"], str):
            assert ERIKA in body["error"]
        assert (await tpp.call("GET", sca))[1]["scaStatus"] == "started"
        repeated = {"decision": "approve", "account": ERIKA}
        decided = await decide(scheme, sca.rsplit("/", 1)[1], repeated)
        assert decided == (200, {"redirect": None, "status": "finalised"})


async def test_an_xs2a_decision_by_a_psu_who_does_not_hold_the_debtor_account_is_a_400(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp, created = await xs2a_authorisation(scheme, http)
        sca = created["_links"]["scaStatus"]["href"]
        found = sca.rsplit("/", 1)[1]
        status, body = await decide(scheme, found, {"decision": "approve", "psu": "rora"})
        assert status == 400 and "rora" in body["error"], body  # as UK and STET, not 409
        assert (await tpp.call("GET", sca))[1]["scaStatus"] == "started"
        decided = await decide(scheme, found, {"decision": "approve", "psu": "erika"})
        assert decided == (200, {"redirect": None, "status": "finalised"})


@pytest.mark.parametrize("account", ["nope", LIVRET], ids=["unknown", "not-the-named-one"])
async def test_a_stet_decision_on_another_account_than_the_named_one_is_a_400(
    scheme: Scheme, account: str
) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(
            token,
            payment_request("10.00", debtor=CLAIRE, creditor=LIVRET, approaches=("DECOUPLED",)),
        )
        found = created.headers["Location"].rsplit("/", 1)[1]
        status, body = await decide(
            scheme, found, {"decision": "approve", "psu": "claire", "account": account}
        )
        assert status == 400, body
        assert CLAIRE in body["error"]
        assert await pisp.statuses(created.headers["Location"], token) == ("ACTC", None)


@pytest.mark.parametrize("decision", ["approve", "deny"])
@pytest.mark.parametrize("otp", ["123456", ""])
async def test_a_uk_decision_with_an_otp_is_a_400_deciding_nothing(
    scheme: Scheme, decision: str, otp: str
) -> None:
    # UK consents are authorised by redirect: an otp would have no effect, so it is refused.
    async with aiohttp.ClientSession() as http:
        consent_id = await uk_consent(scheme, http, named=True)
    status, body = await decide(scheme, consent_id, {"decision": decision, "otp": otp})
    assert (status, body["code"]) == (400, "OTP_NOT_TAKEN"), body
    assert "authorised by redirect" in body["error"] and "leave otp out" in body["error"]
    assert await uk_status(scheme, consent_id) == "AWAU"
    assert (await decide(scheme, consent_id, {"decision": decision}))[0] == 200
