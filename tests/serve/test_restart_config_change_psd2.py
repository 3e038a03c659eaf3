"""A restart with an edited config: a bank no longer simulated has its PSD2 records and its
pending account linkings ended, not left open for ever.

tpsim plays a bank's XS2A, UK Open Banking and STET interfaces only while it simulates the
bank: made external (``endpoint:`` set) or removed, its PSD2 endpoints are gone, and before
this its payments, consents and payment requests kept their last status for ever. Now the
restart ends each one not final through its dialect's table, in the dialect's words (XS2A
RJCT, UK Rejected, STET RJCT / MS03), with the reason, its money untouched; the admin API
still shows it, and a future-dated one never executes, even once the clock passes its
date. Its consent requests and consents not linked yet fail the same way, nothing sent in
the name of the DFSP tpsim no longer plays.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from tests.core.test_sqlite_store import crash_image
from tests.obie.support import World as UkWorld
from tests.obie.support import consent_body, scheduled_body
from tests.serve.test_durable_state import Tpsim
from tests.serve.test_restart_config_change import config_with, totals
from tests.stet.support import CLAIRE, LUCA, payment_request
from tests.stet.support import World as StetWorld
from tests.support.faulty_scheme import START
from tests.support.linking import CAROL_CHEQUING
from tests.support.linking import CAROL_SAVINGS as SAVINGS
from tests.support.linking_roles import (
    CONSENT_REQUESTS,
    credential_put,
    deliver,
    exchange,
    grant_consent,
    link,
    request_body,
)
from tests.support.roles import Roles
from tests.xs2a.support import RecordingSettlement
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.core.clock import ManualClock
from tpsim.serve.app import create_app
from tpsim.xs2a.api import ApiRequest

CAUSE = "tpsim restarted with dfspa no longer simulated (made external)"
ERIKA, CLAIRE_COURANT = "dfspa.erika.giro", "dfspa.claire.courant"
HEADERS = {
    "PSU-IP-Address": "192.168.8.78",
    "Content-Type": "application/json",
    "TPP-Decoupled-Preferred": "true",
    "PSU-ID": "erika",
}


async def made_external(before: Tpsim, *, days_down: int = 0, killed: bool = False) -> Tpsim:
    """``before`` stopped (``killed``: as it stood, what it was sending lost), down
    ``days_down`` days, and started again on its file with dfspa played outside tpsim."""
    before.file.flush()
    path = crash_image(before.path) if killed else before.path
    await before.sim.close()
    before.clock.advance(days_down * 86_400)
    after = Tpsim(path, before.clock, config_with(external=["dfspa"]))
    await after.restarted()
    return after


async def admin_view(tpsim: Tpsim, intent_id: str, *, status: int = 200) -> dict[str, Any]:
    """What ``GET /admin/psd2/intents/{id}`` answers (with ``status``), over HTTP."""
    server = TestServer(create_app(tpsim.sim), host="127.0.0.1")
    await server.start_server()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(str(server.make_url(f"/admin/psd2/intents/{intent_id}"))) as answer,
        ):
            assert answer.status == status, await answer.text()
            return dict(await answer.json())
    finally:
        await server.close()


def of_dfspa(kind: str) -> bool:
    """Whether the state's record ``kind`` holds dfspa's PSD2 records (a dialect's:
    ``{dialect}…:dfspa``, or its OAuth server's)."""
    return kind.partition("#")[0].endswith(":dfspa") or kind.startswith("oauth:urn:tpsim:dfspa/")


def uk_world(before: Tpsim) -> UkWorld:
    """dfspa's UK bank of ``before``, driven socket-free as ``tests/obie`` drives one."""
    api = before.sim.psd2.obie["dfspa"]
    oauth = before.sim.psd2.oauth["dfspa"]
    return UkWorld(before.clock, before.sim.state.bank, RecordingSettlement(), api.bank, oauth, api)


def stet_world(before: Tpsim) -> StetWorld:
    """dfspa's STET bank of ``before``, driven socket-free as ``tests/stet`` drives one."""
    api = before.sim.psd2.stet["dfspa"]
    oauth = before.sim.psd2.oauth["dfspa"]
    return StetWorld(
        before.clock, before.sim.state.bank, RecordingSettlement(), api.bank, oauth, api
    )


def xs2a_payment(tpsim: Tpsim, request_id: str, **fields: Any) -> tuple[str, str]:
    """Erika (dfspa) pays 25 EUR to Luca (dfspa, unless ``fields`` say otherwise) by XS2A:
    its paymentId and the authorisation started with it."""
    body = {
        "instructedAmount": {"currency": "EUR", "amount": "25"},
        "debtorAccount": {"iban": "DE89370400440532013000"},
        "creditorName": "Luca Rossi",
        "creditorAccount": {"iban": "DE75512108001245126199"},
        **fields,
    }
    api = tpsim.sim.psd2.xs2a["dfspa"]
    headers = {**HEADERS, "X-Request-ID": request_id}
    path = ("payments", "sepa-credit-transfers")
    created = api.handle(ApiRequest("POST", path, headers, json.dumps(body).encode(), "http://x"))
    assert created.status == 201 and created.authorisation_id is not None
    return str(created.payment_id), created.authorisation_id


async def test_xs2a_payments_of_a_bank_made_external_are_rjct_and_a_dated_one_never_executes(
    tmp_path: Path,
) -> None:
    before = Tpsim(tmp_path / "state.db", ManualClock(START), config_with())
    money = totals(before)
    due = (START + timedelta(days=3)).date().isoformat()
    dated, authorisation = xs2a_payment(
        before, "99391c7e-ad88-49ec-a2ad-99ddcb1f7701", requestedExecutionDate=due
    )
    before.sim.psd2.xs2a["dfspa"].auths.approve(authorisation, None, None)  # ACTC, waiting
    unsigned, _ = xs2a_payment(before, "99391c7e-ad88-49ec-a2ad-99ddcb1f7702")  # SCA open
    erika = before.available(ERIKA)

    # Down past the payment's date: nothing may execute it at the restart, nor later.
    after = await made_external(before, days_down=4)
    try:
        for payment_id in (dated, unsigned):
            seen = await admin_view(after, payment_id)
            assert (seen["bank"], seen["transactionStatus"]) == ("dfspa", "RJCT")
            assert seen["reason"] == CAUSE
            assert [i["state"] for i in seen["intents"]] == ["REJECTED"]
        [sca] = (await admin_view(after, unsigned))["authorisations"]
        assert sca["scaStatus"] == "failed"
        after.clock.advance(3 * 86_400)
        await after.sim.router.drain()
        assert (await admin_view(after, dated))["transactionStatus"] == "RJCT"
        assert after.available(ERIKA) == erika == 5000
        assert after.sim.state.bank.ledger.reservations() == []
        assert totals(after) == money
    finally:
        await after.sim.close()


async def test_an_xs2a_payment_settling_when_its_bank_was_made_external_fails_its_debit_back(
    tmp_path: Path,
) -> None:
    before = Tpsim(tmp_path / "state.db", ManualClock(START), config_with())
    money = totals(before)
    paying, authorisation = xs2a_payment(
        before,
        "99391c7e-ad88-49ec-a2ad-99ddcb1f7703",
        creditorName="Max Mustermann",
        creditorAccount={"iban": "DE02120300000000202051"},
    )
    before.sim.psd2.xs2a["dfspa"].auths.approve(authorisation, None, None)  # its quote unsent
    assert before.available(ERIKA) == 5000 - 25

    after = await made_external(before, killed=True)
    try:
        seen = await admin_view(after, paying)
        assert seen["transactionStatus"] == "RJCT"
        assert seen["reason"] == f"settlement failed: {CAUSE} while the settlement was under way"
        assert after.available(ERIKA) == 5000
        assert totals(after) == money
    finally:
        await after.sim.close()


async def test_uk_consents_of_a_bank_made_external_are_rejected_unused(tmp_path: Path) -> None:
    before = Tpsim(tmp_path / "state.db", ManualClock(START), config_with())
    money = totals(before)
    api = before.sim.psd2.obie["dfspa"]
    uk = uk_world(before)
    [tpp] = [t for t in before.sim.config.tpps if t.client_id == "tpp-one"]
    made = [
        uk.call(
            "POST", "domestic-payment-consents", consent_body("3.1"), version="3.1", token=token
        )
        for token in [uk.client_token(tpp)] * 2
    ]
    awaiting, authorised = (str(answer.consent_id) for answer in made)
    assert api.bank.decide(authorised, True, "mits", None) == "Authorised"

    after = await made_external(before)
    try:
        for consent_id in (awaiting, authorised):
            seen = await admin_view(after, consent_id)
            assert (seen["bank"], seen["status"]) == ("dfspa", "Rejected")
        authorised_seen = await admin_view(after, authorised)
        assert [i["state"] for i in authorised_seen["intents"]] == ["REJECTED"]
        assert after.sim.state.bank.ledger.reservations() == []
        assert totals(after) == money
    finally:
        await after.sim.close()


async def test_the_ended_records_of_a_bank_made_external_are_dropped_after_their_retention(
    tmp_path: Path,
) -> None:
    # Before, its retired APIs were never swept: its records stayed in the state file for
    # good, and every restart built its dialects again to retire them once more.
    before = Tpsim(tmp_path / "state.db", ManualClock(START), config_with())
    uk, stet = uk_world(before), stet_world(before)
    [tpp] = [t for t in before.sim.config.tpps if t.client_id == "tpp-one"]
    token = uk.client_token(tpp)
    consent = uk.call(
        "POST", "domestic-payment-consents", consent_body("3.1"), version="3.1", token=token
    ).consent_id
    request = stet.create(payment_request("20", debtor=CLAIRE, creditor=LUCA))
    xs2a, _ = xs2a_payment(before, "99391c7e-ad88-49ec-a2ad-99ddcb1f7704")

    after = await made_external(before)
    try:
        kept = {kind.partition(":")[0] for kind in after.file.counts() if of_dfspa(kind)}
        assert {"xs2a", "obie", "stet", "oauth"} <= kept  # ended, kept for their retention
        after.clock.advance(86_400)  # past every retention (the TPP's token's expiry too)
        await after.sim.router.drain()
        for intent_id in (str(consent), request, xs2a):
            await admin_view(after, intent_id, status=404)
        assert [kind for kind in after.file.counts() if of_dfspa(kind)] == []
    finally:
        await after.sim.close()
    again = await made_external(after)  # nothing of dfspa left to retire, nor to build
    try:
        assert (again.sim.psd2.obie.retired, again.sim.psd2.stet.retired) == ({}, {})
        assert again.sim.psd2.xs2a.retired == {}
    finally:
        await again.sim.close()


async def test_stet_requests_of_a_bank_made_external_are_rjct_and_a_dated_one_never_executes(
    tmp_path: Path,
) -> None:
    before = Tpsim(tmp_path / "state.db", ManualClock(START), config_with())
    money = totals(before)
    api = before.sim.psd2.stet["dfspa"]
    stet = stet_world(before)
    when = (START + timedelta(days=3)).isoformat().replace("+00:00", "Z")
    dated = stet.create(payment_request("10", debtor=CLAIRE, creditor=LUCA, when=when))
    api.bank.decide(dated, True, "claire", None)
    assert api.bank.requests[dated].state.value == "ORDERED"  # ACCP: waiting for its date
    awaiting = stet.create(
        payment_request("20", debtor=CLAIRE, creditor=LUCA, e2e="Other", paymentInformationId="B")
    )
    claire = before.available(CLAIRE_COURANT)

    after = await made_external(before)
    try:
        for resource_id in (dated, awaiting):
            seen = await admin_view(after, resource_id)
            assert (seen["bank"], seen["paymentInformationStatus"]) == ("dfspa", "RJCT")
        [instruction] = (await admin_view(after, dated))["instructions"]
        assert instruction["transactionStatus"] == "RJCT"
        assert (await admin_view(after, awaiting))["reasonText"] == CAUSE
        after.clock.advance(4 * 86_400)
        await after.sim.router.drain()
        assert (await admin_view(after, dated))["paymentInformationStatus"] == "RJCT"
        assert after.available(CLAIRE_COURANT) == claire == 3000
        assert after.sim.state.bank.ledger.reservations() == []
        assert totals(after) == money
    finally:
        await after.sim.close()


async def test_pending_account_linkings_of_a_dfsp_made_external_fail_telling_nobody(
    tmp_path: Path,
) -> None:
    before = Tpsim(tmp_path / "state.db", ManualClock(START), config_with())
    roles = Roles(before.sim, before.clock)
    waiting = "7a1e0000-0000-4000-8000-0000000000a1"  # its OTP sent, not yet PATCHed
    [answer] = exchange(roles, "POST", CONSENT_REQUESTS, request_body(waiting)).messages
    assert answer.path == f"{CONSENT_REQUESTS}/{waiting}"
    issued = grant_consent(roles, "7a1e0000-0000-4000-8000-0000000000a2")  # no credential yet
    registering = grant_consent(roles, "7a1e0000-0000-4000-8000-0000000000a3")
    path, body = credential_put(registering, SoftwareAuthenticator.create())
    exchange(roles, "PUT", path, body)  # its POST to the auth-service lost at the stop

    after = await made_external(before)
    try:
        store = after.sim.state.bank.store
        requests = {r.request_id: r for r in store.records("dfspa/consent-requests")}
        assert requests[waiting].state.value == "FAILED"
        assert CAUSE in str(requests[waiting].ended)
        consents = {c.consent_id: c for c in store.records("dfspa/pending-consents")}
        for grant in (issued, registering):
            consent = consents[(grant.body or {})["consentId"]]
            assert consent.state.value == "FAILED"
            assert CAUSE in str(consent.ended)
        # Nothing is sent in dfspa's name: tpsim no longer plays it.
        assert not [m for m in after.pisp.received if m.source == "dfspa"]
    finally:
        await after.sim.close()


async def test_a_consent_linking_at_a_dfsp_made_external_is_undone_at_the_hub(
    tmp_path: Path,
) -> None:
    # Its credential verified, its link made at the ALS, the ALS's answer lost at the stop:
    # the consent fails at the restart, and what the DFSP would send to undo it is dropped.
    # Before, the hub's ALS kept the link and the auth-service the consent verified.
    before = Tpsim(tmp_path / "state.db", ManualClock(START), config_with())
    roles = Roles(before.sim, before.clock)
    active = link(roles, "7a1e0000-0000-4000-8000-0000000000b1", SoftwareAuthenticator.create())
    grant = grant_consent(roles, "7a1e0000-0000-4000-8000-0000000000b2", addresses=[SAVINGS])
    consent_id = str((grant.body or {})["consentId"])
    path, body = credential_put(grant, SoftwareAuthenticator.create())
    [message] = exchange(roles, "PUT", path, body).messages
    while message.path != f"/participants/THIRD_PARTY_LINK/{SAVINGS}":
        [message] = deliver(roles, message).messages  # the auth-service, the ALS, back
    deliver(roles, message)  # the ALS makes the link; its answer is lost
    oracle = before.sim.state.oracle
    assert oracle.get(("THIRD_PARTY_LINK", SAVINGS)) == "dfspa"

    after = await made_external(before)
    try:
        oracle, held = after.sim.state.oracle, after.sim.state.auth_consents
        assert oracle.get(("THIRD_PARTY_LINK", SAVINGS)) is None  # a lookup finds nothing
        assert held[consent_id].status == "REVOKED"  # its verifications refused
        assert ("CONSENT", consent_id) not in oracle
        # The linked consent is the DFSP's outside now: left as it is.
        assert oracle.get(("THIRD_PARTY_LINK", CAROL_CHEQUING)) == "dfspa"
        assert held[active].status == "ISSUED"
        assert ("CONSENT", active) in oracle
        assert not [m for m in after.pisp.received if m.source == "dfspa"]
    finally:
        await after.sim.close()


async def test_a_uk_scheduled_payment_of_a_bank_made_external_is_rejected_and_never_executes(
    tmp_path: Path,
) -> None:
    before = Tpsim(tmp_path / "state.db", ManualClock(START), config_with())
    money = totals(before)
    uk = uk_world(before)
    [tpp] = [t for t in before.sim.config.tpps if t.client_id == "tpp-one"]
    path = "domestic-scheduled-payment-consents"  # executing two days after START
    consent = uk.call("POST", path, scheduled_body(), token=uk.client_token(tpp))
    assert consent.consent_id is not None
    token = uk.authorise(consent.consent_id, tpp=tpp)
    paid = uk.pay(consent, token, kind="domestic-scheduled")
    assert paid.status == 201 and paid.payment_id is not None  # waiting for its date

    after = await made_external(before, days_down=4)  # down past its date
    try:
        seen = await admin_view(after, consent.consent_id)
        assert [i["state"] for i in seen["intents"]] == ["REJECTED"]
        retired = after.sim.psd2.obie.retired["dfspa"].bank.orders
        payment = retired.records.get(paid.payment_id)
        assert payment is not None and payment.reason_text == CAUSE
        after.clock.advance(3 * 86_400)
        after.sim.psd2.tick()  # what falls due is ticked: nothing of a retired bank's
        assert after.sim.state.bank.ledger.reservations() == []
        assert totals(after) == money
    finally:
        await after.sim.close()
