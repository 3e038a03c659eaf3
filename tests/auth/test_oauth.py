"""The banks' OAuth 2.0 / OIDC authorisation server (auth/oauth.py), sans-IO: every rule of
the authorisation and token endpoints with its RFC code, the code flow with PKCE, the
hybrid flow's id_token, and what a resource server learns of a token."""

from __future__ import annotations

import base64
import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, KeySet

from tpsim.auth.oauth import (
    AuthorizationServer,
    OAuthClient,
    OAuthError,
    OAuthJourney,
    PendingClosed,
    TokenElsewhere,
    TokenExpired,
    TokenKind,
    TokenUnknown,
    intent_from_claims,
    intent_from_scope,
)
from tpsim.auth.oauth_jose import SigningKey
from tpsim.auth.oauth_pkce import challenge_of
from tpsim.auth.psu import PsuAccount, PsuView, UnknownJourney, WrongPassword
from tpsim.core.clock import ManualClock, SequentialIds
from tpsim.core.store import MemoryStore
from tpsim.errors import ConfigError, LoginRefused

# RFC 7636 Appendix B.
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
REDIRECT = "https://tpp.example/cb"
SECRET = "s3cret"
KEY = SigningKey()  # one bank key for the module: generating RSA keys is slow
CLIENT_KEY = ECKey.generate_key("P-256", parameters={"kid": "tpp-key-1"})
CLIENTS = (
    OAuthClient("tpp", SECRET, "Example TPP", (REDIRECT,)),
    OAuthClient("two", SECRET, "Two URIs", ("https://two.example/a", "https://two.example/b")),
    OAuthClient("public", None, "Public app", ("https://app.example/cb",)),
    OAuthClient(
        "signer",
        SECRET,
        "Signing TPP",
        ("https://signer.example/cb",),
        jwks={"keys": [CLIENT_KEY.as_dict(private=False)]},
    ),
    OAuthClient(
        "prefix",
        SECRET,
        "Path prefix",
        ("https://prefix.example/cb",),
        redirect_rule=lambda uri: uri.startswith("https://prefix.example/cb/"),
    ),
)


ISSUER = "https://bank.example/xs2a/dfspa"
PIS = "PIS:{paymentId}"  # XS2A's per-payment scope


