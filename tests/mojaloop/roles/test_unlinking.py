"""Unlinking without sockets (linking patterns §4, digest §2.2 row 11): who hosts a consent
decides the flow, and every revocation removes the consent's ALS entries.

A consent registered with the hub's auth-service is hub-hosted (§4.2, diagram 6b): the
PISP's ``DELETE /consents/{ID}``, still addressed to the DFSP, is redirected to the
auth-service, which marks it REVOKED and sends ``PATCH /consents/{ID}`` REVOKED from
``central-auth`` to the PISP and to the DFSP. Any other consent is the DFSP's (§4.1,
diagram 6a). Each test replays the messages as the switch carries them, depth first, and
asserts on every one of them with its source, destination and body.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from tests.support.linking import (
    CAROL_CHEQUING,
    CAROL_SAVINGS,
    CONSENTS,
    PROFILES,
    code,
    new_authenticator,
    uid,
)
from tests.support.linking_roles import (
    DFSP,
    PISP,
    credential_put,
    deliver,
    error_code,
    error_text,
    exchange,
    grant_consent,
    link,
    simulated,
)
from tests.support.overrides import with_second_pisp
from tests.support.pisp import future_expiration
from tests.support.roles import Roles
from tests.support.scheme import FIDO_ACCOUNT, FIDO_CONSENT, transaction_request
from tpsim.mojaloop.errors import ConsentNotGranted, TransactionStateError
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.common import new_message
from tpsim.mojaloop.roles.states import LinkState

AUTH, HUB = "central-auth", "switch"
REVOKED_AT = "2030-01-01T00:00:00.000Z"  # the clock of tests.support.roles does not move
REVOKED = {"status": "REVOKED", "revokedAt": REVOKED_AT}
VERIFIED = {"credential": {"status": "VERIFIED"}}  # the DFSP's PATCH once linked
TX = "/thirdpartyRequests/transactions"
# Carol's two account links while a consent to both is linked (linking_two).
MADE = f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"
SLOW = f"/participants/THIRD_PARTY_LINK/{CAROL_SAVINGS}"

Hop = tuple[str, str, str, str | None, dict[str, Any] | None]
Intercept = Callable[[Message], Message | None]


def hop(message: Message) -> Hop:
    return (message.method, message.path, message.source, message.destination, message.body)


class Held:
    """The messages ``method path`` from ``source``, kept back from their receiver until
    the test carries them (``trace(roles, held.messages)``): a slow participant."""

    def __init__(self, method: str, path: str, source: str) -> None:
        self.wanted = (method, path, source)
        self.messages: list[Message] = []

    def keeps(self, message: Message) -> bool:
        if (message.method, message.path, message.source) != self.wanted:
            return False
        self.messages.append(message)
        return True


def trace(
    roles: Roles,
    messages: Sequence[Message],
    intercept: Intercept | None = None,
    held: Held | None = None,
) -> list[Hop]:
    """Every message as the switch carries it, depth first, each with what it causes.
    ``intercept`` may put another message in one's place (the ALS's error callback);
    what ``held`` keeps back is not carried."""
    hops: list[Hop] = []
    for message in messages:
        if held is not None and held.keeps(message):
            continue
        replaced = intercept(message) if intercept is not None else None
        if replaced is not None:
            message = replaced
        hops.append(hop(message))
        to = message.destination or roles.config.hub.name
        if simulated(roles, to):
            hops.extend(trace(roles, deliver(roles, message).messages, intercept, held))
    return hops


def linked(roles: Roles, addresses: Sequence[str] = (CAROL_CHEQUING,), label: str = "") -> str:
    """A consent linked through the auth-service and the ALS (hub-hosted); its id."""
    return link(roles, uid(f"unlink{label}"), new_authenticator("GENERIC"), addresses)


def sent_by_pisp(roles: Roles, method: str, path: str, to: str = DFSP) -> Message:
    return roles.message(method, path, None, source=PISP, destination=to)


def registered_holding(
    roles: Roles,
    label: str,
    holding: Callable[[str], Held],
    addresses: Sequence[str] = (CAROL_CHEQUING,),
) -> tuple[str, str, Held]:
    """A consent to Carol's ``addresses`` whose credential was sent and carried while
    ``holding(consent path)`` kept a message back: its id, its path and what was held."""
    grant = grant_consent(roles, uid(label), addresses=addresses)
    path, body = credential_put(grant, new_authenticator("GENERIC"))
    held = holding(path)
    trace(roles, exchange(roles, "PUT", path, body).messages, held=held)
    return str((grant.body or {})["consentId"]), path, held


def linking_two(roles: Roles, label: str) -> tuple[str, str, Held]:
    """Carol's consent to both accounts, verified by the auth-service (which hosts it from
    then on): the chequing link made, the ALS's answer for the savings link held back."""
    return registered_holding(
        roles, label, lambda _: Held("POST", SLOW, DFSP), addresses=(CAROL_CHEQUING, CAROL_SAVINGS)
    )


