"""Compute tables: flavors, keypairs, hosts, servers and what hangs off them.

The database is the truth.  A server's row records what the user asked for
(``task_state`` and ``pending``) before any agent acts on it, so a lost bus
message or a restart only delays work: agents and the conductor find it
again in the database.
"""

from __future__ import annotations

import datetime
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stacklet.db import Base, utcnow

ID = sa.String(36)


def new_uuid() -> str:
    return str(uuid.uuid4())


# -- flavors and keypairs --------------------------------------------------------

class Flavor(Base):
    __tablename__ = "compute_flavors"
    # Nova's flavor "id" is a string chosen by the admin (or a generated UUID);
    # the integer key only links extra specs and access rows.
    pk: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    memory_mb: Mapped[int]
    vcpus: Mapped[int]
    root_gb: Mapped[int] = mapped_column(default=0)
    ephemeral_gb: Mapped[int] = mapped_column(default=0)
    swap: Mapped[int] = mapped_column(default=0)
    rxtx_factor: Mapped[float] = mapped_column(default=1.0)
    is_public: Mapped[bool] = mapped_column(default=True)
    disabled: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(onupdate=utcnow)

    extra_specs: Mapped[list[FlavorExtraSpec]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FlavorExtraSpec.key")
    projects: Mapped[list[FlavorProject]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FlavorProject.project_id")


class FlavorExtraSpec(Base):
    __tablename__ = "compute_flavor_extra_specs"
    flavor_pk: Mapped[int] = mapped_column(
        sa.ForeignKey("compute_flavors.pk", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(255))


class FlavorProject(Base):
    """A project allowed to use a private flavor."""

    __tablename__ = "compute_flavor_projects"
    flavor_pk: Mapped[int] = mapped_column(
        sa.ForeignKey("compute_flavors.pk", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)


class KeyPair(Base):
    __tablename__ = "compute_keypairs"
    __table_args__ = (sa.UniqueConstraint("user_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(255))
    public_key: Mapped[str] = mapped_column(sa.Text)
    type: Mapped[str] = mapped_column(sa.String(8), default="ssh")
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


# -- hosts ------------------------------------------------------------------------

class ComputeService(Base):
    """A Nova service (nova-compute, nova-conductor, nova-scheduler) on a host, as
    os-services shows it; its heartbeat decides up or down."""

    __tablename__ = "compute_services"
    __table_args__ = (sa.UniqueConstraint("host", "binary"),)
    pk: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(ID, unique=True, default=new_uuid)
    host: Mapped[str] = mapped_column(sa.String(255))
    binary: Mapped[str] = mapped_column(sa.String(64))
    disabled: Mapped[bool] = mapped_column(default=False)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(255))
    forced_down: Mapped[bool] = mapped_column(default=False)
    last_seen_up: Mapped[datetime.datetime | None]
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(onupdate=utcnow)


class ComputeNode(Base):
    """A hypervisor: what a compute host offers and what its servers have claimed.

    The ``*_used`` columns change only by single UPDATE statements that check
    capacity in their WHERE clause, so concurrent claims never oversubscribe."""

    __tablename__ = "compute_nodes"
    pk: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(ID, unique=True, default=new_uuid)
    host: Mapped[str] = mapped_column(sa.String(255), unique=True)
    hypervisor_hostname: Mapped[str] = mapped_column(sa.String(255))
    hypervisor_type: Mapped[str] = mapped_column(sa.String(32))
    hypervisor_version: Mapped[int] = mapped_column(default=0)
    host_ip: Mapped[str] = mapped_column(sa.String(64), default="127.0.0.1")
    cpu_arch: Mapped[str] = mapped_column(sa.String(32), default="x86_64")
    vcpus: Mapped[int]
    memory_mb: Mapped[int]
    local_gb: Mapped[int]
    vcpus_used: Mapped[int] = mapped_column(default=0)
    memory_mb_used: Mapped[int] = mapped_column(default=0)
    local_gb_used: Mapped[int] = mapped_column(default=0)
    running_vms: Mapped[int] = mapped_column(default=0)
    cpu_allocation_ratio: Mapped[float] = mapped_column(default=4.0)
    ram_allocation_ratio: Mapped[float] = mapped_column(default=1.0)
    disk_allocation_ratio: Mapped[float] = mapped_column(default=1.0)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(onupdate=utcnow)


class Aggregate(Base):
    """A host aggregate: a named group of hosts with metadata.  Its
    ``availability_zone`` metadata is the zone of its hosts (see hostinfo.Zones)."""

    __tablename__ = "compute_aggregates"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(ID, unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None]

    hosts: Mapped[list[AggregateHost]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AggregateHost.host")
    metadata_items: Mapped[list[AggregateMetadata]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AggregateMetadata.key")


class AggregateHost(Base):
    __tablename__ = "compute_aggregate_hosts"
    aggregate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("compute_aggregates.id", ondelete="CASCADE"), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255), primary_key=True, index=True)


class AggregateMetadata(Base):
    __tablename__ = "compute_aggregate_metadata"
    aggregate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("compute_aggregates.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True, index=True)
    value: Mapped[str] = mapped_column(sa.String(255))


# -- servers ----------------------------------------------------------------------

class Instance(Base):
    __tablename__ = "compute_instances"
    # Nova's indexes for the two usual listings, newest first: a project's
    # servers, and everyone's for an admin.  Each lets the database stop after
    # one page instead of sorting every server.
    __table_args__ = (
        sa.Index("ix_compute_instances_project_listing", "project_id", "deleted", "created_at"),
        sa.Index("ix_compute_instances_listing", "deleted", "created_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    display_name: Mapped[str] = mapped_column(sa.String(255), index=True)
    display_description: Mapped[str | None] = mapped_column(sa.Text)
    hostname: Mapped[str] = mapped_column(sa.String(255))
    project_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    user_id: Mapped[str] = mapped_column(sa.String(64))
    image_ref: Mapped[str] = mapped_column(sa.String(36), default="")
    # The flavor as it was at boot (Nova embeds it too): deleting or changing
    # a flavor never changes a running server.  new_flavor is a resize's target.
    flavor: Mapped[dict] = mapped_column(sa.JSON)
    new_flavor: Mapped[dict | None] = mapped_column(sa.JSON)
    vcpus: Mapped[int]
    memory_mb: Mapped[int]
    root_gb: Mapped[int]
    ephemeral_gb: Mapped[int] = mapped_column(default=0)
    key_name: Mapped[str | None] = mapped_column(sa.String(255))
    key_data: Mapped[str | None] = mapped_column(sa.Text)
    user_data: Mapped[str | None] = mapped_column(sa.Text)
    availability_zone: Mapped[str | None] = mapped_column(sa.String(255))
    host: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    node: Mapped[str | None] = mapped_column(sa.String(255))
    vm_state: Mapped[str] = mapped_column(sa.String(32), default="building", index=True)
    task_state: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    power_state: Mapped[int] = mapped_column(default=0)
    # Parameters of the task in task_state (reboot type, rebuild image,
    # snapshot image id, ...), so an agent started later can still do it.
    pending: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # What the instance was created with: image properties, requested
    # networks and block devices, security groups, server group.
    system_metadata: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    config_drive: Mapped[bool] = mapped_column(default=False)
    disk_config: Mapped[str] = mapped_column(sa.String(8), default="MANUAL")
    access_ip_v4: Mapped[str | None] = mapped_column(sa.String(64))
    access_ip_v6: Mapped[str | None] = mapped_column(sa.String(64))
    locked: Mapped[bool] = mapped_column(default=False)
    locked_by: Mapped[str | None] = mapped_column(sa.String(16))   # "owner" | "admin"
    locked_reason: Mapped[str | None] = mapped_column(sa.String(255))
    progress: Mapped[int] = mapped_column(default=0)
    launch_index: Mapped[int] = mapped_column(default=0)
    reservation_id: Mapped[str] = mapped_column(sa.String(32))
    admin_password: Mapped[str | None] = mapped_column(sa.String(255))
    launched_at: Mapped[datetime.datetime | None]
    terminated_at: Mapped[datetime.datetime | None]
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, onupdate=utcnow,
                                                          index=True)
    # Nova keeps deleted servers (listed with deleted=True or changes-since).
    deleted: Mapped[bool] = mapped_column(default=False, index=True)
    deleted_at: Mapped[datetime.datetime | None]

    metadata_items: Mapped[list[InstanceMetadata]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstanceMetadata.key")
    tags: Mapped[list[InstanceTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstanceTag.tag")
    faults: Mapped[list[InstanceFault]] = relationship(
        cascade="all, delete-orphan", lazy="select", order_by="InstanceFault.id.desc()")


class InstanceMetadata(Base):
    __tablename__ = "compute_instance_metadata"
    instance_id: Mapped[str] = mapped_column(
        sa.ForeignKey("compute_instances.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(255))


class InstanceTag(Base):
    __tablename__ = "compute_instance_tags"
    instance_id: Mapped[str] = mapped_column(
        sa.ForeignKey("compute_instances.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(80), primary_key=True, index=True)


class InstanceFault(Base):
    __tablename__ = "compute_instance_faults"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(
        sa.ForeignKey("compute_instances.id", ondelete="CASCADE"), index=True)
    code: Mapped[int]
    message: Mapped[str] = mapped_column(sa.String(255))
    details: Mapped[str] = mapped_column(sa.Text, default="")
    host: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class InstanceAction(Base):
    """One user-requested action on a server (os-instance-actions)."""

    __tablename__ = "compute_instance_actions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ID, index=True)
    action: Mapped[str] = mapped_column(sa.String(64))
    request_id: Mapped[str] = mapped_column(sa.String(64))
    project_id: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[str] = mapped_column(sa.String(64))
    message: Mapped[str | None] = mapped_column(sa.String(255))
    start_time: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    finish_time: Mapped[datetime.datetime | None]
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    events: Mapped[list[InstanceActionEvent]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstanceActionEvent.id")


class InstanceActionEvent(Base):
    __tablename__ = "compute_instance_action_events"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        sa.ForeignKey("compute_instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(sa.String(64))
    host: Mapped[str | None] = mapped_column(sa.String(255))
    result: Mapped[str | None] = mapped_column(sa.String(32))
    traceback: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[str | None] = mapped_column(sa.Text)
    start_time: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    finish_time: Mapped[datetime.datetime | None]


class Migration(Base):
    """A resize (or, later, a migration) of one server between hosts."""

    __tablename__ = "compute_migrations"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(ID, unique=True, default=new_uuid)
    instance_id: Mapped[str] = mapped_column(ID, index=True)
    migration_type: Mapped[str] = mapped_column(sa.String(32), default="resize")
    status: Mapped[str] = mapped_column(sa.String(32), index=True)
    source_compute: Mapped[str | None] = mapped_column(sa.String(255))
    dest_compute: Mapped[str | None] = mapped_column(sa.String(255))
    source_node: Mapped[str | None] = mapped_column(sa.String(255))
    dest_node: Mapped[str | None] = mapped_column(sa.String(255))
    dest_host: Mapped[str | None] = mapped_column(sa.String(255))
    old_flavor_id: Mapped[str | None] = mapped_column(sa.String(255))
    new_flavor_id: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# -- server groups and quotas ------------------------------------------------------

class ServerGroup(Base):
    __tablename__ = "compute_server_groups"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(sa.String(255))
    project_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    user_id: Mapped[str] = mapped_column(sa.String(64))
    policy: Mapped[str] = mapped_column(sa.String(32))
    rules: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)

    members: Mapped[list[ServerGroupMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ServerGroupMember.instance_id")


class ServerGroupMember(Base):
    __tablename__ = "compute_server_group_members"
    group_id: Mapped[str] = mapped_column(
        sa.ForeignKey("compute_server_groups.id", ondelete="CASCADE"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)


class QuotaLimit(Base):
    """An admin-set quota: for a project (user_id empty) or for one user in it."""

    __tablename__ = "compute_quotas"
    project_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True, default="")
    resource: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    hard_limit: Mapped[int]


class QuotaClassLimit(Base):
    """Quota defaults (the 'default' quota class), changed with os-quota-class-sets."""

    __tablename__ = "compute_quota_classes"
    class_name: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    hard_limit: Mapped[int]


# -- remote consoles -------------------------------------------------------------------

class ConsoleAuthToken(Base):
    """A console URL's token, as Nova's console_auth_tokens: only its SHA-256 is
    kept, so the table gives no one a way into a console.  A token opens its
    console again and again until it expires."""

    __tablename__ = "compute_console_auth_tokens"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    console_type: Mapped[str] = mapped_column(sa.String(32))   # novnc | serial
    instance_id: Mapped[str] = mapped_column(ID, index=True)
    # The server's host when the token was issued (os-console-auth-tokens shows it).
    host: Mapped[str] = mapped_column(sa.String(255))
    expires_at: Mapped[datetime.datetime] = mapped_column(index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


# -- the fake driver's guests --------------------------------------------------------

class FakeGuest(Base):
    """A 'guest' of the fake compute driver, kept in the database so that a
    restart of Stacklet loses none (the fake driver is for control-plane and
    scale tests; it runs nothing)."""

    __tablename__ = "compute_fake_guests"
    instance_id: Mapped[str] = mapped_column(ID, primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255), index=True)
    power_state: Mapped[int]
    state: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    console: Mapped[str] = mapped_column(sa.Text, default="")
