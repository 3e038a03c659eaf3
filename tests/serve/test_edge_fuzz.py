"""Bad input never crashes the service: mutated bodies on every route, from a seeded fuzzer.

Each valid example body (tests/support/bodies.py) is mutated at random (a field dropped,
retyped, emptied, oversized, or an unknown one added) and sent to its route. Every
answer must be a coded synchronous error or an accepted request; no role may fail with
an unexpected exception (which the router would report as 2001); and afterwards tpsim
still completes a transfer.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from tests.support.bodies import EXAMPLES
from tests.support.flows import complete_transfer
from tests.support.scheme import Scheme
from tpsim.mojaloop.wire.routes import ROUTES_BY_NAME, expand

SEED = 20261121
ROUNDS = 6
PARAMS = {
    "ID": "9c5c9d7e-58a1-4f3e-9a4b-6f1d2e3c4b5a",
    "Type": "MSISDN",
    "SubId": "home",
    "ServiceType": "THIRD_PARTY_DFSP",
}
DESTINATIONS = ["dfspa", "dfspb", "central-auth"]
ACCEPTED = {200, 202}
REFUSED = {400, 404, 405, 406, 413}

Body = dict[str, Any]
NASTY: list[Any] = [None, 0, -1, 1.5, 2**70, True, "", "x" * 5000, [], {}, "\ud800", "💸" * 40]


def _paths(body: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(body, dict):
        for key, value in body.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            found += _paths(value, (*prefix, index))
    return found


def _parent(body: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        body = body[step]
    return body


def mutate(body: Body, rng: random.Random) -> Body:
    mutated = copy.deepcopy(body)
    for _ in range(rng.randint(1, 3)):
        paths = _paths(mutated)
        if not paths:
            break
        path = rng.choice(paths)
        parent = _parent(mutated, path)
        action = rng.choice(["drop", "replace", "add"])
        if action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[rng.choice(["zz", "extensionList", "status", "__proto__"])] = rng.choice(NASTY)
        else:
            parent[path[-1]] = rng.choice(NASTY)
    return mutated


def fuzz_cases() -> list[tuple[str, str, str, Body]]:
    rng = random.Random(SEED)  # noqa: S311 - a reproducible fuzzer, not cryptography
    cases = []
    for name, examples in sorted(EXAMPLES.items()):
        route = ROUTES_BY_NAME[name]
        path = expand(route.template, PARAMS)
        for _, factory in examples:
            for _ in range(ROUNDS):
                cases.append((route.method, path, rng.choice(DESTINATIONS), mutate(factory(), rng)))
            cases.append((route.method, path, rng.choice(DESTINATIONS), factory()))
    return cases


async def test_mutated_bodies_are_refused_with_codes_and_nothing_breaks(scheme: Scheme) -> None:
    pisp = scheme.pisp
    for method, path, destination, body in fuzz_cases():
        response = await pisp.send(method, path, body, destination=destination)
        assert response.status in ACCEPTED | REFUSED, (method, path, body, response)
        if response.status in REFUSED:
            info = (response.body or {}).get("errorInformation", {})
            assert info.get("errorCode", "").isdigit(), (method, path, response.body)
    await scheme.settle()

    assert scheme.sim is not None
    crashed = [
        (e.method, e.path, e.body)
        for e in scheme.sim.journal.entries()
        if (e.body or {}).get("errorInformation", {}).get("errorCode") == "2001"
    ]
    assert crashed == [], "a role failed with an unexpected exception"

    patch = await complete_transfer(scheme, "4e0d7a6c-3b2f-4c1d-9e8a-7f6b5c4d3e2f")
    assert patch.body is not None and patch.body["transactionState"] == "COMPLETED"
