"""The README's walkthroughs can be followed as written (issue 16, item 2).

Every ``sh`` block of "A transfer, as your PISP does it" and "Linking an account, as your
PISP does it" runs, in order, in bash with curl, against a tpsim served on 127.0.0.1 (an
ephemeral port put in place of ``http://127.0.0.1:4040``), its callbacks going to the PISP
``tpsim pisp listen`` plays. What a block shows is what must happen: each
``# → HTTP/1.1 202 Accepted`` is the answer of its request, each ``# → {json}`` what it
prints, and each ``# ← METHOD PATH from SOURCE:`` with the body under it a callback that
must arrive with exactly that body (``"<name>"`` stands for any value, which later blocks
use where they say ``<name>``; ``$VAR`` for the shell variable). The requests of
``docs/walkthrough/*.http`` are sent the same way.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.challenge import consent_challenge
from tpsim.config import load_config
from tpsim.mojaloop.wire.headers import format_http_date
from tpsim.pisp_cli import Hops
from tpsim.scenario.pisp_client import Callback, Inbox
from tpsim.scenario.pisp_flows import listen
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
WALKTHROUGH = REPO / "docs" / "walkthrough"
TRANSFER = "### A transfer, as your PISP does it"
LINKING = "### Linking an account, as your PISP does it"
README_TPSIM = "http://127.0.0.1:4040"  # where the README's tpsim serves
LISTEN = "tpsim pisp listen"  # the block the test plays itself: its PISP answers
WAIT_S = 10.0

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None,
    reason="the README's walkthroughs are curl commands in bash",
)


# --- reading the README ---------------------------------------------------------------------


@dataclass
class Expected:
    """A callback a block says arrives: ``# ← METHOD PATH from SOURCE:`` and its body."""

    method: str
    path: str
    source: str
    body: Any


@dataclass
class Block:
    script: str
    answers: list[str] = field(default_factory=list)  # "# → …": a status line or JSON
    callbacks: list[Expected] = field(default_factory=list)


