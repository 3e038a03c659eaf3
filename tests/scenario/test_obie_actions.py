"""The UK Open Banking actions of scenario files (``obie.*``): a built-in TPP that takes its
tokens from the bank's OAuth server, sends what the payment initiation API requires in
v3.1 and v4.0, authorises as the PSU (headless or on the real consent page) and remembers
its consents for later steps; ``expect.error`` reading an ``OBErrorResponse1``; the UK
conformance checks (``--check-sent`` and an external TPP's requests); the sequence
diagram's TPP → bank arrows; and the scenario library ``scenarios/obie`` loading whole."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.scenarios import write
from tpsim.scenario import conformance
from tpsim.scenario.cells import prepare
from tpsim.scenario.expectations import error_code
from tpsim.scenario.harness import Answer
from tpsim.scenario.model import ACTIONS, scenario_json_schema
from tpsim.scenario.obie import ACTIONS as OBIE_ACTIONS
from tpsim.scenario.obie import params as p
from tpsim.scenario.obie.actions import initiation
from tpsim.scenario.obie.client import merged, redirect_params, request_headers, unsigned_jwt
from tpsim.scenario.obie.psu import decide
from tpsim.scenario.reports.sequence import arrow_for
from tpsim.scenario.results import FailureKind, Outcome, ScenarioResult
from tpsim.scenario.runner import RunOptions, run
from tpsim.scenario.session import Session
from tpsim.scenario.variables import Variables

ID = re.compile(r"/[0-9a-f-]{36}")  # a ConsentId or payment id in a path
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "obie"
CONSENTS = "/obie/dfspa/open-banking/v4.0/pisp/domestic-payment-consents"


async def run_one(tmp_path: Path, text: str, **options: Any) -> ScenarioResult:
    path = write(tmp_path, "scenario.yaml", text)
    (scenario,) = (await run([str(path)], RunOptions(**options))).scenarios
    return scenario


# --- registration -------------------------------------------------------------------------


def test_every_uk_action_is_named_by_its_dialect_only() -> None:
    for name, _, _ in OBIE_ACTIONS:
        assert ACTIONS[f"obie.{name}"].name == f"obie.{name}"
    assert "obie" in ACTIONS.dialects()
    assert ACTIONS["xs2a.authorise"].params is not ACTIONS["obie.authorise"].params


def test_the_published_schema_describes_the_uk_steps_without_clashing_names() -> None:
    schema = scenario_json_schema()
    assert "obie.create_consent" in str(schema) and "obie.authorise" in str(schema)
    assert not [name for name in schema["$defs"] if "__" in name]  # no module-qualified names


def test_the_uk_scenario_library_loads_whole_for_both_versions() -> None:
    cells, _ = prepare([str(LIBRARY)], RunOptions())
    assert len(cells) >= 30
    assert {cell.values["version"] for cell in cells} == {"3.1", "4.0"}
    used = {step.action.split(".")[0] for cell in cells for step in cell.steps}
    assert used == {"obie", "advance_clock", "check_balances"}


# --- what the TPP sends, without sockets ------------------------------------------------------


def test_each_request_carries_a_new_interaction_id_the_token_and_a_key_on_a_post() -> None:
    call = p.ObieCall()
    first, removed = request_headers(call, "POST", token="t0k", body=True)
    second, _ = request_headers(call, "GET", token=None, body=False)
    assert first["x-fapi-interaction-id"] != second["x-fapi-interaction-id"]
    assert first["Authorization"] == "Bearer t0k" and "Authorization" not in second
    assert first["Content-Type"] == "application/json" and first["x-idempotency-key"]
    assert "x-idempotency-key" not in second and removed == []
    given, _ = request_headers(call, "POST", token=None, body=True, idempotency_key="k-1")
    assert given["x-idempotency-key"] == "k-1"


def test_a_step_overrides_or_removes_any_header_whatever_its_case() -> None:
    call = p.ObieCall(headers={"X-FAPI-Interaction-ID": None, "authorization": "Bearer x"})
    headers, removed = request_headers(call, "GET", token="t0k", body=False)
    assert "x-fapi-interaction-id" not in headers and removed == ["X-FAPI-Interaction-ID"]
    assert headers["authorization"] == "Bearer x" and "Authorization" not in headers


@pytest.mark.parametrize(
    ("version", "remittance"),
    [("3.1", {"Reference": "FRESCO-101"}), ("4.0", {"Unstructured": ["FRESCO-101"]})],
)
def test_the_initiation_takes_the_shape_of_its_version(
    version: str, remittance: dict[str, Any]
) -> None:
    """v4.0 dropped RemittanceInformation.Reference and made Unstructured an array."""
    built = initiation(p.CreateConsent(amount="1.50"), version)
    assert built["RemittanceInformation"] == remittance
    assert built["InstructedAmount"] == {"Amount": "1.50", "Currency": "GBP"}
    assert built["DebtorAccount"]["Identification"] == p.MITS
    assert "DebtorAccount" not in initiation(p.CreateConsent(debtor=None), version)


def test_fields_merge_deeply_and_null_removes_a_member() -> None:
    base = {"Data": {"Initiation": {"InstructedAmount": {"Amount": "1", "Currency": "GBP"}}}}
    changes = {"Data": {"Initiation": {"InstructedAmount": {"Amount": None}}}, "Risk": {}}
    assert merged(base, changes) == {
        "Data": {"Initiation": {"InstructedAmount": {"Currency": "GBP"}}},
        "Risk": {},
    }


def test_a_redirect_is_expected_by_its_fragment_and_query() -> None:
    """``code id_token`` answers in the fragment (OIDC Core 3.3.2.5)."""
    location = "https://tpp.example/cb?x=1#code=c&state=s"
    assert redirect_params(location) == {"x": "1", "code": "c", "state": "s", "location": location}


def test_the_request_object_is_an_unsecured_jwt_naming_the_intent() -> None:
    header, claims, signature = unsigned_jwt({"claims": {"id_token": {"x": 1}}}).split(".")
    assert signature == ""
    decoded = [json.loads(base64.urlsafe_b64decode(part + "==")) for part in (header, claims)]
    assert decoded == [{"alg": "none", "typ": "JWT"}, {"claims": {"id_token": {"x": 1}}}]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"Errors": [{"ErrorCode": "U008", "Message": "m"}]}, "U008"),
        ({"Code": "400 BadRequest", "Errors": [{"ErrorCode": "UK.OBIE.Field.Missing"}]},
         "UK.OBIE.Field.Missing"),
        ({"Errors": []}, None),
        ({"errorInformation": {"errorCode": "3100"}}, "3100"),
        ({"tppMessages": [{"code": "FORMAT_ERROR"}]}, "FORMAT_ERROR"),
    ],
)  # fmt: skip
def test_expect_error_reads_the_first_error_of_each_dialect(
    body: dict[str, Any], code: str | None
) -> None:
    assert error_code(body) == code


async def test_an_admin_decision_returns_the_redirect_and_exchanges_its_code() -> None:
    """``obie.decide``: the redirect the admin API answers is the step's, its code
    exchanged at the bank's /token as obie.authorise does."""

    class Bank:
        url, poll_s = "http://127.0.0.1:9", 0.01

        def __init__(self) -> None:
            self.asked: list[tuple[str, str, Any]] = []

        async def admin(self, method: str, path: str, body: Any = None) -> Answer:
            self.asked.append((method, path, body))
            return Answer(200, {"redirect": "https://tpp.example/cb#error=access_denied"}, 1.0)

    bank = Bank()
    session = Session(bank, None, Variables(), None)  # type: ignore[arg-type]
    params = p.DecideConsent(consent="c-1", decision="deny", psu="mits")
    done = await decide(session, params, 1.0)
    assert bank.asked == [
        ("POST", "/admin/psd2/authorisations/c-1/decision", {"decision": "deny", "psu": "mits"})
    ]
    assert done.redirect is not None and done.redirect["error"] == "access_denied"
    assert done.required_status == 200 and done.correlation == "c-1"


