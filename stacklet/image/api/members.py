"""/v2/images/{id}/members: share an image and answer a share."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import Forbidden, NotFound
from stacklet.common.validation import validate
from stacklet.image import images, members, schemas
from stacklet.image.api.lookup import authorized_image
from stacklet.image.api.views import member_view, visible_members

routes = RouteTable()


@routes.route("/v2/images/{image_id}/members", "GET")
def list_members(req: ApiRequest):
    ctx = req.ctx
    with req.cloud.db.session() as session:
        image = authorized_image(req, session, "get_members")
        shown = visible_members(image, ctx.project_id, ctx.is_admin)
        return {"members": [member_view(m) for m in shown], "schema": "/v2/schemas/members"}


@routes.route("/v2/images/{image_id}/members", "POST")
def add_member(req: ApiRequest):
    data = validate(schemas.MEMBER_CREATE, req.json_body())
    ctx = req.ctx
    with req.cloud.db.transaction() as session:
        image = authorized_image(req, session, "add_member", for_update=True)
        if image.owner != ctx.project_id and not ctx.is_admin:
            raise Forbidden("Only the image owner can share it.")
        return member_view(members.add_member(session, image, data["member"]))


@routes.route("/v2/images/{image_id}/members/{member_id}", "GET")
def show_member(req: ApiRequest):
    ctx = req.ctx
    with req.cloud.db.session() as session:
        image = authorized_image(req, session, "get_member")
        member = members.get_member(image, req.path["member_id"])
        if member not in visible_members(image, ctx.project_id, ctx.is_admin):
            # Another project's answer is not the caller's to see.
            raise NotFound(f"Member {member.member} not found for image {image.id}.")
        return member_view(member)


@routes.route("/v2/images/{image_id}/members/{member_id}", "PUT")
def update_member(req: ApiRequest):
    data = validate(schemas.MEMBER_UPDATE, req.json_body())
    ctx = req.ctx
    member_id = req.path["member_id"]
    with req.cloud.db.transaction() as session:
        image = images.get_visible(session, ctx, req.path["image_id"], for_update=True)
        member = members.get_member(image, member_id)
        # Only the member itself answers the share (the admin may too).
        req.authorize("modify_member", {**images.policy_target(ctx, image),
                                        "member_id": member_id})
        members.set_status(member, data["status"])
        return member_view(member)


@routes.route("/v2/images/{image_id}/members/{member_id}", "DELETE", status=204)
def remove_member(req: ApiRequest):
    ctx = req.ctx
    with req.cloud.db.transaction() as session:
        image = authorized_image(req, session, "delete_member", for_update=True)
        if image.owner != ctx.project_id and not ctx.is_admin:
            raise Forbidden("Only the image owner can remove its members.")
        members.remove_member(session, image, members.get_member(image, req.path["member_id"]))
