"""The STET actions of scenario files (``stet.*``): a built-in PISP that takes its client
token from the bank's OAuth server (and renews it when tpsim's clock expired it), sends
what STET 1.4.2 requires, plays the PSU at the bank (headless, on seed 002's two-step
page, in the app, through the o-confirmation variant's ``/authorize``) and remembers its
payment requests for later steps; the STET conformance checks (``--check-sent`` and an
external PISP's requests); and the scenario library ``scenarios/stet`` loading whole."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.support.scenarios import write
from tpsim.config import load_config
from tpsim.scenario.cells import prepare
from tpsim.scenario.harness import Answer
from tpsim.scenario.model import ACTIONS, scenario_json_schema
from tpsim.scenario.results import FailureKind, Outcome, ScenarioResult
from tpsim.scenario.runner import RunOptions, run
from tpsim.scenario.session import Session, StepFailed
from tpsim.scenario.stet import ACTIONS as STET_ACTIONS
from tpsim.scenario.stet import conformance, psu
from tpsim.scenario.stet import params as p
from tpsim.scenario.stet.actions import cancellation, payment_request_body
from tpsim.scenario.stet.client import merged, request_headers
from tpsim.scenario.stet.psu import decide, on_page
from tpsim.scenario.variables import Variables
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "stet"
REQUESTS = "/stet/dfspa/v1/payment-requests"
LUCA = "DE75512108001245126199"


async def run_one(tmp_path: Path, text: str, **options: Any) -> ScenarioResult:
    path = write(tmp_path, "scenario.yaml", text)
    (scenario,) = (await run([str(path)], RunOptions(**options))).scenarios
    return scenario


def paths(result: ScenarioResult, step: int) -> list[str]:
    """What one step (1-based) sent, in order: method and path (query cut)."""
    return [f"{r['method']} {r['path'].split('?')[0]}" for r in result.steps[step - 1].sent]


class Clock:
    """A target that only tells tpsim's time (``advance_clock`` by 0 s), and records it."""

    url, poll_s = "http://unused", 0.01

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, Any]] = []

    async def admin(self, method: str, path: str, body: Any = None) -> Answer:
        self.asked.append((method, path, body))
        if path == "/admin/clock/advance":
            return Answer(200, {"now": "2030-01-31T23:30:00.000Z"}, 1.0)
        return Answer(200, {"redirect": "https://tpp.example/nok", "status": "RJCT"}, 1.0)


def offline() -> tuple[Clock, Session]:
    clock = Clock()
    return clock, Session(clock, None, Variables(), None)  # type: ignore[arg-type]


# --- registration -------------------------------------------------------------------------


def test_every_stet_action_is_named_by_its_dialect_only() -> None:
    for name, _, _ in STET_ACTIONS:
        assert ACTIONS[f"stet.{name}"].name == f"stet.{name}"
    assert "stet" in ACTIONS.dialects()
    assert ACTIONS["stet.approve"].params is not ACTIONS["approve"].params


def test_the_published_schema_describes_the_stet_steps_without_clashing_names() -> None:
    schema = scenario_json_schema()
    assert "stet.create_payment_request" in str(schema) and "stet.o_confirm" in str(schema)
    assert not [name for name in schema["$defs"] if "__" in name]  # no module-qualified names


def test_the_stet_scenario_library_loads_whole() -> None:
    cells, _ = prepare([str(LIBRARY)], RunOptions())
    assert len(cells) >= 60
    used = {step.action.split(".")[0] for cell in cells for step in cell.steps}
    assert used == {"stet", "advance_clock", "check_balances", "wait"}
    for cell in cells:
        scenario = cell.loaded.scenario
        assert "stet" in scenario.tags and scenario.description, cell.name


# --- what the PISP sends, without sockets ------------------------------------------------------


def test_each_request_carries_a_new_request_id_the_token_and_json() -> None:
    call = p.StetCall()
    first, removed = request_headers(call, token="t0k", body=True)
    second, _ = request_headers(call, token=None, body=False)
    assert uuid.UUID(first["X-Request-ID"]) != uuid.UUID(second["X-Request-ID"])
    assert first["Authorization"] == "Bearer t0k" and "Authorization" not in second
    assert first["Content-Type"] == first["Accept"] == "application/json"
    assert "Content-Type" not in second and removed == []


def test_a_step_overrides_or_removes_any_header_whatever_its_case() -> None:
    call = p.StetCall(headers={"x-request-id": None, "ACCEPT": "application/xml"})
    headers, removed = request_headers(call, token="t0k", body=False)
    assert "X-Request-ID" not in headers and removed == ["x-request-id"]
    assert headers["ACCEPT"] == "application/xml" and "Accept" not in headers


