"""The scenarios of a run loaded and checked into cells: ``prepare(paths, options)``.

Every file is loaded and every matrix cell's config is built and checked before anything
runs (``runner.execute``), so a broken scenario stops the run with a ``ScenarioError``
(exit 2) rather than half-way. A ``Cell`` is one scenario, or one matrix cell of it, ready
to run: its variables, the PISP (or TPP) under test, its config and its planned steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tpsim.config import Config, load_config, overlay, parse_config
from tpsim.errors import ConfigError, ScenarioError
from tpsim.mojaloop.roles.context import origin_policy
from tpsim.mojaloop.roles.state import SchemeState
from tpsim.mojaloop.wire.openapi import OpenApiValidator
from tpsim.scenario.loader import LoadedScenario, PlannedStep, find_scenarios, load_scenario
from tpsim.scenario.model import PispUnderTest, TppUnderTest
from tpsim.scenario.openapi_checks import validator_for
from tpsim.scenario.results import cell_title
from tpsim.scenario.variables import VariableError, Variables, root, unresolved

if TYPE_CHECKING:
    from tpsim.scenario.runner import RunOptions


PLACEHOLDER_ENDPOINT = "http://127.0.0.1:9"  # replaced by the built-in PISP's address


@dataclass(slots=True)
class Cell:
    """One scenario (or matrix cell) ready to run."""

    loaded: LoadedScenario
    values: dict[str, Any]  # matrix cell
    variables: Variables
    pisp: PispUnderTest
    tpp: TppUnderTest | None  # an external TPP under test
    config: Config
    steps: list[PlannedStep]

    @property
    def api(self) -> str | None:
        """The own API of the participant under test, for ``trigger``."""
        return self.pisp.api or (self.tpp.api if self.tpp is not None else None)

    @property
    def name(self) -> str:
        return str(self.variables.resolve(self.loaded.scenario.name, partial=True))

    @property
    def title(self) -> str:
        return cell_title(self.name, self.values)


def prepare(paths: list[str], options: RunOptions) -> tuple[list[Cell], OpenApiValidator | None]:
    """Load and check everything; ``ScenarioError`` names the first problem."""
    base = _base_config(options.config)
    cells = [
        _cell(loaded, values, base, options.env)
        for loaded in (load_scenario(p) for p in find_scenarios(paths))
        for values in loaded.scenario.matrix_cells()
    ]
    return cells, validator_for(cells, options.spec_dir, check_sent=options.check_sent)


def _base_config(path: str | None) -> dict[str, Any]:
    try:
        return load_config(path).model_dump(mode="json")
    except ConfigError as exc:
        raise ScenarioError(f"base config: {exc}") from None


def _cell(
    loaded: LoadedScenario, values: dict[str, Any], base: dict[str, Any], env: Mapping[str, str]
) -> Cell:
    scenario, file = loaded.scenario, str(loaded.path)
    variables = Variables(values, env)
    for name, value in scenario.variables.items():
        if name not in values:
            variables.set(name, loaded.resolve(variables, value, "variables", name))
    pisp = loaded.check(PispUnderTest, loaded.resolve(variables, scenario.pisp, "pisp"), "pisp")
    tpp = None
    if scenario.tpp is not None:
        tpp = loaded.check(TppUnderTest, loaded.resolve(variables, scenario.tpp, "tpp"), "tpp")
    _check_name(loaded, variables)
    # ${pisp_url} in the config is the built-in PISP's, known once it listens.
    in_config = Variables({**variables.values, "pisp_url": PLACEHOLDER_ENDPOINT}, env)
    data = overlay(base, loaded.resolve(in_config, scenario.config, "config"))
    problem = _set_pisp(data, pisp.fsp_id, pisp.endpoint or PLACEHOLDER_ENDPOINT)
    if problem is not None:
        raise loaded.source.error(("pisp", "fsp_id"), problem)
    try:
        config = parse_config(data, file=f"{file} (config)")
        SchemeState.from_config(config, origin_policy(config))
    except ConfigError as exc:
        raise ScenarioError(f"{file}: config: {exc}") from None
    _check_tpp(file, pisp, tpp, config)
    return Cell(loaded, values, variables, pisp, tpp, config, loaded.steps(variables))


def _check_tpp(file: str, pisp: PispUnderTest, tpp: TppUnderTest | None, config: Config) -> None:
    """A TPP under test must be one the banks know, and ``trigger`` must know whose API it
    calls."""
    if tpp is None:
        return
    if config.tpp(tpp.client_id) is None:
        known = ", ".join(t.client_id for t in config.tpps) or "none"
        raise ScenarioError(
            f"{file}: tpp.client_id {tpp.client_id} is not among the config's tpps ({known}):"
            f" add it under config: tpps: (client_id, name, redirect_uris)"
        )
    if tpp.api is not None and pisp.api is not None:
        raise ScenarioError(
            f"{file}: pisp.api and tpp.api are both given: trigger calls one participant's"
            f" API; keep one"
        )


def _check_name(loaded: LoadedScenario, variables: Variables) -> None:
    """The name's references, as the steps' are checked: an unset ``${env.X}`` or a
    ``${…}`` nothing defines is a mistake in the file, not a name shown as written."""
    try:
        name = variables.resolve(loaded.scenario.name, partial=True)
    except VariableError as exc:
        raise loaded.source.error(("name",), str(exc)) from None
    for _, expression in unresolved(name, set(variables.values)):
        raise loaded.source.error(
            ("name",),
            f"${{{expression}}}: no variable {root(expression)!r}: a name may use the matrix"
            f" and variables: (defined here: {', '.join(sorted(variables.values)) or 'none'})",
        )


def _set_pisp(data: dict[str, Any], fsp_id: str, endpoint: str) -> str | None:
    """Make ``fsp_id`` the external PISP at ``endpoint`` in the config ``data``; what is
    wrong with that (None: nothing). Participants that are no list of mappings are left
    for the config's validation to name."""
    participants = data.setdefault("participants", [])
    if not isinstance(participants, list) or not all(isinstance(p, dict) for p in participants):
        return None
    for participant in participants:
        if participant.get("fsp_id") == fsp_id:
            kind = participant.get("kind", "pisp")
            if kind != "pisp":
                return (
                    f"{fsp_id} is a {kind} in the config: the steps play a PISP; name one"
                    " (pispa), or a new fsp_id"
                )
            participant.pop("simulated", None)
            participant["endpoint"] = endpoint
            return None
    participants.append({"fsp_id": fsp_id, "kind": "pisp", "endpoint": endpoint})
    return None