def make_server(clock: ManualClock, **options: Any) -> AuthorizationServer:
    return AuthorizationServer(
        ISSUER,
        CLIENTS,
        MemoryStore(),
        clock,
        SequentialIds(),
        key=KEY,
        **{"scope_templates": (PIS,), **options},
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server(clock: ManualClock) -> AuthorizationServer:
    return make_server(clock)


def request(**changes: str | None) -> dict[str, str]:
    """A good authorisation request (code flow, PKCE S256) with ``changes`` (None drops)."""
    params: dict[str, str | None] = {
        "client_id": "tpp",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "payments",
        "state": "xyz",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **changes,
    }
    return {k: v for k, v in params.items() if v is not None}


def answer(url: str) -> dict[str, str]:
    """The parameters a redirect URL carries, from its query or its fragment."""
    parts = urlsplit(url)
    return dict(parse_qsl(parts.fragment or parts.query))


def basic(client_id: str, secret: str) -> str:
    """HTTP Basic as RFC 6749 2.3.1 wants it: each part form-urlencoded first."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def code_of(server: AuthorizationServer, **changes: str | None) -> str:
    pending = server.authorize(request(**changes))
    return answer(server.grant(pending.id, "psu-1", accounts=["DE02"]))["code"]


def exchange(server: AuthorizationServer, code: str, **form: str) -> dict[str, Any]:
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    fields.update(form)
    return server.token(fields, basic("tpp", SECRET))


def unsigned(claims: dict[str, Any]) -> str:
    """A request object with alg none, as a client without keys may send."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        # joserfc takes no key for alg none.
        return jwt.encode({"alg": "none"}, claims, None, algorithms=["none"])  # type: ignore[arg-type]


def signed(claims: dict[str, Any], key: ECKey = CLIENT_KEY) -> str:
    """A request object signed as FAPI 1 Advanced wants: by its client (``iss``) for this
    bank's issuer (``aud``), unless ``claims`` say otherwise."""
    parties = {"iss": claims.get("client_id"), "aud": ISSUER}
    return jwt.encode({"alg": "ES256", "kid": key.kid}, parties | claims, key, algorithms=["ES256"])


def half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def b64json(value: object) -> str:
    """A JWS segment by hand, for malformed request objects no JOSE library would make."""
    raw = value.encode() if isinstance(value, str) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# -- the authorization endpoint ---------------------------------------------------------

# (changes to a good request, the RFC error code, whether it goes back to the client)
AUTHORIZE_ERRORS = [
    # Before the redirect URI is trusted: shown to the user (RFC 6749 4.1.2.1).
    ({"client_id": None}, "invalid_request", False),
    ({"client_id": "nobody"}, "invalid_request", False),
    ({"redirect_uri": "https://evil.example/cb"}, "invalid_request", False),
    ({"redirect_uri": "https://tpp.example/cb/more"}, "invalid_request", False),
    ({"redirect_uri": f"{REDIRECT}#x"}, "invalid_request", False),
    ({"client_id": "two", "redirect_uri": None}, "invalid_request", False),
    (
        {"client_id": "prefix", "redirect_uri": "https://prefix.example/other"},
        "invalid_request",
        False,
    ),
    (
        {"client_id": "prefix", "redirect_uri": "https://prefix.example/cb/a\r\nX-Injected: 1"},
        "invalid_request",
        False,
    ),
    # After: back to the client with the state.
    ({"response_type": None}, "invalid_request", True),
    ({"response_type": "token"}, "unsupported_response_type", True),
    ({"response_type": "code token"}, "unsupported_response_type", True),
    ({"response_mode": "form_post"}, "invalid_request", True),
    (
        {
            "response_type": "code id_token",
            "scope": "openid",
            "nonce": "n",
            "response_mode": "query",
        },
        "invalid_request",
        True,
    ),
    ({"response_type": "code id_token", "scope": "openid payments"}, "invalid_request", True),
    ({"response_type": "code id_token", "nonce": "n"}, "invalid_scope", True),
    # Only scopes the server supports (scopes_supported) or its dialect names (PIS:{id}).
    ({"scope": "PIS:pay-1 accounts anything"}, "invalid_scope", True),
    ({"scope": "payments PIS:"}, "invalid_scope", True),
    ({"scope": "pis:pay-1"}, "invalid_scope", True),
    ({"code_challenge": None}, "invalid_request", True),  # a method without a challenge
    ({"code_challenge_method": "S512"}, "invalid_request", True),
    ({"code_challenge": "too-short"}, "invalid_request", True),
    ({"request_uri": "https://tpp.example/ro/1"}, "request_uri_not_supported", True),
    ({"claims": "{not json"}, "invalid_request", True),
    ({"claims": "[1]"}, "invalid_request", True),
    ({"claims": "[" * 5000 + "]" * 5000}, "invalid_request", True),  # deeper than json parses
    ({"request": "not-a-jwt"}, "invalid_request_object", True),
    ({"request": f"{b64json(['alg'])}.{b64json({})}."}, "invalid_request_object", True),
    ({"request": f"{b64json({'alg': 'none'})}.{b64json([1])}."}, "invalid_request_object", True),
    (
        {"request": f"{b64json({'alg': 'none'})}.{b64json('[' * 3000 + ']' * 3000)}."},
        "invalid_request_object",
        True,
    ),
]


@pytest.mark.parametrize(("changes", "code", "redirected"), AUTHORIZE_ERRORS)
def test_authorization_requests_are_refused_with_their_rfc_code(
    server: AuthorizationServer, changes: dict[str, str | None], code: str, redirected: bool
) -> None:
    with pytest.raises(OAuthError) as caught:
        server.authorize(request(**changes))
    error = caught.value
    assert error.error == code and error.description
    if not redirected:
        assert error.redirect is None and error.status == 400
        return
    assert error.redirect is not None
    assert error.redirect.startswith(REDIRECT if "client_id" not in changes else "https://")
    carried = answer(error.redirect)
    assert carried == {"error": code, "error_description": error.description, "state": "xyz"}


def test_hybrid_errors_go_back_in_the_fragment(server: AuthorizationServer) -> None:
    with pytest.raises(OAuthError) as caught:
        server.authorize(request(response_type="code id_token", scope="openid"))  # no nonce
    redirect = caught.value.redirect or ""
    assert urlsplit(redirect).query == "" and answer(redirect)["error"] == "invalid_request"


def test_a_parameter_sent_twice_is_refused(server: AuthorizationServer) -> None:
    with pytest.raises(OAuthError) as twice:
        server.authorize(request(), repeated=["state"])
    assert twice.value.error == "invalid_request" and twice.value.redirect is not None
    with pytest.raises(OAuthError) as client_twice:
        server.authorize(request(), repeated=["client_id"])
    assert client_twice.value.redirect is None  # which client would be told?


def test_pkce_is_required_when_the_bank_says_so(clock: ManualClock) -> None:
    strict = make_server(clock, pkce_required=True)
    with pytest.raises(OAuthError) as caught:
        strict.authorize(request(code_challenge=None, code_challenge_method=None))
    assert caught.value.error == "invalid_request" and "PKCE" in caught.value.description
    assert strict.authorize(request()).params.code_challenge_method == "S256"


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"code_challenge": VERIFIER, "code_challenge_method": "plain"}, "'plain'"),
        ({"code_challenge": VERIFIER, "code_challenge_method": None}, "no code_challenge_method"),
    ],
)
def test_a_dialect_that_takes_s256_only_refuses_plain(
    server: AuthorizationServer, changes: dict[str, str | None], refused: str
) -> None:
    """XS2A's OAuth SCA approach uses S256 (PSD2 digest 8); elsewhere plain is still
    taken (RFC 7636 4.2), as the digest allows."""
    with pytest.raises(OAuthError) as caught:
        server.authorize(request(**changes), pkce_methods=("S256",))
    assert caught.value.error == "invalid_request"
    assert refused in caught.value.description
    assert "send code_challenge_method=S256 and" in caught.value.description
    assert answer(caught.value.redirect or "")["state"] == "xyz"
    assert server.authorize(request(**changes)).params.code_challenge_method == "plain"


