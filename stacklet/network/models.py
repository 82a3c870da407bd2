"""Network tables: Neutron's model of networks, subnets, ports, security groups,
routers and floating IPs.

The database is the truth the network agents reconcile from: a port records
the host it is bound to, a network its segment, a router its interfaces and
gateway as ports of its own, and a security group its rules.  An agent needs
nothing else to build bridges, namespaces, dnsmasq and nftables on its host.

Every resource carries Neutron's standard attributes (description, tags,
created_at, updated_at, revision_number); tags live in one table for all.
"""

from __future__ import annotations

import datetime
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stacklet.db import Base, utcnow

ID = sa.String(36)
PROJECT = sa.String(64)
# Addresses are kept as text (IPv6 is too wide for an integer column); IPAM
# ranges keep their bounds as fixed-width hex so they sort as numbers do.
ADDRESS = sa.String(64)
HEX_ADDRESS = sa.String(32)


def new_uuid() -> str:
    return str(uuid.uuid4())


class StandardAttributes:
    """Neutron's standard attributes, on every resource table."""

    description: Mapped[str] = mapped_column(sa.String(255), default="")
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Bumped on every change, so clients can make updates conditional (If-Match).
    revision_number: Mapped[int] = mapped_column(default=0)


class Tag(Base):
    """A tag on any network resource (standard-attr-tag)."""

    __tablename__ = "network_tags"
    resource_type: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ID, primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(255), primary_key=True)


# -- networks and their segments ---------------------------------------------------

