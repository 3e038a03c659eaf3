"""The hub's own services, socket-free: the ALS (parties, its oracle) and ``/services``.

Messages reach the hub without an ``FSPIOP-Destination`` (as Mojaloop's ALS gets them);
the tests hand them to the hub's role and read the ``Effects`` it returns: the lookup
forwarded to the party's DFSP, or the hub's ``PUT`` answer to the sender. Every refusal is
a table row with its FSPIOP code.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.support.roles import Roles
from tpsim.config_settings import Profile
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.roles.common import error_callback

HUB = "switch"
BOB = ("MSISDN", "16135551212")
ALICE_CHEQUING = "dfspa.alice.chequing"  # linked in the default config (consent 8e34f91d…)
FIDO_CONSENT = "8e34f91d-d078-4077-8263-2c047876fcf6"
CAROL_CHEQUING = "dfspa.carol.chequing"  # not linked yet


@pytest.fixture
def roles() -> Roles:
    return Roles.build()


def ask(
    roles: Roles,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    source: str = "pispa",
) -> Effects:
    """What the hub does with ``method path`` from ``source`` (no FSPIOP-Destination)."""
    message = roles.message(method, path, body, source=source)
    effects: Effects = roles.role(HUB).handle(message)
    return effects


def only(effects: Effects) -> Message:
    assert (effects.timers, effects.cancel, effects.out_of_band) == ([], [], [])
    [message] = effects.messages
    return message


def refusal(roles: Roles, method: str, path: str, body: dict[str, Any] | None = None) -> str:
    with pytest.raises(FspiopError) as raised:
        ask(roles, method, path, body)
    return raised.value.code


def reply(roles: Roles, method: str, path: str, **kwargs: Any) -> tuple[str, str, Any]:
    """The hub's answer: (path, destination, body), checked to be a PUT from the hub."""
    answer = only(ask(roles, method, path, **kwargs))
    assert (answer.method, answer.source) == ("PUT", HUB)
    assert answer.route is not None and answer.route.method == "PUT"
    assert answer.destination is not None
    return answer.path, answer.destination, answer.body


# --- the ALS: GET /parties is forwarded to the DFSP that holds the party ----------------


@pytest.mark.parametrize(
    ("path", "owner"),
    [
        pytest.param(f"/parties/{BOB[0]}/{BOB[1]}", "dfspb", id="party fixture"),
        pytest.param(
            f"/parties/THIRD_PARTY_LINK/{ALICE_CHEQUING}", "dfspa", id="oracle: THIRD_PARTY_LINK"
        ),
        pytest.param(f"/parties/CONSENT/{FIDO_CONSENT}", "central-auth", id="oracle: CONSENT"),
    ],
)
def test_a_party_lookup_is_forwarded_to_its_dfsp(roles: Roles, path: str, owner: str) -> None:
    lookup = roles.message("GET", path, source="pispa")
    forwarded = only(roles.role(HUB).handle(lookup))

    assert forwarded.destination == owner
    assert (forwarded.method, forwarded.path, forwarded.source) == ("GET", path, "pispa")
    assert (forwarded.route, forwarded.params) == (lookup.route, lookup.params)
    # Only FSPIOP-Destination is added; the PISP's own headers go on as it sent them.
    assert {k: v for k, v in forwarded.headers.items() if k != "FSPIOP-Destination"} == dict(
        lookup.headers
    )


@pytest.mark.parametrize(
    ("path", "description"),
    [
        ("/parties/MSISDN/19995550000", "no DFSP has registered MSISDN 19995550000"),
        ("/parties/EMAIL/bob@example.com", "no DFSP has registered EMAIL bob@example.com"),
        (f"/parties/{BOB[0]}/{BOB[1]}/work", f"no DFSP has registered MSISDN {BOB[1]}/work"),
        ("/parties/CONSENT/unknown", "no DFSP has registered CONSENT unknown"),
        # An account's address is no IBAN (it is an ACCOUNT_ID).
        ("/parties/IBAN/dfspb.bob.chequing", "no DFSP has registered IBAN dfspb.bob.chequing"),
    ],
)
def test_an_unknown_party_is_3204(roles: Roles, path: str, description: str) -> None:
    with pytest.raises(FspiopError) as raised:
        ask(roles, "GET", path)
    assert (raised.value.code, raised.value.detail) == ("3204", description)


