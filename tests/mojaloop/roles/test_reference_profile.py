"""``behaviour.profile: reference`` is what Mojaloop sends (issue 15, item 3), socket-free.

Each promise is one of the digest's (``mojaloop-3p-spec.md`` §2.2, §4.4, §7.3): the bodies
are compared whole against what thirdparty-sdk and auth-service send, the fixed
``errorDescription`` of sdk-standard-components' ``MojaloopApiErrorCodes`` included; tpsim's
own sentence rides in the ``tpsimDetail`` extension. ``spec`` keeps tpsim's sentences.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.mojaloop.roles.test_payer_dfsp import REQUEST_ID, TX, build
from tests.support.dfsp import uid
from tests.support.linking_roles import exchange, request_body
from tests.support.roles import Roles
from tpsim.config_settings import Profile
from tpsim.mojaloop.errors import (
    AuthorizationFailed,
    ConsentNotValid,
    FspiopError,
    InvalidAuthToken,
    MethodNotAllowed,
    PartyNotFound,
    TransferFailed,
    UnacceptableVersion,
    UnsupportedAuthChannels,
    VerificationFailed,
)
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.common import format_datetime

CONSENT_REQUESTS = "/consentRequests"
LINK_ID = uid("reference-consent-request")
PATH = f"{CONSENT_REQUESTS}/{LINK_ID}"
OTP = "246810"


def linking(profile: str = "reference", **behaviour: Any) -> Roles:
    linking = {"otp": {"fixed": OTP}, **behaviour}
    return Roles.build(behaviour={"profile": profile, "linking": linking})


def mojaloop_error(code: str, text: str, detail: str | None = None) -> dict[str, Any]:
    """An error body as Mojaloop sends it, with tpsim's ``detail`` beside the fixed text."""
    info: dict[str, Any] = {"errorCode": code, "errorDescription": text}
    if detail is not None:
        info["extensionList"] = {"extension": [{"key": "tpsimDetail", "value": detail}]}
    return {"errorInformation": info}


def patch(roles: Roles, token: str) -> Message:
    [answer] = exchange(roles, "PATCH", PATH, {"authToken": token}).messages
    return answer


# --- error texts (digest §7.3: sdk-standard-components MojaloopApiErrorCodes) ---------------


# (error, Mojaloop's errorCode and errorDescription for it), as thirdparty-sdk / auth-service
# send them: the text is the code's, whatever the failure's own words.
MOJALOOP_BODIES = [
    (InvalidAuthToken("x"), "7205", "OTP failed validation"),
    (
        UnsupportedAuthChannels("x"),
        "7203",
        "FSP does not support any requested authentication channels",
    ),
    (ConsentNotValid("x"), "7213", "Consent is invalid"),
    (AuthorizationFailed("x"), "7107", "DFSP received unexpected authorization responseType"),
    (VerificationFailed("x"), "7300", "Generic Thirdparty auth service error"),
    (TransferFailed("x"), "7108", "Transaction request transfer failed"),
    (PartyNotFound("x"), "3204", "Party not found"),
    (UnacceptableVersion("x"), "3001", "Unacceptable version requested"),
    (MethodNotAllowed("x"), "3000", "Generic client error - Method Not Allowed"),
]


@pytest.mark.parametrize(
    ("error", "code", "text"), MOJALOOP_BODIES, ids=[row[1] for row in MOJALOOP_BODIES]
)
def test_every_error_carries_mojaloops_fixed_text_for_its_code(
    error: FspiopError, code: str, text: str
) -> None:
    assert error.error_information(Profile.REFERENCE) == mojaloop_error(code, text, "x")


def test_tpsims_sentence_is_an_extension_not_the_description() -> None:
    error = InvalidAuthToken("wrong OTP: the consent request is closed", field="authToken")
    assert error.error_information(Profile.REFERENCE) == mojaloop_error(
        "7205", "OTP failed validation", "authToken: wrong OTP: the consent request is closed"
    )


def test_a_long_sentence_is_kept_whole_in_two_extensions_of_at_most_128_characters() -> None:
    sentence = "a" * 128 + "b" * 20
    info = ConsentNotValid(sentence).error_information(Profile.REFERENCE)["errorInformation"]
    assert info["errorDescription"] == "Consent is invalid"
    assert info["extensionList"]["extension"] == [
        {"key": "tpsimDetail", "value": "a" * 128},
        {"key": "tpsimDetailMore", "value": "b" * 20},
    ]


def test_an_error_with_no_sentence_of_its_own_is_exactly_mojaloops() -> None:
    error = ConsentNotValid("Consent is invalid")
    assert error.error_information(Profile.REFERENCE) == mojaloop_error(
        "7213", "Consent is invalid"
    )


def test_other_extensions_follow_tpsims_sentence() -> None:
    error = VerificationFailed(
        "the auth-service answered 7105", extensions={"downstreamErrorCode": "7105"}
    )
    [detail, downstream] = error.error_information(Profile.REFERENCE)["errorInformation"][
        "extensionList"
    ]["extension"]
    assert detail == {"key": "tpsimDetail", "value": "the auth-service answered 7105"}
    assert downstream == {"key": "downstreamErrorCode", "value": "7105"}


