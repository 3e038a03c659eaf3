"""The admin API's OpenAPI description (issue 16): ``src/tpsim/serve/admin_openapi.yaml``,
served as ``GET /admin/openapi.json``.

It is what a client generator, Swagger UI or Postman reads, so it must be a valid OpenAPI
3.0 document, describe exactly the routes tpsim mounts (none missing, none invented), and
say the truth about them: the answers of a served tpsim validate against it, the
requests it documents are the ones the handlers take, and its refusals have the documented
``{"error", "code"}`` shape.
"""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from jsonschema import Draft4Validator

# The official OpenAPI 3.0 JSON schema (OAI/OpenAPI-Specification), as schemathesis ships
# it: a test dependency already, so no other package is needed to check the document.
from schemathesis.specs.openapi.definitions import OPENAPI_30

from tests.conftest import MakeScheme
from tests.serve.test_admin_token import TOKEN, served
from tests.serve.test_obie import UkTpp, consent_body
from tests.serve.test_xs2a import PAYMENTS, Tpp, payment
from tests.support.flows import complete_transfer
from tests.support.linking import request_consent
from tests.support.scheme import FIDO_CONSENT, Scheme
from tpsim.config import load_config
from tpsim.serve.admin_docs import admin_openapi
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation
from tpsim.specs.openapi3 import Spec

SRC = Path(__file__).resolve().parents[2] / "src" / "tpsim"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DOCUMENTED_PREFIXES = ("/admin/",)
DOCUMENTED_PATHS = ("/metrics", "/ui", "/health")
REQUEST_ID = "4e0b9d1c-7d4b-4b8e-9f62-3b2f0c6a1d55"
CONSENT_REQUEST_ID = "a1f4c7e2-5b3d-4c9a-8e6f-0d2b4a7c9e13"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec("tpsim-admin", admin_openapi())


# --- the document is OpenAPI 3.0 ----------------------------------------------------------


def test_the_document_validates_against_the_official_openapi_3_0_schema() -> None:
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft4Validator(OPENAPI_30).iter_errors(admin_openapi())
    ]
    assert not problems, "\n".join(problems)
    assert admin_openapi()["openapi"].startswith("3.0.")


def test_every_reference_in_the_document_resolves() -> None:
    document = admin_openapi()
    for ref in _refs(document):
        assert ref.startswith("#/"), f"{ref}: only references inside the document"
        node: Any = document
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict) and key in node, f"{ref} points at nothing"
            node = node[key]


def test_every_path_parameter_is_declared_and_every_operation_id_is_unique(spec: Spec) -> None:
    document = admin_openapi()
    ids: list[str] = []
    for template, item in document["paths"].items():
        for method in (m for m in METHODS if m in item):
            operation = item[method]
            ids.append(operation["operationId"])
            declared = {
                p["name"]
                for p in map(
                    _resolved, [*item.get("parameters", []), *operation.get("parameters", [])]
                )
                if p["in"] == "path"
            }
            assert declared == set(re.findall(r"\{([^}]+)\}", template)), f"{method} {template}"
            # The project's own OpenAPI reader follows every reference of the operation.
            concrete = re.sub(r"\{[^}]+\}", "x", template)
            found = spec.operation(method.upper(), concrete)
            assert found is not None and found.template == template
    assert len(ids) == len(set(ids)), "operationIds must be unique (OpenAPI 3.0 §4.7.10)"