def test_the_only_registered_redirect_uri_is_the_default(server: AuthorizationServer) -> None:
    pending = server.authorize(request(redirect_uri=None))
    assert pending.params.redirect_uri == REDIRECT and not pending.params.redirect_uri_given


def test_a_redirect_rule_admits_paths_under_the_registered_one(server: AuthorizationServer) -> None:
    uri = "https://prefix.example/cb/done?session=7"
    pending = server.authorize(request(client_id="prefix", redirect_uri=uri))
    url = server.grant(pending.id, "psu-1")
    assert url.startswith(uri + "&code=")  # the client's own query is kept (RFC 6749 3.1.2)
    assert answer(url)["session"] == "7" and answer(url)["state"] == "xyz"


def test_a_reader_that_finds_no_intent_refuses_the_request(server: AuthorizationServer) -> None:
    with pytest.raises(OAuthError) as caught:
        server.authorize(request(scope="payments"), intent=intent_from_scope)
    assert caught.value.error == "invalid_request" and caught.value.redirect is not None
    found = server.authorize(request(scope="PIS:pay-1"), intent=intent_from_scope)
    assert found.intent_id == "pay-1"


# -- request objects ----------------------------------------------------------------------


def test_an_unsigned_request_object_is_read_for_a_client_without_keys(
    server: AuthorizationServer,
) -> None:
    claims = {
        "client_id": "tpp",
        "scope": "openid payments",
        "state": "from-object",
        "nonce": "n-1",
        "response_type": "code id_token",
        "claims": {
            "id_token": {"openbanking_intent_id": {"value": "consent-9", "essential": True}}
        },
    }
    query = request(response_type="code id_token", request=unsigned(claims), state="ignored")
    pending = server.authorize(query, intent=intent_from_claims)
    assert pending.intent_id == "consent-9"
    assert (pending.params.state, pending.params.nonce) == ("from-object", "n-1")  # OIDC 6.3.3


def test_a_client_with_keys_must_sign_its_request_object(server: AuthorizationServer) -> None:
    query = {
        "client_id": "signer",
        "response_type": "code",
        "redirect_uri": "https://signer.example/cb",
        "state": "s",
    }
    good = signed({"client_id": "signer", "scope": "PIS:pay-7"})
    assert (
        server.authorize({**query, "request": good}, intent=intent_from_scope).intent_id == "pay-7"
    )
    other = ECKey.generate_key("P-256", parameters={"kid": "tpp-key-1"})
    refusals = [
        unsigned({"client_id": "signer"}),  # alg none
        signed({"client_id": "signer"}, other),  # another key with the same kid
        signed({"client_id": "tpp"}),  # another client's request
        signed({"client_id": "signer", "exp": 1}),  # long expired
        signed({"client_id": "signer", "response_type": "code id_token"}),
    ]
    for refused in refusals:
        with pytest.raises(OAuthError) as caught:
            server.authorize({**query, "request": refused})
        assert caught.value.error == "invalid_request_object", refused
        assert answer(caught.value.redirect or "")["state"] == "s"


