"""The scenario file format as pydantic models; ``scenario_json_schema()`` publishes it.

A scenario is a YAML mapping::

    name: FIDO transfer, amount type SEND
    tags: [transfer, fido]
    config: {behaviour: {profile: reference}}     # overlay on the base config
    matrix: {profile: [spec, reference]}          # one run per cell; cells are variables
    variables: {amount: "100"}
    steps:
      - initiate_transfer: {amount: "${amount}"}  # one action per step, named by its key
        expect:
          messages:
            - PUT /thirdpartyRequests/transactions/{ID}
            - method: POST
              path: /thirdpartyRequests/authorizations
              save: authorization
          within: 2s

A step's action is any name of ``ACTIONS``, the registry every dialect fills
(``registry.py``): ``mojaloop.initiate_transfer`` or, Mojaloop being the default dialect,
``initiate_transfer``; ``xs2a.initiate``…; ``obie.create_consent``…; ``wait``,
``check_balances``, ``trigger`` and ``advance_clock`` belong to no dialect.
Each action's parameters model documents it; ``docs/scenarios.md`` is the user's guide.
Strings may hold ``${…}`` references, resolved when the step runs
(``tpsim.scenario.variables``).
"""

from __future__ import annotations

import functools
import operator
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, Discriminator, Field, Tag, ValidationError, create_model

from tpsim.scenario import actions, mojaloop, obie, stet, xs2a
from tpsim.scenario.base import (
    Duration,
    Expect,
    ExpectMessage,
    PispAnswer,
    ScenarioModel,
    parse_duration,
)
from tpsim.scenario.registry import ActionRegistry, ActionSpec

__all__ = [
    "ACTIONS",
    "Duration",
    "Expect",
    "ExpectMessage",
    "Fragment",
    "PispAnswer",
    "PispUnderTest",
    "Scenario",
    "ScenarioHead",
    "Step",
    "Steps",
    "TppUnderTest",
    "parse_duration",
    "scenario_json_schema",
]


def _catalogue() -> ActionRegistry:
    """Every action a step may name: one registration per dialect."""
    registry = ActionRegistry()
    # Mojaloop's actions came before any other dialect's: they keep their bare names too.
    mojaloop.register(registry, default=True)
    actions.register(registry)
    xs2a.register(registry)
    obie.register(registry)
    stet.register(registry)
    return registry


ACTIONS = _catalogue()


# --- steps --------------------------------------------------------------------------------


class _Step(ScenarioModel):
    """The keys every step has besides its action (the schema of a step; the runner reads
    steps as ``loader.PlannedStep``)."""

    name: str | None = Field(None, description="shown in reports instead of the action")
    expect: Expect = Field(default_factory=Expect)


def _step_model(name: str, spec: ActionSpec) -> type[_Step]:
    """The schema of a step naming action ``name``: ``{<name>: params, name?, expect?}``.

    The parameters may be left out (``- approve:``) when every one has a default.
    """
    *namespace, action = name.split(".")
    title = "".join(part.capitalize() for part in namespace) + spec.params.__name__ + "Step"
    try:
        default: Any = spec.params()
    except ValidationError:
        default = ...  # a parameter is required
    key = Field(default, alias=name) if namespace else Field(default)
    fields: dict[str, Any] = {"__".join((*namespace, action)): (spec.params, key)}
    return create_model(title, __base__=_Step, **fields)


class IncludeStep(ScenarioModel):
    """Steps of a fragment file (path relative to the including file), with parameters;
    expanded when the scenario is loaded."""

    include: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")


def _which_action(value: Any) -> str | None:
    if isinstance(value, dict):
        named = [k for k in value if k in ACTIONS or k == "include"]
        return named[0] if len(named) == 1 else None
    return None


def _empty_params(value: Any) -> Any:
    """``- discover:`` (null) means ``- discover: {}``."""
    if isinstance(value, dict):
        return {k: ({} if v is None and k in ACTIONS else v) for k, v in value.items()}
    return value