# --- against a served tpsim ------------------------------------------------------------------


async def test_the_whole_flow_runs_and_every_answer_fits_the_official_openapi(
    tmp_path: Path,
) -> None:
    text = """\
    name: flow
    matrix: {version: ["3.1", "4.0"]}
    steps:
      - obie.create_consent: {version: "${version}", creditor: "10000109010103", amount: "9.00"}
      - obie.authorise: {psu: mits}
        expect:
          redirect: {code: "${auth_code}", id_token: <any>}
      - obie.funds:
      - obie.pay:
      - obie.get_payment: {until: [ACCC, AcceptedCreditSettlementCompleted]}
      - obie.payment_details:
      - check_balances: {balances: {dfspa.rora.current: "1009"}}
    """
    path = write(tmp_path, "scenario.yaml", text)
    result = await run([str(path)], RunOptions(check_sent=True))
    for scenario in result.scenarios:
        assert scenario.outcome is Outcome.PASSED, scenario.failures
    first = result.scenarios[0]
    token, consent = first.steps[0].sent  # the client token was fetched first
    assert token["path"] == "/obie/dfspa/token" and token["body"]["grant_type"] == (
        "client_credentials"
    )
    assert consent["headers"]["Authorization"].startswith("Bearer ")
    assert consent["body"]["Data"]["Initiation"]["InstructedAmount"]["Amount"] == "9.00"
    browser, exchange = first.steps[1].sent
    assert (
        browser["path"].startswith("/obie/dfspa/authorize?") and "sim_decision" in browser["path"]
    )
    assert exchange["body"]["grant_type"] == "authorization_code"
    (paid,) = first.steps[3].sent
    assert paid["body"]["Data"]["Initiation"] == consent["body"]["Data"]["Initiation"]


