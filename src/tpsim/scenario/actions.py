"""The scenario actions that belong to no dialect, under bare names: ``wait``,
``check_balances`` (the simulated banks' balances, through the admin API) and ``trigger``
(conformance mode: call the PISP's own API). Each dialect's actions live in its own
package (``scenario/mojaloop/``); ``register`` adds these to a registry.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import Field

from tpsim.scenario.base import Duration, Method, ScenarioModel, Text
from tpsim.scenario.harness import Answer, http_request
from tpsim.scenario.registry import ActionRegistry, Sent
from tpsim.scenario.results import Failure, FailureKind
from tpsim.scenario.session import Session, StepFailed


class Wait(ScenarioModel):
    """Send nothing; wait for the step's messages (or ``for`` a while)."""

    for_: Duration | None = Field(None, alias="for")
    correlation: str | None = Field(None, description="the conversation to watch")


class CheckBalances(ScenarioModel):
    """Read ``GET /admin/accounts`` and compare (``expect.balances`` or the mapping here)."""

    balances: dict[str, Text] = Field(default_factory=dict)


class Trigger(ScenarioModel):
    """Conformance mode: call the PISP's own API (``pisp.api`` + ``path``, or ``url``)."""

    method: Method = "POST"
    path: str = "/"
    url: str | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)


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
                "trigger needs url: or the scenario's pisp.api (the PISP's own API)",
                session.step,
            )
        )
    url = params.url or f"{str(session.api_url).rstrip('/')}{params.path}"
    data = None if params.body is None else json.dumps(params.body).encode()
    headers = {"Content-Type": "application/json", **params.headers}
    answer = await http_request(
        session.pisp.session, params.method, url, data=data, headers=headers
    )
    record = {"method": params.method, "path": url, "body": params.body}
    return Sent(answer, None, None, [record])


def register(registry: ActionRegistry) -> None:
    """Add the actions of no dialect, under their bare names."""
    registry.add("wait", Wait, wait)
    registry.add("check_balances", CheckBalances, check_balances)
    registry.add("trigger", Trigger, trigger)
