"""``tpsim.files``: a credential written back whole or not at all (``replace_text``), as
``tpsim credential sign --update`` and ``tpsim load --switch`` write counters."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from tpsim import files


def test_replace_text_puts_the_new_text_in_place_private(tmp_path: Path) -> None:
    path = tmp_path / "alice.json"
    path.write_text('{"counter": 1}\n')
    files.replace_text(path, '{"counter": 2}\n')
    assert path.read_text() == '{"counter": 2}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds a private key
    assert os.listdir(tmp_path) == ["alice.json"]


@pytest.mark.parametrize("fails", ["fsync", "replace"])
def test_a_write_that_fails_midway_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    """A full disk while the new text is flushed, or the rename refused: the user's file
    keeps its old text whole (never a truncated key file), and no temporary is left."""
    path = tmp_path / "alice.json"
    path.write_text('{"counter": 1}\n')

    def refuse(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, fails, refuse)
    with pytest.raises(OSError, match="No space left"):
        files.replace_text(path, '{"counter": 2}\n')
    monkeypatch.undo()
    assert path.read_text() == '{"counter": 1}\n'
    assert os.listdir(tmp_path) == ["alice.json"]


def test_a_path_that_became_a_directory_is_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "alice.json").mkdir()
    with pytest.raises(IsADirectoryError):
        files.replace_text(tmp_path / "alice.json", "{}")
    assert os.listdir(tmp_path) == ["alice.json"]
