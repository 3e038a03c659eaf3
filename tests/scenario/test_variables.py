"""``${…}`` references: variables, fields of saved messages, the environment, UUIDs."""

from __future__ import annotations

import uuid

import pytest

from tpsim.scenario.variables import VariableError, Variables


def test_a_whole_reference_keeps_its_type_and_an_embedded_one_is_text() -> None:
    variables = Variables({"auth": {"body": {"challenge": "abc", "n": [1, 2]}}, "amount": 5})
    assert variables.resolve("${auth.body}") == {"challenge": "abc", "n": [1, 2]}
    assert variables.resolve("${auth.body.n.1}") == 2
    assert variables.resolve("/x/${auth.body.challenge}/${amount}") == "/x/abc/5"
    assert variables.resolve({"k": ["${amount}"]}) == {"k": [5]}
    assert variables.resolve("cost $${amount}") == "cost ${amount}"


def test_environment_and_uuids() -> None:
    variables = Variables(env={"PISP_URL": "http://pisp"})
    assert variables.resolve("${env.PISP_URL}/api") == "http://pisp/api"
    first, second = variables.resolve("${uuid}"), variables.resolve("${uuid}")
    assert first != second and uuid.UUID(first).version == 4


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("${nothing}", "no variable 'nothing' (defined: a)"),
        ("${a.b}", "no field 'b' (fields: x)"),
        ("${a.x.3}", "the list has 1 items"),
        ("${env.UNSET_FOR_SURE}", "environment variable UNSET_FOR_SURE is not set"),
    ],
)
def test_a_reference_to_nothing_says_what_exists(expression: str, message: str) -> None:
    with pytest.raises(VariableError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Variables({"a": {"x": [1]}}, env={}).resolve(expression)


def test_partial_resolution_leaves_what_steps_will_set() -> None:
    variables = Variables({"channel": "WEB"}, env={"E": "e"})
    value = ["${channel}", "${transfer}", "/t/${transfer}/${channel}", "${uuid}", "${env.E}"]
    assert variables.resolve(value, partial=True) == [
        "WEB",
        "${transfer}",
        "/t/${transfer}/WEB",
        "${uuid}",
        "e",
    ]
    assert variables.resolve("$${x}", partial=True) == "$${x}"


@pytest.mark.parametrize("value", [b"hello", {"a", "b"}], ids=["binary", "set"])
def test_a_value_with_no_text_form_is_a_mistake_in_the_file(value: object) -> None:
    with pytest.raises(VariableError, match=r"\$\{v\}: cannot be written into text"):
        Variables({"v": value}).resolve("x ${v}")
