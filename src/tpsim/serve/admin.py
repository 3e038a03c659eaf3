"""The admin API under ``/admin/`` and ``GET /health`` (documented in the README).

GET    /health                      200 {"status": "OK"} once the scheme is loaded
GET    /admin/journal               ?correlationId=…&since=SEQ&limit=N → {"entries": […]}
                                    (a large one streamed as encoded: ``chunked``)
DELETE /admin/journal               forget the journal
GET    /admin/config                the config in force (JSON)
PUT    /admin/fixtures              replace the config (UTF-8 YAML or JSON, at most 1 MiB); a
                                    coded 400 (413 too large) says why not
PUT    /admin/participants/{fspId}/endpoint  {"endpoint": URL}: an external participant's
                                    base URL, the state kept → {"endpoint", "previous"}
POST   /admin/reset                 rebuild the state from the config in force, clear the journal
GET    /admin/accounts              balances of every account
GET    /admin/consents              consents as the DFSPs and the auth-service hold them
POST   /admin/consents/{ID}/revoke  the user revokes a consent at its (simulated) DFSP: both
                                    the DFSP's and the auth-service's records become REVOKED
                                    and the PISP gets PATCH /consents/{ID} REVOKED
GET    /admin/otp/{consentRequestId}  the OTP a simulated DFSP sent its user ?fspId=…
POST   /admin/clock/advance         {"seconds": N}: move the simulated clock forward; expiries
                                    and timeouts that fall due fire → {"now": …}

A refusal is ``{"error": "<what to fix>"}``, with a ``"code"`` where a client may act on it.
Every ``/admin/`` route needs ``Authorization: Bearer <token>`` when the app has an
``ADMIN_TOKEN`` (401 ``ADMIN_TOKEN_REQUIRED`` / ``ADMIN_TOKEN_INVALID`` otherwise);
``admin_token_for`` decides when it has one. ``/health`` stays open.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import itertools
import json
import math
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from tpsim.config import parse_config
from tpsim.config_yaml import YamlRefused, read_yaml
from tpsim.core.bank import Account
from tpsim.errors import ConfigError, TpsimError
from tpsim.journal import JournalEntry
from tpsim.mojaloop.errors import coded
from tpsim.mojaloop.roles.common import format_amount, format_datetime
from tpsim.serve.body import BodyRefused, read_at_most
from tpsim.serve.chunked import ClientGone, chunks, send_all
from tpsim.serve.clock import LATEST
from tpsim.serve.edge import SIMULATION

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ADMIN_TOKEN = web.AppKey("admin_token", str)

_HOW = (
    "send 'Authorization: Bearer <token>' with the token tpsim serve was given"
    " (--admin-token or TPSIM_ADMIN_TOKEN) or, if it was given none, the one it printed when"
    " it started; tpsim run, tpsim pisp and tpsim load take it as --admin-token"
)


def is_loopback(host: str) -> bool:
    """Whether a server bound to ``host`` is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback  # 127.0.0.0/8, ::1
    except ValueError:
        return False  # another name, or "" / 0.0.0.0 / :: (every interface)


def admin_token_for(host: str, configured: str | None) -> str | None:
    """The token the admin API requires when served on ``host``: the configured one, else
    none on loopback (``curl localhost:4040/admin/…`` keeps working), else a fresh random
    one that the caller must print, since another machine could reach the API."""
    if configured:
        return configured
    return None if is_loopback(host) else secrets.token_urlsafe(32)