_FENCE = re.compile(r"^([ \t]*)```sh\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
_ANSWER = re.compile(r"^# → (.+)$")
_CALLBACK = re.compile(r"^# ← (GET|PUT|POST|PATCH|DELETE) (\S+) from (\S+):$")
_BODY = re.compile(r"^#  +(\S.*)$")
_PLACEHOLDER = re.compile(r"<(\w+)>")
_ASSIGNED = re.compile(r"^([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def section(text: str, heading: str) -> str:
    """The README text under ``heading``, up to the next heading."""
    start = text.index(heading + "\n") + len(heading) + 1
    ends = [text.find(mark, start) for mark in ("\n### ", "\n## ")]
    return text[start : min(e for e in ends if e != -1)]


def blocks(text: str) -> list[Block]:
    found = []
    for match in _FENCE.finditer(text):
        block = Block(textwrap.dedent(match[2]))  # a block in a list item, as rendered
        lines = block.script.splitlines()
        for index, line in enumerate(lines):
            if answer := _ANSWER.match(line):
                block.answers.append(answer[1])
            elif callback := _CALLBACK.match(line):
                body = []
                for following in lines[index + 1 :]:
                    if (part := _BODY.match(following)) is None:
                        break
                    body.append(part[1])
                expected = Expected(
                    callback[1], callback[2], callback[3], json.loads(" ".join(body))
                )
                block.callbacks.append(expected)
        found.append(block)
    return found


# --- what arrives --------------------------------------------------------------------------


class Heard:
    """The callbacks the listening PISP answered, each taken once, in order."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self._taken: set[int] = set()

    async def take(self, wanted: Callable[[Callback], bool], what: str) -> Callback:
        """The first callback not taken yet that ``wanted`` accepts (waiting for it)."""

        def fresh(callback: Callback) -> bool:
            return id(callback) not in self._taken and wanted(callback)

        try:
            callback = await self.inbox.first(fresh, timeout=WAIT_S)
        except TimeoutError:
            seen = [f"{c.method} {c.path} from {c.source}" for c in self.inbox.received]
            raise AssertionError(f"{what} never arrived; the PISP got: {seen}") from None
        self._taken.add(id(callback))
        return callback


@dataclass
class Stage:
    """tpsim served on 127.0.0.1, calling back the PISP ``tpsim pisp listen`` plays."""

    url: str
    sim: Simulation
    heard: Heard

    def balance(self, address: str) -> Decimal:
        return self.sim.state.bank.ledger.available(address)


@pytest.fixture
async def stage() -> AsyncIterator[Stage]:
    heard, stop = Heard(), asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    quiet = Hops(lambda line: None)
    pisp = asyncio.create_task(
        listen("127.0.0.1", 0, log=quiet, ready=ready.set_result, stop=stop, inbox=heard.inbox)
    )
    sim = Simulation(load_config(pisp_url=await asyncio.wait_for(ready, WAIT_S)))
    server = TestServer(create_app(sim), host="127.0.0.1")
    await server.start_server()
    try:
        yield Stage(str(server.make_url("")).rstrip("/"), sim, heard)
    finally:
        await server.close()
        stop.set()
        await pisp


# --- matching what arrived against what the README shows -------------------------------------


def fits(shown: Any, actual: Any, shell: dict[str, str], found: dict[str, str], at: str) -> None:
    """``actual`` is what the README shows: the same members and values, where ``"<name>"``
    is any value (kept in ``found``) and ``"$VAR"`` the shell variable's."""
    if isinstance(shown, str) and (name := re.fullmatch(r"<(\w+)>", shown)):
        found[name[1]] = str(actual)
        return
    if isinstance(shown, str) and shown.startswith("$"):
        shown = shell[shown[1:]]
    if isinstance(shown, dict) and isinstance(actual, dict):
        assert shown.keys() == actual.keys(), (
            f"{at}: the README shows {sorted(shown)}, tpsim sent {sorted(actual)}"
        )
        for key in shown:
            fits(shown[key], actual[key], shell, found, f"{at}.{key}")
        return
    if isinstance(shown, list) and isinstance(actual, list) and len(shown) == len(actual):
        for index, (one, other) in enumerate(zip(shown, actual, strict=True)):
            fits(one, other, shell, found, f"{at}[{index}]")
        return
    assert shown == actual, f"{at}: the README shows {shown!r}, tpsim sent {actual!r}"


def path_of(shown: str, shell: dict[str, str]) -> str:
    """The path a README line shows, with its shell variables' values."""
    return re.sub(r"\$(\w+)", lambda m: shell[m[1]], shown)


# --- running the blocks ------------------------------------------------------------------------


class Shell:
    """Runs blocks one after another in bash, as one terminal would: what a block sets
    (variables, the ``now`` function) is there for the next."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        self.folder = folder
        self.names = names
        self.values: dict[str, str] = {}
        bin_dir = str(Path(sys.executable).parent)  # this tpsim's `tpsim` and `python3`
        self.env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}

    async def run(self, script: str) -> str:
        keep = " ".join(self.names)
        each = f'for v in {keep}; do if [ -n "${{!v+x}}" ]; then'
        full = "\n".join(
            (
                "set -eo pipefail",
                "if [ -f state.sh ]; then . ./state.sh; fi",
                script,
                f'{each} declare -p "$v"; fi; done > state.sh',
                "declare -f >> state.sh",
                f'{each} printf "%s\\0%s\\0" "$v" "${{!v}}"; fi; done > values.bin',
            )
        )
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            full,
            cwd=self.folder,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        stdout = out.decode()
        assert process.returncode == 0, f"the block failed:\n{script}\n{stdout}\n{err.decode()}"
        parts = (self.folder / "values.bin").read_bytes().decode().split("\0")
        self.values.update(zip(parts[0:-1:2], parts[1::2], strict=True))
        return stdout


def statuses(stdout: str) -> list[str]:
    """The final status line of each answer ``curl -si`` printed (not a 100 Continue)."""
    return [
        line.strip()
        for line in stdout.splitlines()
        if line.startswith("HTTP/") and not line.split()[1].startswith("1")
    ]


def printed_json(stdout: str) -> list[Any]:
    decoder, found, at = json.JSONDecoder(), [], stdout.find("{")
    while at != -1:
        try:
            value, end = decoder.raw_decode(stdout, at)
        except ValueError:
            end = at + 1
        else:
            found.append(value)
        at = stdout.find("{", end)
    return found


def is_hop(hop: tuple[str, str, str], callback: Callback) -> bool:
    return (callback.method, callback.path, callback.source) == hop


def filled(script: str, found: dict[str, str], heading: str) -> str:
    """The commands with each ``<name>`` the reader replaces by what a callback said
    (comments, which show what comes back, keep theirs)."""
    lines = []
    for line in script.splitlines():
        if not line.startswith("#"):
            missing = [n for n in _PLACEHOLDER.findall(line) if n not in found]
            assert not missing, f"{heading}: {line!r} needs {missing}, which no callback shown gave"
            line = _PLACEHOLDER.sub(lambda m: found[m[1]], line)
        lines.append(line)
    return "\n".join(lines)


async def follow(
    text: str,
    heading: str,
    stage: Stage,
    shell: Shell,
    found: dict[str, str],
    *,
    setup_only: bool = False,
) -> list[Callback]:
    """Run the section's blocks in order and check everything they show (``setup_only``:
    only the blocks that send no FSPIOP request, which set the terminal up)."""
    arrived: list[Callback] = []
    for block in blocks(section(text, heading)):
        if block.script.strip().startswith(LISTEN):
            continue  # the stage's PISP is that one
        if setup_only and "curl -si" in block.script:
            continue
        script = filled(block.script.replace(README_TPSIM, stage.url), found, heading)
        stdout = await shell.run(script)
        shown_statuses = [a for a in block.answers if a.startswith("HTTP/")]
        assert statuses(stdout) == shown_statuses, f"{heading}:\n{block.script}"
        for answer in block.answers:
            if not answer.startswith("HTTP/"):
                assert json.loads(answer) in printed_json(stdout), f"{answer} not in {stdout}"
        for expected in block.callbacks:
            hop = (expected.method, path_of(expected.path, shell.values), expected.source)
            what = f"{expected.method} {expected.path} from {expected.source}"
            callback = await stage.heard.take(partial(is_hop, hop), what)
            fits(expected.body, callback.body, shell.values, found, what)
            arrived.append(callback)
    return arrived


def names_assigned(text: str) -> list[str]:
    return sorted(set(_ASSIGNED.findall(text)))


async def test_the_readme_transfer_walkthrough_moves_the_money(
    stage: Stage, tmp_path: Path
) -> None:
    text = README.read_text(encoding="utf-8")
    shell, found = Shell(tmp_path, names_assigned(text)), dict[str, str]()
    arrived = await follow(text, TRANSFER, stage, shell, found)
    ends = [c for c in arrived if c.is_("PATCH", "/thirdpartyRequests/transactions/{ID}")]
    assert ends, "the section never shows the PATCH that ends the transfer"
    assert ends[-1].get("transactionState") == "COMPLETED"
    assert stage.balance("dfspa.alice.chequing") == Decimal("990")
    assert stage.balance("dfspb.bob.chequing") == Decimal("10")


async def test_the_readme_linking_walkthrough_links_and_unlinks_carol(
    stage: Stage, tmp_path: Path
) -> None:
    text = README.read_text(encoding="utf-8")
    shell, found = Shell(tmp_path, names_assigned(text)), dict[str, str]()
    await follow(text, TRANSFER, stage, shell, found, setup_only=True)  # T, now()
    arrived = await follow(text, LINKING, stage, shell, found)
    patches = [c.body for c in arrived if c.is_("PATCH", "/consents/{ID}")]
    assert len(patches) == 2, "the section shows the credential verified, then the unlinking"
    assert patches[0] == {"credential": {"status": "VERIFIED"}}
    assert patches[-1]["status"] == "REVOKED"


def test_each_walkthrough_request_shows_what_tpsim_answers() -> None:
    """Both sections are made of complete requests (curl), each followed by the status
    tpsim answers it with, so a reader can tell at once whether it worked."""
    text = README.read_text(encoding="utf-8")
    for heading in (TRANSFER, LINKING):
        shown = blocks(section(text, heading))
        assert sum(b.script.count("curl -si") for b in shown) >= 3, f"{heading}: no requests"
        for block in shown:
            answered = [a for a in block.answers if a.startswith("HTTP/")]
            assert len(answered) == block.script.count("curl -si"), block.script


# --- docs/walkthrough/*.http ------------------------------------------------------------------


@dataclass
class HttpRequest:
    """One request of a ``.http`` file (VS Code REST Client / JetBrains HTTP Client)."""

    title: str
    method: str
    url: str
    headers: dict[str, str]
    body: str

    @property
    def status(self) -> int | None:
        """The status its title says tpsim answers (``→ 202``)."""
        found = re.search(r"→ (\d{3})", self.title)
        return int(found[1]) if found else None


def http_file(path: Path) -> tuple[dict[str, str], list[HttpRequest]]:
    """The file's variables (``@name = value``) and its requests, in order."""
    variables: dict[str, str] = {}
    requests: list[HttpRequest] = []
    for number, part in enumerate(path.read_text(encoding="utf-8").split("\n###")):
        lines = part.splitlines()
        title = lines.pop(0).strip() if number else ""
        if number == 0:
            for line in lines:
                if found := re.match(r"^@(\w+)\s*=\s*(.*)$", line):
                    variables[found[1]] = found[2].strip()
            continue
        lines = [line for line in lines if not line.startswith(("#", "//"))]
        method, url = lines.pop(0).split()[:2]
        headers: dict[str, str] = {}
        while lines and lines[0].strip():
            name, _, value = lines.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        requests.append(HttpRequest(title, method, url, headers, "\n".join(lines).strip()))
    return variables, requests


def resolved(text: str, variables: dict[str, str]) -> str:
    """``{{name}}`` and the REST Client's ``{{$guid}}``, ``{{$datetime rfc1123}}`` and
    ``{{$datetime iso8601 N m}}`` in ``text``, as the client sends them."""

    def value(found: re.Match[str]) -> str:
        words = found[1].split()
        if words == ["$guid"]:
            return str(uuid.uuid4())
        if words == ["$datetime", "rfc1123"]:
            return format_http_date(datetime.now(UTC))
        if words[:2] == ["$datetime", "iso8601"]:
            later = datetime.now(UTC) + timedelta(minutes=int(words[2]) if len(words) > 2 else 0)
            return later.strftime("%Y-%m-%dT%H:%M:%S.") + f"{later.microsecond // 1000:03d}Z"
        assert words[0] in variables, f"{{{{{found[1]}}}}} is not defined"
        return resolved(variables[words[0]], variables)

    return re.sub(r"\{\{(.+?)\}\}", value, text)


class HttpClient:
    """Sends a ``.http`` file's requests as the REST Client does; ``pasted`` are the
    values a person pastes into its variables."""

    def __init__(self, path: Path, stage: Stage) -> None:
        self.variables, self.requests = http_file(path)
        self.variables["tpsim"] = stage.url
        self.stage = stage

    async def send(self, number: int, **pasted: str) -> Any:
        self.variables.update(pasted)
        request = self.requests[number - 1]
        url = resolved(request.url, self.variables)
        headers = {k: resolved(v, self.variables) for k, v in request.headers.items()}
        body = resolved(request.body, self.variables).encode() or None
        assert "paste-" not in url + (body or b"").decode(), f"{request.title}: paste first"
        async with ClientSession() as http:
            async with http.request(request.method, url, headers=headers, data=body) as answer:
                text = await answer.text()
                status = answer.status
        assert status == (request.status or 200), f"{request.title}: {status} {text}"
        return json.loads(text) if text else None

    async def callback(self, method: str, template: str, **fields: Any) -> Callback:
        """The callback the request's title promises."""

        def wanted(c: Callback) -> bool:
            return (
                c.method == method
                and c.template == template
                and all(c.get(name) == value for name, value in fields.items())
            )

        return await self.stage.heard.take(wanted, f"{method} {template} {fields}")


async def test_the_transfer_http_walkthrough_moves_the_money(stage: Stage) -> None:
    client = HttpClient(WALKTHROUGH / "transfer.http", stage)
    alice = SoftwareAuthenticator.from_json(
        (REPO / "fixtures/credentials/alice-fido.json").read_text()
    )
    await client.send(1)
    await client.callback("PUT", "/parties/{Type}/{ID}")
    await client.send(2)
    await client.callback(
        "PUT", "/thirdpartyRequests/transactions/{ID}", transactionRequestState="RECEIVED"
    )
    request = await client.callback("POST", "/thirdpartyRequests/authorizations")
    assertion = alice.assertion(str(request.get("challenge")))  # tpsim credential sign
    await client.send(
        3,
        authorizationRequestId=str(request.get("authorizationRequestId")),
        fidoSignedPayload=json.dumps(assertion),
    )
    await client.callback(
        "PATCH", "/thirdpartyRequests/transactions/{ID}", transactionState="COMPLETED"
    )
    accounts = await client.send(4)
    balances = {a["address"]: a["balance"] for a in accounts["accounts"]}
    assert (balances["dfspa.alice.chequing"], balances["dfspb.bob.chequing"]) == ("990", "10")


async def test_the_linking_http_walkthrough_links_and_unlinks_carol(stage: Stage) -> None:
    client = HttpClient(WALKTHROUGH / "linking.http", stage)
    await client.send(1)
    await client.callback("PUT", "/services/{ServiceType}", providers=["dfspa", "dfspb"])
    await client.send(2)
    await client.callback("PUT", "/accounts/{ID}")
    await client.send(3)
    await client.callback("PUT", "/consentRequests/{ID}", authChannels=["OTP"])
    otp = await client.send(4)
    await client.send(5, otp=otp["otp"])
    grant = await client.callback("POST", "/consents")
    consent_id = str(grant.get("consentId"))
    challenge = consent_challenge(consent_id, json.loads(client.variables["scopes"]))
    attestation = SoftwareAuthenticator.create().attestation(challenge)  # credential attest
    await client.send(6, consentId=consent_id, fidoPayload=json.dumps(attestation))
    await client.callback("PATCH", "/consents/{ID}", credential={"status": "VERIFIED"})
    await client.send(7)
    await client.callback("PATCH", "/consents/{ID}", status="REVOKED")
