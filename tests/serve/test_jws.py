"""Who may speak as whom at the HTTP edge, and what tpsim signs (``FSPIOP-Signature``).

Issue 11, item 7: ``FSPIOP-Source`` was trusted as sent, so anyone could revoke pispa's
consent by sending as pispa, or speak as the switch. Now a participant configured with a
public key must sign every request but GETs (3105 otherwise, and nothing happens), nobody
outside may speak as a participant tpsim plays (3100), and what tpsim's simulated
participants and the switch send over HTTP is signed when they have a private key.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from multidict import CIMultiDict

from tests.support.flows import AUTHZ, approve, run_until_authorization, wait_outcome
from tests.support.pisp import Received, SentResponse, TestPisp
from tests.support.scheme import FIDO_CONSENT, Scheme, default_config_data
from tpsim.auth import keys
from tpsim.auth.jws_keys import JwsPrivateKey
from tpsim.config import parse_config
from tpsim.journal import Hop
from tpsim.mojaloop.wire import jws
from tpsim.mojaloop.wire.headers import format_http_date
from tpsim.scenario.builtin_pisp import BuiltinPisp

CONSENT = f"/consents/{FIDO_CONSENT}"
ACCOUNTS = "/accounts/carol"  # answered by dfspa itself (a revocation is central-auth's)


def new_key() -> JwsPrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


PISPA_KEY = new_key()
DFSPA_KEY = new_key()
HUB_KEY = new_key()
AUTH_KEY = new_key()
REQUEST_ID = "5a1d7f3e-8c2b-4e6a-9f10-3b4c5d6e7f80"
VERIFY = "/thirdpartyRequests/verifications"


def pem(key: JwsPrivateKey) -> str:
    return keys.private_key_pem(key)


def public_pem(key: JwsPrivateKey) -> str:
    return keys.public_key_pem(key.public_key())


def keyed(*, pispa: bool = True, dfspa: bool = False, hub: bool = False) -> dict[str, Any]:
    """Config overrides: pispa's public key, dfspa's and the switch's private keys."""
    participants = default_config_data()["participants"]
    for participant in participants:
        if participant["fsp_id"] == "pispa" and pispa:
            participant["jws_public_key_pem"] = public_pem(PISPA_KEY)
        if participant["fsp_id"] == "dfspa" and dfspa:
            participant["jws_private_key_pem"] = pem(DFSPA_KEY)
    overrides: dict[str, Any] = {"participants": participants}
    if hub:
        overrides["hub"] = {"name": "switch", "jws_private_key_pem": pem(HUB_KEY)}
    return overrides


@dataclass
class RawPisp(TestPisp):
    """A recording PISP that also keeps each callback's body exactly as it arrived."""

    raw: list[bytes] = field(default_factory=list)

    __test__ = False

    async def _on_request(self, request: web.Request) -> web.Response:
        self.raw.append(await request.read())
        return await super()._on_request(request)


