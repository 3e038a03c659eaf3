"""Less-trodden bad input, on a served tpsim: each refused in its own API's format.

Each test sends one input that got past the edges' hardening (a URI ``urlsplit`` cannot
split, a decoded line break echoed in a header, a path or method no route of that API
takes, a journal ``limit`` of 0, a duration no clock can add) to tpsim served on a
loopback port (the built-in config), and asserts what the project's rule wants: a coded
refusal in that API's format (XS2A ``tppMessages``, the UK's bodiless 404, OAuth's error
JSON, the admin API's ``{"error"}``) that says what to fix, no 5xx, no dropped
connection, no state lost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from tests.support.loopback import serving
from tpsim.config import load_config
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

ERIKA, LUCA = "DE89370400440532013000", "DE75512108001245126199"
PAYMENTS = "/xs2a/dfspa/v1/payments/sepa-credit-transfers"
CONTROL = {chr(c) for c in range(32)} | {"\x7f"}


@pytest.fixture
async def url() -> AsyncIterator[str]:
    """The built-in scheme, served on 127.0.0.1 and an ephemeral port."""
    async with serving(create_app(Simulation(load_config()))) as served:
        yield served


async def call(
    url: str,
    method: str,
    path: str | URL,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One request on a fresh connection: (status, headers, the JSON body or the text)."""
    target = path if isinstance(path, URL) else URL(url + path)
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, target, data=data, headers=headers, allow_redirects=False) as got,
    ):
        text = await got.text()
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return got.status, dict(got.headers), parsed


def xs2a_headers(**more: str) -> dict[str, str]:
    return {
        "X-Request-ID": str(uuid.uuid4()),
        "PSU-IP-Address": "192.168.8.78",
        "Content-Type": "application/json",
        **more,
    }


def xs2a_payment() -> dict[str, Any]:
    return {
        "instructedAmount": {"currency": "EUR", "amount": "10.00"},
        "debtorAccount": {"iban": ERIKA},
        "creditorName": "Luca",
        "creditorAccount": {"iban": LUCA},
    }


async def initiate(url: str) -> str:
    """A redirect payment at dfspa awaiting SCA: its paymentId."""
    headers = xs2a_headers(**{"TPP-Redirect-URI": "http://localhost:8000/cb/ok"})
    status, _, created = await call(url, "POST", PAYMENTS, headers=headers, body=xs2a_payment())
    assert status == 201, created
    return str(created["paymentId"])


# -- XS2A: a redirect URI urllib cannot split ----------------------------------------------


@pytest.mark.parametrize("header", ["TPP-Redirect-URI", "TPP-Nok-Redirect-URI"])
async def test_an_xs2a_redirect_uri_with_an_unclosed_ipv6_host_is_a_format_error(
    url: str, header: str
) -> None:
    headers = xs2a_headers(**{"TPP-Redirect-URI": "http://localhost:8000/cb/ok"})
    headers[header] = "http://[::1/cb"
    status, _, body = await call(url, "POST", PAYMENTS, headers=headers, body=xs2a_payment())
    assert status == 400, body
    message = body["tppMessages"][0]
    assert (message["category"], message["code"], message.get("path")) == (
        "ERROR",
        "FORMAT_ERROR",
        header,
    )
    # And the service keeps serving: the same request with a good URI initiates.
    assert await initiate(url)


# -- UK: the not-found answer echoes a path with a line break in a header -------------------


@pytest.mark.parametrize(
    "path",
    [
        "/obie/nobank/open-banking/v3.1/pisp/domestic-payment-consents/a%0D%0Ab",
        "/obie/dfspa/open-banking/v9%0A9/pisp/domestic-payment-consents",
    ],
)
async def test_a_uk_path_with_a_line_break_is_answered_not_dropped(url: str, path: str) -> None:
    interaction = str(uuid.uuid4())
    headers = {"x-fapi-interaction-id": interaction}
    status, answered, _ = await call(url, "GET", URL(url + path, encoded=True), headers=headers)
    assert status == 404
    assert answered["x-fapi-interaction-id"] == interaction
    # What the header says is printable ASCII (RFC 9110 §5.5): no control character.
    assert not set(answered.get("x-tpsim-error", "")) & CONTROL


# -- UK: paths under /obie/{fspId} the UK API does not route ---------------------------------


