"""Timestamps as the OpenStack APIs write and read them."""

from __future__ import annotations

import datetime

from stacklet.common.errors import BadRequest


def parse_isotime(text: str, field: str) -> datetime.datetime:
    """An ISO 8601 timestamp from a request, as naive UTC; 400 naming the field if invalid."""
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        raise BadRequest(f"Invalid input for field '{field}': {text!r} is not an ISO 8601 "
                         "timestamp (e.g. 2030-01-31T12:00:00Z).") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


def isotime(moment: datetime.datetime | None) -> str | None:
    """Keystone's timestamp format: microseconds and a Z."""
    if moment is None:
        return None
    # isoformat is several times faster than strftime, and lists format many.
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_expiry(text: str | None, field: str = "expires_at") -> datetime.datetime | None:
    """An optional expiry from a request: None, or a timestamp in the future."""
    if text is None:
        return None
    moment = parse_isotime(text, field)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if moment <= now:
        raise BadRequest(f"Invalid input for field '{field}': {text} is in the past.")
    return moment
