"""Regions, services and endpoints, and the catalog a token carries."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.identity import endpoint_filter
from stacklet.identity.models import Endpoint, Service


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
