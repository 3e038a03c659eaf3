"""The one value that crosses the router, and what a simulated role hands back.

A ``Message`` is an FSPIOP / Third Party HTTP request as data: method, path (starting at
the service, e.g. ``/thirdpartyRequests/transactions/{ID}``), headers and the JSON body
exactly as on the wire (a ``dict`` from ``json.loads`` or from
``model.model_dump(mode="json", by_alias=True, exclude_none=True)``).

Simulated roles are sans-IO: ``handle(message) -> Effects`` and ``on_timer(key) ->
Effects``. The hub delivers ``Effects.messages`` through the router in order and
schedules ``Effects.timers`` on its clock. ``Effects.out_of_band`` are what a DFSP tells
its user outside the API (an OTP "by SMS", the redirect of its login page): journaled,
never delivered.

A message knows its ``route`` (matched once, where it was built: the edge or
``roles.common.new_message``) and its path ``params``; ``model()`` is the body as its typed
wire model, parsed once (the edge already parsed it). ``body`` stays the exact JSON for
what needs the bytes as sent: challenges, duplicate checks, the journal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from multidict import CIMultiDict, CIMultiDictProxy

from tpsim.core.rules import MessageRule
from tpsim.mojaloop.wire.routes import Route, parse_body

SOURCE = "FSPIOP-Source"
DESTINATION = "FSPIOP-Destination"

Headers = CIMultiDictProxy[str]


def make_headers(values: Mapping[str, str] | None = None) -> Headers:
    """Case-insensitive, read-only headers from a plain mapping."""
    return CIMultiDictProxy(CIMultiDict(values or {}))


_UNPARSED: Any = object()


@dataclass(frozen=True, slots=True)
class Message:
    method: str
    path: str
    headers: Headers
    body: dict[str, Any] | None = None
    # Ids of the conversation the sender knows this message belongs to; journaled, never
    # sent (e.g. the transactionRequestId of a verification request, the consentId of an
    # ALS registration). The hub's answers and error callbacks carry their request's.
    related: tuple[str, ...] = ()
    # The route this message matched (None: a path tpsim does not serve, or a note to a
    # user), its path parameters, and the body's wire model once parsed.
    route: Route | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    parsed: Any = field(default=_UNPARSED, compare=False, repr=False)
    # The rule (``core.rules``, issue 15) the switch found for this message on its way
    # to a simulated participant: the role reads its ``MessageOutcome`` for what it
    # decides (channel, secret, consent_id); the switch applies the delivery actions.
    rule: MessageRule | None = field(default=None, compare=False)

    def model(self) -> Any:
        """The body as the route's typed wire model (``None`` for a route without a body).

        Parsed on first use and kept; a body that breaks its schema raises the coded
        ``ValidationError`` of ``routes.parse_body``.
        """
        if self.parsed is _UNPARSED:
            value = None if self.route is None else parse_body(self.route, self.body)
            object.__setattr__(self, "parsed", value)
        return self.parsed

    @property
    def source(self) -> str:
        return self.headers.get(SOURCE, "")

    @property
    def destination(self) -> str | None:
        return self.headers.get(DESTINATION) or None


@dataclass(frozen=True, slots=True)
class Timer:
    """Ask the hub to call ``on_timer(key)`` at ``at``; a new one with the same key replaces it."""

    key: str
    at: datetime


@dataclass(slots=True)
class Effects:
    """What a role wants done after handling a message: send, schedule, cancel, note."""

    messages: list[Message] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    out_of_band: list[Message] = field(default_factory=list)

    def extend(self, other: Effects) -> Effects:
        self.messages.extend(other.messages)
        self.timers.extend(other.timers)
        self.cancel.extend(other.cancel)
        self.out_of_band.extend(other.out_of_band)
        return self


class SimulatedRole(Protocol):
    """A participant played by tpsim, delivered to in-process.

    ``handle`` may raise a ``TpsimError``; the switch then sends the ``PUT …/error``
    callback for the message to its source, from this participant.
    """

    fsp_id: str

    def handle(self, message: Message) -> Effects: ...

    def on_timer(self, key: str) -> Effects: ...
