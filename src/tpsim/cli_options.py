"""Command-line options more than one command takes, defined once: ``--timeout`` of
``tpsim pisp``, ``tpsim run`` and ``tpsim load``, ``--port`` of ``tpsim serve`` and ``tpsim
pisp listen``. A module of its own, importing nothing of tpsim, so that ``tpsim serve``
(whose parser is built with ``run``'s) imports no other command.
"""

from __future__ import annotations

import argparse

MAX_TIMEOUT_S = 3600.0  # an hour: more is a typo, or a run that should not be waited for


def add_timeout(parser: argparse._ActionsContainer, meaning: str, *, default: float = 10.0) -> None:
    """``--timeout SECONDS`` (more than 0 and at most an hour; ``default`` 10), as
    ``tpsim pisp``, ``tpsim run`` and ``tpsim load`` take it; ``meaning`` is what it bounds,
    for the help. ``parser``: a parser, or one of its argument groups."""
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=default,
        metavar="SECONDS",
        help=f"{meaning} (default {default:g})",
    )


def _seconds(text: str) -> float:
    """``--timeout``: a positive number of seconds (argparse says so, exit 2)."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < seconds <= MAX_TIMEOUT_S:  # nan compares false: refused too
        raise argparse.ArgumentTypeError(f"give more than 0 and at most {MAX_TIMEOUT_S:g} seconds")
    return seconds


def port(text: str) -> int:
    """``--port``: a TCP port, refused by argparse (exit 2) rather than by ``bind`` (a
    traceback) when it is out of range, before the command imports what it runs."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError("port must be 0–65535")
    return number
