"""A decoupled authorisation pushes to the app of the PSU that PSU-ID names, at once: only
the debited account's holder (or, for an initiation, a sandbox persona) gets one. Anyone
else is 401 PSU_CREDENTIALS_INVALID (path PSU-ID) before anything is kept, whichever call
would start the push: an explicit POST …/authorisations or …/cancellation-authorisations,
a DELETE that starts its cancellation's authorisation, a PUT naming the PSU. A 401 names no
authorisationId, so whatever was kept behind one would block the TPP's corrected retry; and
it is no wrong secret of the right PSU, so it counts no attempt (``max_attempts``). (The
initiation's own case: ``test_authorisations``.)"""

from __future__ import annotations

from typing import Any

import pytest

from .support import ERIKA, PASSWORD, World, single, world
from .test_authorisations import SCT, UNTOUCHED, code, put, state
from .test_bank import day, pay

_MANDATED = {"payment_cancellation_authorisation_mandated": True}


# (PSU-ID on the POST, its body, the initiation's PSU-ID) → the answer of an explicit
# POST …/authorisations under decoupled: the push goes to PSU-ID's app (the initiation's when
# the POST names none) at once, so anyone but the holder or a sandbox persona is refused
# before anything is kept. A 401 names no authorisationId: one kept anyway would block the
# corrected retry (409, "under way") and count an attempt nobody could continue.
_EXPLICIT = {"TPP-Decoupled-Preferred": "true", "TPP-Explicit-Authorisation-Preferred": "true"}
EXPLICIT_DECOUPLED_STARTS = [
    pytest.param("erika", None, None, (201, "started"), id="the holder"),
    pytest.param("PSU-Rejected", None, None, (201, "started"), id="a sandbox persona"),
    pytest.param("max", None, None, (401, "PSU_CREDENTIALS_INVALID"), id="not the holder"),
    pytest.param("max", {"psuData": {"password": PASSWORD}}, None,
                 (401, "PSU_CREDENTIALS_INVALID"), id="not the holder, with a password"),
    pytest.param(None, None, "max", (401, "PSU_CREDENTIALS_INVALID"),
                 id="the initiation's PSU-ID, not the holder"),
]  # fmt: skip


@pytest.mark.parametrize(("psu", "body", "initiator", "expected"), EXPLICIT_DECOUPLED_STARTS)
def test_an_explicit_decoupled_start_asks_psu_id_at_once_or_keeps_nothing(
    psu: str | None, body: dict[str, Any] | None, initiator: str | None, expected: tuple[int, str]
) -> None:
    w = world()
    answer = w.initiate(single(), SCT, PSU_ID=initiator, **_EXPLICIT)
    before = w.kept()
    path = f"{SCT}/{answer.payment_id}/authorisations"
    started = w.call("POST", path, body, PSU_ID=psu)
    if started.status == 201:
        assert started.body is not None
        assert (started.status, started.body["scaStatus"]) == expected
        return
    assert code(started) == expected
    assert started.body is not None and started.body["tppMessages"][0]["path"] == "PSU-ID"
    assert w.kept() == before  # no authorisation, no attempt counted
    assert w.call("GET", path).body == {"authorisationIds": []}
    retried = w.call("POST", path, PSU_ID="erika")
    assert retried.status == 201 and retried.authorisation_id is not None
    assert w.auths.records[retried.authorisation_id].attempts == 0
    assert w.sca_status(retried) == "started"


def test_a_wrong_psu_id_for_a_decoupled_push_is_refused_and_counts_no_attempt() -> None:
    # behaviour.psd2.max_attempts counts a PSU's wrong passwords, OTPs and confirmation
    # codes. A PSU-ID naming someone else guesses no secret: refused as often as it comes,
    # it never fails the authorisation, and the holder's PSU-ID then starts the push.
    w = world(behaviour={"max_attempts": 2})
    answer = w.initiate(TPP_Decoupled_Preferred="true")
    for _ in range(3):
        assert code(put(w, answer, {}, PSU_ID="max")) == (401, "PSU_CREDENTIALS_INVALID")
    assert answer.authorisation_id is not None
    assert w.auths.records[answer.authorisation_id].attempts == 0
    assert state(w, answer) == ("received", "RCVD", UNTOUCHED)
    started = put(w, answer, {}, PSU_ID="erika")
    assert started.body is not None and started.body["scaStatus"] == "started"


def _authorised_future(w: World) -> str:
    """erika's decoupled payment to max in two days, authorised: it waits (ACTC)."""
    answer = pay(w, single(requestedExecutionDate=day(2)))
    assert answer.payment_id is not None and w.status(answer) == "ACTC"
    return answer.payment_id


def test_an_explicit_cancellation_start_naming_another_psu_keeps_nothing() -> None:
    w = world(profile=_MANDATED)
    payment_id = _authorised_future(w)
    asked = w.call("DELETE", f"{SCT}/{payment_id}", TPP_Explicit_Authorisation_Preferred="true")
    assert asked.status == 202
    before = w.kept()
    path = f"{SCT}/{payment_id}/cancellation-authorisations"
    refused = w.call("POST", path, PSU_ID="max")
    assert code(refused) == (401, "PSU_CREDENTIALS_INVALID")
    assert w.kept() == before
    assert w.call("GET", path).body == {"authorisationIds": []}
    retried = w.call("POST", path, PSU_ID="erika")
    assert retried.status == 201 and retried.authorisation_id is not None
    assert retried.body is not None and retried.body["scaStatus"] == "started"
    w.auths.approve(retried.authorisation_id, None, None)
    assert w.call("GET", f"{SCT}/{payment_id}/status").body == {"transactionStatus": "CANC"}


def test_a_delete_starting_a_cancellation_for_another_psu_is_refused_whole() -> None:
    # The DELETE would start the cancellation's authorisation (implicit), whose push goes
    # to PSU-ID's app: max is refused before the cancellation is asked for, so no
    # cancellation authorisation is kept, none may be started (nothing was asked to
    # cancel), and the payment waits as before; the DELETE naming erika then starts one.
    w = world(profile=_MANDATED)
    payment_id = _authorised_future(w)
    before = w.kept()
    refused = w.call("DELETE", f"{SCT}/{payment_id}", PSU_ID="max")
    assert code(refused) == (401, "PSU_CREDENTIALS_INVALID")
    assert refused.body is not None and refused.body["tppMessages"][0]["path"] == "PSU-ID"
    assert w.kept() == before
    assert not w.xs2a.payments[payment_id].cancel_requested
    stray = w.call("POST", f"{SCT}/{payment_id}/cancellation-authorisations", PSU_ID="erika")
    assert code(stray) == (409, "STATUS_INVALID")
    accepted = w.call("DELETE", f"{SCT}/{payment_id}", PSU_ID="erika")
    assert accepted.status == 202 and accepted.authorisation_id is not None
    assert accepted.body is not None and accepted.body["scaStatus"] == "started"
    w.auths.approve(accepted.authorisation_id, None, None)
    w.advance(days=3)
    assert w.call("GET", f"{SCT}/{payment_id}/status").body == {"transactionStatus": "CANC"}
    assert w.balances()[ERIKA] == "1000.00"
