"""Hub-hosted unlinking over real HTTP (linking patterns §4.2, diagram 6b), as an independent
PISP sees it: its own server on a loopback port, its own FSPIOP client.

The PISP sends ``DELETE /consents/{ID}`` addressed to the DFSP and gets ``202``; the one
message it then receives is ``PATCH /consents/{ID}`` REVOKED from ``central-auth``. The
rest of the diagram (the redirection, the auth-service's PATCH to the DFSP) and the ALS
deletions happen inside tpsim, where the journal shows them.
"""

from __future__ import annotations

import re

import pytest

from tests.support.linking import (
    CAROL_CHEQUING,
    CONSENTS,
    admin,
    link,
    new_authenticator,
    uid,
)
from tests.support.pisp import Received
from tests.support.scheme import FIDO_ACCOUNT, FIDO_CONSENT, Scheme
from tpsim.journal import Hop

AUTH = "central-auth"
DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def journaled(scheme: Scheme, start: int) -> list[tuple[str, str, str | None, str | None]]:
    """The hops delivered to simulated participants or sent out since entry ``start``."""
    assert scheme.sim is not None
    return [
        (e.method, e.path, e.source, e.destination)
        for e in scheme.sim.journal.entries()[start:]
        if e.hop in (Hop.DELIVERED, Hop.SENT)
    ]


def assert_revocation_from_the_auth_service(received: list[Received], path: str) -> None:
    """Exactly §4.2's one message to the PISP: PATCH REVOKED from central-auth."""
    assert [(r.method, r.path) for r in received] == [("PATCH", path)]
    [patch] = received
    assert patch.headers["FSPIOP-Source"] == AUTH
    assert patch.headers["FSPIOP-Destination"] == "pispa"
    assert set(patch.body or {}) == {"status", "revokedAt"}
    assert (patch.body or {})["status"] == "REVOKED"
    assert DATE_TIME.match((patch.body or {})["revokedAt"])


async def test_independent_pisp_sees_hub_hosted_unlinking_as_section_4_2(scheme: Scheme) -> None:
    consent_id = await link(scheme, uid("served-unlink"), new_authenticator("GENERIC"))
    path = f"{CONSENTS}/{consent_id}"
    await scheme.settle()
    assert scheme.sim is not None
    start, first = len(scheme.pisp.received), len(scheme.sim.journal.entries())

    # "the PISP still addresses its DELETE /consents/{ID} call to the DFSP" (§4.2)
    sent = await scheme.pisp.send("DELETE", path, destination="dfspa")
    assert sent.status == 202
    await scheme.pisp.wait_for("PATCH", path, start=start)
    await scheme.settle()

    assert_revocation_from_the_auth_service(scheme.pisp.received[start:], path)
    hops = journaled(scheme, first)
    assert hops[:4] == [
        ("DELETE", path, "pispa", "dfspa"),
        ("DELETE", path, "pispa", AUTH),  # redirected to the consent's authority
        ("PATCH", path, AUTH, "pispa"),
        ("PATCH", path, AUTH, "dfspa"),
    ]
    link_path = f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"
    assert ("DELETE", link_path, "dfspa", "switch") in hops
    assert ("DELETE", f"/participants/CONSENT/{consent_id}", AUTH, "switch") in hops
    assert scheme.validate_sent_bodies() > 0

    # The ALS no longer knows the link.
    start = len(scheme.pisp.received)
    sent = await scheme.pisp.send("GET", link_path)
    assert sent.status == 202
    gone = await scheme.pisp.wait_for("PUT", f"{link_path}/error", start=start)
    assert gone.error_code == "3200"


@pytest.mark.parametrize("how", ["DELETE", "admin"])
async def test_seeded_consent_is_hub_hosted_too(scheme: Scheme, how: str) -> None:
    # The built-in consents are registered with central-auth: the PISP's DELETE and the
    # user's revocation at the bank both end in the auth-service's PATCH.
    path = f"{CONSENTS}/{FIDO_CONSENT}"
    start = len(scheme.pisp.received)
    if how == "DELETE":
        sent = await scheme.pisp.send("DELETE", path, destination="dfspa")
        assert sent.status == 202
    else:
        status, body = await admin(scheme, "POST", f"/admin/consents/{FIDO_CONSENT}/revoke")
        assert (status, body["status"]) == (200, "REVOKED")
    await scheme.pisp.wait_for("PATCH", path, start=start)
    await scheme.settle()

    assert_revocation_from_the_auth_service(scheme.pisp.received[start:], path)
    assert scheme.sim is not None
    state = scheme.sim.state
    assert state.consents[FIDO_CONSENT].status == "REVOKED"
    assert state.auth_consents[FIDO_CONSENT].status == "REVOKED"
    assert state.oracle.get(("THIRD_PARTY_LINK", FIDO_ACCOUNT)) is None
    assert state.oracle.get(("CONSENT", FIDO_CONSENT)) is None
