"""Image data: the status changes around an upload, and recovery after a crash.

An upload moves an image queued → saving → active.  It claims the image by
a conditional update (only a queued image can be claimed, so two uploads
never race), streams to the store outside any transaction, then records
size, hashes and virtual size.  If it fails, the image goes back to queued
and nothing of the data remains.

A glance-direct import moves an image queued → uploading (staging: data
streams to the staging area) → importing → active (the staged file is
renamed into the store, see stacklet.image.imports).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest, Conflict
from stacklet.db import utcnow
from stacklet.image import formats, images, tasks
from stacklet.image.models import Image
from stacklet.image.store import HASH_ALGO, ImageStore, StoredData


def claim_for_upload(session: Session, image: Image, *, from_status: str = "queued",
                     to_status: str = "saving") -> None:
    """Move the image from ``from_status`` to ``to_status``; 409 if it is not
    (or no longer) in ``from_status``."""
    claimed = session.execute(
        sa.update(Image).where(Image.id == image.id, Image.status == from_status)
        .values(status=to_status, updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        raise Conflict(f"Image status transition from {image.status} to {to_status} is not "
                       "allowed")


def release(session: Session, image_id: str, *, from_status: str,
            to_status: str = "queued") -> None:
    """Put an image whose upload failed back to ``to_status``."""
    session.execute(sa.update(Image).where(Image.id == image_id, Image.status == from_status)
                    .values(status=to_status, updated_at=utcnow()))


def activate(session: Session, store: ImageStore, image_id: str, stored: StoredData, *,
             from_status: str) -> bool:
    """Record the stored data and make the image active; False if the image was
    deleted (or changed hands) while its data streamed in."""
    image = session.get(Image, image_id, with_for_update=True)
    if image is None or image.status != from_status:
        return False
    try:
        virtual_size = store.virtual_size(stored.path, image.disk_format)
    except formats.FormatMismatch as exc:
        raise BadRequest(f"Image content does not match disk_format {image.disk_format}: "
                         f"{exc}") from None
    image.size = stored.size
    image.checksum = stored.checksum
    image.os_hash_algo = HASH_ALGO
    image.os_hash_value = stored.os_hash_value
    image.virtual_size = virtual_size
    image.status = "active"
    clear_staged(image)
    image.updated_at = utcnow()
    return True


def clear_staged(image: Image) -> None:
    image.staged_size = image.staged_checksum = image.staged_os_hash_value = None


def recover(session: Session, store: ImageStore) -> list[Path]:
    """After a crash: uploads and stagings that were streaming are back to
    queued, with nothing of their data left; imports that were running are
    back to uploading with their staged data whole, ready to be imported
    again, and their tasks are failed; data of no image is set aside (the
    files moved are returned)."""
    store.remove_partials()
    for image in session.scalars(sa.select(Image).where(Image.status == "saving")):
        store.remove(image.id)
        image.status = "queued"
        clear_staged(image)
    for image in session.scalars(sa.select(Image).where(Image.status == "importing")):
        # The import renames the staged file into the store before it commits:
        # a crash in between leaves the data in the store, so it goes back.
        store.unpromote(image.id)
        image.status = "uploading"
        images.set_property(image, images.IMPORTING_TO_STORES, "")
    for image in session.scalars(sa.select(Image).where(Image.status == "uploading")):
        if not store.staging_path(image.id).exists():
            image.status = "queued"   # its staging was cut short
            clear_staged(image)
    # Imports run inside their request: a task still running now was cut short.
    tasks.fail_unfinished(session, "The import was interrupted by a restart of the image "
                          "service; import the image again.")
    # A deletion cut short between its commit and the file's removal leaves
    # data nothing refers to; so would a store started with another database
    # than its own, whose files must not be lost: they are set aside, not
    # deleted, and the operator is told.
    def ids(*statuses: str) -> set[str]:
        return set(session.scalars(sa.select(Image.id).where(Image.status.in_(statuses))))

    return store.set_aside_orphans(data_of=ids("active", "deactivated"),
                                   staged_for=ids("uploading"))


def record_staged(session: Session, image_id: str, stored: StoredData, *,
                  from_status: str) -> bool:
    """Record data staged for a glance-direct import: the image is 'uploading'
    until the import is requested."""
    image = session.get(Image, image_id, with_for_update=True)
    if image is None or image.status != from_status:
        return False
    image.status = "uploading"
    image.staged_size = stored.size
    image.staged_checksum = stored.checksum
    image.staged_os_hash_value = stored.os_hash_value
    image.updated_at = utcnow()
    return True
