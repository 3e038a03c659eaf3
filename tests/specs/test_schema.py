"""OpenAPI 3.0 schema rules and JavaScript patterns, shown on a small hand-written document.

The bundled files use only some of what OpenAPI 3.0 allows (no ``nullable``, no
``discriminator``, integer status keys in one file only), so these rules are shown here on a
document small enough to read.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.specs.test_openapi3 import places
from tpsim.specs import Problem, Spec, SpecError
from tpsim.specs.schema import js_search

MINI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "mini", "version": "1"},
    "paths": {
        "/things/{id}": {
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "put": {
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 9}},
                ],
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                    }
                },
                "responses": {
                    200: {"description": "ok", "content": {"application/vnd.thing+json": {}}},
                    "4XX": {
                        "description": "refused",
                        "content": {"application/json": {"schema": {"type": "string"}}},
                    },
                    "default": {"description": "anything else"},
                },
            },
        }
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "discriminator": {"propertyName": "kind"},
                "properties": {
                    "kind": {"type": "string", "enum": ["a", "b"], "nullable": True},
                    "note": {"type": "string"},
                    "id": {"type": "string", "readOnly": True},
                    "count": {"type": "integer"},
                    "at": {"type": "string", "format": "date-time"},
                },
            }
        }
    },
}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"kind": None, "id": "server-set", "count": 2.0}, None),
        ({"at": "2024-02-29T23:59:59.5+01:00"}, None),
        ({"note": None}, "body.note"),
        ({"kind": "c"}, "body.kind"),
        ({"count": 2.5}, "body.count"),
        ({"at": "2024-02-29 23:59:59"}, "body.at"),
        ({"at": "2024-02-29T23:59:59+24:00"}, "body.at"),
    ],
)
def test_openapi_3_0_schema_rules(body: dict[str, Any], where: str | None) -> None:
    """``nullable`` admits null, and only where it is set. ``discriminator`` and
    ``readOnly`` constrain nothing. An integral 2.0 is an integer. ``date-time`` is RFC 3339."""
    found = Spec("mini", MINI).operation("PUT", "/things/7")
    assert found is not None
    problems = found.check_request({}, body)
    assert places(problems) == ([] if where is None else [where])


def test_path_and_query_parameters_are_converted_from_text_then_checked() -> None:
    spec = Spec("mini", MINI)
    found = spec.operation("PUT", "/things/seven")
    assert found is not None
    assert found.check_request({}, None, query={"limit": "x"}) == [
        Problem("path id", '"seven" is not an integer'),
        Problem("query limit", '"x" is not an integer'),
    ]
    ok = spec.operation("PUT", "/things/7")
    assert ok is not None
    assert places(ok.check_request({}, None, query={"limit": "10"})) == ["query limit"]
    assert ok.check_request({}, None, query={"limit": "9"}) == []


def test_a_status_is_found_exactly_then_by_range_then_by_default() -> None:
    found = Spec("mini", MINI).operation("PUT", "/things/7")
    assert found is not None
    assert found.check_response(200, {"anything": True}) == []  # no schema: not checked
    assert places(found.check_response(404, 12)) == ["body"]  # 4XX: a string
    assert found.check_response(503, None) == []  # default, no body
    assert places(found.check_response(503, {"a": 1})) == ["body"]


# --- patterns as JavaScript evaluates them ------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("[A-Z]{3}", "xEURx", True),  # JSON Schema patterns are not anchored
        ("^\\d{1,13}$|^\\d{1,13}\\.\\d{1,5}$", "165.88", True),
        ("^\\d{1,13}$|^\\d{1,13}\\.\\d{1,5}$", "165\n", False),  # $ is the very end
        ("^\\d{1,13}$", "\u0661\u0662", False),  # \d is ASCII only
        ("^(?!\\s)(.*)(\\S)$", "key", True),
        ("^(?!\\s)(.*)(\\S)$", "key\u00a0", False),  # NBSP is JavaScript white space
        ("^(?!\\s)(.*)(\\S)$", "\ufeffkey", False),
        ("^(?!\\s)(.*)(\\S)$", "a\rb", False),  # . stops at \r
        ("[\\s]", "\u2028", True),
        ("[[]", "[", True),
        ("[a&&b]", "&", True),
        ("\\+[0-9]{1,3}\\-[0-9()+\\-]{1,30}", "+49-(30)123", True),
    ],
)
def test_patterns_are_searched_as_javascript_does(pattern: str, value: str, matches: bool) -> None:
    assert js_search(pattern)(value) is matches


@pytest.mark.parametrize("pattern", ["[]", "a[^]b", "[\\S]", "\\p{L}", "(?<name>a)"])
def test_a_pattern_python_cannot_evaluate_is_refused(pattern: str) -> None:
    with pytest.raises(SpecError, match=re.escape(repr(pattern))):
        js_search(pattern)