def late_link_removed(roles: Roles, held: Held) -> None:
    """The ALS confirms the held link after the revocation: the DFSP removes it (and the
    PISP never hears the consent VERIFIED); no link of the consent is left."""
    assert trace(roles, held.messages) == [
        ("POST", SLOW, DFSP, HUB, {"fspId": DFSP}),
        ("PUT", SLOW, HUB, DFSP, {"fspId": DFSP}),
        ("DELETE", SLOW, DFSP, HUB, None),
        ("PUT", SLOW, HUB, DFSP, {}),
    ]
    assert link_entry(roles, CAROL_CHEQUING) is None
    assert link_entry(roles, CAROL_SAVINGS) is None


def link_entry(roles: Roles, address: str) -> str | None:
    return roles.sim.state.oracle.get(("THIRD_PARTY_LINK", address))


def transfer_error(roles: Roles, payer: str) -> str:
    """The error code of a transfer from ``payer``'s THIRD_PARTY_LINK."""
    expiration = future_expiration(300, now=roles.clock.now())
    body = transaction_request(uid("after-unlink"), payer=payer, expiration=expiration)
    [refused] = exchange(roles, "POST", TX, body).messages
    return error_code(refused)


# --- §4.2: the PISP unlinks a hub-hosted consent ------------------------------------------------


@pytest.mark.parametrize("addressed_to", [DFSP, AUTH], ids=["to-dfsp", "to-auth-service"])
def test_pisp_unlinks_a_hub_hosted_consent_through_the_auth_service(addressed_to: str) -> None:
    # §4.2: "the PISP still addresses its DELETE /consents/{ID} call to the DFSP"; the
    # switch finds the auth-service and redirects it. A PISP that addresses central-auth
    # itself (digest row 11) gets the same.
    roles = Roles.build()
    consent_id = linked(roles)
    path = f"{CONSENTS}/{consent_id}"
    link_path = f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"
    consent_path = f"/participants/CONSENT/{consent_id}"

    hops = trace(roles, [sent_by_pisp(roles, "DELETE", path, to=addressed_to)])

    redirected = [("DELETE", path, PISP, AUTH, None)] if addressed_to == DFSP else []
    assert hops == [
        ("DELETE", path, PISP, addressed_to, None),
        *redirected,
        ("PATCH", path, AUTH, PISP, REVOKED),  # UNLINK-B: auth-service → PISP
        ("PATCH", path, AUTH, DFSP, REVOKED),  # "must also inform the DFSP"
        ("DELETE", link_path, DFSP, HUB, None),  # the DFSP's link leaves the ALS
        ("PUT", link_path, HUB, DFSP, {}),  # FSPIOP: deleted, so fspId "should be empty"
        ("DELETE", consent_path, AUTH, HUB, None),  # so does the auth-service's consent
        ("PUT", consent_path, HUB, AUTH, {}),
    ]
    state = roles.sim.state
    assert state.consents[consent_id].state is LinkState.REVOKED
    assert state.auth_consents[consent_id].status == "REVOKED"
    assert link_entry(roles, CAROL_CHEQUING) is None
    assert ("CONSENT", consent_id) not in state.oracle


