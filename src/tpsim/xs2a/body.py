"""How an XS2A request body is read: decoded, its values checked, and every refusal worded.

``parse_body`` is the one place a body is parsed (``models`` holds the schemas it parses
into): the bytes go through ``core.json_body`` (UTF-8 only, a key named twice refused, at
most ``MAX_JSON_DEPTH`` levels), then pydantic, and whatever is wrong comes out as an
``Xs2aError`` (FORMAT_ERROR unless a check says otherwise) whose ``path`` is the dotted wire
path of the offending field (list items by index, as Mojaloop's errors name them:
``payments.0.creditorName``) and whose text says what is wrong and what to send.

A check (the value checks here, the models' validators) refuses by raising ``refusal``: a
pydantic error that carries its own XS2A code and text, which ``parse_body`` renders as they
are. The choices these checks make where the spec leaves room are listed in ``models``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any, TypeVar, get_args

import pydantic
from pydantic import AfterValidator, BaseModel
from pydantic_core import ErrorDetails, PydanticCustomError

from tpsim.config import check_iban
from tpsim.core.errors import MalformedBody
from tpsim.core.json_body import decode_object, json_type
from tpsim.xs2a.errors import FormatError, ParameterNotSupported, Xs2aError

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_CHARS",
    "amount_value",
    "date_time",
    "matching",
    "parse_body",
    "purpose_code",
    "refusal",
    "shown",
    "valid_iban",
    "wire_date",
]

M = TypeVar("M", bound=BaseModel)

# The deepest PIS body (a bulk payment's creditorAccount.other) nests 5 levels; 32 stays far
# below any recursion limit of the decoder and pydantic. Numbers: no PIS field is a number.
MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 100


def parse_body(model: type[M], raw: bytes) -> M:
    """``raw`` as ``model``, or the ``Xs2aError`` that says what to fix.

    The body must be a UTF-8 JSON object without duplicate keys, nesting at most
    ``MAX_JSON_DEPTH`` levels; no pydantic or json exception leaves this function.
    """
    try:
        value = decode_object(raw, max_depth=MAX_JSON_DEPTH, max_number_chars=MAX_NUMBER_CHARS)
    except MalformedBody as exc:
        raise FormatError(str(exc)) from None
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as exc:
        raise _translate(model, exc.errors(include_url=False)) from None


# --- refusals raised from checks -------------------------------------------------------

#: pydantic error type of a refusal a check words itself; its context names the XS2A code,
#: the text and (optionally) the field below the error's location it is about.
_XS2A = "xs2a"
_CODES: Mapping[str, type[Xs2aError]] = {
    "FORMAT_ERROR": FormatError,
    "PARAMETER_NOT_SUPPORTED": ParameterNotSupported,
}


def refusal(text: str, *, field: str = "", code: str = "FORMAT_ERROR") -> PydanticCustomError:
    """The error a check raises: ``parse_body`` answers ``code`` with ``text`` about the
    field being checked (or ``field`` below it, for a model's cross-field rule)."""
    return PydanticCustomError(_XS2A, "{text}", {"text": text, "field": field, "code": code})


# --- the value checks of the spec's data types ------------------------------------------


def matching(pattern: str, what: str) -> AfterValidator:
    """A check that a string is ``what`` (a rule and an example), by an anchored pattern."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise refusal(f"{shown(value)} is not {what}")
        return value

    return AfterValidator(check)


def valid_iban(value: str) -> str:
    """An IBAN whose ISO 13616 mod-97 check holds, in its electronic form."""
    try:
        return check_iban(value)
    except ValueError as exc:
        raise refusal(str(exc)) from None


_AMOUNT = re.compile(r"-?[0-9]{1,14}(\.[0-9]{1,3})?")
_TOO_PRECISE = re.compile(r"-?[0-9]+\.[0-9]{4,}")
_TOO_LARGE = re.compile(r"-?[0-9]{15,}(\.[0-9]+)?")


def amount_value(value: str) -> str:
    """The spec's amountValue (a string: up to 14 digits, a dot, up to 3 decimals)."""
    if _AMOUNT.fullmatch(value):
        return value
    if _TOO_PRECISE.fullmatch(value):
        raise refusal(f"{shown(value)} has more than 3 decimals; send e.g. '10.12'")
    if _TOO_LARGE.fullmatch(value):
        raise refusal(f"{shown(value)} has more than 14 digits before the dot")
    raise refusal(
        f"{shown(value)} is not an amount: digits, then optionally a dot and at most 3"
        " decimals, e.g. '10.12'"
    )


def wire_date(value: object) -> date:
    """An ISO 8601 calendar date sent as a JSON string (``format: date``), as a ``date``;
    never a number (pydantic would read one as a timestamp)."""
    if not isinstance(value, str):
        raise refusal(f"must be a date as a JSON string, e.g. '2025-03-31', not {json_type(value)}")
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise refusal(f"{shown(value)} is not a date: send YYYY-MM-DD, e.g. '2025-03-31'")


def date_time(value: str) -> str:
    """An RFC 3339 date-time (``format: date-time``), kept as sent."""
    if re.fullmatch(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9:]{8}(\.[0-9]+)?([Zz]|[+-][0-9:]{5})", value
    ):
        try:
            datetime.fromisoformat(value.upper())
            return value
        except ValueError:
            pass
    raise refusal(f"{shown(value)} is not a date-time: send e.g. '2025-03-31T10:00:00Z' (RFC 3339)")


