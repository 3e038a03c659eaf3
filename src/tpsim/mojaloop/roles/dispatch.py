"""Dispatching a message to a role's handler by its route (method + path template)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tpsim.mojaloop.errors import NotImplementedYet
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.wire import routes

Handler = Callable[[Message, dict[str, str]], Effects]
HandlerTable = Mapping[tuple[str, str], Handler]


def dispatch(handlers: HandlerTable, message: Message, *, fsp_id: str) -> Effects:
    """Call the handler for ``message``'s route, or refuse it with 2002 Not implemented."""
    route, params = routes.match(message.method, message.path)
    handler = handlers.get((route.method, route.template))
    if handler is None:
        raise NotImplementedYet(
            f"{fsp_id} (simulated) does not handle {route.method} {route.template}"
        )
    return handler(message, dict(params))