async def test_a_scheduled_consent_is_paid_and_read_at_the_scheduled_resources(
    tmp_path: Path,
) -> None:
    text = """\
    name: scheduled
    matrix:
      - {version: "3.1", waiting: InitiationPending}
      - {version: "4.0", waiting: PDNG}
    steps:
      - obie.create_consent: {version: "${version}", execute_at: -1d}
        expect: {status: 400}
      - obie.create_consent: {version: "${version}", execute_at: +1d, creditor: "10000109010103"}
      - obie.authorise: {psu: mits}
      - obie.get_consent:
      - obie.pay:
        expect:
          body: {Data: {Status: "${waiting}"}}
      - obie.get_payment:
      - obie.payment_details:
    """
    path = write(tmp_path, "scenario.yaml", text)
    result = await run([str(path)], RunOptions(check_sent=True))
    for scenario in result.scenarios:
        assert scenario.outcome is Outcome.PASSED, scenario.failures
        *_, made = scenario.steps[1].sent
        data = made["body"]["Data"]
        assert data["Permission"] == "Create"  # midnight UTC of tomorrow on tpsim's clock
        assert data["Initiation"]["RequestedExecutionDateTime"].endswith("T00:00:00+00:00")
        sent = [made["path"] for step in scenario.steps for made in step.sent]
        paths = [ID.sub("/{id}", path.split("/pisp")[1]) for path in sent if "/pisp/" in path]
        assert paths == [
            "/domestic-scheduled-payment-consents",
            "/domestic-scheduled-payment-consents",
            "/domestic-scheduled-payment-consents/{id}",
            "/domestic-scheduled-payments",
            "/domestic-scheduled-payments/{id}",
            "/domestic-scheduled-payments/{id}/payment-details",
        ]


async def test_a_refusal_is_expected_by_its_ob_error_code(tmp_path: Path) -> None:
    text = """\
    name: mismatch
    steps:
      - obie.create_consent:
      - obie.authorise:
      - obie.pay: {fields: {Risk: {PaymentContextCode: TransferToSelf}}}
        expect:
          status: 400
          error: U004
    """
    (failure,) = (await run_one(tmp_path, text)).failures
    assert failure.kind is FailureKind.ASSERTION
    assert "error code U008, expected U004" in failure.message


async def test_a_psu_token_before_authorisation_is_a_scenario_error(tmp_path: Path) -> None:
    text = """\
    name: no psu token yet
    steps:
      - obie.create_consent:
      - obie.pay:
    """
    (failure,) = (await run_one(tmp_path, text)).failures
    assert failure.kind is FailureKind.ERROR
    assert "no PSU token for consent" in failure.message and "obie.authorise" in failure.message


