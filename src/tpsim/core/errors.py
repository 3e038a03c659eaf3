"""What the simulated bank refuses, in no protocol's words.

    TpsimError                  root of every error tpsim raises on purpose
    ├── StateRefused            a resource's state machine refuses an event (``.final``:
    │                           the resource has ended)
    └── KeyReused               an idempotency key comes again with another request

Each dialect renders a refusal in its own format and code (``mojaloop.errors.coded``).
"""

from __future__ import annotations


class TpsimError(Exception):
    """Root of every error tpsim raises on purpose."""


class StateRefused(TpsimError):
    """``event`` may not happen to ``what`` in ``state``; ``final`` when ``state`` is terminal."""

    def __init__(self, what: str, state: str, event: str, *, final: bool) -> None:
        self.what, self.state, self.event, self.final = what, state, event, final
        if final:
            text = f"{what} is already {state}"
        else:
            text = f"{what} is {state}; a '{event}' message is not expected now"
        super().__init__(text)


class KeyReused(TpsimError):
    """``key`` identified another request before (a different body or sender)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"{key} was already used for a different request")
