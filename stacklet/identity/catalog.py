"""Regions, services and endpoints, and the catalog a token carries."""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest, Conflict, Forbidden
from stacklet.identity import endpoint_filter, revoke
from stacklet.identity.models import (
    Endpoint,
    EndpointGroup,
    ProjectEndpoint,
    ProjectEndpointGroup,
    Region,
    Service,
    new_id,
)
from stacklet.identity.records import get_or_404

# What a catalog is made of.  Validations cache catalogs per identity
# revision, so any change to these bumps the revision.
CATALOG_MODELS = (Service, Endpoint, Region, EndpointGroup, ProjectEndpoint,
                  ProjectEndpointGroup)


@event.listens_for(Session, "before_flush")
def _bump_revision_on_catalog_change(session: Session, _context, _instances) -> None:
    changed = itertools.chain(session.new, session.dirty, session.deleted)
    if any(isinstance(row, CATALOG_MODELS) for row in changed):
        revoke.bump_revision(session)


def _substitute(url: str, project_id: str | None) -> str | None:
    """Fill the project id into endpoint templates such as .../v2.1/$(project_id)s."""
    for placeholder in ("$(project_id)s", "$(tenant_id)s", "%(project_id)s", "%(tenant_id)s"):
        if placeholder in url:
            if project_id is None:
                return None
            url = url.replace(placeholder, project_id)
    return url


def build_catalog(session: Session, project_id: str | None) -> list[dict]:
    """The catalog of enabled services and endpoints, as in a token or /v3/auth/catalog."""
    services = session.scalars(sa.select(Service).where(Service.enabled.is_(True))
                               .order_by(Service.type)).all()
    endpoints = session.scalars(sa.select(Endpoint).where(Endpoint.enabled.is_(True))).all()
    allowed = endpoint_filter.catalog_endpoint_ids(session, project_id)
    if allowed is not None:
        endpoints = [e for e in endpoints if e.id in allowed]
    by_service: dict[str, list[dict]] = {}
    for endpoint in endpoints:
        url = _substitute(endpoint.url, project_id)
        if url is None:
            continue
        by_service.setdefault(endpoint.service_id, []).append({
            "id": endpoint.id, "interface": endpoint.interface, "url": url,
            "region": endpoint.region_id, "region_id": endpoint.region_id})
    return [{"id": s.id, "type": s.type, "name": s.name or "",
             "endpoints": by_service.get(s.id, [])} for s in services]


# -- regions ---------------------------------------------------------------------

def get_region(session: Session, region_id: str) -> Region:
    return get_or_404(session, Region, region_id, "region")


def list_regions(session: Session) -> list[Region]:
    return list(session.scalars(sa.select(Region).order_by(Region.id)))


def _child_region_ids(session: Session, region_id: str) -> list[str]:
    return list(session.scalars(sa.select(Region.id)
                                .where(Region.parent_region_id == region_id)))


def _descendant_region_ids(session: Session, region_id: str) -> list[str]:
    """Every region below this one, children before grandchildren."""
    found: list[str] = []
    frontier = [region_id]
    while frontier:
        children = [c for parent in frontier for c in _child_region_ids(session, parent)
                    if c not in found]
        found.extend(children)
        frontier = children
    return found


def _check_parent_region(session: Session, region_id: str, parent_id: str | None) -> None:
    """The parent must exist and must not be the region itself or one of its descendants."""
    if parent_id is None:
        return
    if parent_id == region_id or parent_id in _descendant_region_ids(session, region_id):
        raise BadRequest(f"Setting region {parent_id} as the parent of region {region_id} "
                         "would create a circular region hierarchy.")
    get_region(session, parent_id)


def create_region(session: Session, *, region_id: str | None, description: str | None,
                  parent_region_id: str | None, extra: dict) -> Region:
    region_id = region_id or new_id()
    if len(region_id) > 255:
        raise BadRequest("A region id is at most 255 characters long.")
    if session.get(Region, region_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store region - Duplicate ID, "
                       f"{region_id}.")
    _check_parent_region(session, region_id, parent_region_id)
    region = Region(id=region_id, description=description or "",
                    parent_region_id=parent_region_id, extra=extra)
    session.add(region)
    session.flush()
    return region


