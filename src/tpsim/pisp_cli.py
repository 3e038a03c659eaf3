"""``tpsim pisp …``: a built-in PISP that plays the Third Party flows against a running
tpsim and prints each hop as it happens, the quickest way to see the flows::

    tpsim pisp transfer --amount 10 [--payer ADDRESS] [--payee MSISDN] [--credential FILE]
    tpsim pisp link --user carol --channel OTP|WEB [--dfsp FSPID] [--credential FILE]
        both: [--server URL] [--pisp FSPID] [--admin-token TOKEN] [--timeout SECONDS]
    tpsim pisp listen [--host H] [--port P] [--pisp FSPID]

``transfer`` and ``link`` listen for callbacks on an ephemeral loopback port, make it the
server's PISP endpoint for the run (admin API) and put the server's config back after it:
both changes start the server's state afresh (``PUT /admin/fixtures``). ``listen`` only
answers and prints callbacks, at the address a ``tpsim serve --pisp-url`` names, for
someone sending the requests by hand (the README's walkthroughs).

Exit codes: 0 the flow completed, 1 it did not (tpsim refused a request, sent an error
callback, or an awaited callback did not come in time), 2 it could not be played (the
server cannot be reached or refused its admin API, no such account, PISP or credential).
Every line is the hop's method, path (``{ID}`` for the conversation's ids), the other
party and what it said.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tpsim.cli_options import add_timeout, port
from tpsim.core.errors import TpsimError
from tpsim.files import read_text

if TYPE_CHECKING:  # the commands import aiohttp only when they run
    from tpsim.auth.authenticator import SoftwareAuthenticator
    from tpsim.scenario.pisp_client import Callback
    from tpsim.scenario.pisp_flows import Flow

ADMIN_TOKEN_ENV = "TPSIM_ADMIN_TOKEN"  # noqa: S105 - the variable's name, as `tpsim run` reads it
DEFAULT_SERVER = "http://127.0.0.1:4040"


def add_pisp_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``pisp`` and its sub-commands to ``subparsers``; return its parser."""
    pisp = subparsers.add_parser(
        "pisp", help="play a PISP against a running tpsim, printing each hop (exit 0, 1, 2)"
    )
    commands = pisp.add_subparsers(dest="pisp_command", required=True, metavar="FLOW")

    transfer = commands.add_parser("transfer", help="pay from a linked account")
    transfer.add_argument(
        "--amount", required=True, help="an FSPIOP Amount, e.g. 10 or 10.5 (no trailing zeros)"
    )
    transfer.add_argument(
        "--payer",
        default="dfspa.alice.chequing",
        metavar="ADDRESS",
        help="a linked account (default dfspa.alice.chequing)",
    )
    transfer.add_argument(
        "--payee", default="16135551212", metavar="MSISDN", help="default Bob's, 16135551212"
    )
    transfer.add_argument(
        "--credential",
        type=Path,
        metavar="FILE",
        help="sign with this credential file (default: the built-in"
        " test credential that the payer's consent holds)",
    )
    _playing(transfer)
    transfer.set_defaults(handler=run_transfer)

    link = commands.add_parser("link", help="link a user's accounts (OTP or the login page)")
    link.add_argument("--user", required=True, help="the user at the DFSP, e.g. carol")
    link.add_argument("--channel", choices=["OTP", "WEB"], default="OTP")
    link.add_argument(
        "--dfsp", default="dfspa", metavar="FSPID", help="the user's DFSP (default dfspa)"
    )
    link.add_argument(
        "--credential",
        type=Path,
        metavar="FILE",
        help="register this credential file (default: a new FIDO one)",
    )
    _playing(link)
    link.set_defaults(handler=run_link)

    listen = commands.add_parser(
        "listen", help="answer and print the callbacks of a tpsim serve --pisp-url (Ctrl-C ends)"
    )
    listen.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    listen.add_argument("--port", type=port, default=5000, help="default 5000; 0: any free")
    _as_pisp(listen)
    listen.set_defaults(handler=run_listen)
    return pisp


def _as_pisp(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pisp", default="pispa", metavar="FSPID", help="the PISP's fspId (default pispa)"
    )


