"""How images and members look in responses."""

from __future__ import annotations

import datetime

from stacklet.image.images import membership
from stacklet.image.models import Image, ImageMember

IMAGE_COLUMNS = ("name", "status", "visibility", "protected", "os_hidden", "owner",
                 "disk_format", "container_format", "size", "virtual_size", "checksum",
                 "os_hash_algo", "os_hash_value", "min_disk", "min_ram")


def timestamp(moment: datetime.datetime | None) -> str | None:
    """Glance's timestamps: seconds and a Z."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_view(image: Image) -> dict:
    view = dict(image.extra_properties)
    for name in IMAGE_COLUMNS:
        view[name] = getattr(image, name)
    view.update({
        "id": image.id,
        "tags": image.tag_values,
        "created_at": timestamp(image.created_at),
        "updated_at": timestamp(image.updated_at),
        "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file",
        "schema": "/v2/schemas/image",
    })
    if image.status == "active":
        view["stores"] = "file"
    return view


def member_view(member: ImageMember) -> dict:
    return {"image_id": member.image_id, "member_id": member.member,
            "status": member.status, "created_at": timestamp(member.created_at),
            "updated_at": timestamp(member.updated_at), "schema": "/v2/schemas/member"}


def visible_members(image: Image, project_id: str | None, is_admin: bool) -> list:
    """The owner (and the admin) see every member; a member sees only itself."""
    if is_admin or image.owner == project_id:
        return list(image.members)
    own = membership(image, project_id)
    return [own] if own else []