def test_after_unlinking_the_als_reports_the_entries_unknown() -> None:
    roles = Roles.build()
    consent_id = linked(roles)
    trace(roles, [sent_by_pisp(roles, "DELETE", f"{CONSENTS}/{consent_id}")])

    for id_type, identifier in [("THIRD_PARTY_LINK", CAROL_CHEQUING), ("CONSENT", consent_id)]:
        path = f"/participants/{id_type}/{identifier}"
        [answer] = exchange(roles, "GET", path, to=HUB).messages
        assert (answer.path, error_code(answer)) == (f"{path}/error", "3200")


@pytest.mark.parametrize("profile", PROFILES)
def test_a_consent_unlinked_through_the_auth_service_refuses_transfers(profile: str) -> None:
    # The seeded consent is registered with central-auth too: hub-hosted.
    roles = Roles.build(behaviour={"profile": profile})
    path = f"{CONSENTS}/{FIDO_CONSENT}"
    hops = trace(roles, [sent_by_pisp(roles, "DELETE", path)])
    assert ("PATCH", path, AUTH, PISP, REVOKED) in hops

    assert transfer_error(roles, FIDO_ACCOUNT) == code(profile, "6103", "7213")
    # Asked again, the DFSP and the auth-service say it was revoked.
    for to in (DFSP, AUTH):
        [again] = deliver(roles, sent_by_pisp(roles, "DELETE", path, to=to)).messages
        assert (again.source, error_code(again)) == (to, code(profile, "6103", "7213"))
        assert f"was revoked at {REVOKED_AT}" in error_text(again)


# --- the user revokes at the bank ----------------------------------------------------------------


@pytest.mark.parametrize("linking", [False, True], ids=["linked", "still-linking"])
def test_user_revoking_a_hub_hosted_consent_at_the_bank(linking: bool) -> None:
    # Digest row 11: "PISP or DFSP → … auth-service when hub-hosted". The DFSP revokes at
    # once (its user said so) and asks the auth-service, which tells the PISP; the same
    # while the ALS has yet to confirm one of its links (it is the auth-service's then too).
    roles = Roles.build()
    held = None
    if linking:
        consent_id, path, held = linking_two(roles, "revoke-linking")
    else:
        consent_id = linked(roles)
        path = f"{CONSENTS}/{consent_id}"
    link_path = f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"
    consent_path = f"/participants/CONSENT/{consent_id}"

    effects = roles.role(DFSP).linking.revoke(consent_id)
    assert roles.role(DFSP).linking.revoked_at(consent_id) is not None  # what admin reports
    hops = trace(roles, effects.messages)

    assert hops == [
        ("DELETE", path, DFSP, AUTH, None),
        ("PATCH", path, AUTH, PISP, REVOKED),
        ("PATCH", path, AUTH, DFSP, REVOKED),  # already revoked there: taken quietly
        ("DELETE", consent_path, AUTH, HUB, None),
        ("PUT", consent_path, HUB, AUTH, {}),
        ("DELETE", link_path, DFSP, HUB, None),
        ("PUT", link_path, HUB, DFSP, {}),
    ]
    assert roles.sim.state.auth_consents[consent_id].status == "REVOKED"
    if held is not None:
        late_link_removed(roles, held)


# --- revoked while the consent is being linked ------------------------------------------------


@pytest.mark.parametrize("addressed_to", [DFSP, AUTH], ids=["to-dfsp", "to-auth-service"])
def test_pisp_unlinking_while_the_als_registers_the_links(addressed_to: str) -> None:
    roles = Roles.build()
    consent_id, path, held = linking_two(roles, "unlink-linking")
    assert roles.sim.state.consents[consent_id].state is LinkState.LINKING

    hops = trace(roles, [sent_by_pisp(roles, "DELETE", path, to=addressed_to)])

    redirected = [("DELETE", path, PISP, AUTH, None)] if addressed_to == DFSP else []
    consent_path = f"/participants/CONSENT/{consent_id}"
    assert hops == [
        ("DELETE", path, PISP, addressed_to, None),
        *redirected,
        ("PATCH", path, AUTH, PISP, REVOKED),
        ("PATCH", path, AUTH, DFSP, REVOKED),
        ("DELETE", MADE, DFSP, HUB, None),  # the link made leaves the ALS at once
        ("PUT", MADE, HUB, DFSP, {}),
        ("DELETE", consent_path, AUTH, HUB, None),
        ("PUT", consent_path, HUB, AUTH, {}),
    ]
    late_link_removed(roles, held)
    assert roles.sim.state.consents[consent_id].state is LinkState.REVOKED
    assert roles.sim.state.auth_consents[consent_id].status == "REVOKED"


