"""The XS2A actions of scenario files (``xs2a.*``): a built-in TPP that sends what the
Berlin Group API requires, follows every SCA approach, remembers its payments for later
steps, and whose answers, redirects and journal hops the expectations read; the XS2A
conformance checks (``--check-sent`` and an external TPP's requests); and the scenario
library ``scenarios/xs2a`` loading whole."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.support.scenarios import write
from tpsim.config import load_config
from tpsim.mojaloop.wire.openapi import OpenApiValidator
from tpsim.scenario import conformance
from tpsim.scenario.cells import prepare
from tpsim.scenario.harness import Answer
from tpsim.scenario.model import ACTIONS, scenario_json_schema
from tpsim.scenario.results import FailureKind, Outcome, ScenarioResult
from tpsim.scenario.runner import RunOptions, run
from tpsim.scenario.session import Session
from tpsim.scenario.variables import Variables
from tpsim.scenario.xs2a import ACTIONS as XS2A_ACTIONS
from tpsim.scenario.xs2a.client import (
    clock_date,
    form_fields,
    redirect_of,
    request_headers,
    sent,
)
from tpsim.scenario.xs2a.params import Initiate, TppCall
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "xs2a"
PAYMENTS = "/xs2a/dfspa/v1/payments/sepa-credit-transfers"
LUCA = "DE75512108001245126199"


async def run_one(tmp_path: Path, text: str, **options: Any) -> ScenarioResult:
    path = write(tmp_path, "scenario.yaml", text)
    (scenario,) = (await run([str(path)], RunOptions(**options))).scenarios
    return scenario


def sent_bodies(result: ScenarioResult, step: int) -> list[Any]:
    """What one step (1-based) sent, in order: the bodies of its requests."""
    return [record.get("body") for record in result.steps[step - 1].sent]


# --- registration -------------------------------------------------------------------------


def test_every_xs2a_action_is_named_by_its_dialect_only() -> None:
    for name, _, _ in XS2A_ACTIONS:
        assert ACTIONS[f"xs2a.{name}"].name == f"xs2a.{name}"
        assert name not in ACTIONS or ACTIONS[name].name != f"xs2a.{name}"
    assert "xs2a" in ACTIONS.dialects()
    assert ACTIONS["advance_clock"].name == "advance_clock"  # belongs to no dialect


def test_the_published_schema_describes_the_xs2a_steps() -> None:
    steps = str(scenario_json_schema())
    assert "xs2a.initiate" in steps and "xs2a.authorise" in steps


def test_the_xs2a_scenario_library_loads_whole() -> None:
    cells, _ = prepare([str(LIBRARY)], RunOptions())
    assert len(cells) >= 40
    used = {step.action.split(".")[0] for cell in cells for step in cell.steps}
    assert used == {"xs2a", "advance_clock", "check_balances"}


# --- the TPP's requests, without sockets -----------------------------------------------------


def test_each_request_carries_a_new_request_id_the_psu_ip_and_the_tpp() -> None:
    call = TppCall(tpp="tpp-one")
    first, removed = request_headers(call, body=True, psu_id="erika")
    second, _ = request_headers(call, body=False)
    assert uuid.UUID(first["X-Request-ID"]) != uuid.UUID(second["X-Request-ID"])
    assert first["PSU-IP-Address"] == "192.168.8.78"
    assert (first["Content-Type"], first["TPP-Client-ID"], first["PSU-ID"]) == (
        "application/json",
        "tpp-one",
        "erika",
    )
    assert "Content-Type" not in second and "PSU-ID" not in second and removed == []


def test_a_step_overrides_or_removes_any_header_whatever_its_case() -> None:
    call = TppCall(headers={"x-request-id": "not-a-uuid", "PSU-IP-Address": None})
    headers, removed = request_headers(call, body=True)
    assert headers["x-request-id"] == "not-a-uuid"
    assert "X-Request-ID" not in headers and "PSU-IP-Address" not in headers
    assert removed == ["PSU-IP-Address"]  # the HTTP client must not add it back


@pytest.mark.parametrize(
    ("value", "date"),
    [("today", "2030-01-31"), ("+1d", "2030-02-01"), ("-1d", "2030-01-30"),
     ("2031-05-01", "2031-05-01"), (None, None)],
)  # fmt: skip
async def test_relative_dates_count_from_tpsims_clock(value: str | None, date: str | None) -> None:
    class Clock:
        url, poll_s = "http://unused", 0.01

        async def admin(self, method: str, path: str, body: Any = None) -> Answer:
            assert (method, path, body) == ("POST", "/admin/clock/advance", {"seconds": 0})
            return Answer(200, {"now": "2030-01-31T23:30:00.000Z"}, 1.0)

    session = Session(Clock(), None, Variables(), None)  # type: ignore[arg-type]
    assert await clock_date(session, value) == date


def test_the_sca_page_is_submitted_with_what_a_browser_sends() -> None:
    page = (
        '<form method="post"><input type="hidden" name="csrf" value="t0k">'
        '<input type="password" name="password">'
        '<input type="checkbox" name="account" value="a" checked>'
        '<input type="checkbox" name="account" value="b">'
        '<button type="submit" name="decision" value="approve">Approve</button></form>'
        '<form><input type="hidden" name="other" value="x"></form>'
    )
    assert form_fields(page) == [("csrf", "t0k"), ("account", "a")]


def test_a_redirect_is_expected_by_its_location_and_query() -> None:
    assert redirect_of("http://127.0.0.1:8000/cb?state=s&confirmationCode=c") == {
        "state": "s",
        "confirmationCode": "c",
        "location": "http://127.0.0.1:8000/cb?state=s&confirmationCode=c",
    }


def test_a_step_about_a_payment_is_looked_for_in_its_conversation_even_refused() -> None:
    """The journal links a refusal of a request about a payment to that payment."""
    assert sent(Answer(201, {}, 1.0), 201, "p1", []).correlation == "p1"
    assert sent(Answer(409, {}, 1.0), 201, "p1", []).correlation == "p1"
    assert sent(Answer(400, {}, 1.0), 201, None, []).correlation is None


# --- against a served tpsim ----------------------------------------------------------------


async def test_initiate_sets_what_later_steps_name_and_its_answer_is_expectable(
    tmp_path: Path,
) -> None:
    text = f"""\
    name: initiate
    steps:
      - xs2a.initiate: {{approach: redirect, amount: "12.50", tpp: tpp-one}}
        expect:
          messages:
            - method: POST
              path: {PAYMENTS}
              from: dfspa
              to: tpp-one
              status: 201
              headers: {{ASPSP-SCA-Approach: REDIRECT}}
              body:
                paymentId: "${{payment_id}}"
                _links:
                  scaRedirect: {{href: "${{sca_redirect}}"}}
                  scaStatus: {{href: "re:.*/authorisations/${{authorisation_id}}"}}
      - xs2a.get_payment:
        expect:
          messages:
            - method: GET
              path: {PAYMENTS}/${{payment_id}}
              from: dfspa
              body:
                instructedAmount: {{currency: EUR, amount: "12.50"}}
                transactionStatus: RCVD
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures
    (body,) = sent_bodies(result, 1)
    assert body == {
        "instructedAmount": {"currency": "EUR", "amount": "12.50"},
        "creditorAccount": {"iban": "DE02120300000000202051"},
        "creditorName": "Max Mustermann",
        "debtorAccount": {"iban": "DE89370400440532013000"},
    }
    headers = result.steps[0].sent[0]["headers"]
    assert headers["TPP-Redirect-Preferred"] == "true"
    assert headers["TPP-Redirect-URI"] == "http://127.0.0.1:8000/cb"


