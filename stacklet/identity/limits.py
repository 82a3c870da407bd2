"""Unified limits: registered (default) limits and project or domain limits.

Keystone's flat enforcement model: a project's limit of a resource is its
own limit if it has one, else the registered default.  Services read them
with ``effective_limit`` to enforce their quotas.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest, Conflict, Forbidden
from stacklet.identity.models import Domain, Limit, Project, Region, RegisteredLimit, Service
from stacklet.identity.records import get_or_404

MODEL = {"name": "flat",
         "description": "Limit enforcement and validation does not take project hierarchy "
                        "into consideration."}


def _check_references(session: Session, service_id: str, region_id: str | None) -> None:
    if session.get(Service, service_id) is None:
        raise BadRequest(f"Invalid service_id: no service {service_id}.")
    if region_id is not None and session.get(Region, region_id) is None:
        raise BadRequest(f"Invalid region_id: no region {region_id}.")


def _registered_for(session: Session, service_id: str, region_id: str | None,
                    resource_name: str) -> RegisteredLimit | None:
    region = (RegisteredLimit.region_id.is_(None) if region_id is None
              else RegisteredLimit.region_id == region_id)
    return session.scalar(sa.select(RegisteredLimit).where(
        RegisteredLimit.service_id == service_id, region,
        RegisteredLimit.resource_name == resource_name))


# -- registered limits -------------------------------------------------------------

def list_registered(session: Session, filters: dict) -> list[RegisteredLimit]:
    query = sa.select(RegisteredLimit).order_by(RegisteredLimit.resource_name,
                                                RegisteredLimit.id)
    for name in ("service_id", "region_id", "resource_name"):
        if filters.get(name) is not None:
            query = query.where(getattr(RegisteredLimit, name) == filters[name])
    return list(session.scalars(query))


def get_registered(session: Session, limit_id: str) -> RegisteredLimit:
    return get_or_404(session, RegisteredLimit, limit_id, "registered limit")


def create_registered(session: Session, items: list[dict]) -> list[RegisteredLimit]:
    """Create a batch of registered limits: all of them or, on any error, none."""
    created = []
    for item in items:
        _check_references(session, item["service_id"], item.get("region_id"))
        if _registered_for(session, item["service_id"], item.get("region_id"),
                           item["resource_name"]) is not None:
            raise Conflict(f"Duplicate entry: a registered limit for {item['resource_name']} "
                           "already exists for this service and region.")
        row = RegisteredLimit(**{k: item.get(k) for k in (
            "service_id", "region_id", "resource_name", "default_limit", "description")})
        session.add(row)
        session.flush()
        created.append(row)
    return created


def update_registered(session: Session, limit_id: str, changes: dict) -> RegisteredLimit:
    row = get_registered(session, limit_id)
    identifying = {"service_id", "region_id", "resource_name"} & set(changes)
    if identifying:
        if session.scalar(sa.select(Limit.id).where(Limit.registered_limit_id == row.id)):
            raise Forbidden("The registered limit is referenced by project limits: its "
                            "service, region and resource cannot change.")
        merged = {k: changes.get(k, getattr(row, k)) for k in
                  ("service_id", "region_id", "resource_name")}
        _check_references(session, merged["service_id"], merged["region_id"])
        other = _registered_for(session, **merged)
        if other is not None and other.id != row.id:
            raise Conflict("Duplicate entry: that registered limit already exists.")
    for key, value in changes.items():
        setattr(row, key, value)
    session.flush()
    return row


def delete_registered(session: Session, limit_id: str) -> None:
    row = get_registered(session, limit_id)
    if session.scalar(sa.select(Limit.id).where(Limit.registered_limit_id == row.id)):
        raise Forbidden("The registered limit is referenced by project limits; delete "
                        "them first.")
    session.delete(row)


# -- project and domain limits -------------------------------------------------------

def list_limits(session: Session, filters: dict) -> list[tuple[Limit, RegisteredLimit]]:
    query = (sa.select(Limit, RegisteredLimit)
             .join(RegisteredLimit, Limit.registered_limit_id == RegisteredLimit.id)
             .order_by(RegisteredLimit.resource_name, Limit.id))
    for name in ("service_id", "region_id", "resource_name"):
        if filters.get(name) is not None:
            query = query.where(getattr(RegisteredLimit, name) == filters[name])
    for name in ("project_id", "domain_id"):
        if filters.get(name) is not None:
            query = query.where(getattr(Limit, name) == filters[name])
    return [tuple(row) for row in session.execute(query)]


def get_limit(session: Session, limit_id: str) -> tuple[Limit, RegisteredLimit]:
    limit = get_or_404(session, Limit, limit_id, "limit")
    return limit, session.get(RegisteredLimit, limit.registered_limit_id)


def create_limits(session: Session, items: list[dict]) -> list[tuple[Limit, RegisteredLimit]]:
    """Create a batch of limits: all of them or, on any error, none."""
    created = []
    for item in items:
        project_id, domain_id = item.get("project_id"), item.get("domain_id")
        if (project_id is None) == (domain_id is None):
            raise BadRequest("A limit is for a project_id or for a domain_id: give one.")
        if project_id is not None:
            get_or_404(session, Project, project_id, "project")
        else:
            get_or_404(session, Domain, domain_id, "domain")
        _check_references(session, item["service_id"], item.get("region_id"))
        registered = _registered_for(session, item["service_id"], item.get("region_id"),
                                     item["resource_name"])
        if registered is None:
            raise Forbidden(f"No registered limit for {item['resource_name']} of service "
                            f"{item['service_id']}: register a default limit first.")
        if session.scalar(sa.select(Limit.id).where(
                Limit.registered_limit_id == registered.id, Limit.project_id == project_id
                if project_id else Limit.domain_id == domain_id)):
            raise Conflict(f"Duplicate entry: a limit for {item['resource_name']} already "
                           "exists there.")
        limit = Limit(registered_limit_id=registered.id, project_id=project_id,
                      domain_id=domain_id, resource_limit=item["resource_limit"],
                      description=item.get("description"))
        session.add(limit)
        session.flush()
        created.append((limit, registered))
    return created


def update_limit(session: Session, limit_id: str, changes: dict) -> tuple[Limit, RegisteredLimit]:
    limit, registered = get_limit(session, limit_id)
    for key, value in changes.items():
        setattr(limit, key, value)
    session.flush()
    return limit, registered


def delete_limit(session: Session, limit_id: str) -> None:
    session.delete(get_limit(session, limit_id)[0])


def effective_limit(session: Session, service_type: str, resource_name: str,
                    project_id: str, region_id: str | None = None) -> int | None:
    """A project's limit of a resource: its own, else the registered default,
    else None (unlimited: nothing is registered)."""
    service_ids = sa.select(Service.id).where(Service.type == service_type)
    region = (RegisteredLimit.region_id.is_(None) if region_id is None
              else sa.or_(RegisteredLimit.region_id == region_id,
                          RegisteredLimit.region_id.is_(None)))
    registered = session.scalar(sa.select(RegisteredLimit).where(
        RegisteredLimit.service_id.in_(service_ids), region,
        RegisteredLimit.resource_name == resource_name)
        .order_by(RegisteredLimit.region_id.is_(None)))
    if registered is None:
        return None
    own = session.scalar(sa.select(Limit.resource_limit).where(
        Limit.registered_limit_id == registered.id, Limit.project_id == project_id))
    return registered.default_limit if own is None else own
