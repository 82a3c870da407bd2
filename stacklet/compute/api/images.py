"""/images: Nova's deprecated proxy to the image service (gone from 2.36).

Nova answers it by calling Glance; Stacklet reads the same database, with
the image service's own visibility and policy rules.
"""

from __future__ import annotations

from starlette.datastructures import QueryParams

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, Forbidden, NotFound
from stacklet.common.pagination import paginate
from stacklet.common.timeutils import isotime, parse_isotime
from stacklet.compute.api import common
from stacklet.compute.api.common import resource_links as links
from stacklet.image import images
from stacklet.image.models import Image, ImageProperty

routes = RouteTable()

# Glance status → what Nova showed.
_STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "uploading": "SAVING",
           "importing": "SAVING", "deleted": "DELETED", "pending_delete": "DELETED",
           "killed": "ERROR", "deactivated": "ERROR"}
_PROGRESS = {"ACTIVE": 100, "SAVING": 50}
MAX_METADATA_ITEMS = 128


def _check_version(req: ApiRequest) -> None:
    if req.version.matches("2.36"):
        raise NotFound("The resource could not be found.")


def _image_for(req: ApiRequest, session, rule: str) -> Image:
    _check_version(req)
    image_id = req.path["image_id"]
    try:
        image = images.get_visible(session, req.ctx, image_id, for_update=rule != "get_image")
    except NotFound:
        raise NotFound("Image not found.")
    req.authorize(rule, images.policy_target(req.ctx, image))
    return image


def _view(req: ApiRequest, image: Image, detailed: bool) -> dict:
    view = {"id": image.id, "name": image.name,
            "links": links(req, "images", image.id) + [{
                "rel": "alternate", "type": "application/vnd.openstack.image",
                "href": f"{str(req.http.base_url).rstrip('/')}/image/images/{image.id}"}]}
    if not detailed:
        return view
    metadata = {prop.name: prop.value for prop in image.properties}
    status = _STATUS.get(image.status, "UNKNOWN")
    view.update({
        "status": status, "progress": _PROGRESS.get(status, 0),
        "minRam": image.min_ram or 0, "minDisk": image.min_disk or 0,
        "metadata": metadata, "created": isotime(image.created_at),
        "updated": isotime(image.updated_at), "OS-EXT-IMG-SIZE:size": image.size or 0,
    })
    if "instance_uuid" in metadata:
        server_id = metadata["instance_uuid"]
        view["server"] = {"id": server_id, "links": links(req, "servers", server_id)}
    return view


def _matches(image: Image, query) -> bool:
    metadata = {prop.name: prop.value for prop in image.properties}
    if query.get("name") and image.name != query["name"]:
        return False
    if query.get("status") and _STATUS.get(image.status) != query["status"].upper():
        return False
    if query.get("server") and metadata.get("instance_uuid") != \
            query["server"].rstrip("/").rsplit("/", 1)[-1]:
        return False
    if query.get("type"):
        kind = metadata.get("image_type", "image")
        if query["type"] not in ("snapshot", "backup", "image") or kind != query["type"]:
            return False
    for name, attribute in (("minRam", "min_ram"), ("minDisk", "min_disk")):
        if query.get(name):
            try:
                minimum = int(query[name])
            except ValueError:
                raise BadRequest(f"Invalid {name} filter {query[name]!r}: not an integer.")
            if (getattr(image, attribute) or 0) < minimum:
                return False
    if query.get("changes-since"):
        if image.updated_at < parse_isotime(query["changes-since"], "changes-since"):
            return False
    return True


def _list(req: ApiRequest, detailed: bool):
    _check_version(req)
    req.authorize("get_images", {"project_id": req.ctx.project_id})
    page_request = common.page_request(req)
    with req.cloud.db.session() as session:
        found = [image for image in images.list_images(session, req.ctx, QueryParams())
                 if _matches(image, req.query)]
        page, more = paginate(found, page_request, key=lambda image: image.id)
        views = [_view(req, image, detailed) for image in page]
    result = {"images": views}
    next_page = common.collection_links(req, "/images/detail" if detailed else "/images",
                                        more, page[-1].id if page else None)
    if next_page:
        result["images_links"] = next_page
    return result


