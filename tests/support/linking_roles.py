"""Account linking without sockets, for the role unit tests: the PISP's steps of
``tests/support/linking.py`` as messages handed straight to the simulated roles
(``tests/support/roles.py``), and relayed between them as the switch would.

    roles = Roles.build()
    [answer] = exchange(roles, "POST", CONSENT_REQUESTS, request_body(REQUEST_ID)).messages
    grant = grant_consent(roles, REQUEST_ID)             POST /consents, sent to the PISP
    [patch] = register(roles, grant, authenticator)      PATCH /consents/{ID} VERIFIED

A refusal comes back as the ``PUT …/error`` the switch sends for it, so every test asserts on
messages; ``relay`` carries messages between simulated participants (DFSP, auth-service, the
hub's ALS) and returns the ones that leave tpsim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.dfsp import registration_credential
from tests.support.linking import (
    CAROL,
    CAROL_CHEQUING,
    CONSENT_REQUESTS,
    CONSENTS,
    PASSWORD,
    consent_request,
    diagnostic,
)
from tests.support.roles import Roles
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.errors import TpsimError
from tpsim.mojaloop.errors import coded
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.roles.common import error_callback

DFSP, PISP = "dfspa", "pispa"
CALLBACK = "https://pisp.example/callback"


def request_body(
    request_id: str, user: str = CAROL, addresses: Sequence[str] = (CAROL_CHEQUING,), **options: Any
) -> dict[str, Any]:
    """``POST /consentRequests`` as ``tests.support.linking`` builds it, calling back
    ``CALLBACK`` unless ``callback`` says otherwise."""
    options.setdefault("callback", CALLBACK)
    # consent_request reads the scheme only for its default callbackUri.
    return consent_request(None, request_id, user, list(addresses), **options)  # type: ignore[arg-type]


def exchange(
    roles: Roles,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    to: str = DFSP,
    source: str = PISP,
) -> Effects:
    """What ``to`` does with ``method path`` from ``source`` (see ``deliver``)."""
    return deliver(roles, roles.message(method, path, body, source=source, destination=to))


def deliver(roles: Roles, message: Message) -> Effects:
    """Hand ``message`` to the role it is addressed to (the hub's services when none): its
    effects, or for a refusal the error callback the switch sends back in the role's name."""
    to = message.destination or roles.config.hub.name
    try:
        effects: Effects = roles.role(to).handle(message)
    except TpsimError as exc:
        profile, now = roles.config.behaviour.profile, roles.clock.now()
        callback = error_callback(message, coded(exc), sender=to, profile=profile, now=now)
        return Effects(messages=[callback] if callback else [])
    return effects


def relay(roles: Roles, messages: Sequence[Message]) -> list[Message]:
    """Deliver ``messages`` and what they cause, depth first as the router does; the
    messages addressed to participants tpsim does not simulate, in order."""
    left: list[Message] = []
    for message in messages:
        to = message.destination or roles.config.hub.name
        if simulated(roles, to):
            left.extend(relay(roles, deliver(roles, message).messages))
        else:
            left.append(message)
    return left


def simulated(roles: Roles, fsp_id: str) -> bool:
    if fsp_id == roles.config.hub.name:
        return True
    return any(p.fsp_id == fsp_id and p.endpoint is None for p in roles.config.participants)


def error_code(message: Message) -> str:
    """The ``errorCode`` of an error callback."""
    assert message.path.endswith("/error"), (message.method, message.path, message.body)
    return str((message.body or {})["errorInformation"]["errorCode"])


def error_text(message: Message) -> str:
    """tpsim's diagnostic in an error callback (``tests.support.linking.diagnostic``)."""
    return diagnostic(message.body)


# --- the user's side: the OTP "by SMS", the login page ---------------------------------------


def otp_of(roles: Roles, request_id: str) -> str:
    """The OTP the DFSP sent its user (what ``GET /admin/otp/{ID}`` shows)."""
    return str(roles.role(DFSP).consent_requests.otp(request_id)["otp"])


def sign_in(
    roles: Roles, request_id: str, accounts: list[str] | None = None, *, password: str = PASSWORD
) -> tuple[str, Effects]:
    """Approve on the login page (every listed account unless ``accounts``): the redirect
    URL and the effects."""
    requests = roles.role(DFSP).consent_requests
    listed = [scope["address"] for scope, _ in requests.login_view(request_id).accounts]
    approved: tuple[str, Effects] = requests.approve(
        request_id, password, listed if accounts is None else accounts
    )
    return approved


def redirect_params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# --- linking -------------------------------------------------------------------------------


def grant_consent(
    roles: Roles,
    request_id: str,
    user: str = CAROL,
    addresses: Sequence[str] = (CAROL_CHEQUING,),
    *,
    channel: str = "OTP",
) -> Message:
    """Request a consent over ``channel`` and authenticate: ``POST /consents`` to the PISP."""
    body = request_body(request_id, user, addresses, channels=(channel,))
    [answer] = exchange(roles, "POST", CONSENT_REQUESTS, body).messages
    assert answer.path == f"{CONSENT_REQUESTS}/{request_id}", answer.body
    if channel == "WEB":
        token = redirect_params(sign_in(roles, request_id)[0])["secret"]
    else:
        token = otp_of(roles, request_id)
    patch = {"authToken": token}
    [grant] = exchange(roles, "PATCH", f"{CONSENT_REQUESTS}/{request_id}", patch).messages
    assert (grant.method, grant.path) == ("POST", CONSENTS), grant.body
    return grant


def credential_put(
    grant: Message, authenticator: SoftwareAuthenticator, **options: Any
) -> tuple[str, dict[str, Any]]:
    """The path and body of ``PUT /consents/{ID}`` with ``authenticator``'s credential over
    the scopes ``grant`` granted (``options``: ``fmt``, ``broken``)."""
    granted = grant.body or {}
    consent_id = granted["consentId"]
    signed = registration_credential(authenticator, consent_id, granted["scopes"], **options)
    return f"{CONSENTS}/{consent_id}", {"scopes": granted["scopes"], "credential": signed}


def register(
    roles: Roles, grant: Message, authenticator: SoftwareAuthenticator, **options: Any
) -> list[Message]:
    """``credential_put``, sent and relayed: what reaches the PISP."""
    path, body = credential_put(grant, authenticator, **options)
    return relay(roles, exchange(roles, "PUT", path, body).messages)


def link(
    roles: Roles,
    request_id: str,
    authenticator: SoftwareAuthenticator,
    addresses: Sequence[str] = (CAROL_CHEQUING,),
) -> str:
    """Link Carol's ``addresses`` with ``authenticator``; the consentId."""
    grant = grant_consent(roles, request_id, addresses=addresses)
    [patch] = register(roles, grant, authenticator)
    assert patch.method == "PATCH", patch.body
    return str((grant.body or {})["consentId"])
