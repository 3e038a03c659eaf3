"""The scenario action registry: actions namespaced per dialect, today's names kept, one
schema for both spellings, and a registry a new dialect can fill."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.support.scenarios import write
from tpsim.errors import TpsimError
from tpsim.scenario.actions import Wait, wait
from tpsim.scenario.loader import load_scenario
from tpsim.scenario.model import ACTIONS, scenario_json_schema
from tpsim.scenario.mojaloop.params import InitiateTransfer
from tpsim.scenario.obie import ACTIONS as OBIE
from tpsim.scenario.registry import ActionRegistry, Sent
from tpsim.scenario.results import Outcome
from tpsim.scenario.runner import RunOptions, run
from tpsim.scenario.session import Session
from tpsim.scenario.stet import ACTIONS as STET
from tpsim.scenario.variables import Variables
from tpsim.scenario.xs2a import ACTIONS as XS2A

TODAY = [
    "discover", "list_accounts", "request_consent", "authenticate", "register_credential",
    "lookup_party", "sdk_lookup", "initiate_transfer", "approve", "reject", "get_transaction",
    "revoke_consent", "send", "wait", "check_balances", "trigger", "advance_clock",
]  # fmt: skip
NEUTRAL = {"wait", "check_balances", "trigger", "advance_clock"}

NAMESPACED = """\
name: a FIDO transfer, every action named by its dialect
steps:
  - mojaloop.initiate_transfer: {amount: "100"}
    expect:
      messages: [POST /thirdpartyRequests/authorizations]
  - mojaloop.approve: {}
    expect:
      messages:
        - method: PATCH
          path: /thirdpartyRequests/transactions/${transfer}
          body: {transactionState: COMPLETED}
  - check_balances: {balances: {dfspa.alice.chequing: "900"}}
"""


def test_todays_names_come_first_then_each_dialects() -> None:
    names = list(ACTIONS)
    assert names[: len(TODAY)] == TODAY
    mojaloop = [f"mojaloop.{n}" for n in TODAY if n not in NEUTRAL]
    assert names[len(TODAY) : len(TODAY) + len(mojaloop)] == mojaloop
    dialects = [f"xs2a.{name}" for name, _, _ in XS2A] + [f"obie.{name}" for name, _, _ in OBIE]
    dialects += [f"stet.{name}" for name, _, _ in STET]
    assert names[len(TODAY) + len(mojaloop) :] == dialects
    assert ACTIONS.dialects() == ["mojaloop", "xs2a", "obie", "stet"]


@pytest.mark.parametrize("name", [n for n in TODAY if n not in NEUTRAL])
def test_a_mojaloop_action_answers_to_both_names(name: str) -> None:
    assert ACTIONS[name] is ACTIONS[f"mojaloop.{name}"]
    assert ACTIONS[name].name == f"mojaloop.{name}"


@pytest.mark.parametrize("name", sorted(NEUTRAL))
def test_an_action_of_no_dialect_has_only_its_bare_name(name: str) -> None:
    assert ACTIONS[name].name == name
    assert f"mojaloop.{name}" not in ACTIONS and f"xs2a.{name}" not in ACTIONS


def test_a_namespaced_step_loads_as_written(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path, "s.yaml", NAMESPACED))
    first, second, _ = loaded.steps(Variables())
    assert (first.action, second.action) == ("mojaloop.initiate_transfer", "mojaloop.approve")
    assert first.check(InitiateTransfer, first.params, first.action).amount == "100"
    jsonschema.Draft202012Validator(scenario_json_schema()).validate(yaml.safe_load(NAMESPACED))


def test_a_mistake_under_a_namespaced_name_is_located(tmp_path: Path) -> None:
    text = "name: t\nsteps:\n  - mojaloop.initiate_transfer: {amont: 5}\n"
    path = write(tmp_path, "t.yaml", text)
    with pytest.raises(TpsimError) as caught:
        load_scenario(path).steps(Variables())
    assert str(caught.value) == (
        f"{path}:3: steps[0].mojaloop.initiate_transfer.amont: unknown key (a typo?)"
    )


@pytest.mark.parametrize(
    "name", ["xs2a.nothing", "mojaloop.wait", "mojaloop.nothing", "xs2a.advance_clock"]
)
def test_an_unknown_name_lists_the_actions(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, "u.yaml", f"name: u\nsteps:\n  - {name}: {{}}\n")
    with pytest.raises(TpsimError, match="a step names exactly one action") as caught:
        load_scenario(path).steps(Variables())
    listed = "advance_clock, or one by its dialect (mojaloop.NAME, xs2a.NAME, obie.NAME, stet.NAME)"
    assert listed in str(caught.value)


async def test_namespaced_steps_run_and_report_as_written(tmp_path: Path) -> None:
    write(tmp_path, "s.yaml", NAMESPACED)
    (result,) = (await run([str(tmp_path)], RunOptions())).scenarios
    assert result.outcome is Outcome.PASSED, result.failures
    assert [s.label for s in result.steps] == [
        "1. mojaloop.initiate_transfer",
        "2. mojaloop.approve",
        "3. check_balances",
    ]


def test_a_new_dialect_fills_its_own_namespace() -> None:
    async def initiate(session: Session, params: Wait, within: float) -> Sent:
        return Sent()

    registry = ActionRegistry()
    registry.add("initiate", Wait, initiate, dialect="xs2a")
    registry.add("wait", Wait, wait)
    assert list(registry) == ["wait", "xs2a.initiate"]
    assert registry["xs2a.initiate"].run is initiate and "initiate" not in registry
    with pytest.raises(TpsimError, match="xs2a.initiate is registered twice"):
        registry.add("initiate", Wait, initiate, dialect="xs2a")
