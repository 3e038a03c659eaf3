"""Where ``tpsim load``'s workers come from, and the PISP they play through.

**Against a running tpsim** (``against_tpsim``): the config in force gains each worker's
user and account (``load_seed.seed``: ``load{n}`` at ``--dfsp``, its account per flow,
each opening with ``--balance``) and the PISP's endpoint becomes this load generator's
listener, all through ``PUT /admin/fixtures``, which starts the server's state afresh; the
config that was in force is put back afterwards, however the run ends
(``harness.config_restored``, as ``tpsim run --server`` does).

**Against any Mojaloop switch** (``against_switch``): the PISP listens where the switch
calls it back (``--listen HOST:PORT``, the endpoint the switch has for the PISP), and the
consents and credentials are those of a credentials file (``read_credentials``), YAML or
JSON::

    pisp: pispa                       # the PISP's fspId (FSPIOP-Source); default pispa
    workers:                          # one per concurrent worker, each its own consent
      - consentId: 7e9c…              # the consent (for the report's errors)
        payer: dfspa.alice.chequing   # the linked account (THIRD_PARTY_LINK identifier)
        dfsp: dfspa                   # the payer's DFSP (FSPIOP-Destination)
        currency: USD
        credential: alice.json        # `tpsim credential export`/`new` output: a file
                                      # (relative to this one) or the object itself
        payee: {partyIdType: MSISDN, partyIdentifier: "16135551212", fspId: dfspb}

A FIDO credential's counter must grow across runs: the counters of credentials given as a
file name are written back to those files at the end (as ``tpsim credential sign
--update`` does: beside the file, then renamed over it, so a failure never leaves half a
file); an inline credential's are not. A file that cannot be written (read-only, a full
disk, its folder gone) is kept in ``Setup.unsaved`` with the counter to set by hand. It
must grow within a run too, so two workers may not share one FIDO credential (a GENERIC
one they may). A switch nothing accepts a connection at ends the run before it starts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.config import parse_config
from tpsim.files import read_text, replace_text
from tpsim.scenario.harness import RemoteTpsim, Warn, config_restored
from tpsim.scenario.load import Run, Worker, transfer_run
from tpsim.scenario.load_link import Linker, link_run
from tpsim.scenario.load_psd2 import DIALECTS, Psu, Tpp, psd2_run
from tpsim.scenario.load_seed import Seeded, Seeding, point, seed
from tpsim.scenario.mojaloop.params import Payee
from tpsim.scenario.pisp_client import Callback, CannotPlay, Inbox, ListeningPisp
from tpsim.scenario.pisp_flows import Flow, Player
from tpsim.scenario.session import StepFailed
from tpsim.scenario.stet.actions import execution_date


class Quiet:
    """A ``HopLog`` that prints nothing: under load, hops are counted, not shown."""

    def sending(self) -> None:
        return None

    def sent(self, method: str, path: str, destination: str | None, status: int) -> None:
        return None

    def received(self, callback: Callback) -> None:
        return None

    def note(self, text: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Unsaved:
    """A credential file its advanced counter could not be written back to."""

    path: Path
    counter: int  # what its "counter" must be set to before the next run
    was: int  # what it held when the run read it
    reason: str  # why it could not be written ("Read-only file system")


@dataclass
class Setup:
    """The flows each worker runs, and the credential files to save after."""

    runs: list[Run]
    saved: dict[Path, SoftwareAuthenticator] = field(default_factory=dict)
    unsaved: list[Unsaved] = field(default_factory=list)  # what save_counters could not
    _read: dict[Path, int] = field(init=False, repr=False)  # each file's counter as read

    def __post_init__(self) -> None:
        self._read = {path: signer.counter for path, signer in self.saved.items()}

    def save_counters(self) -> None:
        """Write each file-given credential whose counter advanced back to its file, whole
        or not at all (``replace_text``). Never raises for a file it cannot write: that
        one goes to ``unsaved`` (the report still comes out, then what to set), the
        others are written all the same."""
        for path, signer in self.saved.items():
            was = self._read[path]
            if signer.counter == was:  # nothing signed with it (or GENERIC): as it was
                continue
            try:
                replace_text(path, signer.to_json())
            except OSError as exc:
                reason = exc.strerror or str(exc)
                self.unsaved.append(Unsaved(path, signer.counter, was, reason))


def _client(timeout: float) -> aiohttp.ClientSession:
    """The HTTP client of the run: connections kept and reused, and no request waiting
    for its answer longer than ``timeout`` (a server that never answers ends the flow as
    ``connection`` within ``--timeout``, not after aiohttp's five minutes)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=timeout)
    )