def test_the_token_is_a_bearer_scheme_that_loopback_may_go_without() -> None:
    document = admin_openapi()
    scheme = document["components"]["securitySchemes"]["adminToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert {} in document["security"]  # optional: served on loopback without a token
    assert "Loopback needs no token" in document["info"]["description"]


def test_the_wheel_carries_the_document() -> None:
    """A wheel install has no repository beside it: the document must be package data."""
    pyproject = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text("utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["tpsim"]
    shipped = {path for glob in globs for path in SRC.glob(glob)}
    assert SRC / "serve" / "admin_openapi.yaml" in shipped


# --- it describes exactly the routes tpsim mounts ------------------------------------------


def test_every_admin_route_the_app_mounts_is_documented_and_nothing_else() -> None:
    app = create_app(Simulation(load_config()))
    mounted = {
        (route.method, _shape(route.resource.canonical))
        for route in app.router.routes()
        if route.resource is not None and _documented(route.resource.canonical)
    }
    documented = {
        (method.upper(), _shape(template))
        for template, item in admin_openapi()["paths"].items()
        for method in METHODS
        if method in item
    }
    assert not mounted - documented, f"mounted, not documented: {sorted(mounted - documented)}"
    assert not documented - mounted, f"documented, not mounted: {sorted(documented - mounted)}"


# --- what a served tpsim answers is what the document says -------------------------------


class Admin:
    """A client of a served tpsim's admin API that checks every exchange against the
    document: the request (when it is meant to be taken) and the answer, status, headers
    and body."""

    def __init__(self, url: str, http: aiohttp.ClientSession, spec: Spec) -> None:
        self.url, self.http, self.spec = url, http, spec

    async def call(
        self,
        method: str,
        path: str,
        expect: int,
        body: Any = None,
        *,
        text: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """``method path`` answered ``expect``, both sides as documented; the answer's body
        (parsed JSON, text, or None)."""
        operation = self.spec.operation(method, path)
        assert operation is not None, f"{method} {path} is not in the document"
        problems = []
        if expect < 400 and body is not None:  # a request meant to be taken is documented
            query = dict(parse_qsl(urlsplit(path).query))
            problems += operation.check_request(
                headers or {}, body, content_type="application/json", query=query
            )
        async with self.http.request(
            method, self.url + path, json=body, data=text, headers=headers
        ) as response:
            answer = await _read(response)
            problems += operation.check_response(response.status, answer, dict(response.headers))
            assert response.status == expect, answer
        assert not problems, f"{method} {path}:\n" + "\n".join(map(str, problems))
        return answer


async def _read(response: aiohttp.ClientResponse) -> Any:
    raw = await response.read()
    if not raw:
        return None
    if response.content_type == "application/json":
        return json.loads(raw)
    return raw.decode()


async def test_the_journal_config_accounts_and_consents_are_answered_as_documented(
    scheme: Scheme, spec: Spec
) -> None:
    await complete_transfer(scheme, REQUEST_ID)
    await scheme.settle()
    async with aiohttp.ClientSession() as http:
        admin = Admin(scheme.url, http, spec)
        assert await admin.call("GET", "/health", 200) == {"status": "OK"}
        journal = await admin.call("GET", f"/admin/journal?correlationId={REQUEST_ID}", 200)
        assert journal["entries"], "a completed transfer leaves hops in the journal"
        paged = await admin.call("GET", "/admin/journal?since=1&limit=2", 200)
        assert len(paged["entries"]) == 2
        config = await admin.call("GET", "/admin/config", 200)
        accounts = await admin.call("GET", "/admin/accounts", 200)
        assert {a["address"] for a in accounts["accounts"]} >= {"dfspa.alice.chequing"}
        consents = await admin.call("GET", "/admin/consents", 200)
        assert FIDO_CONSENT in {c["consentId"] for c in consents["consents"]}
        # The config read back is a config the fixtures route takes (the README's recipe).
        loaded = await admin.call("PUT", "/admin/fixtures", 200, text=json.dumps(config))
        assert loaded == {"status": "loaded"}
        assert await admin.call("POST", "/admin/reset", 200) == {"status": "reset"}
        assert await admin.call("DELETE", "/admin/journal", 204) is None


async def test_the_mojaloop_admin_actions_are_answered_as_documented(
    scheme: Scheme, spec: Spec
) -> None:
    await request_consent(scheme, CONSENT_REQUEST_ID, channels=("OTP",))
    async with aiohttp.ClientSession() as http:
        admin = Admin(scheme.url, http, spec)
        otp = await admin.call("GET", f"/admin/otp/{CONSENT_REQUEST_ID}?fspId=dfspa", 200)
        assert otp["consentRequestId"] == CONSENT_REQUEST_ID
        revoked = await admin.call("POST", f"/admin/consents/{FIDO_CONSENT}/revoke", 200)
        assert revoked["status"] == "REVOKED"
        await admin.call("POST", f"/admin/consents/{FIDO_CONSENT}/revoke", 409)
        moved = await admin.call("POST", "/admin/clock/advance", 200, {"seconds": 60})
        assert moved["now"].endswith("Z")
        pointed = await admin.call(
            "PUT", "/admin/participants/pispa/endpoint", 200, {"endpoint": scheme.pisp.url}
        )
        assert pointed == {"endpoint": scheme.pisp.url, "previous": scheme.pisp.url}


async def test_a_psd2_payments_state_and_decisions_are_answered_as_documented(
    scheme: Scheme, spec: Spec
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST", PAYMENTS, payment(amount="5"), TPP_Decoupled_Preferred="true", PSU_ID="erika"
        )
        authorisation_id = created["_links"]["scaStatus"]["href"].rsplit("/", 1)[1]
        admin = Admin(scheme.url, http, spec)
        state = await admin.call("GET", f"/admin/psd2/intents/{created['paymentId']}", 200)
        assert (state["dialect"], state["authorisations"][0]["scaStatus"]) == ("xs2a", "started")
        decide = f"/admin/psd2/authorisations/{authorisation_id}/decision"
        wrong = await admin.call("POST", decide, 400, {"decision": "approve", "otp": "000000"})
        assert wrong["code"] == "OTP_WRONG"
        decided = await admin.call("POST", decide, 200, {"decision": "approve", "psu": "erika"})
        assert decided == {"redirect": None, "status": "finalised"}
        forced = f"/admin/psd2/intents/{created['paymentId']}/status"
        await admin.call("POST", forced, 409, {"status": "CANC", "reason": "too late"})


@pytest.mark.parametrize(
    "body",
    [
        '{"decision": "approve", "otp": "\\ud800"}',
        '{"decision": "approve", "psu": "erika\\udfff"}',
        '{"decision": "deny", "\\ud800": 1}',
    ],
)
async def test_a_psd2_decision_with_a_lone_surrogate_is_refused_as_documented(
    scheme: Scheme, spec: Spec, body: str
) -> None:
    """A lone surrogate escape is no character: the OTP it claims to be has no UTF-8, so it
    is refused (400) before anything is compared or decided, never a 500."""
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST", PAYMENTS, payment(amount="5"), TPP_Decoupled_Preferred="true", PSU_ID="erika"
        )
        authorisation_id = created["_links"]["scaStatus"]["href"].rsplit("/", 1)[1]
        admin = Admin(scheme.url, http, spec)
        decide = f"/admin/psd2/authorisations/{authorisation_id}/decision"
        refused = await admin.call("POST", decide, 400, text=body)
        assert "Unicode" in refused["error"]
        state = await admin.call("GET", f"/admin/psd2/intents/{created['paymentId']}", 200)
        assert state["authorisations"][0]["scaStatus"] == "started"  # nothing decided
        forced = f"/admin/psd2/intents/{created['paymentId']}/status"
        await admin.call("POST", forced, 400, text='{"status": "RJCT", "reason": "\\ud800"}')


async def test_a_banks_decision_on_a_payment_a_reset_removed_while_it_arrived_is_a_404(
    scheme: Scheme,
) -> None:
    """The payment is looked up once the decision has arrived: a reset while its body was
    on its way leaves no payment to reject, so the answer is 404, not the 200 of a payment
    of the scheme that is gone."""
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        _, created, _ = await tpp.call(
            "POST", PAYMENTS, payment(amount="5"), TPP_Decoupled_Preferred="true", PSU_ID="erika"
        )
        payment_id = created["paymentId"]
        host, port = urlsplit(scheme.url).hostname, urlsplit(scheme.url).port
        assert host is not None and port is not None
        reader, writer = await asyncio.open_connection(host, port)
        body = b'{"status": "RJCT", "reason": "fraud"}'
        writer.write(
            f"POST /admin/psd2/intents/{payment_id}/status HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        await asyncio.sleep(0.2)  # the handler waits for the body
        async with http.post(f"{scheme.url}/admin/reset") as reset:
            assert reset.status == 200
        writer.write(body)
        await writer.drain()
        answer = await reader.read()
        writer.close()
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line == b"HTTP/1.1 404 Not Found", answer
        async with http.get(f"{scheme.url}/admin/psd2/intents/{payment_id}") as now:
            assert now.status == 404


async def test_a_uk_consents_state_and_the_banks_rejection_are_answered_as_documented(
    scheme: Scheme, spec: Spec
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = UkTpp(scheme, http, "3.1")
        token = await tpp.token(grant_type="client_credentials", scope="payments")
        _, consent = await tpp.call(
            "POST", "domestic-payment-consents", token["access_token"], consent_body("3.1")
        )
        consent_id = consent["Data"]["ConsentId"]
        admin = Admin(scheme.url, http, spec)
        state = await admin.call("GET", f"/admin/psd2/intents/{consent_id}", 200)
        assert (state["dialect"], state["status"]) == ("obie", "AwaitingAuthorisation")
        forced = f"/admin/psd2/intents/{consent_id}/status"
        rejected = await admin.call("POST", forced, 200, {"status": "RJCT", "reason": "fraud"})
        assert rejected["status"] == "Rejected"
        await admin.call("POST", forced, 409, {"status": "RJCT"})


REFUSALS = [
    # (method, path, JSON body or raw text, status, code): each a documented refusal
    ("GET", "/admin/journal?since=later", None, 400, None),
    ("GET", "/admin/journal?limit=1_0", None, 400, None),
    ("GET", "/admin/journal/stream?since=%D9%A1", None, 400, None),
    ("GET", "/admin/journal/stream?since=-1", None, 400, None),
    ("PUT", "/admin/fixtures", "hub: [", 400, "FIXTURES_NOT_YAML"),
    ("PUT", "/admin/fixtures", "participants: 3", 400, "FIXTURES_INVALID"),
    ("PUT", "/admin/participants/nobody/endpoint", {"endpoint": "http://127.0.0.1:1"}, 404, None),
    ("PUT", "/admin/participants/pispa/endpoint", {"endpoint": "ftp://x"}, 400, None),
    ("POST", "/admin/consents/nothing/revoke", None, 404, None),
    ("GET", "/admin/otp/nothing", None, 404, None),
    ("POST", "/admin/clock/advance", {"seconds": -1}, 400, None),
    ("POST", "/admin/clock/advance", "not json", 400, None),
    ("POST", "/admin/clock/advance", {"secs": 10}, 400, "BODY_MEMBER_UNKNOWN"),
    ("POST", "/admin/clock/advance", {}, 400, "BODY_MEMBER_MISSING"),
    ("PUT", "/admin/participants/pispa/endpoint", {"url": "x"}, 400, "BODY_MEMBER_UNKNOWN"),
    ("POST", "/admin/psd2/intents/nothing/status", {"state": "RJCT"}, 400, "BODY_MEMBER_UNKNOWN"),
    ("POST", "/admin/psd2/authorisations/nothing/decision", {"decision": "approve"}, 404, None),
    ("POST", "/admin/psd2/authorisations/nothing/decision", {"decision": "maybe"}, 400, None),
    ("GET", "/admin/psd2/intents/nothing", None, 404, None),
    ("POST", "/admin/psd2/intents/nothing/status", {"status": "RJCT"}, 404, None),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), REFUSALS)
async def test_refusals_have_the_documented_problem_shape(
    make_scheme: MakeScheme,
    spec: Spec,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str | None,
) -> None:
    scheme = await make_scheme()
    async with aiohttp.ClientSession() as http:
        admin = Admin(scheme.url, http, spec)
        text, sent = (body, None) if isinstance(body, str) else (None, body)
        problem = await admin.call(method, path, status, sent, text=text)
    assert problem["error"]
    assert problem.get("code") == code


async def test_a_request_from_another_site_is_the_documented_403(
    scheme: Scheme, spec: Spec
) -> None:
    async with aiohttp.ClientSession() as http:
        admin = Admin(scheme.url, http, spec)
        refused = await admin.call(
            "POST", "/admin/reset", 403, headers={"Origin": "http://evil.example"}
        )
    assert "other sites" in refused["error"]


async def test_exactly_the_routes_documented_as_guarded_need_the_token() -> None:
    document = admin_openapi()
    async with served(TOKEN) as url, aiohttp.ClientSession() as http:
        for template, item in document["paths"].items():
            for method in (m for m in METHODS if m in item):
                path = re.sub(r"\{[^}]+\}", "x", template)
                async with http.request(method, url + path) as response:
                    guarded = item[method].get("security") != []
                    assert (response.status == 401) is guarded, f"{method} {template}"


async def test_the_token_refusals_and_the_guarded_document_are_as_documented(spec: Spec) -> None:
    async with served(TOKEN) as url, aiohttp.ClientSession() as http:
        admin = Admin(url, http, spec)
        missing = await admin.call("GET", "/admin/openapi.json", 401)
        assert missing["code"] == "ADMIN_TOKEN_REQUIRED"
        wrong = await admin.call("GET", "/metrics", 401, headers={"Authorization": "Bearer not-it"})
        assert wrong["code"] == "ADMIN_TOKEN_INVALID"
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        served_document = await admin.call("GET", "/admin/openapi.json", 200, headers=bearer)
        assert served_document == admin_openapi()
        assert served_document["info"]["version"] != "0"  # the installed tpsim's
        assert "tpsim_journal_entries" in await admin.call("GET", "/metrics", 200, headers=bearer)
        assert "<html" in (await admin.call("GET", "/ui", 200)).lower()  # open, by design


async def test_the_journal_stream_is_the_documented_event_stream(
    scheme: Scheme, spec: Spec
) -> None:
    await complete_transfer(scheme, REQUEST_ID)
    await scheme.settle()
    operation = spec.operation("GET", "/admin/journal/stream")
    assert operation is not None
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{scheme.url}/admin/journal/stream?since=0") as response,
    ):
        backlog = b""
        while b": live after" not in backlog:
            backlog += await response.content.readuntil(b"\n\n")
        problems = operation.check_response(
            response.status, backlog.decode(), dict(response.headers)
        )
    assert not problems, problems
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert "X-Tpsim-Instance" in response.headers  # documented in the 200's headers


# --- helpers --------------------------------------------------------------------------------


def _documented(path: str) -> bool:
    """Whether a mounted path belongs to the admin API the document describes."""
    return path.startswith(DOCUMENTED_PREFIXES) or path in DOCUMENTED_PATHS


def _shape(template: str) -> str:
    """A path template with its parameters unnamed: aiohttp's ``{consent_id}`` is the
    document's ``{consentId}``."""
    return re.sub(r"\{[^}]*\}", "{}", template)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield str(node["$ref"])
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolved(node: dict[str, Any]) -> dict[str, Any]:
    """A parameter after its ``$ref`` (one level: the document's references are direct)."""
    if "$ref" not in node:
        return node
    target: dict[str, Any] = admin_openapi()
    for part in str(node["$ref"])[2:].split("/"):
        target = target[part]
    return target
