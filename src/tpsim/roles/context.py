"""What every simulated role is given: who it is, the scheme's state, time and ids."""

from __future__ import annotations

from dataclasses import dataclass, field

from tpsim.clock import Clock, IdGenerator
from tpsim.config import Config
from tpsim.crypto.fido import OriginPolicy
from tpsim.errors import Profile
from tpsim.roles.state import SchemeState


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


def origin_policy(config: Config) -> OriginPolicy:
    """The FIDO origin / rpId policy of ``behaviour.fido``."""
    fido = config.behaviour.fido
    return OriginPolicy(allowed_origins=tuple(fido.allowed_origins), rp_id=fido.rp_id)
