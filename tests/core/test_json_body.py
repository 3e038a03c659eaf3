"""The one JSON body decoder every dialect reads with: a body is a JSON object within the
caller's limits, or a ``MalformedBody`` whose reason says what kind of wrong and whose text
says what is wrong and what to send; each dialect's reading (which encodings, what a
repeated key means) is a parameter, not a second decoder."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpsim.core.errors import MalformedBody, TpsimError
from tpsim.core.json_body import DuplicateKeys, Encoding, decode_object, json_type

DEPTH = 8
CHARS = 20


def decode(
    raw: bytes, *, encoding: Encoding = "utf-8", duplicate_keys: DuplicateKeys = "refuse"
) -> dict[str, Any]:
    return decode_object(
        raw,
        max_depth=DEPTH,
        max_number_chars=CHARS,
        encoding=encoding,
        duplicate_keys=duplicate_keys,
    )


def refused(raw: bytes, **options: Any) -> MalformedBody:
    with pytest.raises(MalformedBody) as caught:
        decode(raw, **options)
    return caught.value


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


# fmt: off
# (case, raw body, reason, the whole text of the refusal)
REFUSED = [
    ("empty", b"", "empty", "the body is empty: send a JSON object"),
    ("only JSON whitespace", b" \t\r\n", "empty", "the body is empty: send a JSON object"),
    ("cut short", b'{"a": 1', "not-json",
     "the body is not valid JSON: Expecting ',' delimiter at line 1, column 8"),
    ("a form, not JSON", b"a=1\n&b=2", "not-json",
     "the body is not valid JSON: Expecting value at line 1, column 1"),
    ("a NBSP is not JSON whitespace", "\u00a0".encode(), "not-json",
     "the body is not valid JSON: Expecting value at line 1, column 1"),
    ("Latin-1", b'{"a": "caf\xe9"}', "not-unicode",
     "the body is not valid JSON: byte 0xe9 at offset 10 is not UTF-8 (RFC 8259 §8.1);"
     " send UTF-8 JSON"),
    ("UTF-16 where UTF-8 is required", '{"a": 1}'.encode("utf-16"), "not-unicode",
     "the body is not valid JSON: byte 0xff at offset 0 is not UTF-8 (RFC 8259 §8.1);"
     " send UTF-8 JSON"),
    ("a UTF-8 encoded lone surrogate", b'{"a": "\xed\xa0\x80"}', "not-unicode",
     "the body is not valid JSON: byte 0xed at offset 7 is not UTF-8 (RFC 8259 §8.1);"
     " send UTF-8 JSON"),
    ("an array", b"[1]", "not-object", "the body must be a JSON object, not an array"),
    ("a string", b'"x"', "not-object", "the body must be a JSON object, not a string"),
    ("a number", b"1", "not-object", "the body must be a JSON object, not a number"),
    ("a boolean", b"true", "not-object", "the body must be a JSON object, not a boolean"),
    ("null", b"null", "not-object", "the body must be a JSON object, not null"),
    ("one level too deep", b'{"a": ' + nested(DEPTH) + b"}", "too-deep",
     f"the body nests arrays and objects more than {DEPTH} levels deep;"
     f" at most {DEPTH} are accepted"),
    ("past the recursion limit", b'{"a": ' + nested(100_000) + b"}", "too-deep",
     f"the body nests arrays and objects more than {DEPTH} levels deep;"
     f" at most {DEPTH} are accepted"),
    ("an integer too long", b'{"a": -' + b"1" * CHARS + b"}", "long-number",
     f"a number in the body has {CHARS + 1} characters; at most {CHARS} are accepted"),
    ("a float too long", b'{"a": 0.' + b"1" * CHARS + b"}", "long-number",
     f"a number in the body has {CHARS + 2} characters; at most {CHARS} are accepted"),
    ("NaN", b'{"a": NaN}', "not-a-number",
     "the body is not valid JSON: NaN is not a JSON number (RFC 8259 §6)"),
    ("Infinity", b'{"a": [Infinity]}', "not-a-number",
     "the body is not valid JSON: Infinity is not a JSON number (RFC 8259 §6)"),
    ("-Infinity", b'{"a": -Infinity}', "not-a-number",
     "the body is not valid JSON: -Infinity is not a JSON number (RFC 8259 §6)"),
    # 1e999999 is JSON's grammar but no double: it would read as Infinity (RFC 8259 §6).
    ("a number beyond a double", b'{"a": 1e999999}', "not-a-number",
     "a number in the body, 1e999999, is beyond what a double holds (RFC 8259 §6):"
     " send a smaller one"),
    ("a negative number beyond a double", b'{"a": [-2E+308]}', "not-a-number",
     "a number in the body, -2E+308, is beyond what a double holds (RFC 8259 §6):"
     " send a smaller one"),
    ("a key named twice", b'{"a": {"b": 1, "c": 2, "b": 3}}', "duplicate-key",
     "the body names 'b' twice in one object: send it once"),
]
# fmt: on


@pytest.mark.parametrize(
    ("raw", "reason", "text"), [pytest.param(*case[1:], id=case[0]) for case in REFUSED]
)
def test_every_malformed_body_is_refused_saying_what_to_fix(
    raw: bytes, reason: str, text: str
) -> None:
    error = refused(raw)
    assert (error.reason, str(error)) == (reason, text)


def test_a_malformed_body_is_a_tpsim_error() -> None:
    """Dialects catch it as one of tpsim's own refusals, never as a json or Unicode error."""
    assert isinstance(refused(b"{"), TpsimError)


