"""The simulated DFSPs' login page: the ``authUri`` of a WEB consent request.

    GET  /login/{fspId}/{consentRequestId}   the form: who asks, the accounts to link
    POST /login/{fspId}/{consentRequestId}   decision=approve (password, account…) → 303 to
                                             the callbackUri with ?consentRequestId=…&secret=…
                                             decision=deny → 303 with ?…&error=access_denied
                                             (the PISP also gets PUT …/error 6102); the
                                             5th wrong password denies it the same way
                                             every POST carries the form's csrf token

One mount of the PSU page family (``serve/pages.py``) over Mojaloop's consent requests
(``mojaloop/roles/psu.py``).
"""

from __future__ import annotations

from aiohttp import web

from tpsim.auth.psu import PsuJourney
from tpsim.mojaloop.message import Effects
from tpsim.mojaloop.roles.psu import consent_request_journey
from tpsim.serve.pages import add_psu_pages
from tpsim.serve.simulation import Simulation


def consent_request(sim: Simulation, fsp_id: str, request_id: str) -> PsuJourney:
    """The sign-in of a consent request at simulated DFSP ``fsp_id``."""
    dfsp = sim.dfsps.get(fsp_id)

    def submit(effects: Effects) -> None:
        sim.router.submit_effects(fsp_id, effects)

    requests = None if dfsp is None else dfsp.consent_requests
    return consent_request_journey(requests, fsp_id, request_id, submit)


def add_login_routes(app: web.Application) -> None:
    add_psu_pages(app, "/login/{fsp_id}/{journey_id}", consent_request)