async def test_a_headless_redirect_is_expected_by_where_the_browser_returns(
    tmp_path: Path,
) -> None:
    text = """\
    name: redirect
    steps:
      - xs2a.initiate: {nok_redirect_uri: "http://127.0.0.1:8000/nok"}
      - xs2a.authorise: {decision: deny}
        expect:
          redirect: {location: "http://127.0.0.1:8000/cb"}
    """
    result = await run_one(tmp_path, text)
    (failure,) = result.failures
    assert failure.kind is FailureKind.ASSERTION
    assert failure.actual == "{'location': 'http://127.0.0.1:8000/nok'}"
    assert result.steps[1].sent[0]["path"].endswith("?sim_decision=deny")


async def test_the_real_sca_page_is_signed_in_and_a_confirmation_code_sent_back(
    tmp_path: Path,
) -> None:
    text = f"""\
    name: page
    config:
      participants:
        - {{fsp_id: pispa, kind: pisp, endpoint: "http://127.0.0.1:9"}}
        - fsp_id: dfspa
          kind: dfsp
          simulated: true
          psd2: {{xs2a: {{authorisation_confirmation_request_mandated: true}}}}
        - {{fsp_id: dfspb, kind: dfsp, simulated: true}}
        - {{fsp_id: central-auth, kind: auth-service, simulated: true}}
    steps:
      - xs2a.initiate: {{creditor: {LUCA}, creditor_name: Luca Rossi}}
      - xs2a.authorise: {{password: "12345"}}
        expect:
          status: 200
          redirect: {{location: "re:http://127.0.0.1:8000/cb\\\\?confirmationCode=.+"}}
      - xs2a.status: {{until: [ACCC]}}
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures
    page, form, confirmation = result.steps[1].sent
    assert (page["method"], form["method"]) == ("GET", "POST")
    assert page["path"] == form["path"] and page["path"].startswith("/login/dfspa/xs2a/")
    assert confirmation["method"] == "PUT" and "confirmationCode" in confirmation["body"]


async def test_embedded_sca_resumes_where_the_authorisation_stands(tmp_path: Path) -> None:
    text = """\
    name: embedded
    steps:
      - xs2a.initiate: {approach: embedded, psu_id: erika}
      - xs2a.authorise: {otp: "000000"}
        expect: {status: 401}
      - xs2a.authorise:
      - xs2a.status: {until: [ACCC]}
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures
    assert sent_bodies(result, 2) == [
        {"psuData": {"password": "12345"}},
        {"authenticationMethodId": "sms"},
        {"scaAuthenticationData": "000000"},
    ]
    assert sent_bodies(result, 3) == [{"scaAuthenticationData": "123456"}]


