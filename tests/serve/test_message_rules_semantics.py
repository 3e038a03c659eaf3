"""Message rules as a CI pipeline uses them, without a socket: what a rule's action leaves
behind (funds, a transaction) and what a rule written in YAML can hold.

Alice pays Bob 10 USD from dfspa (simulated) to dfspb, played by the test
(``tests.serve.test_hub_transfers``): the hub holds a transfer to a payee tpsim does not
simulate until it expires, and the payer DFSP waits for the hub's answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.serve.test_hub_transfers import (
    QUOTE_LIFE_S,
    REQUEST,
    authorized,
    balance,
    code,
    to,
)
from tests.support.faulty_scheme import FaultyScheme
from tests.support.flows import TX
from tests.support.scheme import validate_sent_by_tpsim
from tpsim.config import Config, parse_config
from tpsim.config_yaml import read_yaml
from tpsim.core.rules import MessageOutcome, RuleInvalid
from tpsim.errors import ConfigError
from tpsim.journal import Hop
from tpsim.mojaloop.wire.routes import ROUTES

LOSE_TRANSFER = {
    "name": "lose-transfer",
    "when": {
        "method": "PUT",
        "path": "/thirdpartyRequests/verifications/{ID}",
        "receiver": "dfspa",
    },
    "then": {"drop": True},
}


async def test_a_dropped_transfer_to_an_external_payee_gives_the_funds_back_at_expiry() -> None:
    """dfspa's POST /transfers, dropped, never reaches dfspb; dfspa (which waits for the
    hub's answer on a payee tpsim does not simulate) must not hold Alice's 10 USD for ever:
    the hub's expiry tells it, as for a transfer lost on its way to the payee."""
    scheme = FaultyScheme.start([LOSE_TRANSFER], external=("dfspb",))
    try:
        before = balance(scheme)
        await authorized(scheme)
        assert to(scheme, "dfspb", "POST", "/transfers") == []
        [dropped] = [e for e in scheme.sim.journal.entries() if e.hop is Hop.DROPPED]
        assert (dropped.method, dropped.path, dropped.rule) == (
            "POST",
            "/transfers",
            "lose-transfer",
        )
        assert balance(scheme) != before  # held for the transfer

        await scheme.advance(QUOTE_LIFE_S + 1)

        [failed] = to(scheme, "pispa", "PUT", f"{TX}/{REQUEST}/error")
        assert code(failed) == "6003"  # the transfer failed downstream
        assert balance(scheme) == before
        assert validate_sent_by_tpsim(scheme.sim) > 0
    finally:
        await scheme.close()


# --- what a rule written in YAML can hold ----------------------------------------------

RULE_YAML = """
rules:
  - name: old-callback
    when: {method: POST, path: /consentRequests}
    then: {override: {body.callbackUri: %s}, unchecked: true}
"""


def config_from_yaml(value: str) -> Config:
    return parse_config(read_yaml((RULE_YAML % value).encode(), file="rules.yaml"))


@pytest.mark.parametrize("value", ["2026-12-01T00:00:00Z", "2026-12-01", ".nan", "-.inf"], ids=str)
def test_an_override_value_that_is_no_json_is_refused_at_its_key(value: str) -> None:
    """YAML reads an unquoted timestamp as a datetime and .nan as a float no JSON has: sent
    (unchecked) they crashed the routing of the answer, and checked they were refused as
    breaking the OpenAPI although the text written keeps it. Refused when the config loads,
    saying to quote it."""
    with pytest.raises(ConfigError) as refused:
        config_from_yaml(value)
    assert "rules.0.then" in str(refused.value)
    assert "body.callbackUri" in str(refused.value)
    assert "quote" in str(refused.value)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('"2026-12-01T00:00:00Z"', "2026-12-01T00:00:00Z"),
        ("3", 3),
        ("[a, {b: null}]", ["a", {"b": None}]),
    ],
)
def test_an_override_value_that_is_json_is_kept(value: str, written: Any) -> None:
    [rule] = config_from_yaml(value).rules
    assert rule.then.override == {"body.callbackUri": written}


def test_a_datetime_in_an_override_built_in_code_is_refused_too() -> None:
    with pytest.raises(RuleInvalid, match="body.expiration"):
        MessageOutcome(override={"body.expiration": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)})


@pytest.mark.parametrize("method", ["post", ["GET", "Put"]], ids=str)
def test_a_method_in_lower_case_is_refused_rather_than_never_matching(method: Any) -> None:
    data = {"rules": [{"name": "m", "when": {"method": method}, "then": {"drop": True}}]}
    with pytest.raises(ConfigError, match=r"rules\.0: .*never matches: a method is upper case"):
        parse_config(data)


@pytest.mark.parametrize("method", ["POST", ["GET", "PUT"], "re:(?i)post"], ids=str)
def test_a_method_in_upper_case_or_a_pattern_is_kept(method: Any) -> None:
    data = {"rules": [{"name": "m", "when": {"method": method}, "then": {"drop": True}}]}
    assert parse_config(data).rules[0].when["method"] == method


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/consents/{id}", r"\{id\} is no placeholder of a route template \(write \{ID\}"),
        (["/parties/{Type}/{ID}", "/parties/{type}/{ID}"], r"write \{Type\}"),
        ("/participants/{Type}/{ID}/{sub_id}", r"write \{SubId\}"),
        ("/consents/{consentId}", r"a route's are \{ID\}, \{Type\}, \{SubId\}, \{ServiceType\}"),
        ("consentRequests", r"a route's template starting with '/'"),
    ],
    ids=str,
)
def test_a_path_no_route_template_has_is_refused_rather_than_never_matching(
    path: Any, says: str
) -> None:
    data = {"rules": [{"name": "p", "when": {"path": path}, "then": {"drop": True}}]}
    with pytest.raises(ConfigError, match=rf"rules\.0: .*never matches: .*{says}"):
        parse_config(data)


def test_every_route_template_and_a_pattern_are_kept_as_paths() -> None:
    paths = sorted({route.template for route in ROUTES}) + ["re:/consents/.*"]
    data = {"rules": [{"name": "p", "when": {"path": paths}, "then": {"drop": True}}]}
    assert parse_config(data).rules[0].when["path"] == paths
