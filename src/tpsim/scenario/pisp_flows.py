"""The flows ``tpsim pisp`` plays against a running tpsim, as a PISP plays them: a transfer
from a linked account here, and linking a user's accounts over OTP or WEB
(``pisp_linking``), which sends and awaits with what this module holds.

``against(server, …)`` starts the PISP (``pisp_client.ListeningPisp``) on an ephemeral
loopback port and points the server's PISP at it for the block (``pointed_here``); each
flow sends what a PISP sends, waits for the callbacks the API promises (or the error
callback that ends the conversation), signs for real, and reports every hop to a
``HopLog`` as it happens. A flow returns what it achieved or raises ``FlowFailed`` saying
which message refused or never came; ``CannotPlay`` when the scheme has no such account,
PISP or credential.

``pay`` is a transfer's four hops alone (no lookup, no admin API): what ``tpsim load``
repeats, against tpsim or any switch, with a ``Player`` instead of a ``Flow``. Each
conversation is followed by its own ``Inbox.watch``: nothing is kept beyond live flows.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.config import Config
from tpsim.scenario.harness import Answer, RemoteTpsim
from tpsim.scenario.mojaloop.actions import AUTHZ, TX, transfer_request
from tpsim.scenario.mojaloop.params import InitiateTransfer, Payee
from tpsim.scenario.pisp_client import (
    Callback,
    CannotPlay,
    FlowFailed,
    Inbox,
    ListeningPisp,
    Wanted,
    Watch,
    builtin_signers,
    pointed_here,
)


class HopLog(Protocol):
    """Told of every hop as it happens (``tpsim pisp`` prints them)."""

    def sending(self) -> None:
        """A request is on its way: what arrives before its answer belongs after it."""

    def sent(self, method: str, path: str, destination: str | None, status: int) -> None:
        """tpsim answered ``status`` to the request (0: no answer)."""

    def received(self, callback: Callback) -> None:
        """tpsim sent this callback (hooked to the PISP's inbox)."""

    def note(self, text: str) -> None:
        """What the PISP or its user does between messages."""


@dataclass
class Player:
    """What sending and awaiting need: the PISP, the log, how long a callback may take."""

    pisp: ListeningPisp
    log: HopLog
    timeout: float  # seconds each awaited callback may take


@dataclass
class Flow(Player):
    """What a flow plays with against a running tpsim: also the server and its config."""

    remote: RemoteTpsim
    config: Config


@asynccontextmanager
async def against(
    server: str, *, log: HopLog, pisp: str = "pispa", admin_token: str | None, timeout: float
) -> AsyncIterator[Flow]:
    """A ``Flow`` against the tpsim at ``server``, whose PISP ``pisp`` calls this one back
    during the block; the server's config is put back after it, however it ends. No
    request waits for its answer longer than ``timeout`` either (not aiohttp's five
    minutes: a server that never answers ends the flow within ``--timeout``)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        player = ListeningPisp(http, pisp, inbox=Inbox(keep=False))  # flows watch their ids
        await player.start()
        try:
            remote = RemoteTpsim(server, http, admin_token=admin_token)
            player.tpsim_url = remote.url
            player.inbox.listeners.append(log.received)
            async with pointed_here(remote, pisp, player.url) as config:
                yield Flow(player, log, timeout, remote, config)
        finally:
            await player.close()


async def listen(
    host: str,
    port: int,
    *,
    log: HopLog,
    pisp: str = "pispa",
    ready: Callable[[str], None],
    stop: asyncio.Event,
    inbox: Inbox | None = None,
) -> None:
    """Be the PISP at ``host:port`` until ``stop`` is set: answer every callback as the API
    requires and tell ``log`` of it (for a person following the README with curl, whose
    tpsim was started with ``--pisp-url`` naming this address). Nothing is kept, unless
    in the ``inbox`` given."""
    async with aiohttp.ClientSession() as http:
        player = ListeningPisp(http, pisp, inbox=inbox or Inbox(keep=False))
        await player.start()
        try:
            player.inbox.listeners.append(log.received)
            ready(await player.listen_also(host, port))
            await stop.wait()
        finally:
            await player.close()


# --- sending and awaiting -------------------------------------------------------------------


async def send(
    flow: Player, method: str, path: str, body: Any = None, *, destination: str | None = None
) -> Answer:
    """Send as the PISP; a refusal (4xx, 5xx) ends the flow with tpsim's error."""
    flow.log.sending()
    status = 0
    try:
        answer = await flow.pisp.send(method, path, body, destination=destination)
        status = answer.status
    finally:
        flow.log.sent(method, path, destination, status)
    if status >= 400:
        info = answer.body.get("errorInformation") if isinstance(answer.body, dict) else None
        said = f": {info.get('errorCode')} {info.get('errorDescription')}" if info else ""
        code = f"FSPIOP {info.get('errorCode')}" if info else f"HTTP {status}"
        raise FlowFailed(f"{method} {path}: tpsim answered {status}{said}", code=code)
    return answer


async def expect(
    flow: Player, what: str, wanted: Wanted, *, ended: Wanted, within: Watch
) -> Callback:
    """The first callback of the conversation ``within`` follows that ``wanted`` accepts;
    ``FlowFailed`` when the error callback that ``ended`` accepts comes first, or neither
    comes within the flow's timeout."""
    either: Wanted = lambda c: wanted(c) or ended(c)  # noqa: E731 - one predicate, two waits
    try:
        got = await within.first(either, timeout=flow.timeout)
    except TimeoutError:
        raise FlowFailed(f"no {what} within {flow.timeout:g} s", code="timeout") from None
    if got.error is not None:
        code, description = got.error
        raise FlowFailed(
            f"{got.method} {got.path} from {got.source}: {code} {description}",
            code=f"FSPIOP {code}",
        )
    return got


def answer_to(method: str, template: str, **params: str) -> tuple[Wanted, Wanted]:
    """The callback ``method template`` with these path parameters, and its error callback."""
    return (
        lambda c: c.is_(method, template, **params),
        lambda c: c.is_("PUT", f"{template}/error", **params),
    )


async def admin(flow: Flow, path: str) -> Any:
    """A GET of the admin API (the user's or the bank's side of the story)."""
    answer = await flow.remote.admin("GET", path)
    if answer.status != 200:
        raise FlowFailed(f"GET {path}: tpsim answered {answer.status}: {answer.body}")
    return answer.body


# --- a transfer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferPlan:
    amount: str
    payer: str = "dfspa.alice.chequing"  # a linked account (THIRD_PARTY_LINK)
    payee: str = "16135551212"  # an MSISDN
    credential: SoftwareAuthenticator | None = None  # default: the built-in one for payer


@dataclass(frozen=True, slots=True)
class TransferDone:
    request_id: str
    currency: str
    payee_fsp: str
    balance_before: str
    balance_after: str


async def transfer(flow: Flow, plan: TransferPlan) -> TransferDone:
    """Look the payee up, ask the payer's DFSP for the transfer, sign its challenge, and
    wait for the transfer's end (transfer patterns §2.3 of the Third Party API)."""
    account = await _account(flow, plan.payer)
    signer, signer_name = _signer(flow, plan)
    await _caught_up(flow, plan.payer, signer)
    party = await lookup(flow, "MSISDN", plan.payee)
    payee = Payee(id=plan.payee, fsp=party["partyIdInfo"]["fspId"], name=party.get("name"))
    request_id = str(uuid.uuid4())
    flow.log.note(f"transactionRequestId {request_id}")
    params = InitiateTransfer(
        payer=plan.payer,
        dfsp=account["fspId"],
        payee=payee,
        amount=plan.amount,
        currency=account["currency"],
    )
    await pay(flow, Payment(request_id, params, signer, signer_name))
    after = await _account(flow, plan.payer)
    return TransferDone(
        request_id, account["currency"], payee.fsp or "", account["balance"], after["balance"]
    )


@dataclass(frozen=True, slots=True)
class Payment:
    """One transfer as the PISP asks for it, and the credential that signs its challenge."""

    request_id: str
    initiate: InitiateTransfer
    signer: SoftwareAuthenticator
    signer_name: str = "the credential"


@dataclass(frozen=True, slots=True)
class Paid:
    """When each hop of a completed transfer happened (``time.perf_counter`` seconds):
    the request sent, tpsim's ``PUT …/transactions/{ID}`` and ``POST …/authorizations``
    arrived, the signed ``PUT …/authorizations/{ID}`` sent, the ``PATCH`` arrived."""

    started: float
    received: float
    authorization: float
    approved: float
    finished: float


async def pay(player: Player, payment: Payment) -> Paid:
    """Ask the payer's DFSP for the transfer, sign the challenge it sends, and wait for the
    ``PATCH`` that ends it ACCEPTED / COMPLETED (``FlowFailed`` otherwise, with its code)."""
    request_id, params = payment.request_id, payment.initiate
    with watching(player, request_id) as watch:
        started = time.perf_counter()
        body = transfer_request(request_id, params)
        await send(player, "POST", TX, body, destination=params.dfsp)
        received, failed = answer_to("PUT", f"{TX}/{{ID}}", ID=request_id)
        state = await expect(player, f"PUT {TX}/{{ID}}", received, ended=failed, within=watch)
        authorize = lambda c: c.is_("POST", AUTHZ)  # noqa: E731 - of this transfer: the watch's
        request = await expect(player, f"POST {AUTHZ}", authorize, ended=failed, within=watch)
        player.log.note(f"the user signs the challenge with {payment.signer_name}")
        approval = {"responseType": "ACCEPTED", "signedPayload": signed(payment.signer, request)}
        path = f"{AUTHZ}/{request.get('authorizationRequestId')}"
        approved = time.perf_counter()
        await send(player, "PUT", path, approval, destination=request.source)
        finished = answer_to("PATCH", f"{TX}/{{ID}}", ID=request_id)[0]
        done = await expect(player, f"PATCH {TX}/{{ID}}", finished, ended=failed, within=watch)
    ended = (done.get("transactionRequestState"), done.get("transactionState"))
    if ended != ("ACCEPTED", "COMPLETED"):
        raise FlowFailed(
            f"the transfer ended {ended[0]} / {ended[1]}, not ACCEPTED / COMPLETED",
            code=f"ended {ended[0]} / {ended[1]}",
        )
    return Paid(started, state.arrived, request.arrived, approved, done.arrived)


async def lookup(flow: Flow, kind: str, identifier: str) -> dict[str, Any]:
    """``GET /parties/{Type}/{ID}`` through the ALS: the party its DFSP answers."""
    with watching(flow, identifier) as watch:
        await send(flow, "GET", f"/parties/{kind}/{identifier}")
        found, failed = answer_to("PUT", "/parties/{Type}/{ID}", Type=kind, ID=identifier)
        answer = await expect(
            flow, f"PUT /parties/{kind}/{{ID}}", found, ended=failed, within=watch
        )
    party: dict[str, Any] = answer.get("party")
    return party


@contextmanager
def watching(flow: Player, key: str) -> Iterator[Watch]:
    """Follow the conversation ``key`` for the block (``Inbox.watch``): begun before its
    first request is sent, closed however the block ends, so nothing outlives it."""
    watch = flow.pisp.inbox.watch(key)
    try:
        yield watch
    finally:
        watch.close()


def signed(signer: SoftwareAuthenticator, request: Callback) -> dict[str, Any]:
    """The ``signedPayload`` of ``PUT /thirdpartyRequests/authorizations/{ID}`` over the
    challenge exactly as received."""
    challenge = str(request.get("challenge"))
    if signer.credential_type == "FIDO":
        return {"signedPayloadType": "FIDO", "fidoSignedPayload": signer.assertion(challenge)}
    signature = signer.generic_signature(challenge)
    return {"signedPayloadType": "GENERIC", "genericSignedPayload": signature}


async def _account(flow: Flow, address: str) -> dict[str, Any]:
    accounts = (await admin(flow, "/admin/accounts"))["accounts"]
    found = next((a for a in accounts if a["address"] == address), None)
    if found is None:
        linked = sorted({s.address for c in flow.config.consents for s in c.scopes})
        raise CannotPlay(f"no account {address!r} (linked accounts: {', '.join(linked)})")
    return dict(found)


async def _caught_up(flow: Flow, payer: str, signer: SoftwareAuthenticator) -> None:
    """Start the credential's counter where the server's auth-service has it: a FIDO
    credential read from a file (the built-in ones, ``--credential``) was not told of the
    assertions earlier runs made, and a counter that does not grow is refused (6201)."""
    consents = (await admin(flow, "/admin/consents"))["consents"]
    counts = [
        int(c["credential"]["signCount"])
        for c in consents
        if c.get("pisp") == flow.pisp.fsp_id
        and c.get("credential")
        and any(s.get("address") == payer for s in c.get("scopes") or [])
    ]
    signer.counter = max([signer.counter, *counts])


def _signer(flow: Flow, plan: TransferPlan) -> tuple[SoftwareAuthenticator, str]:
    if plan.credential is not None:
        return plan.credential, "the --credential"
    signers = builtin_signers(flow.config, flow.pisp.fsp_id)
    name = signers.by_account.get(plan.payer)
    if name is None:
        raise CannotPlay(
            f"no built-in credential signs for {plan.payer} (they sign for"
            f" {', '.join(sorted(signers.by_account)) or 'no account'}): give --credential FILE"
        )
    return signers.credentials[name], name
