"""Building the messages simulated participants send: headers, error callbacks, amounts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tpsim.config_settings import Profile
from tpsim.mojaloop.errors import FspiopError, explanation
from tpsim.mojaloop.message import Message, make_headers
from tpsim.mojaloop.wire import headers as wire_headers
from tpsim.mojaloop.wire import routes


def new_message(
    method: str,
    path: str,
    *,
    source: str,
    destination: str | None,
    body: dict[str, Any] | None,
    now: datetime,
    related: tuple[str, ...] = (),
) -> Message:
    """A message as tpsim sends it: the route's media type, Date, FSPIOP-Source/Destination."""
    route, params = routes.match(method, path)
    headers = wire_headers.build_headers(method, route.resource, source, destination, now)
    return Message(method, path, make_headers(headers), body, related, route, params)


def error_callback(
    message: Message, error: FspiopError, *, sender: str, profile: Profile, now: datetime
) -> Message | None:
    """The ``PUT …/error`` answering ``message`` with ``error``, sent by ``sender``, in
    ``message``'s conversation (its ``related`` ids: the ALS refusing a consent's
    ``THIRD_PARTY_LINK``, whose path id links nothing, answers in that consent's).

    None when no error callback applies: ``message`` is itself an error callback, has no
    source, or would be answered to its own sender.
    """
    route, params = message.route, message.params
    if route is None:
        return None
    if route.is_error_callback or not message.source or message.source == sender:
        return None
    path = routes.error_path(route, params, message.body)
    if path is None:
        return None
    return new_message(
        "PUT",
        path,
        source=sender,
        destination=message.source,
        body=error.error_information(profile),
        now=now,
        related=message.related,
    )


def downstream_error(kind: type[FspiopError], who: str, message: Message) -> FspiopError:
    """A failure reported by ``who`` in an error callback, keeping its code and text."""
    info = (message.body or {}).get("errorInformation", {})
    code, text = info.get("errorCode", "?"), explanation(info)
    return kind(f"{who} answered {code}: {text}", extensions={"downstreamErrorCode": str(code)})


def format_amount(value: Decimal) -> str:
    """An FSPIOP ``Amount`` string: no exponent, no trailing zeros (``100``, ``0.5``)."""
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def format_datetime(moment: datetime) -> str:
    """An FSPIOP ``DateTime`` in UTC: ``2030-01-01T00:00:00.000Z`` (milliseconds are mandatory)."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"  # a third of strftime's CPU


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 date-time with a zone (``Z`` or an offset), or None if it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
