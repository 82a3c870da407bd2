"""Revocation: events that invalidate tokens, and the revision counter that
tells every process its cached validations may be stale."""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.db import utcnow
from stacklet.identity.models import IdentityRevision, RevocationEvent


def bump_revision(session: Session) -> None:
    """Record that something changed which may invalidate validated tokens.

    Call it in the same transaction as the change: user, project or domain
    disabled or deleted, role assignment removed, membership changed,
    password changed, token or application credential revoked.
    """
    updated = session.execute(sa.update(IdentityRevision).where(IdentityRevision.id == 1)
                              .values(revision=IdentityRevision.revision + 1)).rowcount
    if not updated:
        session.add(IdentityRevision(id=1, revision=1))


def revoke(session: Session, *, audit_id: str | None = None, audit_chain_id: str | None = None,
           user_id: str | None = None, project_id: str | None = None,
           domain_id: str | None = None, issued_before: datetime.datetime | None = None) -> None:
    """Revoke every token issued before now (or issued_before) that matches all given fields."""
    session.add(RevocationEvent(audit_id=audit_id, audit_chain_id=audit_chain_id,
                                user_id=user_id, project_id=project_id, domain_id=domain_id,
                                issued_before=issued_before or utcnow()))
    bump_revision(session)


def is_revoked(session: Session, *, audit_ids: list[str], user_id: str,
               project_id: str | None, domain_id: str | None,
               issued_at: datetime.datetime) -> bool:
    """Whether any revocation event matches a token with these attributes."""
    event = RevocationEvent
    matches = sa.and_(
        event.issued_before >= issued_at,
        sa.or_(event.audit_id.is_(None), event.audit_id.in_(audit_ids)),
        sa.or_(event.audit_chain_id.is_(None), event.audit_chain_id == audit_ids[-1]),
        sa.or_(event.user_id.is_(None), event.user_id == user_id),
        sa.or_(event.project_id.is_(None), event.project_id == project_id),
        sa.or_(event.domain_id.is_(None), event.domain_id == domain_id),
    )
    return session.execute(sa.select(event.id).where(matches).limit(1)).first() is not None
