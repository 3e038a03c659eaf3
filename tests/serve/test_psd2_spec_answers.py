"""PSD2 answers off the paths the shared-banks model test walks, held against the specs.

Each test asserts what the official specification says (the place is in its comments);
each failed before tpsim was made to follow it. Every XS2A answer is
checked against the official OpenAPI by the ``make_scheme`` fixture, every UK answer by
``UkTpp.check_answers``.
"""

from __future__ import annotations

import aiohttp

from tests.conftest import MakeScheme
from tests.serve.test_xs2a import LUCA, PAYMENTS, Tpp, payment, with_profile
from tests.support.shared_banks import Banks, uk_consent_body


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


async def test_uk_v4_payment_is_born_rcvd() -> None:
    # UK v4.0 domestic-payments.md, POST, Status: a domestic-payment "created successfully
    # must have one of the following initial" statuses, RCVD or RJCT (psd2-digest §6).
    banks = await Banks.start()
    try:
        mits, rora = (banks.bank.accounts[a] for a in ("dfspa.mits.current", "dfspa.rora.current"))
        body = uk_consent_body(mits, rora, "10")
        created = await banks.uk_post("dfspa", "4.0", "domestic-payment-consents", body, "k-1")
        consent_id = created.body["Data"]["ConsentId"]
        _, psu = await banks.uk_authorise("dfspa", consent_id, "approve", "mits")
        assert psu is not None
        order = {"Data": {"ConsentId": consent_id, "Initiation": body["Data"]["Initiation"]},
                 "Risk": {}}  # fmt: skip
        paid = await banks.uk_post("dfspa", "4.0", "domestic-payments", order, "k-2", psu)
        assert (paid.status, paid.body["Data"]["Status"]) == (201, "RCVD")
        status = await banks.uk_status(
            "dfspa", "4.0", consent_id, paid.body["Data"]["DomesticPaymentId"]
        )
        assert status == ("COND", "ACCC")  # read now: consumed, and Rora paid at once
    finally:
        await banks.close()
