"""A scenario's journal as an SVG sequence diagram, for the HTML report.

One lifeline per participant (the clients: PISPs and TPPs; the hub, DFSPs, the
auth-service, then any fsp id the journal names that the scheme does not list, then the
user and the PSU when something went out of band to them) and one arrow per message, top
to bottom in journal order:

- ``delivered``, ``sent``, ``dropped`` and ``out-of-band`` hops go from ``source`` to
  ``destination`` (the hub when none); out-of-band arrows are dashed, to the user, or (an
  XS2A or UK browser redirect) to the PSU, labelled with where the browser was sent;
- a ``received`` hop is drawn only when the edge rejected it (status >= 400): it never
  went further, so it is the only trace of the message. An accepted one is drawn by the
  hop that delivered it;
- an XS2A or UK Open Banking exchange (the request ``received`` from the TPP, the bank's
  answer ``sent`` back) is one arrow from the TPP to the bank labelled with the request
  and the answer's status, as an FSPIOP request is drawn with its synchronous answer.

A client (PISP or TPP) the journal never names has no lifeline, unless no client is named
at all: a scheme lists PISPs and TPPs alike, and a scenario mostly speaks one dialect.

An arrow is red (class ``err``) when its status is >= 400, it has an error, it was
dropped, or it is an ``/error`` callback. Its ``<title>`` tooltip holds the whole message.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from tpsim.scenario.conformance import OBIE, XS2A, exchanges
from tpsim.scenario.reports.text import clean, ellipsize_middle, hub_id, shorten
from tpsim.scenario.results import ScenarioResult

MAX_ARROWS = 500
BODY_LIMIT = 2000
USER = "(user)"  # the key of the user lifeline: never an fsp id
PSU = "(psu)"  # the key of the PSU's (browser's) lifeline
_KIND_ORDER = {"pisp": 0, "tpp": 0, "hub": 1, "dfsp": 2, "auth-service": 3}
_CLIENTS = {"pisp", "tpp"}
_DRAWN_HOPS = {"delivered", "sent", "dropped", "out-of-band"}
_EXCHANGED = (XS2A, OBIE)  # HTTP APIs answered synchronously: request + answer, one arrow

# Geometry, in px. Text is monospace so that a label's width is known without a browser.
GUTTER = 48  # the seq numbers' column
COLUMN = 260  # fits "POST /thirdpartyRequests/transactions" between neighbours
HEAD = 64  # the lifelines' name boxes
ROW = 40
TOP = HEAD + 24  # the first arrow's y
CHAR = 6.7  # the advance of an 11px monospace glyph
INK = "#37474f"
RED = "#c62828"
MUTED = "#6a1b9a"


@dataclass(frozen=True, slots=True)
class Lifeline:
    key: str
    name: str
    caption: str
    external: bool = False


@dataclass(frozen=True, slots=True)
class Arrow:
    seq: int
    source: str
    destination: str
    method: str
    path: str
    status: str  # "→ 202", "dropped", or ""
    error: str | None
    note: str | None  # where a redirect sent the browser
    red: bool
    dashed: bool
    tooltip: str


def sequence_svg(scenario: ScenarioResult, *, max_arrows: int = MAX_ARROWS) -> str:
    """The scenario's journal as an inline ``<svg>`` element (a string, all text escaped).

    Each arrow is a ``<g class="hop …" data-seq="N">``; at most ``max_arrows`` are drawn,
    the rest are counted in a note at the bottom."""
    hub = hub_id(scenario)
    pairs = exchanges(scenario.journal, _EXCHANGED)
    requests = {answer["seq"]: request for request, answer in pairs}
    arrows = [
        a for e in scenario.journal if (a := arrow_for(e, hub, requests.get(e["seq"]))) is not None
    ]
    lifelines = lifelines_of(scenario, arrows, hub)
    drawn = arrows[:max_arrows]
    width = GUTTER + COLUMN * len(lifelines)
    height = TOP + ROW * len(drawn) + (24 if len(arrows) > len(drawn) else 0)
    svg = _svg(width, height, scenario.title)
    x = {line.key: GUTTER + COLUMN * i + COLUMN // 2 for i, line in enumerate(lifelines)}
    for line in lifelines:
        _draw_lifeline(svg, line, x[line.key], height)
    for row, arrow in enumerate(drawn):
        _draw_arrow(svg, arrow, x[arrow.source], x[arrow.destination], TOP + ROW * row)
    if len(arrows) > len(drawn):
        note = f"{len(arrows) - len(drawn)} more hops not drawn"
        _text(svg, GUTTER, height - 10, note, **{"class": "more", "fill": RED})
    return ET.tostring(svg, encoding="unicode")


def arrow_for(
    entry: dict[str, Any], hub: str, request: dict[str, Any] | None = None
) -> Arrow | None:
    """The arrow a journal entry draws, or None (an accepted ``received`` hop, an XS2A or
    UK request: its answer draws the exchange). ``request``: the request ``entry``
    answers."""
    hop = str(entry.get("hop"))
    status = entry.get("status")
    rejected = hop == "received" and isinstance(status, int) and status >= 400
    exchanged = entry.get("dialect") in _EXCHANGED
    if (hop not in _DRAWN_HOPS and not rejected) or (exchanged and hop == "received"):
        return None
    path, error = str(entry.get("path", "")), entry.get("error")
    failed = isinstance(status, int) and status >= 400
    source, destination = str(entry.get("source") or hub), _destination(entry, hub)
    if exchanged and hop == "sent":  # the bank's answer: drawn as the TPP's request
        source, destination = destination, source
    redirect = entry.get("redirect")
    return Arrow(
        seq=int((request or entry).get("seq", 0)),
        source=source,
        destination=hub if rejected else destination,
        method=str(entry.get("method", "")),
        path=path,
        status=f"→ {status}" if status is not None else ("dropped" if hop == "dropped" else ""),
        error=str(error) if error else None,
        note=f"to {redirect}" if redirect else None,
        red=failed or bool(error) or hop == "dropped" or path.rstrip("/").endswith("/error"),
        dashed=hop == "out-of-band",
        tooltip=tooltip(entry, hub) if request is None else exchange_tooltip(request, entry),
    )


def _destination(entry: dict[str, Any], hub: str) -> str:
    if entry.get("hop") == "out-of-band":
        return PSU if entry.get("dialect") in _EXCHANGED else USER
    return str(entry.get("destination") or hub)


def lifelines_of(scenario: ScenarioResult, arrows: list[Arrow], hub: str) -> list[Lifeline]:
    """The diagram's columns, left to right, for ``arrows`` (every arrow, drawn or not)."""
    ends = {key for arrow in arrows for key in (arrow.source, arrow.destination)}
    clients = {p.fsp_id for p in scenario.participants if p.kind in _CLIENTS}
    idle = clients - ends if clients & ends else set()
    listed = sorted(
        (p for p in scenario.participants if p.fsp_id not in idle),
        key=lambda p: _KIND_ORDER.get(p.kind, len(_KIND_ORDER)),
    )
    lines = [
        Lifeline(
            p.fsp_id,
            p.fsp_id,
            f"{p.kind} · {'simulated' if p.simulated else 'external'}",
            external=not p.simulated,
        )
        for p in listed
    ]
    known = {line.key for line in lines} | {USER, PSU}
    for arrow in arrows:
        for key in (arrow.source, arrow.destination):
            if key not in known:
                known.add(key)
                lines.append(Lifeline(key, key, "not in the scheme"))
    users = {
        str(e.get("destination"))
        for e in scenario.journal
        if e.get("hop") == "out-of-band" and _destination(e, hub) == USER
    }
    if users:
        lines.append(Lifeline(USER, "user", "out of band: " + ", ".join(sorted(users))))
    if PSU in ends:
        lines.append(Lifeline(PSU, "psu", "the PSU's browser"))
    return lines