def admin_only(handler: Handler) -> Handler:
    """``handler``, answering 401 instead when the app has an ``ADMIN_TOKEN`` that the
    request does not bear. Wrapping each admin route costs nothing on the FSPIOP path."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        expected = request.app.get(ADMIN_TOKEN)
        if expected is None:
            refused = _from_a_browser_elsewhere(request)
            return refused if refused is not None else await handler(request)
        header = request.headers.get(hdrs.AUTHORIZATION)
        if header is None:
            return _unauthorized("ADMIN_TOKEN_REQUIRED", f"the admin API needs a token: {_HOW}")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not _same(given.strip(), expected):
            return _unauthorized("ADMIN_TOKEN_INVALID", f"the admin token is not valid: {_HOW}")
        return await handler(request)

    return guarded


def _from_a_browser_elsewhere(request: web.Request) -> web.Response | None:
    """Without a token (tpsim on loopback), the 403 for a request that a web page of
    another site made the user's browser send, or None.

    Loopback keeps other machines out, not the pages the developer's browser opens: a
    page may send a simple cross-site POST (resetting the scheme, moving its clock), and a
    DNS-rebound name may read answers. So the Host must be a loopback name or address, and
    a browser request that says it comes from elsewhere (``Origin``, ``Sec-Fetch-Site``)
    is refused. curl and tpsim's own clients send neither.
    """
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    if not is_loopback(host):
        return problem(403, f"the admin API answers on a loopback address, not {host!r}")
    site = request.headers.get("Sec-Fetch-Site", "none")
    origin = request.headers.get(hdrs.ORIGIN)
    # Another local port is another site too (a dev server on localhost:3000).
    foreign = origin is not None and urlsplit(origin).netloc != request.host
    if foreign or site not in ("none", "same-origin", "same-site"):
        return problem(403, "the admin API does not answer requests made by other sites")
    return None


def _same(given: str, expected: str) -> bool:
    """Compare in constant time, so the answer's timing does not tell how much matched."""
    encoded = given.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(encoded, expected.encode("utf-8", "surrogateescape"))


def _unauthorized(code: str, detail: str) -> web.Response:
    challenge = 'Bearer realm="tpsim admin"'
    if code == "ADMIN_TOKEN_INVALID":
        challenge += ', error="invalid_token"'  # RFC 6750 §3
    response = problem(401, detail, code=code)
    response.headers[hdrs.WWW_AUTHENTICATE] = challenge
    return response


# What the admin API documents as an integer: ASCII digits, perhaps after a minus. Python's
# int() also reads "1_0", " 12 ", "+5" and other scripts' digits ("١٢"), which no client
# means as a number.
_WHOLE = re.compile(r"-?[0-9]+")


class NotANumber(ValueError):
    """A request's number parameter that is not one; its text says which and what to send."""


def whole_number(text: str, name: str) -> int:
    """``text`` (the parameter ``name``) as an integer, or ``NotANumber`` naming it: the
    one reading of every number parameter of the admin API."""
    if _WHOLE.fullmatch(text) is None:
        raise NotANumber(f"{name} must be a whole number in ASCII digits, not {text[:40]!r}")
    try:
        return int(text)
    except ValueError:  # past int()'s 4,300 digits
        raise NotANumber(f"{name} is too large: {text[:40]}…") from None


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "OK"})


async def get_journal(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIMULATION]
    query = request.query
    try:
        since = whole_number(query.get("since", "0"), "since")
        limit = whole_number(query["limit"], "limit") if "limit" in query else None
    except NotANumber as exc:
        return problem(400, str(exc))
    if limit is not None and limit < 0:
        return problem(400, f"limit is at most how many entries to give: 0 or more, not {limit}")
    entries = sim.journal.entries(
        correlation_id=query.get("correlationId"), since=since, limit=limit
    )
    return await _entries_answer(request, entries)


async def _entries_answer(request: web.Request, entries: list[JournalEntry]) -> web.StreamResponse:
    """``{"entries": [...]}``, byte for byte what ``web.json_response`` made of it. One
    chunk (``chunked.CHUNK_BYTES``) or less goes as one body, as before; a longer one is
    streamed as it is encoded, a chunk at a time between other requests: encoded whole, a
    full journal (64 MiB by default) held the event loop for seconds."""
    pieces = chunks(_entries_json(entries))
    first = next(pieces)
    second = next(pieces, None)
    if second is None:
        return web.Response(body=first, content_type="application/json", charset="utf-8")
    response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "application/json; charset=utf-8"})
    await response.prepare(request)
    try:
        await send_all(request, response, itertools.chain((first, second), pieces))
    except ClientGone:
        pass
    return response


def _entries_json(entries: list[JournalEntry]) -> Iterator[bytes]:
    """The pieces of ``{"entries": [...]}``, one per entry, each encoded when pulled."""
    yield b'{"entries": ['
    for n, entry in enumerate(entries):
        yield (b", " if n else b"") + entry.json_text().encode()
    yield b"]}"


