"""STET PIS under schemathesis: what a PISP sends never gets a 5xx, only STET's answers.

The hardening promise on ``/stet/…``, as ``test_xs2a_fuzz.py`` and ``test_obie_fuzz.py``
keep it for the other dialects. No official STET OpenAPI ships here, so the requests are
generated from an OpenAPI 3.0 document built from tpsim's own wire models
(``tests.support.stet_openapi.document``): the five payment-request operations, with a
bearer token and ``X-Request-ID``, ``Signature``, ``Digest`` headers. A real ``tpsim
serve`` (a subprocess on an ephemeral loopback port; the built-in config, with dfspb
playing the o-confirmation variant and Louis given money to pay from there) is fuzzed at
both banks, one test per operation and bank: positive and negative data, a fixed seed,
``EXAMPLES`` requests per operation, mode and target.

The targets are generated ids and the real thing: a payment request awaiting the PSU, one
the PSU approved and the bank settled, and at dfspb one approved and awaiting its
o-confirmation with the PSU's token (the first executes it, the rest find nothing to
confirm). Generated requests carry the PISP's own token (the PSU's for the
o-confirmation) through schemathesis's auth hook; some carry none or one never issued
(401), or one of another scope or kind (403). A PUT is also sent as a real cancellation
(the first cancels, the rest are refused).

Every answer must:

- not be a 5xx;
- have a status, content type and JSON body the document allows for the operation;
- be a STET body tpsim may send (``stet.models.sent_problems``: the 201's, the payment
  request's, or an ``ErrorModel`` whose ``status`` is the answer's);
- echo the ``X-Request-ID`` sent when it is visible ASCII of at most 128 characters, and
  carry one in any case; a 401 names its challenge (``WWW-Authenticate``).

Afterwards tpsim still takes a payment request (201). A failure lists each distinct
problem once, with a curl command that reproduces it.
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

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
from schemathesis.errors import FailureGroup

from tests.stet.support import CLAIRE, OK_URL, payment_request
from tests.support.fuzz import (
    EXAMPLES,
    AnyCase,
    Check,
    Fuzzing,
    Operation,
    PathParameters,
    Problems,
    Target,
    bearer,
    checked_call,
    fuzz,
    load_schema,
    sent_header,
    served,
)
from tests.support.stet_openapi import CALLBACK, CLIENT, OPERATIONS, REQUEST, basic, document
from tpsim.config import load_config
from tpsim.stet.models import SentKind, sent_problems

BANKS = ("dfspa", "dfspb")  # dfspb plays the o-confirmation variant
PAYER = {"dfspa": "claire", "dfspb": "louis"}
FEW = max(1, EXAMPLES // 2)  # requests per token variant (none, unknown, wrong kind)
ID = "paymentRequestResourceId"
_ECHOED = re.compile(r"[\x21-\x7e]{1,128}")  # what tpsim echoes (stet.api)
PLAYED = [(method, path) for method, path, *_ in OPERATIONS]
# Every operation at dfspa; at dfspb those the o-confirmation variant answers otherwise.
FUZZED = [("dfspa", m, p) for m, p in PLAYED] + [
    ("dfspb", m, p) for m, p in PLAYED if m == "GET" or "confirmation" in p
]


# -- the served tpsim ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``tpsim serve`` with ``_served_config``."""
    with served(_served_config(), tmp_path_factory.mktemp("stet-fuzz")) as url:
        yield url


def _served_config() -> dict[str, Any]:
    """The built-in config; dfspb plays the o-confirmation variant, and Louis (at dfspb)
    has 1000 EUR to pay Claire with."""
    data = load_config().model_dump(mode="json")
    for participant in data["participants"]:
        if participant["fsp_id"] == "dfspb":
            participant["psd2"] = {"stet": {"o_confirmation": True}}
    for account in data["accounts"]:
        if account["address"] == "dfspb.louis.courant":
            account["balance"] = "1000"
    return data


