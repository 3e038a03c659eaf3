"""The admin API under ``/admin/`` and ``GET /health`` (documented in the README).

GET    /health                      200 {"status": "OK"} once the scheme is loaded
GET    /admin/journal               ?correlationId=…&since=SEQ&limit=N → {"entries": […]}
DELETE /admin/journal               forget the journal
GET    /admin/config                the config in force (JSON)
PUT    /admin/fixtures              replace the config (YAML or JSON body); 400 says why not
POST   /admin/reset                 rebuild the state from the config in force, clear the journal
GET    /admin/accounts              balances of every account
GET    /admin/consents              consents as the DFSPs and the auth-service hold them
POST   /admin/consents/{ID}/revoke  the user revokes a consent at its (simulated) DFSP: both
                                    the DFSP's and the auth-service's records become REVOKED
                                    and the PISP gets PATCH /consents/{ID} REVOKED
GET    /admin/otp/{consentRequestId}  the OTP a simulated DFSP sent its user ?fspId=…
POST   /admin/clock/advance         {"seconds": N}: move the simulated clock forward; expiries
                                    and timeouts that fall due fire → {"now": …}
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from aiohttp import web

from tpsim.config import parse_config
from tpsim.core.bank import Account
from tpsim.errors import ConfigError, TpsimError
from tpsim.mojaloop.errors import coded
from tpsim.mojaloop.roles.common import format_amount, format_datetime
from tpsim.serve.edge import SIMULATION


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "OK"})


async def get_journal(request: web.Request) -> web.Response:
    sim = request.app[SIMULATION]
    query = request.query
    try:
        since = int(query.get("since", "0"))
        limit = int(query["limit"]) if "limit" in query else None
    except ValueError:
        return _problem(400, "since and limit must be whole numbers")
    entries = sim.journal.entries(
        correlation_id=query.get("correlationId"), since=since, limit=limit
    )
    return web.json_response({"entries": [e.to_json() for e in entries]})


async def clear_journal(request: web.Request) -> web.Response:
    request.app[SIMULATION].journal.clear()
    return web.Response(status=204)


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[SIMULATION].config.model_dump(mode="json"))


async def put_fixtures(request: web.Request) -> web.Response:
    sim = request.app[SIMULATION]
    text = await request.text()
    try:
        data = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        return _problem(400, f"the body is neither YAML nor JSON: {exc}")
    try:
        sim.load(parse_config(data, file="PUT /admin/fixtures"))
    except ConfigError as exc:
        return _problem(400, str(exc))
    return web.json_response({"status": "loaded"})


async def reset(request: web.Request) -> web.Response:
    sim = request.app[SIMULATION]
    sim.reset()
    sim.journal.clear()
    return web.json_response({"status": "reset"})


async def get_accounts(request: web.Request) -> web.Response:
    """Every account with its available balance: funds reserved for a transfer under way
    are already gone from it (``core.ledger``)."""
    bank = request.app[SIMULATION].state.bank
    return web.json_response(
        {
            "accounts": [
                {
                    "address": a.address,
                    "fspId": a.fsp_id,
                    "owner": a.owner,
                    "currency": a.currency,
                    "balance": format_amount(bank.ledger.available(a.address)),
                    **_aliases(a),
                }
                for a in bank.accounts.values()
            ]
        }
    )


def _aliases(account: Account) -> dict[str, str]:
    named = {"iban": account.iban, "sortCodeAccountNumber": account.sort_code_account_number}
    return {key: value for key, value in named.items() if value}


async def get_consents(request: web.Request) -> web.Response:
    """Consents as the DFSPs hold them, joined with what the auth-service holds.

    A consent registered at the auth-service by an external DFSP has no DFSP-side record
    here: it is listed with ``pisp`` and ``status`` null.
    """
    state = request.app[SIMULATION].state
    consents: list[dict[str, Any]] = []
    for consent_id in dict.fromkeys([*state.consents, *state.auth_consents]):
        dfsp_side = state.consents.get(consent_id)
        auth = state.auth_consents.get(consent_id)
        credential = None
        if auth is not None:
            credential = {
                "credentialType": auth.credential.credential_type,
                "signCount": auth.credential.sign_count,
                "status": auth.status,
            }
        consents.append(
            {
                "consentId": consent_id,
                "pisp": dfsp_side.pisp if dfsp_side else None,
                "dfsp": dfsp_side.dfsp if dfsp_side else auth.dfsp if auth else None,
                "scopes": dfsp_side.scopes if dfsp_side else auth.scopes if auth else [],
                "status": dfsp_side.status if dfsp_side else None,
                "credential": credential,
            }
        )
    return web.json_response({"consents": consents})


async def revoke_consent(request: web.Request) -> web.Response:
    sim = request.app[SIMULATION]
    consent_id = request.match_info["consent_id"]
    holder = next((d for d in sim.dfsps.values() if d.linking.holds(consent_id)), None)
    if holder is None:
        return _problem(404, f"no DFSP simulated by tpsim holds consent {consent_id}")
    try:
        effects = holder.linking.revoke(consent_id)
    except TpsimError as exc:
        return _problem(409, coded(exc).detail)
    sim.router.submit_effects(holder.fsp_id, effects)
    revoked_at = holder.linking.revoked_at(consent_id)
    return web.json_response(
        {
            "consentId": consent_id,
            "fspId": holder.fsp_id,
            "status": "REVOKED",
            "revokedAt": format_datetime(revoked_at) if revoked_at else None,
        }
    )


async def get_otp(request: web.Request) -> web.Response:
    sim = request.app[SIMULATION]
    request_id = request.match_info["request_id"]
    wanted = request.query.get("fspId")
    found = [
        otp
        for fsp_id, dfsp in sim.dfsps.items()
        if wanted in (None, fsp_id) and (otp := dfsp.consent_requests.otp(request_id))
    ]
    if not found:
        return _problem(404, f"no simulated DFSP sent an OTP for consent request {request_id}")
    if len(found) > 1:
        return _problem(409, f"several DFSPs hold consent request {request_id}: add ?fspId=")
    return web.json_response(found[0])


# Ten years: far enough for any expiry or schedule, near enough for datetime arithmetic.
MAX_ADVANCE_S = 10 * 366 * 86_400


async def advance_clock(request: web.Request) -> web.Response:
    sim = request.app[SIMULATION]
    try:
        body = await request.json()
    except ValueError:
        return _problem(400, 'the body must be JSON: {"seconds": N}')
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return _problem(400, 'seconds must be a number: {"seconds": 60}')
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_ADVANCE_S:
        return _problem(400, f"seconds must be between 0 and {MAX_ADVANCE_S} (time only moves on)")
    sim.clock.advance(float(seconds))
    return web.json_response({"now": format_datetime(sim.clock.now())})


def _problem(status: int, detail: str) -> web.Response:
    return web.json_response({"error": detail}, status=status)


def add_admin_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/admin/journal", get_journal)
    app.router.add_delete("/admin/journal", clear_journal)
    app.router.add_get("/admin/config", get_config)
    app.router.add_put("/admin/fixtures", put_fixtures)
    app.router.add_post("/admin/reset", reset)
    app.router.add_get("/admin/accounts", get_accounts)
    app.router.add_get("/admin/consents", get_consents)
    app.router.add_post("/admin/consents/{consent_id}/revoke", revoke_consent)
    app.router.add_get("/admin/otp/{request_id}", get_otp)
    app.router.add_post("/admin/clock/advance", advance_clock)