# --- the oracle: /participants ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fsp_id"),
    [
        pytest.param(f"/participants/CONSENT/{FIDO_CONSENT}", "central-auth", id="CONSENT"),
        pytest.param(
            f"/participants/THIRD_PARTY_LINK/{ALICE_CHEQUING}", "dfspa", id="THIRD_PARTY_LINK"
        ),
    ],
)
def test_the_oracle_answers_who_holds_an_id(roles: Roles, path: str, fsp_id: str) -> None:
    assert reply(roles, "GET", path) == (path, "pispa", {"fspId": fsp_id})


def test_a_registration_is_confirmed_and_then_found(roles: Roles) -> None:
    path = f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"
    assert refusal(roles, "GET", path) == "3200"

    confirmed = reply(roles, "POST", path, body={"fspId": "dfspa"}, source="dfspa")

    assert confirmed == (path, "dfspa", {"fspId": "dfspa"})
    assert roles.sim.state.oracle[("THIRD_PARTY_LINK", CAROL_CHEQUING)] == "dfspa"
    assert reply(roles, "GET", path) == (path, "pispa", {"fspId": "dfspa"})
    forwarded = only(ask(roles, "GET", f"/parties/THIRD_PARTY_LINK/{CAROL_CHEQUING}"))
    assert forwarded.destination == "dfspa"


def test_the_auth_service_registers_a_consent(roles: Roles) -> None:
    consent = "1b1e4c2a-4a07-4c1e-9e2f-0c1b8f1e9a01"
    path = f"/participants/CONSENT/{consent}"

    confirmed = reply(roles, "POST", path, body={"fspId": "central-auth"}, source="central-auth")

    assert confirmed == (path, "central-auth", {"fspId": "central-auth"})
    assert reply(roles, "GET", path) == (path, "pispa", {"fspId": "central-auth"})


def test_a_later_registration_by_the_holder_replaces_the_earlier_one(roles: Roles) -> None:
    # dfspa links Alice's account again (relinked to another consent): still its entry.
    path = f"/participants/THIRD_PARTY_LINK/{ALICE_CHEQUING}"
    confirmed = reply(roles, "POST", path, body={"fspId": "dfspa"}, source="dfspa")
    assert confirmed == (path, "dfspa", {"fspId": "dfspa"})
    assert reply(roles, "GET", path) == (path, "pispa", {"fspId": "dfspa"})


# --- the oracle: a participant registers, replaces and deletes only its own entries ----


def refused_by(
    roles: Roles, method: str, path: str, body: dict[str, Any] | None, source: str
) -> FspiopError:
    with pytest.raises(FspiopError) as raised:
        ask(roles, method, path, body, source=source)
    return raised.value


@pytest.mark.parametrize(
    ("path", "source", "fsp_id"),
    [
        pytest.param(
            f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}", "dfspb", "dfspa", id="link"
        ),
        pytest.param(
            "/participants/CONSENT/5d1b2c6e-4b1f-4f0a-9d7e-0a6f3c2b9e11",
            "pispa",
            "central-auth",
            id="consent",
        ),
        pytest.param("/participants/MSISDN/19995550000", "dfspa", "dfspb", id="party"),
    ],
)
def test_a_registration_naming_another_than_its_sender_is_3100(
    roles: Roles, path: str, source: str, fsp_id: str
) -> None:
    refused = refused_by(roles, "POST", path, {"fspId": fsp_id}, source)
    assert (refused.code, refused.field) == ("3100", "fspId")
    assert refused.detail == (
        f"fspId {fsp_id!r} is not the sender {source!r}: a participant registers only itself"
    )
    _, type_, identifier = path.rsplit("/", 2)
    assert (type_, identifier) not in roles.sim.state.oracle


@pytest.mark.parametrize(
    ("path", "holder", "intruder"),
    [
        pytest.param(
            f"/participants/THIRD_PARTY_LINK/{ALICE_CHEQUING}", "dfspa", "dfspb", id="link"
        ),
        pytest.param(
            f"/participants/CONSENT/{FIDO_CONSENT}", "central-auth", "pispa", id="consent"
        ),
    ],
)
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_only_the_holder_of_an_entry_replaces_or_deletes_it(
    roles: Roles, path: str, holder: str, intruder: str, method: str
) -> None:
    body = {"fspId": intruder} if method == "POST" else None
    refused = refused_by(roles, method, path, body, intruder)
    verb = "replace" if method == "POST" else "delete"
    assert refused.code == "3000"
    assert refused.detail == (
        f"{path.removeprefix('/participants/').replace('/', ' ')} is registered by {holder}:"
        f" only {holder} may {verb} it"
    )
    assert reply(roles, "GET", path) == (path, "pispa", {"fspId": holder})
    assert reply(roles, "DELETE", path, source=holder) == (path, holder, {})


