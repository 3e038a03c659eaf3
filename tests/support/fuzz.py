"""Schemathesis against a served tpsim: what the PSD2 fuzz tests (XS2A, UK) share.

``served`` runs ``tpsim serve --port 0`` in a subprocess (the synchronous schemathesis
client needs a server outside the test's event loop) and gives its URL; ``load_schema``
reads a bundled OpenAPI aimed at it; ``fuzz`` sends an operation's generated requests
(a fixed seed, ``EXAMPLES`` per call) and collects every distinct failure of the given
checks in ``Problems``, each with a reproducer, instead of stopping at the first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, CheckContext, GenerationMode, Response
from schemathesis.auths import AuthStorage
from schemathesis.errors import FailureGroup

SEED = 20261130
# Requests per operation, mode and target. A deeper run:
# TPSIM_FUZZ_EXAMPLES=100 pytest tests/serve/test_xs2a_fuzz.py -o timeout=0
EXAMPLES = int(os.environ.get("TPSIM_FUZZ_EXAMPLES", "5"))

AnyCase = Case[Any]
Operation = APIOperation[Any, Any, Any, Any]
PathParameters = dict[str, str]
Check = Callable[[CheckContext, Response, AnyCase], bool | None]
Target = tuple[str, PathParameters | None]  # a name, and the path parameters it fixes


# -- the served tpsim ---------------------------------------------------------------------


@contextmanager
def served(config: dict[str, Any], directory: Path) -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a ``tpsim serve --port 0`` with ``config``, its
    config and log in ``directory``; the process ends with the block."""
    path = directory / "tpsim.yaml"
    path.write_text(yaml.safe_dump(config))
    log = directory / "tpsim.log"
    argv = [sys.executable, "-m", "tpsim", "serve", "--port", "0", "--log-json", "--config"]
    with log.open("wb") as stderr:
        # A file, never a pipe: a chatty server must not block on a full pipe.
        process = subprocess.Popen(  # noqa: S603 - a fixed argv: this interpreter, tpsim
            [*argv, str(path)], stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        yield _serving_url(process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serving_url(process: subprocess.Popen[bytes], log: Path) -> str:
    """The URL from the ``tpsim is serving`` log line (the port the kernel chose)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if '"tpsim is serving"' in line:
                return str(json.loads(line)["url"])
        if process.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"tpsim serve did not start:\n{log.read_text(errors='replace')[-3000:]}")


def load_schema(spec: Any, base_url: str) -> schemathesis.BaseSchema:
    """The OpenAPI at ``spec`` (a path or package resource) aimed at ``base_url`` (the
    spec's own servers are never contacted)."""
    config = schemathesis.Config.from_dict(
        # Reproducers show every header as sent (no secrets here: all test data).
        {"base-url": base_url, "output": {"sanitization": {"enabled": False}}}
    )
    return schemathesis.openapi.from_path(str(spec), config=config)


def sent_header(response: Response, name: str) -> str | None:
    """The value of header ``name`` in the request ``response`` answers, as text."""
    value = response.request.headers.get(name)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def checked_call(case: AnyCase, checks: list[Check]) -> Response:
    """Send one hand-made ``case`` and check its answer like every fuzzed one."""
    base_url = case.operation.schema.config.base_url
    response = case.call(base_url=base_url)
    case.validate_response(response, checks=checks, transport_kwargs={"base_url": base_url})
    return response


# -- fuzzing ------------------------------------------------------------------------------


@dataclass
class Problems:
    """Distinct failures (by target, checks failed and status), each with a reproducer."""

    found: dict[tuple[str, ...], str] = field(default_factory=dict)

    def add(self, key: tuple[str, ...], report: str) -> None:
        self.found.setdefault(key, report)

    def __bool__(self) -> bool:
        return bool(self.found)

    def report(self) -> str:
        return "\n\n".join(f"{' / '.join(key)}\n{text}" for key, text in self.found.items())


@dataclass(frozen=True)
class Fuzzing:
    """How one batch of an operation's requests is made: the checks every answer must
    pass, and optionally the auth applied to each case (schemathesis's auth hook: a
    negative case that drops or breaks a security header keeps it so), a change to each
    generated case (e.g. a real id in the body), a fixed JSON body instead of generated
    ones (only the rest of the request is generated), and how many examples."""

    checks: list[Check]
    auth: AuthStorage[str] | None = None
    prepare: Callable[[AnyCase], AnyCase] | None = None
    body: Any = None
    examples: int = EXAMPLES


def fuzz(
    operation: Operation,
    mode: GenerationMode,
    target: Target,
    how: Fuzzing,
    problems: Problems,
) -> None:
    """Send ``how.examples`` generated requests for ``operation`` on ``target`` and check
    every answer, collecting problems instead of stopping at the first (no shrinking: a
    seeded run's first example of each problem is its reproducer)."""
    label, path_parameters = target
    base_url = operation.schema.config.base_url
    fixed: dict[str, Any] = {}
    if how.body is not None:
        fixed = {"body": how.body, "media_type": "application/json"}
    strategy: st.SearchStrategy[AnyCase] = operation.as_strategy(
        generation_mode=mode, path_parameters=path_parameters, auth_storage=how.auth, **fixed
    )
    if how.prepare is not None:
        strategy = strategy.map(how.prepare)

    @settings(
        max_examples=how.examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(SEED)
    @given(case=strategy)
    def send(case: AnyCase) -> None:
        try:
            response = case.call(base_url=base_url)
        except Exception as exc:  # no answer at all: the server dropped the connection
            key = (label, mode.value, f"no answer: {type(exc).__name__}")
            problems.add(key, f"{exc}\n{case.as_curl_command(base_url=base_url)}")
            return
        try:
            case.validate_response(
                response, checks=how.checks, transport_kwargs={"base_url": base_url}
            )
        except FailureGroup as group:
            titles = sorted({failure.title for failure in group.exceptions})
            problems.add((label, mode.value, str(response.status_code), *titles), str(group))

    send()


def bearer(token: str | None) -> AuthStorage[str]:
    """Schemathesis's auth hook sending ``Authorization: Bearer <token>`` (None: no
    Authorization header at all) on every generated case."""

    class Bearer:
        def get(self, case: AnyCase, context: object) -> str:
            return "" if token is None else token

        def set(self, case: AnyCase, data: str, context: object) -> None:
            case.headers.pop("Authorization", None)
            if data:
                case.headers["Authorization"] = f"Bearer {data}"

    storage: AuthStorage[str] = AuthStorage()
    storage.auth(refresh_interval=None)(Bearer)
    return storage
