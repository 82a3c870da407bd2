"""OS-EP-FILTER: endpoint groups and endpoints associated with projects.

A project with associations sees only those endpoints in its catalog;
a project without any sees the whole catalog, as in Keystone.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest
from stacklet.identity.models import (
    Endpoint,
    EndpointGroup,
    Project,
    ProjectEndpoint,
    ProjectEndpointGroup,
)
from stacklet.identity.records import apply_changes, get_or_404

# The endpoint attributes a group's filters may name.
FILTER_KEYS = ("interface", "service_id", "region_id")


def _check_filters(filters: dict) -> dict:
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        raise BadRequest(f"Invalid endpoint group filters: {', '.join(sorted(unknown))}; "
                         f"allowed are {', '.join(FILTER_KEYS)}.")
    return filters


def list_groups(session: Session, name: str | None = None) -> list[EndpointGroup]:
    query = sa.select(EndpointGroup).order_by(EndpointGroup.name, EndpointGroup.id)
    if name is not None:
        query = query.where(EndpointGroup.name == name)
    return list(session.scalars(query))


def get_group(session: Session, group_id: str) -> EndpointGroup:
    return get_or_404(session, EndpointGroup, group_id, "endpoint group")


def create_group(session: Session, data: dict) -> EndpointGroup:
    group = EndpointGroup(name=data["name"], description=data.get("description"),
                          filters=_check_filters(data["filters"]))
    session.add(group)
    session.flush()
    return group


def update_group(session: Session, group_id: str, changes: dict) -> EndpointGroup:
    group = get_group(session, group_id)
    if "filters" in changes:
        _check_filters(changes["filters"])
    apply_changes(group, changes, ("name", "description", "filters"))
    session.flush()
    return group


def delete_group(session: Session, group_id: str) -> None:
    session.delete(get_group(session, group_id))


def group_endpoints(session: Session, group: EndpointGroup) -> list[Endpoint]:
    query = sa.select(Endpoint)
    for key, value in group.filters.items():
        query = query.where(getattr(Endpoint, key) == value)
    return list(session.scalars(query.order_by(Endpoint.id)))


def _project(session: Session, project_id: str) -> Project:
    return get_or_404(session, Project, project_id, "project")


def associate_group(session: Session, group_id: str, project_id: str) -> None:
    get_group(session, group_id)
    _project(session, project_id)
    if session.get(ProjectEndpointGroup, (group_id, project_id)) is None:
        session.add(ProjectEndpointGroup(endpoint_group_id=group_id, project_id=project_id))


def get_group_association(session: Session, group_id: str,
                          project_id: str) -> ProjectEndpointGroup:
    get_group(session, group_id)
    _project(session, project_id)
    return get_or_404(session, ProjectEndpointGroup, (group_id, project_id),
                      f"association of endpoint group {group_id} with project")


def dissociate_group(session: Session, group_id: str, project_id: str) -> None:
    session.delete(get_group_association(session, group_id, project_id))


def projects_of_group(session: Session, group_id: str) -> list[Project]:
    get_group(session, group_id)
    ids = sa.select(ProjectEndpointGroup.project_id).where(
        ProjectEndpointGroup.endpoint_group_id == group_id)
    return list(session.scalars(sa.select(Project).where(Project.id.in_(ids))
                                .order_by(Project.name)))


def groups_of_project(session: Session, project_id: str) -> list[EndpointGroup]:
    _project(session, project_id)
    ids = sa.select(ProjectEndpointGroup.endpoint_group_id).where(
        ProjectEndpointGroup.project_id == project_id)
    return list(session.scalars(sa.select(EndpointGroup).where(EndpointGroup.id.in_(ids))))


def associate_endpoint(session: Session, project_id: str, endpoint_id: str) -> None:
    _project(session, project_id)
    get_or_404(session, Endpoint, endpoint_id, "endpoint")
    if session.get(ProjectEndpoint, (endpoint_id, project_id)) is None:
        session.add(ProjectEndpoint(endpoint_id=endpoint_id, project_id=project_id))


def get_endpoint_association(session: Session, project_id: str,
                             endpoint_id: str) -> ProjectEndpoint:
    _project(session, project_id)
    get_or_404(session, Endpoint, endpoint_id, "endpoint")
    return get_or_404(session, ProjectEndpoint, (endpoint_id, project_id),
                      f"association of endpoint {endpoint_id} with project")


def dissociate_endpoint(session: Session, project_id: str, endpoint_id: str) -> None:
    session.delete(get_endpoint_association(session, project_id, endpoint_id))


def projects_of_endpoint(session: Session, endpoint_id: str) -> list[Project]:
    get_or_404(session, Endpoint, endpoint_id, "endpoint")
    ids = sa.select(ProjectEndpoint.project_id).where(ProjectEndpoint.endpoint_id == endpoint_id)
    return list(session.scalars(sa.select(Project).where(Project.id.in_(ids))
                                .order_by(Project.name)))


def endpoints_of_project(session: Session, project_id: str) -> list[Endpoint]:
    """The endpoints associated with a project, directly or through groups."""
    _project(session, project_id)
    endpoint_ids = set(session.scalars(sa.select(ProjectEndpoint.endpoint_id).where(
        ProjectEndpoint.project_id == project_id)))
    for group in session.scalars(sa.select(EndpointGroup).where(EndpointGroup.id.in_(
            sa.select(ProjectEndpointGroup.endpoint_group_id).where(
                ProjectEndpointGroup.project_id == project_id)))):
        endpoint_ids |= {e.id for e in group_endpoints(session, group)}
    if not endpoint_ids:
        return []
    return list(session.scalars(sa.select(Endpoint).where(Endpoint.id.in_(endpoint_ids))
                                .order_by(Endpoint.id)))


def catalog_endpoint_ids(session: Session, project_id: str | None) -> set[str] | None:
    """Endpoint ids a project's catalog is limited to, or None for no limit."""
    if project_id is None or session.get(Project, project_id) is None:
        return None
    endpoints = endpoints_of_project(session, project_id)
    return {e.id for e in endpoints} if endpoints else None
