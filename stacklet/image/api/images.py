"""/v2/images: create, list, show, update (JSON patch), delete, deactivate."""

from __future__ import annotations

from starlette.responses import JSONResponse

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import Forbidden
from stacklet.common.pagination import first_link, next_link, paginate
from stacklet.image import images, imports, schemas
from stacklet.image.api.lookup import authorized_image, page_request
from stacklet.image.api.views import image_view

routes = RouteTable()


def check_visibility_policy(req: ApiRequest, visibility: str | None, target: dict) -> None:
    """Publishing needs publicize_image (admin by default), community needs
    communitize_image, as in Glance."""
    if visibility == "public":
        req.authorize("publicize_image", target)
    elif visibility == "community":
        req.authorize("communitize_image", target)


@routes.route("/v2/images", "POST", status=201)
def create_image(req: ApiRequest):
    data = schemas.validate_image(req.json_body())
    images.check_attribute_names(data, creating=True)
    ctx = req.ctx
    owner = data.get("owner") or ctx.project_id
    target = {"owner": owner or "", "project_id": owner or "",
              "visibility": data.get("visibility", "shared"), "member_id": ""}
    try:
        req.authorize("add_image", target)
    except Forbidden:
        if owner != ctx.project_id:
            raise Forbidden(f"You are not permitted to create images owned by '{owner}'.")
        raise
    check_visibility_policy(req, data.get("visibility"), target)
    with req.cloud.db.transaction() as session:
        view = image_view(images.create_image(session, ctx, req.cloud.config, data))
    # Glance tells the creator where the image is and how its data can be
    # imported.
    return JSONResponse(view, status_code=201, headers={
        "Location": f"{req.base_url}{view['self']}",
        "OpenStack-image-import-methods": ",".join(imports.METHODS),
        "OpenStack-image-store-ids": imports.STORE_ID})


@routes.route("/v2/images", "GET")
def list_images(req: ApiRequest):
    ctx = req.authorize("get_images", {"project_id": req.ctx.project_id or ""})
    page = page_request(req)
    with req.cloud.db.session() as session:
        found = images.list_images(session, ctx, req.query)
        shown, more = paginate(found, page, key=lambda image: image.id)
        # Glance's links are relative to the endpoint, and keep the query.
        body = {"images": [image_view(image) for image in shown],
                "first": first_link("/v2/images", req.query), "schema": "/v2/schemas/images"}
    if more and shown:
        body["next"] = next_link("/v2/images", req.query, shown[-1].id)
    return body


@routes.route("/v2/images/{image_id}", "GET")
def show_image(req: ApiRequest):
    with req.cloud.db.session() as session:
        image = authorized_image(req, session, "get_image")
        return image_view(image)


@routes.route("/v2/images/{image_id}", "PATCH")
def update_image(req: ApiRequest):
    changes, add_conflicts = schemas.parse_patch(req.headers.get("content-type"), req.body)
    ctx = req.ctx
    with req.cloud.db.transaction() as session:
        image = images.get_visible(session, ctx, req.path["image_id"], for_update=True)
        target = images.policy_target(ctx, image)
        req.authorize("modify_image", target)
        values = images.apply_patch(ctx, image, changes, add_conflicts)
        schemas.validate_image({k: v for k, v in values.items() if v is not None
                                or k in schemas.IMAGE_SCHEMA["properties"]})
        if values.get("visibility") != image.visibility:
            check_visibility_policy(req, values.get("visibility"), target)
        images.save_changes(session, image, values)
        return image_view(image)


@routes.route("/v2/images/{image_id}", "DELETE", status=204)
def delete_image(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        image = authorized_image(req, session, "delete_image", for_update=True)
        images.check_deletable(image)
        session.delete(image)
    # The row is gone first: a crash here leaves an orphan file, never an
    # image whose data has vanished.
    req.cloud.image_store.remove(req.path["image_id"])


@routes.route("/v2/images/{image_id}/actions/deactivate", "POST", status=204)
def deactivate_image(req: ApiRequest):
    _set_deactivated(req, True)


@routes.route("/v2/images/{image_id}/actions/reactivate", "POST", status=204)
def reactivate_image(req: ApiRequest):
    _set_deactivated(req, False)


def _set_deactivated(req: ApiRequest, deactivated: bool) -> None:
    with req.cloud.db.transaction() as session:
        rule = "deactivate" if deactivated else "reactivate"
        image = authorized_image(req, session, rule, for_update=True)
        images.set_deactivated(image, deactivated)
