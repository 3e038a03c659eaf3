"""The ``tpsim`` command line.

    tpsim serve [--config FILE] [--host H] [--port P] [--pisp-url URL] [--admin-token T]
                [--state FILE] [--log-json]
    tpsim config check FILE
    tpsim run SCENARIO_OR_DIR… [--junit F] [--json F] [--html F] [--mermaid DIR]
              [--server URL] [--timeout S] [--jobs N] [--admin-token T]
    tpsim run --schema                                      (the scenario file JSON Schema)
    tpsim credential new|attest|sign|challenge|list|export …   (software authenticator)
    tpsim pisp transfer|link|listen …     (a built-in PISP against a running tpsim)
    tpsim load [--server URL | --switch URL --listen H:P --credentials FILE] …
                                          (a load-generating PISP: scenario/load_cli.py)

Exit codes: 0 success, 1 failure of the thing asked for, 2 usage or config error, 141
stdout's reader left early (``| head``), as a command SIGPIPE stops.
``--admin-token`` defaults to ``$TPSIM_ADMIN_TOKEN`` (an environment variable keeps the
token out of the process list).

Only the chosen command's modules are imported (``tpsim serve`` answers ``/health`` sooner
without the scenario runner, the reports or the credential CLI): ``main`` builds the
chosen command's parser in full and the others as names with their help.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from tpsim import __version__
from tpsim.cli_options import add_timeout, port
from tpsim.errors import ConfigError, ScenarioError

if TYPE_CHECKING:
    from tpsim.config import Config

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4040
ADMIN_TOKEN_ENV = "TPSIM_ADMIN_TOKEN"  # noqa: S105 - the variable's name, not a token
INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C, as a shell reports it
BROKEN_PIPE = 141  # 128 + SIGPIPE: stdout's reader left (`tpsim run --schema | head`)


# Commands defined in other modules: name → (help, "module:function" adding its parser),
# imported only when the command is the one run (or to print the whole help).
_ELSEWHERE: dict[str, tuple[str, str]] = {
    "credential": (
        "software authenticator: make credentials, attest, sign, challenges",
        "tpsim.auth.cli:add_credential_commands",
    ),
    "pisp": (
        "play a PISP against a running tpsim, printing each hop (exit 0, 1, 2)",
        "tpsim.pisp_cli:add_pisp_commands",
    ),
    "load": (
        "drive complete Third Party flows at a rate or concurrency and report (exit 0, 1, 2)",
        "tpsim.scenario.load_cli:add_load_command",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``tpsim`` parser: every command in full (``command`` None), or the commands of
    this module and ``command`` in full and the others by name and help (so running one
    imports no other's modules)."""
    parser = argparse.ArgumentParser(
        prog="tpsim",
        description="payment-initiation simulator: Mojaloop Third Party API, Berlin Group XS2A,"
        " UK Open Banking, STET",
    )
    parser.add_argument("--version", action="version", version=f"tpsim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_own_commands(commands)
    for name, (summary, where) in _ELSEWHERE.items():
        if command is None or command == name:
            _adder(where)(commands)
        else:
            commands.add_parser(name, help=summary)
    return parser


def _adder(where: str) -> Callable[[Subparsers], object]:
    module, function = where.split(":")
    adder: Callable[[Subparsers], object] = getattr(importlib.import_module(module), function)
    return adder


def _chosen(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs, when it names one defined elsewhere (else None: all)."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in _ELSEWHERE else None


def _add_own_commands(commands: Subparsers) -> None:
    serve = commands.add_parser("serve", help="serve the switch API (and the admin API)")
    serve.add_argument("--config", help="config file (YAML); default: the built-in config")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve.add_argument(
        "--port", type=port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0: any free"
    )
    serve.add_argument(
        "--pisp-url", help="endpoint of the external PISP(s), e.g. http://127.0.0.1:5000"
    )
    serve.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help=f"Bearer token the admin API requires (default ${ADMIN_TOKEN_ENV}); without one,"
        " none on loopback, and a generated one (printed at start) on any other address",
    )
    serve.add_argument(
        "--state",
        metavar="FILE",
        help="keep the scheme's state in this SQLite file across restarts (created when"
        " missing; default: in memory, a restart starts from the config)",
    )
    serve.add_argument("--log-json", action="store_true", help="log JSON lines")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--access-log", action="store_true", help="log every HTTP request (slower)")
    serve.set_defaults(handler=_serve)

    config = commands.add_parser("config", help="work with config files")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_commands.add_parser("check", help="validate a config file")
    check.add_argument("file")
    check.set_defaults(handler=_check_config)

    run = commands.add_parser("run", help="run scenario files (exit 0 passed, 1 failed, 2 usage)")
    run.add_argument("paths", nargs="*", metavar="SCENARIO_OR_DIR", help="files or directories")
    run.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    run.add_argument("--json", metavar="FILE", help="write a JSON report")
    run.add_argument("--html", metavar="FILE", help="write an HTML report with sequence diagrams")
    run.add_argument(
        "--mermaid", metavar="DIR", help="write each scenario's sequence diagram as DIR/*.mmd"
    )
    run.add_argument("--server", metavar="URL", help="run against this running tpsim instead")
    run.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help=f"the --server's admin token (default ${ADMIN_TOKEN_ENV})",
    )
    add_timeout(
        run,
        "how long each request may take: each admin API call to the --server, and each"
        " request a step sends as the built-in PISP or TPP",
    )
    run.add_argument(
        "--jobs", type=int, default=None, help="scenarios run at once (default 3; 2 on one CPU)"
    )
    run.add_argument("--config", help="base config the scenarios overlay (default: built-in)")
    run.add_argument(
        "--spec-dir",
        help="other copies of the official Mojaloop OpenAPI bundles (default $TPSIM_SPEC_DIR,"
        " else the ones tpsim ships)",
    )
    run.add_argument(
        "--check-sent",
        action="store_true",
        help="also check every body tpsim sends against the OpenAPI",
    )
    run.add_argument("--schema", action="store_true", help="print the scenario JSON Schema")
    run.set_defaults(handler=_run)


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_chosen(given) or "")  # "": none of the others in full
    args = parser.parse_args(given)
    args.command_line = given  # for the reports
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"tpsim: config error: {exc}", file=sys.stderr)
        return 2
    except ScenarioError as exc:
        print(f"tpsim: scenario error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): end as a command that SIGPIPE stops,
        # without a traceback, and without another one when Python flushes stdout at exit.
        _discard_stdout()
        return BROKEN_PIPE
    return code


def _discard_stdout() -> None:
    """Point file descriptor 1 at the null device (a stdout without one is left as is)."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test, or closed
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def _check_config(args: argparse.Namespace) -> int:
    config = _load(args.file, None)
    print(
        f"{args.file}: OK ({len(config.participants)} participants, {len(config.parties)} parties,"
        f" {len(config.accounts)} accounts, {len(config.consents)} consents)"
    )
    return 0


def _load(path: str | None, pisp_url: str | None) -> Config:
    """Load the config and verify its consents' credentials (both are config errors)."""
    from tpsim.config import load_config
    from tpsim.mojaloop.roles.context import origin_policy
    from tpsim.mojaloop.roles.state import SchemeState

    config = load_config(path, pisp_url=pisp_url)
    try:
        SchemeState.from_config(config, origin_policy(config))
    except ConfigError as exc:
        raise ConfigError(_with_line(exc, path), file=path or "<built-in default config>") from None
    return config


def _with_line(error: ConfigError, path: str | None) -> str:
    """``error``'s text with the line of its key path in the file at ``path``, if known."""
    from tpsim.config_yaml import line_of
    from tpsim.files import read_file

    if path is None or error.path is None:
        return str(error)
    try:
        raw = read_file(path)
    except OSError:
        return str(error)
    loc = tuple(int(p) if p.isdigit() else p for p in error.path.split("."))
    line = line_of(raw, loc)
    if line is None:
        return str(error)
    return str(error).replace(f"{error.path}: ", f"{error.path} (line {line}): ", 1)


def _serve(args: argparse.Namespace) -> int:
    # No collection while the modules and the config load (they only allocate: some
    # 130 ms of start-up went to the collector); what they made is then frozen out of
    # every later collection.
    gc.disable()
    from tpsim.logging import configure_logging
    from tpsim.serve.server import run, serve

    configure_logging(json_logs=args.log_json, level=args.log_level)
    try:
        config = _load(args.config, args.pisp_url)
    finally:
        gc.freeze()
        gc.enable()
    token = _admin_token(args)
    try:
        run(
            serve(
                config,
                host=args.host,
                port=args.port,
                access_log=args.access_log,
                admin_token=token,
                state=Path(args.state) if args.state else None,
            )
        )
    except OSError as exc:
        print(f"tpsim: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


def _admin_token(args: argparse.Namespace) -> str | None:
    """``--admin-token``, else ``$TPSIM_ADMIN_TOKEN``; empty counts as not given (so
    ``TPSIM_ADMIN_TOKEN: ${TPSIM_ADMIN_TOKEN:-}`` in a compose file means "none")."""
    token: str | None = args.admin_token or os.environ.get(ADMIN_TOKEN_ENV)
    return token or None


def _run(args: argparse.Namespace) -> int:
    import json
    from functools import partial
    from pathlib import Path

    from tpsim.scenario import reports
    from tpsim.scenario.cells import prepare
    from tpsim.scenario.console import Console
    from tpsim.scenario.harness import HarnessError
    from tpsim.scenario.model import scenario_json_schema
    from tpsim.scenario.progress import Progress
    from tpsim.scenario.report_paths import EXAMPLE, unwritable
    from tpsim.scenario.reports.environment import run_environment
    from tpsim.scenario.reports.mermaid import directory_problem
    from tpsim.scenario.runner import RunOptions, default_jobs, execute

    if args.schema:
        print(json.dumps(scenario_json_schema(), indent=2))
        return 0
    if not args.paths:
        raise ScenarioError("name at least one scenario file or directory")
    if args.jobs is not None and args.jobs < 1:
        raise ScenarioError("--jobs must be at least 1")
    environment = run_environment(args.command_line, args.config, args.server)
    written = [
        (option, path, write)
        for option, path, write in (
            ("--junit", args.junit, reports.write_junit),
            ("--json", args.json, reports.write_json),
            ("--html", args.html, partial(reports.write_html, environment=environment)),
        )
        if path
    ]
    problem = _server_problem(args.server) if args.server else None
    if problem is not None:
        print(f"tpsim: --server {args.server}: {problem}", file=sys.stderr)
        return 2
    inputs = _inputs(args.paths, args.config)
    reports_at: dict[Path, str] = {}
    for option, path, _ in written:  # before the run, not after it
        problem = unwritable(path, option)
        same = _same_file(Path(path))
        if problem is None and same in inputs:
            problem = (
                f"is {inputs[same]}: writing the report there would overwrite it; name"
                f" another file, e.g. {Path(path).with_name(EXAMPLE[option])}"
            )
        elif problem is None and same in reports_at:
            problem = (
                f"is also the {reports_at[same]} report: each report needs its own file,"
                f" e.g. {Path(path).with_name(EXAMPLE[option])}"
            )
        reports_at.setdefault(same, option)
        if problem is not None:
            print(f"tpsim: {option} {path}: {problem}", file=sys.stderr)
            return 2
    if args.mermaid:  # a directory, not a file
        problem = directory_problem(Path(args.mermaid))
        if problem is not None:
            print(f"tpsim: --mermaid {args.mermaid}: {problem}", file=sys.stderr)
            return 2
        written.append(("--mermaid", args.mermaid, reports.write_mermaid))
    options = RunOptions(
        server=args.server,
        admin_token=_admin_token(args),
        timeout=args.timeout,
        jobs=args.jobs or default_jobs(),
        config=args.config,
        spec_dir=Path(args.spec_dir) if args.spec_dir else None,
        check_sent=args.check_sent,
    )
    cells, validator = prepare(args.paths, options)
    console = Console(len(cells))
    options.on_start, options.on_done = console.started, console.finished
    progress = Progress(cells)
    try:
        result = asyncio.run(execute(cells, validator, options, progress))
    except HarnessError as exc:  # unreachable, refusing the token, no tpsim: nothing ran
        print(f"tpsim: --server {args.server}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the finished scenarios are reported all the same
        result = progress.result(interrupted=True)
    console.summary(result)
    code = INTERRUPTED if result.interrupted else 0 if result.passed else 1
    for option, path, write in written:
        try:
            write(result, Path(path))
        except OSError as exc:
            print(
                f"tpsim: {option} {path}: cannot write the report: {exc.strerror}", file=sys.stderr
            )
            code = code if result.interrupted else 2
    return code


def _same_file(path: Path) -> Path:
    """``path`` as the file it is (symlinks and ``..`` resolved), for comparing paths."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return path.absolute()


def _inputs(arguments: Sequence[str], config: str | None) -> dict[Path, str]:
    """The files ``tpsim run`` reads, which no report may overwrite: the scenario files
    named (and those under the directories named) and the base config."""
    found: dict[Path, str] = {}
    if config:
        found[_same_file(Path(config))] = "the --config file"
    for argument in arguments:
        path = Path(argument)
        candidates = path.rglob("*") if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.suffix in (".yaml", ".yml") or candidate == path:
                found.setdefault(_same_file(candidate), "a scenario file")
    return found


def _server_problem(url: str) -> str | None:
    """Why ``--server`` is no base URL of a tpsim (None: it is one)."""
    from tpsim.scenario.harness import url_problem

    return url_problem(url)
