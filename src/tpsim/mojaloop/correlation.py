"""How the journal ties FSPIOP messages into conversations (registered for ``Message``).

The path id of a message (``routes.correlation_id``) is passed by whoever records it; this
reads the rest from the body: ids that appear together in one message link their
conversations, so a query by transactionRequestId also finds the quote, the authorization,
the verification and the transfer of that transaction.

Some ids outlive the conversations they appear in, and only tag a message (they find it
but link nothing): a consentId in a body (every transfer of a consent), and the path id of
``/parties`` and ``/participants`` (``{Type}/{ID}``: a party or an account, such as
``THIRD_PARTY_LINK/{address}``, which every consent linking that account registers with
the ALS; the route table says which: ``Route.path_id_tags``). Such a message joins its
conversation by the ids its sender names (``Message.related``: the consentId of a DFSP's
or auth-service's registration), which the hub's answers carry on (``roles.hub_services``,
``roles.common.error_callback``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tpsim.journal import Exchange, register_dialect
from tpsim.journal_links import Reading
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.wire import routes

DIALECT = "mojaloop"
# A simulated DFSP's note that its login page sent the user's browser to ``location``
# (roles/consent_requests.py).
REDIRECT = "REDIRECT"

# Body fields that tie a message to a conversation, in the order they are listed.
_LINKING_FIELDS = (
    "transactionRequestId",
    "authorizationRequestId",
    "verificationRequestId",
    "transactionId",
    "quoteId",
    "transferId",
    "consentRequestId",
)
# A consent outlives its conversations: messages are found by their consentId, but a
# consentId never links the conversations it appears in (every transfer of a consent).
_TAGGING_FIELD = "consentId"
_NOTHING = Reading()


def read_body(body: Mapping[str, Any] | None, method: str = "") -> Reading:
    """The conversation ids an FSPIOP body carries, and a login redirect's location."""
    if not body:
        return _NOTHING
    # One comprehension (inlined, no call): this runs for every hop of every message.
    links = [v for name in _LINKING_FIELDS if isinstance(v := body.get(name), str)]
    consent = body.get(_TAGGING_FIELD)
    tags = (consent,) if isinstance(consent, str) else ()
    location = body.get("location") if method == REDIRECT else None
    return Reading(tuple(links), tags, location if isinstance(location, str) else None)


def read(message: Exchange) -> Reading:
    reading = read_body(message.body, message.method)
    route = message.route if isinstance(message, Message) else None
    # A request the edge refused has no route: its path says (the sdk's has the route).
    tags = route.path_id_tags if route is not None else routes.path_id_tags(message.path)
    return reading._replace(path_id_tags=True) if tags else reading


def first_id(body: Mapping[str, Any] | None) -> str | None:
    """The id a body is best known by (its first linking id, else its consentId)."""
    reading = read_body(body)
    return next(iter(reading.links + reading.tags), None)


register_dialect(Message, DIALECT, read)
