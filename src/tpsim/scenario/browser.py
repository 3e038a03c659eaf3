"""The PSU's browser in scenario steps: a bank's page fetched or its form posted, without
a TPP's headers, the hop recorded for the report. Redirects are not followed: where the
bank sends the browser (the TPP's redirect URI) is the step's outcome, not a server of
the test."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tpsim.scenario.harness import Answer
from tpsim.scenario.session import Session

FORM = "application/x-www-form-urlencoded"


async def browse(
    session: Session,
    method: str,
    url: str,
    records: list[dict[str, Any]],
    form: bytes | None = None,
) -> Answer:
    """``method`` ``url`` as the PSU's browser (``form``: a URL-encoded form posted)."""
    headers = {"Content-Type": FORM} if form is not None else None
    answer = await session.pisp.request(method, url, data=form, headers=headers)
    parts = urlsplit(url)
    records.append(
        {"method": method, "path": parts.path + (f"?{parts.query}" if parts.query else "")}
    )
    return answer
