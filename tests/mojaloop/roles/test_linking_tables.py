"""The linking transition tables (consent requests, consents) and the callbackUri policy."""

from __future__ import annotations

import pytest

from tpsim.core.errors import StateRefused
from tpsim.mojaloop.errors import ConsentNotValid, FspiopError, InvalidAuthToken
from tpsim.mojaloop.roles import consent_requests as cr
from tpsim.mojaloop.roles import consent_state as links
from tpsim.mojaloop.roles.callback_uri import callback_uri_problem, with_query
from tpsim.mojaloop.roles.states import CONSENT_REQUEST_TERMINAL as CR_TERMINAL
from tpsim.mojaloop.roles.states import CONSENT_REQUEST_TRANSITIONS as CR_TRANSITIONS
from tpsim.mojaloop.roles.states import LINK_TERMINAL, CrEvent, CrState, LinkEvent, LinkState

# --- consent requests -------------------------------------------------------------------------


def request(state: CrState) -> cr.ConsentRequest:
    req = cr.ConsentRequest("6988c34f-055b-4ed5-b223-b10c8a2e2329", "pispa", {}, [])
    req.state = state
    return req


@pytest.mark.parametrize(
    ("path", "final"),
    [
        (
            [CrEvent.WEB, CrEvent.APPROVED, CrEvent.ACCEPTED],
            CrState.GRANTED,
        ),
        (
            [CrEvent.OTP, CrEvent.REFUSED, CrEvent.ACCEPTED],
            CrState.GRANTED,
        ),
        ([CrEvent.WEB, CrEvent.DENIED], CrState.DENIED),
        ([CrEvent.OTP, CrEvent.EXPIRED], CrState.FAILED),
        (
            [CrEvent.WEB, CrEvent.REFUSED, CrEvent.LOCKED],
            CrState.FAILED,
        ),
        ([CrEvent.INVALID], CrState.REJECTED),
    ],
)
def test_consent_request_paths(path: list[CrEvent], final: CrState) -> None:
    req = request(CrState.RECEIVED)
    for event in path:
        req.advance(event)
    assert req.state is final


@pytest.mark.parametrize("state", sorted(CR_TERMINAL))
@pytest.mark.parametrize("event", list(CrEvent))
def test_closed_requests_are_final(state: CrState, event: CrEvent) -> None:
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
        for s in CrState
        for e in CrEvent
        if s not in CR_TERMINAL and (s, e) not in CR_TRANSITIONS
    ],
)
def test_unexpected_request_events_are_refused(state: CrState, event: CrEvent) -> None:
    req = request(state)
    with pytest.raises(StateRefused, match="is not expected now"):
        req.advance(event)
    assert req.state is state


def test_only_the_login_page_approves_or_denies() -> None:
    sources = {s for (s, e) in CR_TRANSITIONS if e in (CrEvent.APPROVED, CrEvent.DENIED)}
    assert sources == {CrState.AUTHENTICATING}


# --- consents ----------------------------------------------------------------------------------


def link(state: LinkState) -> links.Consent:
    consent = links.Consent("be433b9e-9473-4b7d-bdd5-ac5b42463afb", "pispa", [])
    consent.state = state
    return consent


def test_consent_is_linked_in_order() -> None:
    consent = link(LinkState.ISSUED)
    for event in (LinkEvent.CREDENTIAL, LinkEvent.VERIFIED):
        consent.advance(event)
    consent.advance(LinkEvent.LINKED)
    assert consent.state is LinkState.ACTIVE


@pytest.mark.parametrize(
    "state", [LinkState.ISSUED, LinkState.REGISTERING, LinkState.LINKING, LinkState.ACTIVE]
)
def test_every_live_consent_may_be_revoked(state: LinkState) -> None:
    # Who may revoke it while its credential is verified is the role's to say (only the
    # auth-service: test_unlinking.py).
    consent = link(state)
    consent.advance(LinkEvent.REVOKED)
    assert consent.state is LinkState.REVOKED


@pytest.mark.parametrize("state", sorted(LINK_TERMINAL))
@pytest.mark.parametrize("event", list(LinkEvent))
def test_ended_consents_are_final(state: LinkState, event: LinkEvent) -> None:
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
