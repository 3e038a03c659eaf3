"""The run reports (scenario/reports/): JUnit XML against our schema of the Jenkins format,
JSON, and the self-contained HTML page with its sequence diagrams, also in a real browser."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from tests.support.browser import CHROMIUM, needs_browser
from tpsim.scenario.reports import write_html, write_json, write_junit
from tpsim.scenario.reports.sequence import sequence_svg
from tpsim.scenario.reports.text import journal_line
from tpsim.scenario.results import (
    Failure,
    FailureKind,
    Outcome,
    Participant,
    RunResult,
    ScenarioResult,
    StepResult,
    Violation,
)

XSD = Path(__file__).parent / "data" / "junit.xsd"
NASTY = 'amount <100> & "quoted"\x01 end'  # markup, quotes and a character XML forbids
NASTY_CLEAN = 'amount <100> & "quoted" end'
TX = "b51ec534-ee48-4575-b6a9-ead2955b8069"
AUTH = "5f8ee7f9-290f-4e03-ae1c-1e81ecf398df"
VERIFY = "a2b3c4d5-0000-4000-8000-000000000001"
TRANSACTIONS = "/thirdpartyRequests/transactions"
AUTHORIZATIONS = "/thirdpartyRequests/authorizations"
VERIFICATIONS = "/thirdpartyRequests/verifications"
PARTICIPANTS = [
    Participant("dfspa", "dfsp", simulated=True),
    Participant("central-auth", "auth-service", simulated=True),
    Participant("switch", "hub", simulated=True),
    Participant("pispa", "pisp", simulated=False),
    Participant("dfspb", "dfsp", simulated=True),
]


def hop(
    seq: int,
    kind: str,
    method: str,
    path: str,
    source: str,
    destination: str | None,
    status: int | None = None,
    body: dict[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """A journal entry as JournalEntry.to_json() writes it."""
    return {
        "seq": seq,
        "at": f"2024-05-01T10:00:{seq:02d}.000Z",
        "hop": kind,
        "method": method,
        "path": path,
        "source": source,
        "destination": destination,
        "headers": {"FSPIOP-Source": source, "FSPIOP-Destination": destination or "switch"},
        "body": body,
        "correlation_ids": [TX],
        "status": status,
        "duration_ms": 3.5 if kind == "sent" else None,
        "error": error,
    }


def transfer_journal() -> list[dict[str, Any]]:
    """A PISP transfer: request, authorization by the user, verification, final PATCH."""
    request = {"transactionRequestId": TX, "amount": {"amount": "100", "currency": "USD"}}
    return [
        hop(1, "received", "POST", TRANSACTIONS, "pispa", "dfspa", 202, request),
        hop(2, "delivered", "POST", TRANSACTIONS, "pispa", "dfspa", 202, request),
        hop(3, "sent", "PUT", f"{TRANSACTIONS}/{TX}", "dfspa", "pispa", 200, {"x": "RECEIVED"}),
        hop(4, "sent", "POST", AUTHORIZATIONS, "dfspa", "pispa", 202, {"id": AUTH}),
        hop(5, "received", "PUT", f"{AUTHORIZATIONS}/{AUTH}", "pispa", "dfspa", 200),
        hop(6, "delivered", "PUT", f"{AUTHORIZATIONS}/{AUTH}", "pispa", "dfspa", 200),
        hop(7, "delivered", "POST", VERIFICATIONS, "dfspa", "central-auth", 202),
        hop(8, "delivered", "PUT", f"{VERIFICATIONS}/{VERIFY}", "central-auth", "dfspa", 200),
        hop(9, "sent", "PATCH", f"{TRANSACTIONS}/{TX}", "dfspa", "pispa", 200),
        hop(10, "delivered", "GET", "/parties/MSISDN/16135551212", "pispa", None, 202),
    ]


def failed_journal() -> list[dict[str, Any]]:
    """A cell that went wrong in every way a hop can."""
    return [
        hop(1, "received", "POST", TRANSACTIONS, "pispa", "dfspa", 400, {"note": NASTY},
            error=f"3101 Malformed syntax: {NASTY}"),
        hop(2, "received", "POST", TRANSACTIONS, "pispa", "dfspa", 202),
        hop(3, "delivered", "POST", TRANSACTIONS, "pispa", "dfspa", 202),
        hop(4, "sent", "POST", AUTHORIZATIONS, "dfspa", "pispa", 202),
        hop(5, "out-of-band", "SMS", "/users/carol", "dfspa", "carol", body={"otp": "123456"}),
        hop(6, "sent", "PUT", f"{TRANSACTIONS}/{TX}/error", "dfspa", "pispa", 200),
        hop(7, "dropped", "PUT", f"{TRANSACTIONS}/{TX}", "dfspa", "dfspz",
            error="unknown destination 'dfspz'"),
        hop(8, "sent", "PATCH", f"{TRANSACTIONS}/{TX}", "dfspa", "pispa",
            error="connection refused"),
    ]  # fmt: skip


FAILED_ARROWS = {1, 3, 4, 5, 6, 7, 8}  # every hop but the received one that was accepted
FAILED_RED = {1, 6, 7, 8}  # rejected at the edge, /error callback, dropped, no answer


def steps(*outcomes: Outcome) -> list[StepResult]:
    names = ["request transfer", "expect authorization", "approve", "expect PATCH"]
    return [
        StepResult(i, f"{i}. {names[i - 1]}", names[i - 1].split()[0], outcome, 0.25 * i)
        for i, outcome in enumerate(outcomes, 1)
    ]


def make_run() -> RunResult:
    """Four scenarios in three files: passed, a matrix cell passed and one failed, an error."""
    not_received = Failure(
        FailureKind.NOT_RECEIVED,
        f"no PUT {AUTHORIZATIONS}/{{ID}} from pispa",
        step="2. expect authorization",
        expected=f"PUT {AUTHORIZATIONS}/{AUTH} from pispa",
        actual="nothing",
        waited_s=5.0,
    )
    assertion = Failure(
        FailureKind.ASSERTION,
        f"unexpected status: {NASTY}",
        step="1. request transfer",
        expected="status 202",
        actual=f"status 400\n{NASTY}",
    )
    violation = Violation(1, "POST", TRANSACTIONS, "amount.amount", "pattern", f"bad: {NASTY}")
    common: dict[str, Any] = {"started_at": "2024-05-01T10:00:00Z", "participants": PARTICIPANTS}
    passed = ScenarioResult(
        "pisp transfer", "scenarios/transfer.yaml", Outcome.PASSED, 1.5,
        description=f"Alice pays Bob — café. {NASTY}", tags=["transfer", "smoke"],
        steps=steps(Outcome.PASSED, Outcome.PASSED, Outcome.PASSED, Outcome.PASSED),
        journal=transfer_journal(), **common,
    )  # fmt: skip
    cell_ok = ScenarioResult(
        "transfer matrix", "scenarios/matrix.yml", Outcome.PASSED, 0.75,
        cell={"auth": "FIDO", "amount": 100}, tags=["matrix"],
        steps=steps(Outcome.PASSED), journal=transfer_journal()[:3], **common,
    )  # fmt: skip
    cell_failed = ScenarioResult(
        "transfer matrix", "scenarios/matrix.yml", Outcome.FAILED, 6.25,
        cell={"auth": "GENERIC", "amount": 100}, tags=["matrix"],
        steps=steps(Outcome.FAILED, Outcome.FAILED, Outcome.SKIPPED),
        failures=[not_received, assertion], violations=[violation],
        journal=failed_journal(), **common,
    )  # fmt: skip
    errored = ScenarioResult(
        "otp linking", "./scenarios/linking/otp.yaml", Outcome.ERROR, 0.125,
        steps=steps(Outcome.ERROR, Outcome.SKIPPED),
        failures=[Failure(FailureKind.ERROR, "tpsim crashed: RuntimeError('boom')")],
        **common,
    )  # fmt: skip
    return RunResult([passed, cell_ok, cell_failed, errored], "2024-05-01T10:00:00Z", 8.75)


# --- JUnit ------------------------------------------------------------------------------


@pytest.fixture
def junit(tmp_path: Path) -> ET.Element:
    path = tmp_path / "junit.xml"
    write_junit(make_run(), path)
    xmlschema.XMLSchema(XSD).validate(path)
    assert path.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.parse(path).getroot()  # noqa: S314 - our own output


def cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in root.iter("testcase")}


def test_junit_counts_suites_per_file_and_cases_per_cell(junit: ET.Element) -> None:
    assert junit.tag == "testsuites"
    assert {k: junit.attrib[k] for k in ("name", "tests", "failures", "errors", "time")} == {
        "name": "tpsim", "tests": "4", "failures": "1", "errors": "1", "time": "8.750",
    }  # fmt: skip
    suites = {s.attrib["name"]: s for s in junit.findall("testsuite")}
    assert list(suites) == [
        "scenarios/transfer.yaml", "scenarios/matrix.yml", "./scenarios/linking/otp.yaml",
    ]  # fmt: skip
    matrix = suites["scenarios/matrix.yml"]
    assert (matrix.attrib["tests"], matrix.attrib["failures"], matrix.attrib["errors"]) == (
        "2", "1", "0",
    )  # fmt: skip
    assert matrix.attrib["time"] == "7.000"
    assert [(c.attrib["classname"], c.attrib["name"], c.attrib["time"]) for c in matrix] == [
        ("scenarios.matrix", "transfer matrix [auth=FIDO, amount=100]", "0.750"),
        ("scenarios.matrix", "transfer matrix [auth=GENERIC, amount=100]", "6.250"),
    ]
    assert cases(junit)["otp linking"].attrib["classname"] == "scenarios.linking.otp"


def test_junit_passed_case_has_no_verdict_and_lists_steps(junit: ET.Element) -> None:
    case = cases(junit)["pisp transfer"]
    assert case.find("failure") is None and case.find("error") is None
    properties = {p.attrib["name"]: p.attrib["value"] for p in case.iter("property")}
    assert properties["tags"] == "transfer, smoke"
    assert properties["description"] == f"Alice pays Bob — café. {NASTY_CLEAN}"
    out = case.findtext("system-out") or ""
    assert out.splitlines() == [
        "1. request transfer  passed  0.250 s",
        "2. expect authorization  passed  0.500 s",
        "3. approve  passed  0.750 s",
        "4. expect PATCH  passed  1.000 s",
    ]


def test_junit_failure_lists_failures_violations_and_journal(junit: ET.Element) -> None:
    case = cases(junit)["transfer matrix [auth=GENERIC, amount=100]"]
    properties = {p.attrib["name"]: p.attrib["value"] for p in case.iter("property")}
    assert (properties["cell.auth"], properties["cell.amount"]) == ("GENERIC", "100")
    (failure,) = case.findall("failure")
    assert failure.attrib["type"] == "not-received"
    assert failure.attrib["message"] == f"no PUT {AUTHORIZATIONS}/{{ID}} from pispa"
    text = failure.text or ""
    for expected in (
        f"[2. expect authorization] not-received: no PUT {AUTHORIZATIONS}/{{ID}} from pispa",
        f"expected: PUT {AUTHORIZATIONS}/{AUTH} from pispa",
        "actual: nothing",
        "waited: 5 s",
        f"[1. request transfer] assertion: unexpected status: {NASTY_CLEAN}",
        "expected: status 202",
        f"actual: status 400\n    {NASTY_CLEAN}",
        f"#1 POST {TRANSACTIONS}: amount.amount (pattern): bad: {NASTY_CLEAN}",
        "Journal (last 8 of 8 hops):",
        f"#1 received pispa → dfspa POST {TRANSACTIONS} 400 error: 3101 Malformed syntax:",
        "#5 out-of-band dfspa → carol SMS /users/carol",
        f"#8 sent dfspa → pispa PATCH {TRANSACTIONS}/{TX} error: connection refused",
    ):
        assert expected in text
    assert "\x01" not in text


def test_junit_error_case(junit: ET.Element) -> None:
    case = cases(junit)["otp linking"]
    assert case.find("failure") is None
    (error,) = case.findall("error")
    assert error.attrib == {"message": "tpsim crashed: RuntimeError('boom')", "type": "error"}
    assert "Journal" not in (error.text or "")  # nothing was journaled


def test_junit_journal_excerpt_is_the_last_30_hops(tmp_path: Path) -> None:
    run = make_run()
    run.scenarios[2].journal = [
        hop(i, "sent", "PUT", f"{TRANSACTIONS}/{i}", "dfspa", "pispa", 200) for i in range(1, 46)
    ]
    write_junit(run, tmp_path / "junit.xml")
    root = ET.parse(tmp_path / "junit.xml").getroot()  # noqa: S314 - our own output
    text = next(root.iter("failure")).text or ""
    journal = text.split("Journal (last 30 of 45 hops):\n")[1].splitlines()
    assert len(journal) == 30
    assert journal[0].startswith("  #16 sent") and journal[-1].startswith("  #45 sent")


def test_junit_names_each_matrix_cell_apart_even_when_its_title_repeats(tmp_path: Path) -> None:
    # Cells differing in a mapping have one title ([body=…]); CI servers key a case by
    # classname and name, and keep one of two alike (GitLab the last): a failure vanishes.
    run = make_run()
    failed, passed = run.scenarios[2], run.scenarios[1]
    for scenario, body in ((failed, {"a": 1}), (passed, {"a": 2})):
        scenario.name, scenario.cell = "transfer matrix", {"body": body}
    run.scenarios[1:3] = [failed, passed]
    write_junit(run, tmp_path / "junit.xml")
    root = ET.parse(tmp_path / "junit.xml").getroot()  # noqa: S314 - our own output
    matrix = next(s for s in root.iter("testsuite") if s.attrib["name"] == "scenarios/matrix.yml")
    assert [(c.attrib["name"], c.find("failure") is not None) for c in matrix] == [
        ("transfer matrix [body=…]", True),
        ("transfer matrix [body=…] (2)", False),
    ]


# --- JSON -------------------------------------------------------------------------------


def test_json_report_round_trips(tmp_path: Path) -> None:
    run = make_run()
    write_json(run, tmp_path / "run.json")
    raw = (tmp_path / "run.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    assert data["format"] == "tpsim-run/1"
    assert data["summary"] == {"total": 4, "passed": 2, "failed": 1, "error": 1}
    assert data == {"format": "tpsim-run/1", **json.loads(json.dumps(run.to_json()))}
    assert [s["title"] for s in data["scenarios"]][
        2
    ] == "transfer matrix [auth=GENERIC, amount=100]"
    assert raw.startswith('{\n  "format"') and "— café" in raw  # pretty; not ASCII-escaped
    assert data["scenarios"][2]["failures"][0]["kind"] == "not-received"


def test_json_report_is_written_whatever_a_matrix_cell_holds(tmp_path: Path) -> None:
    """A scenario file's YAML gives a cell values JSON has no form for (``!!binary`` as
    a key, ``.nan``): the report still comes out, and strict parsers read it."""
    cell = {"when": {b"day": "new year", date(2024, 1, 1): 1}, "amount": float("nan")}
    run = RunResult(
        [ScenarioResult("odd", "odd.yaml", Outcome.PASSED, 0.1, "t", cell=cell)], "t", 1
    )
    write_json(run, tmp_path / "run.json")

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is no JSON")

    raw = (tmp_path / "run.json").read_text(encoding="utf-8")
    data = json.loads(raw, parse_constant=refuse)
    assert data["scenarios"][0]["cell"] == {
        "when": {"b'day'": "new year", "2024-01-01": 1},
        "amount": "nan",
    }


# --- sequence diagram -------------------------------------------------------------------


def svg_of(scenario: ScenarioResult) -> ET.Element:
    """The diagram, parsed, with tags stripped of the SVG namespace."""
    svg = ET.fromstring(sequence_svg(scenario))  # noqa: S314 - our own output
    for element in svg.iter():
        element.tag = element.tag.removeprefix("{http://www.w3.org/2000/svg}")
    return svg


def hops(svg: ET.Element) -> list[ET.Element]:
    return [g for g in svg.iter("g") if "hop" in g.attrib.get("class", "").split()]


def with_class(svg: ET.Element, name: str) -> set[int]:
    return {int(g.attrib["data-seq"]) for g in hops(svg) if name in g.attrib["class"].split()}


def lifeline_x(svg: ET.Element) -> dict[str, float]:
    """Lifeline name → x, left to right."""
    lines = [g for g in svg.iter("g") if g.attrib.get("class") == "lifeline"]
    return {
        g.findall("text")[0].text or "": float(g.findall("line")[0].attrib["x1"]) for g in lines
    }


def test_diagram_lifelines_arrows_and_colours() -> None:
    svg = svg_of(make_run().scenarios[2])
    x = lifeline_x(svg)
    assert list(x) == ["pispa", "switch", "dfspa", "dfspb", "central-auth", "dfspz", "user"]
    assert [int(g.attrib["data-seq"]) for g in hops(svg)] == sorted(FAILED_ARROWS)
    assert with_class(svg, "err") == FAILED_RED
    assert with_class(svg, "oob") == {5}
    by_seq = {int(g.attrib["data-seq"]): g for g in hops(svg)}
    assert "stroke-dasharray" in by_seq[5].findall("line")[0].attrib
    # Rejected at the edge: from the PISP to the hub, labelled with the answer.
    texts = [t.text for t in by_seq[1].findall("text")]
    assert texts[1] == f"POST {TRANSACTIONS}"
    assert texts[2] is not None and texts[2].startswith("→ 400 · 3101 Malformed syntax")


@pytest.mark.parametrize(
    ("seq", "source", "destination"),
    [(1, "pispa", "switch"), (4, "dfspa", "pispa"), (5, "dfspa", "user"), (7, "dfspa", "dfspz")],
)
def test_diagram_arrows_point_from_source_to_destination(
    seq: int, source: str, destination: str
) -> None:
    svg = svg_of(make_run().scenarios[2])
    x = lifeline_x(svg)
    group = next(g for g in hops(svg) if g.attrib["data-seq"] == str(seq))
    line = group.find("line")
    tip = group.find("polygon")
    assert line is not None and tip is not None
    assert float(line.attrib["x1"]) == x[source]
    assert float(tip.attrib["points"].split(",")[0]) == x[destination]


def test_diagram_tooltip_has_everything_and_labels_are_shortened() -> None:
    scenario = make_run().scenarios[2]
    long_path = f"{TRANSACTIONS}/{TX}/{TX}/{TX}/error"
    scenario.journal.append(hop(9, "sent", "PUT", long_path, "dfspa", "pispa", 200))
    svg = svg_of(scenario)
    (group,) = [g for g in hops(svg) if g.attrib["data-seq"] == "9"]
    label = group.findall("text")[1].text or ""
    assert label.startswith("PUT /thirdpartyRequests/") and "…" in label
    assert label.endswith("/error") and len(label) < len(long_path)
    tooltip = group.findtext("title") or ""
    assert long_path in tooltip and TX in tooltip and "2024-05-01T10:00:09.000Z" in tooltip
    rejected = next(g for g in hops(svg) if g.attrib["data-seq"] == "1").findtext("title") or ""
    assert '"note": "amount <100> & \\"quoted\\"\\u0001 end"' in rejected  # JSON-escaped


def test_diagram_body_in_tooltip_is_truncated() -> None:
    scenario = make_run().scenarios[0]
    scenario.journal[1]["body"] = {"blob": "x" * 5000}
    tooltip = next(g for g in hops(svg_of(scenario)) if g.attrib["data-seq"] == "2")
    body = (tooltip.findtext("title") or "").split("body:\n")[1]
    assert len(body) == 2000 and body.endswith("…")


def test_diagram_draws_at_most_500_arrows() -> None:
    scenario = make_run().scenarios[0]
    scenario.journal = [
        hop(i, "sent", "PUT", f"{TRANSACTIONS}/{i}", "dfspa", "pispa", 200) for i in range(1, 621)
    ]
    svg = svg_of(scenario)
    assert len(hops(svg)) == 500
    note = [t.text for t in svg.iter("text") if t.attrib.get("class") == "more"]
    assert note == ["120 more hops not drawn"]
    assert int(svg.attrib["height"]) > 500 * 40


def test_diagram_hop_to_itself_is_a_loop_back_to_its_lifeline() -> None:
    scenario = make_run().scenarios[0]
    scenario.journal = [hop(1, "dropped", "PUT", "/quotes/1/error", "switch", None)]
    svg = svg_of(scenario)
    (group,) = hops(svg)
    loop, tip = group.find("path"), group.find("polygon")
    assert loop is not None and tip is not None and group.find("line") is None
    assert loop.attrib["d"].startswith(f"M{lifeline_x(svg)['switch']:g} ")
    assert float(tip.attrib["points"].split(",")[0]) == lifeline_x(svg)["switch"]
    assert "err" in group.attrib["class"].split()


def test_diagram_user_lifeline_only_with_out_of_band_hops() -> None:
    assert "user" not in lifeline_x(svg_of(make_run().scenarios[0]))


# --- HTML -------------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


class Checker(HTMLParser):
    """Records tags and fails on any element closed out of order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.errors.append(f"unexpected </{tag}> at {self.getpos()}")


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    write_html(make_run(), path)
    return path