def exchange_tooltip(request: dict[str, Any], answer: dict[str, Any]) -> str:
    """Everything about an XS2A or UK exchange: the request and the bank's answer."""
    lines = [
        f"#{request.get('seq')} received, #{answer.get('seq')} answered at {answer.get('at')}",
        f"{request.get('method')} {request.get('path')}",
        f"{request.get('source')} → {request.get('destination')}, status {answer.get('status')}",
    ]
    if request.get("error"):
        lines.append(f"error: {request['error']}")
    lines.append("correlation ids: " + (", ".join(answer.get("correlation_ids") or []) or "none"))
    for name, entry in (("request", request), ("answer", answer)):
        lines.append(f"{name} headers: " + json.dumps(entry.get("headers") or {}, default=str))
        if entry.get("body") is not None:
            lines.append(f"{name} body:\n" + _body(entry["body"]))
    return "\n".join(lines)


def tooltip(entry: dict[str, Any], hub: str) -> str:
    """Everything about one hop, for the arrow's ``<title>``."""
    duration = entry.get("duration_ms")
    lines = [
        f"#{entry.get('seq')} {entry.get('hop')} at {entry.get('at')}"
        + (f" ({duration:g} ms)" if isinstance(duration, int | float) else ""),
        f"{entry.get('method')} {entry.get('path')}",
        f"{entry.get('source') or hub} → {entry.get('destination') or hub}"
        + (f", status {entry['status']}" if entry.get("status") is not None else ""),
    ]
    if entry.get("error"):
        lines.append(f"error: {entry['error']}")
    lines.append("correlation ids: " + (", ".join(entry.get("correlation_ids") or []) or "none"))
    if entry.get("redirect"):
        lines.append(f"redirect: {entry['redirect']}")
    if entry.get("body") is not None:
        lines.append("body:\n" + _body(entry["body"]))
    return "\n".join(lines)


