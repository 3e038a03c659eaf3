"""The runner against real tpsims on loopback: verdicts, failure kinds, what a failure says,
exit codes and reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import xmlschema
from aiohttp.test_utils import TestServer

from tests.support.scenarios import write
from tpsim.cli import main
from tpsim.config import load_config
from tpsim.scenario.harness import HarnessError
from tpsim.scenario.model import ACTIONS
from tpsim.scenario.registry import Sent
from tpsim.scenario.results import FailureKind, Outcome, ScenarioResult
from tpsim.scenario.runner import RunOptions, run
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

JUNIT_XSD = Path(__file__).parent / "data" / "junit.xsd"

TRANSFER = """\
name: a FIDO transfer
steps:
  - initiate_transfer: {amount: "100"}
    expect:
      messages:
        - method: PUT
          path: /thirdpartyRequests/transactions/{ID}
          body: {transactionRequestState: RECEIVED}
        - method: POST
          path: /thirdpartyRequests/authorizations
          body: {challenge: "re:[0-9a-f]{64}"}
          save: authorization
  - approve:
    expect:
      messages:
        - method: PATCH
          path: /thirdpartyRequests/transactions/${transfer}
          body: {transactionRequestState: ACCEPTED, transactionState: COMPLETED}
  - check_balances: {balances: {dfspa.alice.chequing: "900", dfspb.bob.chequing: "100"}}
