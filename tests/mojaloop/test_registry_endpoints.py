"""Which base URL a message to an external participant goes to (sans-IO): its resource
family's own endpoint (``participants[].endpoints``), else the participant's default."""

from __future__ import annotations

import pytest

from tpsim.config_participants import Kind
from tpsim.mojaloop.registry import External, family_of

PISP = External(
    "pispa",
    Kind.PISP,
    "http://pisp:3001",
    {"parties": "http://adapter:4005", "thirdpartyRequests": "http://tp:4006/inbound"},
)


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("/parties/MSISDN/16135551212", "http://adapter:4005"),
        ("/parties/MSISDN/16135551212/error", "http://adapter:4005"),
        ("/parties/BUSINESS/shop/till1", "http://adapter:4005"),
        ("/thirdpartyRequests/transactions/1", "http://tp:4006/inbound"),
        ("/thirdpartyRequests/authorizations", "http://tp:4006/inbound"),
        ("/thirdpartyRequests/verifications/2/error", "http://tp:4006/inbound"),
        ("/consentRequests/1", "http://pisp:3001"),
        ("/consents", "http://pisp:3001"),
        ("/accounts/alice", "http://pisp:3001"),
        ("/services/THIRD_PARTY_DFSP", "http://pisp:3001"),
        ("/partiesX/1", "http://pisp:3001"),  # a family is a whole segment, not a prefix
    ],
)
def test_a_message_goes_to_its_familys_endpoint_else_the_default(path: str, url: str) -> None:
    assert PISP.url_for(path) == url


def test_a_participant_without_family_endpoints_uses_its_endpoint_for_everything() -> None:
    plain = External("pispa", Kind.PISP, "http://pisp:3001")

    assert plain.url_for("/parties/MSISDN/1") == "http://pisp:3001"


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/parties/MSISDN/1", "parties"),
        ("/thirdpartyRequests/transactions/1/error", "thirdpartyRequests"),
        ("/consents?x=1", "consents"),
        ("/quotes", "quotes"),
    ],
)
def test_the_family_of_a_path_is_its_first_segment(path: str, family: str) -> None:
    assert family_of(path) == family


def test_an_external_participant_stays_hashable_with_its_endpoints() -> None:
    assert hash(PISP) == hash(External("pispa", Kind.PISP, "http://pisp:3001"))
