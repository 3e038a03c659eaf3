"""The scenario actions that belong to no dialect, under bare names: ``wait``,
``check_balances`` (the simulated banks' balances, through the admin API), ``trigger``
(conformance mode: call the PISP's or TPP's own API) and ``advance_clock`` (tpsim's clock,
through the admin API). Each dialect's actions live in its own package
(``scenario/mojaloop/``, ``scenario/xs2a/``); ``register`` adds these to a registry.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import Field, model_validator

from tpsim.scenario.base import Duration, Method, ScenarioModel, Text
from tpsim.scenario.harness import Answer, Unanswered, http_request
from tpsim.scenario.registry import ActionRegistry, Sent
from tpsim.scenario.results import Failure, FailureKind
from tpsim.scenario.session import Session, StepFailed
from tpsim.serve.admin import MAX_ADVANCE_S


class Wait(ScenarioModel):
    """Send nothing; wait for the step's messages (or ``for`` a while)."""

    for_: Duration | None = Field(None, alias="for")
    correlation: str | None = Field(None, description="the conversation to watch")


class CheckBalances(ScenarioModel):
    """Read ``GET /admin/accounts`` and compare (``expect.balances`` or the mapping here)."""

    balances: dict[str, Text] = Field(default_factory=dict)


# The most of a ``trigger``'s answer tpsim reads (the API under test may stream without
# end: its whole answer must arrive within the step's ``within`` and be at most this
# long, or the step fails), and how much of it a failure shows.
TRIGGER_ANSWER_LIMIT = 1 << 20
_EXCERPT = 200


class Trigger(ScenarioModel):
    """Conformance mode: call the participant under test's own API (``pisp.api`` or
    ``tpp.api`` + ``path``, or ``url``)."""

    method: Method = "POST"
    path: str = "/"
    url: str | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)


class AdvanceClock(ScenarioModel):
    """``POST /admin/clock/advance``: move tpsim's clock forward (sets ``${now}``); what falls
    due runs: executions, expiries."""

    days: float = Field(0, ge=0)
    hours: float = Field(0, ge=0)
    minutes: float = Field(0, ge=0)
    seconds: float = Field(0, ge=0)

    @property
    def total_s(self) -> float:
        return ((self.days * 24 + self.hours) * 60 + self.minutes) * 60 + self.seconds

    @model_validator(mode="after")
    def _within_admin_bound(self) -> AdvanceClock:
        """Refused at load (file and line) rather than by the admin endpoint's 400 when the
        step runs, which takes no more than ``MAX_ADVANCE_S`` at once."""
        if not self.total_s <= MAX_ADVANCE_S:  # not: an .inf is refused too
            raise ValueError(
                f"moves the clock {self.total_s:.0f} s: at most {MAX_ADVANCE_S} seconds in all"
                " (ten years), as POST /admin/clock/advance takes; split a longer move"
            )
        return self


async def wait(session: Session, params: Wait, within: float) -> Sent:
    if params.for_ is not None:
        await asyncio.sleep(params.for_)
    return Sent(correlation=params.correlation)


async def check_balances(session: Session, params: CheckBalances, within: float) -> Sent:
    answer = await session.target.admin("GET", "/admin/accounts")
    return Sent(answer, 200, None, [{"method": "GET", "path": "/admin/accounts"}])


def balance_problems(wanted: dict[str, str], answer: Answer) -> list[str]:
    """Which ``wanted`` balances ``GET /admin/accounts`` disagrees with."""
    held = {a["address"]: a["balance"] for a in (answer.body or {}).get("accounts", [])}
    problems = []
    for address, amount in wanted.items():
        if address not in held:
            problems.append(f"{address}: no such account")
            continue
        try:
            same = Decimal(amount) == Decimal(held[address])
        except InvalidOperation:
            same = False
        if not same:
            problems.append(f"{address}: expected {amount}, got {held[address]}")
    return problems


async def trigger(session: Session, params: Trigger, within: float) -> Sent:
    if params.url is None and session.api_url is None:
        raise StepFailed(
            Failure(
                FailureKind.ERROR,
                "trigger needs url: or the scenario's pisp.api or tpp.api (the own API of"
                " the PISP or TPP under test)",
                session.step,
            )
        )
    url = params.url or f"{str(session.api_url).rstrip('/')}{params.path}"
    data = None if params.body is None else json.dumps(params.body).encode()
    headers = {"Content-Type": "application/json", **params.headers}
    try:
        async with asyncio.timeout(within):
            answer = await http_request(
                session.pisp.session,
                params.method,
                url,
                data=data,
                headers=headers,
                limit=TRIGGER_ANSWER_LIMIT,
            )
    except TimeoutError:
        message = f"{params.method} {url}: no whole answer within the step's {within:g} s"
        raise StepFailed(Failure(FailureKind.ASSERTION, message, session.step)) from None
    except Unanswered as exc:  # the API under test failed, not tpsim: the step fails
        message = f"trigger: could not reach {url}: {exc.reason}"
        raise StepFailed(Failure(FailureKind.ASSERTION, message, session.step)) from None
    if answer.cut:
        message = (
            f"{params.method} {url} answered {answer.status} with a body of more than 1 MiB:"
            " read that much of it, and no more"
        )
        excerpt = f"{str(answer.body)[:_EXCERPT]}…"
        raise StepFailed(Failure(FailureKind.ASSERTION, message, session.step, actual=excerpt))
    record = {"method": params.method, "path": url, "body": params.body}
    return Sent(answer, None, None, [record])


async def advance_clock(session: Session, params: AdvanceClock, within: float) -> Sent:
    seconds = params.total_s
    body = {"seconds": seconds}
    before = await session.target.last_seq()
    answer = await session.target.admin("POST", "/admin/clock/advance", body)
    if answer.status == 200:
        session.clock_moves.append((before, seconds))
    if answer.status == 200 and isinstance(answer.body, dict):
        session.variables.set("now", answer.body.get("now"))
    record = {"method": "POST", "path": "/admin/clock/advance", "body": body}
    return Sent(answer, 200, None, [record])


def register(registry: ActionRegistry) -> None:
    """Add the actions of no dialect, under their bare names."""
    registry.add("wait", Wait, wait)
    registry.add("check_balances", CheckBalances, check_balances)
    registry.add("trigger", Trigger, trigger)
    registry.add("advance_clock", AdvanceClock, advance_clock)