@pytest.mark.parametrize(
    ("method", "endpoint", "allowed"),
    [("GET", "token", "POST"), ("POST", "authorize", "GET"), ("POST", "jwks", "GET")],
)
async def test_a_uk_oauth_endpoint_with_the_wrong_method_is_an_oauth_405(
    url: str, method: str, endpoint: str, allowed: str
) -> None:
    status, headers, body = await call(url, method, f"/obie/dfspa/{endpoint}")
    assert status == 405, body
    assert allowed in headers.get("Allow", "")
    assert isinstance(body, dict) and "errorInformation" not in body
    assert body["error"] == "invalid_request"  # RFC 6749 5.2's error JSON


@pytest.mark.parametrize(
    "path", ["/obie/dfspa", "/obie/dfspa/open-banking/v3.1/aisp/accounts", "/obie/nobank/x"]
)
async def test_an_unknown_uk_path_is_the_uk_404_not_an_fspiop_error(url: str, path: str) -> None:
    interaction = str(uuid.uuid4())
    headers = {"x-fapi-interaction-id": interaction}
    status, answered, body = await call(url, "GET", path, headers=headers)
    # As the UK edge answers any other unknown path (serve/obie.py ``_not_found``): the
    # spec's 404 has no body; the interaction id is echoed.
    assert (status, body) == (404, None)
    assert answered["x-fapi-interaction-id"] == interaction


# -- admin API -----------------------------------------------------------------------------


async def test_the_journal_limit_is_at_most_that_many_entries(url: str) -> None:
    await initiate(url)
    await initiate(url)
    status, _, everything = await call(url, "GET", "/admin/journal")
    assert status == 200 and len(everything["entries"]) >= 4
    status, _, none = await call(url, "GET", "/admin/journal?limit=0")
    assert (status, none) == (200, {"entries": []})
    status, _, refused = await call(url, "GET", "/admin/journal?limit=-1")
    assert status == 400
    assert "limit" in refused["error"]


@pytest.mark.parametrize(
    ("method", "path", "status", "allowed"),
    [
        ("GET", "/admin/fixtures", 405, "PUT"),
        ("GET", "/admin/reset", 405, "POST"),
        ("POST", "/admin/accounts", 405, "GET"),
        ("GET", "/admin/nothing", 404, None),
        ("POST", "/health", 405, "GET"),  # tpsim's own paths, not FSPIOP resources
        ("POST", "/metrics", 405, "GET"),
        ("DELETE", "/ui", 405, "GET"),
    ],
)
async def test_the_admin_api_refuses_in_its_own_format(
    url: str, method: str, path: str, status: int, allowed: str | None
) -> None:
    got, headers, body = await call(url, method, path)
    assert got == status, body
    assert isinstance(body, dict) and "errorInformation" not in body
    assert isinstance(body.get("error"), str)  # the admin API's {"error": …}
    if allowed is not None:
        assert allowed in headers.get("Allow", "")


def _at(config: dict[str, Any], where: list[str]) -> dict[str, Any]:
    """The mapping ``where`` names in ``config`` ("@dfspa": that participant's ``psd2``),
    made where it is missing."""
    node = config
    for key in where:
        if key.startswith("@"):
            participant = next(p for p in node["participants"] if p["fsp_id"] == key[1:])
            participant["psd2"] = participant.get("psd2") or {}
            node = participant["psd2"]
        else:
            node = node.setdefault(key, {})
    return node


# (what a fixture sets, where, the value): once loaded, every request that starts that
# clock fails (OverflowError in now + timedelta(seconds=…)).
DURATIONS: list[tuple[str, list[str], str, float]] = [
    ("uk-consent-500", ["@dfspa", "obie"], "consent_expiry_s", 10**30),
    ("stet-request-500", ["@dfspa", "stet"], "approval_expiry_s", 10**30),
    ("xs2a-decoupled-500", ["@dfspa"], "decoupled_approval_delay_s", 1e300),
    ("transfer-2001", ["behaviour"], "quote_expiry_s", 1e300),
]


@pytest.mark.parametrize(
    ("where", "key", "value"), [pytest.param(w, k, v, id=name) for name, w, k, v in DURATIONS]
)
async def test_fixtures_with_a_duration_no_clock_can_hold_are_refused_and_nothing_is_lost(
    url: str, where: list[str], key: str, value: float
) -> None:
    payment_id = await initiate(url)
    status, _, config = await call(url, "GET", "/admin/config")
    assert status == 200
    _at(config, where)[key] = value
    status, _, body = await call(url, "PUT", "/admin/fixtures", body=config)
    assert status == 400, body
    assert body["code"] == "FIXTURES_INVALID"
    assert key in body["error"]
    # The state in force was kept: the payment made before is still there.
    status, _, intent = await call(url, "GET", f"/admin/psd2/intents/{payment_id}")
    assert (status, intent["paymentId"]) == (200, payment_id)
