"""The Mermaid export: each scenario's sequence diagram as ``sequenceDiagram`` text (the
same lifelines, arrows and marks as the report's SVG), safe to paste whatever the journal
holds, and ``tpsim run --mermaid DIR`` writing one ``.mmd`` file per scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenario.test_reports import AUTHORIZATIONS, TRANSACTIONS, TX, hop, make_run
from tpsim.cli import main
from tpsim.scenario.reports.diagram import Lifeline
from tpsim.scenario.reports.mermaid import file_names, identifiers, mermaid_text
from tpsim.scenario.results import Outcome, Participant, ScenarioResult

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"


def test_a_transfer_reads_as_its_diagram() -> None:
    text = mermaid_text(make_run().scenarios[0])
    assert text.splitlines() == [
        "%% pisp transfer",
        "%% scenarios/transfer.yaml: passed",
        "sequenceDiagram",
        "    participant pispa as pispa (pisp · external)",
        "    participant switch as switch (hub · simulated)",
        "    participant dfspa as dfspa (dfsp · simulated)",
        "    participant dfspb as dfspb (dfsp · simulated)",
        "    participant central_auth as central-auth (auth-service · simulated)",
        f"    pispa->>dfspa: [2] POST {TRANSACTIONS} → 202",
        f"    dfspa->>pispa: [3] PUT {TRANSACTIONS}/{TX} → 200",
        f"    dfspa->>pispa: [4] POST {AUTHORIZATIONS} → 202",
        f"    pispa->>dfspa: [6] PUT {AUTHORIZATIONS}/5f8ee7f9-290f-4e03-ae1c-1e81ecf398df → 200",
        "    dfspa->>central_auth: [7] POST /thirdpartyRequests/verifications → 202",
        "    central_auth->>dfspa: [8] PUT /thirdpartyRequests/verifications/"
        "a2b3c4d5-0000-4000-8000-000000000001 → 200",
        f"    dfspa->>pispa: [9] PATCH {TRANSACTIONS}/{TX} → 200",
        "    pispa->>switch: [10] GET /parties/MSISDN/16135551212 → 202",
    ]


def test_errors_out_of_band_failures_and_what_never_came() -> None:
    lines = mermaid_text(make_run().scenarios[2]).splitlines()
    assert lines[0] == "%% transfer matrix [auth=GENERIC, amount=100]"
    assert lines[9] == "    participant user as user (out of band: carol)"
    assert lines[10] == (
        f"    pispa-xswitch: [1] POST {TRANSACTIONS} → 400 · 3101 Malformed syntax:"
        ' amount #lt;100#gt; & "quoted" end'  # red: a cross at its end
    )
    assert lines[11] == "    Note over pispa,switch: ✗ the scenario fails on this message"
    assert "    dfspa-->>user: [5] SMS /users/carol" in lines  # out of band: dashed
    assert f"    dfspa-xdfspz: [7] PUT {TRANSACTIONS}/{TX} dropped · unknown destination" \
        " 'dfspz'" in lines  # fmt: skip
    assert lines[-1] == (
        "    Note over pispa,user: ✗ no PUT /thirdpartyRequests/authorizations/{ID} from pispa"
    )


def test_what_mermaid_reads_as_syntax_is_written_as_entities() -> None:
    scenario = ScenarioResult(
        "odd #1; <x>", "odd.yaml", Outcome.FAILED, 1.0, "2024-05-01T10:00:00Z",
        participants=[Participant("end", "pisp", False), Participant("2fa", "dfsp", True)],
        journal=[hop(1, "sent", "PUT", "/a#b;c", "2fa", "end", 500, error="x <y>\nz")],
    )  # fmt: skip
    lines = mermaid_text(scenario).splitlines()
    assert lines[0] == "%% odd #1; <x>"  # a comment: anything goes, on one line
    assert lines[3:5] == [
        "    participant p1_end as end (pisp · external)",
        "    participant p2_2fa as 2fa (dfsp · simulated)",
    ]
    assert lines[5] == "    p2_2fa-xp1_end: [1] PUT /a#35;b#59;c → 500 · x #lt;y#gt; z"


def test_identifiers_are_never_keywords_and_never_repeat() -> None:
    names = ["pispa", "central-auth", "central_auth", "loop", "9bank", "ünï"]
    lines = [Lifeline(name, name, "") for name in names]
    assert list(identifiers(lines).values()) == [
        "pispa", "central_auth", "p3_central_auth", "p4_loop", "p5_9bank", "ünï",
    ]  # fmt: skip


def test_file_names_follow_the_junit_class_names() -> None:
    run = make_run()
    assert file_names(run.scenarios) == [
        "scenarios.transfer.mmd",
        "scenarios.matrix-1.mmd",  # two cells of one file: numbered
        "scenarios.matrix-2.mmd",
        "scenarios.linking.otp.mmd",
    ]
    twins = [run.scenarios[0], run.scenarios[0]]
    twins[1] = ScenarioResult("twin", "scenarios.transfer.yaml", Outcome.PASSED, 0.0, "")
    assert file_names(twins) == ["scenarios.transfer.mmd", "scenarios.transfer~2.mmd"]


def test_run_writes_one_mermaid_file_per_scenario(tmp_path: Path) -> None:
    out = tmp_path / "diagrams" / "new"
    scenario = LIBRARY / "discovery" / "accounts.yaml"
    assert main(["run", str(scenario), "--mermaid", str(out)]) == 0
    (written,) = sorted(out.iterdir())
    assert written.name.endswith("discovery.accounts.mmd")
    text = written.read_text(encoding="utf-8")
    assert text.startswith("%% List a user's accounts at a DFSP\n")
    assert "\nsequenceDiagram\n" in text and "pispa->>dfspa: [" in text


def test_mermaid_into_a_file_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "report.txt"
    taken.write_text("", encoding="utf-8")
    scenario = LIBRARY / "discovery" / "accounts.yaml"
    assert main(["run", str(scenario), "--mermaid", str(taken)]) == 2
    captured = capsys.readouterr()
    assert f"--mermaid {taken}: is a file: name a directory for the .mmd files" in captured.err
    assert "PASS" not in captured.out
