"""What the switch checks of a held transfer's messages (``mojaloop.roles.hub_transfers``).

As in ``test_hub_transfers``: Bob's bank, dfspb, is played by the test; Alice pays Bob
10 USD from dfspa (simulated) and the hub holds the transfer until dfspb answers or it
expires. Each test here is what Mojaloop's switch (central-ledger's prepare, fulfil and
timeout handlers; FSPIOP v1.1 §6.7) does and tpsim did not:

- the fulfil handler takes a payee's answer only from the transfer's payee
  (``FSPIOP-Source does not match payee fsp``: 3100 to the sender, nothing forwarded),
  and tells the transfer's payer, whatever the answer's ``FSPIOP-Destination`` says;
- it refuses a fulfil arriving at or after the transfer's ``expirationDate`` (3303),
  whether or not the timeout handler has run yet;
- the prepare handler's duplicate check: a ``POST /transfers`` whose transferId it knows
  is never forwarded again once the transfer is final (its final state is told), and one
  with another body is refused with 3106 "Modified request";
- the payee's answer, once the switch took it, ends the switch's timeout whatever the
  payer DFSP does with its notification;
- a transfer the switch never received cannot be committed by the payee: a restart that
  lost it must not leave the payer waiting for the hub for ever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.test_sqlite_store import crash_image
from tests.serve.test_durable_state import Tpsim, alice
from tests.serve.test_hub_transfers import (
    QUOTE_LIFE_S,
    REQUEST,
    balance,
    code,
    dfspb_played_by_the_test,
    external_dfspb,
    fulfil,
    killed_and_started_again,
    quoted,
    settling_to_dfspb,
    to,
    transfer_sent,
)
from tests.support.faulty_scheme import START, FaultyScheme
from tests.support.flows import AUTHZ, TX
from tests.support.pisp import future_expiration
from tests.support.scheme import FIDO_ACCOUNT, transaction_request
from tpsim.config import Config, overlay, parse_config
from tpsim.core.clock import ManualClock
from tpsim.core.settlement import SettlementOutcome, SettlementResult
from tpsim.journal import Hop
from tpsim.mojaloop.roles.common import format_datetime, new_message


@pytest.fixture
async def scheme() -> AsyncIterator[FaultyScheme]:
    async with dfspb_played_by_the_test() as scheme:
        yield scheme


def outcome(scheme: FaultyScheme, transaction: str) -> list[tuple[str, str]]:
    """The final callbacks the PISP got for its transaction: (method, code or state)."""
    final = []
    for m in to(scheme, "pispa", None, transaction):
        if m.method == "PATCH":
            final.append(("PATCH", str((m.body or {})["transactionState"])))
        elif m.path.endswith("/error"):
            final.append(("PUT", code(m)))
    return final


def dropped(scheme: FaultyScheme) -> list[tuple[str, str, str | None]]:
    return [
        (e.method, e.path, e.source) for e in scheme.sim.journal.entries() if e.hop is Hop.DROPPED
    ]


async def post_transfer(scheme: FaultyScheme, body: dict[str, Any]) -> None:
    """dfspa's ``POST /transfers`` to dfspb with ``body``, through the switch."""
    now = scheme.clock.now()
    message = new_message(
        "POST", "/transfers", source="dfspa", destination="dfspb", body=body, now=now
    )
    await scheme.sim.router.send(message)
    await scheme.settle()


# -- who may answer, and to whom ---------------------------------------------------------


async def test_a_fulfil_from_another_participant_than_the_payee_is_refused(
    scheme: FaultyScheme,
) -> None:
    """Mojaloop's fulfil handler: ``FSPIOP-Source does not match payee fsp`` (3100) to the
    sender, and the transfer stays the payee's to answer: Alice pays nothing until dfspb
    commits, and the switch still expires it."""
    before = balance(scheme)
    transfer, transaction = await transfer_sent(scheme)
    path = f"/transfers/{(transfer.body or {})['transferId']}"

    answer = await scheme.send("PUT", path, fulfil(scheme), to="dfspa", source="pispa")

    assert answer.status == 200
    refusals = to(scheme, "pispa", "PUT", f"{path}/error")
    assert [(m.source, code(m)) for m in refusals] == [("switch", "3100")]
    assert dropped(scheme) == [("PUT", path, "pispa")]
    assert outcome(scheme, transaction) == []  # not completed on the PISP's word
    await scheme.advance(QUOTE_LIFE_S + 1)
    assert outcome(scheme, transaction) == [("PUT", "6003")]
    assert balance(scheme) == before