def update_region(session: Session, region_id: str, changes: dict, extra: dict) -> Region:
    region = get_region(session, region_id)
    if "parent_region_id" in changes:
        _check_parent_region(session, region_id, changes["parent_region_id"])
        region.parent_region_id = changes["parent_region_id"]
    if "description" in changes:
        region.description = changes["description"] or ""
    region.extra = {**(region.extra or {}), **extra}
    session.flush()
    return region


def delete_region(session: Session, region_id: str) -> None:
    """Delete a region and the regions below it, unless any of them has endpoints."""
    get_region(session, region_id)
    doomed = [region_id, *_descendant_region_ids(session, region_id)]
    if session.scalar(sa.select(Endpoint.id).where(Endpoint.region_id.in_(doomed)).limit(1)):
        raise Forbidden(f"Unable to delete region {region_id} because it or its child "
                        "regions have associated endpoints.")
    for doomed_id in reversed(doomed):
        session.execute(sa.delete(Region).where(Region.id == doomed_id))


# -- services --------------------------------------------------------------------

def get_service(session: Session, service_id: str) -> Service:
    return get_or_404(session, Service, service_id, "service")


def list_services(session: Session) -> list[Service]:
    return list(session.scalars(sa.select(Service).order_by(Service.type, Service.id)))


SERVICE_COLUMNS = ("type", "name", "description", "enabled")


def create_service(session: Session, data: dict, extra: dict) -> Service:
    service = Service(id=new_id(), type=data["type"], name=data.get("name"),
                      description=data.get("description"),
                      enabled=data.get("enabled", True), extra=extra)
    session.add(service)
    session.flush()
    return service


def update_service(session: Session, service_id: str, changes: dict, extra: dict) -> Service:
    service = get_service(session, service_id)
    for column in SERVICE_COLUMNS:
        if column in changes:
            setattr(service, column, changes[column])
    service.extra = {**(service.extra or {}), **extra}
    session.flush()
    return service


def delete_service(session: Session, service_id: str) -> None:
    """Delete a service with its endpoints, as Keystone does."""
    service = get_service(session, service_id)
    session.execute(sa.delete(Endpoint).where(Endpoint.service_id == service_id))
    session.delete(service)


# -- endpoints -------------------------------------------------------------------

ENDPOINT_COLUMNS = ("service_id", "interface", "url", "region_id", "enabled")


def get_endpoint(session: Session, endpoint_id: str) -> Endpoint:
    return get_or_404(session, Endpoint, endpoint_id, "endpoint")


def list_endpoints(session: Session) -> list[Endpoint]:
    return list(session.scalars(sa.select(Endpoint).order_by(Endpoint.service_id,
                                                             Endpoint.interface)))


def _resolve_endpoint_refs(session: Session, data: dict) -> dict:
    """Check the service and region an endpoint names; the legacy ``region`` field
    names a region by id and creates it when missing, for v2-era clients."""
    data = dict(data)
    legacy_region = data.pop("region", None)
    if data.get("region_id") is None and legacy_region is not None:
        data["region_id"] = legacy_region
        if session.get(Region, legacy_region) is None:
            create_region(session, region_id=legacy_region, description="",
                          parent_region_id=None, extra={})
    elif data.get("region_id") is not None and session.get(Region, data["region_id"]) is None:
        raise BadRequest(f"Invalid endpoint region_id: region {data['region_id']} "
                         "does not exist.")
    if "service_id" in data and session.get(Service, data["service_id"]) is None:
        raise BadRequest(f"Invalid endpoint service_id: service {data['service_id']} "
                         "does not exist.")
    return data


def create_endpoint(session: Session, data: dict, extra: dict) -> Endpoint:
    data = _resolve_endpoint_refs(session, data)
    endpoint = Endpoint(id=new_id(), service_id=data["service_id"],
                        interface=data["interface"], url=data["url"],
                        region_id=data.get("region_id"), enabled=data.get("enabled", True),
                        extra=extra)
    session.add(endpoint)
    session.flush()
    return endpoint


def update_endpoint(session: Session, endpoint_id: str, changes: dict,
                    extra: dict) -> Endpoint:
    endpoint = get_endpoint(session, endpoint_id)
    changes = _resolve_endpoint_refs(session, changes)
    for column in ENDPOINT_COLUMNS:
        if column in changes:
            setattr(endpoint, column, changes[column])
    endpoint.extra = {**(endpoint.extra or {}), **extra}
    session.flush()
    return endpoint


def delete_endpoint(session: Session, endpoint_id: str) -> None:
    session.delete(get_endpoint(session, endpoint_id))