@routes.route("/v2.1/images", "GET")
def list_images(req: ApiRequest):
    return _list(req, detailed=False)


@routes.route("/v2.1/images/detail", "GET")
def list_images_detail(req: ApiRequest):
    return _list(req, detailed=True)


@routes.route("/v2.1/images/{image_id}", "GET")
def show_image(req: ApiRequest):
    with req.cloud.db.session() as session:
        return {"image": _view(req, _image_for(req, session, "get_image"), detailed=True)}


@routes.route("/v2.1/images/{image_id}", "DELETE", status=204)
def delete_image(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        image = _image_for(req, session, "delete_image")
        if image.protected:
            raise Forbidden(f"Image {image.id} is protected and cannot be deleted.")
        session.delete(image)
    req.cloud.image_store.remove(req.path["image_id"])


# -- metadata (the image's extra properties) --------------------------------------------

def _metadata(image: Image) -> dict:
    return {prop.name: prop.value for prop in image.properties}


def _write_metadata(image: Image, metadata: dict) -> None:
    for key, value in metadata.items():
        if not isinstance(value, str) or not isinstance(key, str) or not 0 < len(key) <= 255:
            raise BadRequest("Invalid metadata: keys must be 1 to 255 characters and values "
                             "strings.")
    images.check_attribute_names(metadata, creating=False)
    if len(metadata) > MAX_METADATA_ITEMS:
        raise Forbidden("Quota exceeded for metadata_items.")
    existing = {prop.name: prop for prop in image.properties}
    image.properties = [existing.get(k) or ImageProperty(name=k, value=v)
                        for k, v in metadata.items()]
    for prop in image.properties:
        prop.value = metadata[prop.name]


def _body_metadata(req: ApiRequest, key: str) -> dict:
    body = req.json_body(key)
    if not isinstance(body, dict):
        raise BadRequest(f"Malformed request body: '{key}' must be an object.")
    return body


@routes.route("/v2.1/images/{image_id}/metadata", "GET")
def show_metadata(req: ApiRequest):
    with req.cloud.db.session() as session:
        return {"metadata": _metadata(_image_for(req, session, "get_image"))}


@routes.route("/v2.1/images/{image_id}/metadata", "POST")
def merge_metadata(req: ApiRequest):
    changes = _body_metadata(req, "metadata")
    with req.cloud.db.transaction() as session:
        image = _image_for(req, session, "modify_image")
        _write_metadata(image, {**_metadata(image), **changes})
        return {"metadata": _metadata(image)}


@routes.route("/v2.1/images/{image_id}/metadata", "PUT")
def replace_metadata(req: ApiRequest):
    metadata = _body_metadata(req, "metadata")
    with req.cloud.db.transaction() as session:
        image = _image_for(req, session, "modify_image")
        _write_metadata(image, metadata)
        return {"metadata": _metadata(image)}


@routes.route("/v2.1/images/{image_id}/metadata/{key}", "GET")
def show_metadata_item(req: ApiRequest):
    with req.cloud.db.session() as session:
        metadata = _metadata(_image_for(req, session, "get_image"))
    key = req.path["key"]
    if key not in metadata:
        raise NotFound("Image not found.")
    return {"meta": {key: metadata[key]}}


@routes.route("/v2.1/images/{image_id}/metadata/{key}", "PUT")
def set_metadata_item(req: ApiRequest):
    meta = _body_metadata(req, "meta")
    key = req.path["key"]
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    if len(meta) > 1:
        raise BadRequest("Request body contains too many items")
    with req.cloud.db.transaction() as session:
        image = _image_for(req, session, "modify_image")
        _write_metadata(image, {**_metadata(image), key: meta[key]})
    return {"meta": {key: meta[key]}}


@routes.route("/v2.1/images/{image_id}/metadata/{key}", "DELETE", status=204)
def delete_metadata_item(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        image = _image_for(req, session, "modify_image")
        metadata = _metadata(image)
        if req.path["key"] not in metadata:
            raise NotFound("Image not found.")
        del metadata[req.path["key"]]
        _write_metadata(image, metadata)