async def test_a_fulfil_addressed_to_another_participant_than_the_payer_does_not_end_the_hold(
    scheme: FaultyScheme,
) -> None:
    """The switch tells the transfer's payer of its end (Mojaloop's notification goes to the
    transfer's payerFsp): an answer addressed elsewhere is refused (3100) and the transfer
    stays held, so it still expires and Alice's funds come back."""
    before = balance(scheme)
    transfer, transaction = await transfer_sent(scheme)
    path = f"/transfers/{(transfer.body or {})['transferId']}"

    assert (
        await scheme.send("PUT", path, fulfil(scheme), to="pispa", source="dfspb")
    ).status == 200

    assert not to(scheme, "pispa", "PUT", path)  # not forwarded to the PISP
    assert [code(m) for m in to(scheme, "dfspb", "PUT", f"{path}/error")] == ["3100"]
    await scheme.advance(QUOTE_LIFE_S + 1)
    assert outcome(scheme, transaction) == [("PUT", "6003")]
    assert balance(scheme) == before


# -- the prepare's duplicate check -------------------------------------------------------


async def test_a_transfer_resent_after_it_expired_is_not_forwarded_again(
    scheme: FaultyScheme,
) -> None:
    """A duplicate of a transfer the switch has ended (central-ledger's duplicate check: the
    same hash, a final state) is answered with its end, 3303 again to the payer, and never
    sent to the payee, which could commit what the switch aborted."""
    transfer, _ = await transfer_sent(scheme)
    transfer_id = (transfer.body or {})["transferId"]
    await scheme.advance(QUOTE_LIFE_S + 1)

    await post_transfer(scheme, dict(transfer.body or {}))

    assert len(to(scheme, "dfspb", "POST", "/transfers")) == 1
    told = [
        e
        for e in scheme.sim.journal.entries()
        if e.path == f"/transfers/{transfer_id}/error" and e.destination == "dfspa"
    ]
    assert len(told) == 2  # the expiry, then the duplicate's answer
    assert all((e.body or {})["errorInformation"]["errorCode"] == "3303" for e in told)


async def test_a_resend_of_a_transfer_on_its_way_is_not_forwarded_again(
    scheme: FaultyScheme,
) -> None:
    """central-ledger's duplicate check: a duplicate of a transfer still in progress
    (RECEIVED, RESERVED) is ignored: the payee, which has the first, gets nothing more."""
    transfer, _ = await transfer_sent(scheme)

    await post_transfer(scheme, dict(transfer.body or {}))

    assert len(to(scheme, "dfspb", "POST", "/transfers")) == 1
    assert dropped(scheme) == [("POST", "/transfers", "dfspa")]
    transfer_id = (transfer.body or {})["transferId"]
    assert not [e for e in scheme.sim.journal.entries() if e.path.endswith(f"{transfer_id}/error")]


async def test_a_resend_of_a_transfer_the_payee_committed_is_told_its_state_again(
    scheme: FaultyScheme,
) -> None:
    """central-ledger's duplicate check: a duplicate of a transfer in a final state is
    answered with that state (``PUT /transfers/{ID}`` from the switch), never forwarded
    again nor held again: no 3303 about a committed transfer at its expiration."""
    transfer, _ = await transfer_sent(scheme)
    transfer_id = (transfer.body or {})["transferId"]
    path = f"/transfers/{transfer_id}"
    await scheme.send("PUT", path, fulfil(scheme), to="dfspa", source="dfspb")

    await post_transfer(scheme, dict(transfer.body or {}))
    await scheme.advance(QUOTE_LIFE_S * 2)

    assert len(to(scheme, "dfspb", "POST", "/transfers")) == 1
    delivered = [
        e for e in scheme.sim.journal.entries() if e.path == path and e.hop is Hop.DELIVERED
    ]
    told = [(e.source, e.destination) for e in delivered]
    assert told == [("dfspb", "dfspa"), ("switch", "dfspa")]  # the fulfil, then again
    assert (delivered[-1].body or {})["transferState"] == "COMMITTED"
    assert not [e for e in scheme.sim.journal.entries() if e.path == f"{path}/error"]


