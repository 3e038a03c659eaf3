"""Reading a file a user named on the command line, bounded; writing one back whole.

A config, a scenario or a credentials file is read whole before it is parsed; one that is
not what it was meant to be (``/dev/zero``, a disk image given by mistake) must be refused
before it fills the memory. ``read_file`` reads at most ``MAX_FILE_BYTES`` (far above any
real config, scenario or credentials file) and refuses a larger one with an ``OSError``
(``EFBIG``), which every caller already reports as a file it cannot read.

``replace_text`` writes a file that must never be left half-written (a credential, whose
counter a verifier keeps): beside it first, then renamed over it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile

MAX_FILE_BYTES = 16 * 1024 * 1024


def read_file(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path`` (``-``: standard input); ``OSError`` (``EFBIG``) when it holds
    more than ``limit``."""
    if os.fspath(path) == "-":
        return _bounded(sys.stdin.buffer.read(limit + 1), limit, "<stdin>")
    with open(path, "rb") as file:
        return _bounded(file.read(limit + 1), limit, os.fspath(path))


def _bounded(data: bytes, limit: int, name: str) -> bytes:
    if len(data) > limit:
        why = f"more than {limit // (1024 * 1024)} MiB: not a file tpsim reads"
        raise OSError(errno.EFBIG, why, name)
    return data


def read_text(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> str:
    """``read_file`` decoded as UTF-8 (``UnicodeDecodeError`` when it is not)."""
    return read_file(path, limit).decode("utf-8")


def replace_text(path: str | os.PathLike[str], text: str) -> None:
    """Put ``text`` (UTF-8) in ``path`` whole or not at all: it is written to a new file
    beside ``path`` (0600: a credential holds a private key), flushed to the disk and
    renamed over ``path`` (``os.replace``, atomic on POSIX), so a failure midway (a full
    disk, the process killed) leaves the file as it was. ``OSError`` when it cannot be
    written, the temporary file then removed."""
    folder, name = os.path.split(os.fspath(path))
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
