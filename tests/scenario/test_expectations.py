"""Matching a body against what a step expects."""

from __future__ import annotations

import pytest

from tpsim.scenario.base import ExpectMessage
from tpsim.scenario.expectations import addressed, contained, is_message, path_fits

BODY = {
    "transactionRequestState": "RECEIVED",
    "transactionId": "b51ec534-ee48-4575-b6a9-ead2955b8069",
    "extensionList": {"extension": [{"key": "k", "value": "v"}]},
}


def test_a_subset_matches_and_every_difference_is_named() -> None:
    assert contained({"transactionRequestState": "RECEIVED"}, BODY, "body") == []
    assert contained({"transactionId": "re:[0-9a-f-]{36}"}, BODY, "body") == []
    assert contained({"transactionRequestState": "ACCEPTED", "x": 1}, BODY, "body") == [
        'body.transactionRequestState: expected "ACCEPTED", got "RECEIVED"',
        "body.x: missing (expected 1)",
    ]


def test_lists_match_item_by_item_with_the_same_length() -> None:
    assert contained({"extensionList": {"extension": [{"key": "k"}]}}, BODY, "body") == []
    assert contained({"extensionList": {"extension": []}}, BODY, "body") == [
        'body.extensionList.extension: expected [], got [{"key":"k","value":"v"}]'
    ]


def test_absent_and_any() -> None:
    assert contained({"authUri": "<absent>", "transactionId": "<any>"}, BODY, "body") == []
    assert contained({"transactionId": "<absent>", "authUri": "<any>"}, BODY, "body") == [
        'body.transactionId: must be absent, got "b51ec534-ee48-4575-b6a9-ead2955b8069"',
        'body.authUri: missing (expected "<any>")',
    ]


def test_scalars_compare_as_text() -> None:
    assert contained({"code": 6201}, {"code": "6201"}, "body") == []
    assert contained({"ok": True}, {"ok": "True"}, "body") != []


def test_path_templates() -> None:
    assert path_fits("/thirdpartyRequests/transactions/{ID}", "/thirdpartyRequests/transactions/1")
    assert not path_fits(
        "/thirdpartyRequests/transactions/{ID}", "/thirdpartyRequests/transactions/1/error"
    )
    assert not path_fits("/consents/{ID}", "/consents/")


def test_a_hop_a_rule_dropped_is_no_message_the_receiver_could_get() -> None:
    dropped = {"hop": "dropped", "method": "PUT", "path": "/consentRequests/1"}
    assert not is_message(dropped | {"rule": "lost-answer"})
    assert is_message(dropped | {"rule": None})  # the switch's: an unknown destination


@pytest.mark.parametrize("name", ["FSPIOP-Destination", "fspiop-destination", "Fspiop-DESTINATION"])
def test_a_refused_message_is_addressed_to_its_destination_whatever_the_header_case(
    name: str,
) -> None:
    """tpsim's edge journals a refused message's headers as sent (custom names keep their
    case), so its receiver is read from ``FSPIOP-Destination`` in any case."""
    refused = {
        "hop": "received",
        "method": "POST",
        "path": "/thirdpartyRequests/transactions",
        "source": "pispa",
        "status": 400,
        "headers": {"fspiop-source": "pispa", name: "dfspa"},
    }
    expected = ExpectMessage(method="POST", path="/thirdpartyRequests/transactions", to="dfspa")
    assert addressed(expected, refused, "pispa")
    assert not addressed(expected.model_copy(update={"to": "dfspb"}), refused, "pispa")