def test_html_is_well_formed_and_self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    checker = Checker()
    checker.feed(text)
    checker.close()
    assert checker.errors == [] and checker.open == []
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", text, re.I)
    assert "@import" not in text and "url(" not in text
    assert "\x01" not in text
    assert "&lt;100&gt; &amp; &quot;quoted&quot;" in text and "<100>" not in text


def test_html_has_one_diagram_per_scenario_with_its_arrows(page: Path) -> None:
    checker = Checker()
    checker.feed(page.read_text(encoding="utf-8"))
    tags = checker.starts
    assert sum(tag == "svg" for tag, _ in tags) == 4
    per_svg: list[list[dict[str, str | None]]] = []
    for tag, attrs in tags:
        if tag == "svg":
            per_svg.append([])
        elif tag == "g" and "hop" in (attrs.get("class") or "").split():
            per_svg[-1].append(attrs)
    assert [len(arrows) for arrows in per_svg] == [8, 2, len(FAILED_ARROWS), 0]
    red = {int(a["data-seq"] or 0) for a in per_svg[2] if "err" in (a["class"] or "").split()}
    assert red == FAILED_RED


def test_html_sections_open_when_not_passed_and_show_the_details(page: Path) -> None:
    checker = Checker()
    checker.feed(text := page.read_text(encoding="utf-8"))
    details = [a for tag, a in checker.starts if tag == "details"]
    assert [("open" in a, a["class"]) for a in details] == [
        (False, "scenario passed"),
        (False, "scenario passed"),
        (True, "scenario failed"),
        (True, "scenario error"),
    ]
    for expected in (
        "<dt>total</dt><dd>4</dd>", "<dt>passed</dt><dd>2</dd>", "<dt>failed</dt><dd>1</dd>",
        "<dt>error</dt><dd>1</dd>", "<dt>duration</dt><dd>8.750 s</dd>",
        "<dt>started</dt><dd>2024-05-01T10:00:00Z</dd>",
        '<span class="kind">not-received</span>', "waited 5 s",
        "<th>expected</th><td><pre>status 202</pre>",
        "<td>#1</td><td>POST /thirdpartyRequests/transactions</td><td>amount.amount</td>"
        "<td>pattern</td>",
        "tags: <code>transfer, smoke</code>", "cell auth: <code>GENERIC</code>",
        "<td>3. approve</td><td>approve</td><td><span class=\"badge skipped\">",
    ):  # fmt: skip
        assert expected in text


