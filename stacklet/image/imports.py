"""The interoperable image import, glance-direct method.

The client stages the data (PUT /v2/images/{id}/stage: queued → uploading,
hashed while it streams, see stacklet.image.api.image_data), then asks for
the import (POST /v2/images/{id}/import).  The import claims the image
(uploading → importing), records a task, renames the staged file into the
store (same filesystem: no copy, no second read), checks the data is what
its disk_format says, and makes the image active with the hashes computed
while staging.

The import runs inside the request: it is a rename and a header read, so
it ends in milliseconds.  The API still answers 202 and reports the outcome
where Glance does (the task, the image status and its os_glance_* import
properties), so clients written for Glance's asynchronous import just work.
A crash mid-import is undone at start-up by stacklet.image.data.recover.

Only glance-direct is offered.  web-download and glance-download fetch data
from a URL the user names, and copy-image needs a second store.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from stacklet.common.context import RequestContext
from stacklet.common.errors import APIError, BadRequest, Conflict
from stacklet.image import data, images, quotas, tasks
from stacklet.image.models import Image, ImageTask
from stacklet.image.store import ImageStore, StoredData

METHODS = ("glance-direct",)
# The one store, as /v2/info/stores lists it and images' "stores" name it.
STORE_ID = "file"
STORE_DESCRIPTION = "Image data kept as files on the host's disk."


def validate_request(body: Any) -> dict:
    """Check an import request body as Glance does; return it."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object with a 'method'.")
    method = body.get("method")
    if not isinstance(method, dict):
        raise BadRequest("Import request requires a 'method' field.")
    name = method.get("name")
    if name is None:
        raise BadRequest("Import request requires a 'name' field.")
    if name not in METHODS:
        raise BadRequest(f"Unknown import method name '{name}'. This cloud offers: "
                         f"{', '.join(METHODS)}.")
    for flag in ("all_stores_must_succeed", "all_stores"):
        if flag in body and not isinstance(body[flag], bool):
            raise BadRequest(f"'{flag}' must be boolean value only")
    stores = body.get("stores")
    if stores is not None:
        if not isinstance(stores, list) or not all(isinstance(s, str) for s in stores):
            raise BadRequest("'stores' must be a list of store identifiers.")
        if body.get("all_stores"):
            raise BadRequest("All stores and stores cannot be specified at the same time.")
        unknown = [store for store in stores if store != STORE_ID]
        if unknown:
            # Glance answers an unknown store with 409.
            raise Conflict(f"Unknown store(s) {', '.join(unknown)}: this cloud has one "
                           f"store, '{STORE_ID}'.")
    return body


def start(session: Session, ctx: RequestContext, config, image: Image, body: dict,
          request_id: str | None) -> ImageTask:
    """Claim a staged image for import and record its task; 409 or 413 when it
    cannot be imported.  The caller then calls ``run`` outside this transaction."""
    if image.status == "active":
        raise Conflict("Image with status active cannot be target for import")
    # An image is 'uploading' from the first byte staged; only once its staged
    # size is recorded is the staging complete.
    if image.status != "uploading" or image.staged_size is None:
        raise Conflict("Image needs to be staged before 'glance-direct' method can be used")
    if not image.container_format:
        raise Conflict("'container_format' needs to be set before import")
    if not image.disk_format:
        raise Conflict("'disk_format' needs to be set before import")
    allowance = quotas.upload_allowance(session, config, image.owner)
    if image.staged_size > allowance:
        raise quotas.over_quota("image_size_total", allowance)
    data.claim_for_upload(session, image, from_status="uploading", to_status="importing")
    images.set_property(image, images.IMPORTING_TO_STORES, STORE_ID)
    images.set_property(image, images.FAILED_IMPORT, "")
    return tasks.create_task(session, ctx, task_type="api_image_import", image_id=image.id,
                             task_input={"image_id": image.id, "import_req": body,
                                         "backend": [STORE_ID]},
                             request_id=request_id)


def run(db, store: ImageStore, image_id: str, task_id: str) -> None:
    """Move the staged data into the store and activate the image; on failure the
    image goes back to queued, without data, and the task says why."""
    with db.session() as session:
        image = session.get(Image, image_id)
        stored = None
        if image is not None and image.status == "importing":
            stored = StoredData(store.data_path(image_id), image.staged_size,
                                image.staged_checksum, image.staged_os_hash_value)
    if stored is None:
        return _fail(db, store, image_id, task_id, "The image was deleted during import.")
    try:
        store.promote_staged(image_id)
    except FileNotFoundError:
        return _fail(db, store, image_id, task_id, "The staged data of the image is missing.")
    try:
        with db.transaction() as session:
            if not data.activate(session, store, image_id, stored, from_status="importing"):
                raise Conflict("The image was deleted during import.")
            image = session.get(Image, image_id)
            images.set_property(image, images.IMPORTING_TO_STORES, "")
            tasks.finish_task(session.get(ImageTask, task_id), "success",
                              result={"image_id": image_id})
    except APIError as exc:
        return _fail(db, store, image_id, task_id, exc.message)


def _fail(db, store: ImageStore, image_id: str, task_id: str, message: str) -> None:
    with db.transaction() as session:
        image = session.get(Image, image_id)
        owns_data = image is None or image.status == "importing"
        if image is not None and image.status == "importing":
            image.status = "queued"
            data.clear_staged(image)
            images.set_property(image, images.IMPORTING_TO_STORES, "")
            images.set_property(image, images.FAILED_IMPORT, STORE_ID)
        tasks.finish_task(session.get(ImageTask, task_id), "failure",
                          message=f"Import of image {image_id} failed: {message}")
    if owns_data:
        # Whatever was staged or moved is this import's: nothing of it stays.
        store.remove(image_id)

