"""``limit``/``marker`` pagination with ``next`` links, as Nova, Glance and Neutron do it."""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence, TypeVar
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from stacklet.common.errors import BadRequest

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class PageRequest:
    limit: int | None
    marker: str | None


def parse_page_request(query: QueryParams, max_limit: int = 1000,
                       default_limit: int | None = None) -> PageRequest:
    """Read limit and marker; a limit above max_limit is lowered to it, and no
    limit is default_limit (None: everything)."""
    limit = query.get("limit")
    if limit is not None:
        try:
            limit = int(limit)
        except ValueError:
            raise BadRequest(f"Invalid limit {limit!r}: it must be a non-negative integer.")
        if limit < 0:
            raise BadRequest(f"Invalid limit {limit}: it must be a non-negative integer.")
        limit = min(limit, max_limit)
    else:
        limit = default_limit
    return PageRequest(limit=limit, marker=query.get("marker") or None)


def paginate(items: Sequence[T], page: PageRequest, key: Callable[[T], str],
             unknown_marker: Callable[[str], Exception] | None = None) -> tuple[list[T], bool]:
    """Cut a sorted sequence at the marker and the limit; also say whether more follow.

    An unknown marker is a 400 in most OpenStack APIs that use markers; a
    service that answers otherwise passes ``unknown_marker`` (marker → error).
    """
    start = 0
    if page.marker is not None:
        for index, item in enumerate(items):
            if key(item) == page.marker:
                start = index + 1
                break
        else:
            if unknown_marker is not None:
                raise unknown_marker(page.marker)
            raise BadRequest(f"Marker {page.marker} could not be found.")
    end = len(items) if page.limit is None else start + page.limit
    return list(items[start:end]), end < len(items)


def next_link(url: str, query: QueryParams, last_id: str) -> str:
    """The URL of the next page: the same query with the marker moved on."""
    return f"{url}?{urlencode(_without_marker(query) + [('marker', last_id)])}"


def first_link(url: str, query: QueryParams) -> str:
    """The URL of the first page: the same query without a marker."""
    params = _without_marker(query)
    return f"{url}?{urlencode(params)}" if params else url


def _without_marker(query: QueryParams) -> list[tuple[str, str]]:
    return [(k, v) for k, v in query.multi_items() if k != "marker"]
