"""The admin API on the switch's port (DESIGN.md "Contracts users rely on", hub/admin.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import yaml

from tests.conftest import MakeScheme
from tests.support.flows import (
    AUTHZ,
    TX,
    complete_transfer,
    error_code,
    run_until_authorization,
    wait_error,
)
from tests.support.scheme import FIDO_ACCOUNT, Scheme, default_config_data

REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"
SECOND_ID = "c8a5d4b2-1f3e-4a6b-9c7d-2e8f0a1b3c4d"


async def admin(scheme: Scheme, method: str, path: str, data: str | None = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{scheme.url}{path}", data=data) as response,
    ):
        body = await response.json() if response.status != 204 else None
        return response.status, body


async def test_health(scheme: Scheme) -> None:
    assert await admin(scheme, "GET", "/health") == (200, {"status": "OK"})


async def test_journal_of_one_transfer(scheme: Scheme) -> None:
    await complete_transfer(scheme, REQUEST_ID)
    await complete_transfer(scheme, SECOND_ID)
    await scheme.settle()

    status, body = await admin(scheme, "GET", f"/admin/journal?correlationId={REQUEST_ID}")
    assert status == 200
    entries = body["entries"]
    # Ids seen together are linked: the quote, verification and transfer hops carry no
    # transactionRequestId, yet belong to this transfer and not to the second one.
    assert not any(SECOND_ID in e["correlation_ids"] for e in entries)
    hops = [(e["hop"], e["method"], e["path"].replace(REQUEST_ID, "{ID}")) for e in entries]
    expected = [
        ("received", "POST", TX),
        ("delivered", "POST", TX),
        ("sent", "PUT", f"{TX}/{{ID}}"),
        ("delivered", "POST", "/quotes"),
        ("sent", "POST", AUTHZ),
        ("delivered", "POST", "/thirdpartyRequests/verifications"),
        ("delivered", "POST", "/transfers"),
        ("sent", "PATCH", f"{TX}/{{ID}}"),
    ]
    assert [h for h in hops if h in expected] == expected
    patch = next(e for e in entries if e["method"] == "PATCH")
    assert (patch["source"], patch["destination"], patch["status"]) == ("dfspa", "pispa", 200)
    assert patch["body"]["transactionState"] == "COMPLETED"


async def test_journal_paging(scheme: Scheme) -> None:
    await complete_transfer(scheme, REQUEST_ID)
    await scheme.settle()
    _, everything = await admin(scheme, "GET", "/admin/journal")
    seqs = [e["seq"] for e in everything["entries"]]

    _, tail = await admin(scheme, "GET", f"/admin/journal?since={seqs[2]}&limit=2")
    assert [e["seq"] for e in tail["entries"]] == seqs[-2:]
    status, body = await admin(scheme, "GET", "/admin/journal?since=later")
    assert status == 400 and "since" in body["error"]

    assert (await admin(scheme, "DELETE", "/admin/journal"))[0] == 204
    assert (await admin(scheme, "GET", "/admin/journal"))[1] == {"entries": []}


# (case, override of the default config, key path the error must name)
BAD_ACCOUNT = {"address": "a.b", "fsp_id": "dfspa", "owner": "o", "currency": "USD"}
FOREIGN_CONSENT = dict(default_config_data()["consents"][0], pisp="pispz")

# fmt: off
# (case, override of the default config, key path the error must name)
INVALID = [
    ("bad profile", {"behaviour": {"profile": "strict"}}, "behaviour.profile"),
    ("negative timeout", {"behaviour": {"authorization_timeout_s": -1}},
     "behaviour.authorization_timeout_s"),
    ("bad balance", {"accounts": [dict(BAD_ACCOUNT, balance="10.00")]}, "accounts.0.balance"),
    ("unknown key", {"behaviour": {"speed": "fast"}}, "behaviour.speed"),
    ("consent of an unknown PISP", {"consents": [FOREIGN_CONSENT]}, "consents.0.pisp"),
]
# fmt: on


@pytest.mark.parametrize(
    ("override", "key_path"), [pytest.param(*row[1:], id=row[0]) for row in INVALID]
)
async def test_invalid_fixtures_are_refused_naming_the_key(
    scheme: Scheme, override: dict[str, Any], key_path: str
) -> None:
    data = default_config_data()
    for key, value in override.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value

    status, body = await admin(scheme, "PUT", "/admin/fixtures", yaml.safe_dump(data))

    assert status == 400
    assert key_path in body["error"]
    # The scheme in force is untouched: a transfer still completes.
    await complete_transfer(scheme, REQUEST_ID)


async def test_fixtures_that_are_not_yaml_are_refused(scheme: Scheme) -> None:
    status, body = await admin(scheme, "PUT", "/admin/fixtures", "hub: [unclosed")
    assert status == 400
    assert "YAML" in body["error"]


async def test_loading_fixtures_replaces_the_scheme(scheme: Scheme) -> None:
    assert scheme.sim is not None
    data = scheme.sim.config.model_dump(mode="json")
    data["accounts"][0]["balance"] = "50"

    status, body = await admin(scheme, "PUT", "/admin/fixtures", yaml.safe_dump(data))
    assert (status, body) == (200, {"status": "loaded"})
    _, accounts = await admin(scheme, "GET", "/admin/accounts")
    balances = {a["address"]: a["balance"] for a in accounts["accounts"]}
    assert balances[FIDO_ACCOUNT] == "50"


async def test_reset_restores_balances_and_clears_the_journal(scheme: Scheme) -> None:
    await complete_transfer(scheme, REQUEST_ID)
    await scheme.settle()
    assert scheme.balance(FIDO_ACCOUNT) == "900"

    assert await admin(scheme, "POST", "/admin/reset") == (200, {"status": "reset"})

    assert scheme.balance(FIDO_ACCOUNT) == "1000"
    assert scheme.balance("dfspb.bob.chequing") == "0"
    assert (await admin(scheme, "GET", "/admin/journal"))[1] == {"entries": []}
    # The same transactionRequestId is a new request after a reset, not a duplicate.
    patch = await complete_transfer(scheme, REQUEST_ID)
    assert patch.body is not None and patch.body["transactionState"] == "COMPLETED"
    assert scheme.balance(FIDO_ACCOUNT) == "900"


async def test_consents_show_the_sign_counter(scheme: Scheme) -> None:
    await complete_transfer(scheme, REQUEST_ID)
    _, body = await admin(scheme, "GET", "/admin/consents")
    by_id = {c["consentId"]: c for c in body["consents"]}
    fido = by_id["8e34f91d-d078-4077-8263-2c047876fcf6"]
    assert fido["credential"] == {"credentialType": "FIDO", "signCount": 1, "status": "ISSUED"}


async def test_advancing_the_clock_fires_the_authorization_timeout(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(behaviour={"authorization_timeout_s": 30})
    await run_until_authorization(scheme, REQUEST_ID)
    before = scheme.clock.now()

    status, body = await admin(scheme, "POST", "/admin/clock/advance", '{"seconds": 30}')
    assert status == 200
    assert body["now"].startswith((before + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M"))
    error = await wait_error(scheme.pisp, f"{TX}/{REQUEST_ID}")
    assert error_code(error) == "2004"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("not json", "must be JSON"),
        ("[]", "must be a JSON object"),
        ('{"seconds": "60"}', "must be a number"),
        ('{"seconds": true}', "must be a number"),
        ('{"seconds": -1}', "time only moves on"),
        ('{"seconds": 1e300}', "between 0 and"),
        ('{"seconds": NaN}', "between 0 and"),
    ],
)
async def test_advancing_the_clock_refuses_what_is_not_a_forward_step(
    scheme: Scheme, data: str, words: str
) -> None:
    before = scheme.clock.now()
    status, body = await admin(scheme, "POST", "/admin/clock/advance", data)
    assert status == 400
    assert words in body["error"]
    assert scheme.clock.now() == before


async def test_accounts_show_their_aliases(make_scheme: MakeScheme) -> None:
    accounts = default_config_data()["accounts"]
    accounts[0] = dict(accounts[0], iban="GB82WEST12345698765432")
    accounts[1] = dict(accounts[1], sort_code_account_number="40400112345678")
    scheme = await make_scheme(accounts=accounts)
    _, body = await admin(scheme, "GET", "/admin/accounts")
    shown = {a["address"]: a for a in body["accounts"]}
    assert shown[accounts[0]["address"]]["iban"] == "GB82WEST12345698765432"
    assert shown[accounts[1]["address"]]["sortCodeAccountNumber"] == "40400112345678"
    assert "iban" not in shown[accounts[2]["address"]]