@pytest.fixture(scope="module", params=BANKS)
def schema(
    request: pytest.FixtureRequest, site: str, tmp_path_factory: pytest.TempPathFactory
) -> schemathesis.BaseSchema:
    """The document aimed at one bank's STET API on the served tpsim."""
    path = tmp_path_factory.mktemp("stet-openapi") / "stet.json"
    path.write_text(json.dumps(document()))
    return load_schema(path, f"{site}/stet/{request.param}/v1")


# -- the checks ---------------------------------------------------------------------------


def answers_are_stet_bodies(ctx: CheckContext, response: Response, case: AnyCase) -> None:
    """The body is one tpsim may send (``sent_problems``): a 201's, a payment request's,
    or an ``ErrorModel`` with the answer's own status."""
    status = response.status_code
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"a {status} without a JSON body: {response.content!r}") from None
    kind: SentKind = "created" if status == 201 else "payment_request" if status < 300 else "error"
    problems = sent_problems(kind, body)
    assert not problems, f"not a STET {kind} body: {problems}"
    if kind == "error":
        assert body["status"] == status, f"ErrorModel status {body['status']} in a {status}"


def request_id_is_echoed(ctx: CheckContext, response: Response, case: AnyCase) -> None:
    """Every answer carries ``X-Request-ID``: the PISP's when it is one tpsim echoes."""
    answered = response.headers.get("x-request-id", [])
    assert len(answered) == 1 and answered[0], f"X-Request-ID: {answered!r}"
    sent = sent_header(response, "X-Request-ID")
    if sent is not None and _ECHOED.fullmatch(sent):
        assert answered == [sent], f"X-Request-ID {sent!r} came back as {answered!r}"


def a_401_names_its_challenge(ctx: CheckContext, response: Response, case: AnyCase) -> None:
    """RFC 9110 §15.5.2: a 401 sends ``WWW-Authenticate``."""
    if response.status_code == 401:
        assert response.headers.get("www-authenticate"), "a 401 without WWW-Authenticate"


CHECKS: list[Check] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    answers_are_stet_bodies,
    request_id_is_echoed,
    a_401_names_its_challenge,
]


def refused_with(status: int) -> Check:
    """A check: the answer is ``status`` (a token is refused before anything else)."""

    def refused(ctx: CheckContext, response: Response, case: AnyCase) -> None:
        assert response.status_code == status, f"{response.status_code}, not {status}"

    return refused


# -- real resources -----------------------------------------------------------------------


