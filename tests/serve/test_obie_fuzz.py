"""UK Open Banking PIS under schemathesis: what a TPP sends never gets a 5xx, only
documented answers, for v3.1 and v4.0.

Issue 13's hardening promise on ``/obie/…`` ("schemathesis over both official OpenAPI
files, 0 × 5xx"). A real ``tpsim serve`` (a subprocess on an ephemeral loopback port, the
built-in config) is fuzzed with requests schemathesis generates from the bundled official
OpenAPI files of both versions, one test per operation tpsim plays and version (domestic
payments and domestic scheduled payments alike): positive and negative data, a fixed seed,
``EXAMPLES`` requests per operation, mode and target.

Generated requests carry a real bearer token through schemathesis's auth hook (the
client-credentials token or the PSU's, as the operation's security says), so they get past
401 to the checks behind it; some carry none or one never issued (401), or the wrong kind
(403). The targets are generated path parameters and the real thing: an authorised consent
of the operation's kind (with its PSU's token), a payment made on one; a generated payment
naming that consent; and, with only the headers generated, mits's own consent (a scheduled
one executing a day ahead) and the consent's own payment (the first pays, the rest meet a
consumed consent).

Every answer must:

- not be a 5xx;
- have a status, content type, headers and JSON body the OpenAPI of its version documents
  for the operation (schemathesis's conformance checks), and no body where it documents
  none;
- carry ``x-fapi-interaction-id``, the TPP's when it sent one tpsim echoes (visible ASCII,
  at most 128 characters: the spec gives the header no pattern);
- as a 4xx with a body, be an ``OBErrorResponse1`` of its version: v3.1's ``UK.OBIE.*``
  codes with ``Code`` and ``Message``, v4.0's U-codes.

The operations tpsim does not play (international, standing orders, file payments)
answer 404 without a body. Afterwards tpsim still takes a consent (201). A
failure lists each distinct problem once, with a curl command that reproduces it.
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import schemathesis
import yaml
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

from tests.support.fuzz import (
    EXAMPLES,
    AnyCase,
    Check,
    Fuzzing,
    Operation,
    Problems,
    Target,
    bearer,
    checked_call,
    fuzz,
    load_schema,
    sent_header,
    served,
)
from tpsim.config import load_config
from tpsim.specs.openapi3 import BUNDLED

VERSIONS = ("3.1", "4.0")
FEW = max(1, EXAMPLES // 2)  # requests per token variant (no, unknown, wrong kind)
CLIENT_ID, CLIENT_SECRET = "tpp-one", "tpp-one-secret"
REDIRECT_URI = "https://tpp.example/cb"  # tpp-one's; never contacted
MITS, HARRY = "10000109010101", "20000319470104"
INTERACTION = "x-fapi-interaction-id"
_ECHOED = re.compile(r"[\x21-\x7e]{1,128}")  # what tpsim echoes (obie.api)
_V4_CODE = re.compile(r"U[0-9]{3}")


@dataclass(frozen=True)
class Kind:
    """One kind of payment order tpsim plays: its operations, as the official OpenAPI files
    name them (the same in both versions)."""

    consents: str
    payments: str
    payment_id: str  # the path parameter (and answer member) naming a payment

    @property
    def consent(self) -> str:
        return f"{self.consents}/{{ConsentId}}"

    @property
    def payment(self) -> str:
        return f"{self.payments}/{{{self.payment_id}}}"

    @property
    def scheduled(self) -> bool:
        return "scheduled" in self.payments

    def operations(self) -> list[tuple[str, str]]:
        funds = [] if self.scheduled else [("GET", f"{self.consent}/funds-confirmation")]
        return [
            ("POST", self.consents),
            ("GET", self.consent),
            *funds,
            ("POST", self.payments),
            ("GET", self.payment),
            ("GET", f"{self.payment}/payment-details"),
        ]


DOMESTIC = Kind("/domestic-payment-consents", "/domestic-payments", "DomesticPaymentId")
SCHEDULED = Kind(
    "/domestic-scheduled-payment-consents",
    "/domestic-scheduled-payments",
    "DomesticScheduledPaymentId",
)
KINDS = (DOMESTIC, SCHEDULED)
CONSENT = DOMESTIC.consent
PLAYED = [op for kind in KINDS for op in kind.operations()]
# PSUOAuth2Security in both files: funds confirmation and making a payment.
PSU_OPERATIONS = {
    ("GET", f"{DOMESTIC.consent}/funds-confirmation"),
    *(("POST", kind.payments) for kind in KINDS),
}


def kind_of(path: str) -> Kind:
    return SCHEDULED if path.startswith("/domestic-scheduled-") else DOMESTIC


# -- the served tpsim ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``tpsim serve`` with the built-in config (dfspa plays UK, mits banks there)."""
    config = load_config().model_dump(mode="json")
    with served(config, tmp_path_factory.mktemp("obie-fuzz")) as url:
        yield url