async def _started(http: aiohttp.ClientSession, pisp: str, timeout: float) -> Player:
    player = ListeningPisp(http, pisp, inbox=Inbox(keep=False))  # watches follow each flow
    await player.start()
    return Player(player, Quiet(), timeout)


# --- against a running tpsim ----------------------------------------------------------------


@asynccontextmanager
async def against_tpsim(
    server: str,
    seeding: Seeding,
    *,
    pisp: str,
    admin_token: str | None,
    timeout: float,
    warn: Warn,
) -> AsyncIterator[Setup]:
    """Workers seeded into the tpsim at ``server`` for the block, whose PISP ``pisp`` calls
    this one back; the config in force before is put back after (``warn`` told when it
    cannot be)."""
    async with _client(timeout) as http:
        player = await _started(http, pisp, timeout)
        try:
            remote = RemoteTpsim(server, http, admin_token=admin_token)
            player.pisp.tpsim_url = remote.url
            # First what can refuse the run (a server unreachable, no tpsim, a token
            # missing; no such PISP, DFSP or payee): said once, nothing to put back.
            config = await remote.config_in_force()
            point(config, pisp, player.pisp.url)
            seeded = seed(config, seeding, pisp)
            async with config_restored(remote, warn):
                await remote.put_fixtures(config, "the load's users and accounts")
                yield Setup(await _runs(seeded, seeding, player, remote, config))
        finally:
            await player.pisp.close()


async def _runs(
    seeded: list[Seeded],
    seeding: Seeding,
    player: Player,
    remote: RemoteTpsim,
    config: dict[str, Any],
) -> list[Run]:
    """Each worker's flow."""
    if seeding.flow == "transfer":
        return [transfer_run(player, s.transfer) for s in seeded if s.transfer is not None]
    if seeding.flow == "link":
        flow = Flow(player.pisp, player.log, player.timeout, remote, parse_config(config))
        return [
            link_run(
                flow,
                Linker(s.user, seeding.dfsp, [s.address], seeding.channel, seeding.credential_type),
            )
            for s in seeded
        ]
    dialect = next(d for d in DIALECTS if d == seeding.flow)
    tpp = Tpp(remote, player.pisp, player.timeout)
    date = await _today(tpp) if dialect == "stet" else None
    return [
        psd2_run(dialect, tpp, Psu(s.user, seeding.dfsp, s.alias, s.alias, date)) for s in seeded
    ]


async def _today(tpp: Tpp) -> str | None:
    """STET's ``requestedExecutionDate`` for today on tpsim's clock, read once."""
    try:
        return await execution_date(tpp.session(), "today")
    except StepFailed as exc:
        raise CannotPlay(exc.failure.message) from None


# --- against another switch -----------------------------------------------------------------


@asynccontextmanager
async def against_switch(
    switch: str,
    listen: tuple[str, int],
    credentials: Path,
    *,
    timeout: float,
    report: Path | None = None,
) -> AsyncIterator[Setup]:
    """Workers of the ``credentials`` file, sending to ``switch`` and called back at
    ``listen``; the file-given credentials' counters saved after, however the run ends
    (those that could not be are in ``Setup.unsaved``).
    ``report``: where the report will be written, which may be none of those files."""
    pisp, workers, saved = read_credentials(credentials)
    if report is not None and report.resolve() in {credentials.resolve(), *saved}:
        raise CannotPlay(
            f"--json {report}: the credentials are kept there, and the report would"
            " overwrite them: write it elsewhere"
        )
    await _reachable(switch, timeout)
    async with _client(timeout) as http:
        player = await _started(http, pisp, timeout)
        try:
            await player.pisp.listen_also(*listen)
            player.pisp.tpsim_url = switch.rstrip("/")
            setup = Setup([transfer_run(player, worker) for worker in workers], saved)
            try:
                yield setup
            finally:
                setup.save_counters()
        finally:
            await player.pisp.close()


