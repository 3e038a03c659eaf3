"""What ``tpsim load`` measured: each flow's latency and its hops', errors by code, and the
report made of them (a progress line while it runs, a text and a JSON report at the end).

Every latency is in milliseconds, measured by the load generator from the moment it sends a
request (or receives a callback) to the moment the awaited callback arrives at its listener
(``Callback.arrived``), or to the moment its answer is in (a PSD2 dialect's synchronous
API), so waiting for a free worker or for the pacing slot is not counted. The hops of a
transfer (``--flow transfer``, the default):

- ``request_to_put_transaction``: ``POST /thirdpartyRequests/transactions`` sent → the
  switch's ``PUT /thirdpartyRequests/transactions/{ID}`` (RECEIVED) arrived;
- ``request_to_post_authorizations``: the same request sent → ``POST
  /thirdpartyRequests/authorizations`` arrived (the challenge to sign);
- ``approval_to_patch``: the signed ``PUT /thirdpartyRequests/authorizations/{ID}`` sent →
  ``PATCH /thirdpartyRequests/transactions/{ID}`` (COMPLETED) arrived.

Of linking (``--flow link``, from the consent request on):

- ``request_to_put_consent_request``: ``POST /consentRequests`` sent → ``PUT
  /consentRequests/{ID}`` (the channel) arrived;
- ``user_authenticates``: that ``PUT`` arrived → the user's authToken in hand (the OTP
  read from the admin API, or the login page signed in and its redirect followed);
- ``auth_token_to_post_consents``: ``PATCH /consentRequests/{ID}`` sent → ``POST
  /consents`` arrived;
- ``credential_to_patch_consents``: ``PUT /consents/{ID}`` with the new credential sent
  → the DFSP's ``PATCH /consents/{ID}`` (VERIFIED) arrived.

Of a TPP's payment in a PSD2 dialect (``--flow xs2a|obie|stet``), each hop is its step,
from its first request sent to its last answer in: ``token`` (``POST /token``,
client credentials), ``initiate`` (XS2A's ``POST /payments/…``, UK's ``POST
/domestic-payment-consents``, STET's ``POST /payment-requests``), ``sca`` (the PSU at
the bank, headless: XS2A's ``scaRedirect`` link and the confirmation code sent back;
UK's ``/authorize`` and the code exchanged for the PSU's token; STET's
``consentApproval`` link), ``pay`` (UK's ``POST /domestic-payments``), ``status`` (the
payment read until it is final: XS2A ``ACSC``/``ACCC``, UK ``ACCC``/``ACSC``, STET
``ACSC``; a rejection ends it too, counted as ``ended RJCT``).

The JSON report (``--json FILE``)::

    {"target": "http://127.0.0.1:4040", "flow": "transfer", "workers": 4,
     "rate_per_s": null, "started": 20, "completed": 20, "failed": 0, "elapsed_s": 1.9,
     "throughput_per_s": 10.5,
     "latency_ms": {"transfer": {"count": 20, "p50": 80.1, "p90": …, "p99": …, "max": …},
                    "hops": {"request_to_put_transaction": {…}, …}},
     "errors": {"FSPIOP 4001": 3, "HTTP 400": 1, "timeout": 1, "connection": 0},
     "interrupted": null}

``throughput_per_s`` counts completed flows per second of the run; ``errors`` has one
count per failure code, only the codes seen: ``FSPIOP <errorCode>`` (an error callback or
a refusal carrying one), ``XS2A <tppMessages code>``, ``UK <ErrorCode>``, ``STET
<error>``, ``OAuth <error>`` (a token endpoint's or an authorisation redirect's refusal),
``HTTP <status>`` (a refusal without a code), ``ended <status>`` (a flow that ended
otherwise than completed), ``timeout`` (an awaited callback or final status that did not
come within ``--timeout``), ``connection`` (a request that never got an HTTP answer).
``interrupted`` names the signal (``SIGINT``: Ctrl-C, ``SIGTERM``) that stopped the run
before its end: the report then covers the flows that ended before it, and the flows
under way (``started`` − ``completed`` − ``failed``) were abandoned.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOPS = ("request_to_put_transaction", "request_to_post_authorizations", "approval_to_patch")
FLOW_HOPS: dict[str, tuple[str, ...]] = {
    "transfer": HOPS,
    "link": (
        "request_to_put_consent_request",
        "user_authenticates",
        "auth_token_to_post_consents",
        "credential_to_patch_consents",
    ),
    "xs2a": ("initiate", "sca", "status"),
    "obie": ("token", "initiate", "sca", "pay", "status"),
    "stet": ("token", "initiate", "sca", "status"),
}
FLOWS = tuple(FLOW_HOPS)
QUANTILES = (("p50", 50), ("p90", 90), ("p99", 99))  # percent


def percentiles(values: list[float]) -> dict[str, float | int]:
    """Count, p50/p90/p99 (nearest rank) and max of ``values`` (ms, rounded to 0.01)."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    found: dict[str, float | int] = {"count": len(ordered)}
    for name, percent in QUANTILES:
        rank = -(-percent * len(ordered) // 100)  # ceil(percent / 100 × n), in integers
        found[name] = round(ordered[max(rank, 1) - 1], 2)
    found["max"] = round(ordered[-1], 2)
    return found


@dataclass
class LoadStats:
    """Every flow's outcome, as it ends; read at any time for the progress line."""

    flow: str = "transfer"  # one of FLOWS
    started: int = 0
    flows_ms: list[float] = field(default_factory=list)
    hops_ms: dict[str, list[float]] = field(default_factory=dict)  # the flow's, in order
    errors: Counter[str] = field(default_factory=Counter)
    began: float = field(default_factory=time.perf_counter)
    ended: float | None = None
    interrupted: str | None = None  # the signal that ended the run early ("SIGINT")

    def __post_init__(self) -> None:
        for hop in FLOW_HOPS.get(self.flow, ()):
            self.hops_ms.setdefault(hop, [])

    @property
    def completed(self) -> int:
        return len(self.flows_ms)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    @property
    def elapsed(self) -> float:
        return (self.ended or time.perf_counter()) - self.began

    def done(self, total_s: float, hops_s: dict[str, float]) -> None:
        """A flow completed in ``total_s`` seconds, its hops taking ``hops_s``."""
        self.flows_ms.append(total_s * 1000)
        for hop, seconds in hops_s.items():
            self.hops_ms.setdefault(hop, []).append(seconds * 1000)

    def progress(self) -> str:
        """One line: done, failed, the rate so far, p50 so far."""
        p50 = percentiles(self.flows_ms).get("p50")
        median = f"{p50:.1f} ms" if p50 is not None else "-"
        return (
            f"{self.completed} done, {self.failed} failed, {self.completed / self.elapsed:.1f}/s,"
            f" p50 {median} ({self.elapsed:.0f} s)"
        )

    def summary(self, *, target: str, workers: int, rate: float | None) -> dict[str, Any]:
        """The report as JSON values (the shape the module docstring shows)."""
        elapsed = self.elapsed
        return {
            "target": target,
            "flow": self.flow,
            "workers": workers,
            "rate_per_s": rate,
            "started": self.started,
            "completed": self.completed,
            "failed": self.failed,
            "elapsed_s": round(elapsed, 3),
            "throughput_per_s": round(self.completed / elapsed, 2) if elapsed else 0.0,
            "latency_ms": {
                self.flow: percentiles(self.flows_ms),
                "hops": {hop: percentiles(values) for hop, values in self.hops_ms.items()},
            },
            "errors": dict(self.errors.most_common()),
            "interrupted": self.interrupted,
        }


def text(summary: dict[str, Any]) -> str:
    """The final report for a person: throughput, latencies per flow and hop, errors."""
    latency = summary["latency_ms"]
    lines = [
        f"{summary['flow']}: {summary['completed']} completed, {summary['failed']} failed of"
        f" {summary['started']} in {summary['elapsed_s']:.2f} s against {summary['target']}"
        f" ({summary['workers']} workers): {summary['throughput_per_s']:.1f}/s",
        *_interrupted(summary),
        _header(),
        _row(summary["flow"], latency[summary["flow"]]),
        *(_row(f"  {hop}", values) for hop, values in latency["hops"].items()),
    ]
    errors = summary["errors"]
    lines.append(
        "errors: " + ", ".join(f"{code} × {n}" for code, n in errors.items())
        if errors
        else "errors: none"
    )
    return "\n".join(lines)


def _interrupted(summary: dict[str, Any]) -> list[str]:
    """The line saying the run was stopped early, and what that leaves uncounted."""
    if not summary.get("interrupted"):
        return []
    left = summary["started"] - summary["completed"] - summary["failed"]
    return [
        f"interrupted by {summary['interrupted']}: {left} flow(s) under way were abandoned,"
        " counted neither completed nor failed"
    ]


_COLUMNS = ("p50", "p90", "p99", "max")


def _header() -> str:
    """The latency table's header, its columns over ``_row``'s."""
    return f"{'latency ms':<32} {'count':>5} {' '.join(f'{k:>8}' for k in _COLUMNS)}"


def _row(name: str, values: dict[str, float | int]) -> str:
    cells = [f"{values.get(k, '-'):>8}" for k in _COLUMNS]
    return f"{name:<32.32} {values['count']:>5} {' '.join(cells)}"


def write_json(summary: dict[str, Any], path: Path) -> None:
    """Write the report to ``path`` (its directory made when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
