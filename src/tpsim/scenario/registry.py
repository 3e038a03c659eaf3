"""The scenario action registry: a step's action name → its parameters model and handler.

Each dialect registers its actions from one place (``scenario/mojaloop/__init__.py``,
``scenario/xs2a/__init__.py``, ``scenario/obie/``, ``scenario/stet/``) under its namespace
(``mojaloop.initiate_transfer``, ``xs2a.initiate``, ``obie.create_consent``…); actions
that belong to no dialect (``wait``, ``check_balances``, ``trigger``, ``advance_clock``:
``scenario/actions.py``) have bare names. The default dialect (Mojaloop, whose actions
came first) also registers its actions under their bare names, so scenarios written
before dialects keep working. ``model.py`` builds the scenario file's schema from the
registry, ``runner.py`` runs steps through it.

A handler takes the session, the validated parameters and the step's deadline (seconds) and
returns ``Sent``: the synchronous answer, the status the API requires for it (checked unless
``expect.status`` says otherwise) and the conversation the step's expectations are matched
in. Parameters arrive with their ``${…}`` references resolved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from tpsim.errors import TpsimError
from tpsim.scenario.harness import Answer
from tpsim.scenario.session import Session


@dataclass(slots=True)
class Sent:
    """What an action did: its answer, what the API requires of it, its conversation."""

    answer: Answer | None = None  # None: the step sent nothing
    required_status: int | None = None  # what the API requires the receiver to answer
    correlation: str | None = None  # None: expectations look at every message
    messages: list[dict[str, Any]] = field(default_factory=list)  # for reports
    redirect: dict[str, str] | None = None  # a PSU page's redirect query parameters


P = TypeVar("P", bound=BaseModel)
Handler = Callable[[Session, Any, float], Awaitable[Sent]]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action: its full name (``dialect.name`` or a bare neutral one), its parameters'
    model and its handler."""

    name: str
    params: type[BaseModel]
    run: Handler


class ActionRegistry:
    """Action names (every spelling a scenario may use) → ``ActionSpec``."""

    def __init__(self) -> None:
        self.specs: dict[str, ActionSpec] = {}

    def add(
        self,
        name: str,
        params: type[P],
        run: Callable[[Session, P, float], Awaitable[Sent]],
        *,
        dialect: str | None = None,
        default: bool = False,
    ) -> None:
        """Register ``dialect.name`` (bare ``name`` without a dialect); ``default`` also
        registers the bare name (the default dialect's actions). A name taken twice is a
        bug of tpsim, refused at import."""
        full = f"{dialect}.{name}" if dialect else name
        spec = ActionSpec(full, params, run)
        for spelling in (full, name) if dialect and default else (full,):
            if spelling in self.specs:
                raise TpsimError(f"the scenario action {spelling} is registered twice")
            self.specs[spelling] = spec

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def __getitem__(self, name: str) -> ActionSpec:
        return self.specs[name]

    def __iter__(self) -> Iterator[str]:
        """Every name: the bare ones first, then the namespaced, each in registration order."""
        names = list(self.specs)
        return iter([n for n in names if "." not in n] + [n for n in names if "." in n])

    def dialects(self) -> list[str]:
        """The namespaces actions are registered under."""
        return list(dict.fromkeys(n.split(".")[0] for n in self.specs if "." in n))
