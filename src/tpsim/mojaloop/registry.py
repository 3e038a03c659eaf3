"""Who takes part in the scheme, and how a message reaches each of them.

A participant is either *simulated* (a ``SimulatedRole`` delivered to in-process) or
*external* (an HTTP endpoint). Which transport carries a message to each is decided once,
by ``serve.transports.Transports``; the switch and the router never ask which roles are
which (the switch only asks whether a participant is external, to transform headers).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tpsim.config import Kind
from tpsim.mojaloop.message import SimulatedRole


@dataclass(frozen=True, slots=True)
class External:
    fsp_id: str
    kind: Kind
    endpoint: str


@dataclass(frozen=True, slots=True)
class Simulated:
    fsp_id: str
    kind: Kind
    role: SimulatedRole


Participant = External | Simulated


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