def test_fields_merge_deeply_and_transactions_item_by_item() -> None:
    """STET bodies hold their transactions in a list: a change to the first is a list of
    one, and null removes a member."""
    base = {
        "creditTransferTransaction": [
            {
                "instructedAmount": {"currency": "EUR", "amount": "1"},
                "remittanceInformation": ["a"],
            },
            {"instructedAmount": {"currency": "EUR", "amount": "2"}},
        ],
        "chargeBearer": "SLEV",
    }
    changes = {
        "creditTransferTransaction": [
            {"instructedAmount": {"amount": "9"}, "remittanceInformation": None}
        ],
        "chargeBearer": None,
    }
    assert merged(base, changes) == {
        "creditTransferTransaction": [
            {"instructedAmount": {"currency": "EUR", "amount": "9"}},
            {"instructedAmount": {"currency": "EUR", "amount": "2"}},
        ]
    }
    assert merged([1], [{"a": 1}, 3]) == [{"a": 1}, 3]  # items beyond the base are added


async def test_one_transaction_names_its_beneficiary_once_for_the_payment() -> None:
    """The brief's 1.4.2 example: beneficiary and requestedExecutionDate at payment level,
    ``today`` midnight UTC on tpsim's clock (so due at once), no debtorAccount."""
    clock, session = offline()
    body = await payment_request_body(session, p.CreatePaymentRequest(amount="1.50"))
    assert body["beneficiary"] == {
        "creditor": {"name": "Louis Martin"},
        "creditorAccount": {"iban": p.LOUIS},
    }
    assert body["requestedExecutionDate"] == "2030-01-31T00:00:00.000+00:00"
    assert clock.asked == [("POST", "/admin/clock/advance", {"seconds": 0})]
    assert "debtorAccount" not in body and body["numberOfTransactions"] == 1
    (transaction,) = body["creditTransferTransaction"]
    assert transaction == {
        "paymentId": {"instructionId": "MyInstrId", "endToEndId": "MyEndToEndId"},
        "instructedAmount": {"currency": "EUR", "amount": "1.50"},
        "remittanceInformation": ["Order 42"],
    }
    assert body["supplementaryData"] == {
        "acceptedAuthenticationApproach": ["REDIRECT"],
        "successfulReportUrl": p.REPORT_OK,
        "unsuccessfulReportUrl": p.REPORT_NOK,
    }
    assert len(body["paymentInformationId"]) <= 35  # STET's identifier


async def test_several_transactions_each_name_their_beneficiary_and_ids() -> None:
    _, session = offline()
    params = p.CreatePaymentRequest(
        requested_execution_date=None,
        debtor=p.CLAIRE,
        instructions=[
            p.StetTransfer(amount="1.00", requested_execution_date="+2d"),
            p.StetTransfer(creditor=LUCA, creditor_name="Luca Rossi", end_to_end_id="E2"),
        ],
    )
    body = await payment_request_body(session, params)
    assert "beneficiary" not in body and "requestedExecutionDate" not in body
    assert body["debtorAccount"] == {"iban": p.CLAIRE} and body["numberOfTransactions"] == 2
    first, second = body["creditTransferTransaction"]
    assert first["paymentId"] == {"instructionId": "MyInstrId-1", "endToEndId": "MyEndToEndId-1"}
    assert first["requestedExecutionDate"] == "2030-02-02T00:00:00.000+00:00"
    assert first["beneficiary"]["creditorAccount"] == {"iban": p.LOUIS}
    assert second["paymentId"] == {"instructionId": "MyInstrId-2", "endToEndId": "E2"}
    assert second["instructedAmount"]["amount"] == "124.35"  # the step's own
    assert second["beneficiary"]["creditor"] == {"name": "Luca Rossi"}


def test_a_cancellation_is_the_resource_with_rjct_and_ds02() -> None:
    """STET 1.4 has no CANC: the whole request, or some transactions, RJCT with DS02."""
    _, session = offline()
    resource = {"paymentInformationStatus": "ACTC", "creditTransferTransaction": [{}, {}]}
    whole = cancellation(session, resource, p.StetCancel())
    assert (whole["paymentInformationStatus"], whole["statusReasonInformation"]) == (
        "RJCT",
        "DS02",
    )
    some = cancellation(session, resource, p.StetCancel(instructions=[1]))
    assert some["paymentInformationStatus"] == "ACTC"
    assert some["creditTransferTransaction"] == [
        {},
        {"transactionStatus": "RJCT", "statusReasonInformation": "DS02"},
    ]
    assert resource["creditTransferTransaction"] == [{}, {}]  # the read resource is kept
    with pytest.raises(StepFailed, match="there is no index 2"):
        cancellation(session, resource, p.StetCancel(instructions=[2]))


