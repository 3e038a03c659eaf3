"""Loading scenario files: every mistake is a ScenarioError naming the file, the line and the
key path; includes, matrices and directory discovery."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from tests.support.scenarios import write
from tpsim.errors import ScenarioError
from tpsim.scenario.loader import find_scenarios, load_scenario
from tpsim.scenario.model import Expect, PispUnderTest, scenario_json_schema
from tpsim.scenario.mojaloop.params import Approve, InitiateTransfer
from tpsim.scenario.variables import Variables
from tpsim.serve.admin import MAX_ADVANCE_S


def load_error(path: Path, variables: Variables | None = None) -> str:
    with pytest.raises(ScenarioError) as caught:
        loaded = load_scenario(path)
        loaded.steps(variables or Variables())
    return str(caught.value)


def test_a_valid_scenario_loads_with_its_steps(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ok.yaml",
        """\
        name: a transfer
        tags: [transfer]
        steps:
          - initiate_transfer: {amount: 5}
            expect:
              messages: ["PUT /thirdpartyRequests/transactions/{ID}"]
              within: 1.5s
          - approve:
        """,
    )
    loaded = load_scenario(path)
    first, second = loaded.steps(Variables())
    assert (first.action, second.action) == ("initiate_transfer", "approve")
    assert first.check(InitiateTransfer, first.params, first.action).amount == "5"
    expect = first.check(Expect, first.expect, "expect")
    assert expect.within == 1.5
    assert expect.messages[0].method == "PUT"


def test_a_reference_to_what_a_step_sets_is_checked_when_the_step_runs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "later.yaml",
        """\
        name: replay
        steps:
          - wait: {}
            expect: {messages: [{method: PUT, path: /x, save: earlier}]}
          - approve:
              payload: "${earlier.body.signedPayload}"
        """,
    )
    _, step = load_scenario(path).steps(Variables())
    assert step.params == {"payload": "${earlier.body.signedPayload}"}
    with pytest.raises(ScenarioError) as caught:
        step.check(Approve, {"payload": "not a mapping"}, step.action)
    assert str(caught.value).startswith(f"{path}:6: steps[1].approve.payload: ")


def test_an_unquoted_date_or_time_is_the_text_written(tmp_path: Path) -> None:
    """Every value goes into a JSON body or is compared with one, where a date is a
    string: YAML's date objects were a TypeError when sent, and in a cell's report."""
    path = write(
        tmp_path,
        "dates.yaml",
        """\
        name: dated
        variables: {day: 2024-01-01}
        matrix:
          when: [{2024-03-01: first}]
        steps:
          - stet.create_payment_request:
              body: {requestedExecutionDate: "${day}", at: 2024-01-01T12:00:00Z}
            expect: {body: {date: "on ${day}"}}
        """,
    )
    loaded = load_scenario(path)
    assert loaded.scenario.variables == {"day": "2024-01-01"}
    assert loaded.scenario.matrix == {"when": [{"2024-03-01": "first"}]}
    (step,) = loaded.steps(Variables(loaded.scenario.variables))
    assert step.params["body"] == {
        "requestedExecutionDate": "2024-01-01",
        "at": "2024-01-01T12:00:00Z",
    }
    assert step.expect == {"body": {"date": "on 2024-01-01"}}


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "name: x\nsteps:\n  - send: {method: GET\n")
    assert load_error(path).startswith(f"{path}:4: not valid YAML")


def test_an_unknown_key_names_line_and_key_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "typo.yaml",
        """\
        name: typo
        steps:
          - discover:
          - initiate_transfer:
              amount: "5"
              amont: "6"
        """,
    )
    assert load_error(path) == f"{path}:6: steps[1].initiate_transfer.amont: unknown key (a typo?)"


def test_a_step_without_an_action_lists_the_actions(tmp_path: Path) -> None:
    path = write(tmp_path, "none.yaml", "name: n\nsteps:\n  - expect: {status: 202}\n")
    message = load_error(path)
    assert message.startswith(f"{path}:3: steps[0]: a step names exactly one action")
    assert "initiate_transfer" in message and "include" in message


def test_a_bad_duration_says_how_to_write_one(tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", "name: d\nsteps:\n  - wait:\n    expect: {within: soon}\n")
    message = load_error(path)
    assert f"{path}:4: steps[0].expect.within" in message and "2s, 500ms" in message


@pytest.mark.parametrize(
    "moved",
    [f"seconds: {MAX_ADVANCE_S + 1}", "days: 3661", "days: 3660, hours: 24", "minutes: .inf"],
)
def test_a_clock_move_past_what_the_admin_api_takes_is_refused_at_load(
    tmp_path: Path, moved: str
) -> None:
    """More than ``MAX_ADVANCE_S`` in all loaded, then failed when the step ran (the admin
    endpoint's 400): refused before anything runs, with the file and line."""
    text = f"name: far\nsteps:\n  - wait:\n  - advance_clock: {{{moved}}}\n"
    path = write(tmp_path, "far.yaml", text)
    message = load_error(path)
    assert message.startswith(f"{path}:4: steps[1].advance_clock: "), message
    assert f"at most {MAX_ADVANCE_S} seconds in all" in message, message


def test_a_clock_move_of_exactly_the_most_the_admin_api_takes_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "ten.yaml", "name: ten\nsteps:\n  - advance_clock: {days: 3660}\n")
    (step,) = load_scenario(path).steps(Variables())
    assert step.params == {"days": 3660}


def test_missing_name_and_steps_are_reported(tmp_path: Path) -> None:
    assert "name: required key missing" in load_error(write(tmp_path, "a.yaml", "steps: []\n"))
    assert "a scenario file must be a YAML mapping" in load_error(
        write(tmp_path, "b.yaml", "- just a list\n")
    )


