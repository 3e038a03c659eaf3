"""Simulated participants take the switch's error callbacks about their own messages
quietly (issue 15, item 2), socket-free.

When the switch cannot deliver a simulated participant's message it sends that participant
``PUT …/error`` (e.g. ``PUT /parties/{Type}/{ID}/error`` to dfspb after the PISP's endpoint
answered 404). A role with no handler of its own for that callback takes it in
``dispatch``: no error, nothing sent, nothing to wait for (the router journals it as
delivered).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.roles import Roles
from tpsim.mojaloop.errors import NotImplementedYet
from tpsim.mojaloop.message import Effects
from tpsim.mojaloop.roles.dispatch import dispatch
from tpsim.mojaloop.wire import routes

ERROR_ROUTES = [route for route in routes.ROUTES if route.is_error_callback]
PARAMS = {
    "Type": "MSISDN",
    "ID": "b51ec534-ee48-4575-b6a9-ead2955b8069",
    "SubId": "sub",
    "ServiceType": "THIRD_PARTY_DFSP",
}
BODY = {"errorInformation": {"errorCode": "3002", "errorDescription": "Unknown URI"}}
SIMULATED = ["dfspa", "dfspb", "central-auth", "switch"]


def undeliverable(roles: Roles, route: routes.Route, to: str) -> Any:
    """The switch's ``PUT …/error`` on ``route`` to ``to``."""
    path = routes.expand(route.template, PARAMS)
    return roles.message("PUT", path, BODY, source="switch", destination=to)


def quiet(effects: Effects) -> bool:
    return effects == Effects()


@pytest.mark.parametrize("route", ERROR_ROUTES, ids=[r.template for r in ERROR_ROUTES])
def test_an_error_callback_without_a_handler_is_taken_quietly(route: routes.Route) -> None:
    roles = Roles.build()
    assert quiet(dispatch({}, undeliverable(roles, route, "dfspb"), fsp_id="dfspb"))


@pytest.mark.parametrize("to", SIMULATED)
@pytest.mark.parametrize("route", ERROR_ROUTES, ids=[r.template for r in ERROR_ROUTES])
def test_every_simulated_role_takes_error_callbacks_it_has_no_handler_for_quietly(
    route: routes.Route, to: str
) -> None:
    roles = Roles.build()
    role = roles.role(to)
    if (route.method, route.template) in role._handlers:
        pytest.skip(f"{to} handles {route.template} itself (its own tests)")
    assert quiet(role.handle(undeliverable(roles, route, to)))


@pytest.mark.parametrize(
    "path",
    [
        "/parties/MSISDN/123456789/error",  # the PISP's endpoint answered 404 (issue 15)
        "/accounts/carol/error",
        "/consentRequests/b51ec534-ee48-4575-b6a9-ead2955b8069/error",
    ],
)
def test_a_dfsps_undelivered_answer_raises_nothing_and_sends_nothing(path: str) -> None:
    roles = Roles.build()
    message = roles.message("PUT", path, BODY, source="switch", destination="dfspb")
    assert quiet(roles.role("dfspb").handle(message))


def test_a_request_without_a_handler_is_still_refused_as_not_implemented() -> None:
    roles = Roles.build()
    message = roles.message("GET", "/services/PISP", source="pispa", destination="dfspa")
    with pytest.raises(NotImplementedYet, match=r"does not handle GET /services/\{ServiceType\}"):
        roles.role("dfspa").handle(message)