async def test_a_held_transfer_id_reused_with_another_body_is_refused_as_modified(
    scheme: FaultyScheme,
) -> None:
    """FSPIOP v1.1 §3.2.5 and central-ledger's duplicate check: the same transferId with
    another body (here 1000 USD instead of 10) is refused with 3106 "Modified request"
    and not forwarded; the transfer held stays as it was."""
    transfer, _ = await transfer_sent(scheme)
    transfer_id = (transfer.body or {})["transferId"]
    body = {**(transfer.body or {}), "amount": {"currency": "USD", "amount": "1000"}}

    await post_transfer(scheme, body)

    assert len(to(scheme, "dfspb", "POST", "/transfers")) == 1
    assert dropped(scheme) == [("POST", "/transfers", "dfspa")]
    [refusal] = [
        e for e in scheme.sim.journal.entries() if e.path == f"/transfers/{transfer_id}/error"
    ]
    assert (refusal.source, refusal.destination) == ("switch", "dfspa")
    assert (refusal.body or {})["errorInformation"]["errorCode"] == "3106"


# -- when an answer is late --------------------------------------------------------------


async def test_a_fulfil_after_the_expiration_is_late_even_before_the_timeout_ran(
    tmp_path: Path,
) -> None:
    """Central-ledger's fulfil handler refuses a fulfil once ``expirationDate <= now``
    (3303), whatever its timeout handler has done yet. Here dfspb's fulfil is taken (and
    kept) 1 s after the expiration, and tpsim is killed before either is processed: the
    restarted tpsim must refuse it and expire the transfer, not complete it."""
    config, clock = external_dfspb(), ManualClock(START)
    before = await held_transfer(Tpsim(tmp_path / "state.db", clock, config))
    [transfer] = [m for m in before.pisp.received if (m.method, m.path) == ("POST", "/transfers")]
    path = f"/transfers/{(transfer.body or {})['transferId']}"
    debited = before.available(FIDO_ACCOUNT)
    clock.advance(QUOTE_LIFE_S + 1)  # the timeout is due; the loop has not run it yet
    body = {
        "fulfilment": "WLctttbu2HvTsa1XWvUoGRcQozHsqeu9Ahl2JW9Bsu8",
        "completedTimestamp": format_datetime(clock.now()),
        "transferState": "COMMITTED",
    }
    now = clock.now()
    late = new_message("PUT", path, source="dfspb", destination="dfspa", body=body, now=now)
    before.sim.router.submit(late)  # the edge took it: kept before it answers 200
    image = crash_image(before.path)
    await before.sim.close()

    after = Tpsim(image, clock, config)
    try:
        await after.restarted()
        clock.advance(0)
        await after.sim.router.drain()
        told = sorted(
            (m.destination, code(m)) for m in after.pisp.received if m.path == f"{path}/error"
        )
        assert told == [("dfspb", "3303"), ("dfspb", "3303")]  # the late fulfil, the expiry
        assert code(after.outcome(REQUEST)) == "6003"
        assert after.available(FIDO_ACCOUNT) == debited + 100
    finally:
        await after.sim.close()


