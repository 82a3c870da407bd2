"""Image sharing: the projects a ``shared`` image is offered to, and their answers.

The owner adds and removes members; each member accepts or rejects (only
accepted images appear in the member's default image list).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from stacklet.common.errors import Conflict, Forbidden, NotFound, RequestEntityTooLarge
from stacklet.db import utcnow
from stacklet.image.models import Image, ImageMember
from stacklet.image.quotas import MEMBERS_PER_IMAGE


def add_member(session: Session, image: Image, member_id: str) -> ImageMember:
    if image.visibility != "shared":
        raise Forbidden(f"Image members can only be added to images with visibility 'shared'; "
                        f"image {image.id} is '{image.visibility}'.")
    if any(m.member == member_id for m in image.members):
        raise Conflict(f"Member {member_id} already exists for image {image.id}.")
    if len(image.members) >= MEMBERS_PER_IMAGE:
        raise RequestEntityTooLarge(f"Attempted: {len(image.members) + 1}, Maximum: "
                                    f"{MEMBERS_PER_IMAGE} image members.")
    member = ImageMember(image_id=image.id, member=member_id, status="pending")
    image.members.append(member)
    session.flush()
    return member


def get_member(image: Image, member_id: str) -> ImageMember:
    for member in image.members:
        if member.member == member_id:
            return member
    raise NotFound(f"Member {member_id} not found for image {image.id}.")


def set_status(member: ImageMember, status: str) -> None:
    member.status = status
    member.updated_at = utcnow()


def remove_member(session: Session, image: Image, member: ImageMember) -> None:
    image.members.remove(member)
    session.flush()
