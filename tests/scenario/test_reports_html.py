"""The HTML report at library scale: the toolbar's data (outcomes, files, tags, cells),
the environment block, the failing message marked in its diagram, lanes that fit the page,
bodies kept once and out of the markup, and the whole page used in a real browser:
failures first, the status filter, the search (bodies included), grouping, a hop's body
as text and the Mermaid text."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from tests.scenario.test_reports import (
    TRANSACTIONS,
    Checker,
    hop,
    hops,
    make_run,
    svg_of,
    transfer_journal,
)
from tests.support.browser import CHROMIUM, needs_browser
from tpsim import __version__
from tpsim.scenario.reports.diagram import diagram
from tpsim.scenario.reports.environment import Environment, redacted, run_environment
from tpsim.scenario.reports.hop_data import unfolded
from tpsim.scenario.reports.html import html_page, write_html
from tpsim.scenario.reports.sequence import COLUMN, LABEL_CHARS, MIN_SCALE, lane_widths
from tpsim.scenario.results import RunResult, ScenarioResult, Violation

MARKER = "marker-7f3a"  # a value only one body holds
FOLDED = re.compile(r'<script type="application/octet-stream" id="hop-data">([^<]*)</script>')


def folded_data(page: str) -> dict[str, Any]:
    found = FOLDED.search(page)
    assert found is not None
    return unfolded(found.group(1))


def marked_run() -> RunResult:
    """``make_run`` with a body no other holds, in the passed transfer's request."""
    run = make_run()
    run.scenarios[0].journal[1]["body"] = {"note": MARKER}
    return run


def starts(page: str, tag: str) -> list[dict[str, str | None]]:
    checker = Checker()
    checker.feed(page)
    return [attributes for name, attributes in checker.starts if name == tag]


# --- what the toolbar works with ----------------------------------------------------------


def test_the_status_filter_offers_each_outcome_that_occurred_with_its_count() -> None:
    buttons = re.findall(r'<button type="button" data-status="(\w+)"[^>]*>([^<]*)</button>',
                         html_page(make_run()))  # fmt: skip
    assert buttons == [("all", "all 4"), ("failed", "failed 1"), ("error", "error 1"),
                       ("passed", "passed 2")]  # fmt: skip


def test_each_scenario_carries_what_it_is_filtered_grouped_and_sorted_by() -> None:
    sections = starts(html_page(make_run()), "details")
    assert [(s["id"], s["data-outcome"], s["data-order"]) for s in sections] == [
        ("s1", "passed", "1"), ("s2", "passed", "2"), ("s3", "failed", "3"), ("s4", "error", "4"),
    ]  # fmt: skip
    assert sections[0]["data-file"] == "scenarios/transfer.yaml"
    assert sections[0]["data-tags"] == "transfer,smoke" and sections[0]["data-cell"] == ""
    assert sections[2]["data-name"] == "transfer matrix" and sections[2]["data-cell"] == "yes"
    assert sections[2]["data-duration"] == "6.250"


# --- the environment ----------------------------------------------------------------------