def test_matrix_values_are_checked_in_each_cell(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.yaml",
        """\
        name: channels
        matrix: {channel: [WEB, SMS]}
        steps:
          - request_consent:
              user: carol
              accounts: [dfspa.carol.chequing]
              channels: ["${channel}"]
        """,
    )
    loaded = load_scenario(path)
    assert loaded.scenario.matrix_cells() == [{"channel": "WEB"}, {"channel": "SMS"}]
    loaded.steps(Variables({"channel": "WEB"}))
    message = load_error(path, Variables({"channel": "SMS"}))
    assert f"{path}:7: steps[0].request_consent.channels[0]" in message


def test_matrix_as_a_list_of_cells(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.yaml",
        """\
        name: codes
        matrix:
          - {profile: spec, code: "6103"}
          - {profile: reference, code: "7101"}
        steps: [{wait: {}}]
        """,
    )
    assert load_scenario(path).scenario.matrix_cells()[1] == {
        "profile": "reference",
        "code": "7101",
    }


def test_include_substitutes_parameters_and_locates_errors_in_the_fragment(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        "_fragments/pay.yaml",
        """\
        parameters: {amount: "1", payer: dfspa.alice.chequing}
        steps:
          - initiate_transfer: {amount: "${amount}", payer: "${payer}"}
          - approve: {transfer: "${transfer}"}
        """,
    )
    path = write(
        tmp_path,
        "s.yaml",
        """\
        name: includes
        steps:
          - include: _fragments/pay.yaml
            with: {amount: "7"}
          - discover:
        """,
    )
    steps = load_scenario(path).steps(Variables())
    assert [s.action for s in steps] == ["initiate_transfer", "approve", "discover"]
    assert steps[0].params == {"amount": "7", "payer": "dfspa.alice.chequing"}
    assert steps[1].params == {"transfer": "${transfer}"}

    write(tmp_path, "_fragments/bad.yaml", "steps:\n  - approve: {nope: 1}\n")
    bad = write(tmp_path, "t.yaml", "name: t\nsteps:\n  - include: _fragments/bad.yaml\n")
    fragment = tmp_path / "_fragments" / "bad.yaml"
    assert load_error(bad) == f"{fragment}:2: steps[0].approve.nope: unknown key (a typo?)"


def test_include_mistakes(tmp_path: Path) -> None:
    write(tmp_path, "_f.yaml", "parameters: {a: 1}\nsteps: [{wait: {}}]\n")
    unknown = write(tmp_path, "u.yaml", "name: u\nsteps:\n  - include: _f.yaml\n    with: {b: 2}\n")
    assert "the fragment has no parameter b (parameters: a)" in load_error(unknown)
    missing = write(tmp_path, "m.yaml", "name: m\nsteps:\n  - include: nowhere.yaml\n")
    assert f"{missing}:3: steps[0].include: no fragment file" in load_error(missing)
    write(tmp_path, "_loop.yaml", "steps:\n  - include: _loop.yaml\n")
    loop = write(tmp_path, "l.yaml", "name: l\nsteps:\n  - include: _loop.yaml\n")
    assert "a cycle?" in load_error(loop)


def test_directories_skip_fragments_and_hidden_files(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", "name: b\nsteps: [{wait: {}}]\n")
    write(tmp_path, "sub/a.yml", "name: a\nsteps: [{wait: {}}]\n")
    write(tmp_path, "_fragments/f.yaml", "steps: [{wait: {}}]\n")
    write(tmp_path, "_skip.yaml", "steps: [{wait: {}}]\n")
    write(tmp_path, ".hidden/x.yaml", "steps: [{wait: {}}]\n")
    write(tmp_path, "notes.txt", "not a scenario")
    found = find_scenarios([str(tmp_path)])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["b.yaml", "sub/a.yml"]
    with pytest.raises(ScenarioError, match="no such file or directory"):
        find_scenarios([str(tmp_path / "absent")])
    with pytest.raises(ScenarioError, match="no scenario files"):
        find_scenarios([str(write(tmp_path, "empty/notes.txt", "").parent)])


def test_the_published_schema_describes_every_action() -> None:
    schema = scenario_json_schema()
    text = str(schema)
    assert schema["$schema"].endswith("2020-12/schema")
    for action in ("initiate_transfer", "register_credential", "revoke_consent", "trigger"):
        assert action in text


def test_the_schema_takes_the_message_shorthand_and_mappings() -> None:
    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    scenario = {
        "name": "s",
        "steps": [
            {
                "initiate_transfer": {"amount": "1"},
                "expect": {"messages": ["PUT /x/{ID}", {"method": "POST", "path": "/y"}]},
            }
        ],
    }
    assert list(validator.iter_errors(scenario)) == []
    scenario["steps"][0]["expect"]["messages"] = ["FETCH /x"]  # type: ignore[index]
    assert list(validator.iter_errors(scenario)) != []


def test_pisp_settings_take_matrix_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.yaml",
        """\
        name: p
        matrix: {status: [500, "five hundred"]}
        pisp:
          answers: [{method: PUT, path: "/x/{ID}", status: "${status}"}]
        steps: [{wait: {}}]
        """,
    )
    loaded = load_scenario(path)
    pisp = loaded.check(
        PispUnderTest, Variables({"status": 500}).resolve(loaded.scenario.pisp), "pisp"
    )
    assert pisp.answers[0].status == 500
    with pytest.raises(ScenarioError, match=rf"{path}:4: pisp.answers\[0\].status"):
        bad = Variables({"status": "five hundred"}).resolve(loaded.scenario.pisp)
        loaded.check(PispUnderTest, bad, "pisp")
