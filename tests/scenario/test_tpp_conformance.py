"""XS2A conformance in the runner: an external TPP under test (``tpp:``), every XS2A
request it sends checked against the official NextGenPSD2 OpenAPI and the banks' verdict;
and ``--check-sent`` checking tpsim's XS2A answers even without the Third Party bundles."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.support.scenarios import write
from tpsim.errors import ScenarioError
from tpsim.scenario import conformance
from tpsim.scenario.cells import prepare
from tpsim.scenario.results import FailureKind, Outcome, ScenarioResult, Violation
from tpsim.scenario.runner import RunOptions, run

PAYMENTS = "/xs2a/dfspa/v1/payments/sepa-credit-transfers"
INITIATION = {
    "instructedAmount": {"currency": "EUR", "amount": "42.00"},
    "debtorAccount": {"iban": "DE89370400440532013000"},
    "creditorAccount": {"iban": "DE02120300000000202051"},
    "creditorName": "Max Mustermann",
}


class FakeTpp:
    """A TPP under test: its own API's ``POST /pay`` initiates a payment at the tpsim named
    in the body (a valid request), then asks its status with an ``X-Request-ID`` that is
    no UUID (an invalid one), and answers what the bank said."""

    def __init__(self) -> None:
        self.http: aiohttp.ClientSession | None = None
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> FakeTpp:
        self.http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/pay", self.pay)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.http is not None:
            await self.http.close()

    async def pay(self, request: web.Request) -> web.Response:
        tpsim = (await request.json())["tpsim"]
        initiated = await self.send(
            "POST",
            f"{tpsim}{PAYMENTS}",
            INITIATION,
            {"X-Request-ID": str(uuid.uuid4()), "TPP-Redirect-URI": "http://127.0.0.1:8000/cb"},
        )
        status_url = f"{tpsim}{PAYMENTS}/{initiated[1]['paymentId']}/status"
        polled = await self.send("GET", status_url, None, {"X-Request-ID": "1234"})
        return web.json_response({"initiated": initiated[0], "polled": polled[0]})

    async def send(
        self, method: str, url: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any]:
        assert self.http is not None
        sent = {"TPP-Client-ID": "tpp-one", "PSU-IP-Address": "192.168.8.78", **headers}
        async with self.http.request(method, url, json=body, headers=sent) as answer:
            return answer.status, await answer.json()


@pytest.fixture
async def fake_tpp() -> AsyncIterator[FakeTpp]:
    tpp = await FakeTpp().start()
    yield tpp
    await tpp.close()


def under_test(api: str, checks: bool = True) -> str:
    return f"""\
    name: an external TPP initiates and polls
    tpp: {{client_id: tpp-one, api: "{api}", checks: {str(checks).lower()}}}
    steps:
      - trigger: {{path: /pay, body: {{tpsim: "${{tpsim_url}}"}}}}
        expect:
          status: 200
          body: {{initiated: 201, polled: 400}}
      - wait:
        expect:
          messages:
            - method: POST
              path: {PAYMENTS}
              from: dfspa
              to: tpp-one
              status: 201
    """


async def run_one(tmp_path: Path, text: str, **options: Any) -> ScenarioResult:
    path = write(tmp_path, "scenario.yaml", text)
    (scenario,) = (await run([str(path)], RunOptions(**options))).scenarios
    return scenario


async def test_every_request_of_the_tpp_under_test_is_checked(
    tmp_path: Path, fake_tpp: FakeTpp
) -> None:
    result = await run_one(tmp_path, under_test(fake_tpp.url))
    assert result.outcome is Outcome.FAILED
    assert [s.outcome for s in result.steps] == [Outcome.PASSED, Outcome.PASSED]
    initiation, poll = [e for e in result.journal if e["hop"] == "received"]
    assert {v.seq for v in result.violations} == {poll["seq"]}  # the valid one has none
    assert {(v.field, v.rule) for v in result.violations} == {
        ("(message)", "accepted by the bank"),
        ("header X-Request-ID", "openapi"),
    }
    (failure,) = result.failures
    assert failure.kind is FailureKind.CONFORMANCE
    assert failure.message.startswith(f"GET {PAYMENTS}/") and "breaks the API" in failure.message
    assert failure.expected == "a message the XS2A API allows"


async def test_a_tpp_under_test_without_checks_is_only_held_to_the_expectations(
    tmp_path: Path, fake_tpp: FakeTpp
) -> None:
    result = await run_one(tmp_path, under_test(fake_tpp.url, checks=False))
    assert result.outcome is Outcome.PASSED, result.failures
    assert result.violations == []


def test_a_request_naming_an_unknown_client_id_is_that_tpps() -> None:
    """The bank journals a request from a TPP it does not know from no configured TPP; the
    check still finds it by the TPP-Client-ID it sent."""
    request = {"seq": 1, "hop": "received", "dialect": "xs2a", "method": "POST"}
    request |= {"path": PAYMENTS, "source": "tpp", "destination": "dfspa", "body": INITIATION}
    request["headers"] = {
        "TPP-Client-ID": "rogue",
        "X-Request-ID": str(uuid.uuid4()),
        "PSU-IP-Address": "192.168.8.78",
        "Content-Type": "application/json",
        "TPP-Redirect-URI": "http://127.0.0.1:8000/cb",
    }
    refusal = {"tppMessages": [{"category": "ERROR", "code": "CERTIFICATE_INVALID"}]}
    answer = request | {"seq": 2, "hop": "sent", "source": "dfspa", "destination": "tpp"}
    answer |= {"status": 401, "body": refusal, "headers": {}}
    (found,) = conformance.xs2a_violations([request, answer], "rogue")
    assert (found.seq, found.rule) == (1, "accepted by the bank")
    assert found.message.startswith("401: CERTIFICATE_INVALID")
    assert conformance.xs2a_violations([request, answer], "tpp-one") == []


@pytest.mark.parametrize(
    ("tpp", "problem"),
    [
        (
            "{client_id: stranger}",
            "tpp.client_id stranger is not among the config's tpps (tpp-one): add it under"
            " config: tpps:",
        ),
        (
            '{client_id: tpp-one, api: "http://127.0.0.1:1"}\npisp: {api: "http://127.0.0.1:2"}',
            "pisp.api and tpp.api are both given",
        ),
        ("{api: http://x}", "tpp.client_id: "),
    ],
)
def test_a_tpp_under_test_is_checked_before_anything_runs(
    tmp_path: Path, tpp: str, problem: str
) -> None:
    path = write(tmp_path, "t.yaml", f"name: t\ntpp: {tpp}\nsteps:\n  - wait:\n")
    with pytest.raises(ScenarioError) as caught:
        prepare([str(path)], RunOptions())
    assert problem in str(caught.value)


# --- --check-sent without the Third Party bundles ----------------------------------------

XS2A_ONLY = """\
name: cross-bank XS2A
steps:
  - xs2a.initiate:
  - xs2a.authorise:
  - xs2a.status: {until: [ACCC]}
