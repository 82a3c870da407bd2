"""Neutron's list queries: filters, tag filters, sorting and marker pagination,
all done in the database so a list costs the page, not the table.

A resource describes itself once (``Resource``): which query parameters
filter which columns, which keys sort.  ``list_page`` reads the query string
the way Neutron does: any attribute is a filter (repeat it for "any of"),
``sort_key``/``sort_dir`` pair up, ``limit``/``marker``/``page_reverse``
page, ``tags``/``tags-any``/``not-tags``/``not-tags-any`` take comma lists.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.datastructures import QueryParams

from stacklet.network.errors import BadRequest
from stacklet.network.models import Tag

# Parameters that shape a list rather than filter it.
CONTROL_PARAMS = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse",
                  "tags", "tags-any", "not-tags", "not-tags-any", "verbose"}
MAX_LIMIT = 1000

Filter = Callable[[sa.Select, list[str]], sa.Select]


@dataclasses.dataclass(frozen=True)
class Resource:
    singular: str                      # "network": the body key, policy and error names
    plural: str                        # "networks": the collection and tag resource type
    model: Any
    # query parameter -> column (equality, "any of" when repeated) or a
    # function adding its own condition
    filters: dict[str, Any]
    # sort key -> column
    sort_keys: dict[str, Any]


def standard_filters(model) -> dict[str, Any]:
    """The filters every resource has: id, project, name, description, revision."""
    filters = {"id": model.id, "project_id": model.project_id, "tenant_id": model.project_id,
               "description": model.description, "revision_number": model.revision_number}
    if hasattr(model, "name"):
        filters["name"] = model.name
    return filters


def standard_sort_keys(model) -> dict[str, Any]:
    keys = {"id": model.id, "project_id": model.project_id, "tenant_id": model.project_id,
            "created_at": model.created_at, "updated_at": model.updated_at,
            "description": model.description, "revision_number": model.revision_number}
    if hasattr(model, "name"):
        keys["name"] = model.name
    return keys


def apply_filters(query: sa.Select, resource: Resource, params: QueryParams) -> sa.Select:
    """The query narrowed by every filter and tag filter in the query string;
    400 for a parameter that is no attribute of the resource (filter-validation)."""
    for key in dict.fromkeys(params.keys()):
        if key in CONTROL_PARAMS:
            continue
        target = resource.filters.get(key)
        if target is None:
            raise BadRequest(f"{key} is invalid attribute for filtering")
        values = params.getlist(key)
        if callable(target) and not isinstance(target, sa.ColumnElement) and \
                not hasattr(target, "property"):
            query = target(query, values)
        else:
            query = query.where(target.in_([_typed(target, key, v) for v in values]))
    return _tag_filters(query, resource, params)


def _typed(column, key: str, value: str) -> Any:
    python_type = column.type.python_type
    if python_type is bool:
        lowered = value.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise BadRequest(f"Invalid input for {key}. Reason: '{value}' cannot be "
                             "converted to boolean.")
        return lowered in ("true", "1")
    if python_type is int:
        try:
            return int(value)
        except ValueError:
            raise BadRequest(f"Invalid input for {key}. Reason: '{value}' is not an "
                             "integer.") from None
    return value


def _tag_filters(query: sa.Select, resource: Resource, params: QueryParams) -> sa.Select:
    model = resource.model

    def tagged(tag: str):
        return sa.exists().where(Tag.resource_type == resource.plural,
                                 Tag.resource_id == model.id, Tag.tag == tag)

    for key in ("tags", "tags-any", "not-tags", "not-tags-any"):
        tags = [t for value in params.getlist(key) for t in value.split(",") if t]
        if not tags:
            continue
        every = sa.and_(*[tagged(t) for t in tags])
        anyof = sa.or_(*[tagged(t) for t in tags])
        condition = {"tags": every, "tags-any": anyof,
                     "not-tags": sa.not_(every), "not-tags-any": sa.not_(anyof)}[key]
        query = query.where(condition)
    return query


@dataclasses.dataclass
class Page:
    rows: list
    links: list[dict]


def list_page(session, query: sa.Select, resource: Resource, params: QueryParams,
              url: str) -> Page:
    """One page of the filtered query, sorted and cut at the marker, with the
    ``<plural>_links`` Neutron gives when a limit was asked."""
    query = apply_filters(query, resource, params)
    order = _sort_order(resource, params)
    limit = _limit(params)
    marker = params.get("marker")
    reverse = params.get("page_reverse", "").lower() == "true"
    if reverse:
        order = [(column, not ascending) for column, ascending in order]
    if marker:
        query = query.where(_after_marker(session, resource, order, marker))
    query = query.order_by(*[c.asc() if up else c.desc() for c, up in order])
    if limit is not None:
        query = query.limit(limit + 1)
    rows = list(session.scalars(query).unique())
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    if reverse:
        rows.reverse()
    links = []
    if limit is not None and rows:
        # Going forward, "next" exists when more rows followed; going back,
        # when we came from a marker.  "previous" mirrors that.
        has_next = more if not reverse else bool(marker)
        has_previous = bool(marker) if not reverse else more
        if has_next:
            links.append({"rel": "next", "href": _page_url(url, params, rows[-1].id, False)})
        if has_previous:
            links.append({"rel": "previous",
                          "href": _page_url(url, params, rows[0].id, True)})
    return Page(rows, links)


def _sort_order(resource: Resource, params: QueryParams) -> list[tuple[Any, bool]]:
    keys, dirs = params.getlist("sort_key"), params.getlist("sort_dir")
    if dirs and len(dirs) != len(keys):
        raise BadRequest("The number of sort_keys and sort_dirs must be same")
    order = []
    for index, key in enumerate(keys):
        column = resource.sort_keys.get(key)
        if column is None:
            raise BadRequest(f"{key} is invalid attribute for sort_keys")
        direction = dirs[index].lower() if dirs else "asc"
        if direction not in ("asc", "desc"):
            raise BadRequest(f"{dirs[index]} is invalid value for sort_dirs, valid sort "
                             "dir values are 'asc' and 'desc'")
        order.append((column, direction == "asc"))
    # The id last makes every order total, so markers cut pages exactly.
    if not any(column is resource.model.id for column, _ in order):
        order.append((resource.model.id, order[-1][1] if order else True))
    return order


def _limit(params: QueryParams) -> int | None:
    raw = params.get("limit")
    if raw is None or raw == "":
        return None
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest(f"Limit must be an integer 0 or greater and not '{raw}'") from None
    if limit < 0:
        raise BadRequest(f"Limit must be an integer 0 or greater and not '{limit}'")
    # Neutron treats a limit of 0 as "no limit"; above the maximum is the maximum.
    return min(limit, MAX_LIMIT) if limit else None


def _after_marker(session, resource: Resource, order, marker: str):
    columns = [column for column, _ in order]
    values = session.execute(sa.select(*columns).where(resource.model.id == marker)).first()
    if values is None:
        raise BadRequest(f"Marker {marker} could not be found.")
    # Lexicographic "after": (a > x) or (a = x and b > y) or ...
    clauses = []
    for index, (column, ascending) in enumerate(order):
        equal = [order[i][0] == values[i] for i in range(index)]
        step = column > values[index] if ascending else column < values[index]
        clauses.append(sa.and_(*equal, step))
    return sa.or_(*clauses)


def _page_url(url: str, params: QueryParams, marker: str, reverse: bool) -> str:
    items = [(k, v) for k, v in params.multi_items() if k not in ("marker", "page_reverse")]
    items.append(("marker", marker))
    if reverse:
        items.append(("page_reverse", "True"))
    return f"{url}?{urlencode(items)}"
