"""XS2A in the sequence diagram: each exchange one arrow from the TPP to the bank with the
answer's status (as an FSPIOP request with its synchronous answer), the PSU's browser sent
back to the TPP an out-of-band arrow to the PSU, TPPs in the PISPs' place; and the HTML
report of the library's cross-bank redirect payment."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tests.scenario.test_reports import hops, lifeline_x, svg_of
from tpsim.cli import main
from tpsim.scenario.results import Outcome, Participant, ScenarioResult

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "xs2a"
PAYMENTS = "/xs2a/dfspa/v1/payments/sepa-credit-transfers"
PAYMENT = "5f0c1c5e-2f3a-4a57-8d2b-7f1b8b0f7a11"
SCHEME = [
    Participant("switch", "hub", True),
    Participant("pispa", "pisp", False),
    Participant("dfspa", "dfsp", True),
    Participant("dfspb", "dfsp", True),
    Participant("tpp-one", "tpp", False),
]


def xs2a(seq: int, hop: str, method: str, path: str, **more: Any) -> dict[str, Any]:
    """An XS2A journal entry as ``JournalEntry.to_json()`` writes it."""
    entry = {"seq": seq, "at": f"2030-01-01T10:00:{seq:02d}.000Z", "hop": hop}
    entry |= {"dialect": "xs2a", "method": method, "path": path, "headers": {}, "body": None}
    entry |= {"source": "tpp-one", "destination": "dfspa", "status": None, "error": None}
    return entry | {"correlation_ids": [PAYMENT], "redirect": None} | more


def answer(seq: int, method: str, path: str, status: int, body: Any) -> dict[str, Any]:
    return xs2a(seq, "sent", method, path, source="dfspa", destination="tpp-one", status=status,
                body=body)  # fmt: skip


def journal() -> list[dict[str, Any]]:
    """Initiation, the PSU redirected back, the settlement, a refused status request."""
    status = f"{PAYMENTS}/{PAYMENT}/status"
    refusal = {"tppMessages": [{"category": "ERROR", "code": "FORMAT_ERROR", "text": "x"}]}
    return [
        xs2a(1, "received", "POST", PAYMENTS, body={"instructedAmount": {"amount": "42.00"}}),
        answer(2, "POST", PAYMENTS, 201, {"transactionStatus": "RCVD", "paymentId": PAYMENT}),
        xs2a(3, "out-of-band", "GET", f"/login/dfspa/xs2a/{PAYMENT}", source="dfspa",
             destination="psu", status=302, redirect="http://127.0.0.1:8000/cb"),
        {"seq": 4, "hop": "delivered", "dialect": "mojaloop", "method": "POST",
         "path": "/quotes", "source": "dfspa", "destination": "dfspb", "status": 202},
        xs2a(5, "received", "GET", status, error="FORMAT_ERROR"),
        answer(6, "GET", status, 400, refusal),
    ]  # fmt: skip


def scenario(entries: list[dict[str, Any]]) -> ScenarioResult:
    return ScenarioResult(
        "xs2a", "x.yaml", Outcome.PASSED, 1.0, "2030-01-01T10:00:00Z",
        participants=SCHEME, journal=entries,
    )  # fmt: skip


def arrow(svg: ET.Element, seq: int) -> ET.Element:
    return next(g for g in hops(svg) if g.attrib["data-seq"] == str(seq))


def ends(svg: ET.Element, group: ET.Element) -> tuple[str, str]:
    """The lifelines an arrow goes from and to."""
    by_x = {x: name for name, x in lifeline_x(svg).items()}
    line, tip = group.find("line"), group.find("polygon")
    assert line is not None and tip is not None
    return by_x[float(line.attrib["x1"])], by_x[float(tip.attrib["points"].split(",")[0])]


def labels(group: ET.Element) -> list[str | None]:
    return [t.text for t in group.findall("text")[1:]]


def test_the_tpp_stands_where_the_pisp_would_and_the_psu_comes_last() -> None:
    svg = svg_of(scenario(journal()))
    assert list(lifeline_x(svg)) == ["tpp-one", "switch", "dfspa", "dfspb", "psu"]


def test_an_exchange_is_one_arrow_from_the_tpp_with_the_answers_status() -> None:
    svg = svg_of(scenario(journal()))
    assert [int(g.attrib["data-seq"]) for g in hops(svg)] == [1, 3, 4, 5]
    initiation = arrow(svg, 1)
    assert ends(svg, initiation) == ("tpp-one", "dfspa")
    assert labels(initiation) == [f"POST {PAYMENTS}", "→ 201"]
    assert "err" not in initiation.attrib["class"].split()
    tip = initiation.findtext("title") or ""
    assert "tpp-one → dfspa, status 201" in tip
    assert '"amount": "42.00"' in tip.split("request body:")[1]  # what the TPP sent
    assert '"transactionStatus": "RCVD"' in tip.split("answer body:")[1]  # what it got
    refused = arrow(svg, 5)
    assert ends(svg, refused) == ("tpp-one", "dfspa")
    assert "err" in refused.attrib["class"].split() and labels(refused)[1] == "→ 400"


def test_the_browser_sent_back_to_the_tpp_is_a_dashed_arrow_to_the_psu() -> None:
    svg = svg_of(scenario(journal()))
    redirect = arrow(svg, 3)
    assert ends(svg, redirect) == ("dfspa", "psu")
    assert redirect.attrib["class"].split() == ["hop", "oob"]
    assert labels(redirect)[1] == "→ 302 · to http://127.0.0.1:8000/cb"
    assert "redirect: http://127.0.0.1:8000/cb" in (redirect.findtext("title") or "")


def test_a_client_the_journal_never_names_has_no_lifeline() -> None:
    fspiop = {"seq": 1, "hop": "sent", "method": "PUT", "path": "/parties/MSISDN/1"}
    fspiop |= {"source": "dfspa", "destination": "pispa", "status": 200}
    assert list(lifeline_x(svg_of(scenario([fspiop])))) == ["pispa", "switch", "dfspa", "dfspb"]
    assert list(lifeline_x(svg_of(scenario([])))) == [
        "pispa", "tpp-one", "switch", "dfspa", "dfspb",
    ]  # fmt: skip


def test_the_html_report_of_a_cross_bank_redirect_payment(tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    assert main(["run", str(LIBRARY / "redirect_cross_bank.yaml"), "--html", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    svg = ET.fromstring(text[text.index("<svg") : text.index("</svg>") + 6])  # noqa: S314
    for element in svg.iter():
        element.tag = element.tag.removeprefix("{http://www.w3.org/2000/svg}")
    assert list(lifeline_x(svg)) == ["tpp-one", "switch", "dfspa", "dfspb", "central-auth", "psu"]
    drawn = [(ends(svg, g), labels(g)[0], labels(g)[1]) for g in hops(svg)]
    initiation, redirect, quote, *_ = drawn
    assert initiation == (("tpp-one", "dfspa"), f"POST {PAYMENTS}", "→ 201")
    assert redirect[0] == ("dfspa", "psu") and redirect[2] == "→ 302 · to http://127.0.0.1:8000/cb"
    assert quote == (("dfspa", "dfspb"), "POST /quotes", "→ 202")
    assert (("dfspa", "dfspb"), "POST /transfers", "→ 202") in drawn
    polls = [d for d in drawn if str(d[1]).endswith("/status")]
    assert polls and all(d[0] == ("tpp-one", "dfspa") and d[2] == "→ 200" for d in polls)
