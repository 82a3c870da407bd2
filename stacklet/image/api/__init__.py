"""The image API (Glance v2), mounted at /image."""

from __future__ import annotations

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

_STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                405: "Method Not Allowed", 409: "Conflict", 410: "Gone",
                413: "Request Entity Too Large", 415: "Unsupported Media Type",
                416: "Requested Range Not Satisfiable", 500: "Internal Server Error",
                501: "Not Implemented"}


def error_body(exc: APIError) -> dict:
    """Glance's errors are webob's, which answer JSON in this shape."""
    return {"code": f"{exc.status} {_STATUS_TEXT.get(exc.status, exc.title)}",
            "title": exc.title, "message": exc.message}


def create_api(cloud) -> ServiceAPI:
    api = ServiceAPI("image", "/image", cloud, service_type="image", error_body=error_body,
                     authenticator=cloud.tokens)
    for module in HANDLER_MODULES:
        api.include(module.routes)
    return api