def test_a_link_the_als_refuses_after_the_revocation_needs_no_undoing() -> None:
    roles = Roles.build()
    link_path = f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"
    consent_id, path, held = registered_holding(
        roles, "unlink-refused", lambda _: Held("POST", link_path, DFSP)
    )
    trace(roles, [sent_by_pisp(roles, "DELETE", path)])

    hops = trace(roles, held.messages, refuse(roles, CAROL_CHEQUING))

    assert [h[:4] for h in hops] == [("PUT", f"{link_path}/error", HUB, DFSP)]  # nothing after
    assert roles.sim.state.consents[consent_id].pending == []
    assert link_entry(roles, CAROL_CHEQUING) is None


def test_a_consent_still_being_linked_pays_only_once_its_links_are_made() -> None:
    # The auth-service has verified the credential, but the ALS has not confirmed every
    # link: the PISP has not been told VERIFIED, and the consent cannot pay yet (6103).
    roles = Roles.build()
    consent_id, _, held = linking_two(roles, "pay-early")
    assert roles.role(DFSP).linking.consent(consent_id).state is LinkState.LINKING

    assert transfer_error(roles, CAROL_CHEQUING) == "6103"

    trace(roles, held.messages)
    assert roles.role(DFSP).linking.consent(consent_id).state is LinkState.ACTIVE
    expiration = future_expiration(300, now=roles.clock.now())
    body = transaction_request(uid("pay-linked"), payer=CAROL_CHEQUING, expiration=expiration)
    assert all(not m.path.endswith("/error") for m in exchange(roles, "POST", TX, body).messages)


def test_auth_service_revoking_before_the_dfsp_heard_it_verified() -> None:
    # The PISP unlinks at the auth-service while its VERIFIED is still on its way to the
    # DFSP: the DFSP takes the revocation, and the late VERIFIED links nothing.
    roles = Roles.build()
    consent_id, path, held = registered_holding(
        roles, "unlink-registering", lambda path: Held("PUT", path, AUTH)
    )
    assert roles.role(DFSP).linking.consent(consent_id).state is LinkState.REGISTERING

    hops = trace(roles, [sent_by_pisp(roles, "DELETE", path, to=AUTH)])

    assert ("PATCH", path, AUTH, DFSP, REVOKED) in hops
    assert not any("THIRD_PARTY_LINK" in h[1] for h in hops)
    [verified] = held.messages
    assert trace(roles, [verified]) == [hop(verified)]  # taken quietly
    consent = roles.role(DFSP).linking.consent(consent_id)
    assert consent is not None and consent.state is LinkState.REVOKED
    assert link_entry(roles, CAROL_CHEQUING) is None


def test_an_auth_service_error_about_a_revoked_consent_is_taken_quietly() -> None:
    roles = Roles.build()
    consent_id = linked(roles)
    path = f"{CONSENTS}/{consent_id}"
    trace(roles, [sent_by_pisp(roles, "DELETE", path, to=AUTH)])
    body = {"errorInformation": {"errorCode": "2003", "errorDescription": "Service unavailable"}}
    late = roles.message("PUT", f"{path}/error", body, source=AUTH, destination=DFSP)

    assert roles.role(DFSP).handle(late).messages == []  # neither raised nor answered


def test_pisp_cannot_unlink_at_the_dfsp_while_the_credential_is_verified() -> None:
    # The auth-service's answer is on its way: revoked now, its record would stay ISSUED.
    roles = Roles.build()
    consent_id, path, held = registered_holding(
        roles, "unlink-early", lambda path: Held("PUT", path, AUTH)
    )

    [refused] = deliver(roles, sent_by_pisp(roles, "DELETE", path)).messages

    assert (refused.path, refused.destination, error_code(refused)) == (
        f"{path}/error",
        PISP,
        "3000",
    )
    assert "is with central-auth for verification" in error_text(refused)
    with pytest.raises(TransactionStateError, match="once the auth-service has answered"):
        roles.role(DFSP).linking.revoke(consent_id)
    # Once verified, the consent links as usual.
    hops = trace(roles, held.messages)
    assert ("PATCH", path, DFSP, PISP, VERIFIED) in hops