async def test_authorise_starts_an_explicit_authorisation_and_identifies_a_decoupled_psu(
    tmp_path: Path,
) -> None:
    text = """\
    name: decoupled, explicit then implicit
    steps:
      - xs2a.initiate: {approach: decoupled, explicit: true}
        expect:
          messages:
            - method: POST
              path: /xs2a/dfspa/v1/payments/sepa-credit-transfers
              from: dfspa
              body: {scaStatus: <absent>, _links: {startAuthorisationWithPsuIdentification: <any>}}
      - xs2a.authorise: {psu: erika}
      - xs2a.status: {until: [ACCC]}
      - xs2a.initiate: {approach: decoupled}
      - xs2a.authorise: {psu: erika}
      - xs2a.status: {until: [ACCC]}
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures
    start, decision = result.steps[1].sent
    assert (start["method"], start["headers"]["PSU-ID"]) == ("POST", "erika")
    assert decision["path"].startswith("/admin/psd2/authorisations/")
    identify, decision = result.steps[4].sent
    assert (identify["method"], identify["body"], identify["headers"]["PSU-ID"]) == (
        "PUT",
        {},
        "erika",
    )
    assert decision["body"]["decision"] == "approve"


async def test_polling_a_status_that_never_comes_fails_saying_what_it_stayed(
    tmp_path: Path,
) -> None:
    text = """\
    name: never
    steps:
      - xs2a.initiate:
      - xs2a.status: {until: [ACCC]}
        expect: {within: 300ms}
    """
    (failure,) = (await run_one(tmp_path, text)).failures
    assert failure.kind is FailureKind.ASSERTION
    assert failure.message.startswith("payment ") and "stayed RCVD: not ACCC within 0.3 s" in (
        failure.message
    )


async def test_a_removed_header_is_not_sent_at_all(tmp_path: Path) -> None:
    text = """\
    name: no content type
    steps:
      - xs2a.initiate: {headers: {Content-Type: null}}
        expect:
          status: 400
          messages:
            - method: POST
              path: /xs2a/dfspa/v1/payments/sepa-credit-transfers
              from: dfspa
              body: {tppMessages: [{code: FORMAT_ERROR, path: Content-Type}]}
    """
    assert (await run_one(tmp_path, text)).outcome is Outcome.PASSED


async def test_a_refused_request_about_a_payment_is_expected_in_its_conversation(
    tmp_path: Path,
) -> None:
    text = f"""\
    name: refused, found in the payment's conversation
    steps:
      - xs2a.initiate: {{creditor: {LUCA}, creditor_name: Luca Rossi}}
      - xs2a.authorise:
      - xs2a.status: {{until: [ACCC]}}
      - xs2a.cancel:
        expect:
          status: 400
          messages:
            - {{method: DELETE, path: "{PAYMENTS}/${{payment_id}}", from: dfspa, status: 400}}
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures
    refused = [e for e in result.journal if e["method"] == "DELETE"]
    payment = result.journal[1]["body"]["paymentId"]
    assert refused and all(payment in e["correlation_ids"] for e in refused)


