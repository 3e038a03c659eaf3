"""Third Party transfers the payer DFSP refuses or abandons, over real HTTP.

Every row states the input and the ``PUT /thirdpartyRequests/transactions/{ID}/error``
the PISP gets under each profile (errors.py; spec 6xxx, reference 7xxx; FSPIOP codes
are the same in both). A refused transfer never moves money.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import MakeScheme
from tests.support.flows import (
    AUTHZ,
    TX,
    approve,
    error_code,
    extensions,
    journal_bodies,
    quote_response,
    reject,
    request_transfer,
    run_until_authorization,
    wait_error,
    wait_outcome,
)
from tests.support.overrides import (
    with_account,
    with_consent,
    with_scope_actions,
    with_second_pisp,
)
from tests.support.pisp import future_expiration
from tests.support.scheme import FIDO_ACCOUNT, Scheme
from tpsim.config import overlay as merge

REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"
BOB = "dfspb.bob.chequing"
PROFILES = ["spec", "reference"]


def assert_no_money_moved(scheme: Scheme) -> None:
    assert scheme.balance(FIDO_ACCOUNT) == "1000"
    assert scheme.balance(BOB) == "0"


def asked_to_authorize(scheme: Scheme) -> bool:
    return any(r.method == "POST" and r.path == AUTHZ for r in scheme.pisp.received)


# --- the payer DFSP refuses the request ---------------------------------------------------

BALANCE_ONLY = with_scope_actions(["ACCOUNTS_GET_BALANCE"])

# (case, config overrides, transaction_request arguments, sender, spec code, reference code)
REFUSED: list[tuple[str, dict[str, Any], dict[str, Any], str, str, str]] = [
    ("unknown link", {}, {"payer": "dfspa.alice.unlinked"}, "pispa", "6103", "7101"),
    ("revoked consent", with_consent(status="REVOKED"), {}, "pispa", "6103", "7213"),
    ("consent of another PISP", with_second_pisp(), {}, "pispb", "6103", "7101"),
    ("no ACCOUNTS_TRANSFER scope", BALANCE_ONLY, {}, "pispa", "4300", "7101"),
    ("insufficient funds", {}, {"amount": "1000.01"}, "pispa", "4001", "7101"),
    ("unsupported currency", {}, {"currency": "EUR"}, "pispa", "4103", "7101"),
    ("missing payee fspId", {}, {"payee_fsp": None}, "pispa", "3203", "7101"),
    ("expired request", {}, {"expiration": future_expiration(-60)}, "pispa", "3301", "3301"),
    ("unparseable expiration", {}, {"expiration": "tomorrow"}, "pispa", "3100", "3100"),
]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("overrides", "request_args", "sender", "spec_code", "reference_code"),
    [pytest.param(*row[1:], id=row[0]) for row in REFUSED],
)
async def test_refused_request(
    make_scheme: MakeScheme,
    profile: str,
    overrides: dict[str, Any],
    request_args: dict[str, Any],
    sender: str,
    spec_code: str,
    reference_code: str,
) -> None:
    scheme = await make_scheme(behaviour={"profile": profile}, **overrides)
    pisp = scheme.pisps[sender]

    await request_transfer(scheme, REQUEST_ID, pisp=pisp, **request_args)
    error = await wait_error(pisp, f"{TX}/{REQUEST_ID}")
    await scheme.settle()

    assert error.headers["FSPIOP-Source"] == "dfspa"
    assert error.headers["FSPIOP-Destination"] == sender
    assert error_code(error) == (spec_code if profile == "spec" else reference_code)
    assert error.body is not None and error.body["errorInformation"]["errorDescription"]
    # Refused before anything happened: no RECEIVED, no quote, no challenge.
    assert [r.path for r in pisp.received] == [f"{TX}/{REQUEST_ID}/error"]
    assert_no_money_moved(scheme)


# --- the quote fails -----------------------------------------------------------------------

# (case, overrides, request arguments, code the payee DFSP answered the quote with)
QUOTE_FAILS: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("fees exceed the amount", {"behaviour": {"payee_fees": {"fee": "200"}}}, {}, "5101"),
    ("payee account in another currency", with_account(BOB, currency="EUR"), {}, "5106"),
    ("payee unknown at its DFSP", {}, {"payee_msisdn": "19995550000"}, "3204"),
]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("overrides", "request_args", "payee_code"),
    [pytest.param(*row[1:], id=row[0]) for row in QUOTE_FAILS],
)
async def test_payee_dfsp_rejects_the_quote(
    make_scheme: MakeScheme,
    profile: str,
    overrides: dict[str, Any],
    request_args: dict[str, Any],
    payee_code: str,
) -> None:
    profile_overrides = {"behaviour": {"profile": profile}}
    scheme = await make_scheme(**merge(overrides, profile_overrides))

    await request_transfer(scheme, REQUEST_ID, **request_args)
    error = await wait_error(scheme.pisp, f"{TX}/{REQUEST_ID}")
    await scheme.settle()

    assert error.headers["FSPIOP-Source"] == "dfspa"
    assert error_code(error) == ("6003" if profile == "spec" else "7103")
    assert extensions(error)["downstreamErrorCode"] == payee_code
    assert not asked_to_authorize(scheme)
    assert_no_money_moved(scheme)


async def test_quoted_amount_over_the_balance_is_refused(make_scheme: MakeScheme) -> None:
    """RECEIVE 1000 with a fee of 1: the request fits the balance, the quote does not."""
    scheme = await make_scheme(behaviour={"payee_fees": {"fee": "1"}})

    await request_transfer(scheme, REQUEST_ID, amount="1000", amount_type="RECEIVE")
    error = await wait_error(scheme.pisp, f"{TX}/{REQUEST_ID}")

    assert error_code(error) == "4001"
    assert not asked_to_authorize(scheme)
    assert_no_money_moved(scheme)


# --- the user rejects, or never answers --------------------------------------------------


async def test_user_rejection_spec_patches_rejected(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(behaviour={"profile": "spec"})
    auth = await run_until_authorization(scheme, REQUEST_ID)

    await reject(scheme, auth)
    outcome = await wait_outcome(scheme.pisp, REQUEST_ID)

    assert (outcome.method, outcome.body) == (
        "PATCH",
        {"transactionRequestState": "REJECTED", "transactionState": "REJECTED"},
    )
    assert_no_money_moved(scheme)


async def test_user_rejection_reference_sends_7300_once(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(behaviour={"profile": "reference"})
    auth = await run_until_authorization(scheme, REQUEST_ID)

    await reject(scheme, auth)
    outcome = await wait_outcome(scheme.pisp, REQUEST_ID)
    await scheme.settle()

    assert (outcome.method, outcome.path) == ("PUT", f"{TX}/{REQUEST_ID}/error")
    assert error_code(outcome) == "7300"
    finals = [r for r in scheme.pisp.received if r.path.startswith(f"{TX}/{REQUEST_ID}/")]
    assert len(finals) == 1  # the reference sdk sends it twice; tpsim once (DESIGN.md)
    assert_no_money_moved(scheme)


@pytest.mark.parametrize(("profile", "code"), [("spec", "2004"), ("reference", "7107")])
async def test_authorization_timeout(make_scheme: MakeScheme, profile: str, code: str) -> None:
    scheme = await make_scheme(behaviour={"profile": profile, "authorization_timeout_s": 30})
    auth = await run_until_authorization(scheme, REQUEST_ID)

    scheme.advance(29)
    await scheme.settle()
    assert not any(r.path.endswith("/error") for r in scheme.pisp.received)
    scheme.advance(1)
    error = await wait_error(scheme.pisp, f"{TX}/{REQUEST_ID}")
    assert error_code(error) == code

    # Too late: the transaction is final, the answer is refused with a callback.
    await approve(scheme, auth)
    late = await wait_error(scheme.pisp, f"{AUTHZ}/{auth.body['authorizationRequestId']}")  # type: ignore[index]
    assert late.headers["FSPIOP-Source"] == "dfspa"
    assert error_code(late) == "3000"
    await scheme.settle()
    assert_no_money_moved(scheme)


async def test_request_expiring_before_authorization(scheme: Scheme) -> None:
    expiration = future_expiration(20, now=scheme.clock.now())
    auth = await run_until_authorization(scheme, REQUEST_ID, expiration=expiration)
    assert auth.body is not None
    assert auth.body["expiration"] <= expiration

    scheme.advance(21)
    error = await wait_error(scheme.pisp, f"{TX}/{REQUEST_ID}")

    assert error_code(error) == "3301"
    assert_no_money_moved(scheme)


async def test_quote_expiring_before_authorization(make_scheme: MakeScheme) -> None:
    """The authorization request announces the quote's expiry; the DFSP stops waiting then."""
    scheme = await make_scheme(behaviour={"quote_expiry_s": 30})
    auth = await run_until_authorization(scheme, REQUEST_ID)
    assert auth.body is not None
    assert auth.body["expiration"] == quote_response(scheme, REQUEST_ID)["expiration"]

    scheme.advance(30)
    error = await wait_error(scheme.pisp, f"{TX}/{REQUEST_ID}")
    assert error_code(error) == "3302"

    await approve(scheme, auth)  # too late: refused before the signature is verified
    late = await wait_error(scheme.pisp, f"{AUTHZ}/{auth.body['authorizationRequestId']}")
    assert error_code(late) == "3000"
    await scheme.settle()
    assert journal_bodies(scheme, "POST", "/thirdpartyRequests/verifications") == []
    assert_no_money_moved(scheme)