def test_an_entry_naming_no_participant_may_be_taken_over(roles: Roles) -> None:
    # Kept in a --state file from before registrations were checked: nobody holds it.
    roles.sim.state.oracle[("MSISDN", "19995550000")] = HUB
    path = "/participants/MSISDN/19995550000"
    assert reply(roles, "POST", path, body={"fspId": "dfspb"}, source="dfspb") == (
        path,
        "dfspb",
        {"fspId": "dfspb"},
    )


def test_an_answer_is_in_the_conversation_of_the_registration_it_answers(roles: Roles) -> None:
    # The answer names only the address and an fspId; the journal links nothing by the
    # address (it outlives every consent linking it), so the answer carries the consentId
    # its request was sent with (``Message.related``), as its error callback does.
    path = f"/participants/THIRD_PARTY_LINK/{CAROL_CHEQUING}"
    request = dataclasses.replace(
        roles.message("POST", path, {"fspId": "dfspa"}, source="dfspa"), related=("c-1",)
    )
    answer = only(roles.role(HUB).handle(request))
    assert (answer.path, answer.related) == (path, ("c-1",))

    refused = dataclasses.replace(roles.message("DELETE", path, source="dfspb"), related=("c-2",))
    with pytest.raises(FspiopError) as raised:
        roles.role(HUB).handle(refused)
    callback = error_callback(
        refused, raised.value, sender=HUB, profile=Profile.SPEC, now=roles.clock.now()
    )
    assert callback is not None
    assert (callback.path, callback.related) == (f"{path}/error", ("c-2",))


# --- /services ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "providers"),
    [
        ("THIRD_PARTY_DFSP", ["dfspa", "dfspb"]),
        ("PISP", ["pispa"]),
        ("AUTH_SERVICE", ["central-auth"]),
    ],
)
def test_services_lists_the_participants_offering_one(
    roles: Roles, service: str, providers: list[str]
) -> None:
    path = f"/services/{service}"
    assert reply(roles, "GET", path) == (path, "pispa", {"providers": providers})


def test_a_bad_service_type_names_the_good_ones(roles: Roles) -> None:
    with pytest.raises(FspiopError) as raised:
        ask(roles, "GET", "/services/BANK")
    assert (raised.value.code, raised.value.field) == ("3100", "ServiceType")
    assert raised.value.detail == (
        "'BANK' is not a ServiceType; use one of THIRD_PARTY_DFSP, PISP, AUTH_SERVICE"
    )


# --- what the hub does not serve ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        pytest.param("GET", "/participants/CONSENT/unknown", None, "3200", id="unknown id"),
        pytest.param(
            "POST", f"/participants/MSISDN/{BOB[1]}/work", {"fspId": "dfspb"}, "2002", id="SubId"
        ),
        pytest.param("GET", f"/participants/MSISDN/{BOB[1]}/work", None, "2002", id="GET SubId"),
        pytest.param("PUT", "/services/PISP", {"providers": []}, "2002", id="a callback"),
    ],
)
def test_refusals(
    roles: Roles, method: str, path: str, body: dict[str, Any] | None, code: str
) -> None:
    assert refusal(roles, method, path, body) == code


def test_the_hub_sets_no_timers(roles: Roles) -> None:
    assert roles.role(HUB).on_timer("anything") == Effects()


# --- the oracle names participants only: a lookup is never forwarded to the hub --------


@pytest.mark.parametrize(
    ("fsp_id", "why"),
    [
        pytest.param(HUB, "the switch itself", id="the hub"),
        pytest.param("dfspz", "not a participant", id="unknown"),
    ],
)
def test_a_registration_must_name_a_participant(roles: Roles, fsp_id: str, why: str) -> None:
    # Registered to the hub, a party lookup would be forwarded to the hub, which forwards
    # it to itself again, until the recursion limit (seconds of a blocked event loop).
    path = "/participants/MSISDN/19995550000"
    with pytest.raises(FspiopError) as raised:
        ask(roles, "POST", path, {"fspId": fsp_id})
    assert (raised.value.code, raised.value.field) == ("3100", "fspId")
    assert why in raised.value.detail
    assert ("MSISDN", "19995550000") not in roles.sim.state.oracle


def test_a_lookup_the_oracle_sends_to_the_hub_is_3204_not_forwarded(roles: Roles) -> None:
    # An entry naming the hub (kept in a --state file written before registrations were
    # checked) is no DFSP holding the party.
    roles.sim.state.oracle[("MSISDN", "19995550000")] = HUB
    with pytest.raises(FspiopError) as raised:
        ask(roles, "GET", "/parties/MSISDN/19995550000")
    assert raised.value.code == "3204"
