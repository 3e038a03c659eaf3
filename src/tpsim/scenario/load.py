"""``tpsim load``'s driver: workers that run complete flows back to back, at a target rate
or as fast as they can, until a number of flows or a duration is reached.

A worker is a ``Run``: one complete flow each call, returning how long it and each of its
hops took, or raising ``FlowFailed`` with the failure's code. Each worker has its own
account (and, for transfers, its own consent and credential: a FIDO credential's counter
must grow with every assertion, so one credential cannot sign two transfers at once).
The flows are ``transfer_run`` here (``pisp_flows.pay``: the request, the switch's ``PUT
…/transactions/{ID}`` and ``POST …/authorizations``, the signed answer, the ``PATCH``),
``load_link.link_run`` and ``load_psd2.psd2_run``. With ``rate`` the starts are paced
(start *k* is due ``k / rate`` seconds after the first); a start that finds every worker
busy waits for one, so the rate reached is at most what the workers can do. Outcomes go
to ``load_report.LoadStats``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.scenario.harness import HarnessError
from tpsim.scenario.load_report import FLOW_HOPS, LoadStats
from tpsim.scenario.mojaloop.params import InitiateTransfer, Payee
from tpsim.scenario.pisp_client import FlowFailed
from tpsim.scenario.pisp_flows import Paid, Payment, Player, pay


@dataclass(frozen=True, slots=True)
class Completed:
    """A flow that completed: its duration and its hops', in seconds."""

    seconds: float
    hops: dict[str, float]

    @classmethod
    def of(cls, flow: str, started: float, ended: float, *spans: tuple[float, float]) -> Completed:
        """A ``flow`` from ``started`` to ``ended``, its hops (``FLOW_HOPS[flow]``, in
        order) each spanning ``(from, to)`` (``time.perf_counter`` seconds)."""
        took = (to - since for since, to in spans)
        return cls(ended - started, dict(zip(FLOW_HOPS[flow], took, strict=True)))


Run = Callable[[str], Awaitable[Completed]]  # one flow of ``amount``; FlowFailed if not


@dataclass
class Worker:
    """One consent's side of the PISP: the linked account, its DFSP, the credential."""

    name: str  # the consentId, in errors
    payer: str  # the linked account's address (THIRD_PARTY_LINK)
    dfsp: str
    currency: str
    signer: SoftwareAuthenticator
    payee: Payee


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How much load: ``transfers`` flows in all, or for ``duration`` seconds; paced at
    ``rate`` starts per second (None: back to back); ``amount`` per payment."""

    amount: str = "1"
    transfers: int | None = None
    duration: float | None = None
    rate: float | None = None


class _Schedule:
    """Hands out the next start while the plan allows one, paced at the plan's rate."""

    def __init__(self, plan: LoadPlan, stats: LoadStats) -> None:
        self._plan, self._stats = plan, stats
        self._first = time.perf_counter()

    async def next(self) -> bool:
        """Wait for the next start's slot; False when the plan is done."""
        plan, index = self._plan, self._stats.started
        if plan.transfers is not None and index >= plan.transfers:
            return False
        now = time.perf_counter()
        due = self._first + index / plan.rate if plan.rate else now
        if plan.duration is not None and max(due, now) - self._first >= plan.duration:
            return False  # the duration is over, even when the workers fell behind the rate
        self._stats.started += 1  # the slot is taken before the sleep: no two share it
        try:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        except asyncio.CancelledError:  # the run was stopped: this flow never started
            self._stats.started -= 1
            raise
        return True


async def drive(
    runs: list[Run],
    plan: LoadPlan,
    stats: LoadStats,
    progress: Callable[[LoadStats], None] | None = None,
    every: float = 1.0,
) -> LoadStats:
    """Run the plan with one worker per ``runs`` entry, recording into ``stats``; call
    ``progress`` every ``every`` seconds while it runs."""
    schedule = _Schedule(plan, stats)
    stats.began = time.perf_counter()

    async def work(run: Run) -> None:
        while await schedule.next():
            await _one(run, plan.amount, stats)

    ticker = asyncio.create_task(_tick(stats, progress, every)) if progress else None
    try:
        await asyncio.gather(*(work(run) for run in runs))
    finally:
        stats.ended = time.perf_counter()
        if ticker is not None:
            ticker.cancel()
    return stats


async def _one(run: Run, amount: str, stats: LoadStats) -> None:
    """One flow; its outcome recorded, never raised (a failed flow is counted by its code
    and the worker goes on)."""
    try:
        completed = await run(amount)
    except FlowFailed as exc:
        stats.errors[exc.code] += 1
        return
    except (aiohttp.ClientError, HarnessError, OSError):  # no HTTP answer at all
        stats.errors["connection"] += 1
        return
    stats.done(completed.seconds, completed.hops)


def transfer_run(player: Player, worker: Worker) -> Run:
    """The worker's signed transfers through ``player``, one per call."""

    async def run(amount: str) -> Completed:
        initiate = InitiateTransfer(
            payer=worker.payer,
            dfsp=worker.dfsp,
            payee=worker.payee,
            amount=amount,
            currency=worker.currency,
        )
        payment = Payment(str(uuid.uuid4()), initiate, worker.signer, worker.name)
        paid = await pay(player, payment)
        return Completed.of("transfer", paid.started, paid.finished, *_spans(paid))

    return run


def _spans(paid: Paid) -> tuple[tuple[float, float], ...]:
    """The transfer's hops (``load_report``): the request to the ``PUT`` and to the
    ``POST …/authorizations``, the signed answer to the ``PATCH``."""
    return (
        (paid.started, paid.received),
        (paid.started, paid.authorization),
        (paid.approved, paid.finished),
    )


async def _tick(stats: LoadStats, progress: Callable[[LoadStats], None], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        progress(stats)
