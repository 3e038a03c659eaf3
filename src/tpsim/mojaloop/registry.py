"""Who takes part in the scheme, and how a message reaches each of them.

A participant is either *simulated* (a ``SimulatedRole`` delivered to in-process) or
*external* (an HTTP endpoint). Which transport carries a message to each is decided once,
by ``serve.transports.Transports``; the switch and the router never ask which roles are
which (the switch only asks whether a participant is external, to transform headers).

An external participant may, as in Mojaloop's participant endpoints
(``FSPIOP_CALLBACK_URL_PARTIES_PUT``, ``TP_CB_URL_TRANSACTION_REQUEST_PUT``, …), take each
resource family at its own base URL (``External.endpoints``); ``External.url_for`` says
which base URL a message goes to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from tpsim.config_participants import Kind
from tpsim.mojaloop.message import SimulatedRole


@dataclass(frozen=True, slots=True)
class External:
    """A participant tpsim reaches over HTTP: ``endpoint`` is its default base URL,
    ``endpoints`` the base URL of each resource family it takes elsewhere (``parties``,
    ``thirdpartyRequests``, …: a message path's first segment)."""

    fsp_id: str
    kind: Kind
    endpoint: str
    endpoints: Mapping[str, str] = field(default_factory=dict, hash=False)

    def url_for(self, path: str) -> str:
        """The base URL a message to ``path`` is sent under: its family's, else the default
        (``/thirdpartyRequests/transactions/1`` → ``endpoints["thirdpartyRequests"]``)."""
        return self.endpoints.get(family_of(path), self.endpoint)


@dataclass(frozen=True, slots=True)
class Simulated:
    fsp_id: str
    kind: Kind
    role: SimulatedRole


Participant = External | Simulated


def family_of(path: str) -> str:
    """The resource family of a message path: its first segment (``/parties/MSISDN/1`` →
    ``parties``), as Mojaloop keys a participant's endpoints by resource."""
    return path.split("?", 1)[0].lstrip("/").split("/", 1)[0]


class Registry:
    """Participants by ``fspId``; the hub itself is registered under its name."""

    def __init__(self) -> None:
        self._by_id: dict[str, Participant] = {}

    def add(self, participant: Participant) -> None:
        self._by_id[participant.fsp_id] = participant

    def get(self, fsp_id: str | None) -> Participant | None:
        return None if fsp_id is None else self._by_id.get(fsp_id)

    def __contains__(self, fsp_id: object) -> bool:
        return fsp_id in self._by_id

    def __iter__(self) -> Iterator[Participant]:
        return iter(self._by_id.values())

    def role(self, fsp_id: str) -> SimulatedRole | None:
        """The role playing ``fsp_id`` if tpsim simulates it (whose timers to fire)."""
        participant = self._by_id.get(fsp_id)
        return participant.role if isinstance(participant, Simulated) else None

    def ids(self, kind: Kind) -> list[str]:
        """The fspIds of every participant of ``kind``, in registration order."""
        return [p.fsp_id for p in self._by_id.values() if p.kind is kind]