# --- §4.1: DFSP-hosted consents, unchanged -------------------------------------------------------


def test_a_consent_no_auth_service_holds_is_revoked_by_its_dfsp() -> None:
    # ISSUED: the credential never reached the auth-service, so the DFSP is the authority
    # and there is no link to remove (diagram 6a).
    roles = Roles.build()
    grant = grant_consent(roles, uid("unlink-issued"))
    path = f"{CONSENTS}/{(grant.body or {})['consentId']}"

    hops = trace(roles, [sent_by_pisp(roles, "DELETE", path)])

    assert hops == [("DELETE", path, PISP, DFSP, None), ("PATCH", path, DFSP, PISP, REVOKED)]


def test_without_an_auth_service_the_dfsp_is_the_authority() -> None:
    data = Roles.build().config.model_dump(mode="json")
    participants = [p for p in data["participants"] if p["kind"] != "auth-service"]
    roles = Roles.build(participants=participants)
    path = f"{CONSENTS}/{FIDO_CONSENT}"
    link_path = f"/participants/THIRD_PARTY_LINK/{FIDO_ACCOUNT}"

    hops = trace(roles, [sent_by_pisp(roles, "DELETE", path)])

    assert hops == [
        ("DELETE", path, PISP, DFSP, None),
        ("PATCH", path, DFSP, PISP, REVOKED),
        ("DELETE", link_path, DFSP, HUB, None),
        ("PUT", link_path, HUB, DFSP, {}),
    ]
    assert link_entry(roles, FIDO_ACCOUNT) is None


# --- who may unlink ------------------------------------------------------------------------------


def test_another_pisp_cannot_unlink_at_the_auth_service() -> None:
    roles = Roles.build(**with_second_pisp())
    consent_id = linked(roles)
    path = f"{CONSENTS}/{consent_id}"
    stranger = roles.message("DELETE", path, None, source="pispb", destination=AUTH)

    [refused] = deliver(roles, stranger).messages

    assert (refused.destination, error_code(refused)) == ("pispb", "3200")
    assert roles.sim.state.auth_consents[consent_id].status == "ISSUED"


def test_for_a_consent_no_simulated_dfsp_published_only_a_pisp_may_unlink_it() -> None:
    roles = Roles.build()
    consent_id = linked(roles)
    roles.sim.state.consents.drop(consent_id)  # as an external DFSP's: its PISP unknown here
    path = f"{CONSENTS}/{consent_id}"
    other_dfsp = roles.message("DELETE", path, None, source="dfspb", destination=AUTH)

    [refused] = deliver(roles, other_dfsp).messages

    assert (refused.destination, error_code(refused)) == ("dfspb", "3200")
    assert roles.sim.state.auth_consents[consent_id].status == "ISSUED"


def test_only_the_auth_service_holding_a_consent_reports_it_revoked() -> None:
    roles = Roles.build()
    consent_id = linked(roles)
    path = f"{CONSENTS}/{consent_id}"
    [refused] = exchange(roles, "PATCH", path, REVOKED).messages  # from the PISP
    assert (refused.destination, error_code(refused)) == (PISP, "3200")
    assert roles.sim.state.consents[consent_id].state is LinkState.ACTIVE


def test_a_link_another_consent_still_uses_stays_in_the_als() -> None:
    # The ALS holds one THIRD_PARTY_LINK per address: revoking one of two consents to the
    # same account must not unlink the other.
    roles = Roles.build()
    first = linked(roles)
    second = linked(roles, (CAROL_CHEQUING, CAROL_SAVINGS), label="-second")

    hops = trace(roles, roles.role(DFSP).linking.revoke(second).messages)

    deletions = [h[1] for h in hops if h[0] == "DELETE" and "THIRD_PARTY_LINK" in h[1]]
    assert deletions == [f"/participants/THIRD_PARTY_LINK/{CAROL_SAVINGS}"]
    assert link_entry(roles, CAROL_CHEQUING) == DFSP
    assert roles.sim.state.consents[first].state is LinkState.ACTIVE