class Network(StandardAttributes, Base):
    __tablename__ = "network_networks"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    shared: Mapped[bool] = mapped_column(default=False, index=True)
    router_external: Mapped[bool] = mapped_column(default=False, index=True)
    # The default external network (auto-allocated topology and clients pick it).
    is_default: Mapped[bool] = mapped_column(default=False)
    mtu: Mapped[int] = mapped_column(default=1500)
    port_security_enabled: Mapped[bool] = mapped_column(default=True)
    dns_domain: Mapped[str] = mapped_column(sa.String(255), default="")
    availability_zone_hints: Mapped[list] = mapped_column(sa.JSON, default=list)

    segments: Mapped[list[Segment]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Segment.segment_index")


class Segment(Base):
    """Where a network's traffic travels: one row per segment (provider attributes).

    ``physical_network`` is "" for types without one, so the uniqueness of a
    VLAN id per physical network and of a VXLAN id overall is one constraint.
    """

    __tablename__ = "network_segments"
    __table_args__ = (sa.UniqueConstraint("network_type", "physical_network", "segmentation_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    network_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_networks.id", ondelete="CASCADE"), index=True)
    segment_index: Mapped[int] = mapped_column(default=0)
    network_type: Mapped[str] = mapped_column(sa.String(16))
    physical_network: Mapped[str] = mapped_column(sa.String(64), default="")
    segmentation_id: Mapped[int | None] = mapped_column()


# -- subnets, subnet pools and IP address management ---------------------------

class SubnetPool(StandardAttributes, Base):
    __tablename__ = "network_subnetpools"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    ip_version: Mapped[int] = mapped_column()
    default_prefixlen: Mapped[int] = mapped_column()
    min_prefixlen: Mapped[int] = mapped_column()
    max_prefixlen: Mapped[int] = mapped_column()
    shared: Mapped[bool] = mapped_column(default=False)
    is_default: Mapped[bool] = mapped_column(default=False)
    default_quota: Mapped[int | None] = mapped_column()
    address_scope_id: Mapped[str | None] = mapped_column(ID)

    prefixes: Mapped[list[SubnetPoolPrefix]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="SubnetPoolPrefix.cidr")


class SubnetPoolPrefix(Base):
    __tablename__ = "network_subnetpool_prefixes"
    subnetpool_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_subnetpools.id", ondelete="CASCADE"), primary_key=True)
    cidr: Mapped[str] = mapped_column(sa.String(64), primary_key=True)


class Subnet(StandardAttributes, Base):
    __tablename__ = "network_subnets"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    network_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_networks.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    ip_version: Mapped[int] = mapped_column()
    cidr: Mapped[str] = mapped_column(sa.String(64))
    gateway_ip: Mapped[str | None] = mapped_column(ADDRESS)
    enable_dhcp: Mapped[bool] = mapped_column(default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(sa.String(16))
    ipv6_address_mode: Mapped[str | None] = mapped_column(sa.String(16))
    subnetpool_id: Mapped[str | None] = mapped_column(ID, index=True)
    segment_id: Mapped[str | None] = mapped_column(ID)
    # Order matters to a guest's resolver and routing table: kept as given.
    dns_nameservers: Mapped[list] = mapped_column(sa.JSON, default=list)
    host_routes: Mapped[list] = mapped_column(sa.JSON, default=list)
    # [{"start": ..., "end": ...}] as the user sees them.
    allocation_pools: Mapped[list] = mapped_column(sa.JSON, default=list)
    service_types: Mapped[list] = mapped_column(sa.JSON, default=list)
    dns_publish_fixed_ip: Mapped[bool] = mapped_column(default=False)


class FreeRange(Base):
    """A run of free addresses in a subnet's allocation pools.

    Allocation takes the first address of the lowest range, so handing out
    the next address costs the same however full the subnet is; releasing an
    address adds a one-address range back.
    """

    __tablename__ = "network_free_ranges"
    subnet_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_subnets.id", ondelete="CASCADE"), primary_key=True)
    first: Mapped[str] = mapped_column(HEX_ADDRESS, primary_key=True)
    last: Mapped[str] = mapped_column(HEX_ADDRESS)


class IPAllocation(Base):
    """A fixed IP of a port.  The primary key makes a duplicate address impossible."""

    __tablename__ = "network_ip_allocations"
    subnet_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_subnets.id"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    port_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_ports.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[str] = mapped_column(ID, index=True)


# -- ports -------------------------------------------------------------------------

class Port(StandardAttributes, Base):
    __tablename__ = "network_ports"
    __table_args__ = (sa.UniqueConstraint("network_id", "mac_address"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    network_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_networks.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    mac_address: Mapped[str] = mapped_column(sa.String(32))
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    port_security_enabled: Mapped[bool] = mapped_column(default=True)
    allowed_address_pairs: Mapped[list] = mapped_column(sa.JSON, default=list)
    extra_dhcp_opts: Mapped[list] = mapped_column(sa.JSON, default=list)
    dns_name: Mapped[str] = mapped_column(sa.String(255), default="")
    # Port binding: where the port is plugged and how (binding extension).
    binding_host_id: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    binding_vnic_type: Mapped[str] = mapped_column(sa.String(32), default="normal")
    binding_vif_type: Mapped[str] = mapped_column(sa.String(32), default="unbound")
    binding_vif_details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    binding_profile: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Made by the compute service for a server (deleted with it), as opposed to
    # a port the user made and handed to a server (only unbound), as Nova's
    # preserve_on_delete tells them apart.
    compute_managed: Mapped[bool] = mapped_column(default=False)
    # The server the compute service plugged the port into (at its create, a
    # move or an os-interface attach).  A port names its server in device_id,
    # which its owner may write; one of another project than the server's is
    # that server's NIC only while device_id is still this server
    # (compute_ports.is_nic_of).
    plugged_server_id: Mapped[str | None] = mapped_column(sa.String(255))

    fixed_ips: Mapped[list[IPAllocation]] = relationship(
        cascade="all, delete-orphan", lazy="selectin",
        order_by="IPAllocation.ip_address")
    security_groups: Mapped[list[PortSecurityGroup]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")


class PortSecurityGroup(Base):
    __tablename__ = "network_port_security_groups"
    port_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_security_groups.id"), primary_key=True, index=True)


# -- security groups ---------------------------------------------------------------

class SecurityGroup(StandardAttributes, Base):
    __tablename__ = "network_security_groups"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    stateful: Mapped[bool] = mapped_column(default=True)

    rules: Mapped[list[SecurityGroupRule]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="SecurityGroupRule.created_at",
        foreign_keys="SecurityGroupRule.security_group_id")


class DefaultSecurityGroup(Base):
    """Each project's one "default" group; the primary key keeps it one."""

    __tablename__ = "network_default_security_groups"
    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_security_groups.id", ondelete="CASCADE"))


class SecurityGroupRule(StandardAttributes, Base):
    __tablename__ = "network_security_group_rules"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    security_group_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_security_groups.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(sa.String(8))
    ethertype: Mapped[str] = mapped_column(sa.String(8), default="IPv4")
    protocol: Mapped[str | None] = mapped_column(sa.String(40))
    port_range_min: Mapped[int | None] = mapped_column()
    port_range_max: Mapped[int | None] = mapped_column()
    remote_ip_prefix: Mapped[str | None] = mapped_column(sa.String(64))
    remote_group_id: Mapped[str | None] = mapped_column(
        ID, sa.ForeignKey("network_security_groups.id", ondelete="CASCADE"), index=True)
    remote_address_group_id: Mapped[str | None] = mapped_column(ID)


# -- routers and floating IPs ------------------------------------------------------

class Router(StandardAttributes, Base):
    __tablename__ = "network_routers"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    # The gateway is a port of the router on the external network.
    gw_port_id: Mapped[str | None] = mapped_column(
        ID, sa.ForeignKey("network_ports.id"), index=True)
    enable_snat: Mapped[bool] = mapped_column(default=True)
    # Static routes: [{"destination": cidr, "nexthop": ip}] (extraroute).
    routes: Mapped[list] = mapped_column(sa.JSON, default=list)
    availability_zone_hints: Mapped[list] = mapped_column(sa.JSON, default=list)
    # The host whose L3 agent serves the router (its qrouter namespace).
    host: Mapped[str] = mapped_column(sa.String(255), default="")


class RouterPort(Base):
    """A port that belongs to a router: an interface on a subnet, or its gateway."""

    __tablename__ = "network_router_ports"
    router_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_routers.id", ondelete="CASCADE"), primary_key=True)
    port_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True,
        unique=True)
    port_type: Mapped[str] = mapped_column(sa.String(64))


class FloatingIP(StandardAttributes, Base):
    __tablename__ = "network_floating_ips"
    # One floating IP per fixed address of a port on each external network (as Neutron).
    __table_args__ = (
        sa.UniqueConstraint("floating_network_id", "fixed_port_id", "fixed_ip_address"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    floating_ip_address: Mapped[str] = mapped_column(ADDRESS)
    floating_network_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_networks.id"), index=True)
    # The floating address is held by a port of its own on the external network.
    floating_port_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("network_ports.id", ondelete="CASCADE"), unique=True)
    fixed_port_id: Mapped[str | None] = mapped_column(
        ID, sa.ForeignKey("network_ports.id"), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(ADDRESS)
    router_id: Mapped[str | None] = mapped_column(
        ID, sa.ForeignKey("network_routers.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="DOWN")
    dns_name: Mapped[str] = mapped_column(sa.String(255), default="")
    dns_domain: Mapped[str] = mapped_column(sa.String(255), default="")


# -- quotas and agents -------------------------------------------------------------

class Quota(Base):
    """A project's limit on one resource, where it differs from the default."""

    __tablename__ = "network_quotas"
    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    resource: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    limit: Mapped[int] = mapped_column()


class Agent(Base):
    """A network agent (DHCP, L3, Linux bridge, metadata) on a host, with its heartbeat."""

    __tablename__ = "network_agents"
    __table_args__ = (sa.UniqueConstraint("agent_type", "host"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_uuid)
    agent_type: Mapped[str] = mapped_column(sa.String(64))
    binary: Mapped[str] = mapped_column(sa.String(255))
    topic: Mapped[str] = mapped_column(sa.String(255))
    host: Mapped[str] = mapped_column(sa.String(255), index=True)
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    availability_zone: Mapped[str | None] = mapped_column(sa.String(255))
    description: Mapped[str] = mapped_column(sa.String(255), default="")
    configurations: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    resource_versions: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    heartbeat_timestamp: Mapped[datetime.datetime] = mapped_column(default=utcnow)