async def test_the_page_must_offer_exactly_the_accounts_the_step_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seed 002's second step: the accounts that can pay, named by IBAN in their labels."""
    page = (
        '<form method="post"><input type="hidden" name="csrf" value="t0k">'
        '<input type="hidden" name="user" value="claire">'
        '<label><input type="radio" name="account" value="dfspa.claire.courant" checked>'
        " Claire&#x27;s compte courant (FR7630006000011234567890189)</label></form>"
    )
    _, session = offline()
    submitted: list[bytes | None] = []

    async def browse(*args: Any, **kwargs: Any) -> Answer:
        submitted.append(args[4] if len(args) > 4 else None)
        return Answer(200, page, 1.0) if len(submitted) == 1 else Answer(303, "", 1.0)

    monkeypatch.setattr(psu, "browse", browse)
    wanted = p.StetApprove(password="claire", offered=[p.CLAIRE])
    answer = await on_page(session, "http://bank/page", wanted, [])
    assert answer.status == 303
    sent = (submitted[1] or b"").decode()
    assert "account=dfspa.claire.courant" in sent and "password=claire" in sent
    assert "decision=approve" in sent and "csrf=t0k" in sent
    submitted.clear()
    too_many = p.StetApprove(password="claire", offered=[p.CLAIRE, "FR7630001007941234567890185"])
    with pytest.raises(StepFailed) as refused:
        await on_page(session, "http://bank/page", too_many, [])
    assert refused.value.failure.kind is FailureKind.ASSERTION
    assert "offers Claire's compte courant (FR7630006000011234567890189)" in str(refused.value)


async def test_a_decision_in_the_app_is_the_admin_apis_and_its_redirect_the_steps() -> None:
    clock, session = offline()
    params = p.StetDecide(payment_request="r-1", decision="deny", otp="123456")
    done = await decide(session, params, 1.0)
    assert clock.asked == [
        ("POST", "/admin/psd2/authorisations/r-1/decision", {"decision": "deny", "otp": "123456"})
    ]
    assert done.redirect == {"location": "https://tpp.example/nok"}
    assert (done.required_status, done.correlation) == (200, "r-1")


# --- against a served tpsim ------------------------------------------------------------------


async def test_the_flow_sends_what_a_stet_pisp_sends_and_every_answer_conforms(
    tmp_path: Path,
) -> None:
    text = """\
    name: flow
    steps:
      - stet.create_payment_request: {creditor: DE75512108001245126199, amount: "9.00"}
      - stet.approve: {headless: false, psu: claire, password: claire}
        expect:
          redirect: {location: "https://tpp.example/ok"}
      - stet.get: {until: [ACSC]}
      - check_balances: {balances: {dfspa.luca.giro: "109"}}
    """
    result = await run_one(tmp_path, text, check_sent=True)
    assert result.outcome is Outcome.PASSED, result.failures
    token, created = result.steps[0].sent  # the client token was fetched first
    assert token["path"] == "/stet/dfspa/token" and token["body"] == {
        "grant_type": "client_credentials",
        "scope": "pisp",
    }
    assert created["headers"]["Authorization"].startswith("Bearer ")
    assert created["body"]["creditTransferTransaction"][0]["instructedAmount"]["amount"] == "9.00"
    opened, signed_in, approved = paths(result, 2)  # seed 002's two steps on one page
    assert opened.startswith("GET /login/dfspa/stet/")
    assert signed_in == approved == "POST" + opened[3:]


async def test_the_o_confirmation_variant_signs_in_behind_authorize(tmp_path: Path) -> None:
    text = """\
    name: o-confirmation on the page
    config:
      participants:
        - {fsp_id: pispa, kind: pisp, endpoint: "http://127.0.0.1:9"}
        - {fsp_id: dfspa, kind: dfsp, simulated: true, psd2: {stet: {o_confirmation: true}}}
        - {fsp_id: dfspb, kind: dfsp, simulated: true}
        - {fsp_id: central-auth, kind: auth-service, simulated: true}
    steps:
      - stet.create_payment_request: {creditor: DE75512108001245126199, amount: "9.00"}
      - stet.authorize: {headless: false, psu: claire, password: claire, state: s-1}
        expect:
          redirect: {code: "${auth_code}", state: s-1}
      - stet.o_confirm:
      - stet.get: {until: [ACSC]}
    """
    result = await run_one(tmp_path, text, check_sent=True)
    assert result.outcome is Outcome.PASSED, result.failures
    authorize, page, sign_in, approve, exchange = paths(result, 2)
    assert authorize == "GET /stet/dfspa/authorize"
    assert page.startswith("GET /login/dfspa/oauth/") and sign_in == approve == "POST" + page[3:]
    assert exchange == "POST /stet/dfspa/token"
    assert result.steps[1].sent[-1]["body"]["grant_type"] == "authorization_code"
    (confirmed,) = result.steps[2].sent
    assert confirmed["body"] == {} and confirmed["path"].endswith("/o-confirmation")


