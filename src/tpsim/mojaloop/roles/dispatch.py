"""Dispatching a message to a role's handler by its route (method + path template)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tpsim.mojaloop.errors import NotImplementedYet
from tpsim.mojaloop.message import Effects, Message

Handler = Callable[[Message, dict[str, str]], Effects]
HandlerTable = Mapping[tuple[str, str], Handler]


def dispatch(handlers: HandlerTable, message: Message, *, fsp_id: str) -> Effects:
    """Call the handler for ``message``'s route, or refuse it with 2002 Not implemented.

    An error callback (``PUT …/error``) the role has no handler for is taken quietly: it
    tells a simulated participant that one of its own messages could not be delivered
    (the switch sends it, e.g. ``PUT /parties/{Type}/{ID}/error`` after the PISP's
    endpoint answered 404). The journal already holds the failure, nothing of the
    participant's state waits on that message, and an error callback is never answered
    (issue 15, item 2).
    """
    route = message.route
    if route is None:  # only the edge and new_message make messages, and both match
        raise NotImplementedYet(f"{fsp_id} (simulated) does not handle {message.path}")
    handler = handlers.get((route.method, route.template))
    if handler is not None:
        return handler(message, dict(message.params))
    if route.is_error_callback:
        return Effects()
    raise NotImplementedYet(f"{fsp_id} (simulated) does not handle {route.method} {route.template}")