# ExternalPurpose1Code as the 1.3.11 bundle enumerates it.
_PURPOSE_CODES = frozenset(
    """BKDF BKFE BKFM BKIP BKPP CBLK CDCB CDCD CDCS CDDP CDOC CDQC ETUP FCOL MTUP ACCT CASH
    COLL CSDB DEPT INTC LIMA NETT BFWD CCIR CCPC CCPM CCSM CRDS CRPR CRSP CRTL EQPT EQUS EXPT
    EXTD FIXI FWBC FWCC FWSB FWSC MARG MBSB MBSC MGCC MGSC OCCC OPBC OPCC OPSB OPSC OPTN OTCD
    REPO RPBC RPCC RPSB RPSC RVPO SBSC SCIE SCIR SCRP SHBC SHCC SHSL SLEB SLOA SWBC SWCC SWPT
    SWSB SWSC TBAS TBBC TBCC TRCP AGRT AREN BEXP BOCE COMC CPYR GDDS GDSV GSCB LICF MP2B POPE
    ROYA SCVE SERV SUBS SUPP TRAD CHAR COMT MP2P ECPG ECPR ECPU EPAY CLPR COMP DBTC GOVI HLRP
    HLST INPC INPR INSC INSU INTE LBRI LIFI LOAN LOAR PENO PPTI RELG RINP TRFD FORW FXNT ADMG
    ADVA BCDM BCFG BLDM BNET CBFF CBFR CCRD CDBL CFEE CGDD CORT COST CPKC DCRD DSMT DVPM EDUC
    FACT FAND FCPM FEES GOVT ICCP IDCP IHRP INSM IVPT MCDM MCFG MSVC NOWS OCDM OCFG OFEE OTHR
    PADD PTSP RCKE RCPT REBT REFU RENT REOD RIMB RPNT RRBN RVPM SLPI SPLT STDY TBAN TBIL TCSC
    TELI TMPG TPRI TPRP TRNC TRVC WEBI ANNI CAFI CFDI CMDT DERI DIVD FREX HEDG INVS PRME SAVG
    SECU SEPI TREA UNIT FNET FUTR ANTS CVCF DMEQ DNTS HLTC HLTI HSPC ICRF LTCF MAFC MARF MDCS
    VIEW CDEP SWFP SWPP SWRS SWUF ADCS AEMP ALLW ALMY BBSC BECH BENE BONU CCHD COMM CSLP GFRP
    GVEA GVEB GVEC GVED GWLT HREC PAYR PEFC PENS PRCP RHBS SALA SSBE LBIN LCOL LFEE LMEQ LMFI
    LMRK LREB LREV LSFL ESTX FWLV GSTX HSTX INTX NITX PTXP RDTX TAXS VATX WHLD TAXR B112 BR12
    TLRF TLRR AIRB BUSB FERB RLWY TRPT CBTV ELEC ENRG GASB NWCH NWCM OTLC PHON UBIL WTER""".split()
)


