"""An isolated tpsim on an ephemeral loopback port with a test PISP, for end-to-end tests.

``Scheme`` starts the test PISP's HTTP server, loads the built-in default config with
that PISP's endpoint (plus any overrides; every other external PISP of the config gets a
recording ``TestPisp`` of its own, in ``pisps``), and serves tpsim with a ``ManualClock`` so
that expiry and timeouts fire when the test says so. On teardown every body tpsim sent
is validated against the official OpenAPI (when the bundles are present).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from tests.support.pisp import TestPisp, future_expiration
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.config import Config, load_config, overlay, parse_config
from tpsim.config_participants import Kind
from tpsim.core.clock import ManualClock, SequentialIds
from tpsim.journal import Hop
from tpsim.mojaloop.wire.openapi import OpenApiValidator, missing_bundles, spec_dir
from tpsim.scenario import conformance
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation
from tpsim.serve.transports import Recording, Transports

REPO = Path(__file__).resolve().parents[2]
CREDENTIALS = REPO / "fixtures" / "credentials"

FIDO_CONSENT = "8e34f91d-d078-4077-8263-2c047876fcf6"
GENERIC_CONSENT = "3f6c1a52-7b1e-4c8e-9a34-5d2b8f0e6a71"
FIDO_ACCOUNT = "dfspa.alice.chequing"
GENERIC_ACCOUNT = "dfspa.alice.savings"
BOB_MSISDN = "16135551212"


def default_config_data() -> dict[str, Any]:
    return load_config().model_dump(mode="json")


def in_process(pisp: Recording, start: datetime) -> Simulation:
    """The built-in default scheme without sockets: its external participants answered by
    ``pisp``, time a ``ManualClock`` from ``start``, ids sequential."""
    return Simulation(
        load_config(),
        clock=ManualClock(start),
        ids=SequentialIds(),
        transports=Transports(lambda _: pisp),
    )


@dataclass
class Scheme:
    overrides: dict[str, Any] = field(default_factory=dict)
    pisp: TestPisp = field(default_factory=TestPisp)
    pisps: dict[str, TestPisp] = field(default_factory=dict)
    clock: ManualClock = field(default_factory=lambda: ManualClock(datetime.now(UTC)))
    sim: Simulation | None = None
    url: str = ""
    fido: SoftwareAuthenticator = field(
        default_factory=lambda: SoftwareAuthenticator.from_json(
            (CREDENTIALS / "alice-fido.json").read_text()
        )
    )
    generic: SoftwareAuthenticator = field(
        default_factory=lambda: SoftwareAuthenticator.from_json(
            (CREDENTIALS / "alice-generic.json").read_text()
        )
    )
    _server: TestServer | None = None

    async def start(self) -> Scheme:
        self.pisps[self.pisp.fsp_id] = self.pisp
        urls = {self.pisp.fsp_id: await self.pisp.start()}
        data = overlay(default_config_data(), self.overrides)
        for participant in data["participants"]:
            fsp_id = participant["fsp_id"]
            if participant["kind"] != "pisp" or not participant.get("endpoint"):
                continue
            if fsp_id not in urls:
                self.pisps[fsp_id] = TestPisp(fsp_id=fsp_id)
                urls[fsp_id] = await self.pisps[fsp_id].start()
            participant["endpoint"] = urls[fsp_id]
        config: Config = parse_config(data)
        self.sim = Simulation(config, clock=self.clock, ids=SequentialIds())
        self._server = TestServer(create_app(self.sim), host="127.0.0.1")
        await self._server.start_server()
        self.url = str(self._server.make_url("")).rstrip("/")
        self.sim.site.url = self.url
        for pisp in self.pisps.values():
            pisp.tpsim_url = self.url
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
        for pisp in self.pisps.values():
            await pisp.close()

    async def settle(self) -> None:
        """Wait until tpsim has delivered everything it is working on."""
        assert self.sim is not None
        await self.sim.router.drain()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def balance(self, address: str) -> str:
        assert self.sim is not None
        return format(self.sim.state.bank.ledger.available(address).normalize(), "f")

    def sent_by_tpsim(self) -> list[dict[str, Any]]:
        """Every message a simulated participant (or the switch) sent, from the journal."""
        assert self.sim is not None
        return sent_by_tpsim(self.sim)

    def xs2a_answers(self) -> list[dict[str, Any]]:
        """Every XS2A answer tpsim sent a TPP, from the journal."""
        assert self.sim is not None
        return [
            e.to_json()
            for e in self.sim.journal.entries()
            if e.hop is Hop.SENT and e.dialect == "xs2a"
        ]

    def validate_xs2a_answers(self) -> int:
        """Validate every XS2A answer against the official XS2A OpenAPI (shipped in the
        package), by the check ``tpsim run --check-sent`` makes; returns the count."""
        assert self.sim is not None
        journal = [e.to_json() for e in self.sim.journal.entries()]
        found = conformance.xs2a_sent_by_tpsim(journal, set(self.sim.psd2.xs2a))
        assert not found, "tpsim sent XS2A answers the OpenAPI does not allow:\n" + "\n".join(
            f"#{v.seq} {v.method} {v.path}: {v.field}: {v.message} [{v.rule}]" for v in found
        )
        return len(self.xs2a_answers())

    def validate_sent_bodies(self) -> int:
        """Validate every body tpsim sent against the official OpenAPI; returns the count."""
        assert self.sim is not None
        return self.validate_xs2a_answers() + validate_sent_by_tpsim(self.sim)


def sent_by_tpsim(sim: Simulation) -> list[dict[str, Any]]:
    """Every Mojaloop message a simulated participant (or the switch) sent, from ``sim``'s
    journal."""
    simulated = {p.fsp_id for p in sim.router.registry if p.kind is not Kind.PISP}
    hops = (Hop.DELIVERED, Hop.SENT)
    return [
        e.to_json()
        for e in sim.journal.entries()
        if e.hop in hops and e.source in simulated and e.dialect in (None, "mojaloop")
    ]


def validate_sent_by_tpsim(sim: Simulation) -> int:
    """Validate every Mojaloop body ``sim`` sent against the official OpenAPI; the count
    (0 when the bundles are not beside the project)."""
    directory = spec_dir()
    if missing_bundles(directory):
        return 0
    validator = _validator(directory)
    kinds = {p.fsp_id: p.kind for p in sim.router.registry}
    roles = {Kind.PISP: "pisp", Kind.DFSP: "dfsp", Kind.AUTH_SERVICE: "auth"}
    sent = sent_by_tpsim(sim)
    for entry in sent:
        kind = kinds.get(entry["destination"] or "", Kind.HUB)
        validator.validate_sent(entry, roles.get(kind, "hub"))
    return len(sent)


_VALIDATORS: dict[Path, OpenApiValidator] = {}


def _validator(directory: Path) -> OpenApiValidator:
    if directory not in _VALIDATORS:
        _VALIDATORS[directory] = OpenApiValidator(directory)
    return _VALIDATORS[directory]


def transaction_request(
    request_id: str,
    *,
    payer: str = FIDO_ACCOUNT,
    amount: str = "100",
    currency: str = "USD",
    amount_type: str = "SEND",
    payee_fsp: str | None = "dfspb",
    payee_msisdn: str = BOB_MSISDN,
    expiration: str | None = None,
) -> dict[str, Any]:
    """A ``POST /thirdpartyRequests/transactions`` body as a PISP sends it."""
    payee_id: dict[str, Any] = {"partyIdType": "MSISDN", "partyIdentifier": payee_msisdn}
    if payee_fsp is not None:
        payee_id["fspId"] = payee_fsp
    return {
        "transactionRequestId": request_id,
        "payee": {"partyIdInfo": payee_id, "name": "Bob Babirye"},
        "payer": {"partyIdType": "THIRD_PARTY_LINK", "partyIdentifier": payer, "fspId": "dfspa"},
        "amountType": amount_type,
        "amount": {"currency": currency, "amount": amount},
        "transactionType": {
            "scenario": "TRANSFER",
            "initiator": "PAYER",
            "initiatorType": "CONSUMER",
        },
        "expiration": expiration or future_expiration(300),
    }
