"""What every simulated role is given: who it is, the scheme's state, time and ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tpsim.auth.origin import OriginPolicy
from tpsim.config import Config
from tpsim.config_participants import Kind
from tpsim.config_settings import Profile
from tpsim.core.clock import Clock, IdGenerator
from tpsim.core.records import Records
from tpsim.mojaloop.errors import FspiopError, IdNotFound, ServerError
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.common import new_message
from tpsim.mojaloop.roles.state import SchemeState


@dataclass(slots=True)
class Site:
    """Where users' browsers reach tpsim (its login page): the address it serves on, set
    once it listens, unless ``behaviour.linking.web.public_url`` says otherwise."""

    url: str = "http://127.0.0.1:4040"


@dataclass(slots=True)
class RoleContext:
    fsp_id: str
    hub_name: str
    config: Config
    state: SchemeState
    clock: Clock
    ids: IdGenerator
    site: Site = field(default_factory=Site)

    @property
    def profile(self) -> Profile:
        return self.config.behaviour.profile

    @property
    def public_url(self) -> str:
        """The base URL of tpsim's pages as a user's browser reaches them."""
        return self.config.behaviour.linking.web.public_url or self.site.url

    @property
    def origin_policy(self) -> OriginPolicy:
        return origin_policy(self.config)

    def records(self, kind: str) -> Records[Any]:
        """This participant's records of ``kind`` in the scheme's store, forgotten
        ``behaviour.retention_s`` after they end."""
        retention = timedelta(seconds=self.config.behaviour.retention_s)
        store, name = self.state.bank.store, f"{self.fsp_id}/{kind}"
        most = self.config.behaviour.retention_max
        return Records(store, name, retention=retention, max_ended=most, clock=self.clock)

    def message(
        self,
        method: str,
        path: str,
        *,
        to: str | None,
        body: dict[str, Any] | None,
        related: tuple[str, ...] = (),
    ) -> Message:
        """A message from this participant, dated now (see ``common.new_message``)."""
        return new_message(
            method,
            path,
            source=self.fsp_id,
            destination=to,
            body=body,
            now=self.clock.now(),
            related=related,
        )

    def error(self, path: str, error: FspiopError, *, to: str) -> Message:
        """``PUT {path}/error`` with ``error`` in this scheme's profile."""
        return self.message(
            "PUT", f"{path}/error", to=to, body=error.error_information(self.profile)
        )

    def shares_ledger(self, fsp_id: str | None) -> bool:
        """Whether ``fsp_id`` is simulated too: its postings are in this scheme's ledger."""
        return any(p.fsp_id == fsp_id and p.simulated for p in self.config.participants)

    def check_from_als(self, message: Message, params: dict[str, str]) -> None:
        """Only the hub, whose ALS this role asked, answers its ``/participants`` requests:
        a PISP's answer would have a consent linked (or registered) before the ALS holds
        it, or failed. Anyone else is told the id is unknown to them (3200)."""
        if message.source != self.hub_name:
            raise IdNotFound(
                f"{self.fsp_id} awaits no answer about {params['Type']} {params['ID']}"
                f" from {message.source}: only {self.hub_name} (the ALS) answers it"
            )

    def auth_service(self) -> str:
        """The participant that verifies credentials and signatures (the first configured)."""
        services = self.config.ids(Kind.AUTH_SERVICE)
        if not services:
            raise ServerError("no auth-service participant is configured to verify signatures")
        return services[0]


def origin_policy(config: Config) -> OriginPolicy:
    """The FIDO origin / rpId policy of ``behaviour.fido``."""
    fido = config.behaviour.fido
    return OriginPolicy(allowed_origins=tuple(fido.allowed_origins), rp_id=fido.rp_id)
