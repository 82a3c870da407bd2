"""Identity tables: domains, projects, users, groups, roles, assignments,
catalog, credentials, application credentials and their access rules, and
revocation events."""

from __future__ import annotations

import datetime
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from stacklet.db import Base, utcnow


def new_id() -> str:
    return uuid.uuid4().hex


ID = sa.String(64)


class Domain(Base):
    __tablename__ = "identity_domains"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class Project(Base):
    __tablename__ = "identity_projects"
    __table_args__ = (sa.UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255))
    domain_id: Mapped[str] = mapped_column(ID, sa.ForeignKey("identity_domains.id"), index=True)
    # None for a top-level project; the API shows the domain id there, as Keystone does.
    parent_id: Mapped[str | None] = mapped_column(ID, sa.ForeignKey("identity_projects.id"),
                                                  index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    tags: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "identity_users"
    __table_args__ = (sa.UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255))
    domain_id: Mapped[str] = mapped_column(ID, sa.ForeignKey("identity_domains.id"), index=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    default_project_id: Mapped[str | None] = mapped_column(ID)
    description: Mapped[str | None] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(sa.String(255))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    password_changed_at: Mapped[datetime.datetime | None] = mapped_column()
    password_expires_at: Mapped[datetime.datetime | None] = mapped_column()
    # Whether the user chose the current password (a self-service change)
    # rather than an admin: only then does the minimum password age apply.
    password_set_by_owner: Mapped[bool] = mapped_column(default=False)
    # Hashes of the passwords before the current one, newest last, kept for
    # [security_compliance] unique_last_password_count.
    password_history: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Consecutive wrong passwords and the last one's time, for the lockout.
    failed_auth_count: Mapped[int] = mapped_column(default=0)
    failed_auth_at: Mapped[datetime.datetime | None] = mapped_column()
    options: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class Group(Base):
    __tablename__ = "identity_groups"
    __table_args__ = (sa.UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255))
    domain_id: Mapped[str] = mapped_column(ID, sa.ForeignKey("identity_domains.id"), index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class GroupMembership(Base):
    __tablename__ = "identity_group_members"
    group_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_users.id", ondelete="CASCADE"), primary_key=True, index=True)


class Role(Base):
    __tablename__ = "identity_roles"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255), index=True)
    # None for a global role; a domain id for a domain-specific role.  Names are
    # unique per (name, domain_id), checked by the service since NULLs never collide.
    domain_id: Mapped[str | None] = mapped_column(ID, sa.ForeignKey("identity_domains.id"))
    description: Mapped[str | None] = mapped_column(sa.Text)
    options: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class ImpliedRole(Base):
    __tablename__ = "identity_implied_roles"
    prior_role_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_roles.id", ondelete="CASCADE"), primary_key=True)
    implied_role_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_roles.id", ondelete="CASCADE"), primary_key=True)


SYSTEM_TARGET = "system"


class RoleAssignment(Base):
    """A role given to an actor (user or group) on a target (project, domain or system)."""

    __tablename__ = "identity_role_assignments"
    actor_type: Mapped[str] = mapped_column(sa.String(16), primary_key=True)   # user | group
    actor_id: Mapped[str] = mapped_column(ID, primary_key=True)
    # project | domain | system
    target_type: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    target_id: Mapped[str] = mapped_column(ID, primary_key=True)  # "system" for the system
    role_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_roles.id", ondelete="CASCADE"), primary_key=True)
    inherited: Mapped[bool] = mapped_column(primary_key=True, default=False)
    __table_args__ = (sa.Index("ix_identity_assignments_actor", "actor_id"),
                      sa.Index("ix_identity_assignments_target", "target_id"))


