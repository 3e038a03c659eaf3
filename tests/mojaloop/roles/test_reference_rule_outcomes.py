"""What a simulated DFSP does about a consent request a rule matched (issue 15, "Rules"),
socket-free: the switch sets ``Message.rule``; the DFSP reads its ``MessageOutcome``.

- ``channel`` forces the linking channel, offered by the PISP or not;
- ``secret`` fixes the OTP or the WEB secret, which the PATCH then validates (over WEB even
  before anyone signed in: Mojaloop's hub test collection sends ``123456`` without a browser);
- ``consent_id`` fixes the consentId granted, from a rule on the POST or on the PATCH.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.support.dfsp import uid
from tests.support.linking_roles import deliver, redirect_params, request_body, sign_in
from tests.support.roles import Roles
from tpsim.core.rules import MessageOutcome, MessageRule
from tpsim.mojaloop.message import Effects, Message

CONSENT_REQUESTS = "/consentRequests"
REQUEST_ID = uid("rule-consent-request")
PATH = f"{CONSENT_REQUESTS}/{REQUEST_ID}"
FIXED_CONSENT = uid("rule-fixed-consent")  # a consentId no consent has yet


def ruled(roles: Roles, method: str, path: str, body: Any, **outcome: Any) -> Effects:
    """Deliver ``method path`` from pispa to dfspa as matched by a rule with ``outcome``."""
    message = roles.message(method, path, body, source="pispa", destination="dfspa")
    if outcome:
        rule = MessageRule("hub-collection", MessageOutcome(**outcome))
        message = dataclasses.replace(message, rule=rule)
    return deliver(roles, message)


def post(roles: Roles, *channels: str, **outcome: Any) -> Effects:
    body = request_body(REQUEST_ID, channels=channels)
    return ruled(roles, "POST", CONSENT_REQUESTS, body, **outcome)


def patch(roles: Roles, token: str, **outcome: Any) -> Message:
    [answer] = ruled(roles, "PATCH", PATH, {"authToken": token}, **outcome).messages
    return answer


def test_a_rule_forces_web_though_the_pisp_offered_otp_only() -> None:
    roles = Roles.build()
    [answer] = post(roles, "OTP", channel="WEB").messages
    assert answer.path == PATH and answer.body is not None
    assert answer.body["authChannels"] == ["WEB"] and "authUri" in answer.body


def test_a_rule_forces_otp_though_the_pisp_offered_web_only() -> None:
    roles = Roles.build()
    effects = post(roles, "WEB", channel="OTP")
    [answer] = effects.messages
    assert answer.body is not None and answer.body["authChannels"] == ["OTP"]
    [sms] = effects.out_of_band
    assert sms.method == "SMS"


def test_a_rule_fixes_the_otp_and_the_patch_with_it_grants() -> None:
    roles = Roles.build()
    effects = post(roles, "OTP", secret="123456")
    [sms] = effects.out_of_band
    assert sms.body is not None and sms.body["otp"] == "123456"
    grant = patch(roles, "123456")
    assert (grant.method, grant.path) == ("POST", "/consents")


def test_a_fixed_web_secret_validates_without_a_browser() -> None:
    roles = Roles.build()
    post(roles, "WEB", secret="123456")
    grant = patch(roles, "123456")
    assert (grant.method, grant.path) == ("POST", "/consents")


def test_a_fixed_web_secret_is_the_one_the_login_page_redirect_carries() -> None:
    roles = Roles.build()
    post(roles, "WEB", secret="123456")
    url, _ = sign_in(roles, REQUEST_ID)
    assert redirect_params(url)["secret"] == "123456"
    assert patch(roles, "123456").path == "/consents"


def test_any_other_web_token_is_still_refused() -> None:
    roles = Roles.build()
    post(roles, "WEB", secret="123456")
    refused = patch(roles, "654321")
    assert refused.path == f"{PATH}/error"


def test_a_rule_on_the_post_fixes_the_consent_id() -> None:
    roles = Roles.build()
    post(roles, "OTP", secret="123456", consent_id=FIXED_CONSENT)
    grant = patch(roles, "123456")
    assert grant.body is not None and grant.body["consentId"] == FIXED_CONSENT


def test_a_rule_on_the_patch_fixes_the_consent_id() -> None:
    roles = Roles.build()
    post(roles, "OTP", secret="123456")
    grant = patch(roles, "123456", consent_id=FIXED_CONSENT)
    assert grant.body is not None and grant.body["consentId"] == FIXED_CONSENT


def test_a_rules_consent_id_already_issued_is_refused_and_the_request_not_granted() -> None:
    roles = Roles.build()
    post(roles, "OTP", secret="123456", consent_id=FIXED_CONSENT)
    patch(roles, "123456")  # granted once: FIXED_CONSENT is issued now
    again = uid("rule-consent-request-2")
    body = request_body(again, channels=("OTP",))
    ruled(roles, "POST", CONSENT_REQUESTS, body, secret="123456", consent_id=FIXED_CONSENT)

    message = roles.message(
        "PATCH",
        f"{CONSENT_REQUESTS}/{again}",
        {"authToken": "123456"},
        source="pispa",
        destination="dfspa",
    )
    [refused] = deliver(roles, message).messages

    assert refused.path == f"{CONSENT_REQUESTS}/{again}/error"
    shown = roles.role("dfspa").consent_requests.otp(again)
    assert shown is not None and shown["state"] != "GRANTED"
