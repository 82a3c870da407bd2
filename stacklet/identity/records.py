"""Small helpers for the service modules: fetch-or-404, partial updates, and
Keystone's wording of a refused action."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from stacklet.common.errors import Forbidden, NotFound

T = TypeVar("T")


def get_or_404(session: Session, model: type[T], key: str, kind: str) -> T:
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"Could not find {kind}: {key}.")
    return row


def forbidden_action(action: str) -> Forbidden:
    """A 403 worded as Keystone's ForbiddenAction, which clients and operators search for."""
    return Forbidden(f"You are not authorized to perform the requested action: {action}.")


def apply_changes(row: object, changes: dict, fields: tuple[str, ...]) -> None:
    """Set the given fields; other keys of ``changes`` go to the row's ``extra``."""
    extra = dict(getattr(row, "extra", None) or {})
    for key, value in changes.items():
        if key in fields:
            setattr(row, key, value)
        elif hasattr(row, "extra"):
            extra[key] = value
    if hasattr(row, "extra"):
        row.extra = extra
