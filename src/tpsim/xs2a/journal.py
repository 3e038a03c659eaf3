"""How the journal reads XS2A hops: each request and answer, linked by payment and
authorisation ids, and a PSU's browser sent back to the TPP (``redirect``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tpsim.journal import Reading, register_dialect

DIALECT = "xs2a"


@dataclass(frozen=True, slots=True)
class Xs2aHop:
    """One XS2A exchange as the journal records it (``journal.Exchange``)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any] | None
    source: str
    destination: str | None
    related: tuple[str, ...] = ()  # the payment and authorisation ids it is about
    redirect: str | None = None  # where a PSU's browser was sent


def _read(hop: Any) -> Reading:
    return Reading(redirect=hop.redirect)


register_dialect(Xs2aHop, DIALECT, _read)