@pytest.mark.parametrize(
    ("parties", "refused"),
    [
        ({"aud": "https://bank.example/xs2a/dfspb"}, "aud must be this bank's issuer"),
        ({"aud": "https://bank.example/obie/dfspa"}, "aud must be this bank's issuer"),
        ({"aud": ["https://bank.example/obie/dfspa"]}, "aud must be this bank's issuer"),
        ({"aud": None}, "aud must be this bank's issuer"),
        ({"iss": "tpp"}, "iss must be your client_id, signer"),
        ({"iss": None}, "iss must be your client_id, signer"),
    ],
)
def test_a_signed_request_object_names_its_client_and_this_issuer(
    server: AuthorizationServer, parties: dict[str, Any], refused: str
) -> None:
    """FAPI 1 Advanced 5.2.2: ``aud`` is (or contains) the issuer, ``iss`` the client; one
    made for another bank, another base of this one, or by another client is refused."""
    query = {"client_id": "signer", "response_type": "code", "state": "s"}
    claims = {"client_id": "signer", "scope": "payments"}
    with pytest.raises(OAuthError) as caught:
        server.authorize({**query, "request": signed(claims | parties)})
    assert caught.value.error == "invalid_request_object"
    assert refused in caught.value.description
    assert answer(caught.value.redirect or "")["state"] == "s"
    several = signed(claims | {"aud": ["https://other.example", ISSUER]})
    assert server.authorize({**query, "request": several}).params.scope == ("payments",)


def test_an_unsigned_request_object_that_names_another_issuer_is_refused(
    server: AuthorizationServer,
) -> None:
    """A client without keys may leave aud and iss out (the lenient default), but one it
    names must be right."""
    claims = {"client_id": "tpp", "scope": "payments", "iss": "tpp"}
    elsewhere = unsigned(claims | {"aud": "https://bank.example/xs2a/dfspb"})
    with pytest.raises(OAuthError) as caught:
        server.authorize(request(request=elsewhere))
    assert caught.value.error == "invalid_request_object"
    assert server.authorize(request(request=unsigned(claims | {"aud": ISSUER})))


def test_a_request_object_without_kid_is_tried_with_each_client_key(
    server: AuthorizationServer,
) -> None:
    claims = {"scope": "payments", "iss": "signer", "aud": ISSUER}
    token = jwt.encode({"alg": "ES256"}, claims, CLIENT_KEY, algorithms=["ES256"])
    query = {"client_id": "signer", "response_type": "code", "request": token}
    assert server.authorize(query).params.scope == ("payments",)


def test_unreadable_client_keys_are_a_config_error(clock: ManualClock) -> None:
    broken = OAuthClient("x", None, "X", (REDIRECT,), jwks={"keys": [{"kty": "RSA"}]})
    with pytest.raises(ConfigError, match="tpp x: jwks is not a JWK Set"):
        AuthorizationServer("i", [broken], MemoryStore(), clock, SequentialIds(), key=KEY)


def test_intent_readers() -> None:
    server = make_server(ManualClock())
    uk = request(claims=json.dumps({"userinfo": {"openbanking_intent_id": {"value": "c-2"}}}))
    assert intent_from_claims(server.authorize(uk).params) == "c-2"
    plain = request(openbanking_intent_id="c-3")
    assert intent_from_claims(server.authorize(plain).params) == "c-3"
    two = request(scope="PIS:a PIS:b")
    assert intent_from_scope(server.authorize(two).params) is None


# -- decisions ----------------------------------------------------------------------------


def test_a_pending_request_is_decided_once(server: AuthorizationServer) -> None:
    pending = server.authorize(request())
    refused = server.refuse(pending.id)
    assert refused.startswith(REDIRECT + "?")
    assert answer(refused) == {
        "error": "access_denied",
        "error_description": "the user denied the request",
        "state": "xyz",
    }
    with pytest.raises(PendingClosed) as decided:
        server.grant(pending.id, "psu-1")
    assert (decided.value.reason, decided.value.status) == ("decided", 409)
    with pytest.raises(PendingClosed) as unknown:
        server.refuse("no-such-id")
    assert (unknown.value.reason, unknown.value.status) == ("unknown", 404)


