"""Command-line options more than one command takes, defined once: ``--timeout`` of
``tpsim pisp`` and ``tpsim run --server``. A module of its own, importing nothing of tpsim,
so that ``tpsim serve`` (whose parser is built with ``run``'s) imports no other command.
"""

from __future__ import annotations

import argparse


def add_timeout(parser: argparse.ArgumentParser, meaning: str) -> None:
    """``--timeout SECONDS`` (default 10, more than 0 and at most an hour), as ``tpsim pisp``
    and ``tpsim run --server`` take it; ``meaning`` is what it bounds, for the help."""
    parser.add_argument(
        "--timeout", type=_seconds, default=10.0, metavar="SECONDS", help=f"{meaning} (default 10)"
    )


def _seconds(text: str) -> float:
    """``--timeout``: a positive number of seconds (argparse says so, exit 2)."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError("give more than 0 and at most 3600 seconds")
    return seconds
