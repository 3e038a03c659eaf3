"""FSPIOP / Third Party HTTP headers: media types and versions, Date, and the switch's rewrite.

Media types are ``application/vnd.interoperability.{resource}+json;version={major.minor}``
(digest §3.1). Third Party resources (``thirdparty``, ``services``) exist in version 1.0
only; the FSPIOP resources accept 1.0 and 1.1 and default to 1.1, the version of the FSPIOP
bundle the flows use (auth-service → ALS already sends ``participants`` 1.1). Plain
``application/json`` is accepted everywhere, as Mojaloop's auth-service and the 3P adapter
do. Accept may be major-only (``version=1``, what the reference SDK sends) and may list
several types.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tpsim.mojaloop.errors import MissingElement, UnacceptableVersion, ValidationError

__all__ = [
    "DEFAULT_VERSIONS",
    "SUPPORTED_VERSIONS",
    "build_headers",
    "check_accept",
    "check_content_type",
    "format_http_date",
    "forward_headers",
    "media_type",
    "parse_http_date",
    "parse_media_type",
]

SUPPORTED_VERSIONS: dict[str, tuple[str, ...]] = {
    "thirdparty": ("1.0",),
    "services": ("1.0",),
    "parties": ("1.0", "1.1"),
    "participants": ("1.0", "1.1"),
    "quotes": ("1.0", "1.1"),
    "transfers": ("1.0", "1.1"),
}
DEFAULT_VERSIONS: dict[str, str] = {
    name: versions[-1] for name, versions in SUPPORTED_VERSIONS.items()
}

_VENDOR = re.compile(r"application/vnd\.interoperability\.([a-z]+)\+json", re.IGNORECASE)
_VERSION = re.compile(r"\d+(?:\.\d+)?")
_WILDCARDS = frozenset({"*/*", "application/*"})
_HOP_BY_HOP = frozenset(
    {"content-length", "host", "accept-encoding", "transfer-encoding", "connection"}
)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EXAMPLE_DATE = "Thu, 24 Jan 2019 10:23:12 GMT"
# The year of an RFC 5322 date: four digits, not part of a time (10:23) or a zone (+0100).
_YEAR = re.compile(r"(?<![\d:+-])[1-9]\d{3}(?![\d:])")


def media_type(resource: str, version: str | None = None) -> str:
    """``application/vnd.interoperability.{resource}+json;version=…`` (resource default)."""
    version = version or DEFAULT_VERSIONS[resource]
    return f"application/vnd.interoperability.{resource}+json;version={version}"


def parse_media_type(value: str) -> tuple[str, str] | None:
    """``(resource, version)`` of a media type, ``("json", "")`` for application/json.

    Tolerates spaces around ``;`` and extra parameters (``q=…``, ``charset=…``); the version
    is ``""`` when the type carries none. ``None`` for anything else.
    """
    kind, *params = (part.strip() for part in value.split(";"))
    found = _VENDOR.fullmatch(kind)
    if found is None:
        return ("json", "") if kind.lower() == "application/json" else None
    version = ""
    for param in params:
        name, _, text = param.partition("=")
        if name.strip().lower() == "version":
            version = text.strip().strip('"')
    return found.group(1).lower(), version


def _unacceptable(resource: str, asked: str, header: str) -> UnacceptableVersion:
    supported = ", ".join(SUPPORTED_VERSIONS[resource])
    return UnacceptableVersion(
        f"{resource} version {asked} is not supported; supported versions: {supported}",
        field=header,
        extensions={"supportedVersions": supported},
    )


def check_content_type(resource: str, value: str | None) -> None:
    """Accept ``value`` as the Content-Type of a ``resource`` message or raise.

    ``MissingElement`` when absent; ``ValidationError`` (3100) for another media type or
    resource or a vendor type without ``version``; ``UnacceptableVersion`` (3001, 406)
    naming the supported versions for one not supported.
    """
    if not value:
        raise MissingElement("Content-Type header is required", field="Content-Type")
    parsed = parse_media_type(value)
    if parsed == ("json", ""):
        return
    if parsed is None or parsed[0] != resource:
        raise ValidationError(
            f"must be {media_type(resource)}; got {value!r}", field="Content-Type"
        )
    if not parsed[1]:
        raise ValidationError(
            f"must carry version=x.y, e.g. {media_type(resource)}", field="Content-Type"
        )
    if parsed[1] not in SUPPORTED_VERSIONS[resource]:
        raise _unacceptable(resource, parsed[1], "Content-Type")


def check_accept(resource: str, value: str | None) -> None:
    """Accept ``value`` as the Accept header of a ``resource`` request or raise.

    Passes when any listed type is ``*/*``, ``application/json`` or the resource's vendor
    type with no version, a supported major (``1``) or a supported ``major.minor``.
    ``UnacceptableVersion`` (3001, 406) when the resource is listed only in unsupported
    versions, ``ValidationError`` when it is not listed at all, ``MissingElement`` if absent.
    """
    if not value:
        raise MissingElement("Accept header is required on requests", field="Accept")
    asked: list[str] = []
    for item in value.split(","):
        kind = item.split(";", 1)[0].strip().lower()
        parsed = parse_media_type(item)
        if kind in _WILDCARDS or parsed == ("json", ""):
            return
        if parsed is None or parsed[0] != resource:
            continue
        if _version_ok(resource, parsed[1]):
            return
        asked.append(parsed[1])
    if asked:
        raise _unacceptable(resource, ", ".join(asked), "Accept")
    raise ValidationError(f"must list {media_type(resource)}; got {value!r}", field="Accept")


def _version_ok(resource: str, version: str) -> bool:
    if not version:
        return True
    if not _VERSION.fullmatch(version):
        return False
    supported = SUPPORTED_VERSIONS[resource]
    if "." in version:
        return version in supported
    return any(v.split(".")[0] == version for v in supported)


def format_http_date(dt: datetime) -> str:
    """RFC 7231 IMF-fixdate (``Thu, 24 Jan 2019 10:23:12 GMT``); naive values are UTC."""
    global _last_date
    first, last, text = _last_date
    # Every message tpsim sends has a Date and most share the last one's second: two
    # comparisons tell, where ``timestamp()`` costs several times as much (issue 17).
    if dt.tzinfo is UTC and first <= dt <= last:
        return text
    aware = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt
    utc = datetime.fromtimestamp(math.floor(aware.timestamp()), UTC)
    text = (
        f"{_DAYS[utc.weekday()]}, {utc.day:02d} {_MONTHS[utc.month - 1]} {utc.year:04d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} GMT"
    )
    _last_date = (utc, utc.replace(microsecond=999_999), text)
    return text


# The second last formatted (its first and last microsecond, in UTC) and its text; none yet.
_last_date: tuple[datetime, datetime, str] = (
    datetime.max.replace(tzinfo=UTC),
    datetime.min.replace(tzinfo=UTC),
    "",
)


def parse_http_date(value: str | None) -> datetime:
    """The aware UTC datetime of an HTTP ``Date``: an RFC 7231 IMF-fixdate, or an RFC 5322
    date with a four-digit year and an explicit zone (``+0100``, ``UTC``).

    Raises ``MissingElement`` when absent and ``ValidationError(field="Date")`` otherwise, for
    a date without a zone (``-0000`` is RFC 5322's "zone unknown") and for a year that is not
    four digits from 1000 on (``email.utils`` reads ``0000`` to ``0099`` as 2000 to 2099).
    """
    if not value:
        raise MissingElement("Date header is required", field="Date")
    return _parsed_http_date(value)


# A busy PISP sends many requests within one second, each with the same Date.
@functools.lru_cache(maxsize=64)
def _parsed_http_date(value: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise _bad_date(value, "no date") from None
    if parsed.tzinfo is None:
        raise _bad_date(value, "no time zone")
    year = _YEAR.search(value)
    if year is None or int(year.group()) != parsed.year:
        raise _bad_date(value, "no four-digit year (1000-9999)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 31 Dec 9999 at a negative offset is past the last datetime
        raise _bad_date(value, "a date out of range") from None


def _bad_date(value: str, why: str) -> ValidationError:
    return ValidationError(
        f"{why} in {value!r}; send an RFC 7231 IMF-fixdate like {_EXAMPLE_DATE!r}",
        field="Date",
    )


def build_headers(
    method: str,
    resource: str,
    source: str,
    destination: str | None,
    date: datetime,
    *,
    version: str | None = None,
) -> dict[str, str]:
    """The headers tpsim sends with a message.

    Content-Type on every method (the Third Party OpenAPI requires it even on GET), Accept
    (major version only, like the reference SDK) on everything but PUT, Date,
    FSPIOP-Source and, when given, FSPIOP-Destination.
    """
    headers = {"Content-Type": media_type(resource, version)}
    if method.upper() != "PUT":
        headers["Accept"] = f"application/vnd.interoperability.{resource}+json;version=1"
    headers["Date"] = format_http_date(date)
    headers["FSPIOP-Source"] = source
    if destination is not None:
        headers["FSPIOP-Destination"] = destination
    return headers


def forward_headers(
    headers: Mapping[str, str], method: str, date: datetime | None = None, *, hub_name: str
) -> dict[str, str]:
    """The headers the switch forwards (central-services-shared ``transformHeaders``, §3.2).

    Copies everything but hop-by-hop headers; drops Accept on PUT; re-formats the incoming
    Date (``date`` is used when it is absent or unparseable); sets FSPIOP-HTTP-Method, if
    present, to ``method``; drops FSPIOP-Signature when FSPIOP-Source is ``hub_name``.
    """
    upper = method.upper()
    source = next((v for k, v in headers.items() if k.lower() == "fspiop-source"), "")
    from_hub = source.lower() == hub_name.lower()
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in _HOP_BY_HOP or (key == "accept" and upper == "PUT"):
            continue
        if key == "fspiop-signature" and from_hub:
            continue
        if key == "date":
            value = _reformat_date(value, date)
        elif key == "fspiop-http-method":
            value = upper
        out[name] = value
    if date is not None and not any(k.lower() == "date" for k in out):
        out["Date"] = format_http_date(date)
    return out


def _reformat_date(value: str, fallback: datetime | None) -> str:
    try:
        return format_http_date(parse_http_date(value))
    except ValidationError:
        return value if fallback is None else format_http_date(fallback)