def test_a_pending_request_expires_and_is_then_forgotten(
    server: AuthorizationServer, clock: ManualClock
) -> None:
    pending = server.authorize(request())
    clock.advance(600)
    with pytest.raises(PendingClosed) as expired:
        server.grant(pending.id, "psu-1")
    assert expired.value.reason == "expired"
    clock.advance(301)  # past the retention
    server.authorize(request())  # keeping a record drops what is due
    with pytest.raises(PendingClosed) as gone:
        server.pending(pending.id)
    assert gone.value.reason == "unknown"


# -- the code flow ------------------------------------------------------------------------


def test_code_flow_with_pkce_s256(server: AuthorizationServer) -> None:
    assert challenge_of(VERIFIER) == CHALLENGE  # RFC 7636 Appendix B
    pending = server.authorize(request(scope="PIS:pay-1"), intent=intent_from_scope)
    redirect = server.grant(pending.id, "psu-1", accounts=["DE02"])
    assert redirect.startswith(REDIRECT + "?code=") and answer(redirect)["state"] == "xyz"
    tokens = exchange(server, answer(redirect)["code"], code_verifier=VERIFIER)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["scope"] == "PIS:pay-1" and "refresh_token" in tokens
    assert "id_token" not in tokens  # no openid scope
    token = server.access(tokens["access_token"])
    assert (token.client_id, token.kind, token.psu_id) == ("tpp", TokenKind.PSU, "psu-1")
    assert (token.intent_id, token.accounts, token.scope) == ("pay-1", ("DE02",), "PIS:pay-1")


@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        ({}, "send code_verifier"),
        ({"code_verifier": "x" * 43}, "does not match"),
        ({"code_verifier": "short"}, "43 to 128"),
    ],
)
def test_a_wrong_verifier_is_an_invalid_grant(
    server: AuthorizationServer, form: dict[str, str], fragment: str
) -> None:
    with pytest.raises(OAuthError) as caught:
        exchange(server, code_of(server), **form)
    assert caught.value.error == "invalid_grant" and fragment in caught.value.description


def test_plain_pkce_and_a_verifier_for_a_code_without_pkce(server: AuthorizationServer) -> None:
    plain = "p" * 50
    code = code_of(server, code_challenge=plain, code_challenge_method=None)  # plain by default
    assert exchange(server, code, code_verifier=plain)["access_token"]
    without = code_of(server, code_challenge=None, code_challenge_method=None)
    with pytest.raises(OAuthError, match="issued without PKCE"):
        exchange(server, without, code_verifier=VERIFIER)


@pytest.mark.parametrize("redirect_uri", [None, "https://tpp.example/cb/other"])
def test_the_redirect_uri_must_come_again_at_the_token_endpoint(
    server: AuthorizationServer, redirect_uri: str | None
) -> None:
    form = {"grant_type": "authorization_code", "code": code_of(server), "code_verifier": VERIFIER}
    if redirect_uri is not None:
        form["redirect_uri"] = redirect_uri
    with pytest.raises(OAuthError) as caught:
        server.token(form, basic("tpp", SECRET))
    assert caught.value.error == "invalid_grant" and "RFC 6749 4.1.3" in caught.value.description


def test_a_code_whose_request_named_no_redirect_uri_needs_none(server: AuthorizationServer) -> None:
    code = code_of(server, redirect_uri=None)
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER}
    assert server.token(form, basic("tpp", SECRET))["access_token"]


def test_a_reused_code_is_refused_and_revokes_its_tokens(server: AuthorizationServer) -> None:
    code = code_of(server)
    first = exchange(server, code, code_verifier=VERIFIER)
    with pytest.raises(OAuthError) as again:
        exchange(server, code, code_verifier=VERIFIER)
    assert again.value.error == "invalid_grant" and "revoked" in again.value.description
    with pytest.raises(TokenUnknown):
        server.access(first["access_token"])
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    with pytest.raises(OAuthError, match="invalid_grant"):
        server.token(refresh, basic("tpp", SECRET))


def test_an_expired_code_is_an_invalid_grant(
    server: AuthorizationServer, clock: ManualClock
) -> None:
    code = code_of(server)
    clock.advance(60)
    with pytest.raises(OAuthError) as caught:
        exchange(server, code, code_verifier=VERIFIER)
    assert caught.value.error == "invalid_grant" and "expired" in caught.value.description