async def test_dates_follow_the_clock_advanced_by_earlier_steps(tmp_path: Path) -> None:
    text = """\
    name: dates
    steps:
      - advance_clock: {days: 40}
      - xs2a.initiate: {execution_date: today}
    """
    before = datetime.now(UTC).date()
    result = await run_one(tmp_path, text)
    after = datetime.now(UTC).date()
    assert result.outcome is Outcome.PASSED, result.failures
    assert result.steps[0].sent[0]["body"] == {"seconds": 40 * 86400}
    (initiation,) = sent_bodies(result, 2)
    day = date.fromisoformat(initiation["requestedExecutionDate"])
    assert before + timedelta(days=40) <= day <= after + timedelta(days=40)


async def test_the_actions_work_against_a_running_tpsim(tmp_path: Path) -> None:
    server = TestServer(create_app(Simulation(load_config())), host="127.0.0.1")
    await server.start_server()
    text = """\
    name: against a server
    steps:
      - xs2a.initiate: {creditor: DE75512108001245126199, creditor_name: Luca Rossi}
      - xs2a.authorise:
      - xs2a.status: {until: [ACCC]}
      - check_balances: {balances: {dfspa.luca.giro: "142"}}
    """
    try:
        url = str(server.make_url("")).rstrip("/")
        result = await run_one(tmp_path, text, server=url)
    finally:
        await server.close()
    assert result.outcome is Outcome.PASSED, result.failures


# --- conformance ------------------------------------------------------------------------------


def hop(seq: int, kind: str, method: str, path: str, **more: Any) -> dict[str, Any]:
    """A journal entry of an XS2A hop, as ``GET /admin/journal`` shows it."""
    entry = {"seq": seq, "hop": kind, "dialect": "xs2a", "method": method, "path": path}
    entry |= {"source": "tpp", "destination": "dfspa", "headers": {}, "body": None}
    return entry | {"status": None} | more


def exchange(
    seq: int, method: str, path: str, status: int, body: Any, **headers: str
) -> list[dict[str, Any]]:
    """A request with the X-Request-ID and the bank's answer echoing it."""
    request_id = {"X-Request-ID": headers.pop("request_id", str(uuid.uuid4()))}
    request = hop(seq, "received", method, path, headers=request_id | headers)
    answer = hop(seq + 1, "sent", method, path, status=status, body=body, headers=request_id)
    return [request, answer | {"source": "dfspa", "destination": "tpp"}]


