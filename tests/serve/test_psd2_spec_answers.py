"""PSD2 answers off the paths the shared-banks model test walks, held against the specs.

Each test asserts what the official specification says (the place is in its comments);
each failed before tpsim was made to follow it. Every XS2A answer is
checked against the official OpenAPI by the ``make_scheme`` fixture, every UK answer by
``UkTpp.check_answers``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import aiohttp

from tests.conftest import MakeScheme
from tests.serve.test_obie import UkTpp, consent_body
from tests.serve.test_xs2a import LUCA, PAYMENTS, Tpp, payment, with_profile


async def test_xs2a_decoupled_explicit_start_without_psu_id_links_start_with_identification(
    make_scheme: MakeScheme,
) -> None:
    # Berlin Group 1.3.11 (the adorsys bundle), _linksPaymentInitiation: startAuthorisation
    # only when "no PSU identification nor PSU authentication data" is to be uploaded.
    profile = with_profile(
        "dfspa",
        start_authorisation_mode="explicit",
        sca_approaches_supported=["REDIRECT", "DECOUPLED"],
    )
    scheme = await make_scheme(participants=profile)
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        status, created, answered = await tpp.call(
            "POST", PAYMENTS, payment(LUCA, "6"), TPP_Decoupled_Preferred="true"
        )
        assert (status, answered["ASPSP-SCA-Approach"]) == (201, "DECOUPLED")
        starts = {name for name in created["_links"] if name.startswith("start")}
        # What the started authorisation asks next: the PSU's identification.
        href = created["_links"][next(iter(starts))]["href"]
        status, started, _ = await tpp.call("POST", href)
        assert (status, started["scaStatus"]) == (201, "received")
        assert "updatePsuIdentification" in started["_links"]
        assert starts == {"startAuthorisationWithPsuIdentification"}


async def test_uk_v4_payment_is_born_rcvd(make_scheme: MakeScheme) -> None:
    # UK v4.0 domestic-payments.md, POST, Status: a domestic-payment "created successfully
    # must have one of the following initial" statuses, RCVD or RJCT (psd2-digest §6).
    scheme = await make_scheme()
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, "4.0")
        client = (await tpp.token(grant_type="client_credentials", scope="payments"))[
            "access_token"
        ]
        status, consent = await tpp.call(
            "POST", "domestic-payment-consents", client, consent_body("4.0")
        )
        assert status == 201
        consent_id = consent["Data"]["ConsentId"]
        query = {
            "response_type": "code",
            "client_id": "tpp-one",
            "redirect_uri": "https://tpp.example/cb",
            "scope": "openid payments",
            "state": "s-1",
            "openbanking_intent_id": consent_id,
            "sim_decision": "approve",
            "sim_psu": "mits",
        }
        async with http.get(f"{tpp.base}/authorize", params=query, allow_redirects=False) as back:
            location = back.headers["Location"]
        code = dict(parse_qsl(urlsplit(location).query))["code"]
        psu = await tpp.token(
            grant_type="authorization_code", code=code, redirect_uri="https://tpp.example/cb"
        )
        order = {
            "Data": {"ConsentId": consent_id, "Initiation": consent["Data"]["Initiation"]},
            "Risk": consent["Risk"],
        }
        status, paid = await tpp.call("POST", "domestic-payments", psu["access_token"], order)
        tpp.check_answers()
        assert status == 201
        assert paid["Data"]["Status"] in ("RCVD", "RJCT")