# --- duplicates and other PISPs ------------------------------------------------------------


async def test_duplicate_with_another_body_is_refused_and_the_original_goes_on(
    scheme: Scheme,
) -> None:
    auth = await run_until_authorization(scheme, REQUEST_ID)
    start = len(scheme.pisp.received)

    await request_transfer(scheme, REQUEST_ID, amount="101")
    error = await wait_error(scheme.pisp, f"{TX}/{REQUEST_ID}", start=start)
    assert error.headers["FSPIOP-Source"] == "dfspa"
    assert error_code(error) == "3106"

    await approve(scheme, auth)
    outcome = await wait_outcome(scheme.pisp, REQUEST_ID, start=start + 1)
    assert outcome.method == "PATCH"
    assert scheme.balance(FIDO_ACCOUNT) == "900"


async def test_duplicate_of_a_refused_request_resends_the_error(scheme: Scheme) -> None:
    body = await request_transfer(scheme, REQUEST_ID, amount="5000")
    first = await wait_error(scheme.pisp, f"{TX}/{REQUEST_ID}")

    await request_transfer(scheme, REQUEST_ID, body=body)
    again = await wait_error(scheme.pisp, f"{TX}/{REQUEST_ID}", start=1)
    await scheme.settle()

    assert again.body == first.body and error_code(again) == "4001"
    assert len(scheme.pisp.received) == 2