async def _reachable(switch: str, timeout: float) -> None:
    """``CannotPlay`` when nothing accepts a connection at ``switch``: else every flow
    would fail at once as ``connection``, thousands a second, for the whole run."""
    parts = urlsplit(switch)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(parts.hostname, port)
    except TimeoutError:
        raise CannotPlay(
            f"--switch {switch} cannot be reached: no connection within {timeout:g} s"
        ) from None
    except OSError as exc:
        raise CannotPlay(f"--switch {switch} cannot be reached: {exc.strerror or exc}") from None
    writer.close()
    with suppress(OSError):
        await writer.wait_closed()


class _PayeeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partyIdType: str = "MSISDN"  # noqa: N815 - spelled as on the wire
    partyIdentifier: str  # noqa: N815
    fspId: str | None = None  # noqa: N815


class _WorkerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consentId: str  # noqa: N815
    payer: str
    dfsp: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    credential: str | dict[str, Any]
    payee: _PayeeEntry


class _CredentialsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pisp: str = "pispa"
    workers: list[_WorkerEntry] = Field(min_length=1)


def read_credentials(
    path: Path,
) -> tuple[str, list[Worker], dict[Path, SoftwareAuthenticator]]:
    """The PISP, its workers and the file-given credentials of a credentials file;
    ``CannotPlay`` saying what to fix when it cannot be read."""
    try:
        data = yaml.safe_load(read_text(path))
        parsed = _CredentialsFile.model_validate(data)
    except OSError as exc:
        raise CannotPlay(f"--credentials {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CannotPlay(f"--credentials {path}: not UTF-8 text: {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise CannotPlay(f"--credentials {path}: not YAML or JSON: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CannotPlay(f"--credentials {path}: {where}: {first['msg']}") from None
    workers: list[Worker] = []
    saved: dict[Path, SoftwareAuthenticator] = {}
    fido: dict[bytes, int] = {}  # each FIDO credential's id → its worker
    for n, entry in enumerate(parsed.workers):
        signer, file = _signer(path, entry.credential)
        if signer.credential_type == "FIDO" and signer.credential_id is not None:
            other = fido.setdefault(signer.credential_id, n)
            if other != n:  # both would sign with the same counter: one refused each time
                raise CannotPlay(
                    f"--credentials {path}: workers {other} and {n} share one FIDO credential:"
                    " its counter must grow with every assertion, so give each worker its own"
                    " (`tpsim credential new`; GENERIC credentials may be shared)"
                )
        if file is not None:
            saved[file] = signer
        payee = Payee(
            type=entry.payee.partyIdType,
            id=entry.payee.partyIdentifier,
            fsp=entry.payee.fspId,
            name=None,
        )
        workers.append(
            Worker(entry.consentId, entry.payer, entry.dfsp, entry.currency, signer, payee)
        )
    return parsed.pisp, workers, saved


def _signer(path: Path, given: str | dict[str, Any]) -> tuple[SoftwareAuthenticator, Path | None]:
    """A worker's credential: the object itself, or the file it names (relative to the
    credentials file)."""
    if isinstance(given, dict):
        return SoftwareAuthenticator.from_json(json.dumps(given), source=str(path)), None
    file = (path.parent / given).resolve()
    try:
        text = read_text(file)
    except OSError as exc:
        raise CannotPlay(f"--credentials {path}: credential {given}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CannotPlay(
            f"--credentials {path}: credential {given}: not UTF-8 text: {exc.reason}"
        ) from None
    return SoftwareAuthenticator.from_json(text, source=str(file)), file
