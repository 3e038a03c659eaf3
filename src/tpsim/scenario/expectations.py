"""Matching journal entries against a step's expected messages (sans-IO).

A *message* is a journal entry that reached (or tried to reach) its receiver: a hop
``delivered``, ``sent`` or ``dropped`` (by the switch: not one a rule dropped, which its
participant never sent), or a ``received`` one that tpsim's edge rejected (it goes no
further). An expected message is *addressed* to an entry when the method, the
path template and the sender/receiver fit; it *matches* when its body, error code, headers
and status hold too. What a step waited for and did not get is either not received at all
(``NOT_RECEIVED``) or received but different (``ASSERTION``, with what differed).

A step stops waiting as soon as its verdict is known (``stop_reason``): when a message an
expectation is addressed to arrived and does not match (a journaled message does not
change, so waiting out the deadline cannot help), or when the external participant under
test broke off (tpsim refused its message, or it refused tpsim's: a conformance failure
whatever follows, and the conversation goes no further).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tpsim.scenario.attribution import sent_by
from tpsim.scenario.base import ExpectMessage
from tpsim.scenario.results import Failure, FailureKind

MESSAGE_HOPS = ("delivered", "sent", "dropped")
_REGEX_PREFIX = "re:"
ABSENT = "<absent>"  # as an expected value: the key must not be there
ANY = "<any>"  # as an expected value: the key must be there, with any value
_DESCRIBED = re.compile(r"#(\d+) [A-Z]")  # how describe() starts: seq, then the method


def is_message(entry: dict[str, Any]) -> bool:
    if entry["hop"] == "dropped" and entry.get("rule"):
        return False  # a rule's drop: the participant never sent it (``absent`` holds)
    if entry["hop"] in MESSAGE_HOPS:
        return True
    return entry["hop"] == "received" and (entry.get("status") or 0) >= 400


def path_fits(template: str, path: str) -> bool:
    """``{…}`` segments of ``template`` match any one non-empty segment of ``path``."""
    wanted, actual = template.split("/"), path.split("?", 1)[0].split("/")
    if len(wanted) != len(actual):
        return False
    return all(
        bool(seg) if part.startswith("{") and part.endswith("}") else part == seg
        for part, seg in zip(wanted, actual, strict=True)
    )


def addressed(expected: ExpectMessage, entry: dict[str, Any], pisp_id: str) -> bool:
    if entry["method"] != expected.method or not path_fits(expected.path, entry["path"]):
        return False
    if expected.from_ is not None and entry["source"] != expected.from_:
        return False
    receiver = expected.to if expected.to is not None or expected.from_ else pisp_id
    return receiver is None or _receiver(entry) == receiver


def header(entry: dict[str, Any], name: str) -> str | None:
    """The value of header ``name`` of a journal entry, the name in any case: the journal
    keeps custom header names as they were sent (``fspiop-destination``)."""
    headers: Mapping[str, str] = entry["headers"]
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _receiver(entry: dict[str, Any]) -> str | None:
    if entry["hop"] == "received":  # rejected at the edge: it never left the switch
        return str(header(entry, "FSPIOP-Destination") or "") or None
    destination = entry.get("destination")
    return str(destination) if destination else None


def differences(expected: ExpectMessage, entry: dict[str, Any]) -> list[str]:
    """Why an addressed entry does not match (empty: it matches)."""
    found: list[str] = []
    body = entry.get("body")
    if expected.body is not None:
        found += contained(expected.body, body, "body")
    if expected.error is not None:
        code = error_code(body)
        if code != expected.error:
            found.append(f"errorCode: expected {expected.error}, got {code or 'no error'}")
    if expected.headers is not None:
        found += header_problems(expected.headers, entry["headers"])
    status = entry.get("status")
    if expected.status is not None and status != expected.status:
        found.append(f"status: expected {expected.status}, got {status}")
    elif expected.status is None and entry["hop"] == "received":
        found.append(f"tpsim rejected it with {status}: {entry.get('error') or ''}".rstrip(": "))
    elapsed = entry.get("duration_ms")
    if expected.answered_within is not None and (
        elapsed is None or elapsed > expected.answered_within * 1000
    ):
        found.append(
            f"answered in {elapsed} ms, over the {expected.answered_within * 1000:g} ms allowed"
        )
    return found


def contained(expected: Any, actual: Any, where: str) -> list[str]:
    """Where ``actual`` does not contain ``expected`` (mappings: a subset, ``<absent>`` for a
    key that must not be there, ``<any>`` for one that must; lists: the same length, item
    by item; strings ``re:…``: a regular expression; scalars: equal as text)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected a mapping, got {_short(actual)}"]
        problems: list[str] = []
        for key, value in expected.items():
            if value == ABSENT:
                if key in actual:
                    problems.append(f"{where}.{key}: must be absent, got {_short(actual[key])}")
            elif key not in actual:
                problems.append(f"{where}.{key}: missing (expected {_short(value)})")
            elif value != ANY:
                problems += contained(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {_short(expected)}, got {_short(actual)}"]
        return [
            problem
            for index, (want, got) in enumerate(zip(expected, actual, strict=True))
            for problem in contained(want, got, f"{where}[{index}]")
        ]
    if scalar_fits(expected, actual):
        return []
    return [f"{where}: expected {_short(expected)}, got {_short(actual)}"]


def header_problems(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    """Which ``expected`` headers ``actual`` lacks or holds otherwise (names in any case,
    values as ``scalar_fits`` compares them)."""
    held = {name.lower(): value for name, value in actual.items()}
    problems = []
    for name, value in expected.items():
        got = held.get(name.lower())
        if not scalar_fits(value, got):
            problems.append(f"header {name}: expected {value!r}, got {got!r}")
    return problems


def scalar_fits(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) and expected.startswith(_REGEX_PREFIX):
        return actual is not None and re.fullmatch(expected[3:], str(actual)) is not None
    if expected is None or actual is None or isinstance(expected, bool):
        return bool(expected == actual)
    return str(expected) == str(actual)


def error_code(body: Any) -> str | None:
    """The error code of an answer or message body: FSPIOP's ``errorInformation.errorCode``,
    else XS2A's first ``tppMessages`` code, else UK Open Banking's first ``Errors``
    ``ErrorCode`` of an ``OBErrorResponse1`` (the one tpsim's banks put the refusal in; a
    scenario names any other with ``body``), else STET's ``ErrorModel`` ``error``."""
    if not isinstance(body, dict):
        return None
    information = body.get("errorInformation")
    if isinstance(information, dict) and information.get("errorCode") is not None:
        return str(information["errorCode"])
    for listed, key in (("tppMessages", "code"), ("Errors", "ErrorCode")):
        messages = body.get(listed)
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            code = messages[0].get(key)
            return None if code is None else str(code)
    if isinstance(body.get("status"), int) and isinstance(body.get("error"), str):
        return str(body["error"])  # STET's ErrorModel
    return None


@dataclass(slots=True)
class Assignment:
    """Which entry each expected message took (``None``: not yet)."""

    entries: list[dict[str, Any] | None]

    @property
    def complete(self) -> bool:
        return all(e is not None for e in self.entries)

    @property
    def taken(self) -> set[int]:
        return {e["seq"] for e in self.entries if e is not None}


def assign(
    expected: Sequence[ExpectMessage],
    entries: Sequence[dict[str, Any]],
    *,
    pisp_id: str,
    ordered: bool,
    consumed: set[int],
) -> Assignment:
    """Each expected message takes the earliest matching entry no other has taken (after
    the previous one's, when ``ordered``)."""
    taken = set(consumed)
    chosen: list[dict[str, Any] | None] = []
    after = 0
    for wanted in expected:
        found = next(
            (
                e
                for e in entries
                if e["seq"] not in taken
                and (not ordered or e["seq"] > after)
                and addressed(wanted, e, pisp_id)
                and not differences(wanted, e)
            ),
            None,
        )
        chosen.append(found)
        if found is not None:
            taken.add(found["seq"])
            after = found["seq"]
    return Assignment(chosen)


@dataclass(frozen=True, slots=True)
class Stop:
    """Why a step stopped waiting before its deadline: ``seq``, the journal entry that
    settled its verdict (None: no entry did, nothing more could arrive), and ``reason``
    in words."""

    seq: int | None
    reason: str


def stop_reason(
    expected: Sequence[ExpectMessage],
    entries: Sequence[dict[str, Any]],
    assignment: Assignment,
    *,
    pisp_id: str,
    consumed: set[int],
    checked: str | None = None,
    others: Collection[str] | None = None,
) -> Stop | None:
    """Why waiting longer for ``expected`` cannot change the step's verdict, or None.

    An expected message still missing has an entry addressed to it that no other
    expectation took and that does not match: it differs or came out of order, and it
    will not change. Or ``checked``, the external participant under test (whose messages
    the conformance checks hold to the API), broke off (``broken_off``; ``others``: the
    other external participants): the scenario fails whatever follows, and the
    conversation goes no further from that message."""
    taken = consumed | assignment.taken
    for wanted, entry in zip(expected, assignment.entries, strict=True):
        near = None if entry is not None else _first_addressed(wanted, entries, pisp_id, taken)
        if near is not None:
            return Stop(near["seq"], f"{_route(near)} arrived and does not match {wanted.label}")
    if checked is None:
        return None
    for entry in entries:
        reason = None if entry["seq"] in taken else broken_off(entry, checked, others)
        if reason is not None:
            return Stop(entry["seq"], reason)
    return None


def broken_off(
    entry: dict[str, Any], participant: str, others: Collection[str] | None = None
) -> str | None:
    """How ``entry`` ended ``participant``'s part in its conversation, or None: tpsim's
    edge refused its message (its by ``attribution.sent_by``, ``others`` the other external
    participants), or it refused (or did not answer) tpsim's. Either is a conformance
    violation of the participant under test."""
    status = entry.get("status")
    if sent_by(entry, participant, others):
        # A rule's refusal at once (``sync: true``) is the scenario's, not a breach.
        if (status or 0) >= 400 and not entry.get("rule"):
            return f"{participant}'s {_route(entry)} was refused ({status})"
    elif entry["hop"] == "sent" and entry.get("destination") == participant:
        if (status or 0) >= 400:
            return f"{participant} answered {_route(entry)} with {status}"
        if status is None and entry.get("error"):
            return f"{participant} did not answer {_route(entry)} ({entry['error']})"
    return None


def _first_addressed(
    wanted: ExpectMessage, entries: Sequence[dict[str, Any]], pisp_id: str, taken: set[int]
) -> dict[str, Any] | None:
    return next(
        (e for e in entries if e["seq"] not in taken and addressed(wanted, e, pisp_id)), None
    )


def _route(entry: dict[str, Any]) -> str:
    return f"#{entry['seq']} {entry['method']} {entry['path']}"


def explain_missing(
    wanted: ExpectMessage,
    entries: Sequence[dict[str, Any]],
    *,
    pisp_id: str,
    consumed: set[int],
    waited_s: float,
    step: str,
    stopped: Stop | None = None,
) -> Failure:
    """The failure for an expected message that no entry matched; ``stopped``: why the
    step stopped waiting before its deadline."""
    expected = describe_expectation(wanted, pisp_id)
    closest = _first_addressed(wanted, entries, pisp_id, consumed)
    if closest is not None:
        problems = differences(wanted, closest)
        if not problems:
            return Failure(
                FailureKind.ASSERTION,
                f"{wanted.label} arrived out of order",
                step,
                expected=f"{expected}, after the messages listed before it",
                actual=describe(closest),
            )
        return Failure(
            FailureKind.ASSERTION,
            f"{wanted.label} arrived but differs: {problems[0]}",
            step,
            expected=expected,
            actual=describe(closest) + "\n" + "\n".join(f"  - {p}" for p in problems),
        )
    others = [e for e in entries if e["seq"] not in consumed]
    seen = "\n".join(describe(e) for e in others[-10:]) or "no messages at all"
    headline = f"{wanted.label} not received within {waited_s:.1f} s"
    if stopped is not None:
        headline = f"{wanted.label} not received: stopped waiting after {waited_s:.1f} s"
        headline += f" because {stopped.reason}"
    return Failure(
        FailureKind.NOT_RECEIVED,
        headline,
        step,
        expected=expected,
        actual=f"not received (waited {waited_s:.1f} s); arrived meanwhile:\n{seen}",
        waited_s=round(waited_s, 3),
    )


def unwanted(
    wanted: ExpectMessage, entries: Iterable[dict[str, Any]], *, pisp_id: str, step: str
) -> Failure | None:
    """The failure for an ``absent`` expectation that a message matched."""
    for entry in entries:
        if addressed(wanted, entry, pisp_id) and not differences(wanted, entry):
            return Failure(
                FailureKind.ASSERTION,
                f"{wanted.label} arrived but must not",
                step,
                expected=f"no {describe_expectation(wanted, pisp_id)}",
                actual=describe(entry),
            )
    return None


def describe_expectation(wanted: ExpectMessage, pisp_id: str) -> str:
    parts = [wanted.label]
    if wanted.from_:
        parts.append(f"from {wanted.from_}")
    receiver = wanted.to if wanted.to is not None or wanted.from_ else pisp_id
    if receiver:
        parts.append(f"to {receiver}")
    if wanted.error:
        parts.append(f"with errorCode {wanted.error}")
    if wanted.body:
        parts.append(f"with body containing {_short(wanted.body)}")
    if wanted.status is not None:
        parts.append(f"answered {wanted.status}")
    return " ".join(parts)


def describe(entry: dict[str, Any]) -> str:
    """One line for a journal entry: ``#12 PUT /path dfspa → pispa [200] errorCode 6205``."""
    receiver = _receiver(entry) or "switch"
    line = f"#{entry['seq']} {entry['method']} {entry['path']} {entry['source']} → {receiver}"
    if entry.get("status") is not None:
        line += f" [{entry['status']}]"
    code = error_code(entry.get("body"))
    if code:
        line += f" errorCode {code}"
    if entry.get("error"):
        line += f" ({entry['error']})"
    if entry.get("body") is not None and not code:
        line += f" {_short(entry['body'], 300)}"
    return line


def described_seq(text: str | None) -> int | None:
    """The seq of the journal entry a failure's ``actual`` text describes first (it starts
    as ``describe`` writes an entry: ``#12 …``), or None: how a report finds the message a
    failure is about."""
    found = _DESCRIBED.match(text or "")
    return int(found.group(1)) if found else None


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
