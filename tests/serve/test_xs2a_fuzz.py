"""XS2A PIS under schemathesis: what a TPP sends never gets a 5xx, only documented answers.

Issue 12's hardening promise on ``/xs2a/…``. A real ``tpsim serve`` (a subprocess on an
ephemeral loopback port; the built-in config, with dfspa's cancellations needing SCA so
cancellation authorisations exist) is fuzzed with requests schemathesis generates from the
bundled Berlin Group OpenAPI, one test per PIS operation: positive and negative data, a
fixed seed, ``EXAMPLES`` requests per operation, mode and target. The targets are generated
path parameters and the real thing (``targets``): for the initiation each payment service
with a product dfspa offers, for an operation on a payment a payment awaiting SCA and its
authorisation, or a periodic payment whose cancellation awaits SCA.

Every answer must:

- not be a 5xx;
- have a status, content type, headers and JSON body the OpenAPI documents for the
  operation (schemathesis's conformance checks);
- as a refusal (4xx), be ``tppMessages`` with category ERROR and a code;
- echo ``X-Request-ID`` when the request sent one (a UUID; any answer carries one).

Afterwards tpsim still initiates a valid payment (201). A failure lists each distinct
problem once, with a curl command that reproduces it.
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from schemathesis import CheckContext, GenerationMode, Response
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.openapi.checks import JsonSchemaError

from tests.support.fuzz import (
    AnyCase,
    Check,
    Fuzzing,
    Operation,
    PathParameters,
    Problems,
    Target,
    checked_call,
    fuzz,
    load_schema,
    sent_header,
    served,
)
from tpsim.config import load_config
from tpsim.specs.openapi3 import BUNDLED, Spec

PIS = "Payment Initiation Service (PIS)"
SPEC = files("tpsim").joinpath("specs", "psd2", BUNDLED["xs2a"])

# The PIS operations of the NextGenPSD2 1.3.11 OpenAPI (the spec's own order).
INITIATE = "/v1/{payment-service}/{payment-product}"
PAYMENT = f"{INITIATE}/{{paymentId}}"
OPERATIONS = [
    ("POST", INITIATE),
    ("GET", PAYMENT),
    ("DELETE", PAYMENT),
    ("GET", f"{PAYMENT}/status"),
    ("POST", f"{PAYMENT}/authorisations"),
    ("GET", f"{PAYMENT}/authorisations"),
    ("GET", f"{PAYMENT}/authorisations/{{authorisationId}}"),
    ("PUT", f"{PAYMENT}/authorisations/{{authorisationId}}"),
    ("POST", f"{PAYMENT}/cancellation-authorisations"),
    ("GET", f"{PAYMENT}/cancellation-authorisations"),
    ("GET", f"{PAYMENT}/cancellation-authorisations/{{authorisationId}}"),
    ("PUT", f"{PAYMENT}/cancellation-authorisations/{{authorisationId}}"),
]

ERIKA, MAX = "DE89370400440532013000", "DE02120300000000202051"
OK_URI = "http://localhost:8000/cb/ok"  # under tpp-one's redirect URIs; never contacted
SEPA = {"payment-product": "sepa-credit-transfers"}
UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


# -- the served tpsim ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``tpsim serve`` with ``_served_config``."""
    with served(_served_config(), tmp_path_factory.mktemp("xs2a-fuzz")) as url:
        yield url


def _served_config() -> dict[str, Any]:
    """The built-in config, with dfspa asking SCA for the cancellation of an authorised
    payment (``payment_cancellation_authorisation_mandated``)."""
    data = load_config().model_dump(mode="json")
    for participant in data["participants"]:
        if participant["fsp_id"] == "dfspa":
            participant["psd2"] = {"xs2a": {"payment_cancellation_authorisation_mandated": True}}
    return data


@pytest.fixture(scope="module")
def schema(site: str) -> schemathesis.BaseSchema:
    """The bundled XS2A OpenAPI's PIS operations, aimed at dfspa of the served tpsim (the
    spec's servers are the example bank's, never contacted)."""
    return load_schema(SPEC, f"{site}/xs2a/dfspa").include(tag=PIS)


# -- the checks ---------------------------------------------------------------------------


def refusals_are_coded_tpp_messages(ctx: CheckContext, response: Response, case: AnyCase) -> None:
    """A 4xx is the dialect's error: ``tppMessages``, each category ERROR with a code."""
    if not 400 <= response.status_code < 500:
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"a {response.status_code} without a JSON body") from None
    messages = body.get("tppMessages") if isinstance(body, dict) else None
    assert isinstance(messages, list) and messages, f"no tppMessages in {body!r}"
    for message in messages:
        assert message.get("category") == "ERROR", f"not category ERROR: {message!r}"
        assert isinstance(message.get("code"), str) and message["code"], f"no code: {message!r}"


def request_id_is_echoed(ctx: CheckContext, response: Response, case: AnyCase) -> None:
    """A UUID ``X-Request-ID`` (the spec's ``format: uuid``) comes back as sent. (tpsim
    answers any other with a new one, which ``response_headers_conformance`` checks.)"""
    sent = sent_header(response, "X-Request-ID")
    if sent is None or not UUID.fullmatch(sent.strip()):
        return
    echoed = response.headers.get("x-request-id", [])
    assert echoed == [sent.strip()], f"X-Request-ID {sent!r} came back as {echoed!r}"


