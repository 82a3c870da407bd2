"""First-start bootstrap: the admin persona, the roles, the region and the catalog.

It runs on every start and is idempotent: what exists is kept, what is
missing is created, and the built-in services' endpoints follow the current
public URL.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.cloud import Cloud
from stacklet.identity.compliance import reset_failed_attempts
from stacklet.identity.models import (
    SYSTEM_TARGET,
    Domain,
    Endpoint,
    ImpliedRole,
    Project,
    Region,
    Role,
    RoleAssignment,
    Service,
    User,
)
from stacklet.identity.resource import DEFAULT_DOMAIN_ID
from stacklet.services import SERVICES

# admin implies member implies reader, as upstream bootstraps them.
# Keystone's bootstrap roles: "manager" (project managers, between admin and
# member) and "service" (for services calling each other) as of 2024.2.
DEFAULT_ROLES = ("admin", "manager", "member", "reader", "service")
ROLE_IMPLICATIONS = (("admin", "manager"), ("manager", "member"), ("member", "reader"))
INTERFACES = ("public", "internal", "admin")


@dataclasses.dataclass
class BootstrapResult:
    admin_user_id: str
    admin_project_id: str
    created: bool


def _get_or_add(session: Session, model, lookup: dict, **values):
    row = session.scalar(sa.select(model).filter_by(**lookup))
    if row is None:
        row = model(**lookup, **values)
        session.add(row)
        session.flush()
    return row


def bootstrap(cloud: Cloud, admin_password: str, *, reset_password: bool) -> BootstrapResult:
    """Make sure the bootstrap identity and catalog exist."""
    region = cloud.config.get("identity", "region")
    with cloud.db.transaction() as session:
        domain = session.get(Domain, DEFAULT_DOMAIN_ID)
        created = domain is None
        if domain is None:
            domain = Domain(id=DEFAULT_DOMAIN_ID, name="Default",
                            description="The default domain")
            session.add(domain)
            session.flush()
        roles = {name: _get_or_add(session, Role, {"name": name, "domain_id": None})
                 for name in DEFAULT_ROLES}
        for prior, implied in ROLE_IMPLICATIONS:
            _get_or_add(session, ImpliedRole, {"prior_role_id": roles[prior].id,
                                               "implied_role_id": roles[implied].id})
        project = _get_or_add(session, Project, {"name": "admin", "domain_id": domain.id},
                              description="Bootstrap project for initializing the cloud.")
        # The bootstrap password is written directly, outside
        # [security_compliance]: it never expires nor must be changed upon
        # first use, and a reset lifts any lockout (the operator's way back in).
        user = session.scalar(sa.select(User).filter_by(name="admin", domain_id=domain.id))
        if user is None:
            user = User(name="admin", domain_id=domain.id, default_project_id=project.id,
                        password_hash=cloud.hash_password(admin_password))
            session.add(user)
            session.flush()
        elif reset_password:
            user.password_hash = cloud.hash_password(admin_password)
            user.password_expires_at = None
            reset_failed_attempts(user)
        for target_type, target_id in (("project", project.id), ("system", SYSTEM_TARGET)):
            _get_or_add(session, RoleAssignment, {
                "actor_type": "user", "actor_id": user.id, "target_type": target_type,
                "target_id": target_id, "role_id": roles["admin"].id, "inherited": False})
        _get_or_add(session, Region, {"id": region}, description="")
        _register_catalog(session, cloud.config.public_url, region)
        return BootstrapResult(user.id, project.id, created)


def _register_catalog(session: Session, public_url: str, region: str) -> None:
    for info in SERVICES:
        service = _get_or_add(session, Service, {"type": info.type}, name=info.name,
                              description=info.description)
        url = f"{public_url}{info.prefix}{info.endpoint_path}"
        for interface in INTERFACES:
            endpoint = _get_or_add(session, Endpoint, {
                "service_id": service.id, "interface": interface, "region_id": region},
                url=url)
            endpoint.url = url
