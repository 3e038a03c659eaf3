"""Checking a step's synchronous answer against its ``expect`` (sans-IO): the status (what
the step states, else what the API requires), the error code, the body and headers (as the
messages' matcher compares them: ``expectations.contained``, ``header_problems``), how fast
it came, a browser redirect, and ``check_balances``' balances.

The journal holds the same answer for a dialect whose edge journals it (XS2A); checking it
here says what the step got without naming the request again as a message.
"""

from __future__ import annotations

from typing import Any

from tpsim.scenario.actions import CheckBalances, balance_problems
from tpsim.scenario.base import Expect
from tpsim.scenario.expectations import contained, error_code, header_problems
from tpsim.scenario.harness import Answer
from tpsim.scenario.registry import Sent
from tpsim.scenario.results import Failure, FailureKind

_OF_THE_ANSWER = ("status", "error", "body", "headers", "answered_within")


def answer_failures(step: str, sent: Sent, expect: Expect) -> list[Failure]:
    """Where the step's answer (and its redirect) differ from ``expect``."""
    failures = _redirect(step, sent, expect)
    answer = sent.answer
    if answer is None:
        return failures + _nothing_to_check(step, expect)
    # The step's own request is its last (a token fetched first, a GET before a PUT).
    label = f"{sent.messages[-1]['method']} {sent.messages[-1]['path']}" if sent.messages else ""
    actual = f"{answer.status} {text(answer.body)}"
    wanted = expect.status if expect.status is not None else sent.required_status
    if wanted is not None and answer.status != wanted:
        failures.append(
            Failure(
                FailureKind.ASSERTION,
                f"{label} was answered {answer.status}, expected {wanted}",
                step,
                expected=f"{wanted}",
                actual=actual,
            )
        )
    code = error_code(answer.body)
    if expect.error is not None and code != expect.error:
        failures.append(
            Failure(
                FailureKind.ASSERTION,
                f"{label} was answered with error code {code}, expected {expect.error}",
                step,
                expected=f"error code {expect.error}",
                actual=actual,
            )
        )
    failures += _contents(step, label, answer, expect)
    if expect.answered_within is not None and answer.elapsed_ms > expect.answered_within * 1000:
        failures.append(
            Failure(
                FailureKind.ASSERTION,
                f"{label} was answered in {answer.elapsed_ms:.0f} ms",
                step,
                expected=f"an answer within {expect.answered_within * 1000:g} ms",
                actual=f"{answer.elapsed_ms:.0f} ms",
            )
        )
    return failures


def _redirect(step: str, sent: Sent, expect: Expect) -> list[Failure]:
    if expect.redirect is None or not contained(expect.redirect, sent.redirect or {}, "redirect"):
        return []
    return [
        Failure(
            FailureKind.ASSERTION,
            "the page sent the browser elsewhere than expected",
            step,
            expected=str(expect.redirect),
            actual=str(sent.redirect),
        )
    ]


def _contents(step: str, label: str, answer: Answer, expect: Expect) -> list[Failure]:
    """``expect.body`` and ``expect.headers``: one failure listing every difference."""
    problems: list[str] = []
    if expect.body is not None:
        problems += contained(expect.body, answer.body, "body")
    if expect.headers is not None:
        problems += header_problems(expect.headers, answer.headers)
    if not problems:
        return []
    wanted = {"body": expect.body, "headers": expect.headers}
    return [
        Failure(
            FailureKind.ASSERTION,
            f"{label} was answered {answer.status} but differs: {problems[0]}",
            step,
            expected=", ".join(f"{k} containing {v}" for k, v in wanted.items() if v is not None),
            actual=f"{answer.status} {text(answer.body)}\n"
            + "\n".join(f"  - {p}" for p in problems),
        )
    ]


def _nothing_to_check(step: str, expect: Expect) -> list[Failure]:
    """A step that sent nothing (``wait``) has no answer: expecting anything of it (its
    status, error code, body, headers, time) is a mistake of the scenario, not a pass."""
    named = [key for key in _OF_THE_ANSWER if getattr(expect, key) is not None]
    if not named:
        return []
    return [
        Failure(
            FailureKind.ERROR,
            f"expect.{named[0]}: this step sends nothing, so it has no answer to check; expect"
            " the message in messages: instead",
            step,
        )
    ]


def balance_failures(step: str, params: CheckBalances, sent: Sent, expect: Expect) -> list[Failure]:
    """``check_balances``: the balances its parameters and ``expect.balances`` name."""
    if sent.answer is None:
        return []
    wanted = {**params.balances, **(expect.balances or {})}
    problems = balance_problems(wanted, sent.answer)
    if not problems:
        return []
    return [
        Failure(
            FailureKind.ASSERTION,
            f"balances differ: {problems[0]}",
            step,
            expected=", ".join(f"{a} = {v}" for a, v in wanted.items()),
            actual="\n".join(problems),
        )
    ]


def text(body: Any) -> str:
    """A body for a failure's text, cut at 500 characters."""
    shown = str(body) if body is not None else ""
    return shown if len(shown) < 500 else shown[:499] + "…"
