"""/v2/images/{id}/file: upload and download image data, streamed both ways."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse, Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import (
    BadRequest,
    Forbidden,
    Gone,
    NotFound,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)
from stacklet.image import data, images, quotas
from stacklet.image.store import StoredData, StoreFull, TooLarge

routes = RouteTable()


class ImageFileResponse(FileResponse):
    # Larger reads than Starlette's 64 KiB: fewer thread hand-offs per GiB.
    chunk_size = 1 << 20


@routes.route("/v2/images/{image_id}/file", "PUT", status=204, stream_body=True)
async def upload_image_data(req: ApiRequest):
    return await receive_image_data(req, from_status="queued", to_status="saving",
                                    staging=False)


async def receive_image_data(req: ApiRequest, *, from_status: str, to_status: str,
                             staging: bool) -> None:
    """Stream the request body into the store for an image that is in
    ``from_status``; the image is in ``to_status`` while data streams in.

    Used by the upload (to the image's data) and by glance-direct staging.
    """
    media_type = req.headers.get("content-type", "").split(";")[0].strip()
    if media_type != "application/octet-stream":
        raise UnsupportedMediaType("Image data must be sent as application/octet-stream.")
    image_id = req.path["image_id"]
    allowance = await run_in_threadpool(_claim, req, image_id, from_status, to_status, staging)
    store = req.cloud.image_store
    destination = store.staging_path(image_id) if staging else store.data_path(image_id)
    try:
        stored = await store.receive(req.http.stream(), destination, allowance)
        await run_in_threadpool(_finish, req, image_id, stored, to_status, staging)
    except BaseException as exc:
        # Whatever went wrong, the image is as before the call and no data remains.
        await run_in_threadpool(_abandon, req, image_id, to_status, from_status, staging)
        if isinstance(exc, StoreFull):
            raise RequestEntityTooLarge("The image store is out of space; nothing was kept. "
                                        "Free space in the store directory and retry.") \
                from None
        if isinstance(exc, TooLarge):
            raise quotas.over_quota("image_stage_total" if staging else "image_size_total",
                                    exc.limit) from None
        if isinstance(exc, ClientDisconnect):
            return Response(status_code=400)   # nobody is listening any more
        raise


def _claim(req: ApiRequest, image_id: str, from_status: str, to_status: str,
           staging: bool) -> int:
    """Check the caller may upload, move the image to ``to_status`` and return
    how many bytes it may send."""
    ctx = req.ctx
    with req.cloud.db.transaction() as session:
        image = images.get_visible(session, ctx, image_id, for_update=True)
        req.authorize("stage_image" if staging else "upload_image",
                      images.policy_target(ctx, image))
        quotas.check_uploading_count(session, req.cloud.config, image.owner)
        allowance = quotas.upload_allowance(session, req.cloud.config, image.owner,
                                            staging=staging)
        if not (image.disk_format and image.container_format):
            raise BadRequest("Properties disk_format, container_format must be set prior to "
                             "saving data.")
        declared = req.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > allowance:
            raise quotas.over_quota("image_stage_total" if staging else "image_size_total",
                                    allowance)
        data.claim_for_upload(session, image, from_status=from_status, to_status=to_status)
        return allowance


def _finish(req: ApiRequest, image_id: str, stored: StoredData, to_status: str,
            staging: bool) -> None:
    with req.cloud.db.transaction() as session:
        if staging:
            done = data.record_staged(session, image_id, stored, from_status=to_status)
        else:
            done = data.activate(session, req.cloud.image_store, image_id, stored,
                                 from_status=to_status)
    if not done:
        raise Gone(f"Image {image_id} could not be found after upload. The image may have "
                   "been deleted during the upload.")


def _abandon(req: ApiRequest, image_id: str, to_status: str, from_status: str,
             staging: bool) -> None:
    store = req.cloud.image_store
    with req.cloud.db.transaction() as session:
        data.release(session, image_id, from_status=to_status, to_status=from_status)
    (store.staging_path(image_id) if staging else store.data_path(image_id)).unlink(
        missing_ok=True)


@routes.route("/v2/images/{image_id}/file", "GET")
def download_image_data(req: ApiRequest):
    ctx = req.ctx
    with req.cloud.db.session() as session:
        image = images.get_visible(session, ctx, req.path["image_id"])
        req.authorize("download_image", images.policy_target(ctx, image))
        if image.status == "deactivated" and not ctx.is_admin:
            raise Forbidden("The requested image has been deactivated. Image data download "
                            "is forbidden.")
        if image.status not in ("active", "deactivated"):
            return Response(status_code=204)   # Glance: no data yet
        checksum = image.checksum
    path = req.cloud.image_store.data_path(image.id)
    if not path.exists():
        raise NotFound(f"The data of image {image.id} is missing from the store.")
    headers = {"Content-MD5": checksum} if checksum and "range" not in req.headers else {}
    return ImageFileResponse(path, media_type="application/octet-stream", headers=headers)