def test_a_code_of_another_client_or_unknown_is_an_invalid_grant(
    server: AuthorizationServer,
) -> None:
    form = {"grant_type": "authorization_code", "code": code_of(server), "code_verifier": VERIFIER}
    with pytest.raises(OAuthError, match="another client"):
        server.token({**form, "redirect_uri": REDIRECT}, basic("two", SECRET))
    with pytest.raises(OAuthError, match="unknown"):
        server.token({**form, "code": "made-up"}, basic("tpp", SECRET))


# -- the hybrid flow's id_token -----------------------------------------------------------


def test_hybrid_flow_id_token_verifies_with_the_published_jwks(
    server: AuthorizationServer,
) -> None:
    claims = {"id_token": {"openbanking_intent_id": {"value": "consent-1", "essential": True}}}
    query = request(
        response_type="code id_token",
        scope="openid payments",
        nonce="n-0S6",
        request=unsigned({"claims": claims}),
    )
    pending = server.authorize(query, intent=intent_from_claims, issuer="https://tpsim/obie/b")
    redirect = server.grant(pending.id, "psu-1")
    parts = urlsplit(redirect)
    assert parts.query == "" and parts.fragment  # the hybrid default is the fragment
    carried = answer(redirect)
    keys = KeySet.import_key_set(server.jwks())  # type: ignore[arg-type]
    assert all("d" not in key for key in server.jwks()["keys"])  # no private part
    token = jwt.decode(carried["id_token"], keys, algorithms=["PS256"])
    assert token.header["kid"] == server.key.kid
    assert token.claims["iss"] == "https://tpsim/obie/b"
    assert (token.claims["sub"], token.claims["aud"]) == ("psu-1", "tpp")
    assert (token.claims["nonce"], token.claims["openbanking_intent_id"]) == ("n-0S6", "consent-1")
    assert token.claims["acr"] == "urn:openbanking:psd2:sca"
    assert token.claims["c_hash"] == half_hash(carried["code"])
    assert token.claims["s_hash"] == half_hash("xyz")
    tokens = exchange(server, carried["code"], code_verifier=VERIFIER)
    at_token = jwt.decode(tokens["id_token"], keys, algorithms=["PS256"]).claims
    assert (at_token["nonce"], at_token["sub"], at_token["iss"]) == (
        "n-0S6",
        "psu-1",
        "https://tpsim/obie/b",
    )


# -- client authentication ----------------------------------------------------------------

CC = {"grant_type": "client_credentials"}
# (form, Authorization header) → a refusal: invalid_client, 401, a Basic challenge
CLIENT_AUTH_REFUSALS = [
    ({**CC, "client_id": "tpp", "client_secret": SECRET}, basic("tpp", SECRET)),  # both
    (CC, None),  # neither
    ({**CC, "client_id": "tpp"}, None),  # the id without the secret
    ({**CC, "client_id": "tpp", "client_secret": "wrong"}, None),
    (CC, basic("tpp", "wrong")),
    (CC, basic("nobody", SECRET)),
    ({**CC, "client_id": "two"}, basic("tpp", SECRET)),  # the form names another client
    (CC, "Basic !!!not-base64"),
    (CC, "Basic \u00e9t\u00e9"),  # not ASCII (an HTTP header is read as Latin-1)
    (CC, "Basic " + base64.b64encode(b"no-colon").decode()),
    (CC, "Bearer abc"),
    ({**CC, "client_id": "public", "client_secret": "x"}, None),  # a public client has none
]


@pytest.mark.parametrize(("form", "authorization"), CLIENT_AUTH_REFUSALS)
def test_client_authentication_refusals(
    server: AuthorizationServer, form: dict[str, str], authorization: str | None
) -> None:
    with pytest.raises(OAuthError) as caught:
        server.token(form, authorization)
    error = caught.value
    assert (error.error, error.status) == ("invalid_client", 401)
    assert error.www_authenticate == 'Basic realm="https://bank.example/xs2a/dfspa"'


def test_client_secret_basic_and_post_both_authenticate(clock: ManualClock) -> None:
    odd = OAuthClient("id:1", "a:b c%&", "Odd", (REDIRECT,))
    server = AuthorizationServer("i", [odd], MemoryStore(), clock, SequentialIds(), key=KEY)
    by_basic = server.token(CC, basic("id:1", "a:b c%&"))  # RFC 6749 2.3.1 encoding
    by_post = server.token({**CC, "client_id": "id:1", "client_secret": "a:b c%&"}, None)
    assert server.access(by_basic["access_token"]).client_id == "id:1"
    assert server.access(by_post["access_token"]).client_id == "id:1"