def _playing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server", default=DEFAULT_SERVER, metavar="URL", help=f"default {DEFAULT_SERVER}"
    )
    _as_pisp(parser)
    parser.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help=f"the server's admin token (default ${ADMIN_TOKEN_ENV})",
    )
    add_timeout(parser, "how long each callback may take")


# --- printing -----------------------------------------------------------------------------


class Hops:
    """Prints each hop as one line (``HopLog``): ``→`` what the PISP sent, the receiver
    and tpsim's answer; ``←`` what tpsim sent, its sender and what it says. A callback
    that arrives before the answer to the request that caused it is printed after that
    answer, so the lines read in the order of the conversation. ``bodies``: print each
    callback's whole path and body too (``listen``: a person copies ids from them)."""

    def __init__(self, out: Callable[[str], None] | None = None, *, bodies: bool = False) -> None:
        self._out = out or _at_once
        self._bodies = bodies
        self._held: list[str] | None = None

    def sending(self) -> None:
        self._held = []

    def sent(self, method: str, path: str, destination: str | None, status: int) -> None:
        held, self._held = self._held or [], None
        answer = str(status) if status else "no answer"
        self._out(f"→ {method} {_shown(method, path)}  {destination or 'switch'}  {answer}")
        for line in held:
            self._out(line)

    def received(self, callback: Callback) -> None:
        path = callback.path if self._bodies else _template_path(callback)
        line = f"← {callback.method} {path}  {callback.source}  {says(callback)}".rstrip()
        if self._bodies and callback.body is not None:
            line += "\n" + _indented(json.dumps(callback.body, indent=2, ensure_ascii=False))
        if self._held is not None:
            self._held.append(line)
        else:
            self._out(line)

    def note(self, text: str) -> None:
        self._out(f"  {text}")


def _at_once(line: str) -> None:
    """Print ``line`` now, even into a pipe: each hop shows as it happens."""
    print(line, flush=True)


_PARAM = re.compile(r"\{(\w+)\}")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def _template_path(callback: Callback) -> str:
    """The path with the conversation's UUIDs as their template's names (``{ID}``), so the
    lines stay short; other parameters (``MSISDN``, ``carol``) as sent."""
    if not callback.template:
        return callback.path

    def value(found: re.Match[str]) -> str:
        given = callback.params.get(found[1], found[0])
        return found[0] if _UUID.fullmatch(given) else given

    return _PARAM.sub(value, callback.template)


def _shown(method: str, path: str) -> str:
    from tpsim.scenario.pisp_client import Callback

    return _template_path(Callback.of(method, path, "", None, 0))


