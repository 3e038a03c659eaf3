"""The built-in PISP of ``tpsim run`` and ``tpsim pisp``.

``BuiltinPisp`` is the PISP scenario steps act as: an HTTP server that answers tpsim's
callbacks as the API requires (and receives the login page's redirect at ``/callback``),
and a client that sends FSPIOP requests with correct headers (and ``X-Tpsim-Sender:
scenario``: in conformance mode, none of them is the PISP's under test). Given ``jws_key``
it signs what it sends (``FSPIOP-Signature``, as a Mojaloop PISP would); given
``jws_trust`` (the public half of tpsim's keyring) it checks tpsim's signatures and answers
a callback whose signature fails with 400 and 3105, which the journal shows on the
``sent`` hop. Given ``timeout`` (``tpsim run --timeout``), each request it sends, and each the
built-in TPPs and the PSU's browser send through it (``request``), gets its answer within
that many seconds or fails its step saying so: a server that accepts and never answers
does not hang the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
from aiohttp import web

from tpsim.auth.jws_keys import JwsPrivateKey
from tpsim.mojaloop.errors import FspiopError, InvalidSignature
from tpsim.mojaloop.wire import jws, routes
from tpsim.mojaloop.wire.headers import build_headers
from tpsim.scenario import attribution
from tpsim.scenario.base import PispAnswer
from tpsim.scenario.expectations import path_fits
from tpsim.scenario.harness import LOOPBACK, Answer, http_request, payload


@dataclass
class BuiltinPisp:
    """The PISP steps act as (``fsp_id`` in the scheme)."""

    session: aiohttp.ClientSession
    fsp_id: str = "pispa"
    answers: list[PispAnswer] = field(default_factory=list)  # status overrides
    jws_key: JwsPrivateKey | None = None  # signs every request but GETs
    jws_trust: jws.Keyring = field(default_factory=jws.Keyring)  # checks tpsim's callbacks
    timeout: float | None = None  # seconds each request may take (None: the session's)
    tpsim_url: str = ""
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> BuiltinPisp:
        app = web.Application()
        app.router.add_get("/callback", self._on_redirect)  # the login page's redirect
        app.router.add_route("*", "/{tail:.*}", self._on_callback)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, 0).start()
        self.url = f"http://{LOOPBACK}:{self._runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _on_callback(self, request: web.Request) -> web.Response:
        data = await request.read()  # tpsim's journal records what arrived
        try:
            self.jws_trust.check(request.method, request.raw_path, request.headers, data or None)
        except InvalidSignature as exc:
            return web.json_response(exc.error_information(), status=exc.http_status)
        for answer in self.answers:
            if answer.method == request.method and path_fits(answer.path, request.path):
                return web.Response(status=answer.status)
        try:
            status = routes.match(request.method, request.path)[0].sync_status
        except FspiopError:
            status = 404
        return web.Response(status=status)

    async def _on_redirect(self, request: web.Request) -> web.Response:
        return web.Response(status=200, text="tpsim built-in PISP: redirect received")

    async def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        destination: str | None = None,
        source: str | None = None,
        headers: dict[str, str | None] | None = None,
        raw: str | None = None,
    ) -> Answer:
        """Send as this PISP; ``headers`` override (None removes one). With ``jws_key`` the
        request is signed as sent, unless ``headers`` set or remove FSPIOP-Signature."""
        try:
            resource = routes.match(method, path)[0].resource
        except FspiopError:
            resource = "thirdparty"
        sent = build_headers(
            method, resource, source or self.fsp_id, destination, datetime.now(UTC)
        )
        # The journal tells the scenario's own messages from a PISP's under test by it.
        sent[attribution.SENT_BY] = attribution.SCENARIO
        if body is None and raw is None:
            sent.pop("Content-Type", None)
        removed: list[str] = []
        for name, value in (headers or {}).items():
            sent = {k: v for k, v in sent.items() if k.lower() != name.lower()}
            if value is None:
                removed.append(name)
            else:
                sent[name] = value
        data = payload(body, raw)
        overridden = {name.lower() for name in headers or {}}
        if self.jws_key is not None and jws.SIGNATURE.lower() not in overridden:
            sent.update(jws.signature_headers(method, path, sent, data, self.jws_key))
        return await self.request(
            method, self.tpsim_url + path, data=data, headers=sent, skip=removed
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        skip: list[str] | None = None,
        at_least: float = 0.0,
    ) -> Answer:
        """``harness.http_request`` within this PISP's ``timeout`` (or ``at_least`` seconds,
        when longer: a request tpsim answers only after a wait of its own): every request a
        step sends to tpsim or a bank's page goes through here (``Unanswered`` when it gets
        no answer in time)."""
        timeout = None if self.timeout is None else max(self.timeout, at_least)
        return await http_request(
            self.session, method, url, data=data, headers=headers, skip=skip, timeout=timeout
        )

    async def login(
        self, auth_uri: str, *, password: str, decision: str, accounts: list[str] | None
    ) -> tuple[Answer, dict[str, str] | None]:
        """Open the DFSP's login page, submit it and follow its redirect: returns the last
        answer and the redirect's query parameters (None when there was no redirect)."""
        page = await self.request("GET", auth_uri)
        if page.status != 200:
            return page, None
        chosen = accounts if accounts is not None else _ACCOUNT.findall(str(page.body))
        form = [("password", password), ("decision", decision)]
        form += [("account", a) for a in chosen]
        form += [("csrf", token) for token in _CSRF.findall(str(page.body))[:1]]
        submitted = await self.request(
            "POST",
            auth_uri,
            data=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        location = submitted.headers.get("Location")
        if submitted.status != 303 or location is None:
            return submitted, None
        followed = await self.request("GET", location)
        return followed, dict(parse_qsl(urlsplit(location).query))


_ACCOUNT = re.compile(r'name="account" value="([^"]+)"')
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')  # the form's token (serve/pages.py)
