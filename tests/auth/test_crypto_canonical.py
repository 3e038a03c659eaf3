"""RFC 8785 canonical JSON: byte-exact on the vectors, refusals name the JSON path."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from crypto_support import vectors
from hypothesis import given, settings
from hypothesis import strategies as st

from tpsim.auth.canonical import canonicalize, sha256_hex
from tpsim.auth.errors import CanonicalJsonError
from tpsim.mojaloop.errors import coded


def _challenge_cases() -> list[tuple[dict[str, Any], str, str]]:
    data = vectors("challenge_vectors")
    tx = data["thirdparty_sdk_transaction_challenge"]
    cases = [(tx["authRequestPartial"], tx["canonical_json"], tx["challenge"])]
    for case in data["consent_challenges"]["cases"]:
        cases.append(
            (case["rawChallenge"], case["canonical_json"], case["pisp_and_dfsp_challenge_hex"])
        )
    return cases


@pytest.mark.parametrize(("value", "canonical", "digest"), _challenge_cases())
def test_vectors_are_byte_exact(value: dict[str, Any], canonical: str, digest: str) -> None:
    assert canonicalize(value) == canonical.encode("utf-8")
    assert sha256_hex(value) == digest


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [True, None, "x"]}, b'{"a":[true,null,"x"],"b":1}'),
        ({"€": "é", "a": "\u2028"}, '{"a":"\u2028","€":"é"}'.encode()),
        # Keys sort by UTF-16 code units: U+1F600 (surrogates D83D...) before U+FB01.
        ({"\ufb01": 1, "\U0001f600": 2}, '{"\U0001f600":2,"\ufb01":1}'.encode()),
        ({"n": 2**53 - 1, "m": -(2**53 - 1)}, b'{"m":-9007199254740991,"n":9007199254740991}'),
        ({"t": ("a", "b")}, b'{"t":["a","b"]}'),
        ({"c": '\x00\n"\\'}, b'{"c":"\\u0000\\n\\"\\\\"}'),
    ],
)
def test_canonical_form(value: Any, expected: bytes) -> None:
    assert canonicalize(value) == expected


@pytest.mark.parametrize(
    ("value", "path", "words"),
    [
        ({"amount": 1.5}, "$.amount", "float"),
        ({"a": [1, 2.0]}, "$.a[1]", "float"),
        ({"n": 2**53}, "$.n", "2^53"),
        ({"n": -(2**53)}, "$.n", "2^53"),
        ({"s": "ok\ud800"}, "$.s", "surrogate"),
        ({"bad key\udc00": "v"}, "$['bad key\\udc00']", "surrogate"),
        ({1: "v"}, "$", "key"),
        ({"x": {"y": b"bytes"}}, "$.x.y", "bytes"),
        ({"x": {1, 2}}, "$.x", "set"),
        ({"x": float("nan")}, "$.x", "float"),
    ],
)
def test_refusals_name_the_path(value: Any, path: str, words: str) -> None:
    with pytest.raises(CanonicalJsonError) as info:
        canonicalize(value)
    assert info.value.field == path
    assert words in info.value.detail
    assert coded(info.value).code == "3100"  # how the Mojaloop dialect reports it


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    value: Any = "leaf"
    for _ in range(500):
        value = [value]
    with pytest.raises(CanonicalJsonError, match="nested deeper"):
        canonicalize(value)


def test_matches_sorted_compact_json_for_ascii_bodies() -> None:
    body = {"quoteId": "q", "transferAmount": {"currency": "USD", "amount": "100"}, "x": [3, 1]}
    compact = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert canonicalize(body) == compact


# What the checks admit: strings of any plane (no lone surrogates, control characters
# included), safe integers, bools, None, lists, and objects with ASCII or other keys.
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_admitted = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | _text
    | st.sampled_from(['\x00\x1f\x7f"\\/\b\f\n\r\t', "\u2028\u2029", "\ue000\U0001f600"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_text | st.sampled_from(["\ue000", "\U0001f600", "a"]), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_admitted)
def test_every_admitted_value_is_canonicalised_as_rfc8785_does(value: Any) -> None:
    # ASCII keys take the standard library's encoder; the rest rfc8785 itself.
    assert canonicalize(value) == rfc8785.dumps(value)
