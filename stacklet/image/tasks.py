"""Glance tasks: the record of an image import, which clients poll.

Each interoperable import (POST /v2/images/{id}/import) is a task of type
``api_image_import``, readable at /v2/images/{id}/tasks by whoever sees the
image and at /v2/tasks by the admin.  A finished task expires 48 hours after
it ended (Glance's task_time_to_live), then is purged.

Glance's older task-based import (POST /v2/tasks, type ``import``) is not
offered: it fetches a URL, and so does web-download, which Stacklet does not
offer either.
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.context import RequestContext
from stacklet.common.errors import BadRequest, NotFound
from stacklet.db import utcnow
from stacklet.image.models import ImageTask

STATUSES = ("pending", "processing", "success", "failure")
TYPES = ("import", "api_image_import")
TIME_TO_LIVE = datetime.timedelta(hours=48)
SORT_KEYS = ("id", "type", "status", "owner", "created_at", "updated_at", "expires_at")


def create_task(session: Session, ctx: RequestContext, *, task_type: str, image_id: str,
                task_input: dict, request_id: str | None) -> ImageTask:
    """A new task, already processing (it runs as soon as it is recorded)."""
    purge_expired(session)
    task = ImageTask(type=task_type, status="processing", owner=ctx.project_id,
                     image_id=image_id, request_id=request_id, user_id=ctx.user_id,
                     input=task_input, message="")
    session.add(task)
    session.flush()
    return task


def finish_task(task: ImageTask, status: str, *, result: dict | None = None,
                message: str = "") -> None:
    now = utcnow()
    task.status = status
    task.result = result
    task.message = message
    task.updated_at = now
    task.expires_at = now + TIME_TO_LIVE


def fail_unfinished(session: Session, message: str) -> None:
    """Fail every task still pending or processing (after a crash)."""
    for task in session.scalars(sa.select(ImageTask).where(
            ImageTask.status.in_(("pending", "processing")))):
        finish_task(task, "failure", message=message)


def purge_expired(session: Session) -> None:
    session.execute(sa.delete(ImageTask).where(ImageTask.expires_at < utcnow()))


def _visible_to(ctx: RequestContext):
    """The admin sees every task, anyone else those of their project (as Glance)."""
    if ctx.is_admin:
        return sa.true()
    return ImageTask.owner == (ctx.project_id or "")


def _unexpired():
    return sa.or_(ImageTask.expires_at.is_(None), ImageTask.expires_at >= utcnow())


def get_visible(session: Session, ctx: RequestContext, task_id: str) -> ImageTask:
    task = session.scalar(sa.select(ImageTask).where(
        ImageTask.id == task_id, _visible_to(ctx), _unexpired()))
    if task is None:
        raise NotFound(f"Could not find task {task_id}")
    return task


def tasks_of_image(session: Session, ctx: RequestContext, image_id: str) -> list[ImageTask]:
    return list(session.scalars(sa.select(ImageTask).where(
        ImageTask.image_id == image_id, _visible_to(ctx), _unexpired())
        .order_by(ImageTask.created_at, ImageTask.id)))


def list_tasks(session: Session, ctx: RequestContext, query) -> list[ImageTask]:
    """The tasks a GET /v2/tasks query selects (filters status and type), sorted."""
    conditions = [_visible_to(ctx), _unexpired()]
    status = query.get("status")
    if status is not None:
        if status not in STATUSES:
            raise BadRequest(f"Invalid status value: {status}")
        conditions.append(ImageTask.status == status)
    task_type = query.get("type")
    if task_type is not None:
        if task_type not in TYPES:
            raise BadRequest(f"Invalid type value: {task_type}")
        conditions.append(ImageTask.type == task_type)
    sort_key = query.get("sort_key", "created_at")
    if sort_key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort key: {sort_key}. Sortable keys: "
                         f"{', '.join(SORT_KEYS)}")
    sort_dir = query.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}")
    order = [getattr(ImageTask, key) for key in dict.fromkeys((sort_key, "created_at", "id"))]
    order = [column.asc() if sort_dir == "asc" else column.desc() for column in order]
    return list(session.scalars(sa.select(ImageTask).where(*conditions).order_by(*order)))