"""


async def run_one(tmp_path: Path, text: str, **options: object) -> ScenarioResult:
    path = write(tmp_path, "scenario.yaml", text)
    result = await run([str(path)], RunOptions(**options))  # type: ignore[arg-type]
    (scenario,) = result.scenarios
    return scenario


async def test_a_transfer_scenario_passes_and_keeps_its_journal(tmp_path: Path) -> None:
    result = await run_one(tmp_path, TRANSFER)
    assert result.outcome is Outcome.PASSED, result.failures
    assert [s.outcome for s in result.steps] == [Outcome.PASSED] * 3
    paths = {(e["hop"], e["method"], e["path"].split("/")[1]) for e in result.journal}
    assert ("sent", "PATCH", "thirdpartyRequests") in paths
    assert ("delivered", "POST", "quotes") in paths  # the whole conversation, not just the PISP's
    assert {p.fsp_id for p in result.participants} >= {"switch", "pispa", "dfspa", "dfspb"}


async def test_a_wrong_expectation_fails_with_what_was_expected_and_what_arrived(
    tmp_path: Path,
) -> None:
    wrong = TRANSFER.replace("transactionState: COMPLETED", "transactionState: REJECTED")
    result = await run_one(
        tmp_path,
        wrong.replace("approve:\n    expect:\n", "approve:\n    expect:\n      within: 1s\n", 1),
    )
    assert result.outcome is Outcome.FAILED
    (failure,) = result.failures
    assert failure.kind is FailureKind.ASSERTION
    assert failure.step == "2. approve"
    assert 'body.transactionState: expected "REJECTED", got "COMPLETED"' in failure.message
    assert failure.expected is not None and "REJECTED" in failure.expected
    assert (
        failure.actual is not None and "PATCH /thirdpartyRequests/transactions/" in failure.actual
    )
    assert result.steps[2].outcome is Outcome.SKIPPED


async def test_a_missing_callback_is_not_received_with_the_time_waited(tmp_path: Path) -> None:
    # An external DFSP might still send something: the runner waits the deadline out.
    text = """\
    name: waits for nothing
    config:
      participants:
        - {fsp_id: pispa, kind: pisp, endpoint: "${pisp_url}"}
        - {fsp_id: dfspa, kind: dfsp, simulated: true}
        - {fsp_id: dfspb, kind: dfsp, simulated: true}
        - {fsp_id: central-auth, kind: auth-service, simulated: true}
        - {fsp_id: dfspz, kind: dfsp, endpoint: "http://127.0.0.1:1"}
    steps:
      - initiate_transfer:
        expect:
          within: 300ms
          messages:
            - PUT /thirdpartyRequests/transactions/{ID}
            - PATCH /thirdpartyRequests/transactions/{ID}
    """
    result = await run_one(tmp_path, text)
    (failure,) = result.failures
    assert failure.kind is FailureKind.NOT_RECEIVED
    assert failure.waited_s is not None and 0.25 <= failure.waited_s < 2
    assert failure.message.startswith("PATCH /thirdpartyRequests/transactions/{ID} not received")
    assert failure.actual is not None and "arrived meanwhile" in failure.actual
    assert "POST /thirdpartyRequests/authorizations" in failure.actual


async def test_messages_may_be_asserted_in_a_later_step_but_only_once(tmp_path: Path) -> None:
    text = """\
    name: consumed once
    steps:
      - initiate_transfer:
      - wait:
          correlation: ${transfer}
        expect:
          within: 1s
          messages:
            - POST /thirdpartyRequests/authorizations
            - method: POST
              path: /thirdpartyRequests/authorizations
              absent: true
    """
    assert (await run_one(tmp_path, text)).outcome is Outcome.PASSED
    twice = text.replace("absent: true", "status: 202")
    result = await run_one(tmp_path, twice)
    assert result.failures[0].kind is FailureKind.NOT_RECEIVED


async def test_an_absent_message_that_arrives_fails(tmp_path: Path) -> None:
    text = """\
    name: absent but present
    steps:
      - initiate_transfer:
        expect:
          within: 500ms
          messages:
            - method: POST
              path: /thirdpartyRequests/authorizations
              absent: true
    """
    (failure,) = (await run_one(tmp_path, text)).failures
    assert failure.kind is FailureKind.ASSERTION
    assert failure.message == "POST /thirdpartyRequests/authorizations arrived but must not"


async def test_ordered_messages_must_arrive_in_order(tmp_path: Path) -> None:
    text = """\
    name: order
    steps:
      - initiate_transfer:
        expect:
          ordered: true
          within: 1s
          messages:
            - POST /thirdpartyRequests/authorizations
            - PUT /thirdpartyRequests/transactions/{ID}
    """
    (failure,) = (await run_one(tmp_path, text)).failures
    assert failure.kind is FailureKind.ASSERTION
    assert "arrived out of order" in failure.message


async def test_a_synchronous_answer_is_checked(tmp_path: Path) -> None:
    text = """\
    name: sync
    steps:
      - send:
          method: POST
          path: /thirdpartyRequests/transactions
          destination: dfspa
          body: {transactionRequestId: nope}
        expect: {status: 400, error: "3100"}
      - send: {method: GET, path: /nowhere}
        expect: {status: 400}
    """
    result = await run_one(tmp_path, text)
    assert result.steps[0].outcome is Outcome.PASSED
    (failure,) = result.failures
    assert failure.message == "GET /nowhere was answered 404, expected 400"
    assert failure.actual is not None and "3002" in failure.actual


async def test_a_reference_to_nothing_is_an_error_not_a_failure(tmp_path: Path) -> None:
    # ${transfer} is set by initiate_transfer, which has not run: known only when it runs
    text = "name: typo\nsteps:\n  - approve: {transfer: '${transfer}'}\n"
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.ERROR
    assert "no variable 'transfer'" in result.failures[0].message


async def test_a_scenario_against_a_running_tpsim(tmp_path: Path) -> None:
    server = TestServer(create_app(Simulation(load_config())), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("")).rstrip("/")
        result = await run_one(tmp_path, TRANSFER, server=url)
    finally:
        await server.close()
    assert result.outcome is Outcome.PASSED, result.failures


async def test_an_unreachable_server_stops_the_run_before_any_scenario(tmp_path: Path) -> None:
    """Not one ERROR per scenario, which a CI job cannot tell from scenarios that failed:
    the run could not start (``tpsim run`` exits 2, as ``tpsim pisp`` and ``load`` do)."""
    started: list[str] = []
    options = RunOptions(server="http://127.0.0.1:9", on_start=started.append)
    path = write(tmp_path, "scenario.yaml", TRANSFER)
    with pytest.raises(HarnessError, match="^GET http://127.0.0.1:9/admin/config: "):
        await run([str(path)], options)
    assert started == []


async def test_matrix_cells_are_separate_results(tmp_path: Path) -> None:
    text = """\
    name: reject under ${profile}
    matrix:
      - {profile: spec, method: PATCH, path: "/thirdpartyRequests/transactions/{ID}"}
      - {profile: reference, method: PUT, path: "/thirdpartyRequests/transactions/{ID}/error"}
    config: {behaviour: {profile: "${profile}"}}
    steps:
      - initiate_transfer:
      - reject:
        expect:
          messages:
            - {method: "${method}", path: "${path}"}
    """
    path = write(tmp_path, "m.yaml", text)
    result = await run([str(path)], RunOptions())
    assert [s.title for s in result.scenarios] == [
        "reject under spec [profile=spec, method=PATCH,"
        " path=/thirdpartyRequests/transactions/{ID}]",
        "reject under reference [profile=reference, method=PUT,"
        " path=/thirdpartyRequests/transactions/{ID}/error]",
    ]
    assert all(s.outcome is Outcome.PASSED for s in result.scenarios), result.scenarios


# --- the command line -------------------------------------------------------------------


def test_cli_exit_codes_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "s/ok.yaml", TRANSFER)
    broken = TRANSFER.replace('dfspb.bob.chequing: "100"', 'dfspb.bob.chequing: "99"')
    write(tmp_path, "s/broken.yaml", broken.replace("a FIDO transfer", "wrong balance"))
    junit, report, html = tmp_path / "r.xml", tmp_path / "r.json", tmp_path / "r.html"
    code = main(
        ["run", str(tmp_path / "s"), "--junit", str(junit), "--json", str(report),
         "--html", str(html)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "2 scenarios: 1 passed, 1 failed" in out
    assert "dfspb.bob.chequing: expected 99, got 100" in out

    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(junit))
    suites = ET.parse(junit).getroot()  # noqa: S314 - our own report
    assert (suites.get("tests"), suites.get("failures")) == ("2", "1")
    data = json.loads(report.read_text())
    assert data["summary"] == {"total": 2, "passed": 1, "failed": 1, "error": 0}
    assert html.read_text().count("<svg") == 2

    assert main(["run", str(tmp_path / "s" / "ok.yaml")]) == 0


def test_cli_usage_errors_exit_2_with_the_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "bad.yaml", "name: bad\nsteps:\n  - initiate_transfer: {amont: 1}\n")
    assert main(["run", str(bad)]) == 2
    assert f"{bad}:3: steps[0].initiate_transfer.amont: unknown key" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing")]) == 2
    assert main(["run"]) == 2
    config = write(tmp_path, "c.yaml", "name: c\nconfig: {hub: {nme: x}}\nsteps: [{wait: {}}]\n")
    assert main(["run", str(config)]) == 2
    assert "hub.nme" in capsys.readouterr().err


def test_cli_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Scenario"


async def test_the_builtin_pisp_can_answer_callbacks_wrongly(tmp_path: Path) -> None:
    text = """\
    name: the PISP refuses RECEIVED
    pisp:
      answers: [{method: PUT, path: "/thirdpartyRequests/transactions/{ID}", status: 500}]
    config:
      participants:  # a second PISP, answered by the built-in one
        - {fsp_id: pispa, kind: pisp, endpoint: "http://127.0.0.1:9"}
        - {fsp_id: pispb, kind: pisp, endpoint: "${pisp_url}"}
        - {fsp_id: dfspa, kind: dfsp, simulated: true}
        - {fsp_id: dfspb, kind: dfsp, simulated: true}
        - {fsp_id: central-auth, kind: auth-service, simulated: true}
    steps:
      - initiate_transfer:
        expect:
          messages:
            - {method: PUT, path: "/thirdpartyRequests/transactions/{ID}", status: 500}
            - {method: PUT, path: "/thirdpartyRequests/transactions/{ID}/error", error: "6000"}
      - send: {method: GET, path: /services/THIRD_PARTY_DFSP, source: pispb}
        expect:
          status: 202
          messages:
            - {method: PUT, path: /services/THIRD_PARTY_DFSP, to: pispb, status: 200}
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures


async def test_a_bug_in_an_action_is_an_error_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> Sent:
        raise KeyError("authUri")

    monkeypatch.setitem(ACTIONS.specs, "discover", replace(ACTIONS["discover"], run=broken))
    write(tmp_path, "a.yaml", "name: a\nsteps:\n  - discover:\n")
    write(tmp_path, "b.yaml", TRANSFER)
    result = await run([str(tmp_path)], RunOptions())
    errored, passed = result.scenarios
    assert errored.outcome is Outcome.ERROR
    assert errored.failures[0].message == "tpsim's runner failed: KeyError('authUri')"
    assert passed.outcome is Outcome.PASSED