# --- the ALS: DELETE /participants/{Type}/{ID} ---------------------------------------------------


@pytest.mark.parametrize(
    ("source", "identifier", "expected"),
    [
        ("dfspb", FIDO_ACCOUNT, "3000"),  # only the party's current FSP deletes it
        (DFSP, "dfspa.nobody", "3200"),
    ],
    ids=["another-fsp", "unknown"],
)
def test_als_refuses_a_deletion(source: str, identifier: str, expected: str) -> None:
    roles = Roles.build()
    path = f"/participants/THIRD_PARTY_LINK/{identifier}"
    [refused] = exchange(roles, "DELETE", path, to=HUB, source=source).messages
    assert (refused.path, refused.destination, error_code(refused)) == (
        f"{path}/error",
        source,
        expected,
    )
    assert link_entry(roles, FIDO_ACCOUNT) == DFSP


# --- the ALS's error branches while linking ------------------------------------------------------


def refuse(roles: Roles, path_part: str) -> Intercept:
    """The ALS refusing (3200) the registration whose path contains ``path_part``, as a
    rule would make it do: its error callback in the registration's place."""
    body = {"errorInformation": {"errorCode": "3200", "errorDescription": "refused by a rule"}}

    def intercept(message: Message) -> Message | None:
        if message.method != "POST" or path_part not in message.path:
            return None
        return new_message(
            "PUT",
            f"{message.path}/error",
            source=HUB,
            destination=message.source,
            body=body,
            now=roles.clock.now(),
        )

    return intercept


@pytest.mark.parametrize("profile", PROFILES)
def test_als_refusing_an_account_link_fails_the_consent(profile: str) -> None:
    # Digest §7.3: 7214 "Failed to register account links with oracle" (the spec: 6000).
    roles = Roles.build(behaviour={"profile": profile})
    grant = grant_consent(roles, uid("link-refused"), addresses=(CAROL_CHEQUING, CAROL_SAVINGS))
    consent_id = str((grant.body or {})["consentId"])
    path, body = credential_put(grant, new_authenticator("GENERIC"))

    hops = trace(roles, exchange(roles, "PUT", path, body).messages, refuse(roles, CAROL_SAVINGS))

    failed = [h for h in hops if h[3] == PISP]
    assert [(h[0], h[1]) for h in failed] == [("PUT", f"{path}/error")]
    info = (failed[0][4] or {})["errorInformation"]
    assert info["errorCode"] == code(profile, "6000", "7214")
    assert {"key": "downstreamErrorCode", "value": "3200"} in info["extensionList"]["extension"]
    # The link already made is removed; the consent is not one a transfer can use.
    assert ("DELETE", f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}", DFSP, HUB, None) in hops
    assert link_entry(roles, CAROL_CHEQUING) is None
    assert consent_id not in roles.sim.state.consents
    # Nor may the auth-service vouch for it, or the ALS name it.
    consent_path = f"/participants/CONSENT/{consent_id}"
    assert hops[-3:] == [
        ("PATCH", path, DFSP, AUTH, REVOKED),
        ("DELETE", consent_path, AUTH, HUB, None),
        ("PUT", consent_path, HUB, AUTH, {}),
    ]
    assert roles.sim.state.auth_consents[consent_id].status == "REVOKED"
    assert ("CONSENT", consent_id) not in roles.sim.state.oracle
    consent = roles.role(DFSP).linking.consent(consent_id)
    assert consent is not None and consent.state is LinkState.FAILED


