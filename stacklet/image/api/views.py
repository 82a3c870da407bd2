"""How images and members look in responses."""

from __future__ import annotations

import datetime

from stacklet.image.images import membership
from stacklet.image.models import Image, ImageMember, ImageTask

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


def task_view(task: ImageTask) -> dict:
    """A task as /v2/tasks/{id} shows it."""
    view = task_stub_view(task)
    view.update({"input": task.input, "result": task.result, "message": task.message})
    for name in ("image_id", "request_id", "user_id"):
        if getattr(task, name):
            view[name] = getattr(task, name)
    return view


def task_stub_view(task: ImageTask) -> dict:
    """A task as /v2/tasks lists it: without its input, result and message."""
    view = {"id": task.id, "type": task.type, "status": task.status, "owner": task.owner,
            "created_at": timestamp(task.created_at), "updated_at": timestamp(task.updated_at),
            "self": f"/v2/tasks/{task.id}", "schema": "/v2/schemas/task"}
    if task.expires_at:
        view["expires_at"] = timestamp(task.expires_at)
    return view


def image_task_view(task: ImageTask) -> dict:
    """A task as /v2/images/{id}/tasks lists it: Glance answers the database
    record there, microsecond timestamps and deletion columns included."""
    def moment(value: datetime.datetime | None) -> str | None:
        return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")

    return {"id": task.id, "type": task.type, "status": task.status, "owner": task.owner,
            "image_id": task.image_id, "request_id": task.request_id,
            "user_id": task.user_id, "input": task.input, "result": task.result,
            "message": task.message, "expires_at": moment(task.expires_at),
            "created_at": moment(task.created_at), "updated_at": moment(task.updated_at),
            "deleted_at": None, "deleted": False}