@dataclass
class Bank:
    """One bank's STET API as a PISP uses it: tokens from its OAuth server, payment
    requests made with the document's operations (each answer checked like a fuzzed one),
    and the PSU's approval (headless) at the bank."""

    schema: schemathesis.BaseSchema

    def __post_init__(self) -> None:
        base = urlsplit(self.schema.config.base_url or "")
        self.netloc, self.oauth = base.netloc, base.path.removesuffix("/v1")
        self.fsp_id = self.oauth.rsplit("/", 1)[1]
        self.client = self.token(grant_type="client_credentials", scope="pisp")

    @property
    def o_confirmation(self) -> bool:
        return self.fsp_id == "dfspb"

    def token(self, **form: str) -> str:
        """An access token from ``POST {base}/token`` (client_secret_basic)."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": basic(*CLIENT),
        }
        status, _, body = self._http("POST", f"{self.oauth}/token", urlencode(form), headers)
        assert status == 200, body
        return str(json.loads(body)["access_token"])

    def body(self) -> dict[str, Any]:
        """1.00 EUR from the bank's PSU (chosen at the bank) to someone at the other."""
        if self.o_confirmation:
            return payment_request("1.00", creditor=CLAIRE)
        return payment_request("1.00")

    def awaiting(self) -> tuple[str, str]:
        """A new payment request awaiting the PSU: (its id, its consentApproval)."""
        case = self.schema[REQUEST]["POST"].Case(
            headers=self.headers(self.client), body=self.body(), media_type="application/json"
        )
        response = checked_call(case, CHECKS)
        assert response.status_code == 201, response.content
        created = json.loads(response.content)
        resource_id = response.headers["location"][0].rsplit("/", 1)[1]
        return resource_id, created["_links"]["consentApproval"]["href"]

    def approved(self) -> tuple[str, str | None]:
        """A payment request the PSU approved (headless): its id, and in the o-confirmation
        variant the PSU's token (the request then awaits its o-confirmation)."""
        resource_id, link = self.awaiting()
        sim = {"sim_decision": "approve", "sim_psu": PAYER[self.fsp_id]}
        if not self.o_confirmation:
            self._approve(f"{link}?{urlencode(sim)}", OK_URL)
            return resource_id, None
        mine = {"redirect_uri": CALLBACK, "state": "fuzz", **sim}
        back = urlsplit(self._approve(f"{link}&{urlencode(mine)}", CALLBACK))
        code = dict(parse_qsl(back.query))["code"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
        return resource_id, self.token(**form)

    def settled(self) -> str:
        """A payment request approved and executed (o-confirmed where that is the way)."""
        resource_id, psu = self.approved()
        if psu is not None:
            operation = self.schema[f"{REQUEST}/{{{ID}}}/o-confirmation"]["POST"]
            case = operation.Case(
                path_parameters={ID: resource_id},
                headers=self.headers(psu),
                body={},
                media_type="application/json",
            )
            assert checked_call(case, CHECKS).status_code == 200
        return resource_id

    def cancellation(self, resource_id: str) -> dict[str, Any]:
        """The PUT that cancels ``resource_id``: the resource as GET gives it, RJCT / DS02."""
        case = self.schema[f"{REQUEST}/{{{ID}}}"]["GET"].Case(
            path_parameters={ID: resource_id}, headers=self.headers(self.client)
        )
        response = checked_call(case, CHECKS)
        resource: dict[str, Any] = json.loads(response.content)["paymentRequest"]
        return {**resource, "paymentInformationStatus": "RJCT", "statusReasonInformation": "DS02"}

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "X-Request-ID": str(uuid.uuid4())}

    def _approve(self, url: str, back_at: str) -> str:
        """The PSU's headless decision on the link: where the bank sends the browser."""
        status, headers, body = self._http("GET", url.split(self.netloc, 1)[1])
        assert status == 302 and headers["location"].startswith(back_at), (status, body)
        return headers["location"]

    def _http(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        """One plain request (the OAuth server, the approval link); no redirect followed."""
        connection = http.client.HTTPConnection(self.netloc, timeout=10)
        try:
            connection.request(method, path, body, headers or {})
            answer = connection.getresponse()
            answered = {name.lower(): value for name, value in answer.getheaders()}
            return answer.status, answered, answer.read().decode(errors="replace")
        finally:
            connection.close()


# -- what is fuzzed -----------------------------------------------------------------------

BOTH = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
POSITIVE = (GenerationMode.POSITIVE,)


@dataclass(frozen=True)
class Batch:
    """Requests for one target, with one token, in the given modes."""

    target: Target
    how: Fuzzing
    modes: tuple[GenerationMode, ...] = BOTH


def batches(bank: Bank, operation: Operation) -> list[Batch]:
    """What an operation's requests are fuzzed on, with the right token (module
    docstring); and on a real target, without a token, with one never issued and with
    one of another scope, each with a body that would otherwise be taken."""
    method, path = operation.method.upper(), operation.path
    client = bearer(bank.client)
    body: Any = None
    real: Target
    found = [Batch(("generated", None), Fuzzing(CHECKS, client))]
    if path == REQUEST:
        body, real = bank.body(), ("a valid request", None)
        found.append(Batch(real, Fuzzing(CHECKS, client, body=body), POSITIVE))
    else:
        awaiting: PathParameters = {ID: bank.awaiting()[0]}
        real = ("a request awaiting the PSU", awaiting)
        found.append(Batch(real, Fuzzing(CHECKS, client)))
        settled = ("a settled request", {ID: bank.settled()})
        found.append(Batch(settled, Fuzzing(CHECKS, client), POSITIVE))
        body = {} if method == "POST" else None
        if method == "PUT":
            body = bank.cancellation(awaiting[ID])
            cancel = Fuzzing(CHECKS, client, body=body)
            found.append(Batch(("its cancellation", awaiting), cancel, POSITIVE))
        if path.endswith("/o-confirmation") and bank.o_confirmation:
            approved, psu = bank.approved()
            assert psu is not None
            real = ("an approved request, the PSU's token", {ID: approved})
            found.append(Batch(real, Fuzzing(CHECKS, bearer(psu), body={}), POSITIVE))
    wrong = bank.token(grant_type="client_credentials", scope="payments")
    for name, token, status in (
        ("no token", None, 401),
        ("a token never issued", "x" * 43, 401),
        ("a token of another scope", wrong, 403),
    ):
        checks = [*CHECKS, refused_with(status)]
        how = Fuzzing(checks, bearer(token), body=body, examples=FEW)
        found.append(Batch((f"{real[0]}, {name}", real[1]), how, POSITIVE))
    return found


# -- the tests ----------------------------------------------------------------------------


def test_the_document_defines_the_five_payment_request_operations(
    schema: schemathesis.BaseSchema,
) -> None:
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "an operation the document defines badly"
    assert sorted((op.method.upper(), op.path) for op in operations) == sorted(PLAYED)


def counterfeit(response: Response, change: str) -> Response:
    """``response`` (tpsim's 404 ErrorModel) changed the way ``change`` names."""
    status, headers = response.status_code, dict(response.headers)
    body = json.loads(response.content)
    if change == "an ErrorModel of another status":
        body["status"] = 400
    elif change == "a null member":
        body["error"] = None
    elif change == "a 401 without WWW-Authenticate":
        status = body["status"] = 401
    elif change == "another X-Request-ID":
        headers["x-request-id"] = ["not-the-one-sent"]
    content = json.dumps(body).encode()
    return Response(status, headers, content, response.request, elapsed=0.0, verify=False)


COUNTERFEITS = [
    ("an ErrorModel of another status", answers_are_stet_bodies),
    ("a null member", answers_are_stet_bodies),
    ("a 401 without WWW-Authenticate", a_401_names_its_challenge),
    ("another X-Request-ID", request_id_is_echoed),
]


@pytest.mark.parametrize(("change", "check"), COUNTERFEITS, ids=[c for c, _ in COUNTERFEITS])
def test_the_checks_refuse_an_answer_stet_does_not_allow(
    schema: schemathesis.BaseSchema, change: str, check: Check
) -> None:
    bank = Bank(schema)
    case = schema[f"{REQUEST}/{{{ID}}}"]["GET"].Case(
        path_parameters={ID: "no-such-request"}, headers=bank.headers(bank.client)
    )
    real = checked_call(case, CHECKS)  # tpsim's own answer passes every check
    assert real.status_code == 404
    with pytest.raises(FailureGroup):
        case.validate_response(counterfeit(real, change), checks=[check])


@pytest.mark.parametrize(
    ("schema", "method", "path"),
    FUZZED,
    ids=[f"{b}-{m} {p}" for b, m, p in FUZZED],
    indirect=["schema"],
)
def test_generated_requests_get_stet_answers_and_never_a_5xx(
    schema: schemathesis.BaseSchema, method: str, path: str
) -> None:
    bank = Bank(schema)
    operation = schema[path][method]
    problems = Problems()
    for batch in batches(bank, operation):
        for mode in batch.modes:
            fuzz(operation, mode, batch.target, batch.how, problems)
    assert not problems, f"{bank.fsp_id} {method} {path}:\n\n{problems.report()}"

    # …and tpsim still takes a payment request.
    assert bank.awaiting()[0]
