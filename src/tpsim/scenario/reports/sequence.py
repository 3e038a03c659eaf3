"""A scenario's sequence diagram (``diagram.py``) drawn as SVG, for the HTML report.

Lanes are narrow (``COLUMN``; a lifeline no arrow touches, just its name box) because
labels need not fit between two lifelines: each arrow has a row of its own, so its label
is centred on it and may run across other lanes (a white halo keeps it legible), shifted
to stay inside the drawing and cut in the middle past ``LABEL_CHARS``. Text is monospace
so that a label's width is known without a browser. The page scales the drawing down to
its width (``viewBox``) rather than cutting it.

Each arrow is a ``<g class="hop …" data-seq="N">`` (``err``: red; ``oob``: dashed, out of
band; ``fail``: a failure of the scenario names its message, marked with a band across
the diagram). An expected message that never came is a red line of text at the bottom.
Colours and fonts are CSS classes (``SVG_STYLE``), once per page rather than once per
element; a standalone SVG carries the style itself, and every message's bodies in its
arrows' ``<title>``, which the report keeps in its hop details instead.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tpsim.scenario.reports.diagram import (
    PSU,
    USER,
    Arrow,
    Diagram,
    Lifeline,
    arrow_for,
    diagram,
    exchange_tooltip,
    lifelines_of,
    tooltip,
)
from tpsim.scenario.reports.text import clean, ellipsize_middle, shorten
from tpsim.scenario.results import ScenarioResult

__all__ = [
    "PSU",
    "SVG_STYLE",
    "USER",
    "arrow_for",
    "draw",
    "exchange_tooltip",
    "lifelines_of",
    "sequence_svg",
    "tooltip",
]

MAX_ARROWS = 500

# Geometry, in px.
GUTTER = 48  # the seq numbers' column
COLUMN = 180  # the lane of a lifeline an arrow touches
IDLE_COLUMN = 120  # a lane no arrow touches, unless its name box needs more
MAX_COLUMN = 260  # a name box wider than this is cut
LABEL_CHARS = 72  # a longer label is cut in the middle (the whole is in its title)
HEAD = 64  # the lifelines' name boxes
ROW = 40
TOP = HEAD + 24  # the first arrow's y
NOTE_ROW = 20  # a line of text under the arrows
CHAR = 6.7  # the advance of an 11px monospace glyph
MIN_SCALE = 0.7  # the report shrinks a diagram to its width, down to this

SVG_STYLE = """\
.sequence text{fill:#37474f;stroke:#fff;stroke-width:3px;paint-order:stroke}
.sequence .c{text-anchor:middle}.sequence .n{text-anchor:end;fill:#78909c}
.sequence .a{font-size:10px}.sequence .name{font-size:13px;font-weight:bold}
.sequence .cap{fill:#546e7a}
.sequence .lifeline line{stroke:#b0bec5;stroke-dasharray:4 4}
.sequence .lifeline rect{fill:#eef3f8;stroke:#90a4ae}.sequence .lifeline rect.ext{fill:#fff4e0}
.sequence .hop line,.sequence .hop path{stroke:#37474f;stroke-width:1.5;fill:none}
.sequence .hop polygon{fill:#37474f}
.sequence .oob line,.sequence .oob path{stroke:#6a1b9a}
.sequence .oob polygon,.sequence .oob text:not(.n){fill:#6a1b9a}
.sequence .err line,.sequence .err path{stroke:#c62828}
.sequence .err polygon,.sequence .err text:not(.n){fill:#c62828}
.sequence .hop rect.mark{fill:#ffcdd2;stroke:none}
.sequence .fail .n{fill:#b71c1c;font-weight:bold}
.sequence .more,.sequence .missing{fill:#c62828}
"""


def sequence_svg(
    scenario: ScenarioResult, *, max_arrows: int = MAX_ARROWS, standalone: bool = True
) -> str:
    """The scenario's journal as an inline ``<svg>`` element (a string, all text escaped).

    At most ``max_arrows`` arrows are drawn, the rest are counted in a note at the bottom.
    ``standalone``: the SVG carries its style and each arrow's ``<title>`` the whole
    message (headers, bodies); otherwise the page styles it (``SVG_STYLE``) and titles
    are the arrows' summaries (the report shows bodies in its hop details)."""
    return draw(diagram(scenario), max_arrows=max_arrows, standalone=standalone)


def draw(d: Diagram, *, max_arrows: int = MAX_ARROWS, standalone: bool = True) -> str:
    """``sequence_svg`` of a diagram already made (the report draws it and lists its
    hops)."""
    return ET.tostring(_draw(d, max_arrows, standalone), encoding="unicode")


def _draw(d: Diagram, max_arrows: int, standalone: bool) -> ET.Element:
    drawn = d.arrows[:max_arrows]
    more = len(d.arrows) - len(drawn)
    lanes = lane_widths(d.lifelines, drawn)
    width = GUTTER + sum(lanes)
    notes_top = TOP + ROW * len(drawn) - ROW // 2
    height = notes_top + NOTE_ROW * (len(d.missing) + (1 if more else 0)) + 8
    svg = _svg(width, height, d.title, standalone)
    x: dict[str, int] = {}
    left = GUTTER
    for line, lane in zip(d.lifelines, lanes, strict=True):
        x[line.key] = left + lane // 2
        _draw_lifeline(svg, line, x[line.key], lane, height)
        left += lane
    for row, arrow in enumerate(drawn):
        y = TOP + ROW * row
        title = arrow.tooltip if standalone else arrow.summary
        ends = (x[arrow.source], x[arrow.destination])
        _draw_arrow(svg, arrow, ends, y, title, width, arrow.seq in d.failing)
    notes = [f"✗ {m}" for m in d.missing]
    if more:
        notes.append(f"{more} more hops not drawn")
    for row, note in enumerate(notes):
        y = notes_top + NOTE_ROW * (row + 1)
        kind = "more" if note.endswith("not drawn") else "missing"
        _text(svg, GUTTER, y, shorten(note, int((width - GUTTER) / CHAR)), kind)
    return svg


def lane_widths(lifelines: list[Lifeline], arrows: list[Arrow]) -> list[int]:
    """Each lifeline's lane: ``COLUMN`` for one an arrow touches, ``IDLE_COLUMN`` for one
    none does, or what its name box needs if more."""
    active = {key for a in arrows for key in (a.source, a.destination)}
    return [
        max(COLUMN if line.key in active else IDLE_COLUMN, _box_width(line)) for line in lifelines
    ]


def _box_width(line: Lifeline) -> int:
    """The lane a lifeline's name (bold 13 px: 1.2 glyphs of 11 px) and caption fit in
    uncut, up to ``MAX_COLUMN``."""
    chars = max(len(line.name) * 1.2, len(line.caption))
    return min(MAX_COLUMN, int(chars * CHAR + 30 + CHAR) + 1)


# -- drawing -------------------------------------------------------------------------------


def _svg(width: int, height: int, title: str, standalone: bool) -> ET.Element:
    attributes = {
        "xmlns": "http://www.w3.org/2000/svg",
        "class": "sequence",
        "width": str(width),
        "height": str(height),
        "viewBox": f"0 0 {width} {height}",
        "font-family": "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
        "font-size": "11",
        "role": "img",
    }
    if not standalone:  # the page scales it to its width, down to MIN_SCALE
        attributes["style"] = f"min-width:{int(width * MIN_SCALE)}px"
    svg = ET.Element("svg", attributes)
    ET.SubElement(svg, "title").text = clean(f"Sequence diagram: {title}")
    if standalone:
        ET.SubElement(svg, "style").text = SVG_STYLE
    return svg


def _text(parent: ET.Element, x: float, y: float, text: str, classes: str = "") -> ET.Element:
    """A text (with a white halo, from the style, so that it stays legible where it
    crosses a lifeline)."""
    attributes = {"x": f"{x:g}", "y": f"{y:g}"}
    if classes:
        attributes["class"] = classes
    element = ET.SubElement(parent, "text", attributes)
    element.text = clean(text)
    return element


def _draw_lifeline(svg: ET.Element, line: Lifeline, x: int, lane: int, height: int) -> None:
    group = ET.SubElement(svg, "g", {"class": "lifeline"})
    ET.SubElement(group, "title").text = clean(f"{line.name} ({line.caption})")
    ends = {"x1": str(x), "y1": "46", "x2": str(x), "y2": str(height - 4)}
    ET.SubElement(group, "line", ends)
    box = {"x": str(x - lane // 2 + 10), "y": "8", "width": str(lane - 20), "height": "38"}
    ET.SubElement(group, "rect", {**box, "rx": "4", **({"class": "ext"} if line.external else {})})
    chars = int((lane - 30) / CHAR)
    _text(group, x, 24, ellipsize_middle(line.name, int(chars / 1.2)), "c name")
    _text(group, x, 39, shorten(line.caption, chars), "c cap")


def _draw_arrow(
    svg: ET.Element, arrow: Arrow, ends: tuple[int, int], y: int, title: str, right: int, fail: bool
) -> None:
    """One arrow from ``ends[0]`` to ``ends[1]`` in a drawing ``right`` wide; ``fail``: a
    failure names its message, marked with a band across the drawing."""
    x1, x2 = ends
    flags = (("err", arrow.red), ("oob", arrow.dashed), ("fail", fail))
    classes = " ".join(["hop", *(name for name, on in flags if on)])
    group = ET.SubElement(svg, "g", {"class": classes, "data-seq": str(arrow.seq)})
    ET.SubElement(group, "title").text = clean(title)
    if fail:
        band = {"x": "0", "y": str(y - ROW // 2), "width": str(right), "height": str(ROW)}
        ET.SubElement(group, "rect", {"class": "mark", **band})
    _text(group, GUTTER - 8, y + 4, f"#{arrow.seq}", "n")
    dashes = {"stroke-dasharray": "6 4"} if arrow.dashed else {}
    if x1 == x2:
        ET.SubElement(group, "path", {"d": f"M{x1} {y - 6} h28 v14 h-26", **dashes})
        _head(group, x1, y + 8, -1)
        _labels(group, arrow, x1 + 34, y, "", right)
        return
    direction = 1 if x2 > x1 else -1
    line = {"x1": str(x1), "y1": str(y), "x2": str(x2 - 2 * direction), "y2": str(y)}
    ET.SubElement(group, "line", {**line, **dashes})
    _head(group, x2, y, direction)
    _labels(group, arrow, (x1 + x2) / 2, y, "c", right)


def _head(group: ET.Element, x: int, y: int, direction: int) -> None:
    back = x - 9 * direction
    ET.SubElement(group, "polygon", {"points": f"{x},{y} {back},{y - 4} {back},{y + 4}"})


def _labels(group: ET.Element, arrow: Arrow, x: float, y: int, anchor: str, right: int) -> None:
    """``METHOD path`` above the arrow, the answer and error below: centred on ``x``
    (``anchor`` "c") or starting there, shifted to stay between the seq numbers and
    ``right``, and cut to fit."""
    chars = min(LABEL_CHARS, int((right - GUTTER - 8) / CHAR))
    path = ellipsize_middle(arrow.path, max(chars - len(arrow.method) - 1, 12))
    label = f"{arrow.method} {path}"
    answer = shorten(" · ".join(p for p in (arrow.status, arrow.note, arrow.error) if p), chars)
    width = max(len(label), len(answer)) * CHAR
    if anchor:
        x = min(max(x, GUTTER + 4 + width / 2), right - 4 - width / 2)
    else:
        x = max(min(x, right - 4 - width), GUTTER + 4)
    _text(group, x, y - 6, label, anchor)
    if answer:
        _text(group, x, y + 14, answer, f"{anchor} a".strip())
