"""``tpsim load``: a load-generating PISP (and PSD2 TPP) that drives complete flows and
reports throughput, latency percentiles per flow and per hop, and errors by code::

    tpsim load [--flow transfer|link|xs2a|obie|stet] [--server URL] [--dfsp FSPID]
               [--payee MSISDN] [--balance N] [--credential-type FIDO|GENERIC]
               [--channel OTP|WEB] [--admin-token TOKEN]
    tpsim load --switch URL --listen HOST:PORT --credentials FILE   (transfers only)
        both: [--concurrency N] [--rate N] (--transfers N | --duration S) [--amount A]
              [--pisp FSPID] [--timeout SECONDS] [--json FILE]

The flows: ``transfer`` (Third Party transfers signed by a linked account's credential),
``link`` (account linking from the consent request to the credential VERIFIED, over
``--channel``), ``xs2a``, ``obie``, ``stet`` (a TPP's payment in that PSD2 dialect, the
PSU's SCA headless: ``load_psd2``). Against a running tpsim (``--server``, default
http://127.0.0.1:4040) each of the ``--concurrency`` workers gets its own user and
account (and, for transfers, a consent with a new credential) through the admin API (so
``--concurrency`` is at most ``config.MAX_SCHEME_ENTRIES``, the accounts a config holds); the
server's config is put back after the run. Against another switch the workers are the
credentials file's (``load_setup`` describes it). A progress line goes to stderr
(rewritten in place on a terminal, one line every 10 s otherwise), the report to stdout,
and with ``--json FILE`` as JSON (``load_report`` shows its shape).

Exit codes: 0 every flow completed, 1 any failed, 2 bad arguments or a run that could not
start (a URL that is none, the server or switch unreachable, its admin API refused, no
such PISP, DFSP or payee), 3 the run is reported but the advanced counters of the
``--credentials`` file's credentials could not be written back (whatever else happened:
stderr names each file and the counter to set in it, after the report).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from tpsim.cli_options import add_timeout
from tpsim.config import MAX_SCHEME_ENTRIES

if TYPE_CHECKING:  # the command imports aiohttp only when it runs
    from tpsim.scenario.load_report import LoadStats
    from tpsim.scenario.load_setup import Setup, Unsaved

FLOWS = ("transfer", "link", "xs2a", "obie", "stet")  # load_report.FLOW_HOPS's, unimported
ADMIN_TOKEN_ENV = "TPSIM_ADMIN_TOKEN"  # noqa: S105 - the variable's name, as `tpsim run` reads it
DEFAULT_SERVER = "http://127.0.0.1:4040"
PLAIN_EVERY_S = 10.0  # progress lines into a file or pipe
COUNTERS_UNSAVED = 3  # the exit code when a credential's counter could not be written back
# Each worker is seeded one account, user and consent into the server's config, which
# holds at most MAX_SCHEME_ENTRIES of each: more workers would be refused at start by the
# server's config bound, so argparse refuses them as what they are, a --concurrency too high.
MAX_WORKERS = MAX_SCHEME_ENTRIES


def add_load_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``load`` to ``subparsers``; return its parser."""
    load = subparsers.add_parser(
        "load",
        help="drive complete flows at a rate or concurrency and report (exit 0, 1, 2, 3)",
    )
    load.add_argument(
        "--flow",
        choices=FLOWS,
        default="transfer",
        help="what each worker repeats: a Third Party transfer (default), account linking,"
        " or a TPP's payment in a PSD2 dialect",
    )
    target = load.add_argument_group("against a running tpsim (default)")
    target.add_argument(
        "--server", metavar="URL", help=f"the tpsim to load (default {DEFAULT_SERVER})"
    )
    # No defaults here but Seeding's: an option a run would ignore is refused (_ignored).
    target.add_argument("--dfsp", metavar="FSPID", help="the workers' DFSP or bank (dfspa)")
    target.add_argument("--payee", metavar="MSISDN", help="transfer: who is paid (Bob)")
    target.add_argument("--balance", help="each worker's opening balance (1000000000)")
    target.add_argument(
        "--credential-type", choices=["FIDO", "GENERIC"], help="transfer, link: (FIDO)"
    )
    target.add_argument("--channel", choices=["OTP", "WEB"], help="link: how the user signs (OTP)")
    target.add_argument(
        "--admin-token", metavar="TOKEN", help=f"the server's admin token (${ADMIN_TOKEN_ENV})"
    )
    other = load.add_argument_group("against another Mojaloop switch")
    other.add_argument("--switch", metavar="URL", help="send the PISP's requests here")
    other.add_argument(
        "--listen", type=_address, metavar="HOST:PORT", help="where the switch calls the PISP back"
    )
    other.add_argument(
        "--credentials", type=Path, metavar="FILE", help="the workers' consents and credentials"
    )
    how = load.add_argument_group("how much")
    how.add_argument(
        "--concurrency",
        type=_positive(int, most=MAX_WORKERS),
        metavar="N",
        help=f"workers (4; at most {MAX_WORKERS}, less the server's own accounts)",
    )
    how.add_argument("--rate", type=_positive(float), metavar="N", help="transfer starts a second")
    much = how.add_mutually_exclusive_group()
    much.add_argument("--transfers", type=_positive(int), metavar="N", help="flows in all (100)")
    much.add_argument("--duration", type=_positive(float), metavar="S", help="seconds to run")
    how.add_argument("--amount", help="each payment's amount (1; not for link)")
    how.add_argument("--pisp", default="pispa", metavar="FSPID", help="the PISP (pispa)")
    add_timeout(how, "how long each request, callback or final status may take", default=30.0)
    how.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON")
    load.set_defaults(handler=run_load)
    return load


