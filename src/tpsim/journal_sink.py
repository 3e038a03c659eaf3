"""The journal's JSONL file, written by a background thread so no request waits on disk.

``put`` only queues a line (the queue is bounded in bytes: beyond it lines are dropped and
counted, with one warning); the thread writes what is queued. The first error on the file
(a full disk) is logged once with the path, after which hops stay in memory only; nothing
ever raises to a request. ``close`` writes what is queued and ends the thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import IO

log = logging.getLogger("tpsim.journal")


class JsonlSink:
    """The JSONL file, appended to by a background thread (see the module's docstring):
    ``put`` only queues a line, ``close`` writes what is queued and ends the thread."""

    def __init__(self, path: Path, max_queued: int) -> None:
        self.path = path
        self.dropped = 0
        self._file: IO[str] | None = path.open("a", encoding="utf-8")
        self._max_queued = max_queued
        self._lines: list[str] = []
        self._queued = 0
        self._closing = False
        self._warned_full = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="tpsim-journal-jsonl", daemon=True)
        self._thread.start()

    def put(self, line: str) -> None:
        with self._wake:
            if self._file is None or self._queued + len(line) > self._max_queued:
                self._drop_one()
                return
            self._lines.append(line)
            self._queued += len(line)
            if len(self._lines) == 1:  # the writer may be waiting for the first line
                self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()

    def _drop_one(self) -> None:
        self.dropped += 1
        if self._file is not None and not self._warned_full:
            self._warned_full = True
            log.warning("journal sink %s cannot keep up: dropping hops from it", self.path)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._lines and not self._closing:
                    self._wake.wait()
                lines, self._lines, self._queued = self._lines, [], 0
            if not lines:  # closing, and everything queued is written
                break
            if self._file is None or not self._written(self._file, lines):
                with self._wake:
                    self.dropped += len(lines)
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()

    def _written(self, file: IO[str], lines: list[str]) -> bool:
        """Write ``lines``; on the first error, log it and write no more."""
        try:
            file.write("".join(lines))
            file.flush()
            return True
        except OSError as exc:
            log.warning("journal sink %s failed, hops stay in memory only: %s", self.path, exc)
            self._file = None
            with contextlib.suppress(OSError):  # closing flushes the failed write again
                file.close()
            return False


def open_sink(path: Path | None, max_queued: int) -> JsonlSink | None:
    """The sink at ``path``, or None (logged) when the file cannot be opened."""
    if path is None:
        return None
    try:
        return JsonlSink(path, max_queued)
    except OSError as exc:
        log.warning("journal sink %s cannot be opened: %s; hops stay in memory only", path, exc)
        return None