def _one_action() -> str:
    bare = [n for n in ACTIONS if "." not in n]
    namespaced = ", ".join(f"{d}.NAME" for d in ACTIONS.dialects())
    return (
        f"a step names exactly one action: {', '.join(bare)}, or one by its dialect"
        f" ({namespaced}) (or include a fragment)"
    )


_STEP_TYPES = [Annotated[_step_model(n, ACTIONS[n]), Tag(n)] for n in ACTIONS]
_STEP_TYPES.append(Annotated[IncludeStep, Tag("include")])

if TYPE_CHECKING:
    Step = Any  # built below from the registry: a union of one step model per action name
else:
    Step = Annotated[
        Annotated[
            functools.reduce(operator.or_, _STEP_TYPES),
            Discriminator(
                _which_action, custom_error_type="step_action", custom_error_message=_one_action()
            ),
        ],
        BeforeValidator(_empty_params),
    ]


# --- the scenario ---------------------------------------------------------------------------


class PispUnderTest(ScenarioModel):
    """Who plays the PISP: tpsim's built-in PISP, or (``endpoint`` set) an external PISP under
    test, which makes this a conformance scenario."""

    fsp_id: str = "pispa"
    endpoint: str | None = Field(None, description="the external PISP's FSPIOP endpoint")
    api: str | None = Field(None, description="base URL of the external PISP's own API")
    checks: bool = Field(True, description="check its messages against the OpenAPI + headers")
    answers: list[PispAnswer] = Field(
        default_factory=list,
        description="built-in PISP: answer these callbacks with another status (e.g. 500)",
    )


class TppUnderTest(ScenarioModel):
    """An external TPP drives this scenario (XS2A conformance mode): every XS2A request it
    sends (those from ``client_id``) is checked against the official NextGenPSD2 OpenAPI
    and must be accepted by the bank. It is started through its own API with ``trigger``."""

    client_id: str = Field(
        min_length=1, description="its client_id among config tpps (the TPP-Client-ID it sends)"
    )
    api: str | None = Field(None, description="base URL of the external TPP's own API")
    checks: bool = Field(True, description="check every XS2A request it sends")


class _ScenarioHead(ScenarioModel):
    name: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(
        default_factory=dict, description="overlay on the base config: mappings merge"
    )
    variables: dict[str, Any] = Field(default_factory=dict)
    matrix: dict[str, list[Any]] | list[dict[str, Any]] | None = Field(
        None, description="a mapping of lists (every combination) or a list of mappings"
    )

    def matrix_cells(self) -> list[dict[str, Any]]:
        """The parameter sets to run, ``[{}]`` without a matrix."""
        if self.matrix is None:
            return [{}]
        if isinstance(self.matrix, list):
            return [dict(cell) for cell in self.matrix] or [{}]
        cells: list[dict[str, Any]] = [{}]
        for key, values in self.matrix.items():
            cells = [{**cell, key: value} for cell in cells for value in values]
        return cells


class Scenario(_ScenarioHead):
    """A scenario file."""

    pisp: PispUnderTest = Field(default_factory=PispUnderTest)
    tpp: TppUnderTest | None = Field(None, description="an external TPP under test (XS2A)")
    steps: list[Step] = Field(min_length=1)


class ScenarioHead(_ScenarioHead):
    """A scenario file before its steps, ``pisp`` and ``tpp`` are checked: they are, once
    per matrix cell, after the cell's variables are written into them (so ``${…}`` may
    stand for any value)."""

    pisp: dict[str, Any] = Field(default_factory=dict)
    tpp: dict[str, Any] | None = None
    steps: list[Any] = Field(min_length=1)


class Steps(ScenarioModel):
    steps: list[Step] = Field(min_length=1)


class Fragment(ScenarioModel):
    """A file of reusable steps, for ``include``; ``parameters`` are their defaults."""

    parameters: dict[str, Any] = Field(default_factory=dict)
    steps: list[Any] = Field(min_length=1)


def scenario_json_schema() -> dict[str, Any]:
    """The published JSON Schema of scenario files (``tpsim run --schema``)."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://tpsim.dev/schema/scenario.json"
    return schema
