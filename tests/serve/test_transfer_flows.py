"""Third Party transfers that succeed, over real HTTP (transfer patterns §3, digest §4.4).

Each profile × challenge mode × credential type runs the whole conversation; the challenge
the PISP is asked to sign must be exactly what ``behaviour.challenge`` says it is.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import MakeScheme
from tests.support.flows import (
    TX,
    Credential,
    approve,
    complete_transfer,
    quote_response,
    run_until_authorization,
    wait_outcome,
)
from tests.support.ledger_invariants import totals
from tests.support.linking import admin
from tests.support.scheme import FIDO_ACCOUNT, GENERIC_ACCOUNT, Scheme
from tpsim.auth.challenge import transaction_challenge
from tpsim.mojaloop.roles.common import format_datetime

REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"
SECOND_ID = "c8a5d4b2-1f3e-4a6b-9c7d-2e8f0a1b3c4d"
BOB = "dfspb.bob.chequing"
FIXED = "OWZhYjAxZTcwYjU4YzRhMzRmOWQwNzBmZjllZDFiNjc2NWVhMzA1NGI1MWZjZThjZGFjNDEyZDBmNmM2MWFhMQ"
ACCOUNT = {"FIDO": FIDO_ACCOUNT, "GENERIC": GENERIC_ACCOUNT}
OPENING = {"FIDO": "1000", "GENERIC": "500"}


def expected_challenge(mode: str, scheme: Scheme, authorization: dict[str, Any]) -> str:
    """The challenge ``mode`` prescribes, derived independently of the payer DFSP."""
    if mode == "quote":
        return transaction_challenge(mode, quote=quote_response(scheme, REQUEST_ID))
    if mode == "authorization-request":
        return transaction_challenge(mode, authorization_request=authorization)
    return mode


@pytest.mark.parametrize("credential", ["FIDO", "GENERIC"])
@pytest.mark.parametrize("mode", ["quote", "authorization-request", FIXED])
@pytest.mark.parametrize("profile", ["spec", "reference"])
async def test_transfer_completes(
    make_scheme: MakeScheme, profile: str, mode: str, credential: Credential
) -> None:
    scheme = await make_scheme(behaviour={"profile": profile, "challenge": mode})
    payer = ACCOUNT[credential]

    auth = await run_until_authorization(scheme, REQUEST_ID, payer=payer)
    assert auth.headers["FSPIOP-Source"] == "dfspa"
    assert auth.body is not None
    assert auth.body["challenge"] == expected_challenge(mode, scheme, auth.body)
    assert auth.body["transferAmount"] == {"currency": "USD", "amount": "100"}
    assert auth.body["payer"]["partyIdentifier"] == payer

    await approve(scheme, auth, credential)
    patch = await wait_outcome(scheme.pisp, REQUEST_ID)

    assert (patch.method, patch.path) == ("PATCH", f"{TX}/{REQUEST_ID}")
    assert patch.headers["FSPIOP-Source"] == "dfspa"
    completed = {"transactionRequestState": "ACCEPTED", "transactionState": "COMPLETED"}
    if profile == "spec":  # the reference DFSP sends no completedTimestamp (digest §4.4)
        completed["completedTimestamp"] = format_datetime(scheme.clock.now())
    assert patch.body == completed
    assert scheme.balance(payer) == str(int(OPENING[credential]) - 100)
    assert scheme.balance(BOB) == "100"


# fmt: off
# (amountType, amount, fee, commission) → (transferAmount, payeeReceiveAmount, fees, payer's
# balance after); fees = transferAmount - payeeReceiveAmount (digest §4.4 step 3)
FEES = [
    ("SEND",    "100", "2",   "0", "100", "98",   "2",   "900"),
    ("SEND",    "100", "3",   "1", "100", "98",   "2",   "900"),
    ("SEND",    "100", "0.5", "0", "100", "99.5", "0.5", "900"),
    ("RECEIVE", "100", "2",   "0", "102", "100",  "2",   "898"),
    ("RECEIVE", "100", "3",   "1", "102", "100",  "2",   "898"),
    ("RECEIVE", "0.5", "0.25", "0", "0.75", "0.5", "0.25", "999.25"),
]
# fmt: on


@pytest.mark.parametrize(
    ("amount_type", "amount", "fee", "commission", "transfer", "receive", "fees", "payer_after"),
    FEES,
)
async def test_payee_fees_are_shown_and_charged(
    make_scheme: MakeScheme,
    amount_type: str,
    amount: str,
    fee: str,
    commission: str,
    transfer: str,
    receive: str,
    fees: str,
    payer_after: str,
) -> None:
    scheme = await make_scheme(behaviour={"payee_fees": {"fee": fee, "commission": commission}})

    auth = await run_until_authorization(scheme, REQUEST_ID, amount_type=amount_type, amount=amount)
    assert auth.body is not None
    assert auth.body["transferAmount"] == {"currency": "USD", "amount": transfer}
    assert auth.body["payeeReceiveAmount"] == {"currency": "USD", "amount": receive}
    assert auth.body["fees"] == {"currency": "USD", "amount": fees}
    await approve(scheme, auth)
    patch = await wait_outcome(scheme.pisp, REQUEST_ID)

    assert patch.method == "PATCH", patch.body
    assert scheme.balance(FIDO_ACCOUNT) == payer_after
    assert scheme.balance(BOB) == receive


# (amountType, fee, commission) → the payee DFSP's fee account after one transfer:
# transferAmount = payeeReceiveAmount + payeeFspFee − payeeFspCommission, the difference
# the payee DFSP's (it earns the fee, it pays the commission).
KEPT = [
    ("SEND", "2", "0", "2"),
    ("RECEIVE", "2", "0", "2"),
    ("SEND", "0", "2", "-2"),
    ("RECEIVE", "0", "2", "-2"),
    ("SEND", "3", "1", "2"),
    ("RECEIVE", "1.5", "2.25", "-0.75"),
]


@pytest.mark.parametrize(("amount_type", "fee", "commission", "kept"), KEPT)
async def test_fees_and_commission_conserve_the_schemes_money(
    make_scheme: MakeScheme, amount_type: str, fee: str, commission: str, kept: str
) -> None:
    """What the payer pays is what the payee receives plus what its DFSP keeps: a
    commission creates no money and a fee does not vanish; the payee DFSP's share is on
    its fee account, which the admin API lists with the others."""
    scheme = await make_scheme(behaviour={"payee_fees": {"fee": fee, "commission": commission}})
    assert scheme.sim is not None
    before = totals(scheme.sim.state.bank)

    await complete_transfer(scheme, REQUEST_ID, amount_type=amount_type)
    await scheme.settle()

    assert totals(scheme.sim.state.bank) == before
    _, body = await admin(scheme, "GET", "/admin/accounts")
    own = [a for a in body["accounts"] if a["fspId"] == "dfspb" and a["owner"] == ""]
    assert [(a["currency"], a["balance"]) for a in own] == [("USD", kept)]


async def test_authorization_request_carries_the_transaction_terms(scheme: Scheme) -> None:
    auth = await run_until_authorization(scheme, REQUEST_ID)
    request = scheme.pisp.received[0]  # PUT RECEIVED came first
    assert request.body is not None and auth.body is not None
    assert request.body["transactionId"]
    body = auth.body
    assert body["transactionRequestId"] == REQUEST_ID
    assert body["payee"]["partyIdInfo"] == {
        "partyIdType": "MSISDN",
        "partyIdentifier": "16135551212",
        "fspId": "dfspb",
    }
    assert body["payer"] == {
        "partyIdType": "THIRD_PARTY_LINK",
        "partyIdentifier": FIDO_ACCOUNT,
        "fspId": "dfspa",
    }
    assert body["transactionType"]["scenario"] == "TRANSFER"
    # The PISP must be asked no later than the quote (and the request) expire.
    assert body["expiration"] <= quote_response(scheme, REQUEST_ID)["expiration"]


async def test_two_transfers_in_a_row_use_fresh_challenges(scheme: Scheme) -> None:
    first = await complete_transfer(scheme, REQUEST_ID)
    second = await complete_transfer(scheme, SECOND_ID, amount="50")

    assert first.body is not None and second.body is not None
    challenges = [
        r.body["challenge"]
        for r in scheme.pisp.received
        if r.method == "POST" and r.body is not None and "challenge" in r.body
    ]
    assert len(set(challenges)) == 2
    assert scheme.balance(FIDO_ACCOUNT) == "850"
    assert scheme.balance(BOB) == "150"


@pytest.mark.parametrize("credential", ["FIDO", "GENERIC"])
async def test_get_transaction_reports_its_state(scheme: Scheme, credential: Credential) -> None:
    pisp = scheme.pisp
    payer = ACCOUNT[credential]
    auth = await run_until_authorization(scheme, REQUEST_ID, payer=payer)

    start = len(pisp.received)
    sent = await pisp.send("GET", f"{TX}/{REQUEST_ID}", destination="dfspa")
    assert sent.status == 202, sent.body
    pending = await pisp.wait_for("PUT", f"{TX}/{REQUEST_ID}", start=start)
    assert pending.body is not None
    assert pending.body["transactionRequestState"] == "PENDING"

    await approve(scheme, auth, credential)
    await wait_outcome(pisp, REQUEST_ID)
    start = len(pisp.received)
    await pisp.send("GET", f"{TX}/{REQUEST_ID}", destination="dfspa")
    done = await pisp.wait_for("PUT", f"{TX}/{REQUEST_ID}", start=start)
    assert done.body is not None
    assert done.body["transactionRequestState"] == "ACCEPTED"
    assert done.body["transactionId"] == pisp.received[0].body["transactionId"]  # type: ignore[index]


async def test_duplicate_in_flight_is_ignored(scheme: Scheme) -> None:
    """FSPIOP §3.2.5: the same request again while it is processed → nothing new."""
    pisp = scheme.pisp
    auth = await run_until_authorization(scheme, REQUEST_ID)
    before = len(pisp.received)

    await pisp.send("POST", TX, _first_request(scheme), destination="dfspa")
    await scheme.settle()
    assert len(pisp.received) == before

    await approve(scheme, auth)
    patch = await wait_outcome(pisp, REQUEST_ID)
    assert patch.method == "PATCH"
    assert scheme.balance(FIDO_ACCOUNT) == "900"


async def test_duplicate_after_completion_resends_the_final_callback(scheme: Scheme) -> None:
    pisp = scheme.pisp
    patch = await complete_transfer(scheme, REQUEST_ID)
    start = len(pisp.received)

    sent = await pisp.send("POST", TX, _first_request(scheme), destination="dfspa")
    assert sent.status == 202
    again = await wait_outcome(pisp, REQUEST_ID, start=start)
    await scheme.settle()

    assert (again.method, again.body) == ("PATCH", patch.body)
    assert len(pisp.received) == start + 1  # only the PATCH: no new quote, no new challenge
    assert scheme.balance(FIDO_ACCOUNT) == "900"
    assert scheme.balance(BOB) == "100"


def _first_request(scheme: Scheme) -> dict[str, Any]:
    """The POST /thirdpartyRequests/transactions body the PISP sent first (from the journal)."""
    assert scheme.sim is not None
    return next(
        e.body
        for e in scheme.sim.journal.entries()
        if e.method == "POST" and e.path == TX and e.body is not None
    )