# --- in a real browser, when one is installed -------------------------------------------


@needs_browser("the tests above check the page's markup")
async def test_report_renders_in_a_headless_browser(page: Path, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        tab = await browser.new_page(viewport={"width": 1500, "height": 900})
        requests: list[str] = []
        tab.on("request", lambda request: requests.append(request.url))
        await tab.goto(page.as_uri())
        await tab.click("text=Expand all")
        sizes = await tab.eval_on_selector_all(
            "svg.sequence",
            "svgs => svgs.map(s => [s.getBoundingClientRect().width,"
            " s.getBoundingClientRect().height])",
        )
        await tab.locator("details#s3").screenshot(path=str(tmp_path / "report.png"))
        await browser.close()
    assert len(sizes) == 4 and all(w > 0 and h > 0 for w, h in sizes)
    assert requests == [page.as_uri()]
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_a_journal_line_names_the_rule_that_changed_the_hop() -> None:
    entry = {"seq": 3, "hop": "dropped", "source": "dfspa", "destination": "pispa"}
    entry |= {"method": "PUT", "path": "/consentRequests/1", "error": "dropped by rule r"}
    line = journal_line(entry | {"rule": "r"}, "switch")
    assert line.endswith("error: dropped by rule r rule: r")
    assert "rule:" not in journal_line(entry, "switch")
