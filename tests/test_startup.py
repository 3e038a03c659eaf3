"""``tpsim serve`` starts fast (issue 17): it imports only what serving needs. Not the
scenario runner or its reports, not the credential or PISP command lines, not jsonschema
(the UK dialect's OpenAPI checker loads with its first request), not the PSD2 dialects'
APIs, models and banks nor the OAuth server and joserfc (each dialect is imported and
built with its first request, ``serve.psd2``). Each check runs the real ``tpsim serve``
command line in a fresh interpreter, up to the point where it would listen, and lists the
modules imported by then. No timing is asserted: the benchmark
(``benchmarks/bench_startup.py``) measures it. What is deferred still works: a fresh server
answers its first XS2A, UK and STET requests as the dialects do."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.scheme import default_config_data
from tpsim.config import parse_config
from tpsim.errors import ConfigError
from tpsim.serve import stet as stet_edge
from tpsim.serve.simulation import Simulation
from tpsim.stet.answers import APPROVAL_PATH
from tpsim.stet.api import REQUEST_ID

# `tpsim serve` as the console script runs it, the server built (Simulation, app) but not
# listening: then every module it imported, as JSON.
SERVE_UNTIL_LISTENING = """
import asyncio, json, sys
import tpsim.serve.server as server

async def built(config, **options):
    sim = server.Simulation(config, state=options.get("state"))
    server.create_app(sim)

server.serve = built
from tpsim.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


# A fresh server (the built-in config, the real app on a loopback port) and the first
# request of each PSD2 dialect: what each answered, and the modules imported before the
# first request and after each, as JSON.
FIRST_REQUESTS = """
import asyncio, base64, json, sys, uuid
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from tpsim.config import load_config
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

XS2A = {
    "instructedAmount": {"currency": "EUR", "amount": "42.00"},
    "debtorAccount": {"iban": "DE89370400440532013000"},
    "creditorName": "Max Mustermann",
    "creditorAccount": {"iban": "DE02120300000000202051"},
}
XS2A_HEADERS = {
    "X-Request-ID": str(uuid.uuid4()),
    "PSU-IP-Address": "192.168.8.78",
    "TPP-Redirect-URI": "https://tpp.example/",
}
UK_TOKEN = {"grant_type": "client_credentials", "scope": "payments"}
UK_CLIENT = {"Authorization": "Basic " + base64.b64encode(b"tpp-one:tpp-one-secret").decode()}
STET_HEADERS = {"X-Request-ID": str(uuid.uuid4())}

async def main():
    server = TestServer(create_app(Simulation(load_config())), host="127.0.0.1")
    await server.start_server()
    seen = {"start": sorted(sys.modules)}
    answers = {}
    async with ClientSession() as http:
        url = str(server.make_url("")).rstrip("/")
        async with http.get(url + "/health") as r:
            answers["health"] = [r.status]
        path = "/xs2a/dfspa/v1/payments/sepa-credit-transfers"
        async with http.post(url + path, json=XS2A, headers=XS2A_HEADERS) as r:
            answers["xs2a"] = [r.status, (await r.json()).get("transactionStatus")]
        seen["xs2a"] = sorted(sys.modules)
        async with http.post(url + "/obie/dfspa/token", data=UK_TOKEN, headers=UK_CLIENT) as r:
            answers["obie"] = [r.status, (await r.json()).get("token_type")]
        seen["obie"] = sorted(sys.modules)
        path = "/stet/dfspa/v1/payment-requests"
        async with http.post(url + path, json={}, headers=STET_HEADERS) as r:
            answers["stet"] = [r.status, (await r.json()).get("error")]
        seen["stet"] = sorted(sys.modules)
    await server.close()
    print(json.dumps({"answers": answers, "modules": seen}))

asyncio.run(main())
"""