@pytest.mark.parametrize(
    "body",
    [
        {"a": json.loads(nested(DEPTH - 1))},
        {"a": int("9" * CHARS), "b": -1.5e-300, "c": None, "d": [True, False]},
        {"brackets": "[" * 100 + "{" * 100},
        {"wide": [{"x": [1, 2]} for _ in range(500)]},
    ],
    ids=["nested to the limit", "numbers", "brackets in strings", "wide"],
)
def test_a_body_within_the_limits_is_the_object_it_holds(body: dict[str, Any]) -> None:
    assert decode(json.dumps(body).encode()) == body


def test_utf_8_text_and_json_escapes_decode_to_their_characters() -> None:
    """Escaped surrogates are JSON (RFC 8259 §7); whether a lone one may stand in a field is
    the dialect's schema's to say (XS2A refuses it, as not Unicode text)."""
    raw = '{"raw": "café ☕ 😀", "pair": "\\ud83d\\ude00", "lone": "\\ud800"}'.encode()
    assert decode(raw) == {"raw": "café ☕ 😀", "pair": "😀", "lone": "\ud800"}


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32", "utf-32-le"])
def test_detect_reads_every_encoding_json_loads_reads(codec: str) -> None:
    raw = '{"a": "café"}'.encode(codec)
    assert decode(raw, encoding="detect") == json.loads(raw) == {"a": "café"}


def test_detect_lets_an_encoded_lone_surrogate_through_as_json_loads_does() -> None:
    raw = b'{"a": "\xed\xa0\x80"}'
    assert decode(raw, encoding="detect") == json.loads(raw) == {"a": "\ud800"}


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (b'{"a": "\xff"}', "byte 0xff at offset 7 is not UTF-8"),
        (b'\xef\xbb\xbf{"a": "\xff"}', "byte 0xff at offset 10 is not UTF-8"),
        (b'{\x00"\x00\xff', "byte 0xff at offset 4 is not UTF-16-LE"),
    ],
    ids=["UTF-8", "UTF-8 after a BOM", "UTF-16 cut short"],
)
def test_detect_still_refuses_bytes_that_are_not_unicode_naming_the_byte(
    raw: bytes, named: str
) -> None:
    error = refused(raw, encoding="detect")
    assert error.reason == "not-unicode"
    assert named in str(error)


def test_last_keeps_the_last_value_of_a_key_named_twice_as_json_loads_does() -> None:
    raw = b'{"a": 1, "b": {"c": 1, "c": 2}, "a": 3}'
    assert decode(raw, duplicate_keys="last") == json.loads(raw) == {"a": 3, "b": {"c": 2}}


def test_the_limits_are_the_callers() -> None:
    deep = b'{"a": ' + nested(DEPTH) + b"}"
    number = b'{"a": ' + b"1" * (CHARS + 1) + b"}"
    assert decode_object(deep, max_depth=DEPTH + 1, max_number_chars=CHARS) == json.loads(deep)
    assert decode_object(number, max_depth=DEPTH, max_number_chars=CHARS + 1) == json.loads(number)
    assert (refused(deep).reason, refused(number).reason) == ("too-deep", "long-number")


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (None, "null"),
        (True, "a boolean"),
        (0, "a number"),
        (1.5, "a number"),
        ("", "a string"),
        ([], "an array"),
        ({}, "an object"),
    ],
)
def test_json_type_names_a_decoded_value_as_an_error_text_does(value: object, named: str) -> None:
    assert json_type(value) == named


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(body=st.dictionaries(st.text(), json_values, max_size=4))
def test_any_json_object_within_the_limits_decodes_as_json_loads_does(
    body: dict[str, Any],
) -> None:
    raw = json.dumps(body).encode()
    assert decode_object(raw, max_depth=100, max_number_chars=1_000) == json.loads(raw)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=60), encoding=st.sampled_from(["utf-8", "detect"]))
def test_no_bytes_let_anything_but_a_malformed_body_escape(raw: bytes, encoding: Encoding) -> None:
    try:
        assert isinstance(decode(raw, encoding=encoding), dict)
    except MalformedBody as error:
        assert error.reason and str(error)