async def test_a_client_token_expired_by_the_clock_is_renewed_once(tmp_path: Path) -> None:
    text = """\
    name: renewed
    steps:
      - stet.create_payment_request:
      - advance_clock: {hours: 2}
      - stet.get:
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures
    refused, token, again = paths(result, 3)
    assert refused == again and refused.startswith(f"GET {REQUESTS}/")
    assert token == "POST /stet/dfspa/token"


async def test_a_token_written_in_the_step_is_never_replaced(tmp_path: Path) -> None:
    text = """\
    name: unknown token
    steps:
      - stet.create_payment_request: {token: not-a-token}
        expect: {status: 401}
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures
    assert paths(result, 1) == [f"POST {REQUESTS}"]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("- stet.create_payment_request:\n- stet.o_confirm:", "no PSU token for payment request"),
        (
            "- stet.create_payment_request: {approaches: [DECOUPLED], debtor: "
            "FR7630006000011234567890189}\n- stet.approve:",
            "has no consentApproval link",
        ),
        ("- stet.create_payment_request:\n- stet.authorize:", "use stet.approve"),
        ("- stet.create_payment_request:\n- stet.approve: {headless: false, password: x}",
         "give psu"),
    ],
)  # fmt: skip
async def test_a_step_the_pisp_cannot_take_is_a_scenario_error_saying_what_to_do(
    tmp_path: Path, steps: str, message: str
) -> None:
    text = "name: cannot\nsteps:\n" + "".join(f"  {line}\n" for line in steps.splitlines())
    result = await run_one(tmp_path, text)
    (failure,) = result.failures
    assert failure.kind is FailureKind.ERROR and message in failure.message


async def test_polling_a_status_that_never_comes_fails_saying_what_it_stayed(
    tmp_path: Path,
) -> None:
    text = """\
    name: never
    steps:
      - stet.create_payment_request:
      - stet.get: {until: [ACSC]}
        expect: {within: 0.3s}
    """
    (failure,) = (await run_one(tmp_path, text)).failures
    assert failure.kind is FailureKind.ASSERTION
    assert "stayed ACTC: not ACSC within 0.3 s" in failure.message


async def test_the_actions_work_against_a_running_tpsim(tmp_path: Path) -> None:
    server = TestServer(create_app(Simulation(load_config())), host="127.0.0.1")
    await server.start_server()
    text = """\
    name: against a server
    steps:
      - stet.create_payment_request: {creditor: DE75512108001245126199, amount: "2.00"}
      - stet.approve: {psu: claire}
      - stet.get: {until: [ACSC]}
      - check_balances: {balances: {dfspa.luca.giro: "102"}}
    """
    try:
        url = str(server.make_url("")).rstrip("/")
        result = await run_one(tmp_path, text, server=url)
    finally:
        await server.close()
    assert result.outcome is Outcome.PASSED, result.failures


# --- conformance ------------------------------------------------------------------------------


def hop(seq: int, kind: str, method: str, path: str, **more: Any) -> dict[str, Any]:
    """A journal entry of a STET hop, as ``GET /admin/journal`` shows it."""
    entry = {"seq": seq, "hop": kind, "dialect": "stet", "method": method, "path": path}
    entry |= {"source": "tpp-one", "destination": "dfspa", "body": None, "status": None}
    headers = {"X-Request-ID": "r-1", "Authorization": "Bearer t"}
    return entry | {"headers": headers} | more


def answered(request: dict[str, Any], status: int, body: Any, **more: Any) -> dict[str, Any]:
    return (
        hop(
            request["seq"] + 1,
            "sent",
            request["method"],
            request["path"],
            source="dfspa",
            destination=request["source"],
            status=status,
            body=body,
            headers={"X-Request-ID": "r-1"},
        )
        | more
    )


