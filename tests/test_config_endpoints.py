"""``participants[].endpoints``: checked at config load, with messages saying what to write."""

from __future__ import annotations

from typing import Any

import pytest

from tpsim.config import parse_config
from tpsim.config_participants import ENDPOINT_FAMILIES
from tpsim.errors import ConfigError


def config(participant: dict[str, Any]) -> dict[str, Any]:
    return {"participants": [participant, {"fsp_id": "dfspa", "kind": "dfsp", "simulated": True}]}


def pisp(**fields: Any) -> dict[str, Any]:
    return {"fsp_id": "pispa", "kind": "pisp", "endpoint": "http://127.0.0.1:3001", **fields}


def test_every_family_may_have_its_own_base_url() -> None:
    endpoints = {family: f"http://127.0.0.1:4005/{family}" for family in ENDPOINT_FAMILIES}

    loaded = parse_config(config(pisp(endpoints=endpoints)))

    assert loaded.participants[0].endpoints == endpoints


def test_no_endpoints_is_the_default() -> None:
    assert parse_config(config(pisp())).participants[0].endpoints == {}


@pytest.mark.parametrize(
    ("participant", "says"),
    [
        (
            pisp(endpoints={"party": "http://127.0.0.1:4005"}),
            "participants.0.endpoints: unknown resource family 'party'; endpoints takes parties,",
        ),
        (
            pisp(endpoints={"party": "http://a:1", "transaction": "http://a:1"}),
            "unknown resource families 'party', 'transaction'",
        ),
        (
            pisp(endpoints={"parties": "ftp://127.0.0.1:4005"}),
            "parties: endpoint 'ftp://127.0.0.1:4005' must be an http:// or https:// URL",
        ),
        (
            pisp(endpoints={"parties": "http://127.0.0.1:4005/?x=1"}),
            "parties: endpoint 'http://127.0.0.1:4005/?x=1' must not have a query string",
        ),
        (
            pisp(endpoints={"parties": "http://user:pw@127.0.0.1:4005"}),
            "must not carry a user name or password",
        ),
        (
            {
                "fsp_id": "dfspx",
                "kind": "dfsp",
                "simulated": True,
                "endpoints": {"parties": "http://127.0.0.1:4005"},
            },
            "endpoints are for an external participant: give endpoint",
        ),
    ],
)
def test_endpoints_that_cannot_be_used_are_refused_saying_what_to_write(
    participant: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(config(participant))

    assert says in str(refused.value)
