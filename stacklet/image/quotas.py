"""Per-project image quotas, answered with 413 as Glance does.

The count and size limits come from Keystone's unified limits when the
operator registered them for the image service (Glance's resource names:
``image_count_total``, ``image_size_total``, ``image_stage_total`` and
``image_count_uploading``, sizes in MiB), else from the ``[image]`` options
of stacklet.conf.  The two differ for sizes only as Glance's two quota
systems did: see upload_allowance.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.errors import RequestEntityTooLarge
from stacklet.identity.limits import effective_limit
from stacklet.image.models import Image

MIB = 1 << 20
RESOURCES = ("image_count_total", "image_size_total", "image_stage_total",
             "image_count_uploading")
# Statuses in which an image's data is on its way in (upload, staging, import).
UPLOADING_STATUSES = ("saving", "uploading", "importing")
# Glance's fixed per-image limits (image_property_quota, image_tag_quota,
# image_member_quota).
PROPERTIES_PER_IMAGE = 128
TAGS_PER_IMAGE = 128
MEMBERS_PER_IMAGE = 128


def keystone_limit(session: Session, config, resource: str, project_id: str) -> int | None:
    """The project's limit of a resource registered in Keystone (for this
    cloud's region or for every region), or None when none is registered."""
    return effective_limit(session, "image", resource, project_id,
                           region_id=config.get("identity", "region"))


def project_limit(session: Session, config, resource: str, project_id: str) -> int | None:
    """The project's limit of a resource, or None when unlimited."""
    limit = keystone_limit(session, config, resource, project_id)
    if limit is None:
        limit = config.get("image", resource)
    return None if limit < 0 else limit


def check_image_count(session: Session, config, project_id: str | None) -> None:
    """413 when the project already owns as many images as it may."""
    _check_one_more(session, config, project_id, "image_count_total", _image_count)


def check_uploading_count(session: Session, config, project_id: str | None) -> None:
    """413 when the project already has as many uploads in progress as it may."""
    _check_one_more(session, config, project_id, "image_count_uploading", _uploading_count)


def _check_one_more(session: Session, config, project_id: str | None, resource: str,
                    count_of) -> None:
    if project_id is None:
        return
    limit = project_limit(session, config, resource, project_id)
    if limit is None:
        return
    count = count_of(session, project_id)
    if count + 1 > limit:
        raise _over_limit(project_id, resource, limit, count, 1)


def _over_limit(project_id: str, resource: str, limit: int, usage: int,
                delta: int) -> RequestEntityTooLarge:
    # oslo.limit's wording, which Glance answers with.
    return RequestEntityTooLarge(
        f"Project {project_id} is over a limit for [Resource {resource} is over limit of "
        f"{limit} due to current usage {usage} and delta {delta}]")


def _image_count(session: Session, project_id: str) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Image)
                          .where(Image.owner == project_id))


def _uploading_count(session: Session, project_id: str) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Image).where(
        Image.owner == project_id, Image.status.in_(UPLOADING_STATUSES)))


def _total(session: Session, column, project_id: str) -> int:
    """Bytes of image data (or staged data) the project holds."""
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(column), 0))
                              .where(Image.owner == project_id)) or 0)


def usage(session: Session, config, project_id: str) -> dict[str, dict[str, int]]:
    """Glance's quota usage report: each resource's limit (-1: unlimited) and the
    project's usage of it, sizes in MiB."""
    used = {
        "image_count_total": _image_count(session, project_id),
        "image_size_total": _total(session, Image.size, project_id) // MIB,
        "image_stage_total": _total(session, Image.staged_size, project_id) // MIB,
        "image_count_uploading": _uploading_count(session, project_id),
    }
    report = {}
    for resource in RESOURCES:
        limit = project_limit(session, config, resource, project_id)
        report[resource] = {"limit": -1 if limit is None else limit, "usage": used[resource]}
    return report


def upload_allowance(session: Session, config, project_id: str | None, *,
                     staging: bool = False) -> int:
    """How many bytes one more upload (or staging) by the project may send.

    A limit registered in Keystone is enforced as Glance enforces unified
    limits (oslo.limit, with no delta since the size is unknown before the
    data): the upload is refused when the project is already over the limit,
    and may take it over.  A limit from stacklet.conf is a hard cap, as
    Glance's user_storage_quota was: data beyond what is left is refused.
    The image size cap always is.
    """
    allowance = config.get("image", "image_size_cap")
    if project_id is None:
        return allowance
    resource = "image_stage_total" if staging else "image_size_total"
    column = Image.staged_size if staging else Image.size
    used = _total(session, column, project_id)
    limit = keystone_limit(session, config, resource, project_id)
    if limit is not None:
        if 0 <= limit < used // MIB:
            raise _over_limit(project_id, resource, limit, used // MIB, 0)
        return allowance
    limit = config.get("image", resource)
    if limit < 0:
        return allowance
    return max(0, min(allowance, limit * MIB - used))


def over_quota(resource: str, allowance: int) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(
        f"Denying attempt to upload image because it exceeds the quota: the image data "
        f"is larger than the {allowance} bytes left in {resource} or the image size cap.")


def check_property_and_tag_counts(properties: int, tags: int) -> None:
    if properties > PROPERTIES_PER_IMAGE:
        raise RequestEntityTooLarge(f"Attempted: {properties}, Maximum: "
                                    f"{PROPERTIES_PER_IMAGE} image properties.")
    if tags > TAGS_PER_IMAGE:
        raise RequestEntityTooLarge(f"Attempted: {tags}, Maximum: {TAGS_PER_IMAGE} image "
                                    "tags.")