def payment_request() -> dict[str, Any]:
    return {
        "paymentInformationId": "MyPmtInfId",
        "creationDateTime": "2026-11-30T10:00:00Z",
        "numberOfTransactions": 1,
        "initiatingParty": {"name": "Example TPP"},
        "paymentTypeInformation": {"serviceLevel": "SEPA"},
        "beneficiary": {"creditor": {"name": "Louis"}, "creditorAccount": {"iban": p.LOUIS}},
        "requestedExecutionDate": "2026-11-30T10:00:00Z",
        "creditTransferTransaction": [
            {
                "paymentId": {"instructionId": "I", "endToEndId": "E"},
                "instructedAmount": {"currency": "EUR", "amount": "1.00"},
            }
        ],
        "supplementaryData": {
            "acceptedAuthenticationApproach": ["REDIRECT"],
            "successfulReportUrl": p.REPORT_OK,
        },
    }


def test_check_sent_holds_each_stet_answer_to_the_kind_its_status_says() -> None:
    created = hop(1, "received", "POST", REQUESTS)
    read = hop(3, "received", "GET", f"{REQUESTS}/r-1")
    refused = hop(5, "received", "POST", f"{REQUESTS}/r-1/o-confirmation")
    nothing = hop(7, "received", "GET", "/stet/dfspa/v1/nothing")
    good = {"paymentRequest": {**payment_request(), "resourceId": "r-1",
                               "paymentInformationStatus": "ACTC"},
            "_links": {"self": {"href": "http://x/r-1"}}}  # fmt: skip
    journal = [
        created,
        answered(created, 201, {"appliedAuthenticationApproach": "REDIRECT"}),  # no link
        read,
        answered(read, 200, good),
        refused,
        answered(refused, 403, {"status": 403, "error": "TOKEN_KIND", "message": None}),
        nothing,
        answered(nothing, 200, {}, headers={}),
    ]
    found = conformance.stet_sent_by_tpsim(journal, {"dfspa"})
    assert {(v.seq, v.field) for v in found} == {
        (2, "(body)"),  # REDIRECT without consentApproval
        (6, "(body)"),  # message null
        (8, "X-Request-ID"),
        (8, "(answer)"),  # 200 to no STET operation
    }
    assert "_links.consentApproval" in next(v.message for v in found if v.seq == 2)
    assert not conformance.stet_sent_by_tpsim(journal, {"dfspb"})  # not simulated: no check


def test_an_external_pisps_stet_requests_are_checked_and_must_be_accepted() -> None:
    body = payment_request()
    body["creditTransferTransaction"][0]["instructedAmount"]["amount"] = "12,50"
    refused = hop(1, "received", "POST", REQUESTS, body=body, headers={"Authorization": "B t"})
    error = {"status": 400, "error": "FIELD_INVALID", "message": "amount is wrong"}
    confirmed = hop(3, "received", "POST", f"{REQUESTS}/r-1/confirmation")  # no body
    other = hop(5, "received", "PUT", f"{REQUESTS}/r-1", source="tpp-two", body={})
    tokenless = hop(7, "received", "GET", f"{REQUESTS}/r-1", source="pisp", headers={})
    unauthorized = {"status": 401, "error": "TOKEN_MISSING", "message": "no token"}
    journal = [
        refused,
        answered(refused, 400, error),
        confirmed,
        answered(confirmed, 200, {}),
        other,  # another PISP's: not counted
        answered(other, 400, error),
        tokenless,  # no client known: counted
        answered(tokenless, 401, unauthorized),
    ]
    found = conformance.stet_violations(journal, "tpp-one")
    assert [(v.seq, v.field, v.rule) for v in found] == [
        (1, "(message)", "accepted by the bank"),
        (1, "X-Request-ID", "header"),
        (1, "creditTransferTransaction[0].instructedAmount.amount", "stet"),
        (3, "(body)", "stet"),
        (7, "(message)", "accepted by the bank"),
        (7, "X-Request-ID", "header"),
        (7, "Authorization", "header"),
    ]
    assert found[0].message == "400: FIELD_INVALID: amount is wrong"


async def test_a_pisp_under_test_has_its_stet_requests_checked_in_a_scenario(
    tmp_path: Path,
) -> None:
    """The built-in PISP plays ``tpp-one``: as the PISP under test, a request of it that the
    bank refuses is a conformance violation of the STET API."""
    text = """\
    name: pisp under test
    tpp: {client_id: tpp-one}
    steps:
      - stet.create_payment_request: {amount: "12,50"}
        expect: {status: 400}
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.FAILED
    assert [v.rule for v in result.violations] == ["accepted by the bank", "stet"]
    (failure,) = result.failures
    assert failure.kind is FailureKind.CONFORMANCE
    assert failure.expected == "a message the STET API allows"