@pytest.mark.parametrize("profile", PROFILES)
def test_als_refusing_the_auth_service_registration(profile: str) -> None:
    # Digest §6.1: the auth-service answers 7200 when the ALS returned an error; the DFSP
    # tells the PISP the credential was not verified (7213), with the downstream code.
    roles = Roles.build(behaviour={"profile": profile})
    grant = grant_consent(roles, uid("consent-refused"))
    path, body = credential_put(grant, new_authenticator("GENERIC"))

    hops = trace(roles, exchange(roles, "PUT", path, body).messages, refuse(roles, "/CONSENT/"))

    to_dfsp = [h for h in hops if h[:4] == ("PUT", f"{path}/error", AUTH, DFSP)]
    to_pisp = [h for h in hops if h[:4] == ("PUT", f"{path}/error", DFSP, PISP)]
    assert len(to_dfsp) == len(to_pisp) == 1
    assert (to_dfsp[0][4] or {})["errorInformation"]["errorCode"] == code(profile, "6000", "7200")
    info = (to_pisp[0][4] or {})["errorInformation"]
    assert info["errorCode"] == code(profile, "6200", "7213")
    downstream = code(profile, "6000", "7200")
    assert {"key": "downstreamErrorCode", "value": downstream} in info["extensionList"]["extension"]
    assert not any("THIRD_PARTY_LINK" in h[1] for h in hops)


# --- a rule's consentId --------------------------------------------------------------------------


def test_grant_issues_the_consent_id_a_rule_chose_once() -> None:
    roles = Roles.build()
    linking = roles.role(DFSP).linking
    scopes = [{"address": CAROL_CHEQUING, "actions": ["ACCOUNTS_TRANSFER"]}]
    chosen = uid("rule-consent")

    [issued] = linking.grant(PISP, uid("cr-1"), scopes, consent_id=chosen).messages
    assert (issued.path, (issued.body or {})["consentId"]) == (CONSENTS, chosen)

    for taken in (chosen, FIDO_CONSENT):
        with pytest.raises(ConsentNotGranted, match="already issued") as refused:
            linking.grant(PISP, uid("cr-2"), scopes, consent_id=taken)
        assert refused.value.code_for(roles.config.behaviour.profile) == "6102"


@pytest.mark.parametrize("refused", [(CAROL_CHEQUING,), (CAROL_CHEQUING, CAROL_SAVINGS)])
def test_links_the_als_confirms_after_it_refused_another_are_deleted(
    refused: tuple[str, ...],
) -> None:
    # The ALS refuses the consent's first link, then confirms the second (or refuses it
    # too): the consent has failed, so a link confirmed now is deleted as it is made, and
    # no THIRD_PARTY_LINK is left naming a consent nobody holds.
    roles = Roles.build()
    grant = grant_consent(roles, uid("first-refused"), addresses=(CAROL_CHEQUING, CAROL_SAVINGS))
    consent_id = str((grant.body or {})["consentId"])
    path, body = credential_put(grant, new_authenticator("GENERIC"))
    refusing = [refuse(roles, address) for address in refused]

    def intercept(message: Message) -> Message | None:
        return next((r for r in (f(message) for f in refusing) if r is not None), None)

    hops = trace(roles, exchange(roles, "PUT", path, body).messages, intercept)

    assert [h[:2] for h in hops if h[3] == PISP] == [("PUT", f"{path}/error")]  # told once
    savings = f"/participants/THIRD_PARTY_LINK/{CAROL_SAVINGS}"
    deleted = ("DELETE", savings, DFSP, HUB, None) in hops
    assert deleted is (CAROL_SAVINGS not in refused)
    assert link_entry(roles, CAROL_CHEQUING) is None
    assert link_entry(roles, CAROL_SAVINGS) is None
    consent = roles.role(DFSP).linking.consent(consent_id)
    assert consent is not None and consent.state is LinkState.FAILED and not consent.pending


def test_a_consent_whose_credential_was_refused_is_forgotten_after_the_retention() -> None:
    # The auth-service's error fails the consent before it was published; like any ended
    # conversation it is kept retention_s (300 s) to answer GETs, then forgotten.
    roles = Roles.build()
    grant = grant_consent(roles, uid("credential-refused"))
    consent_id = str((grant.body or {})["consentId"])
    path, body = credential_put(grant, new_authenticator("GENERIC"))
    trace(roles, exchange(roles, "PUT", path, body).messages, refuse(roles, "/CONSENT/"))
    linking = roles.role(DFSP).linking
    failed = linking.consent(consent_id)
    assert failed is not None and failed.state is LinkState.FAILED

    roles.clock.advance(301)
    grant_consent(roles, uid("the-next-one"))  # what ends is swept as others are kept

    assert linking.consent(consent_id) is None
