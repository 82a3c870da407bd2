"""What the compute handlers share: Nova's links and pages, routes bound to
microversions, boolean query parameters, uuids in paths."""

from __future__ import annotations

import datetime
import uuid

from stacklet.common.api import ApiRequest
from stacklet.common.errors import BadRequest, NotFound
from stacklet.common.pagination import PageRequest, next_link, parse_page_request

# Nova's [api] max_limit: the most items one page holds, whatever limit is asked.
MAX_LIMIT = 1000


def resource_links(req: ApiRequest, collection: str, resource_id: str) -> list[dict]:
    """The versioned self link and the unversioned bookmark, as Nova writes them."""
    return [{"rel": "self", "href": req.url(f"/v2.1/{collection}/{resource_id}")},
            {"rel": "bookmark", "href": req.url(f"/{collection}/{resource_id}")}]


def page_request(req: ApiRequest) -> PageRequest:
    return parse_page_request(req.query, max_limit=MAX_LIMIT)


def collection_links(req: ApiRequest, path: str, more: bool, last_marker: str | None) -> list:
    """The ``<collection>_links`` list: a next link when a page was cut short."""
    if not more or last_marker is None:
        return []
    return [{"rel": "next", "href": next_link(req.url(f"/v2.1{path}"), req.query, last_marker)}]


def require_version(req: ApiRequest, minimum: str, maximum: str | None = None) -> None:
    """A route that exists only in some microversions is a 404 in the others, as in Nova."""
    if not req.version.matches(minimum, maximum):
        raise NotFound("The resource could not be found.")


_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")

# Nova's boolean in request bodies: a JSON boolean or one of its spellings.
BOOLEAN = {"type": ["boolean", "string"],
           "enum": [True, False, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes",
                    "yes", "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No",
                    "no"]}


# Nova's database keeps counts and limits in 32-bit integers.
INT_MAX = 2**31 - 1


def as_int(value: int | str, field: str, minimum: int, maximum: int = INT_MAX) -> int:
    """A count validated as a number or a string of digits, as an int.  A schema
    checks only a string's characters (an empty string, "0" and a run of 400
    nines pass), so its value is checked here, with Nova's message."""
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                         f"{field} must be an integer") from None
    if not minimum <= number <= maximum:
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                         f"{field} must be >= {minimum} and <= {maximum}")
    return number


def as_bool(value: bool | str) -> bool:
    """A value BOOLEAN validated, as a bool."""
    return value if isinstance(value, bool) else value.lower() in _TRUE


def query_flag(req: ApiRequest, name: str, default: bool = False) -> bool:
    """A boolean query parameter in oslo's spellings; 400 for anything else."""
    raw = req.query.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. "
                     f"'{raw}' is not a boolean.")


def check_uuid(value: str) -> None:
    """A path id that must be a uuid (services and hypervisors from 2.53); 400 if not."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise BadRequest(f"Invalid uuid {value}") from None


def nova_time(moment: datetime.datetime | None) -> str | None:
    """Nova's timestamps: ISO 8601 with microseconds and no zone."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") if moment else None


def reject_unknown_query(req: ApiRequest, allowed: set[str]) -> None:
    """From the microversion where Nova validates a listing's query strictly, an
    unknown parameter is a 400 rather than silently ignored."""
    unknown = sorted(set(req.query) - allowed)
    if unknown:
        raise BadRequest("Invalid input for query parameters: Additional properties are "
                         f"not allowed ({', '.join(repr(name) for name in unknown)} "
                         f"{'were' if len(unknown) > 1 else 'was'} unexpected)")