def _body(body: Any) -> str:
    return shorten(json.dumps(body, indent=2, ensure_ascii=False, default=str), BODY_LIMIT)


# -- drawing -------------------------------------------------------------------------------


def _svg(width: int, height: int, title: str) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "class": "sequence",
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            "font-family": "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
            "font-size": "11",
            "role": "img",
        },
    )
    ET.SubElement(svg, "title").text = clean(f"Sequence diagram: {title}")
    return svg


def _text(parent: ET.Element, x: float, y: float, text: str, **attributes: str) -> ET.Element:
    """A text with a white halo, so that it stays legible where it crosses a lifeline."""
    halo = {"stroke": "#fff", "stroke-width": "3", "paint-order": "stroke"}
    element = ET.SubElement(parent, "text", {"x": f"{x:g}", "y": f"{y:g}", **halo, **attributes})
    element.text = clean(text)
    return element


def _draw_lifeline(svg: ET.Element, line: Lifeline, x: int, height: int) -> None:
    group = ET.SubElement(svg, "g", {"class": "lifeline"})
    ET.SubElement(group, "title").text = clean(f"{line.name} ({line.caption})")
    ET.SubElement(
        group,
        "line",
        {
            "x1": str(x),
            "y1": "46",
            "x2": str(x),
            "y2": str(height - 4),
            "stroke": "#b0bec5",
            "stroke-dasharray": "4 4",
        },
    )
    ET.SubElement(
        group,
        "rect",
        {
            "x": str(x - COLUMN // 2 + 10),
            "y": "8",
            "width": str(COLUMN - 20),
            "height": "38",
            "rx": "4",
            "fill": "#fff4e0" if line.external else "#eef3f8",
            "stroke": "#90a4ae",
        },
    )
    chars = int((COLUMN - 30) / CHAR)
    name = ellipsize_middle(line.name, int(chars / 1.2))
    _text(group, x, 24, name, **{"text-anchor": "middle", "font-size": "13", "font-weight": "bold"})
    _text(
        group, x, 39, shorten(line.caption, chars), **{"text-anchor": "middle", "fill": "#546e7a"}
    )


def _draw_arrow(svg: ET.Element, arrow: Arrow, x1: int, x2: int, y: int) -> None:
    classes = "hop" + (" err" if arrow.red else "") + (" oob" if arrow.dashed else "")
    group = ET.SubElement(svg, "g", {"class": classes, "data-seq": str(arrow.seq)})
    ET.SubElement(group, "title").text = clean(arrow.tooltip)
    color = RED if arrow.red else MUTED if arrow.dashed else INK
    stroke = {"stroke": color, "stroke-width": "1.5", "fill": "none"}
    if arrow.dashed:
        stroke["stroke-dasharray"] = "6 4"
    _text(group, GUTTER - 8, y + 4, f"#{arrow.seq}", **{"text-anchor": "end", "fill": "#78909c"})
    if x1 == x2:
        path = f"M{x1} {y - 6} h28 v14 h-26"
        ET.SubElement(group, "path", {"d": path, **stroke})
        _head(group, x1, y + 8, -1, color)
        _labels(group, arrow, x1 + 34, y, COLUMN // 2 - 40, "start", color)
        return
    direction = 1 if x2 > x1 else -1
    ET.SubElement(
        group,
        "line",
        {"x1": str(x1), "y1": str(y), "x2": str(x2 - 2 * direction), "y2": str(y), **stroke},
    )
    _head(group, x2, y, direction, color)
    _labels(group, arrow, (x1 + x2) / 2, y, abs(x2 - x1) - 8, "middle", color)


def _head(group: ET.Element, x: int, y: int, direction: int, color: str) -> None:
    back = x - 9 * direction
    points = f"{x},{y} {back},{y - 4} {back},{y + 4}"
    ET.SubElement(group, "polygon", {"points": points, "fill": color})


def _labels(
    group: ET.Element, arrow: Arrow, x: float, y: int, width: int, anchor: str, color: str
) -> None:
    """``METHOD path`` above the arrow, the answer and error below, both cut to ``width``."""
    chars = max(int(width / CHAR), 24)
    path = ellipsize_middle(arrow.path, max(chars - len(arrow.method) - 1, 12))
    _text(group, x, y - 6, f"{arrow.method} {path}", **{"text-anchor": anchor, "fill": color})
    answer = " · ".join(part for part in (arrow.status, arrow.note, arrow.error) if part)
    if answer:
        attributes = {"text-anchor": anchor, "fill": color, "font-size": "10"}
        _text(group, x, y + 14, shorten(answer, int(chars * 1.1)), **attributes)