async def test_another_pisp_cannot_read_the_transaction(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(**with_second_pisp())
    await run_until_authorization(scheme, REQUEST_ID)
    other = scheme.pisps["pispb"]

    sent = await other.send("GET", f"{TX}/{REQUEST_ID}", destination="dfspa")
    assert sent.status == 202
    error = await wait_error(other, f"{TX}/{REQUEST_ID}")
    await scheme.settle()

    assert error.headers["FSPIOP-Source"] == "dfspa"
    assert error_code(error) == "3206"
    assert "transactionRequestState" not in (error.body or {})
    assert not any(r.path.endswith("/error") for r in scheme.pisp.received)


async def test_another_pisp_cannot_authorize_the_transaction(make_scheme: MakeScheme) -> None:
    scheme = await make_scheme(**with_second_pisp())
    auth = await run_until_authorization(scheme, REQUEST_ID)
    other = scheme.pisps["pispb"]

    await approve(scheme, auth, pisp=other)
    error = await wait_error(other, f"{AUTHZ}/{auth.body['authorizationRequestId']}")  # type: ignore[index]
    assert error_code(error) == "3206"
    assert_no_money_moved(scheme)

    await approve(scheme, auth)  # the PISP that asked still can
    outcome = await wait_outcome(scheme.pisp, REQUEST_ID)
    assert outcome.method == "PATCH"