async def clear_journal(request: web.Request) -> web.Response:
    request.app[SIMULATION].journal.clear()
    return web.Response(status=204)


async def get_config(request: web.Request) -> web.Response:
    """The config in force; signing keys are shown as set, never as themselves."""
    config = request.app[SIMULATION].config.model_dump(mode="json")
    for holder in (config["hub"], *config["participants"]):
        if holder.get("jws_private_key_pem"):
            holder["jws_private_key_pem"] = "<set>"
    return web.json_response(config)


# The built-in config is 4 KB; a scheme a thousand times larger is still a fixture.
MAX_FIXTURES_BYTES = 1_048_576


async def put_fixtures(request: web.Request) -> web.Response:
    sim = request.app[SIMULATION]
    try:
        raw = await read_at_most(request, MAX_FIXTURES_BYTES, sim.config.server.body_timeout_s)
    except BodyRefused as exc:
        if exc.status == 413:
            return problem(
                413,
                f"the fixtures must be at most {MAX_FIXTURES_BYTES} bytes of YAML or JSON",
                code="FIXTURES_TOO_LARGE",
            )
        return problem(exc.status, exc.detail, code="FIXTURES_UNREADABLE")
    where = "PUT /admin/fixtures"
    try:
        sim.load(parse_config(read_yaml(raw, file=where), file=where, raw=raw))
    except YamlRefused as exc:
        return problem(400, str(exc), code=f"FIXTURES_{exc.code}")
    except ConfigError as exc:
        return problem(400, str(exc), code="FIXTURES_INVALID")
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
    held = [*state.consents, *state.auth_consents]
    for consent_id in dict.fromkeys(c.consent_id for c in held):
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
        return problem(404, f"no DFSP simulated by tpsim holds consent {consent_id}")
    try:
        effects = holder.linking.revoke(consent_id)
    except TpsimError as exc:
        return problem(409, coded(exc).detail)
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
        return problem(404, f"no simulated DFSP sent an OTP for consent request {request_id}")
    if len(found) > 1:
        return problem(409, f"several DFSPs hold consent request {request_id}: add ?fspId=")
    return web.json_response(found[0])


# Ten years: far enough for any expiry or schedule, near enough for datetime arithmetic.
MAX_ADVANCE_S = 10 * 366 * 86_400


