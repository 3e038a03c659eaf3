"""A wrong password when an embedded authorisation is started explicitly (``POST
…/authorisations`` with ``psuData.password``): the new authorisation is kept, with the
attempt counted (dropping it would give every guess a fresh count), and the 401
PSU_CREDENTIALS_INVALID carries its ``_links`` (``Error401_NG_PIS`` has them), the
``scaStatus`` and ``updatePsuAuthentication`` a 201 would have given: the TPP retries with
``PUT …/authorisations/{authorisationId}``. The same for a cancellation's authorisation.
Every answer is checked against the official OpenAPI (``World.call``)."""

from __future__ import annotations

from typing import Any

from tpsim.xs2a.api import Answer

from .support import EMBEDDED, ERIKA, MAX, OTP, PASSWORD, SITE, World, single, world
from .test_bank import day

SCT = "payments/sepa-credit-transfers"
EXPLICIT = {**EMBEDDED, "TPP-Explicit-Authorisation-Preferred": "true"}
PREFIX = f"{SITE}/xs2a/dfspa/v1/"


def path(href: str) -> str:
    assert href.startswith(PREFIX), href
    return href.removeprefix(PREFIX)


def refused_with_links(answer: Answer) -> dict[str, Any]:
    """The 401 PSU_CREDENTIALS_INVALID's ``_links``."""
    assert answer.status == 401 and answer.body is not None, answer
    assert answer.body["tppMessages"][0]["code"] == "PSU_CREDENTIALS_INVALID"
    links: dict[str, Any] = answer.body["_links"]
    return links


def balances(w: World) -> tuple[str, str]:
    got = w.balances()
    return got[ERIKA], got[MAX]


def authorise(w: World, update: str) -> dict[str, Any]:
    """The rest of an embedded SCA from its ``updatePsuAuthentication`` link: the right
    password, the first method, the OTP; the last answer's body."""
    answer = w.call("PUT", path(update), {"psuData": {"password": PASSWORD}})
    assert answer.status == 200 and answer.body is not None, answer
    assert answer.body["scaStatus"] == "psuAuthenticated"
    method = answer.body["scaMethods"][0]["authenticationMethodId"]
    select = path(answer.body["_links"]["selectAuthenticationMethod"]["href"])
    answer = w.call("PUT", select, {"authenticationMethodId": method})
    assert answer.status == 200 and answer.body is not None, answer
    answer = w.call(
        "PUT",
        path(answer.body["_links"]["authoriseTransaction"]["href"]),
        {"scaAuthenticationData": OTP},
    )
    assert answer.status == 200 and answer.body is not None, answer
    return answer.body


def test_a_wrong_password_at_an_explicit_start_links_the_kept_authorisation() -> None:
    w = world()
    created = w.initiate(single(), SCT, **EXPLICIT)
    assert created.body is not None and created.authorisation_id is None
    start = path(created.body["_links"]["startAuthorisationWithPsuAuthentication"]["href"])
    refused = w.call("POST", start, {"psuData": {"password": "guess"}})
    links = refused_with_links(refused)
    listed = w.call("GET", start)
    assert listed.body is not None
    (kept,) = listed.body["authorisationIds"]
    assert refused.authorisation_id == kept  # for the journal
    here = f"{PREFIX}{start}/{kept}"
    assert links == {"scaStatus": {"href": here}, "updatePsuAuthentication": {"href": here}}
    # A second start is refused: the kept one is under way, and is the one to continue.
    again = w.call("POST", start, {"psuData": {"password": PASSWORD}})
    assert again.status == 409
    assert authorise(w, links["updatePsuAuthentication"]["href"])["scaStatus"] == "finalised"
    assert w.status(created) == "ACCC"
    assert balances(w) == ("900.00", "100.00")


def test_a_wrong_password_at_the_start_counts_towards_max_attempts() -> None:
    w = world(behaviour={"max_attempts": 2})
    created = w.initiate(single(), SCT, **EXPLICIT)
    assert created.body is not None
    start = path(created.body["_links"]["startAuthorisationWithPsuAuthentication"]["href"])
    first = w.call("POST", start, {"psuData": {"password": "guess"}})
    update = path(refused_with_links(first)["updatePsuAuthentication"]["href"])
    last = w.call("PUT", update, {"psuData": {"password": "guess again"}})
    # The last attempt fails the authorisation: there is no next step, only its status.
    assert refused_with_links(last) == {"scaStatus": {"href": PREFIX + update}}
    assert "no attempts left" in last.body["tppMessages"][0]["text"]  # type: ignore[index]
    got = w.call("GET", update)
    assert got.body is not None and got.body["scaStatus"] == "failed"
    assert w.status(created) == "RJCT"
    late = w.call("PUT", update, {"psuData": {"password": PASSWORD}})
    assert late.status == 409
    assert balances(w) == ("1000.00", "0.00")


def test_a_wrong_password_at_a_cancellation_start_links_the_kept_authorisation() -> None:
    w = world(profile={"payment_cancellation_authorisation_mandated": True})
    created = w.initiate(single(requestedExecutionDate=day(2)), SCT, **EMBEDDED)
    assert created.authorisation_id is not None
    w.auths.approve(created.authorisation_id, None, None)
    assert w.status(created) == "ACTC"
    cancel = w.call("DELETE", f"{SCT}/{created.payment_id}", **EXPLICIT)
    assert cancel.status == 202 and cancel.body is not None
    start = path(cancel.body["_links"]["startAuthorisationWithPsuAuthentication"]["href"])
    assert start.endswith("/cancellation-authorisations")
    links = refused_with_links(w.call("POST", start, {"psuData": {"password": "guess"}}))
    assert links["scaStatus"] == links["updatePsuAuthentication"]
    assert path(links["scaStatus"]["href"]).startswith(start + "/")
    assert authorise(w, links["updatePsuAuthentication"]["href"])["scaStatus"] == "finalised"
    assert w.status(created) == "CANC"
    w.advance(days=3)
    assert balances(w) == ("1000.00", "0.00")


def test_a_wrong_password_on_an_update_links_the_authorisation_too() -> None:
    w = world()
    created = w.initiate(single(), SCT, **EMBEDDED)
    here = f"{SCT}/{created.payment_id}/authorisations/{created.authorisation_id}"
    links = refused_with_links(w.call("PUT", here, {"psuData": {"password": "guess"}}))
    assert links == {
        "scaStatus": {"href": PREFIX + here},
        "updatePsuAuthentication": {"href": PREFIX + here},
    }
