"""/v2/images/{id}/tags/{tag}: add and remove one tag."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, NotFound
from stacklet.image import images
from stacklet.image.api.lookup import authorized_image

routes = RouteTable()
MAX_TAG_LENGTH = 255


def _change_tags(req: ApiRequest, change) -> None:
    with req.cloud.db.transaction() as session:
        image = authorized_image(req, session, "modify_image", for_update=True)
        values = images.editable_view(image)
        values["tags"] = change(values["tags"])
        images.save_changes(session, image, values)


@routes.route("/v2/images/{image_id}/tags/{tag}", "PUT", status=204)
def add_tag(req: ApiRequest):
    tag = req.path["tag"]
    if not tag or len(tag) > MAX_TAG_LENGTH:
        raise BadRequest(f"Invalid tag: tags are 1 to {MAX_TAG_LENGTH} characters long.")
    _change_tags(req, lambda tags: tags if tag in tags else [*tags, tag])


@routes.route("/v2/images/{image_id}/tags/{tag}", "DELETE", status=204)
def remove_tag(req: ApiRequest):
    tag = req.path["tag"]

    def without(tags: list[str]) -> list[str]:
        if tag not in tags:
            raise NotFound(f"Tag {tag} not found on image {req.path['image_id']}.")
        return [t for t in tags if t != tag]
    _change_tags(req, without)