def _positive(
    kind: type[int] | type[float], most: int | None = None
) -> Callable[[str], int | float]:
    """An argparse type: a number of ``kind`` above 0 and at most ``most`` when given
    (argparse says so, naming the option, exit 2)."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and value > 0):  # nan and inf are no answer
            raise argparse.ArgumentTypeError("give a number above 0")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"give at most {most}, not {text}")
        return value

    return parse


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: give HOST:PORT, e.g. 0.0.0.0:5000")
    return host, int(port)


def _usage(args: argparse.Namespace) -> str | None:
    """What is wrong with the options or their combination (None: nothing)."""
    from tpsim.scenario.harness import url_problem

    for option, url, whose in (
        ("--server", args.server, "tpsim's"),
        ("--switch", args.switch, "the switch's"),
    ):
        problem = url_problem(url, whose) if url is not None else None
        if problem is not None:
            return f"{option} {url}: {problem}"
    if args.switch or args.listen or args.credentials:
        if not (args.switch and args.listen and args.credentials):
            return "--switch, --listen and --credentials go together"
        if args.server:
            return "give --server (a tpsim) or --switch (another switch), not both"
        if args.concurrency:
            return "against --switch the credentials file's workers are the concurrency"
        if args.flow != "transfer":
            return f"--flow {args.flow} runs against a tpsim (--server): --switch is for transfers"
    return _ignored(args)


# The options that only some runs use: (option, its attribute, the flows that take it).
FLOW_OPTIONS = (
    ("--payee", "payee", ("transfer",)),
    ("--credential-type", "credential_type", ("transfer", "link")),
    ("--channel", "channel", ("link",)),
    ("--amount", "amount", ("transfer", "xs2a", "obie", "stet")),
)
# What only a run against a tpsim (not --switch) uses: its workers are seeded there.
SERVER_OPTIONS = (
    ("--dfsp", "dfsp"),
    ("--payee", "payee"),
    ("--balance", "balance"),
    ("--credential-type", "credential_type"),
    ("--channel", "channel"),
    ("--admin-token", "admin_token"),
)


def _ignored(args: argparse.Namespace) -> str | None:
    """An option given that the run would not use (None: none), said with who uses it."""
    if args.switch:
        for option, attribute in SERVER_OPTIONS:
            if getattr(args, attribute) is not None:
                return (
                    f"{option} is for a run against a tpsim (--server): against --switch"
                    " the --credentials file says the workers"
                )
    for option, attribute, flows in FLOW_OPTIONS:
        if getattr(args, attribute) is not None and args.flow not in flows:
            takes = " or ".join([", ".join(flows[:-1]), flows[-1]] if flows[1:] else flows)
            return f"--flow {args.flow} does not use {option}: only --flow {takes} takes it"
    return None


def run_load(args: argparse.Namespace) -> int:
    """``tpsim load``: exit 0 when every flow completed, 1 when any failed, 2 when the run
    could not start, 128 + the signal when SIGINT (Ctrl-C) or SIGTERM stopped it (the
    report then covers the flows that ended before it); 3 in any of these cases when a
    credential's advanced counter could not be written back to its file, said on stderr
    after the report."""
    import asyncio

    from tpsim.core.errors import TpsimError
    from tpsim.scenario.harness import HarnessError
    from tpsim.scenario.load import LoadPlan, drive
    from tpsim.scenario.load_report import LoadStats

    problem = _usage(args)
    if problem is not None:
        print(f"tpsim load: {problem}", file=sys.stderr)
        return 2
    transfers = args.transfers if args.duration is None else None
    amount = "1" if args.amount is None else args.amount
    plan = LoadPlan(amount, transfers or (None if args.duration else 100), args.duration, args.rate)
    if args.json is not None:  # before the run, not after it (as tpsim run does)
        from tpsim.scenario.report_paths import unwritable

        refused = unwritable(str(args.json), "--json")
        if refused is not None:
            print(f"tpsim load: --json {args.json}: {refused}", file=sys.stderr)
            return 2
    stats = LoadStats(flow=args.flow)
    setups: list[Setup] = []  # the run's, once made: what its counters came to is read after

    async def main() -> None:
        _stopped_by(stats, signal.SIGINT, signal.SIGTERM)  # the server's config is put back
        async with _setup(args) as setup:
            setups.append(setup)
            await drive(setup.runs, plan, stats, *_progress())

    code: int | None = None  # None: the run ended, its report to come
    try:
        asyncio.run(main())
    except asyncio.CancelledError:  # stopped by a signal (``stats.interrupted``)
        if stats.ended is None:  # before the run began: nothing to report
            code = _exit_code(stats)
    except KeyboardInterrupt:  # Ctrl-C where no handler could be set (not the main thread)
        code = 128 + signal.SIGINT
    except (TpsimError, HarnessError, OSError) as exc:  # CannotPlay, unreachable, refused
        print(f"tpsim load: error: {exc}", file=sys.stderr)
        code = 2
    if code is None:
        code = _report(args, stats, workers=len(setups[0].runs) if setups else 0)
    # Last, so that a long run's report is never lost to its credential files.
    unsaved = [u for setup in setups for u in setup.unsaved]
    if unsaved:
        print(_unsaved(unsaved), file=sys.stderr, flush=True)
        return COUNTERS_UNSAVED
    return code


def _report(args: argparse.Namespace, stats: LoadStats, *, workers: int) -> int:
    """Print the report (and write ``--json``); the exit code of the run it tells."""
    from tpsim.scenario import load_report

    _end_progress()
    target = args.switch or args.server or DEFAULT_SERVER
    summary = stats.summary(target=target, workers=workers, rate=args.rate)
    print(load_report.text(summary), flush=True)
    if args.json is not None:
        try:
            load_report.write_json(summary, args.json)
        except OSError as exc:
            print(f"tpsim load: --json {args.json}: {exc.strerror}", file=sys.stderr)
            return 2
    return _exit_code(stats)


def _unsaved(unsaved: list[Unsaved]) -> str:
    """What to do about credential files whose advanced counters could not be written: a
    FIDO verifier keeps each credential's counter and refuses an assertion whose counter
    is not above it, so the next run would fail from its first transfer."""
    lines = [
        f"tpsim load: error: the advanced signature counter of {len(unsaved)} credential"
        " file(s) could not be written back (the run's report is complete): before the next"
        ' run, set "counter" in each file to the value shown, or the switch will refuse its'
        " assertions as replayed"
    ]
    lines += [
        f'  {u.path}: set "counter": {u.counter} (it was {u.was}; not written: {u.reason})'
        for u in unsaved
    ]
    return "\n".join(lines)


def _exit_code(stats: LoadStats) -> int:
    """128 + the signal that stopped the run; else 0 when every flow completed, 1 when any
    failed."""
    if stats.interrupted is not None:
        return 128 + signal.Signals[stats.interrupted]
    return 0 if stats.failed == 0 and stats.completed == stats.started else 1


def _stopped_by(stats: LoadStats, *signums: signal.Signals) -> None:
    """On any of ``signums``, note it in ``stats`` and cancel the running task (only the
    main thread can listen for a signal): the run's report covers what ended before it."""
    import asyncio  # as run_load: not for every tpsim command

    task = asyncio.current_task()
    if task is None:
        return

    def stop(signum: signal.Signals) -> None:
        stats.interrupted = stats.interrupted or signum.name
        task.cancel()

    try:
        for signum in signums:
            asyncio.get_running_loop().add_signal_handler(signum, stop, signum)
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, Windows
        pass