async def advance_clock(request: web.Request) -> web.Response:
    sim = request.app[SIMULATION]
    try:
        raw = await read_at_most(request, MAX_ADVANCE_BODY, sim.config.server.body_timeout_s)
        body = json.loads(raw)
    except BodyRefused as exc:
        return problem(exc.status, exc.detail)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to decode
        return problem(400, 'the body must be JSON: {"seconds": N}')
    refused = members_refused(body, "seconds", example='{"seconds": 60}')
    if refused is not None:
        return refused
    seconds = body["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return problem(400, 'seconds must be a number: {"seconds": 60}')
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_ADVANCE_S:
        return problem(400, f"seconds must be between 0 and {MAX_ADVANCE_S} (time only moves on)")
    now = sim.clock.now()
    at_latest = problem(
        400,
        f"the clock is at {format_datetime(now)} and cannot move past"
        f" {format_datetime(LATEST)}: restart tpsim to start from today again",
        code="CLOCK_AT_LATEST",
    )
    if now + timedelta(seconds=seconds) > LATEST:  # advanced often: datetime would overflow
        return at_latest
    try:
        sim.clock.advance(float(seconds))
    except ValueError:  # the clock's own bound, in unrounded seconds (serve.clock)
        return at_latest
    return web.json_response({"now": format_datetime(sim.clock.now())})


MAX_ADVANCE_BODY = 1024  # {"seconds": N} and nothing much else


async def point_participant(request: web.Request) -> web.Response:
    """``PUT /admin/participants/{fspId}/endpoint {"endpoint": URL}``: an external
    participant's base URL changed, the scheme's state kept (``PUT /admin/fixtures`` starts
    it afresh): ``{"endpoint": new, "previous": old}``."""
    sim = request.app[SIMULATION]
    try:
        raw = await read_at_most(request, MAX_ADVANCE_BODY * 4, sim.config.server.body_timeout_s)
        body = json.loads(raw)
    except BodyRefused as exc:
        return problem(exc.status, exc.detail)
    except (ValueError, RecursionError):
        return problem(400, 'the body must be JSON: {"endpoint": "http://127.0.0.1:5000"}')
    example = '{"endpoint": "http://127.0.0.1:5000"}'
    refused = members_refused(body, "endpoint", example=example)
    if refused is not None:
        return refused
    endpoint = body["endpoint"]
    if not isinstance(endpoint, str):
        return problem(400, 'endpoint must be a string: {"endpoint": "http://127.0.0.1:5000"}')
    fsp_id = request.match_info["fsp_id"]
    if not any(p.fsp_id == fsp_id and p.endpoint for p in sim.config.participants):
        return problem(404, f"{fsp_id} is no external participant of the config in force")
    try:
        previous = sim.point(fsp_id, endpoint)
    except ConfigError as exc:  # no http(s) base URL
        return problem(400, str(exc))
    return web.json_response({"endpoint": endpoint, "previous": previous})


def members_refused(
    body: Any, *required: str, optional: tuple[str, ...] = (), example: str
) -> web.Response | None:
    """The 400 for an admin body that is not a JSON object, has a member the route does not
    take (``BODY_MEMBER_UNKNOWN``: a misspelt one would be silently ignored) or lacks one
    it requires (``BODY_MEMBER_MISSING``), naming them; None when it has neither."""
    if not isinstance(body, dict):
        return problem(400, f"the body must be a JSON object: {example}")
    unknown = [str(name)[:40] for name in body if name not in (*required, *optional)]
    missing = [name for name in required if name not in body]
    lacks = f"; {', '.join(missing)} missing" if missing else ""
    if unknown:
        takes = ", ".join([*required, *(f"{o} (optional)" for o in optional)])
        detail = f"unknown member {', '.join(unknown)}{lacks}: the body takes {takes}"
        return problem(400, f"{detail}, e.g. {example}", code="BODY_MEMBER_UNKNOWN")
    if missing:
        detail = f"{', '.join(missing)} missing from the body, e.g. {example}"
        return problem(400, detail, code="BODY_MEMBER_MISSING")
    return None


def problem(status: int, detail: str, *, code: str | None = None) -> web.Response:
    body = {"error": detail} if code is None else {"error": detail, "code": code}
    return web.json_response(body, status=status)


ADMIN_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/admin/journal", get_journal),
    ("DELETE", "/admin/journal", clear_journal),
    ("GET", "/admin/config", get_config),
    ("PUT", "/admin/fixtures", put_fixtures),
    ("POST", "/admin/reset", reset),
    ("GET", "/admin/accounts", get_accounts),
    ("GET", "/admin/consents", get_consents),
    ("POST", "/admin/consents/{consent_id}/revoke", revoke_consent),
    ("GET", "/admin/otp/{request_id}", get_otp),
    ("POST", "/admin/clock/advance", advance_clock),
    ("PUT", "/admin/participants/{fsp_id}/endpoint", point_participant),
]


_DOCS = "GET /admin/openapi.json"  # where a client finds the admin API


async def no_admin_route(request: web.Request) -> web.Response:
    """A request under ``/admin/`` (or to ``/health``, ``/metrics``, ``/ui``) that no route
    takes: 405 with ``Allow`` when the path is an admin resource's, else 404, both in the
    admin API's format (behind the token like every admin route but ``/health`` and
    ``/ui``), never the FSPIOP edge's "no Third Party resource"."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.canonical.startswith("/admin/") or resource.canonical == request.path:
            _, methods = await resource.resolve(request)
            allowed |= methods
    if not allowed:
        return problem(404, f"no admin API resource at {request.path}: see {_DOCS}")
    allow = ", ".join(sorted(allowed))
    answer = problem(405, f"{request.method} is not allowed on {request.path}: use {allow}")
    answer.headers["Allow"] = allow
    return answer


def add_admin_routes(
    app: web.Application, more: list[tuple[str, str, Handler]] | None = None
) -> None:
    """``/health`` (open) and every admin route (``more``: a dialect's), each behind
    ``admin_only``."""
    app.router.add_get("/health", health)
    for method, path, handler in [*ADMIN_ROUTES, *(more or [])]:
        app.router.add_route(method, path, admin_only(handler))
