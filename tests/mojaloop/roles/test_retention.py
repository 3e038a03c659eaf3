"""Ended conversations are forgotten after ``behaviour.retention_s``, not kept for ever.

A sandbox that runs for weeks must not grow per transfer (hardening issue, item 2: ~8 kB
kept per transfer, 499 MB after 50,000). Until the retention has passed, a duplicate of a
request still gets its final callback again and GET still answers (FSPIOP §3.2.5); after
it, every record of the conversation is gone: the payer's transaction and its ids, its
payment intent, the duplicate check, the payee's quote, the auth-service's verification.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.mojaloop.roles.test_payer_dfsp import (
    FIDO_PAYLOAD,
    SECOND_ID,
    TX,
    Flow,
    build,
    error_code,
    posted,
    refused,
)
from tests.support.pisp import future_expiration
from tests.support.roles import START
from tpsim.core.store import MemoryStore
from tpsim.mojaloop.errors import ExpiredError, TransactionRequestNotFound

RETENTION_S = 120


def completed(flow: Flow) -> Flow:
    flow.until_authorization(expiration=future_expiration(60, now=flow.roles.clock.now()))
    flow.authorize(FIDO_PAYLOAD)
    flow.verified()
    flow.transfer()
    assert flow.outcome().method == "PATCH"
    return flow


def kept(flow: Flow) -> dict[str, int]:
    """The records the scheme keeps beyond accounts and postings, by kind."""
    store = flow.roles.sim.state.bank.store
    assert isinstance(store, MemoryStore)
    return store.counts()


def test_until_the_retention_passes_a_duplicate_gets_the_final_callback_again() -> None:
    flow = completed(build(behaviour={"retention_s": RETENTION_S}))
    final = flow.outcome()
    flow.roles.clock.advance(RETENTION_S - 1)

    [again] = flow.request(expiration=future_expiration(60, now=START)).messages

    assert (again.method, again.path, again.body) == (final.method, final.path, final.body)
    assert flow.get() == "ACCEPTED"


def test_after_the_retention_every_record_of_the_transfer_is_gone() -> None:
    flow = completed(build(behaviour={"retention_s": RETENTION_S}))
    assert kept(flow)  # the transaction, its ids, intent, verification…
    flow.roles.clock.advance(RETENTION_S)

    # The next transfer to end sweeps what is due (no timer: a quiet scheme costs nothing).
    second = completed(Flow(flow.roles, request_id=SECOND_ID))

    error = refused(lambda: flow.get())
    assert isinstance(error, TransactionRequestNotFound)
    assert sum(kept(second).values()) == sum(kept(completed_alone()).values())


def completed_alone() -> Flow:
    """What one completed transfer keeps within its retention, on a fresh scheme."""
    return completed(Flow(build(behaviour={"retention_s": RETENTION_S}).roles, SECOND_ID))


def test_a_request_after_the_retention_is_a_new_request() -> None:
    flow = completed(build(behaviour={"retention_s": RETENTION_S}))
    flow.roles.clock.advance(RETENTION_S)
    expiration = future_expiration(60, now=flow.roles.clock.now())
    [received, quote] = flow.request(expiration=expiration).messages  # a new transaction
    assert (received.body or {})["transactionRequestState"] == "RECEIVED"
    assert quote.path == "/quotes"


def test_a_transaction_still_in_flight_is_never_forgotten() -> None:
    flow = build(behaviour={"retention_s": 0})
    flow.until_authorization()
    completed(Flow(flow.roles, request_id=SECOND_ID))  # ends, sweeps with retention 0
    assert flow.get() == "PENDING"


def test_the_default_retention_is_minutes() -> None:
    flow = completed(build())
    flow.roles.clock.advance(299)
    assert flow.get() == "ACCEPTED"
    flow.roles.clock.advance(1)
    completed(Flow(flow.roles, request_id=SECOND_ID))
    assert isinstance(refused(lambda: flow.get()), TransactionRequestNotFound)


# --- no transaction waits for ever (review: stuck in QUOTING or TRANSFERRING) ------------


def test_a_quote_never_answered_fails_the_transaction_at_its_deadline() -> None:
    flow = build()
    [_, _quote] = (effects := flow.request()).messages  # dfspb never answers the quote
    [timer] = effects.timers
    assert timer.key == f"quote:{flow.request_id}"
    assert timer.at == START + timedelta(seconds=60)  # quote_expiry_s, before the expiration

    flow.roles.clock.advance(60)
    failed = flow.roles.role("dfspa").on_timer(timer.key)

    [error] = failed.messages
    assert error.path == f"{TX}/{flow.request_id}/error"
    assert (error.body or {})["errorInformation"]["errorCode"] == "6003"
    assert "no PUT /quotes/" in (error.body or {})["errorInformation"]["errorDescription"]
    assert flow.get() == "REJECTED"


def test_a_verification_never_answered_fails_the_transaction_before_money_moves() -> None:
    # An external auth-service that accepts the request and never calls back.
    flow = build()
    flow.until_authorization()
    [timer] = flow.authorize(FIDO_PAYLOAD).timers
    assert timer.key == f"verification:{flow.request_id}"

    flow.roles.clock.advance((timer.at - flow.roles.clock.now()).total_seconds())
    failed = flow.roles.role("dfspa").on_timer(timer.key)

    [error] = failed.messages
    text = (error.body or {})["errorInformation"]["errorDescription"]
    assert "no PUT /thirdpartyRequests/verifications/" in text
    assert (posted(flow), flow.get()) == ([], "REJECTED")


def test_a_sent_transfer_waits_for_the_payees_answer_until_its_expiration() -> None:
    # Failing a sent transfer without knowing (the debit back) while the payee may still
    # commit it would create money. Until the transfer's expiration (the quote's) a late
    # COMMITTED completes it; a simulated payee refuses it after that.
    flow = build()
    flow.until_authorization()
    flow.authorize(FIDO_PAYLOAD)
    [timer] = flow.verified().timers
    assert timer.key == f"transfer:{flow.request_id}"
    [committed] = flow.deliver(flow.last("POST", "/transfers")).messages  # in time
    flow.roles.clock.advance((timer.at - flow.roles.clock.now()).total_seconds() - 1)
    flow.deliver(committed)  # …its answer late
    assert flow.outcome().method == "PATCH"
    assert posted(flow) == [("RESERVE", "100"), ("COMMIT", "100")]


@pytest.mark.parametrize("credited", [True, False])
def test_at_the_transfers_expiration_the_ledger_says_how_it_ended(credited: bool) -> None:
    # The payee's answer was lost (credited) or its request was (not credited, and it
    # refuses the transfer from now on): the simulated payee shares the ledger, so at the
    # expiration the payer reads there what happened, as it does after a restart.
    flow = build()
    flow.until_authorization()
    flow.authorize(FIDO_PAYLOAD)
    [timer] = flow.verified().timers
    transfer = flow.last("POST", "/transfers")
    if credited:
        flow.deliver(transfer)
    flow.roles.clock.advance((timer.at - flow.roles.clock.now()).total_seconds())

    flow.sent.extend(flow.roles.role("dfspa").on_timer(timer.key).messages)

    if credited:
        assert flow.outcome().method == "PATCH"
        assert posted(flow) == [("RESERVE", "100"), ("COMMIT", "100")]
        return
    assert error_code(flow.outcome()) == "6003"
    assert posted(flow) == [("RESERVE", "100"), ("RELEASE", "100")]
    with pytest.raises(ExpiredError):  # the payee will not credit it now (3302, 3303)
        flow.deliver(transfer)


def test_a_timer_that_fires_after_the_answer_does_nothing() -> None:
    flow = completed(build())
    for wait in ("quote", "authorization", "verification"):
        assert flow.roles.role("dfspa").on_timer(f"{wait}:{flow.request_id}").messages == []
