"""Each base of a bank's OAuth server (``/obie/{fspId}``, ``/xs2a/{fspId}``,
``/stet/{fspId}``) is its own issuer: an access token is taken only by the API of the
issuer whose token endpoint issued it, as with separate servers (RFC 9700 4.4), and a
token of another base is refused in the dialect's own words."""

from __future__ import annotations

import pickle
import uuid
from datetime import UTC, datetime

import aiohttp
import pytest

from tests.conftest import MakeScheme
from tests.serve.test_obie import consent_body
from tests.stet.support import payment_request
from tests.support.scheme import Scheme
from tests.support.stet_openapi import REQUESTS, Pisp, with_stet
from tpsim.auth.oauth_model import AccessToken, TokenKind

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)

CREDENTIALS = {"client_id": "tpp-one", "client_secret": "tpp-one-secret"}


async def client_token(http: aiohttp.ClientSession, base: str, scope: str) -> str:
    form = {"grant_type": "client_credentials", "scope": scope, **CREDENTIALS}
    async with http.post(f"{base}/token", data=form) as answer:
        assert answer.status == 200, await answer.text()
        return str((await answer.json())["access_token"])


async def create_uk_consent(
    http: aiohttp.ClientSession, base: str, token: str
) -> aiohttp.ClientResponse:
    headers = {
        "Authorization": f"Bearer {token}",
        "x-idempotency-key": str(uuid.uuid4()),
        "x-fapi-interaction-id": str(uuid.uuid4()),
    }
    url = f"{base}/open-banking/v3.1/pisp/domestic-payment-consents"
    async with http.post(url, json=consent_body("3.1"), headers=headers) as answer:
        await answer.read()
        return answer


@pytest.mark.parametrize("other", ["xs2a", "stet"])
async def test_the_uk_api_refuses_a_client_token_of_another_base(
    scheme: Scheme, other: str
) -> None:
    uk = f"{scheme.url}/obie/dfspa"
    async with aiohttp.ClientSession() as http:
        elsewhere = await client_token(http, f"{scheme.url}/{other}/dfspa", "payments")
        refused = await create_uk_consent(http, uk, elsewhere)
        assert refused.status == 401
        challenge = refused.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer error="invalid_token"')
        assert f"issued by {scheme.url}/{other}/dfspa" in challenge
        assert f"get one from {uk}/token" in challenge
        own = await client_token(http, uk, "payments")
        assert (await create_uk_consent(http, uk, own)).status == 201


async def test_the_stet_api_refuses_a_client_token_of_another_base(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(participants=with_stet())
    async with aiohttp.ClientSession() as http:
        pisp = Pisp(scheme, http)
        elsewhere = await client_token(http, f"{scheme.url}/obie/dfspa", "pisp")
        refused = await pisp.call("POST", REQUESTS, payment_request(), token=elsewhere)
        assert (refused.status, refused.body["error"]) == (401, "TOKEN_INVALID")
        assert f"issued by {scheme.url}/obie/dfspa" in refused.body["message"]
        created = await pisp.call("POST", REQUESTS, payment_request(), token=await pisp.token())
        assert created.status == 201


def test_a_token_kept_by_an_earlier_tpsim_reads_back_without_an_issuer() -> None:
    # A state file written before tokens named their issuer holds each as the list of its
    # eight values (a slots dataclass's pickle): it reads back whole, its issuer unknown
    # (so it is taken at any base until it expires, within the access lifetime).
    kept = object.__new__(AccessToken)
    values = ["tpp-one", TokenKind.CLIENT, None, None, "payments", (), EXPIRES, "grant-1"]
    kept.__setstate__(values)  # type: ignore[attr-defined]
    assert (kept.grant_id, kept.issuer) == ("grant-1", "")
    assert pickle.loads(pickle.dumps(kept)) == kept  # noqa: S301 - our own bytes
