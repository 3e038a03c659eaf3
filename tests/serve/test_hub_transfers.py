"""The switch's transfer timeout, for a payee DFSP tpsim does not simulate
(``mojaloop.roles.hub_transfers``), without a socket.

Bob's bank, dfspb, is played by the test: it receives ``POST /quotes`` and ``POST
/transfers`` (a ``Recording`` answering 202) and answers through the FSPIOP edge when the
test says so. Alice pays Bob 10 USD from dfspa (simulated) with her GENERIC credential. As a
Mojaloop switch does, the hub holds the transfer until dfspb answers or it expires; then
both DFSPs are told 3303 "Transfer expired", and a fulfil coming later is refused with 3303.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.core.test_sqlite_store import crash_image
from tests.serve.test_durable_state import Tpsim, alice
from tests.support.faulty_scheme import START, FaultyScheme
from tests.support.flows import AUTHZ, TX, signed_payload
from tests.support.pisp import future_expiration
from tests.support.roles import executing
from tests.support.scheme import (
    BOB_MSISDN,
    FIDO_ACCOUNT,
    GENERIC_ACCOUNT,
    transaction_request,
    validate_sent_by_tpsim,
)
from tpsim.config import Config, load_config, parse_config
from tpsim.core.clock import ManualClock
from tpsim.core.settlement import SettlementOutcome, SettlementRequest, SettlementResult
from tpsim.journal import Hop
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.common import format_datetime, new_message
from tpsim.mojaloop.steps import Answered, Unreachable

REQUEST = "7a1e0000-0000-4000-8000-00000000b0b0"
QUOTE_LIFE_S = 60  # dfspb's quote, and so the transfer, expires this long after it is given


@asynccontextmanager
async def dfspb_played_by_the_test() -> AsyncIterator[FaultyScheme]:
    """The default scheme with dfspb external (see the module docstring); at the end, every
    body the switch and the simulated participants sent must keep the official OpenAPI
    (the hub's 3303 callbacks, the answers it tells again)."""
    scheme = FaultyScheme.start([], external=("dfspb",))
    try:
        yield scheme
        await scheme.settle()
        assert validate_sent_by_tpsim(scheme.sim) > 0
    finally:
        await scheme.close()


@pytest.fixture
async def scheme() -> AsyncIterator[FaultyScheme]:
    async with dfspb_played_by_the_test() as scheme:
        yield scheme


def to(scheme: FaultyScheme, fsp_id: str, method: str | None, path: str) -> list[Message]:
    """What the test's external participant ``fsp_id`` received: ``method`` (None: any) to
    a path starting with ``path``."""
    return [
        m
        for m in scheme.pisp.received
        if m.destination == fsp_id and method in (None, m.method) and m.path.startswith(path)
    ]


def code(message: Message) -> str:
    return str((message.body or {})["errorInformation"]["errorCode"])


def quote_of(*, amount: str, now: datetime) -> dict[str, Any]:
    """dfspb's ``PUT /quotes/{ID}``: ``amount`` USD, valid ``QUOTE_LIFE_S`` from ``now``."""
    return {
        "transferAmount": {"currency": "USD", "amount": amount},
        "expiration": format_datetime(now + timedelta(seconds=QUOTE_LIFE_S)),
        "ilpPacket": "AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3BiLm1zaXNkbi4xNjEzNTU1MTIxMg",
        "condition": "f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA",
    }


async def transfer_sent(scheme: FaultyScheme) -> tuple[Message, str]:
    """Alice's payment up to dfspa's ``POST /transfers`` to dfspb: that request, and the
    transaction's path at the PISP."""
    await authorized(scheme)
    [transfer] = to(scheme, "dfspb", "POST", "/transfers")
    return transfer, f"{TX}/{REQUEST}"


async def authorized(scheme: FaultyScheme) -> None:
    """Alice's payment up to her authorization, which dfspa verifies and then transfers."""
    life = future_expiration(300, now=scheme.clock.now())
    body = transaction_request(REQUEST, payer=GENERIC_ACCOUNT, amount="10", expiration=life)
    assert (await scheme.send("POST", TX, body)).status == 202
    [quote_request] = to(scheme, "dfspb", "POST", "/quotes")
    quote_id = (quote_request.body or {})["quoteId"]
    quote = quote_of(amount="10", now=scheme.clock.now())
    answer = await scheme.send("PUT", f"/quotes/{quote_id}", quote, to="dfspa", source="dfspb")
    assert answer.status == 200, answer
    [authorization] = to(scheme, "pispa", "POST", AUTHZ)
    auth = authorization.body or {}
    signed = signed_payload(scheme.keys, auth["challenge"], "GENERIC")
    accepted = {"responseType": "ACCEPTED", "signedPayload": signed}
    path = f"{AUTHZ}/{auth['authorizationRequestId']}"
    assert (await scheme.send("PUT", path, accepted)).status == 200


def balance(scheme: FaultyScheme) -> str:
    return format(scheme.sim.state.bank.ledger.available(GENERIC_ACCOUNT).normalize(), "f")


def fulfil(scheme: FaultyScheme) -> dict[str, Any]:
    """dfspb's ``PUT /transfers/{ID}``: committed, now."""
    return {
        "fulfilment": "WLctttbu2HvTsa1XWvUoGRcQozHsqeu9Ahl2JW9Bsu8",
        "completedTimestamp": format_datetime(scheme.clock.now()),
        "transferState": "COMMITTED",
    }


async def test_a_transfer_the_payee_never_answers_expires_at_the_switch(
    scheme: FaultyScheme,
) -> None:
    before = balance(scheme)
    transfer, transaction = await transfer_sent(scheme)
    transfer_id = (transfer.body or {})["transferId"]
    assert balance(scheme) != before  # Alice's 10 USD are held for the transfer

    await scheme.advance(QUOTE_LIFE_S - 1)
    assert not to(scheme, "dfspb", "PUT", f"/transfers/{transfer_id}/error")

    await scheme.advance(2)
    [to_payee] = to(scheme, "dfspb", "PUT", f"/transfers/{transfer_id}/error")
    assert (to_payee.source, code(to_payee)) == ("switch", "3303")
    told = [e for e in scheme.sim.journal.entries() if e.path == f"/transfers/{transfer_id}/error"]
    assert [(e.source, e.destination) for e in told] == [
        ("switch", "dfspa"),
        ("switch", "dfspb"),
    ]
    [failed] = to(scheme, "pispa", "PUT", f"{transaction}/error")
    assert code(failed) == "6003"  # the transfer failed downstream
    assert balance(scheme) == before  # the hold is given back


async def test_a_transfer_the_payee_could_not_be_sent_stays_held_until_it_expires(
    scheme: FaultyScheme,
) -> None:
    """Mojaloop's notification handler only logs a prepare it could not deliver: the
    transfer stays reserved, and the payee may still have taken it (a timeout), so the payer
    is not told 1001 at once (giving Alice's funds back while dfspb may commit would create
    money). The switch's timeout ends it, 3303 to both."""
    scheme.pisp.handler = lambda m: (
        Unreachable("timed out") if m.path == "/transfers" else Answered(202)
    )
    before = balance(scheme)
    transfer, transaction = await transfer_sent(scheme)
    transfer_id = (transfer.body or {})["transferId"]
    [sent] = [e for e in scheme.sim.journal.entries() if e.path == "/transfers"]
    assert sent.error == "timed out"
    assert not to(scheme, "pispa", "PUT", f"{transaction}/error")
    assert balance(scheme) != before  # still held

    await scheme.advance(QUOTE_LIFE_S + 1)

    told = [e for e in scheme.sim.journal.entries() if e.path == f"/transfers/{transfer_id}/error"]
    assert [(e.source, e.destination) for e in told] == [("switch", "dfspa"), ("switch", "dfspb")]
    [failed] = to(scheme, "pispa", "PUT", f"{transaction}/error")
    assert code(failed) == "6003"
    assert balance(scheme) == before


async def test_a_fulfil_after_the_expiration_is_refused_and_not_forwarded(
    scheme: FaultyScheme,
) -> None:
    before = balance(scheme)
    transfer, transaction = await transfer_sent(scheme)
    transfer_id = (transfer.body or {})["transferId"]
    await scheme.advance(QUOTE_LIFE_S + 1)
    pisp_told = len(to(scheme, "pispa", None, transaction))

    path = f"/transfers/{transfer_id}"
    answer = await scheme.send("PUT", path, fulfil(scheme), to="dfspa", source="dfspb")

    assert answer.status == 200  # taken, as every callback, then refused by callback
    refusals = to(scheme, "dfspb", "PUT", f"{path}/error")
    assert [(m.source, code(m)) for m in refusals] == [("switch", "3303")] * 2  # expiry, late
    assert "before dfspb answered" in refusals[-1].body["errorInformation"]["errorDescription"]
    [dropped] = [e for e in scheme.sim.journal.entries() if e.hop is Hop.DROPPED]
    assert (dropped.method, dropped.path, dropped.source) == ("PUT", path, "dfspb")
    assert len(to(scheme, "pispa", None, transaction)) == pisp_told  # nothing more told
    assert balance(scheme) == before


async def test_an_answer_in_time_is_forwarded_and_nothing_expires(scheme: FaultyScheme) -> None:
    before = balance(scheme)
    transfer, transaction = await transfer_sent(scheme)
    transfer_id = (transfer.body or {})["transferId"]
    path = f"/transfers/{transfer_id}"
    assert (
        await scheme.send("PUT", path, fulfil(scheme), to="dfspa", source="dfspb")
    ).status == 200
    [completed] = to(scheme, "pispa", "PATCH", transaction)
    assert (completed.body or {})["transactionRequestState"] == "ACCEPTED"

    await scheme.advance(QUOTE_LIFE_S * 2)
    assert not to(scheme, "dfspb", "PUT", f"{path}/error")
    assert not to(scheme, "pispa", "PUT", f"{transaction}/error")
    assert balance(scheme) != before  # paid


async def test_an_error_from_the_payee_in_time_ends_the_hold(scheme: FaultyScheme) -> None:
    transfer, transaction = await transfer_sent(scheme)
    transfer_id = (transfer.body or {})["transferId"]
    refusal = {"errorInformation": {"errorCode": "5105", "errorDescription": "Payee FSP rejected"}}
    path = f"/transfers/{transfer_id}/error"
    assert (await scheme.send("PUT", path, refusal, to="dfspa", source="dfspb")).status == 200
    assert to(scheme, "pispa", "PUT", f"{transaction}/error")

    await scheme.advance(QUOTE_LIFE_S * 2)
    assert not to(scheme, "dfspb", "PUT", path)  # the switch expires nothing


async def test_a_transfer_expired_before_it_reached_the_switch_is_refused(
    scheme: FaultyScheme,
) -> None:
    past = format_datetime(scheme.clock.now() - timedelta(seconds=1))
    body = {
        "transferId": "7a1e0000-0000-4000-8000-0000000000aa",
        "payeeFsp": "dfspb",
        "payerFsp": "dfspa",
        "amount": {"currency": "USD", "amount": "10"},
        "ilpPacket": "AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3BiLm1zaXNkbi4xNjEzNTU1MTIxMg",
        "condition": "f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA",
        "expiration": past,
    }
    message = new_message(
        "POST", "/transfers", source="dfspa", destination="dfspb", body=body, now=scheme.clock.now()
    )
    await scheme.sim.router.send(message)

    assert not to(scheme, "dfspb", "POST", "/transfers")
    [dropped] = [e for e in scheme.sim.journal.entries() if e.hop is Hop.DROPPED]
    assert "expired" in (dropped.error or "")
    [refusal] = [
        e
        for e in scheme.sim.journal.entries()
        if e.path == "/transfers/7a1e0000-0000-4000-8000-0000000000aa/error"
    ]
    assert (refusal.source, refusal.destination) == ("switch", "dfspa")
    assert refusal.body is not None and refusal.body["errorInformation"]["errorCode"] == "3303"


async def test_a_held_transfer_still_expires_after_a_restart(tmp_path: Path) -> None:
    """With ``--state`` the hub's hold is a record: the restarted tpsim sets its timer again."""
    config, clock = external_dfspb(), ManualClock(START)
    before = Tpsim(tmp_path / "state.db", clock, config)
    expiration = future_expiration(300, now=clock.now())
    await before.from_pisp("POST", TX, transaction_request(REQUEST, expiration=expiration))
    [asked] = [m for m in before.pisp.received if m.path == "/quotes"]
    path = f"/quotes/{(asked.body or {})['quoteId']}"
    await quoted(before, path, "100")
    await before.approve(before.last("POST", AUTHZ), alice())
    [transfer] = [m for m in before.pisp.received if (m.method, m.path) == ("POST", "/transfers")]
    after = await killed_and_started_again(before)
    try:
        await after.restarted()
        clock.advance(QUOTE_LIFE_S + 1)
        await after.sim.router.drain()
        path = f"/transfers/{(transfer.body or {})['transferId']}/error"
        told = [m for m in after.pisp.received if m.path == path]
        assert sorted((m.destination, code(m)) for m in told) == [("dfspb", "3303")]
        assert code(after.outcome(REQUEST)) == "6003"
    finally:
        await after.sim.close()


async def test_a_settlement_held_for_an_external_bank_ends_at_its_expiration_after_a_restart(
    tmp_path: Path,
) -> None:
    """A PSD2 payment to Bob's bank settles through the switch; the restart leaves it to
    the hub: failing it then could create money if dfspb committed the transfer."""
    config, clock = external_dfspb(), ManualClock(START)
    before = Tpsim(tmp_path / "state.db", clock, config)
    debited = await settling_to_dfspb(before)
    [transfer] = [m for m in before.pisp.received if m.path == "/transfers"]
    after = await killed_and_started_again(before)
    heard: list[SettlementResult] = []
    after.sim.settlement.listen(heard.append)
    try:
        await after.restarted()
        assert heard == []  # still dfspb's to commit
        assert after.available(FIDO_ACCOUNT) == debited

        clock.advance(QUOTE_LIFE_S + 1)
        await after.sim.router.drain()
        [(intent_id, outcome, reason)] = [(r.intent_id, r.outcome, r.reason) for r in heard]
        assert (intent_id, outcome) == ("p-1", SettlementOutcome.FAILED)
        assert "switch" in reason
        assert after.available(FIDO_ACCOUNT) == debited + 10
        path = f"/transfers/{(transfer.body or {})['transferId']}/error"
        assert [code(m) for m in after.pisp.received if m.path == path] == ["3303"]
    finally:
        await after.sim.close()


async def killed_and_started_again(before: Tpsim) -> Tpsim:
    """``before`` killed (``kill -9``: its state file as written, nothing more) and a new
    tpsim started on that file, with the same config and clock; not yet resumed."""
    before.file.flush()
    await before.sim.close()
    return Tpsim(crash_image(before.path), before.clock, before.sim.config)


def external_dfspb() -> Config:
    """The built-in config with Bob's bank, dfspb, played by the test."""
    data = load_config().model_dump(mode="json")
    for participant in data["participants"]:
        if participant["fsp_id"] == "dfspb":
            participant.update(simulated=False, endpoint="http://127.0.0.1:1")
    return parse_config(data)


async def settling_to_dfspb(tpsim: Tpsim) -> Decimal:
    """A PSD2 payment of 10 USD from Alice to Bob (intent ``p-1``) settling through the
    switch, up to dfspb's quote answered: Alice's balance then, the 10 USD held."""
    payments = tpsim.sim.state.bank.payments
    executing(payments, "p-1", debtor=FIDO_ACCOUNT, creditor=BOB_MSISDN, amount="10", at=START)
    request = SettlementRequest(
        "p-1", "dfspa", FIDO_ACCOUNT, "dfspb", BOB_MSISDN, Decimal(10), "USD"
    )
    tpsim.sim.settlement.submit(request)
    await tpsim.sim.router.drain()
    [asked] = [m for m in tpsim.pisp.received if m.path == "/quotes"]
    await quoted(tpsim, f"/quotes/{(asked.body or {})['quoteId']}", "10")
    return tpsim.available(FIDO_ACCOUNT)


async def quoted(tpsim: Tpsim, path: str, amount: str) -> None:
    """dfspb answers the quote request at ``path`` (``PUT /quotes/{ID}``)."""
    quote = quote_of(amount=amount, now=tpsim.clock.now())
    now = tpsim.clock.now()
    tpsim.sim.router.submit(
        new_message("PUT", path, source="dfspb", destination="dfspa", body=quote, now=now)
    )
    await tpsim.sim.router.drain()
