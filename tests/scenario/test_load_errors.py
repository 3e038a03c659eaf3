"""Mistakes in a scenario file that can be known before it runs are refused when it loads,
as a ``ScenarioError`` naming file, line and key path (``tpsim run`` exits 2), never found
half-way through the run as a failure of the system under test (issue 16, item 3): a
``re:`` that is no regular expression, a ``${…}`` that nothing defines, a matrix that
expands to no run."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.scenario.test_loader import load_error
from tests.support.scenarios import write
from tpsim.errors import ScenarioError
from tpsim.scenario.cells import prepare
from tpsim.scenario.loader import load_scenario
from tpsim.scenario.runner import RunOptions
from tpsim.scenario.variables import SET_WHILE_RUNNING, Variables

SCENARIO_PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tpsim" / "scenario"
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"


def loads(path: Path, variables: Variables | None = None) -> None:
    load_scenario(path).steps(variables or Variables())


# --- regular expressions -------------------------------------------------------------------

BAD_REGEX = "re:[0-9a-f{64"


@pytest.mark.parametrize(
    ("expect", "line", "where"),
    [
        (
            "messages:\n        - method: POST\n          path: /thirdpartyRequests/authorizations"
            f'\n          body: {{challenge: "{BAD_REGEX}"}}',
            8,
            "steps[0].expect.messages[0].body.challenge",
        ),
        (
            "messages:\n        - method: PUT\n          path: /x\n"
            f'          headers: {{Date: "{BAD_REGEX}"}}',
            8,
            "steps[0].expect.messages[0].headers.Date",
        ),
        (f'body:\n        items: ["ok", "{BAD_REGEX}"]', 6, "steps[0].expect.body.items[1]"),
        (f'headers: {{Location: "{BAD_REGEX}"}}', 5, "steps[0].expect.headers.Location"),
        (f'redirect: {{secret: "{BAD_REGEX}"}}', 5, "steps[0].expect.redirect.secret"),
    ],
    ids=["message body", "message header", "answer body list", "answer header", "redirect"],
)
def test_an_invalid_regex_is_refused_at_load_with_its_line(
    tmp_path: Path, expect: str, line: int, where: str
) -> None:
    text = f"name: bad regex\nsteps:\n  - initiate_transfer: {{}}\n    expect:\n      {expect}\n"
    path = write(tmp_path, "regex.yaml", text)
    message = load_error(path)
    assert message.startswith(f"{path}:{line}: {where}: '{BAD_REGEX}' is not a valid regular")
    assert "unterminated character set" in message
    assert "\n" not in message


def test_valid_regexes_and_those_holding_a_reference_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "regex.yaml",
        """\
        name: fine
        variables: {hex: "[0-9a-f]"}
        steps:
          - initiate_transfer: {}
            expect:
              messages:
                - method: POST
                  path: /thirdpartyRequests/authorizations
                  body: {challenge: "re:${hex}{64}", other: "re:[0-9a-f]{64}"}
                  save: auth
          - approve:
            expect:
              messages:
                - method: PATCH
                  path: /thirdpartyRequests/transactions/{ID}
                  body: {note: "re:${auth.body.challenge}"}
          - wait: {}
            expect: {body: {"re:[not a pattern": 1}}
        """,
    )
    loads(path, Variables({"hex": "[0-9a-f]"}))  # a key is matched as written, not as a regex


def test_an_invalid_regex_in_a_fragment_names_the_fragment(tmp_path: Path) -> None:
    fragment = write(
        tmp_path,
        "_fragments/pay.yaml",
        f"""\
        steps:
          - initiate_transfer: {{}}
            expect:
              body: {{x: "{BAD_REGEX}"}}
        """,
    )
    path = write(tmp_path, "main.yaml", "name: f\nsteps:\n  - include: _fragments/pay.yaml\n")
    assert load_error(path).startswith(f"{fragment.resolve()}:4: steps[0].expect.body.x: ")


# --- references ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "line", "where", "problem"),
    [
        (
            "  - approve: {transfer: '${tranfser}'}\n",
            3,
            "steps[0].approve.transfer",
            "${tranfser}: no variable 'tranfser': define it under variables:",
        ),
        (
            "  - send: {method: GET, path: '/parties/${nothere}/x'}\n",
            3,
            "steps[0].send.path",
            "${nothere}: no variable 'nothere'",
        ),
        (
            "  - wait: {}\n    expect:\n      body: {id: '${nothere.body.id}'}\n",
            5,
            "steps[0].expect.body.id",
            "${nothere.body.id}: no variable 'nothere'",
        ),
        (  # a message saved by the step itself is not there when its expectations are read
            "  - initiate_transfer: {}\n    expect:\n      body: {x: '${mine}'}\n      messages:\n"
            "        - {method: PUT, path: /x, save: mine}\n",
            5,
            "steps[0].expect.body.x",
            "no variable 'mine'",
        ),
        (
            "  - send: {method: GET, path: '/x/${env.TPSIM_TEST_UNSET}'}\n",
            3,
            "steps[0].send.path",
            "${env.TPSIM_TEST_UNSET}: environment variable TPSIM_TEST_UNSET is not set",
        ),
        (
            "  - send: {method: GET, path: '/x/${amount.value}'}\n",
            3,
            "steps[0].send.path",
            "${amount.value}: str value has no field 'value'",
        ),
    ],
    ids=["typo", "embedded", "in expect", "own save", "environment", "field"],
)
def test_a_reference_nothing_defines_is_refused_at_load_with_its_line(
    tmp_path: Path, steps: str, line: int, where: str, problem: str
) -> None:
    path = write(tmp_path, "refs.yaml", "name: refs\nsteps:\n" + steps)
    message = load_error(path, Variables({"amount": "5"}, env={}))
    assert message.startswith(f"{path}:{line}: {where}: ")
    assert problem in message
    assert "\n" not in message


def test_what_is_defined_before_a_step_runs_is_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "refs.yaml",
        """\
        name: Carol over ${channel}
        matrix: {channel: [WEB]}
        variables: {amount: "5"}
        steps:
          - initiate_transfer: {amount: "${amount}", id: "${uuid}"}
            expect:
              messages:
                - {method: POST, path: /thirdpartyRequests/authorizations, save: auth}
          - approve: {transfer: "${transfer}", challenge: "${auth.body.challenge}"}
            expect:
              body: {literal: "$${not a reference}", at: "${tpsim_url}/${pisp_url}"}
          - xs2a.get_payment:
            expect: {headers: {Location: "re:.*${payment_id}"}}
        """,
    )
    loaded = load_scenario(path)
    (cell,) = loaded.scenario.matrix_cells()
    variables = Variables(cell)
    variables.set("amount", "5")
    loaded.steps(variables)


def test_the_error_says_what_is_defined_and_what_steps_set(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "refs.yaml",
        """\
        name: refs
        steps:
          - wait: {}
            expect: {messages: [{method: PUT, path: /x, save: first}]}
          - approve: {transfer: "${frist}"}
        """,
    )
    message = load_error(path, Variables({"amount": "5"}))
    assert "(defined here: amount, first)" in message
    assert "transfer" in message and "payment_id" in message


@pytest.mark.parametrize(
    ("at", "line", "where"),
    [
        (("variables", "base"), 2, "variables.base: ${nowhere}: no variable 'nowhere'"),
        (("pisp",), 4, "pisp.endpoint: ${env.TPSIM_TEST_UNSET}: environment variable"),
        (("config",), 7, "config.participants[0].endpoint: ${amount.url}: str value has no"),
    ],
    ids=["variables", "pisp", "config"],
)
def test_a_section_resolved_for_a_cell_locates_a_reference_nothing_satisfies(
    tmp_path: Path, at: tuple[str, ...], line: int, where: str
) -> None:
    path = write(
        tmp_path,
        "sections.yaml",
        """\
        name: sections
        variables: {base: "${nowhere}"}
        pisp:
          endpoint: "${env.TPSIM_TEST_UNSET}"
        config:
          participants:
            - endpoint: "${amount.url}"
        steps: [{wait: {}}]
        """,
    )
    loaded = load_scenario(path)
    value = loaded.scenario.model_dump()[at[0]]
    value = value[at[1]] if len(at) > 1 else value
    with pytest.raises(ScenarioError) as caught:
        loaded.resolve(Variables({"amount": "5"}, env={}), value, *at)
    assert str(caught.value).startswith(f"{path}:{line}: {where}")


def test_every_name_a_step_sets_is_known_to_the_loader() -> None:
    """``SET_WHILE_RUNNING`` lists what the runner and the actions set: a new
    ``variables.set("name", …)`` anywhere in tpsim.scenario must be added to it, or the
    loader would refuse scenarios that use it."""
    found: set[str] = set()
    for file in SCENARIO_PACKAGE.rglob("*.py"):
        tree = ast.parse(file.read_text("utf-8"))
        constants = _module_constants(file, tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "set"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "variables"
                and node.args
            ):
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
                elif isinstance(first, ast.Name) and first.id in constants:
                    found.add(constants[first.id])
    assert {"transfer", "consent", "payment_id", "tpsim_url", "pisp_url"} <= found
    assert found <= SET_WHILE_RUNNING, sorted(found - SET_WHILE_RUNNING)


def _module_constants(file: Path, tree: ast.Module) -> dict[str, str]:
    """The module-level ``NAME = "text"`` constants of ``file``, as imported."""
    names = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id.isupper()
    }
    module = ".".join(("tpsim", *file.relative_to(SCENARIO_PACKAGE.parent).with_suffix("").parts))
    loaded = importlib.import_module(module.removesuffix(".__init__"))
    return {n: v for n in names if isinstance(v := getattr(loaded, n, None), str)}


def test_the_scenario_library_has_no_reference_the_loader_refuses() -> None:
    cells, _ = prepare([str(LIBRARY)], RunOptions(env={"PISP_URL": "x", "PISP_API": "x"}))
    assert len(cells) > 100


# --- matrices ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matrix", "line", "where", "problem"),
    [
        ("matrix:\n  profile: []\n", 3, "matrix.profile", "profile has no values"),
        (
            "matrix:\n  profile: [spec]\n  channel: []\n",
            4,
            "matrix.channel",
            "channel has no values",
        ),
        ("matrix: []\n", 2, "matrix", "the matrix is empty"),
        ("matrix: {}\n", 2, "matrix", "the matrix is empty"),
    ],
    ids=["one key", "a second key", "empty list", "empty mapping"],
)
def test_a_matrix_that_expands_to_nothing_is_refused(
    tmp_path: Path, matrix: str, line: int, where: str, problem: str
) -> None:
    path = write(tmp_path, "matrix.yaml", "name: m\n" + matrix + "steps: [{wait: {}}]\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}:{line}: {where}: {problem}")