Start = Callable[..., Awaitable[Scheme]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """Start schemes with a ``RawPisp`` as pispa; tpsim signs with its configured keys (the
    simulation wires the signer itself)."""
    started: list[Scheme] = []

    async def run(**overrides: Any) -> Scheme:
        scheme = await Scheme(overrides=overrides, pisp=RawPisp()).start()
        started.append(scheme)
        assert scheme.sim is not None
        return scheme

    yield run
    for scheme in started:
        await scheme.settle()
        try:
            scheme.validate_sent_bodies()
        finally:
            await scheme.close()


async def send_signed(
    pisp: TestPisp,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    key: JwsPrivateKey = PISPA_KEY,
    destination: str = "dfspa",
    tamper: Callable[[dict[str, str]], None] | None = None,
) -> SentResponse:
    """Send as ``pisp`` signed with ``key``; ``tamper`` may change the headers after."""
    data = None if body is None else json.dumps(body).encode()
    headers = {
        "FSPIOP-Source": pisp.fsp_id,
        "FSPIOP-Destination": destination,
        "Date": format_http_date(datetime.now(UTC)),
    }
    headers.update(jws.signature_headers(method, path, headers, data, key))
    if tamper is not None:
        tamper(headers)
    return await pisp.send(method, path, raw=data, destination=destination, headers={**headers})


def refusal(sent: SentResponse) -> tuple[int, str, str]:
    info = (sent.body or {})["errorInformation"]
    return sent.status, info["errorCode"], info["errorDescription"]


async def consent_status(scheme: Scheme) -> str:
    await scheme.settle()
    assert scheme.sim is not None
    return scheme.sim.state.consents[FIDO_CONSENT].status


# --- posing as a participant with a key ------------------------------------------------------


def _unsigned(headers: dict[str, str]) -> None:
    del headers["FSPIOP-Signature"]


def _other_key(headers: dict[str, str]) -> None:
    """Swap the signature for one by a key that is not pispa's."""
    forged = jws.signature_headers("DELETE", CONSENT, headers, None, new_key())
    headers["FSPIOP-Signature"] = forged["FSPIOP-Signature"]


# (case, how the request is changed after pispa's signature, text the refusal names)
SPOOFS: list[tuple[str, Callable[[dict[str, str]], None], str]] = [
    ("unsigned", _unsigned, "'pispa' must sign its requests"),
    ("signed by another key", _other_key, "does not verify"),
    ("signature garbled", lambda h: h.update({"FSPIOP-Signature": "{}"}), "no signature"),
]


@pytest.mark.parametrize(("tamper", "text"), [pytest.param(*s[1:], id=s[0]) for s in SPOOFS])
async def test_posing_as_pispa_without_its_signature_revokes_nothing(
    start: Start, tamper: Callable[[dict[str, str]], None], text: str
) -> None:
    scheme = await start(**keyed())

    sent = await send_signed(scheme.pisp, "DELETE", CONSENT, tamper=tamper)

    status, code, description = refusal(sent)
    assert (status, code) == (400, "3105")
    assert text in description
    assert await consent_status(scheme) == "ISSUED"
    assert scheme.pisp.received == []  # no PATCH … REVOKED, no error callback either
    assert scheme.sim is not None
    entry = scheme.sim.journal.entries()[-1]
    assert (entry.hop, entry.status, entry.path) == (Hop.RECEIVED, 400, CONSENT)


async def test_a_second_fspiop_source_header_does_not_hide_the_first(start: Start) -> None:
    # Roles read the first FSPIOP-Source; the signature check must read the same one.
    scheme = await start(**keyed())
    headers = CIMultiDict(
        [
            ("Accept", "application/vnd.interoperability.thirdparty+json;version=1"),
            ("Date", format_http_date(datetime.now(UTC))),
            ("FSPIOP-Source", "pispa"),
            ("FSPIOP-Source", "pispb"),
            ("FSPIOP-Destination", "dfspa"),
        ]
    )

    async with (
        aiohttp.ClientSession() as session,
        session.delete(scheme.url + CONSENT, headers=headers) as response,
    ):
        body = await response.json()

    assert (response.status, body["errorInformation"]["errorCode"]) == (400, "3105")
    assert await consent_status(scheme) == "ISSUED"


async def test_pispa_revokes_its_consent_with_a_valid_signature(start: Start) -> None:
    scheme = await start(**keyed())

    sent = await send_signed(scheme.pisp, "DELETE", CONSENT)

    assert sent.status == 202, sent.body
    revoked = await scheme.pisp.wait_for("PATCH", CONSENT)
    assert (revoked.body or {})["status"] == "REVOKED"
    assert await consent_status(scheme) == "REVOKED"


async def test_a_signed_request_replayed_at_another_consent_is_refused(start: Start) -> None:
    scheme = await start(**keyed())
    other = "/consents/3f6c1a52-7b1e-4c8e-9a34-5d2b8f0e6a71"

    def replay(headers: dict[str, str]) -> None:
        headers["FSPIOP-URI"] = other  # the header agrees, the signed value does not

    sent = await scheme.pisp.send(
        "DELETE",
        other,
        destination="dfspa",
        headers=_signed_headers(scheme.pisp, "DELETE", CONSENT, replay),
    )

    status, code, description = refusal(sent)
    assert (status, code) == (400, "3105")
    assert "FSPIOP-URI" in description


def _signed_headers(
    pisp: TestPisp, method: str, path: str, tamper: Callable[[dict[str, str]], None]
) -> dict[str, str | None]:
    headers = {
        "FSPIOP-Source": pisp.fsp_id,
        "FSPIOP-Destination": "dfspa",
        "Date": format_http_date(datetime.now(UTC)),
    }
    headers.update(jws.signature_headers(method, path, headers, None, PISPA_KEY))
    tamper(headers)
    return {**headers}


async def test_a_get_is_not_signed_as_in_mojaloop(start: Start) -> None:
    # What this leaves open: anyone can read what a GET answers as pispa (the answer goes
    # to pispa's endpoint, not to the sender, but the owner check trusts FSPIOP-Source).
    scheme = await start(**keyed())

    sent = await scheme.pisp.send("GET", CONSENT, destination="dfspa")

    assert sent.status == 202, sent.body


async def test_a_participant_without_a_key_is_trusted_as_sent(start: Start) -> None:
    scheme = await start(**keyed(pispa=False))

    sent = await scheme.pisp.send("DELETE", CONSENT, destination="dfspa")

    assert sent.status == 202, sent.body
    await scheme.pisp.wait_for("PATCH", CONSENT)


# --- speaking as a participant tpsim plays ---------------------------------------------------


@pytest.mark.parametrize("source", ["switch", "dfspa", "central-auth"])
async def test_nobody_outside_speaks_as_the_switch_or_a_simulated_participant(
    start: Start, source: str
) -> None:
    scheme = await start()

    sent = await scheme.pisp.send(
        "DELETE", CONSENT, destination="dfspa", headers={"FSPIOP-Source": source}
    )

    status, code, description = refusal(sent)
    assert (status, code) == (400, "3100")
    assert f"FSPIOP-Source: {source!r} is played by tpsim itself" in description
    assert await consent_status(scheme) == "ISSUED"


async def test_posing_as_the_switch_cannot_abort_a_transfer(start: Start) -> None:
    scheme = await start()
    authorization = await run_until_authorization(scheme, REQUEST_ID)
    auth_id = (authorization.body or {})["authorizationRequestId"]
    error = {"errorInformation": {"errorCode": "2001", "errorDescription": "aborted"}}

    sent = await scheme.pisp.send(
        "PUT",
        f"{AUTHZ}/{auth_id}/error",
        error,
        destination="dfspa",
        headers={"FSPIOP-Source": "switch"},
    )

    assert refusal(sent)[:2] == (400, "3100")
    await approve(scheme, authorization)
    outcome = await wait_outcome(scheme.pisp, REQUEST_ID)
    assert (outcome.method, (outcome.body or {}).get("transactionState")) == ("PATCH", "COMPLETED")


async def test_posing_as_an_external_auth_service_cannot_verify_a_transfer(start: Start) -> None:
    auth = TestPisp(fsp_id="central-auth")
    participants = default_config_data()["participants"]
    for participant in participants:
        if participant["fsp_id"] == "central-auth":
            participant.pop("simulated")
            participant["endpoint"] = await auth.start()
            participant["jws_public_key_pem"] = public_pem(AUTH_KEY)
    try:
        scheme = await start(participants=participants)
        auth.tpsim_url = scheme.url
        authorization = await run_until_authorization(scheme, REQUEST_ID)
        await approve(scheme, authorization)
        asked = await auth.wait_for("POST", VERIFY)
        path = f"{VERIFY}/{(asked.body or {})['verificationRequestId']}"
        verified = {"authenticationResponse": "VERIFIED"}

        spoofed = await send_signed(auth, "PUT", path, verified, key=new_key())
        await scheme.settle()

        assert refusal(spoofed)[:2] == (400, "3105")
        assert [r for r in scheme.pisp.received if r.method == "PATCH"] == []
        sent = await send_signed(auth, "PUT", path, verified, key=AUTH_KEY)
        assert sent.status == 200, sent.body
        outcome = await wait_outcome(scheme.pisp, REQUEST_ID)
        assert outcome.method == "PATCH", outcome.body
    finally:
        await auth.close()


# --- what tpsim signs -------------------------------------------------------------------------


def verify_callback(scheme: Scheme, received: Received, key: JwsPrivateKey) -> None:
    """``received`` carries a valid signature by ``key`` over the bytes that arrived."""
    assert isinstance(scheme.pisp, RawPisp)
    body = scheme.pisp.raw[scheme.pisp.received.index(received)]
    value = received.headers["FSPIOP-Signature"]
    public = key.public_key()
    jws.verify(value, received.method, received.path, received.headers, body or None, public)


async def test_a_simulated_dfsp_with_a_private_key_signs_its_callbacks(start: Start) -> None:
    scheme = await start(**keyed(pispa=False, dfspa=True))

    await scheme.pisp.send("GET", ACCOUNTS, destination="dfspa")
    accounts = await scheme.pisp.wait_for("PUT", ACCOUNTS)

    assert accounts.headers["FSPIOP-URI"] == ACCOUNTS
    assert accounts.headers["FSPIOP-HTTP-Method"] == "PUT"
    verify_callback(scheme, accounts, DFSPA_KEY)


async def test_the_switch_with_a_private_key_signs_its_own_callbacks(start: Start) -> None:
    scheme = await start(**keyed(pispa=False, hub=True))
    path = "/parties/MSISDN/19995550000"

    await scheme.pisp.send("GET", path)
    error = await scheme.pisp.wait_for("PUT", f"{path}/error")

    assert error.headers["FSPIOP-Source"] == "switch"
    verify_callback(scheme, error, HUB_KEY)


async def test_without_a_private_key_tpsim_sends_no_signature(start: Start) -> None:
    scheme = await start(**keyed(pispa=False))

    await scheme.pisp.send("DELETE", CONSENT, destination="dfspa")
    revoked = await scheme.pisp.wait_for("PATCH", CONSENT)

    assert "FSPIOP-Signature" not in revoked.headers


# --- the scenario PISP signs, and checks tpsim's signatures -----------------------------------


@pytest.fixture
async def builtin(start: Start) -> AsyncIterator[tuple[Scheme, BuiltinPisp]]:
    """A scheme whose pispa is the scenario runner's built-in PISP, signing with pispa's key."""
    scheme = await start(**keyed(dfspa=True))
    assert scheme.sim is not None
    async with aiohttp.ClientSession() as session:
        pisp = await BuiltinPisp(session, jws_key=PISPA_KEY).start()
        data = scheme.sim.config.model_dump(mode="json")
        for participant in data["participants"]:
            if participant["fsp_id"] == "pispa":
                participant["endpoint"] = pisp.url
        scheme.sim.load(parse_config(data))
        pisp.tpsim_url = scheme.url
        yield scheme, pisp
        await scheme.settle()
        await pisp.close()


def sent_hops(scheme: Scheme) -> list[tuple[str, str, int | None]]:
    assert scheme.sim is not None
    entries = scheme.sim.journal.entries()
    return [(e.method, e.path, e.status) for e in entries if e.hop is Hop.SENT]


async def test_the_builtin_pisp_signs_and_accepts_tpsims_signed_callbacks(
    builtin: tuple[Scheme, BuiltinPisp],
) -> None:
    scheme, pisp = builtin
    assert scheme.sim is not None
    pisp.jws_trust = jws.Keyring.of(scheme.sim.config).public()

    answer = await pisp.send("DELETE", CONSENT, destination="dfspa")
    await scheme.settle()

    assert answer.status == 202, answer.body
    assert sent_hops(scheme) == [("PATCH", CONSENT, 200)]
    assert await consent_status(scheme) == "REVOKED"


async def test_the_builtin_pisp_refuses_a_callback_tpsim_did_not_sign(
    builtin: tuple[Scheme, BuiltinPisp],
) -> None:
    scheme, pisp = builtin
    assert scheme.sim is not None
    scheme.sim.http.signer = None  # tpsim does not sign, but the PISP expects dfspa to
    pisp.jws_trust = jws.Keyring(verifying={"dfspa": DFSPA_KEY.public_key()})

    await pisp.send("GET", ACCOUNTS, destination="dfspa")
    await scheme.settle()

    assert sent_hops(scheme) == [("PUT", ACCOUNTS, 400)]