def run_fresh(script: str, *args: str) -> dict[str, object]:
    """What ``script`` printed last (JSON), run in a fresh interpreter."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def imported_by(*command: str) -> list[str]:
    """The modules a fresh interpreter holds after running ``tpsim COMMAND`` that way."""
    result = run_fresh(SERVE_UNTIL_LISTENING, *command)
    assert result["code"] == 0
    modules = result["modules"]
    assert isinstance(modules, list)
    return modules


DIALECTS = ("xs2a", "obie", "stet")
# Each dialect's heavy modules: its API, models, bank. (Its small ``states`` module may be
# imported at start: the metrics name its statuses.)
DEFERRED = {
    "xs2a": ("api", "models", "bank", "authorisations"),
    "obie": ("api", "bank", "payments", "reading"),
    "stet": ("api", "models", "bank", "orders"),
}


@pytest.fixture(scope="module")
def serving() -> list[str]:
    return imported_by("serve", "--port", "0", "--log-level", "warning")


@pytest.mark.parametrize(
    ("unneeded", "why"),
    [
        ("tpsim.scenario", "the scenario runner, its reports and tpsim load"),
        ("tpsim.auth.cli", "the credential command line"),
        ("tpsim.pisp_cli", "the tpsim pisp command line"),
        ("jsonschema", "the OpenAPI checker (the UK dialect loads it with its first request)"),
        ("tpsim.specs", "the PSD2 OpenAPI files and their checker"),
        *((f"tpsim.{d}.{m}", f"the {d} dialect") for d in DIALECTS for m in DEFERRED[d]),
        ("tpsim.auth.oauth", "the banks' OAuth server (built with a dialect)"),
        ("joserfc", "JOSE for the OAuth server (no TPP of the config registers keys)"),
    ],
)
def test_serving_does_not_import(serving: list[str], unneeded: str, why: str) -> None:
    found = [m for m in serving if m == unneeded or m.startswith(unneeded + ".")]
    assert found == [], f"tpsim serve imported {why}: {found[:5]}"


def test_serving_still_imports_what_it_serves_with(serving: list[str]) -> None:
    """The check above would pass for a server that imported nothing: it did build one."""
    assert {"tpsim.serve.app", "tpsim.serve.simulation", "aiohttp.web"} <= set(serving)


def test_the_whole_help_still_lists_every_command() -> None:
    """Commands defined elsewhere are still named (with their help) when not run."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "tpsim", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.splitlines() if line.startswith("    ")}
    assert {"serve", "config", "run", "credential", "pisp", "load"} <= listed


@pytest.fixture(scope="module")
def first_requests() -> dict[str, object]:
    return run_fresh(FIRST_REQUESTS)


def test_a_fresh_server_answers_each_dialects_first_request(
    first_requests: dict[str, object],
) -> None:
    """Building a dialect on its first request changes nothing of what it answers: an XS2A
    payment is created, the UK bank's OAuth server grants a token, STET refuses a request
    without one in its own ErrorModel."""
    assert first_requests["answers"] == {
        "health": [200],
        "xs2a": [201, "RCVD"],
        "obie": [200, "Bearer"],
        "stet": [401, "TOKEN_MISSING"],
    }


def test_each_dialect_is_imported_with_its_first_request(first_requests: dict[str, object]) -> None:
    """The server was listening before any dialect's API was imported, and each request
    imported its own dialect only."""
    modules = first_requests["modules"]
    assert isinstance(modules, dict)
    imported = {when: set(names) for when, names in modules.items()}
    for when, dialects in [
        ("start", ()),
        ("xs2a", ("xs2a",)),
        ("obie", ("xs2a", "obie")),
        ("stet", DIALECTS),
    ]:
        assert {d for d in DIALECTS if f"tpsim.{d}.api" in imported[when]} == set(dialects), when


def test_the_stet_edge_names_the_page_and_header_the_dialect_does() -> None:
    """``serve.stet`` keeps its own copies (so mounting imports nothing of ``tpsim.stet``):
    they must not drift from the dialect's."""
    assert (stet_edge.APPROVAL_PATH, stet_edge.REQUEST_ID) == (APPROVAL_PATH, REQUEST_ID)


def test_a_tpp_jwks_that_is_no_jwk_set_is_still_refused_when_the_config_loads() -> None:
    """The OAuth servers are built with their dialect's first request, but a TPP's bad
    ``jwks`` is a config error at start (``tpsim serve`` exits 2), as it was."""
    data = default_config_data()
    data["tpps"][0]["jwks"] = {"keys": "not a list"}
    with pytest.raises(ConfigError, match="tpps.0.jwks: the keys of tpp tpp-one are not a JWK"):
        Simulation(parse_config(data))
