"""The linking transition tables (consent requests, consents) and the callbackUri policy."""

from __future__ import annotations

import pytest

from tpsim.core.errors import StateRefused
from tpsim.mojaloop.errors import ConsentNotValid, FspiopError, InvalidAuthToken
from tpsim.mojaloop.roles import consent_requests as cr
from tpsim.mojaloop.roles import consent_state as links
from tpsim.mojaloop.roles.callback_uri import callback_uri_problem, with_query

# --- consent requests -------------------------------------------------------------------------


def request(state: cr.CrState) -> cr.ConsentRequest:
    req = cr.ConsentRequest("6988c34f-055b-4ed5-b223-b10c8a2e2329", "pispa", {}, [])
    req.state = state
    return req


@pytest.mark.parametrize(
    ("path", "final"),
    [
        ([cr.CrEvent.WEB, cr.CrEvent.APPROVED, cr.CrEvent.ACCEPTED], cr.CrState.GRANTED),
        ([cr.CrEvent.OTP, cr.CrEvent.REFUSED, cr.CrEvent.ACCEPTED], cr.CrState.GRANTED),
        ([cr.CrEvent.WEB, cr.CrEvent.DENIED], cr.CrState.DENIED),
        ([cr.CrEvent.OTP, cr.CrEvent.EXPIRED], cr.CrState.FAILED),
        ([cr.CrEvent.WEB, cr.CrEvent.REFUSED, cr.CrEvent.LOCKED], cr.CrState.FAILED),
        ([cr.CrEvent.INVALID], cr.CrState.REJECTED),
    ],
)
def test_consent_request_paths(path: list[cr.CrEvent], final: cr.CrState) -> None:
    req = request(cr.CrState.RECEIVED)
    for event in path:
        req.advance(event)
    assert req.state is final


@pytest.mark.parametrize("state", sorted(cr.TERMINAL))
@pytest.mark.parametrize("event", list(cr.CrEvent))
def test_closed_requests_are_final(state: cr.CrState, event: cr.CrEvent) -> None:
    req = request(state)
    with pytest.raises(StateRefused, match=f"already {state.value}"):
        req.advance(event)
    req.ended = InvalidAuthToken("the OTP expired")
    with pytest.raises(InvalidAuthToken, match="expired") as raised:
        req.advance(event)
    assert raised.value is not req.ended  # a fresh copy each time
    assert req.state is state


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (s, e)
        for s in cr.CrState
        for e in cr.CrEvent
        if s not in cr.TERMINAL and (s, e) not in cr.TRANSITIONS
    ],
)
def test_unexpected_request_events_are_refused(state: cr.CrState, event: cr.CrEvent) -> None:
    req = request(state)
    with pytest.raises(StateRefused, match="is not expected now"):
        req.advance(event)
    assert req.state is state


def test_only_the_login_page_approves_or_denies() -> None:
    sources = {s for (s, e) in cr.TRANSITIONS if e in (cr.CrEvent.APPROVED, cr.CrEvent.DENIED)}
    assert sources == {cr.CrState.AUTHENTICATING}


# --- consents ----------------------------------------------------------------------------------


def link(state: links.LinkState) -> links.Consent:
    consent = links.Consent("be433b9e-9473-4b7d-bdd5-ac5b42463afb", "pispa", [])
    consent.state = state
    return consent


def test_consent_is_linked_in_order() -> None:
    consent = link(links.LinkState.ISSUED)
    for event in (links.LinkEvent.CREDENTIAL, links.LinkEvent.VERIFIED):
        consent.advance(event)
    consent.advance(links.LinkEvent.LINKED)
    assert consent.state is links.LinkState.ACTIVE


@pytest.mark.parametrize("state", [links.LinkState.ISSUED, links.LinkState.ACTIVE])
def test_revocable_states(state: links.LinkState) -> None:
    consent = link(state)
    consent.advance(links.LinkEvent.REVOKED)
    assert consent.state is links.LinkState.REVOKED


@pytest.mark.parametrize("state", [links.LinkState.REGISTERING, links.LinkState.LINKING])
def test_no_revocation_while_the_credential_is_being_registered(
    state: links.LinkState,
) -> None:
    # The auth-service's answer is on its way; revoking now would leave its record ISSUED.
    with pytest.raises(StateRefused, match="is not expected now"):
        link(state).advance(links.LinkEvent.REVOKED)


@pytest.mark.parametrize("state", sorted(links.TERMINAL))
@pytest.mark.parametrize("event", list(links.LinkEvent))
def test_ended_consents_are_final(state: links.LinkState, event: links.LinkEvent) -> None:
    consent = link(state)
    consent.ended = ConsentNotValid("consent was revoked")
    with pytest.raises(FspiopError, match="revoked"):
        consent.advance(event)
    assert consent.state is state


# --- callbackUri policy (linking patterns §5.2) -----------------------------------------------

# fmt: off
# (uri, allowlist, trusted?)
CALLBACKS = [
    ("https://pisp.example/callback", [], True),
    ("pisp-app://callback?x=1", [], True),
    ("http://localhost:5000/cb", [], True),
    ("http://127.0.0.1:5000/cb", [], True),
    ("http://[::1]:5000/cb", [], True),
    ("http://app.localhost/cb", [], True),
    ("http://phishing.com", [], False),
    ("javascript:alert(1)", [], False),
    ("data:text/html,hi", [], False),
    ("/relative/callback", [], False),
    ("https://pisp.example/cb\r\nSet-Cookie: x", [], False),
    ("http://[::1", [], False),
    ("https://pisp.example/cb/done", ["https://pisp.example/cb"], True),
    ("https://PISP.example/cb", ["https://pisp.example/"], True),  # hosts ignore case
    ("https://pisp.example/CB", ["https://pisp.example/cb"], False),  # paths do not
    ("https://pisp.example/other", ["https://pisp.example/cb"], False),
    ("https://pisp.example.evil/cb", ["https://pisp.example"], False),
    ("http://pisp.example/cb", ["https://pisp.example"], False),
    ("http://phishing.com/cb", ["http://phishing.com"], True),  # the allowlist decides
]
# fmt: on


@pytest.mark.parametrize(("uri", "allowlist", "trusted"), CALLBACKS)
def test_callback_uri_policy(uri: str, allowlist: list[str], trusted: bool) -> None:
    assert (callback_uri_problem(uri, allowlist) is None) == trusted


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://pisp.example/cb", "https://pisp.example/cb?secret=a%2Bb"),
        ("https://pisp.example/cb?state=1", "https://pisp.example/cb?state=1&secret=a%2Bb"),
        ("pisp-app://callback", "pisp-app://callback?secret=a%2Bb"),
        ("https://pisp.example/cb#frag", "https://pisp.example/cb?secret=a%2Bb#frag"),
    ],
)
def test_redirect_keeps_the_callback_query(uri: str, expected: str) -> None:
    assert with_query(uri, {"secret": "a+b"}) == expected