async def test_an_answer_taken_in_time_ends_the_hold_whatever_the_payer_does_with_it() -> None:
    """The switch ends its timeout when it takes the payee's answer (central-ledger commits
    on the fulfil; the payer's notification is another hop). A rule making dfspa refuse
    that notification (``error``) must not make the switch tell dfspb, which answered in
    time, that its transfer expired."""
    rule = {
        "name": "payer-refuses-fulfil",
        "when": {"method": "PUT", "path": "/transfers/{ID}", "receiver": "dfspa"},
        "then": {"error": "2001"},
    }
    scheme = FaultyScheme.start([rule], external=("dfspb",))
    try:
        transfer, _ = await transfer_sent(scheme)
        path = f"/transfers/{(transfer.body or {})['transferId']}"
        answer = await scheme.send("PUT", path, fulfil(scheme), to="dfspa", source="dfspb")
        assert answer.status == 200
        [refused] = to(scheme, "dfspb", "PUT", f"{path}/error")
        assert (refused.source, code(refused)) == ("dfspa", "2001")  # the rule's refusal

        await scheme.advance(QUOTE_LIFE_S * 2)

        from_switch = [
            m for m in to(scheme, "dfspb", "PUT", f"{path}/error") if m.source == "switch"
        ]
        assert from_switch == []
    finally:
        await scheme.close()


# -- restarts: what the hub never received ----------------------------------------------


def delaying(config: Config, rule: dict[str, Any]) -> Config:
    return parse_config(overlay(config.model_dump(mode="json"), {"rules": [rule]}))


async def held_transfer(tpsim: Tpsim) -> Tpsim:
    """Alice's 100 USD payment to Bob up to dfspa's ``POST /transfers`` (held at the hub,
    or delayed by a rule)."""
    expiration = future_expiration(300, now=tpsim.clock.now())
    await tpsim.from_pisp("POST", TX, transaction_request(REQUEST, expiration=expiration))
    [asked] = [m for m in tpsim.pisp.received if m.path == "/quotes"]
    await quoted(tpsim, f"/quotes/{(asked.body or {})['quoteId']}", "100")
    await tpsim.approve(tpsim.last("POST", AUTHZ), alice())
    return tpsim


async def test_a_transfer_the_hub_never_received_fails_after_a_restart(tmp_path: Path) -> None:
    """A ``POST /transfers`` that died with the process (a rule's ``delay_s`` had it wait)
    never reached the switch, so dfspb cannot commit it: after the restart the
    transaction fails with 2001 and Alice's funds come back, as any in flight does."""
    rule = {
        "name": "slow-verification",
        "when": {"method": "PUT", "path": "/thirdpartyRequests/verifications/{ID}"},
        "then": {"delay_s": 5},
    }
    config, clock = delaying(external_dfspb(), rule), ManualClock(START)
    before = await held_transfer(Tpsim(tmp_path / "state.db", clock, config))
    assert not [m for m in before.pisp.received if m.path == "/transfers"]  # still delayed
    debited = before.available(FIDO_ACCOUNT)
    after = await killed_and_started_again(before)
    try:
        await after.restarted()
        clock.advance(QUOTE_LIFE_S * 5)
        await after.sim.router.drain()
        final = [m for m in after.pisp.received if m.path in (f"{TX}/{REQUEST}/error",)]
        assert [code(m) for m in final] == ["2001"]
        assert after.available(FIDO_ACCOUNT) == debited + 100
    finally:
        await after.sim.close()


async def test_a_settlement_transfer_the_hub_never_received_fails_after_a_restart(
    tmp_path: Path,
) -> None:
    """The same for a PSD2 payment settling to Bob's bank: its ``POST /transfers`` was
    delayed by a rule when tpsim stopped; the settlement fails at the restart and the
    debtor's funds come back, instead of waiting for a hub that holds nothing."""
    rule = {
        "name": "slow-quote",
        "when": {"method": "PUT", "path": "/quotes/{ID}", "receiver": "dfspa"},
        "then": {"delay_s": 5},
    }
    config, clock = delaying(external_dfspb(), rule), ManualClock(START)
    before = Tpsim(tmp_path / "state.db", clock, config)
    debited = await settling_to_dfspb(before)
    assert not [m for m in before.pisp.received if m.path == "/transfers"]  # still delayed
    after = await killed_and_started_again(before)
    heard: list[SettlementResult] = []
    after.sim.settlement.listen(heard.append)
    try:
        await after.restarted()
        clock.advance(QUOTE_LIFE_S * 5)
        await after.sim.router.drain()
        assert [(r.intent_id, r.outcome) for r in heard] == [("p-1", SettlementOutcome.FAILED)]
        assert after.available(FIDO_ACCOUNT) == debited + 10
    finally:
        await after.sim.close()