# -- client credentials and grant types ---------------------------------------------------


def test_client_credentials(server: AuthorizationServer) -> None:
    default = server.token(CC, basic("tpp", SECRET))
    assert (default["scope"], "refresh_token" in default) == ("payments", False)
    token = server.access(default["access_token"])
    assert (token.kind, token.psu_id, token.intent_id) == (TokenKind.CLIENT, None, None)
    assert server.token({**CC, "scope": "accounts pisp"}, basic("tpp", SECRET))["scope"] == (
        "accounts pisp"
    )


@pytest.mark.parametrize(
    ("form", "authorization", "code"),
    [
        ({**CC, "scope": "openid"}, basic("tpp", SECRET), "invalid_scope"),
        ({**CC, "scope": "payments admin"}, basic("tpp", SECRET), "invalid_scope"),
        ({**CC, "client_id": "public"}, None, "unauthorized_client"),
        ({"client_id": "public"}, None, "invalid_request"),  # no grant_type
        ({"grant_type": "password", "client_id": "public"}, None, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, basic("tpp", SECRET), "invalid_request"),
        ({"grant_type": "refresh_token"}, basic("tpp", SECRET), "invalid_request"),
    ],
)
def test_token_request_refusals(
    server: AuthorizationServer, form: dict[str, str], authorization: str | None, code: str
) -> None:
    with pytest.raises(OAuthError) as caught:
        server.token(form, authorization)
    assert (caught.value.error, caught.value.status) == (code, 400)


def test_refresh_tokens_rotate(server: AuthorizationServer, clock: ManualClock) -> None:
    first = exchange(server, code_of(server, scope="payments accounts"), code_verifier=VERIFIER)
    auth = basic("tpp", SECRET)
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    narrower = server.token({**refresh, "scope": "accounts"}, auth)
    assert narrower["scope"] == "accounts" and narrower["refresh_token"] != first["refresh_token"]
    assert server.access(narrower["access_token"]).psu_id == "psu-1"
    assert server.access(first["access_token"]).kind is TokenKind.PSU  # still valid
    with pytest.raises(OAuthError, match="used once"):
        server.token(refresh, auth)  # the old one is gone
    again = {"grant_type": "refresh_token", "refresh_token": narrower["refresh_token"]}
    with pytest.raises(OAuthError) as wider:
        server.token({**again, "scope": "payments openid"}, auth)
    assert wider.value.error == "invalid_scope"
    with pytest.raises(OAuthError, match="another client"):
        server.token(again, basic("two", SECRET))
    assert server.token(again, auth)["scope"] == "payments accounts"  # the grant's scope


def test_an_expired_refresh_token_is_an_invalid_grant(
    server: AuthorizationServer, clock: ManualClock
) -> None:
    first = exchange(server, code_of(server), code_verifier=VERIFIER)
    clock.advance(86400)
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    with pytest.raises(OAuthError, match="expired"):
        server.token(refresh, basic("tpp", SECRET))


# -- what a resource server learns --------------------------------------------------------


def test_tokens_expire_then_are_forgotten(server: AuthorizationServer, clock: ManualClock) -> None:
    token = server.token(CC, basic("tpp", SECRET))["access_token"]
    with pytest.raises(TokenUnknown):
        server.access("made-up")
    clock.advance(3600)
    with pytest.raises(TokenExpired) as expired:
        server.access(token)
    assert expired.value.expired_at == clock.now()
    clock.advance(301)
    server.token(CC, basic("tpp", SECRET))  # keeping a record drops what is due
    with pytest.raises(TokenUnknown):
        server.access(token)


def test_an_access_token_is_taken_only_at_its_issuers_api(server: AuthorizationServer) -> None:
    """Each base the server is mounted under is its own issuer: a token from one base's
    token endpoint is refused by another's API, as with separate servers (RFC 9700 4.4)."""
    uk, xs2a = "https://bank.example/obie/dfspa", ISSUER
    client = server.token(CC, basic("tpp", SECRET), issuer=xs2a)["access_token"]
    assert server.access(client, issuer=xs2a).issuer == xs2a
    with pytest.raises(TokenElsewhere) as caught:
        server.access(client, issuer=uk)
    assert str(caught.value) == (
        f"the access token was issued by {xs2a}, not {uk}: get one from {uk}/token"
    )
    pending = server.authorize(request(), issuer=uk)
    code = answer(server.grant(pending.id, "psu-1"))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    form["code_verifier"] = VERIFIER
    psu = server.token(form, basic("tpp", SECRET), issuer=uk)["access_token"]
    assert server.access(psu, issuer=uk).kind is TokenKind.PSU
    with pytest.raises(TokenElsewhere):
        server.access(psu, issuer=xs2a)
    default = server.token(CC, basic("tpp", SECRET))["access_token"]  # no issuer named
    assert server.access(default, issuer=xs2a).issuer == server.issuer