class Region(Base):
    __tablename__ = "identity_regions"
    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    parent_region_id: Mapped[str | None] = mapped_column(sa.String(255))
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class Service(Base):
    __tablename__ = "identity_services"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str | None] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class Endpoint(Base):
    __tablename__ = "identity_endpoints"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_services.id", ondelete="CASCADE"), index=True)
    interface: Mapped[str] = mapped_column(sa.String(16))
    url: Mapped[str] = mapped_column(sa.Text)
    region_id: Mapped[str | None] = mapped_column(sa.String(255))
    enabled: Mapped[bool] = mapped_column(default=True)
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class Credential(Base):
    __tablename__ = "identity_credentials"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID)
    type: Mapped[str] = mapped_column(sa.String(255))
    encrypted_blob: Mapped[str] = mapped_column(sa.Text)
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class ApplicationCredential(Base):
    __tablename__ = "identity_application_credentials"
    __table_args__ = (sa.UniqueConstraint("user_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ID)
    secret_hash: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.Text)
    expires_at: Mapped[datetime.datetime | None] = mapped_column()
    unrestricted: Mapped[bool] = mapped_column(default=False)
    role_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Ids of the AccessRule rows its tokens are limited to; empty: no limit.
    access_rules: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class AccessRule(Base):
    """A request an application credential's tokens may make: one method on the
    paths matching a template, in one service.  A user's identical rules are one
    row, shared by every application credential that names it."""

    __tablename__ = "identity_access_rules"
    __table_args__ = (sa.UniqueConstraint("user_id", "service", "path", "method"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_users.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(ID)
    path: Mapped[str] = mapped_column(sa.String(255))
    method: Mapped[str] = mapped_column(sa.String(16))


class RevocationEvent(Base):
    """Tokens matching every non-null field and issued before ``issued_before`` are revoked."""

    __tablename__ = "identity_revocation_events"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    audit_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    audit_chain_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    user_id: Mapped[str | None] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID, index=True)
    domain_id: Mapped[str | None] = mapped_column(ID)
    issued_before: Mapped[datetime.datetime] = mapped_column()
    revoked_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class IdentityRevision(Base):
    """One row counting changes that can invalidate tokens.

    Every API process caches validated tokens; comparing this counter (one
    indexed read per request) tells it whether any cached answer may be stale,
    which makes revocation take effect at once across processes.
    """

    __tablename__ = "identity_revision"
    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(sa.BigInteger, default=0)



class Policy(Base):
    """A policy blob stored for other services (Keystone's /v3/policies)."""

    __tablename__ = "identity_policies"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(sa.String(255))
    blob: Mapped[str] = mapped_column(sa.Text)
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class EndpointGroup(Base):
    """Endpoints chosen by filters (OS-EP-FILTER), associable with projects."""

    __tablename__ = "identity_endpoint_groups"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.Text)
    filters: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class ProjectEndpointGroup(Base):
    __tablename__ = "identity_project_endpoint_groups"
    endpoint_group_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_endpoint_groups.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)


class ProjectEndpoint(Base):
    __tablename__ = "identity_project_endpoints"
    endpoint_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_endpoints.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)


class DomainConfig(Base):
    """Per-domain identity configuration (Keystone's /v3/domains/{id}/config)."""

    __tablename__ = "identity_domain_configs"
    domain_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_domains.id", ondelete="CASCADE"), primary_key=True)
    config: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class OAuthConsumer(Base):
    """A registered OAuth 1.0a consumer (OS-OAUTH1)."""

    __tablename__ = "identity_oauth_consumers"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    description: Mapped[str | None] = mapped_column(sa.Text)
    secret: Mapped[str] = mapped_column(sa.String(255))
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class Trust(Base):
    """A trustor's delegation of roles on a project to a trustee (OS-TRUST)."""

    __tablename__ = "identity_trusts"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    trustor_user_id: Mapped[str] = mapped_column(ID, index=True)
    trustee_user_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID)
    impersonation: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime.datetime | None] = mapped_column()
    remaining_uses: Mapped[int | None] = mapped_column()
    role_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    allow_redelegation: Mapped[bool] = mapped_column(default=False)
    redelegated_trust_id: Mapped[str | None] = mapped_column(ID)
    redelegation_count: Mapped[int | None] = mapped_column()
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class RegisteredLimit(Base):
    """A resource's default limit for a service (unified limits)."""

    __tablename__ = "identity_registered_limits"
    __table_args__ = (sa.UniqueConstraint("service_id", "region_id", "resource_name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_services.id", ondelete="CASCADE"))
    region_id: Mapped[str | None] = mapped_column(sa.String(255))
    resource_name: Mapped[str] = mapped_column(sa.String(255))
    default_limit: Mapped[int] = mapped_column(sa.BigInteger)
    description: Mapped[str | None] = mapped_column(sa.Text)


class Limit(Base):
    """A project's (or domain's) own limit of a resource, overriding the default."""

    __tablename__ = "identity_limits"
    __table_args__ = (sa.UniqueConstraint("registered_limit_id", "project_id", "domain_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    registered_limit_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("identity_registered_limits.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(ID, index=True)
    domain_id: Mapped[str | None] = mapped_column(ID)
    resource_limit: Mapped[int] = mapped_column(sa.BigInteger)
    description: Mapped[str | None] = mapped_column(sa.Text)
