"""The image API (Glance v2), mounted at /image."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stacklet.common.api import ServiceAPI
from stacklet.common.errors import APIError
from stacklet.image.api import (
    image_data,
    image_import,
    images,
    info,
    members,
    metadef_namespaces,
    metadef_objects,
    metadef_properties,
    metadef_resource_types,
    metadef_schema_documents,
    metadef_tags,
    schemas,
    tags,
    tasks,
    versions,
)

HANDLER_MODULES = [versions, images, image_data, members, tags, image_import, schemas, info,
                   tasks, metadef_namespaces, metadef_objects, metadef_properties,
                   metadef_tags, metadef_resource_types, metadef_schema_documents]


def error_body(exc: APIError) -> dict:
    """Glance's errors are webob's, which answer JSON in this shape."""
    return {"code": f"{exc.status} {exc.title}",
            "title": exc.title, "message": exc.message}


def error_media(body: dict, exc: APIError, request: Request) -> Response:
    """The error as webob writes it for the request's Accept header: JSON only
    when asked for (openstacksdk, Tempest), HTML when HTML is acceptable (a
    browser, ``*/*``), plain text when there is no Accept header at all, which
    is how python-glanceclient (and Rally through it) asks and reads errors."""
    accept = request.headers.get("accept", "")
    qualities = {media: _quality(accept, media) for media in ("text/html", "application/json")}
    best = max(qualities, key=qualities.get)   # text/html on a tie, as webob
    media = best if qualities[best] > 0 else "text/plain"
    if media == "application/json":
        return JSONResponse(body, status_code=exc.status)
    if media == "text/html":
        text = (f"<html>\n <head>\n  <title>{body['code']}</title>\n </head>\n <body>\n"
                f"  <h1>{body['code']}</h1>\n  {html.escape(body['message'])}<br /><br />\n"
                " </body>\n</html>")
    else:
        text = f"{body['code']}\n\n{body['message']}\n\n   "
    return Response(text, status_code=exc.status, media_type=media)


def _quality(accept: str, media: str) -> float:
    """The q an Accept header gives ``media``: that of its most specific
    matching range (``type/sub`` over ``type/*`` over ``*/*``), 0 if none."""
    kind = media.split("/")[0]
    specificity = {media: 3, f"{kind}/*": 2, "*/*": 1}
    best_rank, quality = 0, 0.0
    for item in accept.split(","):
        range_, *params = [part.strip() for part in item.split(";")]
        rank = specificity.get(range_.lower(), 0)
        if rank <= best_rank:
            continue
        best_rank, quality = rank, 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
    return quality


def create_api(cloud) -> ServiceAPI:
    # Glance answers 404 to /v2/images/ (an empty image id), where Starlette
    # would redirect to the image list.
    api = ServiceAPI("image", "/image", cloud, service_type="image", error_body=error_body,
                     error_media=error_media, authenticator=cloud.tokens,
                     redirect_slashes=False)
    for module in HANDLER_MODULES:
        api.include(module.routes)
    return api