def purpose_code(value: str) -> str:
    """An ExternalPurpose1Code the spec lists (a list, not a pattern: 'ABCD' is not one)."""
    if value not in _PURPOSE_CODES:
        raise refusal(
            f"{shown(value)} is not an ISO 20022 ExternalPurpose1Code the spec lists"
            " (4 capital letters or digits, e.g. 'GDDS', 'SALA', 'OTHR')"
        )
    return value


# --- pydantic's complaint in XS2A's words ------------------------------------------------

_TYPES = {
    "string_type": "a JSON string",
    "bool_type": "true or false (a JSON boolean)",
    "model_type": "a JSON object",
    "tuple_type": "a JSON array",
}


def _translate(model: type[BaseModel], errors: list[ErrorDetails]) -> Xs2aError:
    """The first error pydantic found as an XS2A error (unknown fields: all of them named)."""
    first = errors[0]
    path = _path(first["loc"])
    if first["type"] == "extra_forbidden":
        return _unknown_fields(model, [e["loc"] for e in errors if e["type"] == "extra_forbidden"])
    ctx: Mapping[str, Any] = first.get("ctx") or {}
    if first["type"] == _XS2A:
        path = ".".join(filter(None, (path, ctx["field"]))) or None
        return _CODES[ctx["code"]](_said(path, ctx["text"]), path=path)
    return FormatError(_said(path, _rule(model, first, ctx)), path=path)


def _rule(model: type[BaseModel], error: ErrorDetails, ctx: Mapping[str, Any]) -> str:
    kind, value, loc = error["type"], error.get("input"), error["loc"]
    if kind == "missing":
        if loc[-1] == "iban":
            return "is required: tpsim's banks are reached by IBAN"
        return f"is required in {_schema_name(_schema_at(model, loc[:-1]))}"
    if kind in _TYPES:
        return f"must be {_TYPES[kind]}, got {json_type(value)}"
    if kind == "string_unicode":
        return "must be Unicode text: it holds a lone surrogate escape such as \\ud800"
    if kind == "enum":
        return f"{shown(value)} is not one of {ctx['expected']}"
    if kind == "string_too_long":
        return f"has {len(str(value))} characters; at most {ctx['max_length']} are allowed"
    if kind == "too_short":
        return f"has {ctx['actual_length']} items; send at least {ctx['min_length']}"
    if kind == "too_long":
        return f"has {ctx['actual_length']} items; at most {ctx['max_length']} are allowed"
    return error["msg"]


def _unknown_fields(model: type[BaseModel], locs: list[tuple[int | str, ...]]) -> FormatError:
    named = [f"{_path(loc)} ({_not_in(model, loc)})" for loc in locs]
    many = len(named) > 1
    text = (
        f"unknown field{'s' if many else ''}: {', '.join(named)}; fix the spelling or leave"
        f" {'them' if many else 'it'} out"
    )
    return FormatError(text, path=_path(locs[0]))


def _not_in(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """Which schema lacks the field at ``loc``, and the field it may be a misspelling of."""
    schema = _schema_at(model, loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), list(schema.model_fields), n=1, cutoff=0.8)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"not in {_schema_name(schema)}{hint}"


def _schema_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model at ``loc`` below ``model`` (list indexes skipped), for naming its schema."""
    current = model
    for key in loc:
        field = current.model_fields.get(key) if isinstance(key, str) else None
        if field is not None:
            current = next(_models_in(field.annotation), current)
    return current


def _schema_name(model: type[BaseModel]) -> str:
    return str(getattr(model, "schema_name", model.__name__))


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _models_in(arg)


def _path(loc: tuple[int | str, ...]) -> str | None:
    return ".".join(str(part) for part in loc) or None


def _said(path: str | None, text: str) -> str:
    """``text`` about the field at ``path``: "x is required", "x: 'y' is not an IBAN"."""
    if not path:
        return text
    return f"{path} {text}" if text.startswith(_PREDICATES) else f"{path}: {text}"


_PREDICATES = ("is ", "has ", "must ", "names ")


def shown(value: object) -> str:
    """``value`` as a short quotation for an error text (at most 40 characters)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"
