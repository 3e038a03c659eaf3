"""Running scenarios: ``run(paths, options) -> RunResult``.

Every file is loaded and every matrix cell's config is built and checked before anything
runs (``cells.prepare``), so a broken scenario stops the run with a ``ScenarioError`` (exit
2) rather than half-way. Then cells run concurrently (at most ``jobs``), each against its
own in-process tpsim on an ephemeral port, or one at a time against ``--server`` (whose
config is put back afterwards, ``harness.config_restored``). A step that fails ends its
scenario; the steps after it are reported as skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import structlog

from tpsim.config import Config, parse_config
from tpsim.core.rules import MessageOutcome
from tpsim.errors import ConfigError, ScenarioError, TpsimError
from tpsim.mojaloop.wire.openapi import OpenApiValidator
from tpsim.scenario import conformance
from tpsim.scenario.actions import CheckBalances
from tpsim.scenario.answers import answer_failures, balance_failures
from tpsim.scenario.builtin_pisp import BuiltinPisp
from tpsim.scenario.cells import PLACEHOLDER_ENDPOINT, Cell, prepare
from tpsim.scenario.harness import (
    HarnessError,
    InProcessTpsim,
    RemoteTpsim,
    Target,
    config_restored,
)
from tpsim.scenario.loader import PlannedStep
from tpsim.scenario.model import ACTIONS, Expect
from tpsim.scenario.pisp_client import builtin_signers
from tpsim.scenario.progress import Progress
from tpsim.scenario.results import (
    Failure,
    FailureKind,
    Outcome,
    Participant,
    RunResult,
    ScenarioResult,
    StepResult,
    Violation,
)
from tpsim.scenario.session import Session, StepFailed
from tpsim.scenario.stet import conformance as stet_conformance
from tpsim.scenario.variables import VariableError
from tpsim.scenario.waiting import await_messages

log = structlog.get_logger("tpsim.run")


def default_jobs() -> int:
    """How many scenarios run at once unless told (``--jobs``): 3, or 2 on one CPU.

    Every scenario runs in this one process, so its CPU work takes one core whatever the
    number; running several at once only fills the time one spends waiting (a timer
    falling due, a ``wait`` step, an HTTP round trip) with another's work. Since waits end
    as soon as nothing more can arrive, little is left to fill: on a 2-core machine 100
    library scenarios took 7.9 s at 1, 5.9 s at 2, 5.6 s at 3, 7.8 s at 4 and 9.8 s at 6
    (more at once only queues each scenario's hops behind the others', which also eats
    into deadlines such as ``within: 300ms``). With one CPU the waits are shared with
    everything else on the machine: 2."""
    return 3 if (os.cpu_count() or 1) > 1 else 2


@dataclass(slots=True)
class RunOptions:
    server: str | None = None  # a running tpsim; None: one in-process tpsim per scenario
    admin_token: str | None = None  # the running tpsim's admin token (Bearer)
    timeout: float | None = None  # seconds an admin call or a step's request may take (--timeout)
    jobs: int = field(default_factory=default_jobs)
    config: str | None = None  # the base config; None: the built-in default
    spec_dir: Path | None = None  # the OpenAPI bundles; None: $TPSIM_SPEC_DIR or default
    check_sent: bool = False  # check every body tpsim sends against the OpenAPI too
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    on_start: Callable[[str], None] | None = None
    on_done: Callable[[ScenarioResult], None] | None = None


def _with_builtin_pisp(config: Config, url: str) -> Config:
    """``config`` with the built-in PISP's ``url`` for every placeholder endpoint (the PISP
    the steps act as, and any other PISP the scenario gave ``${pisp_url}``)."""
    data = config.model_dump(mode="json")
    for participant in data["participants"]:
        if participant.get("endpoint") == PLACEHOLDER_ENDPOINT:
            participant["endpoint"] = url
        families = participant.get("endpoints") or {}
        for family, endpoint in families.items():
            if endpoint == PLACEHOLDER_ENDPOINT:
                families[family] = url
    return parse_config(data)


async def run(paths: list[str], options: RunOptions) -> RunResult:
    """Prepare and execute the scenarios in ``paths``."""
    cells, validator = prepare(paths, options)
    return await execute(cells, validator, options)


async def execute(
    cells: list[Cell],
    validator: OpenApiValidator | None,
    options: RunOptions,
    progress: Progress | None = None,
) -> RunResult:
    """Run ``cells``; each result is recorded in ``progress`` (of these cells) as it comes,
    so that a caller whose run is stopped (Ctrl-C) still has the finished ones to report.
    ``HarnessError``: the ``--server`` cannot be used, found before anything runs."""
    progress = progress or Progress(cells)
    limit = asyncio.Semaphore(1 if options.server else max(1, options.jobs))
    async with aiohttp.ClientSession() as http, _server_restored(options, http):

        async def bounded(index: int, cell: Cell) -> None:
            async with limit:
                if options.on_start:
                    options.on_start(cell.title)
                result = await run_cell(cell, options, validator, http)
                progress.finished[index] = result
                if options.on_done:
                    options.on_done(result)

        await asyncio.gather(*(bounded(i, c) for i, c in enumerate(cells)))
    return progress.result()


def _remote(server: str, options: RunOptions, http: aiohttp.ClientSession) -> RemoteTpsim:
    return RemoteTpsim(server, http, admin_token=options.admin_token, timeout=options.timeout)


def _server_restored(
    options: RunOptions, http: aiohttp.ClientSession
) -> contextlib.AbstractAsyncContextManager[None]:
    """With ``--server``: its config put back after the run, however the run ends."""
    if options.server is None:
        return contextlib.nullcontext()
    return config_restored(_remote(options.server, options, http))


async def run_cell(
    cell: Cell,
    options: RunOptions,
    validator: OpenApiValidator | None,
    http: aiohttp.ClientSession,
) -> ScenarioResult:
    scenario = cell.loaded.scenario
    started, clock = datetime.now(UTC), time.monotonic()
    result = ScenarioResult(
        name=cell.name,
        file=str(cell.loaded.path),
        outcome=Outcome.PASSED,
        duration_s=0.0,
        started_at=started.isoformat(timespec="milliseconds"),
        description=scenario.description,
        tags=list(scenario.tags),
        cell=dict(cell.values),
    )
    pisp = BuiltinPisp(http, cell.pisp.fsp_id, cell.pisp.answers, timeout=options.timeout)
    target: Target | None = None
    try:
        if cell.pisp.endpoint is None:
            await pisp.start()
        config = cell.config
        if cell.pisp.endpoint is None:
            config = _with_builtin_pisp(config, pisp.url)
            cell.variables.set("pisp_url", pisp.url)
        target = await _start_target(config, options, http)
        pisp.tpsim_url = target.url
        session = Session(target, pisp, cell.variables, cell.api, behaviour=config.behaviour)
        session.alone = options.server is None and _alone(cell, config, pisp.url)
        session.variables.set("tpsim_url", target.url)
        session.since = await target.last_seq()
        _builtin_signers(session, config)
        result.participants = _participants(config)
        session.others = _others(result.participants, cell.pisp.fsp_id, options.server)
        checked = cell.pisp.fsp_id if cell.pisp.endpoint and cell.pisp.checks else None
        await _run_steps(session, cell.steps, result, checked)
        await target.settle()
        result.journal = await target.entries(since=session.since)
        _check_journal(cell, options, validator, result, session.clock_moves)
    except (HarnessError, OSError, TpsimError) as exc:
        result.failures.append(Failure(FailureKind.ERROR, f"could not run: {exc}"))
    except Exception as exc:  # a bug of the runner: report it, run the other scenarios
        log.exception("the scenario runner failed", scenario=cell.title)
        result.failures.append(Failure(FailureKind.ERROR, f"tpsim's runner failed: {exc!r}"))
    finally:
        if target is not None:
            await target.close()
        await pisp.close()
    result.duration_s = round(time.monotonic() - clock, 3)
    result.outcome = _outcome(result.failures)
    return result


def _alone(cell: Cell, config: Config, pisp_url: str) -> bool:
    """Whether nobody outside tpsim sends it anything during the scenario, so that tpsim
    falling quiet means nothing more can arrive (``Session.alone``): the PISP is the
    built-in one, which only answers; no TPP under test; and every participant is
    simulated or answered at the built-in PISP's address. An external participant may
    call tpsim whenever it likes."""
    if cell.pisp.endpoint is not None or cell.tpp is not None or not pisp_url:
        return False
    return all(
        p.endpoint is None
        or (p.endpoint == pisp_url and all(u.startswith(pisp_url) for u in p.endpoints.values()))
        for p in config.participants
    )


def _participants(config: Config) -> list[Participant]:
    """Who takes part, for the reports: the hub, the scheme's participants, and the TPPs
    (clients of the banks' PSD2 interfaces, never simulated by tpsim)."""
    return [
        Participant(config.hub.name, "hub", True),
        *(Participant(p.fsp_id, p.kind.value, p.endpoint is None) for p in config.participants),
        *(Participant(t.client_id, "tpp", False) for t in config.tpps),
    ]


def _others(
    participants: list[Participant], pisp: str, server: str | None
) -> frozenset[str] | None:
    """The participants besides the PISP under test who may send tpsim requests themselves
    (the external ones): a request naming none of them is the PISP's. None on a ``--server``,
    which clients unknown to the run may share: only a request naming the PISP is its."""
    if server is not None:
        return None
    return frozenset(p.fsp_id for p in participants if not p.simulated and p.fsp_id != pisp)


def _check_journal(
    cell: Cell,
    options: RunOptions,
    validator: OpenApiValidator | None,
    result: ScenarioResult,
    clock_moves: list[tuple[int, float]],
) -> None:
    """The conformance checks over the scenario's journal: of the PISP or TPP under test
    (violations, failing the scenario), and with ``--check-sent`` of tpsim itself (errors).
    XS2A and UK answers are checked without the Mojaloop bundles: their OpenAPI ships with
    tpsim. ``clock_moves``: the scenario's ``advance_clock`` steps (``Session``)."""
    journal = result.journal
    kinds = {p.fsp_id: p.kind for p in result.participants}
    found: list[Violation] = []
    if cell.pisp.endpoint is not None and cell.pisp.checks:
        pisp = cell.pisp.fsp_id
        others = _others(result.participants, pisp, options.server)
        found += conformance.violations(journal, pisp, kinds, validator, clock_moves, others=others)
    if cell.tpp is not None and cell.tpp.checks:
        found += conformance.xs2a_violations(journal, cell.tpp.client_id)
        found += conformance.obie_violations(journal, cell.tpp.client_id)
        found += stet_conformance.stet_violations(journal, cell.tpp.client_id)
    result.violations = found
    # First: what the participant under test broke explains the messages that never came.
    result.failures[:0] = conformance.failures(found, journal)
    if not options.check_sent:
        return
    simulated = {p.fsp_id for p in result.participants if p.simulated}
    # A rule that says `unchecked` asked tpsim to send a body its OpenAPI does not allow.
    unchecked = _unchecked_rules(cell.config)
    journal = [e for e in journal if e.get("rule") not in unchecked]
    wrong = conformance.xs2a_sent_by_tpsim(journal, simulated)
    wrong += conformance.obie_sent_by_tpsim(journal, simulated)
    wrong += stet_conformance.stet_sent_by_tpsim(journal, simulated)
    if validator is not None:
        wrong = conformance.sent_by_tpsim(journal, kinds, simulated, validator) + wrong
    result.failures += conformance.failures(wrong, journal, by_tpsim=True)


def _unchecked_rules(config: Config) -> set[str]:
    """The names of the message rules whose overrides may break the official OpenAPI."""
    return {
        rule.name
        for rule in config.rulebook()
        if isinstance(rule.then, MessageOutcome) and rule.then.unchecked
    }


async def _start_target(config: Config, options: RunOptions, http: aiohttp.ClientSession) -> Target:
    if options.server is None:
        return await InProcessTpsim(config, http).start()
    remote = _remote(options.server, options, http)
    await remote.load(config)
    return remote


def _builtin_signers(session: Session, config: Config) -> None:
    """The built-in test credentials, and the accounts of the config's consents they sign."""
    signers = builtin_signers(config, session.pisp_id)
    session.authenticators.update(signers.credentials)
    session.signers.update(signers.by_account)


def _outcome(failures: list[Failure]) -> Outcome:
    if any(f.kind is FailureKind.ERROR for f in failures):
        return Outcome.ERROR
    return Outcome.FAILED if failures else Outcome.PASSED


# --- steps --------------------------------------------------------------------------------


async def _run_steps(
    session: Session, steps: list[PlannedStep], result: ScenarioResult, checked: str | None
) -> None:
    failed = False
    for index, step in enumerate(steps, start=1):
        label = f"{index}. {step.name or step.action}"
        if failed:
            result.steps.append(StepResult(index, label, step.action, Outcome.SKIPPED, 0.0))
            continue
        session.step = label
        clock = time.monotonic()
        step_result = StepResult(index, label, step.action, Outcome.PASSED, 0.0)
        try:
            await _run_step(session, step, step_result, checked)
        except StepFailed as exc:
            step_result.failures.append(exc.failure)
        except (VariableError, ConfigError, ScenarioError, HarnessError) as exc:
            step_result.failures.append(Failure(FailureKind.ERROR, str(exc), label))
        except Exception as exc:  # a bug of the runner, not a verdict on tpsim
            log.exception("a scenario step failed unexpectedly", step=label)
            message = f"tpsim's runner failed: {exc!r}"
            step_result.failures.append(Failure(FailureKind.ERROR, message, label))
        step_result.duration_s = round(time.monotonic() - clock, 3)
        step_result.outcome = Outcome.FAILED if step_result.failures else Outcome.PASSED
        if any(f.kind is FailureKind.ERROR for f in step_result.failures):
            step_result.outcome = Outcome.ERROR
        result.steps.append(step_result)
        result.failures += step_result.failures
        failed = bool(step_result.failures)


async def _run_step(
    session: Session, step: PlannedStep, result: StepResult, checked: str | None
) -> None:
    resolve = session.variables.resolve
    action = ACTIONS[step.action]
    model = action.params
    given = resolve(step.params)
    params = step.check(model, given, step.action)
    # Defaults may be references too (approve's transfer is ${transfer}). Only they are
    # resolved now: what the step gave is resolved text, where a `${` is a literal's.
    defaults = params.model_dump(by_alias=True, exclude=params.model_fields_set)
    params = step.check(model, {**resolve(defaults), **given}, step.action)
    timing = {"within": resolve(step.expect["within"])} if "within" in step.expect else {}
    within = step.check(Expect, timing, "expect").within
    sent = await action.run(session, params, within)
    # Resolved after the action: expectations may name what it set (${transfer}…).
    expect: Expect = step.check(Expect, resolve(step.expect), "expect")
    result.sent = sent.messages
    result.failures += answer_failures(session.step, sent, expect)
    if isinstance(params, CheckBalances):
        result.failures += balance_failures(session.step, params, sent, expect)
    if result.failures:
        return
    # The deadline runs from when the action had its answer: a slow action (a signature,
    # a loaded machine) must not eat the time the messages have to arrive.
    deadline = asyncio.get_running_loop().time() + expect.within
    result.failures += await await_messages(
        session, expect, sent.correlation, deadline, checked=checked
    )