def test_discovery_and_jwks(server: AuthorizationServer) -> None:
    doc = server.metadata("https://tpsim.example/xs2a/dfspa")
    assert doc["issuer"] == "https://tpsim.example/xs2a/dfspa"
    assert doc["token_endpoint"] == "https://tpsim.example/xs2a/dfspa/token"
    assert doc["jwks_uri"] == "https://tpsim.example/xs2a/dfspa/jwks"
    assert doc["response_types_supported"] == ["code", "code id_token"]
    assert doc["code_challenge_methods_supported"] == ["S256", "plain"]
    assert doc["id_token_signing_alg_values_supported"] == ["PS256"]
    assert doc["request_object_signing_alg_values_supported"] == ["PS256", "RS256", "ES256", "none"]
    assert doc["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    (key,) = server.jwks()["keys"]
    assert (key["kty"], key["alg"], key["use"], key["kid"]) == ("RSA", "PS256", "sig", KEY.kid)


# -- the PSU journey ----------------------------------------------------------------------


CLIENT_OF_PAYMENTS = "tpp"  # the client that created the stand-in payments


@dataclass
class Approval:
    """A stand-in dialect: one payment ``pay-1``, password ``pw``, two tries."""

    decisions: list[tuple[str, ...]] = field(default_factory=list)
    tries: int = 2

    client: str = CLIENT_OF_PAYMENTS

    def client_of(self, intent_id: str) -> str | None:
        return self.client  # every payment here is the test client's

    def view(self, intent_id: str) -> PsuView:
        if intent_id != "pay-1":
            raise UnknownJourney("payment", f"no payment {intent_id}")
        account = PsuAccount("DE02", "Girokonto", "pays 12.00 EUR")
        return PsuView(
            "dfspa", "Example TPP", "asks to pay.", "psu-1", "Pat", (account,), "Pay from"
        )

    def approve(
        self, intent_id: str, user: str | None, password: str | None, accounts: Sequence[str]
    ) -> str:
        if password is not None and password != "pw":
            self.tries -= 1
            raise WrongPassword("wrong password", left=self.tries)
        self.decisions.append(("approve", intent_id, *accounts))
        return user or "psu-1"

    def deny(self, intent_id: str) -> None:
        self.decisions.append(("deny", intent_id))


def journey(server: AuthorizationServer, approval: Approval) -> OAuthJourney:
    pending = server.authorize(request(scope="PIS:pay-1"), intent=intent_from_scope)
    return OAuthJourney(server, pending.id, approval)


def test_the_journey_approves_through_the_dialect(server: AuthorizationServer) -> None:
    approval = Approval()
    flow = journey(server, approval)
    assert flow.view().closed is None
    url = flow.approve("psu-2", "pw", ["DE02"])
    assert "code" in answer(url) and approval.decisions == [("approve", "pay-1", "DE02")]
    assert (flow.view().closed or "").endswith("has already been decided")
    with pytest.raises(LoginRefused) as again:
        flow.deny()
    assert again.value.http_status == 409 and len(approval.decisions) == 1


def test_the_journey_denies_and_the_last_wrong_password_refuses(
    server: AuthorizationServer,
) -> None:
    approval = Approval()
    denied = journey(server, approval).deny()
    assert answer(denied)["error"] == "access_denied" and approval.decisions == [("deny", "pay-1")]
    locked = journey(server, approval)
    with pytest.raises(WrongPassword) as first:
        locked.approve(None, "nope", [])
    assert (first.value.left, first.value.redirect) == (1, None)
    with pytest.raises(WrongPassword) as last:
        locked.approve(None, "nope", [])
    assert answer(last.value.redirect or "")["error"] == "access_denied"


def test_an_unknown_journey(server: AuthorizationServer) -> None:
    with pytest.raises(UnknownJourney):
        OAuthJourney(server, "nope", Approval()).view()
