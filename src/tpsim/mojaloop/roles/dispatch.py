"""Dispatching a message to a role's handler by its route (method + path template)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tpsim.mojaloop.errors import NotImplementedYet
from tpsim.mojaloop.message import Effects, Message

Handler = Callable[[Message, dict[str, str]], Effects]
HandlerTable = Mapping[tuple[str, str], Handler]


def dispatch(handlers: HandlerTable, message: Message, *, fsp_id: str) -> Effects:
    """Call the handler for ``message``'s route, or refuse it with 2002 Not implemented."""
    route = message.route
    if route is None:  # only the edge and new_message make messages, and both match
        raise NotImplementedYet(f"{fsp_id} (simulated) does not handle {message.path}")
    handler = handlers.get((route.method, route.template))
    if handler is None:
        raise NotImplementedYet(
            f"{fsp_id} (simulated) does not handle {route.method} {route.template}"
        )
    return handler(message, dict(message.params))
