"""One running scenario (one matrix cell): its tpsim, its PISP, its variables, and the
journal entries its expectations have already taken."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.config_settings import BehaviourConfig
from tpsim.scenario.builtin_pisp import BuiltinPisp
from tpsim.scenario.expectations import is_message, path_fits
from tpsim.scenario.harness import Target
from tpsim.scenario.results import Failure, FailureKind
from tpsim.scenario.variables import Variables


class StepFailed(Exception):  # noqa: N818 - control flow inside the runner, not an error type
    """Ends a step with ``failure`` (raised by actions and waits)."""

    def __init__(self, failure: Failure) -> None:
        self.failure = failure
        super().__init__(failure.message)


@dataclass
class Session:
    target: Target
    pisp: BuiltinPisp
    variables: Variables
    api_url: str | None  # the external PISP's own API (conformance mode)
    authenticators: dict[str, SoftwareAuthenticator] = field(default_factory=dict)
    signers: dict[str, str] = field(default_factory=dict)  # account address → authenticator
    payers: dict[str, str] = field(default_factory=dict)  # transactionRequestId → account
    consumed: set[int] = field(default_factory=set)  # journal entries expectations took
    since: int = 0  # the journal's last seq before the scenario started
    step: str = ""  # the label of the running step
    # Nobody but tpsim and the built-in PISP (which only answers) sends tpsim anything, so
    # tpsim falling quiet (``Target.quiet``) means nothing more can arrive.
    alone: bool = False
    # Each move of tpsim's clock by ``advance_clock``: the journal's last seq before it, and
    # the seconds (a participant under test keeps its own clock: ``conformance._date``).
    clock_moves: list[tuple[int, float]] = field(default_factory=list)
    # In conformance mode, the external participants besides the PISP under test: a request
    # naming none of them as its source is the PISP's (``attribution.sent_by``). None (a
    # --server others may share): only a request naming the PISP is its.
    others: frozenset[str] | None = frozenset()
    # The config's behaviour: how long tpsim's stand-in sdk-scheme-adapter waits
    # (``sdk_lookup``).
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)

    @property
    def pisp_id(self) -> str:
        return self.pisp.fsp_id

    async def messages(self, correlation: str | None = None) -> list[dict[str, Any]]:
        """The scenario's messages so far (of one conversation, when given)."""
        entries = await self.target.entries(since=self.since, correlation_id=correlation)
        return [e for e in entries if is_message(e)]

    async def await_message(
        self,
        method: str,
        template: str,
        *,
        correlation: str,
        within: float,
        what: str,
        where: Callable[[dict[str, Any]], bool] = lambda entry: True,
    ) -> dict[str, Any]:
        """The first message to the PISP that a step needs in order to act (the
        authorization request to sign, the consent to register…), waited for; it stays
        available to expectations. Waiting ends at ``within``, or as soon as nothing more
        can arrive (``next_news``)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline, quiet = started + within, False
        while True:
            mark = self.target.recorded
            for entry in await self.messages(correlation):
                if (
                    entry["method"] == method
                    and path_fits(template, entry["path"])
                    and entry.get("destination") == self.pisp_id
                    and where(entry)
                ):
                    return entry
            waited = loop.time() - started
            if quiet or waited >= within:
                why = f"within {waited:.1f} s"
                if quiet:
                    why = f"after {waited:.1f} s: {nothing_more(within)}"
                raise StepFailed(
                    Failure(
                        FailureKind.NOT_RECEIVED,
                        f"{what}: {method} {template} not received {why}",
                        self.step,
                        expected=f"{method} {template} to {self.pisp_id} (conversation"
                        f" {correlation})",
                        actual=f"not received (waited {waited:.1f} s)",
                        waited_s=round(waited, 3),
                    )
                )
            quiet = await self.next_news(mark, deadline)

    async def next_news(self, mark: int, deadline: float) -> bool:
        """Wait until the journal may hold entries recorded after ``mark`` (a
        ``Target.recorded``) or the loop time ``deadline`` comes: False. True when the
        session is ``alone`` and tpsim fell quiet first: nothing more can arrive before
        the deadline (what arrived until then is in the journal)."""
        if not self.alone:
            await self.target.news(mark, deadline)
            return False
        news = asyncio.ensure_future(self.target.news(mark, deadline))
        quiet = asyncio.ensure_future(self.target.quiet(deadline))
        done, pending = await asyncio.wait((news, quiet), return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return quiet in done and quiet.result()

    async def until_quiet(self, deadline: float) -> None:
        """Wait until the loop time ``deadline``, or (``alone``) until nothing more can
        arrive before it: what ``absent`` expectations wait for."""
        if self.alone and await self.target.quiet(deadline):
            return
        await asyncio.sleep(max(0.0, deadline - asyncio.get_running_loop().time()))


def nothing_more(within: float) -> str:
    """Why a wait ended before its deadline when tpsim fell quiet, in words."""
    return (
        f"nothing more could arrive within the {within:.3g} s allowed (tpsim had no delivery"
        " in flight and no timer due, and nobody else sends it anything)"
    )
