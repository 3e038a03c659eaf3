"""Whose request a journal entry is, in conformance mode (sans-IO).

Two parties send requests to tpsim's FSPIOP edge while a scenario checks a PISP under
test: that PISP, and the scenario runner itself (its ``send`` steps and Mojaloop actions,
on behalf of a simulated party or of the PISP, often broken on purpose). The runner marks
each of its requests with the ``SENT_BY`` header, so none of them is ever held against
the PISP. Every other request is the PISP's when its ``FSPIOP-Source`` says so, and also
when it names nobody who could have sent it (missing, misspelled, a participant tpsim
plays): a PISP that gets its own fspId wrong must fail at once with that violation, not
leave its messages unclaimed until a step's deadline.

That last rule holds only where the run knows every client: a tpsim of its own, whose
only other senders are the config's external participants (``others``). A running tpsim
(``tpsim run --server``) may have clients the run never heard of, whose requests the
journal cannot tell from the PISP's but by the source they name (it keeps no peer
address): there (``others`` None) a request is the PISP's only when it names the PISP,
and one naming nobody is nobody's, however it was refused.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

# The header of every request the scenario runner sends (``BuiltinPisp.send``).
SENT_BY = "X-Tpsim-Sender"
SCENARIO = "scenario"
SOURCE = "FSPIOP-Source"


def sent_by(entry: dict[str, Any], participant: str, others: Collection[str] | None = None) -> bool:
    """Whether ``participant`` (the one under test) sent ``entry``: a request received at
    tpsim's edge that the scenario did not send, from ``participant`` by its
    ``FSPIOP-Source``. Given ``others`` (the participants besides it who send tpsim
    requests themselves: the other external ones), any FSPIOP request whose source is none
    of theirs is its too, whatever that source says."""
    if entry["hop"] != "received" or _header(entry, SENT_BY) == SCENARIO:
        return False
    if entry["source"] == participant:
        return True
    mojaloop = entry.get("dialect") in (None, "mojaloop")
    return others is not None and mojaloop and entry["source"] not in others


def source_problem(entry: dict[str, Any], participant: str) -> str | None:
    """What is wrong with the ``FSPIOP-Source`` of ``participant``'s ``entry`` (None: it
    names ``participant``)."""
    source = _header(entry, SOURCE)
    if source == participant:
        return None
    said = "missing" if not source else repr(source)
    return f"{said}, expected {participant!r}"  # shown after the field's name


def _header(entry: dict[str, Any], name: str) -> str | None:
    headers: Mapping[str, str] = entry.get("headers") or {}
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