def test_spec_keeps_tpsims_sentence_as_the_description() -> None:
    error = InvalidAuthToken("wrong OTP; 2 attempt(s) left", field="authToken")
    assert error.error_information(Profile.SPEC) == {
        "errorInformation": {
            "errorCode": "6203",
            "errorDescription": "authToken: wrong OTP; 2 attempt(s) left",
        }
    }


# --- linking (digest §2.2 #3, #5; thirdparty-sdk dfspLinking.model.ts) ---------------------


def test_a_first_wrong_otp_fails_the_consent_request_with_7205() -> None:
    roles = linking()
    exchange(roles, "POST", CONSENT_REQUESTS, request_body(LINK_ID, channels=("OTP",)))

    refused = patch(roles, "135790")

    assert (refused.method, refused.path, refused.destination) == ("PUT", f"{PATH}/error", "pispa")
    assert refused.body == mojaloop_error(
        "7205", "OTP failed validation", "authToken: wrong OTP: the consent request is closed"
    )
    # The request is over: the right OTP now gets the same error, and no consent.
    assert patch(roles, OTP).body == refused.body
    assert roles.role("dfspa").consent_requests.otp(LINK_ID)["attemptsLeft"] == 0


def test_a_web_token_before_the_user_signed_in_fails_the_request_at_once() -> None:
    roles = linking()
    exchange(roles, "POST", CONSENT_REQUESTS, request_body(LINK_ID, channels=("WEB",)))

    refused = patch(roles, "guessed-secret")

    assert refused.body == mojaloop_error(
        "7205",
        "OTP failed validation",
        "authToken: the user has not signed in yet: the consent request is closed",
    )
    assert roles.role("dfspa").consent_requests.login_view(LINK_ID).state.value == "FAILED"


def test_spec_still_allows_the_configured_attempts() -> None:
    roles = linking("spec")
    exchange(roles, "POST", CONSENT_REQUESTS, request_body(LINK_ID, channels=("OTP",)))
    assert patch(roles, "135790").body == {
        "errorInformation": {
            "errorCode": "6203",
            "errorDescription": "authToken: wrong OTP; 2 attempt(s) left",
        }
    }
    assert patch(roles, OTP).path == "/consents"


def test_no_common_channel_is_7203_with_mojaloops_text() -> None:
    roles = linking(auth_channels=["OTP"])
    body = request_body(LINK_ID, "alice", ["dfspa.alice.chequing"], channels=("WEB",))

    [refused] = exchange(roles, "POST", CONSENT_REQUESTS, body).messages

    assert refused.body == mojaloop_error(
        "7203",
        "FSP does not support any requested authentication channels",
        "authChannels: dfspa authenticates alice over OTP only",
    )


# --- transfer (digest §4.4 steps 4 and 7; thirdparty-sdk dfspTransaction.model.ts) ---------


def test_the_final_patch_is_exactly_accepted_and_completed() -> None:
    flow = build("reference")
    flow.until_authorization()
    flow.authorize()
    flow.verified()

    [patch] = flow.transfer().messages

    assert (patch.method, patch.path, patch.destination) == ("PATCH", f"{TX}/{REQUEST_ID}", "pispa")
    assert patch.body == {"transactionRequestState": "ACCEPTED", "transactionState": "COMPLETED"}


def test_spec_adds_the_completed_timestamp() -> None:
    flow = build("spec")
    flow.until_authorization()
    flow.authorize()
    flow.verified()
    [patch] = flow.transfer().messages
    assert patch.body is not None and patch.body["completedTimestamp"] == "2030-01-01T00:00:00.000Z"


def test_the_authorization_request_expires_when_the_quote_does() -> None:
    # The request expires first (20 s), the quote later (30 s): the reference DFSP still
    # copies the quote's expiration (spec: the earlier of the two).
    flow = build("reference", behaviour={"quote_expiry_s": 30})
    effects = flow.until_authorization(expiration="2030-01-01T00:00:20.000Z")
    quote = flow.last("PUT", f"/quotes/{(flow.last('POST', '/quotes').body or {})['quoteId']}")
    [request] = effects.messages
    assert (request.body or {})["expiration"] == (quote.body or {})["expiration"]
    assert (request.body or {})["expiration"] == "2030-01-01T00:00:30.000Z"


@pytest.mark.parametrize(
    ("profile", "expires"),
    [
        # Mojaloop's payer DFSP sets the transfer's expiration to the request's (§4.4 step 6)
        ("reference", "2030-01-01T00:00:50.000Z"),
        # the written spec keeps the payee DFSP's terms: the quote's
        ("spec", "2030-01-01T00:00:30.000Z"),
    ],
)
def test_the_transfer_expires_when_the_profile_says(profile: str, expires: str) -> None:
    flow = build(profile, behaviour={"quote_expiry_s": 30})
    flow.until_authorization(expiration="2030-01-01T00:00:50.000Z")
    flow.authorize()

    effects = flow.verified()

    [transfer] = effects.messages
    assert (transfer.method, transfer.path) == ("POST", "/transfers")
    assert (transfer.body or {})["expiration"] == expires
    [timer] = effects.timers  # when the payer reads the shared ledger for its outcome
    assert format_datetime(timer.at) == expires
