"""Waiting for a step's expected messages: looking at the journal again whenever it has
news, until every one has arrived, the verdict is known, or the deadline passes.

The matching itself is sans-IO (``expectations``); this is the loop around it. A step
stops waiting as soon as waiting longer cannot change its verdict: a message addressed to
an expectation arrived and does not match, or the participant under test broke off
(``stop_reason``); or nothing more can arrive before the deadline (an in-process tpsim
with nobody outside it sending it anything, fallen quiet: ``quiet``). So a failing step
fails when its cause is known, and a step expecting that something does *not* arrive
passes when nothing more can, rather than at its deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tpsim.scenario.base import Expect, ExpectMessage
from tpsim.scenario.expectations import (
    Assignment,
    Stop,
    assign,
    explain_missing,
    stop_reason,
    unwanted,
)
from tpsim.scenario.results import Failure
from tpsim.scenario.session import Session, nothing_more

Groups = dict[str | None, list[ExpectMessage]]  # expected messages by conversation


async def await_messages(
    session: Session,
    expect: Expect,
    correlation: str | None,
    deadline: float,
    *,
    checked: str | None = None,
) -> list[Failure]:
    """Wait until every expected message has arrived, the verdict is known, or the
    deadline (``loop.time()``) passes; then make sure the ``absent`` ones did not arrive
    before the deadline. When the session is ``alone``, both waits also end as soon as
    nothing more can arrive before the deadline (``Session.next_news``): what was missing
    then fails at once, and the ``absent`` ones are checked at once. ``checked``: the fsp
    id of an external PISP under test whose breaking off ends the wait (its conformance
    checks fail the scenario anyway)."""
    groups: Groups = {}
    for message in (m for m in expect.messages if not m.absent):
        groups.setdefault(message.correlation or correlation, []).append(message)
    loop = asyncio.get_running_loop()
    started, quiet = loop.time(), False
    while True:
        mark = session.target.recorded
        seen = {key: await session.messages(key) for key in groups}
        assignments = {
            key: assign(
                listed,
                seen[key],
                pisp_id=session.pisp_id,
                ordered=expect.ordered,
                consumed=session.consumed,
            )
            for key, listed in groups.items()
        }
        stop = _first_stop(session, groups, seen, assignments, checked)
        done = all(a.complete for a in assignments.values())
        if quiet and not done and stop is None:
            stop = Stop(None, nothing_more(deadline - started))
        if done or stop is not None or loop.time() >= deadline:
            break
        quiet = await session.next_news(mark, deadline)
    failures = _verdict(session, groups, seen, assignments, loop.time() - started, stop)
    absent = [m for m in expect.messages if m.absent]
    if absent and not failures:
        await session.until_quiet(deadline)
        for wanted in absent:
            entries = [
                e
                for e in await session.messages(wanted.correlation or correlation)
                if e["seq"] not in session.consumed
            ]
            problem = unwanted(wanted, entries, pisp_id=session.pisp_id, step=session.step)
            if problem is not None:
                failures.append(problem)
    return failures


def _first_stop(
    session: Session,
    groups: Groups,
    seen: dict[str | None, list[dict[str, Any]]],
    assignments: dict[str | None, Assignment],
    checked: str | None,
) -> Stop | None:
    for key, listed in groups.items():
        stop = stop_reason(
            listed,
            seen[key],
            assignments[key],
            pisp_id=session.pisp_id,
            consumed=session.consumed,
            checked=checked,
            others=session.others,
        )
        if stop is not None:
            return stop
    return None


def _verdict(
    session: Session,
    groups: Groups,
    seen: dict[str | None, list[dict[str, Any]]],
    assignments: dict[str | None, Assignment],
    waited_s: float,
    stop: Stop | None,
) -> list[Failure]:
    """Take what matched (saving it where asked), then explain what did not. What matched
    is taken first, so that a missing message is never compared with one that another
    expectation took."""
    for key, listed in groups.items():
        for wanted, entry in zip(listed, assignments[key].entries, strict=True):
            if entry is not None:
                session.consumed.add(entry["seq"])
                if wanted.save:
                    session.variables.set(wanted.save, _saved(entry))
    return [
        explain_missing(
            wanted,
            seen[key],
            pisp_id=session.pisp_id,
            consumed=session.consumed,
            waited_s=waited_s,
            step=session.step,
            stopped=stop,
        )
        for key, listed in groups.items()
        for wanted, entry in zip(listed, assignments[key].entries, strict=True)
        if entry is None
    ]


def _saved(entry: dict[str, Any]) -> dict[str, Any]:
    keys = ("seq", "method", "path", "source", "destination", "headers", "body", "status")
    return {key: entry.get(key) for key in keys}