@pytest.fixture(scope="module", params=VERSIONS, ids=[f"v{v}" for v in VERSIONS])
def schema(request: pytest.FixtureRequest, site: str) -> schemathesis.BaseSchema:
    """The official OpenAPI of one version, aimed at dfspa of the served tpsim."""
    version: str = request.param
    spec = files("tpsim").joinpath("specs", "psd2", BUNDLED[f"obie-{version}"])
    return load_schema(spec, f"{site}/obie/dfspa/open-banking/v{version}/pisp")


def version_of(schema: schemathesis.BaseSchema) -> str:
    base_url = schema.config.base_url or ""
    return next(v for v in VERSIONS if f"/v{v}/" in base_url)


# -- the checks ---------------------------------------------------------------------------


def interaction_id_is_answered(ctx: CheckContext, response: Response, case: AnyCase) -> None:
    """Every answer carries ``x-fapi-interaction-id``; the TPP's, when tpsim echoes it."""
    answered = response.headers.get(INTERACTION, [])
    assert len(answered) == 1 and answered[0], f"{INTERACTION}: {answered!r}"
    sent = sent_header(response, INTERACTION)
    if sent is not None and _ECHOED.fullmatch(sent):
        assert answered == [sent], f"{INTERACTION} {sent!r} came back as {answered!r}"


def bodiless_where_documented(ctx: CheckContext, response: Response, case: AnyCase) -> None:
    """A status the OpenAPI documents without content (401, 404, 405, 406, 415) has no
    body: the conformance checks only look at bodies that are documented."""
    documented = case.operation.responses.find_by_status_code(response.status_code)
    if documented is None or documented.definition.get("content"):
        return
    assert not response.content, f"a {response.status_code} with a body: {response.content!r}"


def refusals_are_ob_error_responses(ctx: CheckContext, response: Response, case: AnyCase) -> None:
    """A 4xx with a body is the ``OBErrorResponse1`` of the request's version: v3.1 with
    ``Code``, ``Message`` and the namespaced ``UK.OBIE.*`` codes of its OBError1, v4.0 with
    its four-character U-codes."""
    if not 400 <= response.status_code < 500 or not response.content:
        return
    body = json.loads(response.content)
    errors = body.get("Errors") if isinstance(body, dict) else None
    assert isinstance(errors, list) and errors, f"no Errors in {body!r}"
    codes = [error.get("ErrorCode") for error in errors]
    if "/open-banking/v3.1/" in (response.request.url or ""):
        assert {"Code", "Message"} <= set(body), f"a v3.1 error without Code, Message: {body!r}"
        unknown = set(codes) - v3_error_codes()
        assert not unknown, f"not UK.OBIE.* codes of v3.1's OBError1: {sorted(unknown)}"
    else:
        assert all(isinstance(c, str) and _V4_CODE.fullmatch(c) for c in codes), codes


@cache
def v3_error_codes() -> frozenset[str]:
    """OBError1's ErrorCode values in the v3.1 file (its ``x-namespaced-enum``)."""
    spec = files("tpsim").joinpath("specs", "psd2", BUNDLED["obie-3.1"]).read_text()
    error = yaml.safe_load(spec)["components"]["schemas"]["OBError1"]
    return frozenset(error["properties"]["ErrorCode"]["x-namespaced-enum"])


