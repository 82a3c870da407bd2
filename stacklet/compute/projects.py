"""Checking that a project a request names exists, as Nova asks Keystone."""

from __future__ import annotations

from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest
from stacklet.identity.models import Project


def verify_project_id(session: Session, project_id: str) -> None:
    """400 when no such project exists: sharing a flavor with, or setting the quota
    of, a mistyped project would otherwise silently do nothing."""
    if session.get(Project, project_id) is None:
        raise BadRequest(f"Project ID {project_id} is not a valid project.")
