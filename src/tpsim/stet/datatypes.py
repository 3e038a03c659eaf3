"""STET 1.4.2's data types as checked strings, and pydantic's complaints in plain words.

``stet.models`` builds its models from these. Each type is an annotated ``str`` whose check
says what is wrong and gives an example to send; codes are validated strings spelled as on
the wire (the tuples below). A check refuses with ``problem``: a pydantic error carrying its
own sentence and, for a rule across members, the wire path below the checked value that it
is about. ``worded`` turns any pydantic error into (wire path, sentence naming the member).

The validation context says which reading applies: ``{SENT: True}`` checks a body tpsim
sends (strict), anything else reads a PISP's request (lenient where STET PISPs differ).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo
from pydantic_core import ErrorDetails, PydanticCustomError

from tpsim.config import check_iban
from tpsim.core.json_body import json_type

PAYMENT_STATUSES = ("RCVD", "PDNG", "ACTC", "ACCP", "ACSP", "ACWC", "ACWP", "PART", "ACSC", "RJCT")
TRANSACTION_STATUSES = ("PDNG", "ACSP", "ACSC", "RJCT")
# StatusReasonInformation; AM18 is 1.4.2's (the 1.4.0 list lacks it).
REASON_CODES = tuple(
    "AC01 AC04 AC06 AG01 AM18 CH03 CUST DS02 FF01 FRAD MS03 NOAS RR01 RR03 RR04 RR12".split()
)
# 1.4.0 named the third approach EMBEDDED.
APPROACHES = ("REDIRECT", "DECOUPLED", "EMBEDDED-1-FACTOR")
# 1.4.0 allowed CASH and DVPM only; 1.4.2 adds the international CORT, INTC and TREA.
CATEGORY_PURPOSES = ("CASH", "CORT", "DVPM", "INTC", "TREA")
FREQUENCIES = ("DAIL", "WEEK", "TOWK", "MNTH", "TOMN", "QUTR", "SEMI", "YEAR")

SENT = "sent"  # the validation context's flag: checking a body tpsim sends


def problem(text: str, field: str = "") -> PydanticCustomError:
    """A refusal a check words itself; ``field`` is a wire path below the checked value."""
    return PydanticCustomError("stet", "{text}", {"text": text, "field": field})


def is_sent(info: ValidationInfo) -> bool:
    """Whether this validation checks a body tpsim sends."""
    return bool(info.context and info.context.get(SENT))


def quoted(value: str) -> str:
    """``value`` quoted for a message, cut to 40 characters."""
    return repr(value) if len(value) <= 40 else repr(value[:37]) + "…"


def matching(pattern: str, what: str) -> AfterValidator:
    """A check that a string is ``what`` (said with an example), by an anchored pattern."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise problem(f"must be {what}, not {quoted(value)}")
        return value

    return AfterValidator(check)


def one_of(codes: tuple[str, ...], older: Mapping[str, str] | None = None) -> AfterValidator:
    """A check that a string is one of ``codes``; ``older`` names 1.4.0 spellings."""

    def check(value: str) -> str:
        if value in codes:
            return value
        hint = (older or {}).get(value)
        renamed = f" (STET 1.4.0's {value} is {hint} in 1.4.2)" if hint else ""
        raise problem(f"must be one of {', '.join(codes)}, not {quoted(value)}{renamed}")

    return AfterValidator(check)


def _iban(value: str) -> str:
    """STET's IBAN pattern, then the ISO 13616 check digits (mod 97)."""
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}", value):
        example = "'FR7630006000011234567890189'"
        raise problem(f"must be an IBAN without spaces like {example}, not {quoted(value)}")
    try:
        check_iban(value)
    except ValueError as exc:
        raise problem(f"must be a valid IBAN: {exc}") from None
    return value


_DATE_TIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})"
)


def _date_time(value: str, info: ValidationInfo) -> str:
    """An ISO 8601 date-time with its offset, kept as sent. A PISP may write the offset
    without a colon (Java's ``+0100``): it is read as ``+01:00``, since tpsim echoes what
    it read and sends RFC 3339 only."""
    found = _DATE_TIME.fullmatch(value)
    if found and not (is_sent(info) and len(found[4]) == 5):
        day, clock, fraction, offset = found.groups()
        offset = "+00:00" if offset == "Z" else f"{offset[:3]}:{offset[-2:]}"
        try:
            datetime.fromisoformat(f"{day}T{clock}{(fraction or '')[:7]}{offset}")
        except ValueError:
            pass
        else:  # read: kept as sent, but in RFC 3339's spelling, which tpsim echoes
            return value if found[4] in ("Z", offset) else f"{value[:-5]}{offset}"
    example = "'2025-03-31T10:00:00.000+01:00'"
    raise problem(f"must be a date-time with its offset like {example}, not {quoted(value)}")


