"""A TPP that starts an embedded authorisation with the wrong password retries it from the
401's links, over real HTTP on loopback: the refusal keeps the authorisation (its attempt
counts) and names it, so a PUT with the right password carries the payment on. Every
answer is checked against the official XS2A OpenAPI when the scheme closes."""

from __future__ import annotations

import aiohttp

from tests.serve.test_xs2a import LUCA, PAYMENTS, Tpp, payment
from tests.support.scheme import Scheme


async def test_a_wrong_password_at_an_explicit_start_is_retried_from_the_401s_links(
    scheme: Scheme,
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        status, created, _ = await tpp.call(
            "POST",
            PAYMENTS,
            payment(LUCA, "10"),
            TPP_Redirect_Preferred="false",
            TPP_Explicit_Authorisation_Preferred="true",
            PSU_ID="erika",
        )
        assert status == 201 and "scaStatus" not in created
        start = created["_links"]["startAuthorisationWithPsuAuthentication"]["href"]
        status, body, _ = await tpp.call("POST", start, {"psuData": {"password": "wrong"}})
        assert (status, body["tppMessages"][0]["code"]) == (401, "PSU_CREDENTIALS_INVALID")
        update = body["_links"]["updatePsuAuthentication"]["href"]
        assert update == body["_links"]["scaStatus"]["href"]
        assert update.startswith(start + "/")
        status, body, _ = await tpp.call("POST", start, {"psuData": {"password": "12345"}})
        assert (status, body["tppMessages"][0]["code"]) == (409, "STATUS_INVALID")
        status, body, _ = await tpp.call("PUT", update, {"psuData": {"password": "12345"}})
        assert (status, body["scaStatus"]) == (200, "psuAuthenticated")
        method = body["scaMethods"][0]["authenticationMethodId"]
        select = body["_links"]["selectAuthenticationMethod"]["href"]
        status, body, _ = await tpp.call("PUT", select, {"authenticationMethodId": method})
        authorise = body["_links"]["authoriseTransaction"]["href"]
        status, body, _ = await tpp.call("PUT", authorise, {"scaAuthenticationData": "123456"})
        assert (status, body["scaStatus"]) == (200, "finalised")
        assert (await tpp.status(created))["transactionStatus"] == "ACCC"
    assert scheme.balance("dfspa.luca.giro") == "110"