def _indented(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def _joined(*values: Any) -> str:
    return " / ".join(str(v) for v in values if v)


# What each callback says, in a few words, by its route template.
_SAYS: dict[str, Callable[[dict[str, Any]], str]] = {
    "/thirdpartyRequests/transactions/{ID}": lambda b: _joined(
        b.get("transactionRequestState"), b.get("transactionState")
    ),
    "/thirdpartyRequests/authorizations": lambda b: (
        f"{b['transferAmount']['amount']} {b['transferAmount']['currency']},"
        f" challenge {str(b.get('challenge'))[:12]}…"
    ),
    "/parties/{Type}/{ID}": lambda b: (
        f"{b['party'].get('name')} at {b['party']['partyIdInfo']['fspId']}"
    ),
    "/services/{ServiceType}": lambda b: ", ".join(b.get("providers") or []),
    "/accounts/{ID}": lambda b: ", ".join(a["address"] for a in b.get("accounts") or []),
    "/consentRequests/{ID}": lambda b: _joined(
        ",".join(b.get("authChannels") or []), b.get("authUri")
    ),
    "/consents": lambda b: f"consentId {b.get('consentId')}",
    "/consents/{ID}": lambda b: _joined(b.get("status"), (b.get("credential") or {}).get("status")),
}


def says(callback: Callback) -> str:
    """A few words on what ``callback`` says: its state, error code, the challenge…"""
    if callback.error is not None:
        return " ".join(callback.error)
    speaks = _SAYS.get(callback.template)
    if speaks is None or not isinstance(callback.body, dict):
        return ""
    try:
        return speaks(callback.body)
    except (KeyError, TypeError, AttributeError):  # a body off the spec: show what it is
        return json.dumps(callback.body)[:80]


# --- the commands -------------------------------------------------------------------------


def run_transfer(args: argparse.Namespace) -> int:
    """``pisp transfer``: exit 0 once the transfer is COMPLETED."""
    from tpsim.scenario.pisp_flows import TransferPlan, transfer

    async def play(flow: Flow, credential: SoftwareAuthenticator | None) -> str:
        plan = TransferPlan(args.amount, args.payer, args.payee, credential)
        done = await transfer(flow, plan)
        return (
            f"transfer COMPLETED: {plan.amount} {done.currency} from {plan.payer}"
            f" ({done.balance_before} → {done.balance_after} {done.currency}) to MSISDN"
            f" {plan.payee} at {done.payee_fsp}"
        )

    return _played(args, "transfer", play)


def run_link(args: argparse.Namespace) -> int:
    """``pisp link``: exit 0 once the DFSP says the consent's credential is VERIFIED."""
    from tpsim.scenario.pisp_linking import LinkPlan, link

    async def play(flow: Flow, credential: SoftwareAuthenticator | None) -> str:
        plan = LinkPlan(args.user, args.channel, args.dfsp, credential)
        linked = await link(flow, plan)
        return (
            f"linked: {plan.user} at {plan.dfsp} gave {args.pisp} consent {linked.consent_id}"
            f" for {', '.join(linked.accounts)} ({linked.credential_type} credential VERIFIED)"
        )

    return _played(args, "link", play)


Play = Callable[["Flow", "SoftwareAuthenticator | None"], Awaitable[str]]


def _played(args: argparse.Namespace, name: str, play: Play) -> int:
    """Play ``play`` against ``--server`` (with the ``--credential``, read first); print
    its last line; the exit code."""
    from tpsim.scenario.harness import url_problem
    from tpsim.scenario.pisp_client import FlowFailed
    from tpsim.scenario.pisp_flows import against

    problem = url_problem(args.server)
    if problem is not None:
        print(f"tpsim pisp {name}: --server {args.server}: {problem}", file=sys.stderr)
        return 2
    hops = Hops()

    async def main(credential: SoftwareAuthenticator | None) -> str:
        token = args.admin_token or os.environ.get(ADMIN_TOKEN_ENV) or None
        async with against(
            args.server, log=hops, pisp=args.pisp, admin_token=token, timeout=args.timeout
        ) as flow:
            hops.note(f"{args.pisp} is {flow.pisp.url} for {flow.remote.url} during this run")
            result = await play(flow, credential)
        hops.note(f"{args.pisp} is back at its own endpoint on {args.server}")
        return result

    try:
        print(asyncio.run(main(_credential(args))))
    except FlowFailed as exc:
        print(f"{name} FAILED: {exc}")
        return 1
    except (TpsimError, OSError) as exc:  # CannotPlay, HarnessError, a credential file
        print(f"tpsim pisp {name}: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _credential(args: argparse.Namespace) -> SoftwareAuthenticator | None:
    from tpsim.auth.authenticator import SoftwareAuthenticator

    path: Path | None = args.credential
    if path is None:
        return None
    try:
        text = read_text(path)
    except OSError as exc:
        raise TpsimError(f"--credential {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise TpsimError(f"--credential {path}: not UTF-8 text: {exc.reason}") from None
    return SoftwareAuthenticator.from_json(text, source=str(path))


def run_listen(args: argparse.Namespace) -> int:
    """``pisp listen``: answer and print callbacks until Ctrl-C (exit 130, as any command)."""
    from tpsim.scenario.pisp_flows import listen

    def ready(url: str) -> None:
        print(
            f"{args.pisp} listens at {url}: start tpsim serve --pisp-url {url};"
            " each callback is printed with its body (Ctrl-C ends)",
            flush=True,
        )

    hops = Hops(bodies=True)

    async def main() -> None:
        await listen(
            args.host, args.port, log=hops, pisp=args.pisp, ready=ready, stop=asyncio.Event()
        )

    try:
        asyncio.run(main())
    except OSError as exc:
        print(
            f"tpsim pisp listen: cannot listen on {args.host}:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 2
    return 0
