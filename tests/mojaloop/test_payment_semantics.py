"""What a PISP-initiated payment means, whoever sends what: money moves once, on the terms
the user signed, and only the party a step awaits can end it.

Socket-free, through the roles (``tests/mojaloop/roles/test_payer_dfsp.py``'s ``Flow``): the
tests play the PISP, or an attacker among the participants, beside the simulated DFSPs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.mojaloop.roles.test_auth_service_unit import (
    AUTH_ID,
    CHALLENGE,
    VERIFICATIONS,
    alice,
    signed,
)
from tests.mojaloop.roles.test_payer_dfsp import (
    ALICE,
    BOB,
    TX,
    Flow,
    build,
    error_body,
    error_code,
    posted,
    refused,
    verified,
)
from tests.support.linking_roles import exchange
from tests.support.roles import Roles
from tests.support.scheme import FIDO_CONSENT
from tpsim.mojaloop.message import Message


def transfer_id(flow: Flow) -> str:
    return str((flow.last("POST", "/transfers").body or {})["transferId"])


# --- the transfer's outcome comes from its payee DFSP (or the switch) --------------------


OUTCOMES = [
    pytest.param("/error", error_body("5000"), id="an error"),
    pytest.param("", {"transferState": "ABORTED"}, id="ABORTED"),
    pytest.param("", {"transferState": "COMMITTED"}, id="COMMITTED"),
]


@pytest.mark.parametrize(("suffix", "body"), OUTCOMES)
@pytest.mark.parametrize("sender", ["pispa", "dfspx"])
def test_only_the_payee_dfsp_tells_how_the_transfer_ended(
    sender: str, suffix: str, body: dict[str, Any]
) -> None:
    # The transferId is the transactionId the PISP was told in PUT …/transactions {RECEIVED};
    # the switch routes by FSPIOP-Destination. Taken from anyone, an "aborted" while the
    # payee credits would give Alice's debit back with Bob's credit kept (money made), and a
    # "COMMITTED" would tell the PISP COMPLETED for a transfer the payee never took.
    flow = build()
    verified(flow)
    path = f"/transfers/{transfer_id(flow)}{suffix}"
    assert refused(lambda: flow.send("dfspa", "PUT", path, body, source=sender)).code == "3206"
    assert posted(flow) == [("RESERVE", "100")]
    assert flow.get() == "ACCEPTED"

    [patch] = flow.transfer().messages  # the payee's own answer still ends it
    assert (patch.method, patch.path) == ("PATCH", f"{TX}/{flow.request_id}")
    assert posted(flow) == [("RESERVE", "100"), ("COMMIT", "100")]
    assert (flow.roles.balance(ALICE), flow.roles.balance(BOB)) == ("900", "100")


def test_the_switch_still_reports_an_expired_transfer() -> None:
    # Mojaloop's timeout handler: 3303 from the switch to the payer (roles/hub_transfers).
    flow = build()
    verified(flow)
    path = f"/transfers/{transfer_id(flow)}/error"
    flow.send("dfspa", "PUT", path, error_body("3303"), source="switch")
    assert error_code(flow.outcome()) == "6003"
    assert posted(flow) == [("RESERVE", "100"), ("RELEASE", "100")]


# --- the user signs for what the account is debited ----------------------------------------


@pytest.mark.parametrize("field", ["transferAmount", "payeeReceiveAmount"])
@pytest.mark.parametrize("profile", ["spec", "reference"])
def test_a_quote_in_another_currency_is_not_signed_for(profile: str, field: str) -> None:
    # Alice's account is in USD and the request asked for USD: a quote in EUR would have
    # her sign for EUR and be debited the same number of USD.
    flow = build(profile)
    [_, quote] = flow.request().messages
    [answer] = flow.deliver(quote).messages
    body = dict(answer.body or {})
    body[field] = {**body[field], "currency": "EUR"}
    [error] = flow.deliver(replace(answer, body=body)).messages
    assert (error.path, error.destination) == (f"{TX}/{flow.request_id}/error", "pispa")
    assert error_code(error) == ("6003" if profile == "spec" else "7103")
    if profile == "spec":  # the reference profile says only its code's own text
        text = (error.body or {})["errorInformation"]["errorDescription"]
        assert "quoted in EUR for a request in USD" in text
    assert not [m for m in flow.sent if m.path == "/thirdpartyRequests/authorizations"]
    assert posted(flow) == []
    assert flow.get() == "REJECTED"


# --- the auth-service answers a resent verification as it did the first time -------------


VERIFICATION_ID = "11111111-1111-4111-8111-111111111111"


def verification_body() -> dict[str, Any]:
    return {
        "verificationRequestId": VERIFICATION_ID,
        "challenge": CHALLENGE,
        "consentId": FIDO_CONSENT,
        **signed(alice("FIDO"), CHALLENGE, None),
    }


def ask(roles: Roles, method: str, body: dict[str, Any] | None = None) -> Message:
    dfsp = roles.sim.state.auth_consents[FIDO_CONSENT].dfsp
    path = VERIFICATIONS if method == "POST" else f"{VERIFICATIONS}/{VERIFICATION_ID}"
    [answer] = exchange(roles, method, path, body, to=AUTH_ID, source=dfsp).messages
    return answer


def test_a_resent_verification_gets_the_same_answer() -> None:
    # FSPIOP v1.1 §3.2.5: the same request again is answered with the same callback. Checked
    # again, the assertion's counter no longer increases: a payer DFSP resending its request
    # (its answer was slow) would be told the user's valid signature failed (6201).
    roles = Roles.build()
    body = verification_body()
    first = ask(roles, "POST", body)
    assert (first.path, first.body) == (
        f"{VERIFICATIONS}/{VERIFICATION_ID}",
        {"authenticationResponse": "VERIFIED"},
    )
    again = ask(roles, "POST", body)
    assert (again.path, again.body) == (first.path, first.body)
    assert ask(roles, "GET").body == {"authenticationResponse": "VERIFIED"}
    assert roles.sim.state.auth_consents[FIDO_CONSENT].credential.sign_count == 1


def test_a_verification_id_reused_for_another_signature_is_refused() -> None:
    roles = Roles.build()
    ask(roles, "POST", verification_body())
    other = verification_body()  # another assertion (ECDSA signs anew) under the same id
    answer = ask(roles, "POST", other)
    assert (answer.path, error_code(answer)) == (f"{VERIFICATIONS}/{VERIFICATION_ID}/error", "3106")
    assert ask(roles, "GET").body == {"authenticationResponse": "VERIFIED"}
