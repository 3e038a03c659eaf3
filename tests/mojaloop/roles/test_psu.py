"""A WEB consent request as a PSU page journey (mojaloop/roles/psu.py), without sockets: what
the page shows, and what approving and denying hand the router and the browser."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.roles import Roles
from tpsim.auth.psu import PsuAccount, UnknownJourney
from tpsim.errors import LoginRefused
from tpsim.mojaloop.message import Effects
from tpsim.mojaloop.roles.psu import ConsentRequestJourney, consent_request_journey

REQUEST_ID = "0b6b3a5e-6a1f-4f61-9a1c-2a0c3e1d7f10"
CHEQUING, SAVINGS = "dfspa.carol.chequing", "dfspa.carol.savings"
ACTIONS = ["ACCOUNTS_GET_BALANCE", "ACCOUNTS_TRANSFER"]
CALLBACK = "https://pisp.example/callback"


def web_request(roles: Roles) -> tuple[ConsentRequestJourney, list[Effects]]:
    body = {
        "consentRequestId": REQUEST_ID,
        "userId": "carol",
        "scopes": [{"address": a, "actions": ACTIONS} for a in (CHEQUING, SAVINGS)],
        "authChannels": ["WEB"],
        "callbackUri": CALLBACK,
    }
    roles.send("dfspa", "POST", "/consentRequests", body, source="pispa")
    submitted: list[Effects] = []
    requests = roles.role("dfspa").consent_requests
    return consent_request_journey(requests, "dfspa", REQUEST_ID, submitted.append), submitted


def test_the_view_shows_who_asks_for_which_accounts() -> None:
    journey, _ = web_request(Roles.build())
    view = journey.view()
    assert (view.bank, view.requester, view.user_id, view.closed) == (
        "dfspa",
        "pispa",
        "carol",
        None,
    )
    assert view.purpose == "asks to link your accounts at dfspa."
    assert view.accounts[1] == PsuAccount(
        SAVINGS, "Carol's savings account (USD)", f"{SAVINGS}: {', '.join(ACTIONS)}"
    )


def test_approval_redirects_with_the_secret_and_hands_over_the_note() -> None:
    journey, submitted = web_request(Roles.build())
    url = journey.approve(None, "tpsim", [SAVINGS])
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{CALLBACK}?") and query["consentRequestId"] == [REQUEST_ID]
    ((effects,),) = [submitted]
    (note,) = effects.out_of_band
    assert (note.method, note.body and note.body["location"]) == ("REDIRECT", url)
    assert journey.view().closed == (
        f"Consent request {REQUEST_ID} is not waiting for a sign-in (it is AWAITING_PATCH)."
    )


def test_denial_tells_the_pisp_at_once() -> None:
    journey, submitted = web_request(Roles.build())
    url = journey.deny()
    assert parse_qs(urlsplit(url).query)["error"] == ["access_denied"]
    (error,) = submitted[0].messages
    assert error.path == f"/consentRequests/{REQUEST_ID}/error"
    assert error.body is not None and error.body["errorInformation"]["errorCode"] == "6102"


@pytest.mark.parametrize(
    ("user", "password", "accounts", "status", "message"),
    [
        ("carol", "nope", [CHEQUING], 401, "wrong password"),
        ("alice", "tpsim", [CHEQUING], 401, "wrong user: sign in as carol"),
        (None, "tpsim", [], 400, "choose at least one account"),
        (None, "tpsim", ["dfspa.alice.chequing"], 400, "choose at least one account"),
    ],
)
def test_refused_input_leaves_the_journey_open(
    user: str | None, password: str, accounts: list[str], status: int, message: str
) -> None:
    journey, submitted = web_request(Roles.build())
    with pytest.raises(LoginRefused, match=message) as refused:
        journey.approve(user, password, accounts)
    assert refused.value.http_status == status
    # Nothing is sent (a wrong password's count is only written: an empty submission).
    assert all(effects == Effects() for effects in submitted)
    assert journey.view().closed is None


def test_a_decided_journey_refuses_another_decision() -> None:
    journey, _ = web_request(Roles.build())
    journey.deny()
    with pytest.raises(LoginRefused) as refused:
        journey.approve(None, "tpsim", [CHEQUING])
    assert refused.value.http_status == 409


@pytest.mark.parametrize(
    ("fsp_id", "request_id", "detail"),
    [
        ("dfspa", "unknown", "dfspa has no consent request unknown"),
        ("dfspz", REQUEST_ID, "dfspz is not a DFSP simulated by tpsim"),
    ],
)
def test_an_unknown_request_is_an_unknown_journey(
    fsp_id: str, request_id: str, detail: str
) -> None:
    roles = Roles.build()
    web_request(roles)
    requests = roles.role("dfspa").consent_requests if fsp_id == "dfspa" else None
    with pytest.raises(UnknownJourney) as unknown:
        consent_request_journey(requests, fsp_id, request_id, lambda effects: None)
    assert (unknown.value.what, str(unknown.value), unknown.value.http_status) == (
        "consent request",
        detail,
        404,
    )