def test_check_sent_finds_an_answer_the_official_openapi_refuses() -> None:
    status = f"{PAYMENTS}/p1/status"
    journal = [
        *exchange(1, "GET", status, 200, {"transactionStatus": "ACCC"}),
        *exchange(3, "GET", status, 200, {"transactionStatus": "DONE"}),
        *exchange(5, "GET", "/xs2a/dfspa/v1/nothing/here", 200, {}),
        *exchange(7, "GET", "/xs2a/dfspa/v1/nothing/here", 404, {"tppMessages": []}),
    ]
    found = conformance.xs2a_sent_by_tpsim(journal, {"dfspa"})
    assert [(v.seq, v.field) for v in found] == [(4, "body.transactionStatus"), (6, "(answer)")]
    assert conformance.xs2a_sent_by_tpsim(journal, {"dfspb"}) == []


def test_check_sent_holds_every_answer_to_a_uuid_request_id_whatever_the_tpp_sent() -> None:
    """The bank answers a request whose X-Request-ID is missing or no UUID with an id of its
    own (the spec makes a UUID mandatory in every answer): echoing the TPP's is tpsim's
    mistake, not excused as the TPP's."""
    refusal = {"tppMessages": [{"category": "ERROR", "code": "FORMAT_ERROR", "text": "x"}]}
    journal = exchange(1, "GET", f"{PAYMENTS}/p1/status", 400, refusal, request_id="nope")
    (violation,) = conformance.xs2a_sent_by_tpsim(journal, {"dfspa"})
    assert (violation.seq, violation.field) == (2, "header X-Request-ID")
    journal[1]["headers"]["X-Request-ID"] = str(uuid.uuid4())
    assert conformance.xs2a_sent_by_tpsim(journal, {"dfspa"}) == []


async def test_check_sent_passes_an_xs2a_scenario_and_checks_only_fspiop_against_the_bundles(
    tmp_path: Path, openapi: OpenApiValidator
) -> None:
    """The Mojaloop check must not read XS2A hops as FSPIOP messages (it did: every XS2A
    answer was "no operation" of the Third Party API)."""
    text = """\
    name: cross-bank, checked
    steps:
      - xs2a.initiate:
      - xs2a.authorise:
      - xs2a.status: {until: [ACCC]}
    """
    result = await run_one(tmp_path, text, check_sent=True, spec_dir=openapi.directory)
    assert result.outcome is Outcome.PASSED, result.failures
    assert {e["dialect"] for e in result.journal} == {"xs2a", "mojaloop"}


async def test_an_external_tpps_requests_are_checked_and_refusals_reported(
    tmp_path: Path,
) -> None:
    text = """\
    name: a TPP under test
    steps:
      - xs2a.initiate: {tpp: tpp-one}
      - xs2a.status: {tpp: tpp-one, headers: {PSU-IP-Address: null, X-Request-ID: "1234"}}
        expect: {status: 400}
      - xs2a.initiate: {tpp: another}
        expect: {status: 401}
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures
    found = conformance.xs2a_violations(result.journal, "tpp-one")
    assert {(v.field, v.rule) for v in found} == {
        ("(message)", "accepted by the bank"),
        ("header X-Request-ID", "openapi"),
    }
    (refused,) = [v for v in found if v.rule == "accepted by the bank"]
    assert refused.message.startswith("400: FORMAT_ERROR: X-Request-ID '1234' is not a UUID")
    assert [v.rule for v in conformance.xs2a_violations(result.journal, "another")] == [
        "accepted by the bank"
    ]
    failure = conformance.failures(found, result.journal)[0]
    assert failure.expected == "a message the XS2A API allows"


def test_initiate_defaults_are_the_built_in_psus() -> None:
    params = Initiate()
    assert (params.debtor, params.creditor, params.bank) == (
        "DE89370400440532013000",
        "DE02120300000000202051",
        "dfspa",
    )
