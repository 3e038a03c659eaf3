"""What a scenario's sequence diagram shows, whatever draws it (the report's SVG, the
Mermaid text): its lifelines, its arrows, and which of them the scenario failed on.

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

An arrow is red when its status is >= 400, it has an error, it was dropped, or it is an
``/error`` callback. It is *failing* when a failure or a conformance violation of the
scenario names its message; an expected message that never came is listed as *missing*.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tpsim.scenario.conformance import OBIE, XS2A, exchanges
from tpsim.scenario.expectations import described_seq
from tpsim.scenario.reports.text import hub_id, shorten
from tpsim.scenario.results import FailureKind, ScenarioResult

BODY_LIMIT = 2000
USER = "(user)"  # the key of the user lifeline: never an fsp id
PSU = "(psu)"  # the key of the PSU's (browser's) lifeline
_KIND_ORDER = {"pisp": 0, "tpp": 0, "hub": 1, "dfsp": 2, "auth-service": 3}
_CLIENTS = {"pisp", "tpp"}
_DRAWN_HOPS = {"delivered", "sent", "dropped", "out-of-band"}
# HTTP APIs answered synchronously: request + answer, one arrow.
_EXCHANGED = (XS2A, OBIE, "stet")


@dataclass(frozen=True, slots=True)
class Lifeline:
    key: str
    name: str
    caption: str
    external: bool = False


@dataclass(frozen=True, slots=True, eq=False)
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
    entry: dict[str, Any]  # the hop drawn (of an exchange: the bank's answer)
    request: dict[str, Any] | None = None  # of an exchange: the request it answers
    hub: str = "hub"

    @property
    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        """The journal entries behind the arrow, named: an exchange's request and answer,
        else the one hop."""
        if self.request is None:
            return [("", self.entry)]
        return [("request", self.request), ("answer", self.entry)]

    @property
    def tooltip(self) -> str:
        """Everything about the arrow's message, bodies included (a standalone SVG's
        ``<title>``)."""
        if self.request is None:
            return tooltip(self.entry, self.hub)
        return exchange_tooltip(self.request, self.entry)

    @property
    def summary(self) -> str:
        """The arrow in two or three lines, without times, headers or bodies: what the
        report's ``<title>`` and the heading of its hop details say."""
        entry = self.entry
        hop = "exchange" if self.request is not None else str(entry.get("hop"))
        facts = [
            f"{self.source} → {self.destination}",
            hop,
            *([self.status] if self.status else []),
        ]
        lines = [f"#{self.seq} {self.method} {self.path}", " · ".join(facts)]
        if self.error:
            lines.append(f"error: {self.error}")
        if entry.get("redirect"):
            lines.append(f"redirect: {entry['redirect']}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Diagram:
    """A scenario's diagram, before any drawing."""

    title: str
    lifelines: list[Lifeline]
    arrows: list[Arrow]  # every arrow (a drawing may draw fewer)
    failing: frozenset[int]  # the seqs of the arrows a failure or violation names
    missing: list[str]  # the expected messages that never came, as their failures say


def diagram(scenario: ScenarioResult) -> Diagram:
    """The diagram of ``scenario``'s journal."""
    hub = hub_id(scenario)
    pairs = exchanges(scenario.journal, _EXCHANGED)
    requests = {answer["seq"]: request for request, answer in pairs}
    arrows = [
        a for e in scenario.journal if (a := arrow_for(e, hub, requests.get(e["seq"]))) is not None
    ]
    missing = [f.message for f in scenario.failures if f.kind is FailureKind.NOT_RECEIVED]
    return Diagram(
        scenario.title,
        lifelines_of(scenario, arrows, hub),
        arrows,
        failing_arrows(scenario, arrows),
        missing,
    )


def failing_arrows(scenario: ScenarioResult, arrows: list[Arrow]) -> frozenset[int]:
    """The seqs of the arrows whose messages the scenario's failures and violations name.
    A violation of a message tpsim accepted names its ``received`` hop, which no arrow
    draws: its arrow is the next one with the same method and path (the hop that
    delivered it)."""
    named = {v.seq for v in scenario.violations}
    named |= {seq for f in scenario.failures if (seq := described_seq(f.actual)) is not None}
    drawn = {entry["seq"]: a.seq for a in arrows for _, entry in a.messages}
    entries = {e["seq"]: e for e in scenario.journal}
    found: set[int] = set()
    for seq in named:
        if seq in drawn:
            found.add(drawn[seq])
        elif (after := _delivered_after(entries.get(seq), arrows)) is not None:
            found.add(after)
    return frozenset(found)


def _delivered_after(entry: dict[str, Any] | None, arrows: list[Arrow]) -> int | None:
    if entry is None:
        return None
    same = (entry.get("method"), entry.get("path"))
    return next(
        (a.seq for a in arrows if a.seq > entry["seq"] and (a.method, a.path) == same), None
    )


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
        note=_note(redirect, entry.get("rule")),
        red=failed or bool(error) or hop == "dropped" or path.rstrip("/").endswith("/error"),
        dashed=hop == "out-of-band",
        entry=entry,
        request=request,
        hub=hub,
    )


def _note(redirect: object, rule: object) -> str | None:
    """The arrow's small print: where a browser was sent, and the message rule (config
    ``rules:``) that changed what happened to the hop (issue 15)."""
    parts = [f"to {redirect}" if redirect else "", f"rule {rule}" if rule else ""]
    return " · ".join(part for part in parts if part) or None


def _destination(entry: dict[str, Any], hub: str) -> str:
    if entry.get("hop") == "out-of-band":
        return PSU if entry.get("dialect") in _EXCHANGED else USER
    return str(entry.get("destination") or hub)


def when(entry: dict[str, Any]) -> str:
    """When a hop happened, and how long its receiver took to answer."""
    took = _took(entry)
    return str(entry.get("at") or "") + (f" ({took})" if took else "")


def _took(entry: dict[str, Any]) -> str:
    duration = entry.get("duration_ms")
    return f"{duration:g} ms" if isinstance(duration, int | float) else ""


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
    lines = [
        f"#{entry.get('seq')} {entry.get('hop')} at {when(entry)}",
        f"{entry.get('method')} {entry.get('path')}",
        f"{entry.get('source') or hub} → {entry.get('destination') or hub}"
        + (f", status {entry['status']}" if entry.get("status") is not None else ""),
    ]
    if entry.get("error"):
        lines.append(f"error: {entry['error']}")
    if entry.get("rule"):
        lines.append(f"rule: {entry['rule']}")
    lines.append("correlation ids: " + (", ".join(entry.get("correlation_ids") or []) or "none"))
    if entry.get("redirect"):
        lines.append(f"redirect: {entry['redirect']}")
    if entry.get("body") is not None:
        lines.append("body:\n" + _body(entry["body"]))
    return "\n".join(lines)


def _body(body: Any) -> str:
    return shorten(json.dumps(body, indent=2, ensure_ascii=False, default=str), BODY_LIMIT)
