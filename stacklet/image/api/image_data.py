"""/v2/images/{id}/file: upload and download image data, streamed both ways."""

from __future__ import annotations

import os
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import (
    BadRequest,
    Forbidden,
    Gone,
    MethodNotAllowed,
    NotFound,
    RangeNotSatisfiable,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)
from stacklet.image import data, quotas
from stacklet.image.api.lookup import authorized_image
from stacklet.image.store import StoredData, StoreFull, TooLarge

routes = RouteTable()


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
    with req.cloud.db.transaction() as session:
        image = authorized_image(req, session, "stage_image" if staging else "upload_image",
                                 for_update=True)
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
        image = authorized_image(req, session, "download_image")
        if image.status == "deactivated" and not ctx.is_admin:
            raise Forbidden("The requested image has been deactivated. Image data download "
                            "is forbidden.")
        if image.status not in ("active", "deactivated"):
            return Response(status_code=204)   # Glance: no data yet
        image_id, checksum = image.id, image.checksum
    # Opened here, so an image deleted while it downloads still reads whole.
    try:
        fd = os.open(req.cloud.image_store.data_path(image_id), os.O_RDONLY)
    except FileNotFoundError:
        raise NotFound(f"No image data could be found for image {image_id}.") from None
    try:
        size = os.fstat(fd).st_size
        sliced = requested_range(req.headers.get("range"), size)
    except BaseException:
        os.close(fd)
        raise
    if sliced is None:
        headers = {"Content-Length": str(size)}
        if checksum:
            headers["Content-MD5"] = checksum
        return ImageDataResponse(fd, 0, size, status_code=200, headers=headers)
    start, end = sliced
    # No Content-MD5 on a part: it would be the whole image's, which a client
    # checking the body it got would find wrong.
    return ImageDataResponse(fd, start, end - start, status_code=206, headers={
        "Content-Length": str(end - start),
        "Content-Range": f"bytes {start}-{end - 1}/{size}"})


@routes.route("/v2/images/{image_id}/file", "HEAD")
def reject_head(req: ApiRequest):
    # Glance routes only GET and PUT here; Starlette would otherwise answer
    # HEAD with the GET handler.
    raise MethodNotAllowed("The method HEAD is not allowed on this resource.",
                           headers={"Allow": "GET, PUT"})


RANGE = re.compile(r"bytes *= *(\d*) *- *(\d*)", re.IGNORECASE)


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The [start, end) slice a Range header asks for, read as Glance reads it:
    one range only (400 for several); ``bytes=N-`` to the end; ``bytes=-N`` the
    last N bytes (all of them when N is larger); an end past the data is cut to
    it; 416 when the header is malformed or starts past the end."""
    if header is None:
        return None
    if "," in header:
        raise BadRequest("Requests with multiple ranges are not supported. You may make "
                         "multiple single-range requests instead.")
    unsatisfiable = {"Content-Range": f"bytes */{size}"}
    match = RANGE.fullmatch(header.strip())
    if match is None or not any(match.groups()):
        raise RangeNotSatisfiable("Invalid Range header.", headers=unsatisfiable)
    first, last = match.groups()
    if not first:
        start = max(size - int(last), 0)
        end = size
    else:
        start = int(first)
        end = size if not last else min(int(last) + 1, size)
        if last and int(last) < start:
            raise RangeNotSatisfiable("Invalid Range header.", headers=unsatisfiable)
    if start >= size:
        raise RangeNotSatisfiable(
            "Invalid start position in Range header. Start position MUST be in the "
            f"inclusive range [0, {size - 1}].", headers=unsatisfiable)
    return start, end


class ImageDataResponse(StreamingResponse):
    """``length`` bytes of an open image file from ``start``, read in large
    pieces in a worker thread; the file is closed however the response ends
    (a client that goes away stops the reading)."""

    chunk_size = 1 << 20   # fewer thread hand-offs per GiB than Starlette's 64 KiB

    def __init__(self, fd: int, start: int, length: int, *, status_code: int,
                 headers: dict[str, str]):
        self.fd = fd
        super().__init__(self._read(start, length), status_code=status_code, headers=headers,
                         media_type="application/octet-stream")

    async def _read(self, offset: int, length: int):
        while length > 0:
            chunk = await run_in_threadpool(os.pread, self.fd, min(self.chunk_size, length),
                                            offset)
            if not chunk:
                return
            offset += len(chunk)
            length -= len(chunk)
            yield chunk

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            os.close(self.fd)
