"""What image handlers share: the image their path names, the page a listing
asks for."""

from __future__ import annotations

from sqlalchemy.orm import Session

from stacklet.common.api import ApiRequest
from stacklet.common.pagination import PageRequest, parse_page_request
from stacklet.image import images
from stacklet.image.models import Image


def authorized_image(req: ApiRequest, session: Session, rule: str, *,
                     for_update: bool = False) -> Image:
    """The image of the path's {image_id}: 404 unless the caller can see it, then
    403 unless the policy ``rule`` lets the caller act on it."""
    image = images.get_visible(session, req.ctx, req.path["image_id"], for_update=for_update)
    req.authorize(rule, images.policy_target(req.ctx, image))
    return image


def page_request(req: ApiRequest, *, default_limit: bool = True) -> PageRequest:
    """The listing's limit and marker, bounded by [image] api_limit_max; with no
    limit given, [image] limit_param_default (or everything, if not
    ``default_limit``)."""
    config = req.cloud.config
    return parse_page_request(
        req.query, max_limit=config.get("image", "api_limit_max"),
        default_limit=config.get("image", "limit_param_default") if default_limit else None)
