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


def error_body(exc: APIError) -> dict:
    """Glance's errors are webob's, which answer JSON in this shape."""
    return {"code": f"{exc.status} {exc.title}",
            "title": exc.title, "message": exc.message}


def create_api(cloud) -> ServiceAPI:
    # Glance answers 404 to /v2/images/ (an empty image id), where Starlette
    # would redirect to the image list.
    api = ServiceAPI("image", "/image", cloud, service_type="image", error_body=error_body,
                     authenticator=cloud.tokens, redirect_slashes=False)
    for module in HANDLER_MODULES:
        api.include(module.routes)
    return api