def _setup(args: argparse.Namespace) -> AbstractAsyncContextManager[Setup]:
    from tpsim.scenario.load_seed import Seeding
    from tpsim.scenario.load_setup import against_switch, against_tpsim

    if args.switch:
        return against_switch(
            args.switch, args.listen, args.credentials, timeout=args.timeout, report=args.json
        )
    given = {
        field: value
        for field in ("dfsp", "payee", "balance", "credential_type", "channel")
        if (value := getattr(args, field)) is not None
    }
    seeding = Seeding(args.concurrency or 4, flow=args.flow, **given)
    token = args.admin_token or os.environ.get(ADMIN_TOKEN_ENV) or None
    server = args.server or DEFAULT_SERVER
    return against_tpsim(
        server, seeding, pisp=args.pisp, admin_token=token, timeout=args.timeout, warn=_warn
    )


def _warn(what: str, error: str) -> None:
    """What the run could not do (put the server's config back): on stderr, as every
    message of this command, never into the report on stdout."""
    print(f"tpsim load: warning: {what} ({error})", file=sys.stderr, flush=True)


def _progress() -> tuple[Callable[[LoadStats], None], float]:
    """The progress callback and its period: in place on a terminal, plain lines else."""
    if sys.stderr.isatty():
        return _in_place, 0.5
    return _plain, PLAIN_EVERY_S


def _in_place(stats: LoadStats) -> None:
    print(f"\r\033[K{stats.progress()}", end="", file=sys.stderr, flush=True)


def _plain(stats: LoadStats) -> None:
    print(stats.progress(), file=sys.stderr, flush=True)


def _end_progress() -> None:
    if sys.stderr.isatty():
        print(file=sys.stderr)
