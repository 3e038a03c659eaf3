"""The scenario examples of docs/scenarios.md and the README load, and
docs/scenario.schema.json is the schema the code publishes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tpsim.scenario.loader import load_scenario
from tpsim.scenario.model import scenario_json_schema
from tpsim.scenario.variables import Variables

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def examples() -> list[str]:
    text = (DOCS / "scenarios.md").read_text() + (REPO / "README.md").read_text()
    return [b for b in BLOCK.findall(text) if "steps:" in b]


@pytest.mark.parametrize("index", range(len(examples())))
def test_every_example_scenario_loads(tmp_path: Path, index: int) -> None:
    for block in examples():  # the fragment the examples include
        if block.startswith("# scenarios/_fragments/link.yaml"):
            (tmp_path / "_fragments").mkdir(exist_ok=True)
            (tmp_path / "_fragments" / "link.yaml").write_text(block)
    block = examples()[index]
    if "name:" not in block:
        return  # the fragment itself, loaded through the example that includes it
    path = tmp_path / "linking" / "example.yaml"
    path.parent.mkdir()
    path.write_text(block)
    loaded = load_scenario(path)
    for cell in loaded.scenario.matrix_cells():
        assert loaded.steps(Variables(cell, env={"PISP_URL": "u", "PISP_API": "a"}))


def test_the_published_schema_is_current() -> None:
    published = json.loads((DOCS / "scenario.schema.json").read_text())
    assert published == scenario_json_schema(), "regenerate: tpsim run --schema > docs/…"