CHECKS: list[Check] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    bodiless_where_documented,
    interaction_id_is_answered,
    refusals_are_ob_error_responses,
]


# -- real resources -----------------------------------------------------------------------


@dataclass
class Bank:
    """dfspa's UK API of one version as a TPP written from the spec uses it: tokens from
    the bank's OAuth server, every API answer checked like each fuzzed one."""

    schema: schemathesis.BaseSchema

    def __post_init__(self) -> None:
        self.version = version_of(self.schema)
        base = urlsplit(self.schema.config.base_url or "")
        self.netloc, self.oauth = base.netloc, base.path.split("/open-banking/")[0]
        self.client = self.token(grant_type="client_credentials", scope="payments")

    def token(self, **form: str) -> str:
        """An access token from ``POST {base}/token`` (client_secret_post)."""
        sent = urlencode({**form, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, body = self._http("POST", f"{self.oauth}/token", sent, headers)
        assert status == 200, body
        return str(json.loads(body)["access_token"])

    def consent(self, kind: Kind = DOMESTIC) -> dict[str, Any]:
        """A new consent of mits's (AwaitingAuthorisation) of ``kind``: the 201's body."""
        case = self.schema[kind.consents]["POST"].Case(
            headers=self.headers(self.client, idempotent=True),
            body=consent_body(self.version, kind),
            media_type="application/json",
        )
        response = checked_call(case, CHECKS)
        assert response.status_code == 201, response.content
        created: dict[str, Any] = json.loads(response.content)
        return created

    def authorise(self, consent_id: str) -> str:
        """Mits approves the consent (headless SCA); the code gives the PSU's token."""
        query = {
            "response_type": "code id_token",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid payments",
            "state": "fuzz",
            "nonce": str(uuid.uuid4()),
            "openbanking_intent_id": consent_id,
            "sim_decision": "approve",
            "sim_psu": "mits",
        }
        status, headers, body = self._http("GET", f"{self.oauth}/authorize?{urlencode(query)}")
        assert status in (302, 303), body
        back = urlsplit(headers["location"])
        code = dict(parse_qsl(back.fragment or back.query))["code"]
        return self.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)

    def pay(self, consent: dict[str, Any], psu: str, kind: Kind = DOMESTIC) -> str:
        """The payment of an authorised ``consent`` of ``kind``: its id."""
        case = self.schema[kind.payments]["POST"].Case(
            headers=self.headers(psu, idempotent=True),
            body=payment_body(consent),
            media_type="application/json",
        )
        response = checked_call(case, CHECKS)
        assert response.status_code == 201, response.content
        return str(json.loads(response.content)["Data"][kind.payment_id])

    def headers(self, token: str, *, idempotent: bool = False) -> dict[str, str]:
        """A valid request's headers; a POST's also the idempotency key and a signature
        (required by the spec; tpsim ignores it by default)."""
        headers = {"Authorization": f"Bearer {token}", INTERACTION: str(uuid.uuid4())}
        if idempotent:
            headers |= {"x-idempotency-key": str(uuid.uuid4()), "x-jws-signature": "ignored"}
        return headers

    def _http(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        """One plain request to the bank's OAuth server; a redirect is not followed."""
        connection = http.client.HTTPConnection(self.netloc, timeout=10)
        try:
            connection.request(method, path, body, headers or {})
            answer = connection.getresponse()
            answered = {name.lower(): value for name, value in answer.getheaders()}
            return answer.status, answered, answer.read().decode(errors="replace")
        finally:
            connection.close()


def consent_body(version: str, kind: Kind = DOMESTIC) -> dict[str, Any]:
    """Mits pays Harry (at dfspb) £1.00 (a scheduled payment: a day from now); v4.0's
    Unstructured remittance is an array."""
    remittance: dict[str, Any] = {"Reference": "FUZZ-1", "Unstructured": "fuzz"}
    if version == "4.0":
        remittance = {"Unstructured": ["fuzz"]}
    account = {"SchemeName": "UK.OBIE.SortCodeAccountNumber"}
    initiation = {
        "InstructionIdentification": "FUZZ1",
        "EndToEndIdentification": "FUZZ.1",
        "InstructedAmount": {"Amount": "1.00", "Currency": "GBP"},
        "DebtorAccount": {**account, "Identification": MITS, "Name": "Mits"},
        "CreditorAccount": {**account, "Identification": HARRY, "Name": "Harry Smith"},
        "RemittanceInformation": remittance,
    }
    data: dict[str, Any] = {"Initiation": initiation}
    if kind.scheduled:
        at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        initiation["RequestedExecutionDateTime"] = at.isoformat()
        data["Permission"] = "Create"
    return {"Data": data, "Risk": {}}


def payment_body(consent: dict[str, Any]) -> dict[str, Any]:
    """The payment of ``consent`` (its 201 body): its Initiation and Risk unchanged."""
    data = consent["Data"]
    body = {"Data": {"ConsentId": data["ConsentId"], "Initiation": data["Initiation"]}}
    copied: dict[str, Any] = json.loads(json.dumps({**body, "Risk": consent["Risk"]}))
    return copied  # a copy: a case may change it


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
    """What an operation's requests are fuzzed on, with the right token: generated path
    parameters and the real thing (an authorised consent of mits's, a payment made on
    one; for a new consent also mits's own; for a payment a body naming that consent,
    and the consent's own payment); and on the real thing, without a token, with one
    never issued and with the wrong kind (the PSU's where the TPP's own is needed, or the
    other way round), with a body that would otherwise be taken."""
    key = (operation.method.upper(), operation.path)
    kind = kind_of(operation.path)
    consent = bank.consent(kind)
    consent_id = consent["Data"]["ConsentId"]
    psu = bank.authorise(consent_id)
    right, wrong = (psu, bank.client) if key in PSU_OPERATIONS else (bank.client, psu)
    real: Target = ("real resources", {"ConsentId": consent_id})
    if operation.path.startswith(kind.payment):
        real = ("real resources", {kind.payment_id: bank.pay(consent, psu, kind)})
    body = None
    found = [Batch(("generated", None), Fuzzing(CHECKS, bearer(right)))]
    if key == ("POST", kind.consents):
        body, real = consent_body(bank.version, kind), ("mits's consent", None)
        found.append(Batch(real, Fuzzing(CHECKS, bearer(right), body=body), POSITIVE))
    elif key == ("POST", kind.payments):
        body, real = payment_body(consent), ("the consent's own payment", None)
        named = Fuzzing(CHECKS, bearer(right), naming(consent_id))
        found.append(Batch(("a real ConsentId", None), named))
        found.append(Batch(real, Fuzzing(CHECKS, bearer(right), body=body), POSITIVE))
    else:
        found.append(Batch(real, Fuzzing(CHECKS, bearer(right))))
    for name, token, status in (
        ("no token", None, 401),
        ("a token never issued", "x" * 43, 401),
        ("the wrong kind of token", wrong, 403),
    ):
        checks = [*CHECKS, refused_with(status)]
        how = Fuzzing(checks, bearer(token), body=body, examples=FEW)
        found.append(Batch((f"{real[0]}, {name}", real[1]), how, POSITIVE))
    return found


def refused_with(status: int) -> Check:
    """A check: the answer is ``status`` (a token is refused before anything else)."""

    def refused(ctx: CheckContext, response: Response, case: AnyCase) -> None:
        assert response.status_code == status, f"{response.status_code}, not {status}"

    return refused


def naming(consent_id: str) -> Callable[[AnyCase], AnyCase]:
    """Each generated payment names the real consent (where its body has a ``Data``)."""

    def prepare(case: AnyCase) -> AnyCase:
        data = case.body.get("Data") if isinstance(case.body, dict) else None
        if isinstance(data, dict):
            data["ConsentId"] = consent_id
        return case

    return prepare


# -- the tests ----------------------------------------------------------------------------


def test_the_fuzzed_operations_are_what_tpsim_plays_of_the_spec(
    schema: schemathesis.BaseSchema,
) -> None:
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "an operation the OpenAPI defines badly"
    played = [
        (op.method.upper(), op.path)
        for op in operations
        if op.path.startswith(("/domestic-pay", "/domestic-scheduled-pay"))
    ]
    assert sorted(played) == sorted(PLAYED)


def counterfeit(response: Response, change: str, version: str) -> Response:
    """``response`` (a 400 with a body) changed the way ``change`` names."""
    status, headers = response.status_code, dict(response.headers)
    content = response.content
    if change == "an error body of the other version":
        content = json.dumps(OTHER_VERSION_ERROR[version]).encode()
    elif change == "a 401 with a body":
        status = 401
    elif change == "no x-fapi-interaction-id":
        del headers[INTERACTION]
    elif change == "another x-fapi-interaction-id":
        headers[INTERACTION] = ["not-the-one-sent"]
    return Response(status, headers, content, response.request, elapsed=0.0, verify=False)


OTHER_VERSION_ERROR = {
    "3.1": {"Id": "e-1", "Errors": [{"ErrorCode": "U011", "Message": "no such consent"}]},
    "4.0": {
        "Code": "400 BadRequest",
        "Id": "e-1",
        "Message": "refused",
        "Errors": [{"ErrorCode": "UK.OBIE.Resource.NotFound", "Message": "no such consent"}],
    },
}
COUNTERFEITS = [
    ("an error body of the other version", refusals_are_ob_error_responses),
    ("a 401 with a body", bodiless_where_documented),
    ("no x-fapi-interaction-id", interaction_id_is_answered),
    ("another x-fapi-interaction-id", interaction_id_is_answered),
]


@pytest.mark.parametrize(("change", "check"), COUNTERFEITS, ids=[c for c, _ in COUNTERFEITS])
def test_the_checks_refuse_an_answer_the_spec_does_not_allow(
    schema: schemathesis.BaseSchema, change: str, check: Check
) -> None:
    bank = Bank(schema)
    operation = schema[CONSENT]["GET"]
    case = operation.Case(
        path_parameters={"ConsentId": "no-such-consent"}, headers=bank.headers(bank.client)
    )
    real = checked_call(case, CHECKS)  # tpsim's own answer passes every check
    assert real.status_code == 400 and real.content
    with pytest.raises(FailureGroup):
        case.validate_response(counterfeit(real, change, bank.version), checks=[check])


def test_the_operations_tpsim_does_not_play_answer_404_without_a_body(
    schema: schemathesis.BaseSchema,
) -> None:
    bank = Bank(schema)
    unplayed = [
        op
        for result in schema.get_all_operations()
        if isinstance(result, Ok)
        for op in [result.ok()]
        if (op.method.upper(), op.path) not in PLAYED
    ]
    assert len(unplayed) > 25  # international, standing orders, file, …
    for op in unplayed:
        names = [p.name for p in op.iter_parameters() if p.location.value == "path"]
        case = op.Case(
            path_parameters={name: "unplayed-1" for name in names},
            headers=bank.headers(bank.client, idempotent=op.method.upper() == "POST"),
        )
        response = case.call()
        sent = case.headers[INTERACTION]
        assert (response.status_code, response.content) == (404, b""), (op.method, op.path)
        assert response.headers[INTERACTION] == [sent], (op.method, op.path)


@pytest.mark.parametrize(("method", "path"), PLAYED, ids=[f"{m} {p}" for m, p in PLAYED])
def test_generated_requests_get_documented_answers_and_never_a_5xx(
    schema: schemathesis.BaseSchema, method: str, path: str
) -> None:
    bank = Bank(schema)
    operation = schema[path][method]
    problems = Problems()
    for batch in batches(bank, operation):
        for mode in batch.modes:
            fuzz(operation, mode, batch.target, batch.how, problems)
    assert not problems, f"v{bank.version} {method} {path}:\n\n{problems.report()}"

    # …and tpsim still takes a consent.
    assert bank.consent()["Data"]["ConsentId"]