"""


async def test_check_sent_checks_xs2a_answers_without_the_mojaloop_bundles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TPSIM_SPEC_DIR", str(tmp_path / "no-bundles"))
    checked: list[int] = []
    real = conformance.xs2a_sent_by_tpsim

    def spy(journal: list[dict[str, Any]], simulated: set[str]) -> list[Violation]:
        checked.extend(e["seq"] for e in journal if e.get("dialect") == "xs2a")
        return real(journal, simulated)

    monkeypatch.setattr(conformance, "xs2a_sent_by_tpsim", spy)
    result = await run_one(tmp_path, XS2A_ONLY, check_sent=True)
    assert result.outcome is Outcome.PASSED, result.failures
    assert checked == [e["seq"] for e in result.journal if e.get("dialect") == "xs2a"] != []


@pytest.mark.parametrize(
    ("steps", "spec_dir"),
    [("  - discover:\n", False), ("  - xs2a.initiate:\n", True)],
)
def test_check_sent_still_needs_the_bundles_for_mojaloop_steps_or_a_named_spec_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, steps: str, spec_dir: bool
) -> None:
    missing = tmp_path / "no-bundles"
    monkeypatch.setenv("TPSIM_SPEC_DIR", str(missing))
    path = write(tmp_path, "s.yaml", f"name: s\nsteps:\n{steps}")
    options = RunOptions(check_sent=True, spec_dir=missing if spec_dir else None)
    with pytest.raises(ScenarioError, match=f"are not in {missing}: pass --spec-dir DIR"):
        prepare([str(path)], options)
