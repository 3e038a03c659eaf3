"""STET's bank side on a served tpsim, over real HTTP: the admin API decides for the PSU
(DECOUPLED, or any approach headless), the EMBEDDED-1-FACTOR OTP comes in the PISP's
``/confirmation``, the admin reads a payment request's full state and forces the bank's
refusal, and ``POST /admin/clock/advance`` makes what the clock decides happen (an
unanswered request ends RJCT / NOAS, a future-dated instruction executes, a PUT cancels
what has not). Every STET answer the PISP gets is checked as STET allows it
(``tests.support.stet_openapi.Pisp``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import pytest

from tests.conftest import MakeScheme
from tests.stet.support import CLAIRE, LIVRET, LUCA, OK_URL, payment_request, transaction
from tests.support.scheme import Scheme
from tests.support.stet_openapi import CALLBACK, Answered, Pisp, balances, with_stet

Body = dict[str, Any]


async def admin(
    http: aiohttp.ClientSession, scheme: Scheme, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    async with http.request(method, f"{scheme.url}/admin{path}", json=body) as answer:
        return answer.status, await answer.json()


async def decide(
    http: aiohttp.ClientSession, scheme: Scheme, resource_id: str, **decision: str
) -> tuple[int, Any]:
    """``POST /admin/psd2/authorisations/{id}/decision``."""
    path = f"/psd2/authorisations/{resource_id}/decision"
    return await admin(http, scheme, "POST", path, decision)


def resource_id(created: Answered) -> str:
    return created.headers["Location"].rsplit("/", 1)[1]


def decoupled(amount: str = "10.00", **changes: Any) -> Body:
    """Claire pays Luca (at dfspa too) from her named account, approving in her app."""
    return payment_request(
        amount, debtor=CLAIRE, creditor=LUCA, approaches=("DECOUPLED",), **changes
    )


# -- the PSU's decision, by the admin API ------------------------------------------------


async def test_a_decoupled_request_waits_for_the_psus_decision_in_her_app(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token, decoupled())
        assert created.body == {"appliedAuthenticationApproach": "DECOUPLED"}  # no link
        location, found = created.headers["Location"], resource_id(created)
        assert await pisp.statuses(location, token) == ("ACTC", None)
        assert await decide(http, scheme, found, decision="approve", psu="claire") == (
            200,
            {"redirect": None, "status": "ACSC"},
        )
        assert await pisp.statuses(location, token) == ("ACSC", None)
        got, refused = await decide(http, scheme, found, decision="deny")
        assert got == 409 and "ACSC" in refused["error"]  # decided already: nothing to decide
        money = await balances(http, scheme)
        assert (money[CLAIRE], money[LUCA]) == ("2990", "110")


async def test_a_decoupled_denial_is_rjct_cust_and_moves_nothing(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token, decoupled())
        found = resource_id(created)
        assert await decide(http, scheme, found, decision="deny") == (
            200,
            {"redirect": None, "status": "RJCT"},
        )
        assert await pisp.statuses(created.headers["Location"], token) == ("RJCT", "CUST")
        assert (await balances(http, scheme))[CLAIRE] == "3000"


@pytest.mark.parametrize(
    ("decision", "status"),
    [
        ({"decision": "maybe"}, 400),
        ({"decision": "approve", "psu": 7}, 400),
        ({"decision": "approve", "otp": "000000"}, 400),
        ({"decision": "approve", "psu": "luca"}, 400),  # Claire's account: not Luca's to pay
    ],
    ids=["no such decision", "a psu that is no string", "a wrong otp", "another psu"],
)
async def test_a_decision_the_bank_cannot_take_is_refused_and_decides_nothing(
    scheme: Scheme, decision: Body, status: int
) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token, decoupled())
        path = f"/psd2/authorisations/{resource_id(created)}/decision"
        got, body = await admin(http, scheme, "POST", path, decision)
        assert got == status and body["error"]
        assert await pisp.statuses(created.headers["Location"], token) == ("ACTC", None)


async def test_a_decision_on_a_request_no_bank_has_is_a_404(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        got, body = await decide(http, scheme, "no-such-request", decision="approve")
    assert got == 404 and "no-such-request" in body["error"]


async def test_the_admin_decides_a_redirect_request_and_chooses_the_account(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token, payment_request("12.50", creditor=LUCA))
        decided = await decide(
            http, scheme, resource_id(created), decision="approve", psu="claire", account=LIVRET
        )
        assert decided == (200, {"redirect": OK_URL, "status": "ACSC"})
        resource = await pisp.resource(created.headers["Location"], token)
        assert resource["debtorAccount"] == {"iban": LIVRET}
        assert (await balances(http, scheme))[LIVRET] == "7.5"


async def test_the_admin_decision_answers_the_pisps_waiting_authorize_with_the_code(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(participants=with_stet(o_confirmation=True))
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token)
        link = created.body["_links"]["consentApproval"]["href"]
        mine = urlencode({"redirect_uri": CALLBACK, "state": "s-7"})
        async with http.get(f"{link}&{mine}", allow_redirects=False) as page:
            assert page.status == 302 and "/login/dfspa/oauth/" in page.headers["Location"]
        found = resource_id(created)
        got, decided = await decide(http, scheme, found, decision="approve", psu="claire")
        assert (got, decided["status"]) == (200, "ACCP")  # the o-confirmation is awaited
        back = urlsplit(decided["redirect"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
        code = dict(parse_qsl(back.query))
        assert code["state"] == "s-7"
        form = {"grant_type": "authorization_code", "code": code["code"], "redirect_uri": CALLBACK}
        psu = await pisp.token(**form)
        confirmed = await pisp.call(
            "POST", f"{created.headers['Location']}/o-confirmation", {}, token=psu
        )
        assert confirmed.status == 200


async def test_an_o_confirmation_approval_waits_for_the_pisps_authorize(
    make_scheme: MakeScheme,
) -> None:
    """Decided before the PISP opened its link, the code would have nowhere to go and the
    request could never be o-confirmed: refused, nothing decided."""
    scheme = await make_scheme(participants=with_stet(o_confirmation=True))
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token)
        got, refused = await decide(
            http, scheme, resource_id(created), decision="approve", psu="claire"
        )
        assert got == 409 and "consentApproval link" in refused["error"]
        assert await pisp.statuses(created.headers["Location"], token) == ("ACTC", None)


# -- EMBEDDED-1-FACTOR: the OTP in /confirmation -------------------------------------------


async def test_the_embedded_otp_comes_in_the_pisps_confirmation(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        body = payment_request(
            "10.00", debtor=CLAIRE, creditor=LUCA, approaches=("EMBEDDED-1-FACTOR",)
        )
        created = await pisp.create(token, body)
        assert created.body == {"appliedAuthenticationApproach": "EMBEDDED-1-FACTOR"}
        got = await pisp.call("GET", created.headers["Location"], token=token)
        confirm = got.body["_links"]["confirmation"]["href"]
        for sent, refusal in (
            ({}, (400, "FIELD_INVALID")),
            ({"psuAuthenticationFactor": 123456}, (400, "FIELD_INVALID")),
            ({"psuAuthenticationFactor": "000000"}, (400, "PSU_AUTHENTICATION_FACTOR_INVALID")),
        ):
            refused = await pisp.call("POST", confirm, sent, token=token)
            assert (refused.status, refused.body["error"]) == refusal, sent
        assert "2 attempt(s) left" in refused.body["message"]  # only the wrong OTP counts
        confirmed = await pisp.call(
            "POST", confirm, {"psuAuthenticationFactor": "123456"}, token=token
        )
        assert confirmed.body["paymentRequest"]["paymentInformationStatus"] == "ACSC"
        assert "confirmation" not in confirmed.body["_links"]  # nothing left to confirm
        assert (await balances(http, scheme))[LUCA] == "110"


async def test_the_last_wrong_embedded_otp_rejects_the_request(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        body = payment_request(debtor=CLAIRE, approaches=("EMBEDDED-1-FACTOR",))
        location = (await pisp.create(token, body)).headers["Location"]
        for _ in range(3):
            wrong = {"psuAuthenticationFactor": "654321"}
            refused = await pisp.call("POST", f"{location}/confirmation", wrong, token=token)
        assert "now RJCT" in refused.body["message"]
        assert (await pisp.statuses(location, token))[0] == "RJCT"
        right = {"psuAuthenticationFactor": "123456"}
        late = await pisp.call("POST", f"{location}/confirmation", right, token=token)
        assert (late.status, late.body["error"]) == (400, "STATUS_INVALID")


# -- the admin reads and forces a payment request's state --------------------------------


async def test_the_admin_reads_a_payment_requests_full_state(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        found = resource_id(await pisp.create(token, decoupled()))
        got, before = await admin(http, scheme, "GET", f"/psd2/intents/{found}")
        assert got == 200
        assert {k: v for k, v in before.items() if k != "createdAt"} == {
            "dialect": "stet",
            "bank": "dfspa",
            "paymentRequestResourceId": found,
            "tpp": "tpp-one",
            "approach": "DECOUPLED",
            "paymentInformationStatus": "ACTC",
            "reason": None,
            "reasonText": None,
            "psu": None,
            "debtor": None,
            "rule": None,
            "instructions": [
                {"endToEndId": "MyEndToEndId", "transactionStatus": None, "reason": None}
            ],
            "intents": [],  # none before the PSU approves
        }
        await decide(http, scheme, found, decision="approve")
        _, after = await admin(http, scheme, "GET", f"/psd2/intents/{found}")
    assert (after["paymentInformationStatus"], after["psu"], after["debtor"]) == (
        "ACSC",
        "claire",
        "dfspa.claire.courant",
    )
    assert after["instructions"][0]["transactionStatus"] == "ACSC"
    assert after["intents"] == [
        {
            "intentId": f"{found}-0",
            "state": "SETTLED",
            "debtor": "dfspa.claire.courant",
            "creditor": LUCA,
            "amount": "10",
            "currency": "EUR",
        }
    ]


@pytest.mark.parametrize(
    ("reason", "read"),
    [("AC06", ("AC06", "AC06")), ("the bank's fraud team said no", ("MS03", None))],
    ids=["a STET reason code", "a text"],
)
async def test_the_admin_rejects_a_request_with_a_stet_reason(
    scheme: Scheme, reason: str, read: tuple[str, str | None]
) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token)
        path = f"/psd2/intents/{resource_id(created)}/status"
        got, state = await admin(http, scheme, "POST", path, {"status": "RJCT", "reason": reason})
        assert (got, state["paymentInformationStatus"], state["reason"]) == (200, "RJCT", read[0])
        assert state["reasonText"] == reason
        assert await pisp.statuses(created.headers["Location"], token) == ("RJCT", read[0])
        again, refused = await admin(http, scheme, "POST", path, {"status": "RJCT"})
        assert again == 409 and "RJCT" in refused["error"]
        link = created.body["_links"]["consentApproval"]["href"]
        async with http.get(link) as page:
            assert page.status == 409  # the PSU has nothing left to approve


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/psd2/intents/no-such-request", None, 404),
        ("/psd2/intents/no-such-request/status", {"status": "RJCT"}, 404),
        ("/psd2/intents/{id}/status", {"status": "PDNG"}, 400),
        ("/psd2/intents/{id}/status", {"status": "ACSC"}, 409),
        ("/psd2/intents/{id}/status", {"status": "RJCT", "reason": 5}, 400),
    ],
    ids=["unknown", "unknown, forced", "no such status", "not the bank's to force", "a reason"],
)
async def test_the_admin_refuses_what_it_cannot_read_or_force(
    scheme: Scheme, path: str, body: Body | None, status: int
) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token)
        method = "GET" if body is None else "POST"
        got, refused = await admin(http, scheme, method, path.format(id=resource_id(created)), body)
        assert got == status and refused["error"]
        assert await pisp.statuses(created.headers["Location"], token) == ("ACTC", None)


# -- the clock ----------------------------------------------------------------------------


async def advance(http: aiohttp.ClientSession, scheme: Scheme, seconds: float) -> None:
    got, _ = await admin(http, scheme, "POST", "/clock/advance", {"seconds": seconds})
    assert got == 200


async def test_a_request_nobody_approves_in_time_ends_rjct_noas(scheme: Scheme) -> None:
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token)
        found, location = resource_id(created), created.headers["Location"]
        await advance(http, scheme, 899)  # approval_expiry_s is 900
        assert await pisp.statuses(location, token) == ("ACTC", None)
        await advance(http, scheme, 2)
        _, state = await admin(http, scheme, "GET", f"/psd2/intents/{found}")
        assert (state["paymentInformationStatus"], state["reason"]) == ("RJCT", "NOAS")
        assert await pisp.statuses(location, token) == ("RJCT", "NOAS")
        async with http.get(created.body["_links"]["consentApproval"]["href"]) as page:
            assert page.status == 409


async def test_an_approved_request_the_pisp_does_not_confirm_in_time_ends_noas(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(participants=with_stet(confirmation_required=True))
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token, decoupled())
        found = resource_id(created)
        assert (await decide(http, scheme, found, decision="approve"))[1]["status"] == "ACCP"
        got = await pisp.call("GET", created.headers["Location"], token=token)
        assert "confirmation" in got.body["_links"]
        await advance(http, scheme, 901)
        _, state = await admin(http, scheme, "GET", f"/psd2/intents/{found}")
        assert (state["paymentInformationStatus"], state["reason"]) == ("RJCT", "NOAS")
        assert [i["state"] for i in state["intents"]] == ["EXPIRED"]
        token = await pisp.token()  # the first one's hour is over
        late = await pisp.call(
            "POST", f"{created.headers['Location']}/confirmation", {}, token=token
        )
        assert (late.status, late.body["error"]) == (400, "STATUS_INVALID")
        assert (await balances(http, scheme))[CLAIRE] == "3000"


async def test_a_decoupled_approval_comes_by_itself_after_the_configured_delay(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(behaviour={"psd2": {"decoupled_approval_delay_s": 30}})
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        found = resource_id(await pisp.create(token, decoupled()))
        await advance(http, scheme, 29)
        _, state = await admin(http, scheme, "GET", f"/psd2/intents/{found}")
        assert state["paymentInformationStatus"] == "ACTC"
        await advance(http, scheme, 1)
        _, state = await admin(http, scheme, "GET", f"/psd2/intents/{found}")
        assert (state["paymentInformationStatus"], state["psu"]) == ("ACSC", "claire")


async def test_a_put_cancels_a_future_instruction_and_the_other_executes_on_its_date(
    scheme: Scheme,
) -> None:
    tomorrow = (scheme.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    two = [transaction("10.00", creditor=LUCA), transaction("20.00", creditor=LUCA, number=1)]
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token, decoupled(transactions=two, when=tomorrow))
        location = created.headers["Location"]
        await decide(http, scheme, resource_id(created), decision="approve")
        resource = await pisp.resource(location, token)
        assert resource["paymentInformationStatus"] == "ACCP"  # waiting for tomorrow
        first = resource["creditTransferTransaction"][0]
        first |= {"transactionStatus": "RJCT", "statusReasonInformation": "DS02"}
        cancelled = await pisp.call("PUT", location, resource, token=token)
        assert cancelled.status == 200
        await advance(http, scheme, 86_400)
        token = await pisp.token()  # the first one's hour is over
        resource = await pisp.resource(location, token)
        money = await balances(http, scheme)
    instructions = resource["creditTransferTransaction"]
    assert resource["paymentInformationStatus"] == "PART"
    assert [(i["transactionStatus"], i.get("statusReasonInformation")) for i in instructions] == [
        ("RJCT", "DS02"),
        ("ACSC", None),
    ]
    assert (money[CLAIRE], money[LUCA]) == ("2980", "120")


async def test_a_put_sent_as_get_gives_it_cancels_beside_an_instruction_the_bank_rejected(
    scheme: Scheme,
) -> None:
    tomorrow = (scheme.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = transaction("10.00", creditor=LUCA, number=1) | {"requestedExecutionDate": tomorrow}
    too_much = transaction("5000.00", creditor=LUCA)  # more than Claire's 3000: RJCT / CUST
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        token = await pisp.token()
        created = await pisp.create(token, decoupled(transactions=[too_much, later]))
        location = created.headers["Location"]
        await decide(http, scheme, resource_id(created), decision="approve")
        resource = await pisp.resource(location, token)
        instructions = resource["creditTransferTransaction"]
        assert [i.get("statusReasonInformation") for i in instructions] == ["CUST", None]
        instructions[1] |= {"transactionStatus": "RJCT", "statusReasonInformation": "DS02"}
        cancelled = await pisp.call("PUT", location, resource, token=token)
        assert cancelled.status == 200, cancelled.body
    assert cancelled.body["paymentRequest"]["paymentInformationStatus"] == "RJCT"