def body_conforms(ctx: CheckContext, response: Response, case: AnyCase) -> bool | None:
    """``response_schema_conformance``, with one narrow exclusion of the spec's own
    inconsistency: an answer valid under more than one alternative of a ``oneOf``. In
    NextGenPSD2 1.3.11 the PUT authorisation 200 is ``oneOf`` updatePsuIdenticationResponse,
    updatePsuAuthenticationResponse, selectPsuAuthenticationMethodResponse and
    scaStatusResponse, which all require only ``scaStatus`` and allow more properties: no
    answer can match exactly one. Such an answer must then conform with ``oneOf`` read as
    ``anyOf``, the reading of ``tpsim.specs.schema``, which still finds every other problem."""
    try:
        response_schema_conformance(ctx, response, case)
    except JsonSchemaError as error:
        if not error.schema_path or error.schema_path[-1] != "oneOf":
            raise
        operation = Spec.load("xs2a").operation(case.method, case.formatted_path)
        assert operation is not None, case.formatted_path
        problems = operation.check_response(response.status_code, json.loads(response.content))
        if problems:
            raise
    return None


CHECKS: list[Check] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    body_conforms,
    response_headers_conformance,
    refusals_are_coded_tpp_messages,
    request_id_is_echoed,
]


# -- real resources -----------------------------------------------------------------------


def call(
    schema: schemathesis.BaseSchema,
    method: str,
    path: str,
    parameters: PathParameters,
    body: Any = None,
    **headers: str,
) -> Response:
    """One valid request, its answer checked like every fuzzed one."""
    operation = schema[path][method]
    case = operation.Case(
        path_parameters=parameters,
        headers={
            "X-Request-ID": str(uuid.uuid4()),
            "PSU-IP-Address": "192.168.8.78",
            **{name.replace("_", "-"): value for name, value in headers.items()},
        },
        **({} if body is None else {"body": body, "media_type": "application/json"}),
    )
    return checked_call(case, CHECKS)


def payment_body(**more: Any) -> dict[str, Any]:
    return {
        "instructedAmount": {"currency": "EUR", "amount": "1.00"},
        "debtorAccount": {"iban": ERIKA},
        "creditorName": "Max Mustermann",
        "creditorAccount": {"iban": MAX},
        "remittanceInformationUnstructured": "fuzz",
        **more,
    }


def payment_awaiting_sca(schema: schemathesis.BaseSchema) -> PathParameters:
    """An embedded payment of erika's (RCVD) and the authorisation started with it."""
    parameters = {"payment-service": "payments", **SEPA}
    created = call(
        schema,
        "POST",
        INITIATE,
        parameters,
        payment_body(),
        TPP_Redirect_Preferred="false",
        PSU_ID="erika",
    )
    assert created.status_code == 201, created.content
    parameters["paymentId"] = json.loads(created.content)["paymentId"]
    listed = call(schema, "GET", f"{PAYMENT}/authorisations", parameters)
    return {**parameters, "authorisationId": json.loads(listed.content)["authorisationIds"][0]}


def cancellation_awaiting_sca(schema: schemathesis.BaseSchema) -> PathParameters:
    """A periodic payment starting tomorrow, authorised (headless SCA), whose DELETE
    started a cancellation authorisation (dfspa mandates SCA for cancellations)."""
    parameters = {"payment-service": "periodic-payments", **SEPA}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    body = payment_body(startDate=tomorrow, frequency="Monthly")
    created = call(schema, "POST", INITIATE, parameters, body, TPP_Redirect_URI=OK_URI)
    assert created.status_code == 201, created.content
    answer = json.loads(created.content)
    parameters["paymentId"] = answer["paymentId"]
    _approve_headless(answer["_links"]["scaRedirect"]["href"])
    cancelled = call(schema, "DELETE", PAYMENT, parameters)
    assert cancelled.status_code == 202, cancelled.content
    listed = call(schema, "GET", f"{PAYMENT}/cancellation-authorisations", parameters)
    return {**parameters, "authorisationId": json.loads(listed.content)["authorisationIds"][0]}


def _approve_headless(link: str) -> None:
    """The PSU approves on the bank's SCA page (``sim_decision``); the 302 back to the TPP
    is not followed."""
    url = urlsplit(link)
    connection = http.client.HTTPConnection(url.netloc, timeout=10)
    try:
        connection.request("GET", f"{url.path}?sim_decision=approve")
        assert connection.getresponse().status == 302
    finally:
        connection.close()


def targets(schema: schemathesis.BaseSchema, operation: Operation) -> list[Target]:
    """What an operation's requests are fuzzed on: generated path parameters, and the real
    thing: for the initiation each payment service with a product dfspa offers (so that
    bodies get parsed, not refused for the product), for an operation on a payment a
    payment or cancellation awaiting SCA."""
    generated: Target = ("generated path", None)
    if operation.path == INITIATE:
        return [generated] + [
            (f"{service}/sepa-credit-transfers", {"payment-service": service, **SEPA})
            for service in ("payments", "periodic-payments", "bulk-payments")
        ]
    if "/cancellation-authorisations" in operation.path:
        real = cancellation_awaiting_sca(schema)
    else:
        real = payment_awaiting_sca(schema)
    names = {p.name for p in operation.iter_parameters() if p.location.value == "path"}
    return [generated, ("real resources", {k: v for k, v in real.items() if k in names})]


# -- the tests ----------------------------------------------------------------------------


def test_the_fuzzed_operations_are_the_pis_operations_of_the_spec(
    schema: schemathesis.BaseSchema,
) -> None:
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "an operation the OpenAPI defines badly"
    assert [(op.method.upper(), op.path) for op in operations] == OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests_get_coded_documented_answers_and_never_a_5xx(
    schema: schemathesis.BaseSchema, method: str, path: str
) -> None:
    operation = schema[path][method]
    problems = Problems()
    for target in targets(schema, operation):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, target, Fuzzing(CHECKS), problems)
    assert not problems, f"{method} {path}:\n\n{problems.report()}"

    # …and tpsim still serves: a valid payment is initiated.
    assert payment_awaiting_sca(schema)["paymentId"]