_AMOUNT = re.compile(r"-?[0-9]{1,13}(\.[0-9]{0,5})?")  # STET's AmountType pattern
_AMOUNT_RULE = 'must be a decimal string like "12.25" (up to 13 digits, a dot, up to 5 decimals)'


def amount_text(value: object, info: ValidationInfo) -> str:
    """An amount as STET's decimal string. On requests a JSON number is read as the decimal
    it spells (some PISPs send one); tpsim's answers always send the string."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not isinstance(value, str) and (is_sent(info) or not number):
        raise problem(f"{_AMOUNT_RULE}, not {json_type(value)}")
    if isinstance(value, int) and abs(value) >= 10**13:
        raise problem(f"{_AMOUNT_RULE}: this one has more than 13 digits")
    text = value if isinstance(value, str) else format(Decimal(repr(value)), "f")
    if not _AMOUNT.fullmatch(text):
        raise problem(f"{_AMOUNT_RULE}, not {quoted(text)}")
    return text


_URL = re.compile(r"https?://[^/?#\s]+([/?#]\S*)?", re.IGNORECASE)


def _url(value: str) -> str:
    """An absolute http(s) URL: where the bank sends the PSU's browser back."""
    if not _URL.fullmatch(value):
        example = "'https://pisp.example/ok'"
        raise problem(f"must be an absolute http(s) URL like {example}, not {quoted(value)}")
    return value


Identifier = Annotated[
    str,
    # STET's identifier pattern: the SEPA character set.
    matching(r"[a-zA-Z0-9 /\-?:().,']{1,35}", "1 to 35 letters, digits, spaces or /-?:().,'"),
]
Max10 = Annotated[str, Field(min_length=1, max_length=10)]
Max35 = Annotated[str, Field(min_length=1, max_length=35)]
Max70 = Annotated[str, Field(min_length=1, max_length=70)]
Max140 = Annotated[str, Field(min_length=1, max_length=140)]
Text = Annotated[str, Field(min_length=1)]
Currency = Annotated[str, matching("[A-Z]{3}", "an ISO 4217 currency code like 'EUR'")]
Country = Annotated[str, matching("[A-Z]{2}", "an ISO 3166 country code like 'FR'")]
Bic = Annotated[
    str,
    matching("[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?", "a BIC like 'BNKAFRPPXXX'"),
]
Iban = Annotated[str, AfterValidator(_iban)]
DateTime = Annotated[str, AfterValidator(_date_time)]
Url = Annotated[str, AfterValidator(_url)]
PaymentStatus = Annotated[str, one_of(PAYMENT_STATUSES)]
TransactionStatus = Annotated[str, one_of(TRANSACTION_STATUSES)]
Reason = Annotated[str, one_of(REASON_CODES)]
Approach = Annotated[str, one_of(APPROACHES, {"EMBEDDED": "EMBEDDED-1-FACTOR"})]


# --- pydantic's complaint in plain words -----------------------------------------------

_TYPES = {
    "string_type": "a JSON string",
    "int_type": "a JSON integer",
    "bool_type": "true or false",
    "model_type": "a JSON object",
    "dict_type": "a JSON object",
    "tuple_type": "a JSON array",
    "list_type": "a JSON array",
}
_Rule = Callable[[Any, Mapping[str, Any]], str]
_RULES: Mapping[str, _Rule] = {
    "missing": lambda _, __: "is required",
    "string_too_short": lambda _, __: "must not be empty",
    "string_too_long": lambda v, c: f"has {len(v)} characters; at most {c['max_length']} fit",
    "too_short": lambda _, c: f"has {c['actual_length']} items; send at least {c['min_length']}",
    "too_long": lambda _, c: f"has too many items; send at most {c['max_length']}",
    "greater_than_equal": lambda v, c: f"must be at least {c['ge']}, not {v}",
    "less_than_equal": lambda v, c: f"must be at most {c['le']}, not {v}",
}


def worded_all(errors: list[ErrorDetails]) -> list[tuple[str, str]]:
    """Every error ``worded``, but for a list's length error caused by its failing items
    (pydantic counts only the items that passed)."""
    failing = {e["loc"][:i] for e in errors for i, p in enumerate(e["loc"]) if isinstance(p, int)}
    kept = [e for e in errors if not (e["type"] == "too_short" and e["loc"] in failing)]
    return [worded(error) for error in kept]


def worded(error: ErrorDetails) -> tuple[str, str]:
    """A pydantic error as (wire path, one sentence that names the member): list items by
    index, ``creditTransferTransaction[0].instructedAmount.amount``."""
    loc = error["loc"]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    kind, value = error["type"], error.get("input")
    if kind == "stet":
        field = ctx["field"]
        path = f"{path}.{field}" if path and field else path or field
        text = ctx["text"]
    elif kind in _TYPES:
        text = f"must be {_TYPES[kind]}, not {json_type(value)}"
    elif kind in _RULES:
        text = _RULES[kind](value, ctx)
    else:
        text = f"is not valid: {error['msg']}"
    return path, f"{path or 'the body'} {text}"