def test_the_environment_names_tpsim_python_command_config_and_profile(tmp_path: Path) -> None:
    config = tmp_path / "base.yaml"
    config.write_text("behaviour: {profile: reference}\n", encoding="utf-8")
    argv = ["run", "scenarios/", "--admin-token", "s3cret", "--html", "r.html"]
    environment = run_environment(argv, str(config), "http://127.0.0.1:4040")
    write_html(make_run(), tmp_path / "r.html", environment=environment)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    block = page[page.index('<dl class="env"') : page.index("</dl>", page.index('class="env"'))]
    shown = dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", block))
    assert shown["tpsim"] == __version__
    assert re.fullmatch(r"3\.\d+\.\d+\S*", shown["python"])
    assert shown["command"] == "tpsim run scenarios/ --admin-token HIDDEN --html r.html"
    assert shown["config"] == str(config)
    assert shown["config sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert (shown["profile"], shown["target"]) == ("reference", "http://127.0.0.1:4040")
    assert "s3cret" not in page


def test_the_built_in_config_and_a_default_environment() -> None:
    environment = run_environment(["run", "x.yaml"], None)
    assert environment.config == f"built-in (tpsim {__version__})"
    assert environment.config_sha256 is None and environment.profile == "spec"
    assert [name for name, _ in Environment().items()] == ["tpsim", "python", "platform"]
    assert redacted(["--admin-token=abc", "--jobs", "2"]) == ["--admin-token=HIDDEN", "--jobs", "2"]


# --- the diagram ----------------------------------------------------------------------------


def test_the_failing_message_is_marked_and_the_missing_one_listed() -> None:
    failed = make_run().scenarios[2]  # a violation of #1, a callback never received
    svg = svg_of(failed)
    marked = [g for g in hops(svg) if "fail" in g.attrib["class"].split()]
    assert [g.attrib["data-seq"] for g in marked] == ["1"]
    assert [r.attrib["class"] for r in marked[0].findall("rect")] == ["mark"]
    notes = [t.text for t in svg.iter("text") if t.attrib.get("class") == "missing"]
    assert notes == ["✗ no PUT /thirdpartyRequests/authorizations/{ID} from pispa"]


def test_a_violation_of_an_accepted_message_marks_the_arrow_that_delivered_it() -> None:
    scenario = make_run().scenarios[0]  # #1 received and accepted, #2 delivered it
    scenario.violations = [Violation(1, "POST", TRANSACTIONS, "Date", "header", "an hour off")]
    assert diagram(scenario).failing == {2}


def test_an_assertion_marks_the_message_it_describes() -> None:
    scenario = make_run().scenarios[2]
    scenario.violations = []
    scenario.failures[1].actual = f"#6 PUT {TRANSACTIONS}/x/error dfspa → pispa [200]"
    assert diagram(scenario).failing == {6}


def test_lanes_are_narrow_and_labels_are_not_cut_to_them() -> None:
    scenario = make_run().scenarios[2]
    d = diagram(scenario)
    lanes = dict(zip((line.name for line in d.lifelines), lane_widths(d.lifelines, d.arrows),
                     strict=True))  # fmt: skip
    assert lanes["dfspa"] == COLUMN and lanes["dfspb"] < COLUMN  # dfspb: no arrow
    long_path = "/quotes/b51ec534-ee48-4575-b6a9-ead2955b8069/error"
    scenario.journal = [hop(1, "sent", "PUT", long_path, "dfspa", "pispa", 200)]
    (group,) = hops(svg_of(scenario))
    label = group.findall("text")[1].text or ""
    assert label == f"PUT {long_path}" and len(label) * 6.7 > COLUMN  # wider than its arrow
    assert len(label) <= LABEL_CHARS


def test_the_report_scales_a_diagram_to_the_page_down_to_a_floor() -> None:
    (first, *_) = starts(html_page(make_run()), "svg")
    width = int(first["width"] or 0)
    assert first["viewbox"] == f"0 0 {width} {first['height']}"
    assert first["style"] == f"min-width:{int(width * MIN_SCALE)}px"


# --- size: bodies once, out of the markup ---------------------------------------------------


def test_bodies_and_headers_are_stored_once_and_out_of_the_markup() -> None:
    run = marked_run()
    copies = [
        ScenarioResult(f"copy {i}", "scenarios/copies.yaml", s.outcome, 1.0, s.started_at,
                       participants=s.participants, journal=[dict(e) for e in s.journal])
        for i, s in enumerate([run.scenarios[0]] * 30)
    ]  # fmt: skip
    page = html_page(RunResult(run.scenarios + copies, run.started_at, 1.0))
    assert MARKER not in page  # not in the SVG titles: in the folded data only
    data = folded_data(page)
    assert data["v"].count({"note": MARKER}) == 1
    body = data["v"].index({"note": MARKER})
    uses = [p for section in data["s"].values() for parts in section.values() for p in parts
            if p[4] == body]  # fmt: skip
    assert len(uses) == 31  # the original and its 30 copies refer to the one value
    header_lines = [v for v in data["v"] if isinstance(v, str) and v.startswith("FSPIOP-Source")]
    assert len(header_lines) == len(set(header_lines))


def test_each_hop_keeps_its_time_ids_headers_and_body() -> None:
    data = folded_data(html_page(make_run()))
    (caption, when, ids, headers, body) = data["s"]["s1"]["3"][0]
    assert (caption, when) == ("", "2024-05-01T10:00:03.000Z (3.5 ms)")
    assert data["v"][ids] == "b51ec534-ee48-4575-b6a9-ead2955b8069"
    assert [data["v"][h] for h in headers] == ["FSPIOP-Source: dfspa", "FSPIOP-Destination: pispa"]
    assert data["v"][body] == {"x": "RECEIVED"}
    assert data["m"]["s1"].startswith("%% pisp transfer\n")
    assert "\nsequenceDiagram\n" in data["m"]["s1"]


def test_the_page_stays_self_contained() -> None:
    page = html_page(marked_run())
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", page, re.I)
    assert "<!--@" not in page  # every slot of the template filled
    assert transfer_journal()[0]["body"]["transactionRequestId"] not in page.split("<svg")[0]


# --- in a real browser ----------------------------------------------------------------------


@needs_browser("the tests above check the page's markup and data")
async def test_the_report_filters_searches_groups_and_shows_bodies(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    page_path = tmp_path / "report.html"
    write_html(marked_run(), page_path)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        tab = await browser.new_page(viewport={"width": 1000, "height": 900})
        requests: list[str] = []
        problems: list[str] = []
        tab.on("request", lambda request: requests.append(request.url))
        tab.on("pageerror", lambda error: problems.append(str(error)))
        await tab.goto(page_path.as_uri())
        visible = "details.scenario:not([hidden])"
        order = await tab.eval_on_selector_all(visible, "ds => ds.map(d => d.id)")
        assert order == ["s4", "s3", "s1", "s2"]  # error, failed, then the passed

        await tab.click("button[data-status=failed]")
        assert await tab.eval_on_selector_all(visible, "ds => ds.map(d => d.id)") == ["s3"]
        assert await tab.text_content("#shown") == "showing 1 of 4"
        await tab.click("button[data-status=all]")

        await tab.fill("#search", MARKER)  # only in a body: found through the folded data
        await expect(tab.locator("#shown")).to_have_text("showing 1 of 4")
        assert await tab.eval_on_selector_all(visible, "ds => ds.map(d => d.id)") == ["s1"]

        await tab.click("#s1 > summary")
        await tab.click("#s1 g.hop[data-seq='2'] text:nth-of-type(2)")  # the arrow's label
        body = tab.locator("#s1-h2 pre.body")
        await body.wait_for()
        assert await tab.get_attribute("#s1-h2", "open") is not None
        assert '"note": "marker-7f3a"' in (await body.text_content() or "")
        assert await body.evaluate("b => getComputedStyle(b).userSelect") != "none"

        await tab.click("#s1 button.show-mermaid")
        mermaid = tab.locator("#s1 .mermaid pre")
        assert await mermaid.is_visible()
        assert "\nsequenceDiagram\n" in (await mermaid.text_content() or "")

        await tab.fill("#search", "")
        await tab.select_option("#group", "file")
        await expect(tab.locator("h3.group")).to_have_count(3)
        groups = await tab.eval_on_selector_all("h3.group", "hs => hs.map(h => h.firstChild.data)")
        assert groups[0].startswith("./scenarios/linking/otp.yaml")  # the error's file first
        await tab.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        await browser.close()
    assert problems == []
    assert requests == [page_path.as_uri()]
    assert (tmp_path / "report.png").stat().st_size > 10_000
