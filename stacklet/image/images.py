"""Images: who sees them, and how they are created, listed, changed and deleted.

Visibility follows Glance: an image's owner and the admin see it; anyone sees
``public`` and ``community`` images; ``shared`` images are seen by the
projects they were shared with.  An image the caller cannot see answers 404,
never 403, so its existence is not disclosed.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.context import RequestContext
from stacklet.common.errors import BadRequest, Conflict, Forbidden, NotFound
from stacklet.common.timeutils import parse_isotime
from stacklet.db import utcnow
from stacklet.image import quotas
from stacklet.image.models import Image, ImageMember, ImageProperty, ImageTag

STATUSES = ("queued", "saving", "active", "killed", "deleted", "pending_delete",
            "deactivated", "uploading", "importing")
DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
MEMBER_STATUSES = ("pending", "accepted", "rejected")

# Attributes stored in columns; every other key of an image is an extra property.
BASE_ATTRIBUTES = ("id", "name", "status", "visibility", "protected", "os_hidden", "owner",
                   "disk_format", "container_format", "size", "virtual_size", "checksum",
                   "os_hash_algo", "os_hash_value", "min_disk", "min_ram", "created_at",
                   "updated_at", "tags")
# What only Stacklet sets (id can be chosen at creation, never changed).
READ_ONLY = ("created_at", "updated_at", "status", "checksum", "os_hash_algo",
             "os_hash_value", "size", "virtual_size", "direct_url", "self", "file", "schema",
             "locations", "stores")
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_PREFIX = "os_glance"
# Glance's import progress properties: the stores an import is writing to,
# and those it failed to write to (comma-separated store ids).
IMPORTING_TO_STORES = "os_glance_importing_to_stores"
FAILED_IMPORT = "os_glance_failed_import"
# Only a queued image (no data yet) may change what its data is said to be.
FORMAT_ATTRIBUTES = ("disk_format", "container_format")

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "virtual_size",
             "id", "created_at", "updated_at", "visibility", "owner", "min_disk", "min_ram",
             "protected", "os_hidden")
TIME_OPERATORS = ("gt", "gte", "lt", "lte", "eq", "neq")
# Columns GET /v2/images filters on, as Glance does for any image column named
# in the query: these with an optional eq: or in: operator ...
OPERATOR_FILTERS = ("name", "id", "status", "container_format", "disk_format")
# ... these by equality, and the integer ones also as <column>_min and _max.
EQUALITY_FILTERS = ("owner", "checksum", "os_hash_algo", "os_hash_value")
INTEGER_FILTERS = ("size", "virtual_size", "min_disk", "min_ram")
# Query parameters of GET /v2/images that are not property filters.
LIST_PARAMETERS = ("limit", "marker", "sort_key", "sort_dir", "sort", "member_status",
                   "visibility", "os_hidden", "tag", "protected", "created_at", "updated_at",
                   *OPERATOR_FILTERS, *EQUALITY_FILTERS, *INTEGER_FILTERS,
                   *(f"{name}_{bound}" for name in INTEGER_FILTERS for bound in ("min", "max")))


# -- visibility and policy targets ---------------------------------------------------

def membership(image: Image, project_id: str | None) -> ImageMember | None:
    """The caller's project's membership of a shared image, if any."""
    if project_id is None or image.visibility != "shared":
        return None
    return next((m for m in image.members if m.member == project_id), None)


def can_see(ctx: RequestContext, image: Image) -> bool:
    return (ctx.is_admin or image.owner == ctx.project_id
            or image.visibility in ("public", "community")
            or membership(image, ctx.project_id) is not None)


def policy_target(ctx: RequestContext, image: Image) -> dict:
    """What Glance's policy rules read: the image's owner (also as project_id,
    as Glance passes it) and visibility, and member_id when the caller's
    project is a member."""
    member = membership(image, ctx.project_id)
    return {"owner": image.owner or "", "project_id": image.owner or "",
            "visibility": image.visibility, "member_id": member.member if member else "",
            "id": image.id}


def get_visible(session: Session, ctx: RequestContext, image_id: str,
                *, for_update: bool = False) -> Image:
    """The image, when the caller may see it; 404 otherwise."""
    query = sa.select(Image).where(Image.id == image_id)
    if for_update:
        query = query.with_for_update()
    image = session.scalar(query)
    if image is None or not can_see(ctx, image):
        raise NotFound(f"No image found with ID {image_id}")
    return image


def set_property(image: Image, name: str, value: str) -> None:
    """Set an extra property of the image (one the service itself maintains)."""
    for prop in image.properties:
        if prop.name == name:
            prop.value = value
            return
    image.properties.append(ImageProperty(name=name, value=value))


# -- create ----------------------------------------------------------------------------

def check_attribute_names(names, *, creating: bool) -> None:
    """403 for attributes a user may not set, as Glance answers."""
    for name in names:
        if name in RESERVED or name.startswith(RESERVED_PREFIX):
            raise Forbidden(f"Attribute '{name}' is reserved.")
        if name in READ_ONLY or (name == "id" and not creating):
            raise Forbidden(f"Attribute '{name}' is read-only.")


def create_image(session: Session, ctx: RequestContext, config, data: dict) -> Image:
    """Create a queued image from a validated request body."""
    image_id = data.get("id")
    if image_id is not None and session.get(Image, image_id) is not None:
        raise Conflict(f"An image with identifier {image_id} already exists")
    owner = data.get("owner") or ctx.project_id
    quotas.check_image_count(session, config, owner)
    properties = {k: v for k, v in data.items() if k not in BASE_ATTRIBUTES}
    tags = _unique(data.get("tags") or [])
    quotas.check_property_and_tag_counts(len(properties), len(tags))
    image = Image(
        name=data.get("name"), visibility=data.get("visibility", "shared"),
        protected=data.get("protected", False), os_hidden=data.get("os_hidden", False),
        owner=owner, disk_format=data.get("disk_format"),
        container_format=data.get("container_format"),
        min_disk=data.get("min_disk", 0), min_ram=data.get("min_ram", 0),
        properties=[ImageProperty(name=k, value=v) for k, v in properties.items()],
        tags=[ImageTag(value=t) for t in tags])
    if image_id is not None:
        image.id = image_id
    session.add(image)
    session.flush()
    return image


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# -- list ------------------------------------------------------------------------------

def list_images(session: Session, ctx: RequestContext, query) -> list[Image]:
    """Every image the caller sees that matches the filters of a GET /v2/images
    query, sorted as asked (markers and limits are applied by the caller)."""
    visibility = query.get("visibility")
    if visibility is not None and visibility not in VISIBILITIES + ("all",):
        raise BadRequest(f"Invalid visibility value: {visibility}")
    member_status = query.get("member_status", "accepted")
    if member_status not in MEMBER_STATUSES + ("all",):
        raise BadRequest(f"Invalid status value: {member_status}")

    conditions = [_seen_by(ctx, visibility, member_status)]
    if visibility not in (None, "all"):
        conditions.append(Image.visibility == visibility)
    os_hidden = query.get("os_hidden")
    conditions.append(Image.os_hidden == (_boolean(os_hidden, "os_hidden")
                                          if os_hidden is not None else False))
    conditions += _attribute_filters(query)
    statement = sa.select(Image).where(*conditions).order_by(*_sort_order(query))
    return list(session.scalars(statement))


def _seen_by(ctx: RequestContext, visibility: str | None, member_status: str):
    """The condition for images the caller sees in a listing: Glance leaves other
    projects' community images out unless the listing asks for them
    (visibility=community or visibility=all)."""
    shared_with_me = sa.select(ImageMember.image_id).where(
        ImageMember.member == (ctx.project_id or ""))
    if member_status != "all":
        shared_with_me = shared_with_me.where(ImageMember.status == member_status)
    seen = [Image.visibility == "public",
            sa.and_(Image.visibility == "shared", Image.id.in_(shared_with_me))]
    if ctx.project_id is not None:
        seen.append(Image.owner == ctx.project_id)
    if visibility in ("community", "all"):
        seen.append(Image.visibility == "community")
    if ctx.is_admin:
        seen.append(Image.visibility.in_(("private", "shared")))
    return sa.or_(*seen)


def _attribute_filters(query) -> list:
    conditions = []
    for name in OPERATOR_FILTERS:
        if query.get(name) is not None:
            conditions.append(_operator_condition(name, query[name]))
    for name in EQUALITY_FILTERS:
        if query.get(name) is not None:
            conditions.append(getattr(Image, name) == query[name])
    for name in INTEGER_FILTERS:
        column = getattr(Image, name)
        if query.get(name) is not None:
            conditions.append(column == _integer(query[name], name))
        if query.get(f"{name}_min") is not None:
            conditions.append(column >= _integer(query[f"{name}_min"], f"{name}_min"))
        if query.get(f"{name}_max") is not None:
            conditions.append(column <= _integer(query[f"{name}_max"], f"{name}_max"))
    if query.get("protected") is not None:
        conditions.append(Image.protected == _boolean(query["protected"], "protected"))
    for name in ("created_at", "updated_at"):
        if query.get(name) is not None:
            conditions.append(_time_condition(getattr(Image, name), query[name], name))
    for tag in query.getlist("tag"):
        conditions.append(Image.id.in_(sa.select(ImageTag.image_id).where(ImageTag.value == tag)))
    for name, value in query.multi_items():
        if name not in LIST_PARAMETERS:
            conditions.append(Image.id.in_(sa.select(ImageProperty.image_id).where(
                ImageProperty.name == name, ImageProperty.value == value)))
    return conditions


def _operator_condition(name: str, value: str):
    """name=x, name=eq:x or name=in:x,y as Glance reads them: a colon always
    introduces an operator (eq:a:b matches 'a:b')."""
    column = getattr(Image, name)
    operator, sep, operand = value.partition(":")
    if not sep:
        operator, operand = "eq", value
    if operator == "in":
        return column.in_(_in_list(operand))
    if operator != "eq":
        raise BadRequest(f"Unable to filter by unknown operator '{operator}' in {name}="
                         f"{value}; use eq:<value> or in:<value>,<value>.")
    if name == "status" and operand not in STATUSES:
        raise BadRequest(f"Invalid status value: {operand}")
    return column == operand


def _in_list(text: str) -> list[str]:
    # Glance lets a value contain commas when quoted: in:"a,b",c
    return [item.strip('"') for item in re.findall(r'"[^"]*"|[^,]+', text)]


def _time_condition(column, value: str, name: str):
    """A created_at/updated_at filter.  Timestamps are shown to the second, so
    they compare to the second: eq:T matches anything within second T."""
    operator, sep, moment = value.partition(":")
    if not sep or operator not in TIME_OPERATORS:
        raise BadRequest(f"Invalid {name} filter {value!r}: use <operator>:<time> with "
                         f"one of the operators {', '.join(TIME_OPERATORS)}.")
    start = parse_isotime(moment, name).replace(microsecond=0)
    end = start + datetime.timedelta(seconds=1)
    return {"gt": column >= end, "gte": column >= start, "lt": column < start,
            "lte": column < end, "eq": sa.and_(column >= start, column < end),
            "neq": sa.or_(column < start, column >= end)}[operator]


def _boolean(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise BadRequest(f"Invalid value {value!r} for {name}: it must be a boolean.")


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid value {value!r} for {name}: it must be an integer.") \
            from None


def _sort_order(query) -> list:
    """ORDER BY for sort_key/sort_dir (repeatable) or sort=key:dir,...; ties are
    broken by created_at then id, as Glance does."""
    if query.get("sort") is not None:
        if query.get("sort_key") is not None or query.get("sort_dir") is not None:
            raise BadRequest("The 'sort' parameter cannot be combined with 'sort_key' or "
                             "'sort_dir'.")
        pairs = []
        for item in query["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key, direction or "desc"))
    else:
        keys = query.getlist("sort_key") or ["created_at"]
        dirs = query.getlist("sort_dir") or ["desc"]
        if len(dirs) not in (1, len(keys)):
            raise BadRequest("Give one sort_dir, or one for each sort_key.")
        pairs = list(zip(keys, dirs * len(keys) if len(dirs) == 1 else dirs))
    order = []
    for key, direction in pairs:
        if key not in SORT_KEYS:
            raise BadRequest(f"Invalid sort key: {key}. Sortable keys: {', '.join(SORT_KEYS)}")
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort direction: {direction}. Use asc or desc.")
        order += _ordered(getattr(Image, key), direction)
    first_direction = pairs[0][1]
    for key in ("created_at", "id"):
        if key not in (k for k, _ in pairs):
            order += _ordered(getattr(Image, key), first_direction)
    return order


def _ordered(column, direction: str) -> list:
    # NULLs sort first ascending, as on MySQL (Glance's reference database);
    # a CASE keeps that the same on PostgreSQL and SQLite.
    is_null = sa.case((column.is_(None), 0), else_=1)
    if direction == "asc":
        return [is_null.asc(), column.asc()]
    return [is_null.desc(), column.desc()]


# -- update (JSON patch) ---------------------------------------------------------------

def apply_patch(ctx: RequestContext, image: Image, changes: list[dict],
                add_conflicts: bool) -> dict[str, Any]:
    """Apply parsed JSON-patch operations to a copy of the image's attributes and
    return that copy; ``add_conflicts`` is the v2.0 rule: 'add' may not replace
    any attribute the image has, its own or an extra property."""
    current = editable_view(image)
    for change in changes:
        op, name = change["op"], change["name"]
        check_attribute_names([name], creating=False)
        is_base = name in BASE_ATTRIBUTES
        if op == "remove":
            if is_base:
                raise Forbidden(f"Property {name} may not be removed.")
            if name not in current:
                raise Conflict(f"Property {name} does not exist.")
            del current[name]
            continue
        if name == "owner" and not ctx.is_admin:
            raise Forbidden("Owner can't be updated by non admin.")
        if op == "replace" and not is_base and name not in current:
            raise Conflict(f"Property {name} does not exist.")
        if op == "add" and add_conflicts and name in current:
            raise Conflict(f"Property {name} already present.")
        current[name] = change["value"]
    for name in FORMAT_ATTRIBUTES:
        if current.get(name) != getattr(image, name) and image.status != "queued":
            raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
    return current


def editable_view(image: Image) -> dict[str, Any]:
    """The attributes a JSON patch works on: writable columns, tags and properties."""
    view = dict(image.extra_properties)
    for name in ("name", "visibility", "protected", "os_hidden", "owner", "disk_format",
                 "container_format", "min_disk", "min_ram"):
        view[name] = getattr(image, name)
    view["tags"] = image.tag_values
    return view


def save_changes(session: Session, image: Image, values: dict[str, Any]) -> None:
    """Write a validated, patched attribute dict back to the image."""
    properties = {k: v for k, v in values.items() if k not in BASE_ATTRIBUTES}
    tags = _unique(values.get("tags") or [])
    quotas.check_property_and_tag_counts(len(properties), len(tags))
    for name in ("name", "visibility", "protected", "os_hidden", "owner", "disk_format",
                 "container_format", "min_disk", "min_ram"):
        if name in values:
            setattr(image, name, values[name])
    existing = {p.name: p for p in image.properties}
    image.properties = [existing.get(k) or ImageProperty(name=k, value=v)
                        for k, v in properties.items()]
    for prop in image.properties:
        prop.value = properties[prop.name]
    existing_tags = {t.value: t for t in image.tags}
    image.tags = [existing_tags.get(t) or ImageTag(value=t) for t in tags]
    image.updated_at = utcnow()
    session.flush()


# -- delete, deactivate, reactivate ----------------------------------------------------

def check_deletable(image: Image) -> None:
    if image.protected:
        raise Forbidden(f"Image {image.id} is protected and cannot be deleted.")


def set_deactivated(image: Image, deactivated: bool) -> None:
    """Deactivate an active image or reactivate a deactivated one (repeating the
    call is harmless); 403 from any other status, as Glance answers."""
    allowed = ("active", "deactivated")
    if image.status not in allowed:
        action = "deactivate" if deactivated else "reactivate"
        raise Forbidden(f"Not allowed to {action} image in status '{image.status}'")
    image.status = "deactivated" if deactivated else "active"
    image.updated_at = utcnow()

