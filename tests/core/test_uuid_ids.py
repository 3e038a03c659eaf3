"""``UuidIds``: random UUIDv4 strings as ``str(uuid.uuid4())`` writes them."""

from __future__ import annotations

import os
import sys
import uuid
import warnings

import pytest

from tpsim.core.clock import UuidIds


def test_ids_are_version_4_uuids_as_uuid4_writes_them() -> None:
    ids = UuidIds()
    made = [ids.new_id() for _ in range(1000)]  # several chunks of random bytes
    for value in made:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == value
    assert len(set(made)) == len(made)


def test_two_generators_never_hand_out_the_same_id() -> None:
    first, second = UuidIds(), UuidIds()
    made = {first.new_id() for _ in range(300)} | {second.new_id() for _ in range(300)}
    assert len(made) == 600


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_forked_process_draws_its_own_ids() -> None:
    ids = UuidIds()
    ids.new_id()  # bytes are waiting in this process
    read, write = os.pipe()
    with warnings.catch_warnings():  # other tests' threads: the child only writes and exits
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:  # pragma: no cover - the child only writes its next id
        os.write(write, ids.new_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    theirs = os.read(read, 100).decode()
    os.close(read)
    assert theirs != ids.new_id()
