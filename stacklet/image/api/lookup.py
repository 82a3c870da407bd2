"""The one way image handlers fetch the image their path names."""

from __future__ import annotations

from sqlalchemy.orm import Session

from stacklet.common.api import ApiRequest
from stacklet.image import images
from stacklet.image.models import Image


def authorized_image(req: ApiRequest, session: Session, rule: str, *,
                     for_update: bool = False) -> Image:
    """The image of the path's {image_id}: 404 unless the caller can see it, then
    403 unless the policy ``rule`` lets the caller act on it."""
    image = images.get_visible(session, req.ctx, req.path["image_id"], for_update=for_update)
    req.authorize(rule, images.policy_target(req.ctx, image))
    return image
