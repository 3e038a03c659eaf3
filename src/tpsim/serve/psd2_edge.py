"""What every PSD2 edge does the same way: read a request's body (bounded in size and
time), the URL the caller reached tpsim at, and journal an exchange as two hops (the
request ``received``, the answer ``sent``) or a user's browser sent on (``out-of-band``,
with its ``redirect``), in the dialect's name and linked by the resources' ids; and tell
the traffic log and metrics of each exchange (``serve.traffic``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from tpsim.auth.psu import UnknownJourney
from tpsim.core.errors import MalformedBody
from tpsim.core.json_body import decode_object
from tpsim.errors import LoginRefused
from tpsim.journal import Direction, Hop, HttpExchange
from tpsim.serve.edge import SIMULATION
from tpsim.serve.pages import JourneyFinder, PsuPages
from tpsim.serve.traffic import UNMATCHED, Seen, elapsed_ms

MAX_BODY_BYTES = 512 * 1024  # a bulk of 100 payments, a UK consent: well under this
# A body nested deeper, or with a longer number, is journaled as an excerpt of its text:
# looser than any dialect's own limits, which refuse such a body anyway.
JOURNAL_DEPTH = 64
JOURNAL_NUMBER_CHARS = 1000


def encoded(body: dict[str, Any] | None) -> bytes | None:
    """An answer's body as the XS2A and STET edges send it (``json.dumps``, as aiohttp's
    ``json_response``)."""
    return None if body is None else json.dumps(body).encode()


def json_answer(status: int, headers: dict[str, str], sent: bytes | None) -> web.Response:
    """The answer, its body the bytes ``sent`` (those the journal counted), if any."""
    if sent is None:
        return web.Response(status=status, headers=headers)
    return web.Response(
        body=sent, status=status, headers=headers, content_type="application/json", charset="utf-8"
    )


def site(request: web.Request) -> str:
    """The URL the caller reached tpsim at (or ``web.public_url``), for absolute links."""
    configured = request.app[SIMULATION].config.behaviour.linking.web.public_url
    return configured or str(request.url.origin())


def journal_exchange(
    request: web.Request,
    raw: bytes,
    *,
    dialect: str,
    client: str,
    bank: str,
    status: int,
    headers: dict[str, str],
    body: dict[str, Any] | None,
    related: Iterable[str | None],
    error: str | None,
    sent: bytes | None,
) -> None:
    """The request from ``client`` to ``bank`` and the answer (``status``, ``headers``,
    ``body``, sent as the bytes ``sent``; ``error`` its code when refused), as two hops of
    ``dialect``."""
    sim = request.app[SIMULATION]
    ids = tuple(i for i in related if i)
    now = sim.clock.now()
    path = request.path_qs
    asked = HttpExchange(
        request.method, path, dict(request.headers), _json_or_none(raw), client, bank, ids
    )
    entry = sim.journal.record(
        Hop.RECEIVED, asked, at=now, raw=raw or None, error=error, dialect=dialect
    )
    answer = HttpExchange(request.method, path, headers, body, bank, client, ids)
    # Sized as sent: an answer echoing a bulk of payments is far from a fixed size.
    sim.journal.record(
        Hop.SENT,
        answer,
        at=now,
        status=status,
        direction=Direction.OUT,
        dialect=dialect,
        raw=sent,
    )
    traffic = sim.router.traffic
    if traffic.watched():
        route = _template(request.path, ids, status)
        ms = elapsed_ms(request)
        traffic.seen(Seen(entry, route, status, ms, code=error, answer=body))


def journal_redirect(
    request: web.Request,
    location: str,
    status: int,
    *,
    dialect: str,
    bank: str,
    related: Iterable[str | None],
) -> None:
    """The user's browser sent from ``bank``'s page to ``location``."""
    sim = request.app[SIMULATION]
    ids = tuple(i for i in related if i)
    hop = HttpExchange(request.method, request.path, {}, None, bank, "psu", ids, location)
    sim.journal.record(
        Hop.OUT_OF_BAND,
        hop,
        at=sim.clock.now(),
        status=status,
        direction=Direction.OUT,
        dialect=dialect,
    )


def _template(path: str, ids: tuple[str, ...], status: int) -> str:
    """``path`` as a route template, so that a metric's labels stay few: the bank's fspId
    and the resources' ids named (``/xs2a/{fspId}/v1/payments/sepa-credit-transfers/{id}``);
    a path that named no resource and was not found is ``UNMATCHED``."""
    segments = path.split("/")
    if len(segments) > 2:
        segments[2] = "{fspId}"  # /{dialect}/{fspId}/…
    named = False
    for index, segment in enumerate(segments):
        if segment in ids:
            segments[index], named = "{id}", True
    if status in (404, 405) and not named:
        return UNMATCHED
    return "/".join(segments)


def _json_or_none(raw: bytes) -> dict[str, Any] | None:
    """The body as the journal keeps it: a JSON object (RFC 8259: no ``NaN``, nested no
    deeper than ``JOURNAL_DEPTH``, numbers no longer than ``JOURNAL_NUMBER_CHARS``), else
    None and the journal keeps an excerpt of ``raw``. A body ``json.loads`` reads but JSON
    has not would come out of ``GET /admin/journal``, the live stream and the JSONL file
    as no JSON, or not at all (a deep one makes copying the entry raise)."""
    if not raw.strip():
        return None
    try:
        return decode_object(
            raw,
            max_depth=JOURNAL_DEPTH,
            max_number_chars=JOURNAL_NUMBER_CHARS,
            duplicate_keys="last",
        )
    except MalformedBody:
        return None


# (the request, approve?) → where the browser goes back to (a 302), or a plain-text answer
# (status, text) when there is no browser to send back (a decoupled decision).
HeadlessDecision = Callable[[web.Request, bool], "str | tuple[int, str]"]
# (the request, the Location, its status) → the redirect journaled in its conversation.
RedirectJournal = Callable[[web.Request, str, int], None]


class SwitchablePages:
    """A dialect's SCA page (the page family ``serve.pages`` over ``find``) with DESIGN.md's
    headless switch: ``sim_decision=approve|deny`` on the link decides at once through
    ``decide`` and answers the final 302 without HTML (while the bank's
    ``behaviour.psd2.headless`` is on); every redirect is journaled with ``journal``."""

    def __init__(
        self, find: JourneyFinder, decide: HeadlessDecision, journal: RedirectJournal
    ) -> None:
        self._pages, self._decide, self._journal = PsuPages(find), decide, journal

    async def show(self, request: web.Request) -> web.StreamResponse:
        decision = request.query.get("sim_decision")
        if decision is None:
            return await self._pages.show(request)
        return self._headless(request, decision)

    async def submit(self, request: web.Request) -> web.StreamResponse:
        response = await self._pages.submit(request)
        if response.status == 303:
            self._journal(request, response.headers["Location"], 303)
        request.app[SIMULATION].psd2.arm()
        return response

    def _headless(self, request: web.Request, decision: str) -> web.Response:
        sim = request.app[SIMULATION]
        fsp_id = request.match_info["fsp_id"]
        if decision not in ("approve", "deny"):
            return _text(400, "sim_decision is approve or deny")
        if fsp_id in sim.psd2.oauth and not sim.config.psd2(fsp_id).headless:
            return _text(403, f"headless SCA is off at {fsp_id} (behaviour.psd2.headless)")
        try:
            outcome = self._decide(request, decision == "approve")
        except UnknownJourney as exc:
            return _text(404, str(exc))
        except LoginRefused as exc:
            return _text(exc.http_status, str(exc))
        finally:
            sim.psd2.arm()
        if isinstance(outcome, tuple):
            return _text(*outcome)
        self._journal(request, outcome, 302)
        return web.Response(status=302, headers={"Location": outcome})


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers={"Cache-Control": "no-store"})