async def test_the_consent_page_is_signed_in_as_a_browser_would(tmp_path: Path) -> None:
    text = """\
    name: page
    steps:
      - obie.create_consent: {debtor: null}
      - obie.authorise: {psu: mits, password: wrong}
        expect: {status: 401}
      - obie.authorise: {psu: mits, password: mits}
        expect:
          redirect: {code: <any>, state: <any>}
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures
    browser, page, sign_in, form, exchange = result.steps[2].sent
    assert page["path"].startswith("/login/dfspa/oauth/") and sign_in["method"] == "POST"
    assert form["method"] == "POST" and form["path"] == sign_in["path"]
    assert exchange["path"] == "/obie/dfspa/token"


# --- conformance ------------------------------------------------------------------------------


def hop(seq: int, kind: str, method: str, path: str, **more: Any) -> dict[str, Any]:
    """A journal entry of a UK hop, as ``GET /admin/journal`` shows it."""
    entry = {"seq": seq, "hop": kind, "dialect": "obie", "method": method, "path": path}
    entry |= {"source": "tpp-one", "destination": "dfspa", "headers": {}, "body": None}
    return entry | {"status": None} | more


def answered(request: dict[str, Any], status: int, body: Any, **headers: str) -> dict[str, Any]:
    return hop(
        request["seq"] + 1,
        "sent",
        request["method"],
        request["path"],
        source="dfspa",
        destination=request["source"],
        status=status,
        body=body,
        headers={"x-fapi-interaction-id": "i-1", "x-jws-signature": "h..s", **headers},
    )


def test_check_sent_holds_each_uk_answer_to_the_openapi_of_its_version() -> None:
    good = hop(1, "received", "GET", CONSENTS + "/c-1")
    missing_status = hop(3, "received", "GET", CONSENTS + "/c-1")
    v31 = hop(5, "received", "GET", CONSENTS.replace("v4.0", "v3.1") + "/c-1")
    data = {
        "ConsentId": "c-1",
        "CreationDateTime": "2030-01-07T09:00:00+00:00",
        "Status": "AWAU",
        "StatusUpdateDateTime": "2030-01-07T09:00:00+00:00",
        "Initiation": {
            "InstructionIdentification": "I",
            "EndToEndIdentification": "E",
            "InstructedAmount": {"Amount": "1.00", "Currency": "GBP"},
            "CreditorAccount": {
                "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                "Identification": p.HARRY,
                "Name": "Harry",
            },
        },
    }
    body = {"Data": data, "Risk": {}, "Links": {"Self": "http://x/c-1"}, "Meta": {}}
    broken = {**body, "Data": {k: v for k, v in data.items() if k != "Status"}}
    journal = [
        good,
        answered(good, 200, body),
        missing_status,
        answered(missing_status, 200, broken),
        v31,
        answered(v31, 200, body),  # AWAU is no v3.1 status word
    ]
    found = conformance.obie_sent_by_tpsim(journal, {"dfspa"})
    assert {v.seq for v in found} == {4, 6}
    assert all(v.rule == "openapi" for v in found)
    assert not conformance.obie_sent_by_tpsim(journal, {"dfspb"})  # not simulated: no check
    (failure, *_) = conformance.failures(found, journal, by_tpsim=True)
    assert failure.expected == "a message the UK Open Banking API allows"


def test_an_answer_to_no_operation_must_be_a_refusal() -> None:
    request = hop(1, "received", "GET", "/obie/dfspa/open-banking/v4.0/pisp/nothing")
    found = conformance.obie_sent_by_tpsim([request, answered(request, 200, None)], {"dfspa"})
    assert [v.message for v in found] == [
        "answered 200 to a request for no operation of the UK API"
    ]
    assert not conformance.obie_sent_by_tpsim([request, answered(request, 404, None)], {"dfspa"})


def test_an_external_tpps_uk_requests_are_checked_and_must_be_accepted() -> None:
    refused = hop(1, "received", "POST", CONSENTS, body={"Data": {}, "Risk": {}})
    refused["headers"] = {"Authorization": "Bearer t", "x-idempotency-key": "k"}
    other = hop(3, "received", "GET", CONSENTS + "/c-1", source="tpp-two")
    body = {"Errors": [{"ErrorCode": "U004", "Message": "Initiation is missing"}]}
    journal = [refused, answered(refused, 400, body), other, answered(other, 200, {})]
    found = conformance.obie_violations(journal, "tpp-one")
    assert {v.seq for v in found} == {1}
    first = found[0]
    assert (first.rule, first.message) == (
        "accepted by the bank",
        "400: U004: Initiation is missing",
    )
    assert any(v.rule == "openapi" and "Initiation" in v.field + v.message for v in found)


async def test_a_tpp_under_test_has_its_uk_requests_checked_in_a_scenario(tmp_path: Path) -> None:
    """The built-in TPP plays ``tpp-one``: as the TPP under test, a request of it that the
    bank refuses is a conformance violation."""
    text = """\
    name: tpp under test
    tpp: {client_id: tpp-one}
    steps:
      - obie.create_consent: {amount: "12,50"}
        expect: {status: 400}
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.FAILED
    assert [v.rule for v in result.violations][0] == "accepted by the bank"
    assert result.failures[0].kind is FailureKind.CONFORMANCE


def test_a_uk_exchange_is_drawn_as_one_arrow_from_the_tpp_to_the_bank() -> None:
    request = hop(7, "received", "POST", CONSENTS)
    answer = answered(request, 201, {"Data": {}})
    assert arrow_for(request, "hub") is None
    arrow = arrow_for(answer, "hub", request)
    assert arrow is not None
    assert (arrow.seq, arrow.source, arrow.destination, arrow.status) == (
        7,
        "tpp-one",
        "dfspa",
        "→ 201",
    )
