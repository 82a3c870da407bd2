"""Networks and their segments: creation with provider attributes, the
segmentation ids project networks get, MTUs, and what keeps a network in use.
"""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.network import quotas, tags
from stacklet.network.errors import (
    BadRequest,
    InvalidInput,
    InvalidSharedSetting,
    NetworkInUse,
    NetworkNotFound,
    NoNetworkAvailable,
    SegmentationIdInUse,
)
from stacklet.network.models import FreeRange, IPAllocation, Network, Port, Segment, Subnet
from stacklet.network.standard import find, standard_view

NETWORK_TYPES = ("local", "flat", "vlan", "vxlan")
VXLAN_OVERHEAD = 50   # outer Ethernet, IP, UDP and VXLAN headers
MAX_VLAN = 4094
MAX_VNI = 2 ** 24 - 1
# Ports the network service makes for itself; they do not keep a network in use.
NETWORK_OWNED_PORTS = ("network:dhcp",)


def visible_to(ctx, query: sa.Select) -> sa.Select:
    """Networks the caller can list: all for an admin, else their own, shared
    and external ones."""
    if ctx.is_admin:
        return query
    return query.where(sa.or_(Network.project_id == ctx.project_id, Network.shared,
                              Network.router_external))


def get(session, network_id: str, *, for_update: bool = False) -> Network:
    return find(session, Network, network_id,
                NetworkNotFound(f"Network {network_id} could not be found."), for_update=for_update)


def subnet_ids(session, network_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {network_id: [] for network_id in network_ids}
    if network_ids:
        rows = session.execute(sa.select(Subnet.network_id, Subnet.id).where(
            Subnet.network_id.in_(network_ids)).order_by(Subnet.created_at, Subnet.id))
        for network_id, subnet_id in rows:
            found[network_id].append(subnet_id)
    return found


def view(network: Network, subnets: list[str], network_tags: list[str]) -> dict:
    segment = network.segments[0] if network.segments else None
    return {
        **standard_view(network, network_tags),
        "name": network.name,
        "status": network.status,
        "admin_state_up": network.admin_state_up,
        "shared": network.shared,
        "router:external": network.router_external,
        "is_default": network.is_default,
        "subnets": subnets,
        "mtu": network.mtu,
        "port_security_enabled": network.port_security_enabled,
        "provider:network_type": segment.network_type if segment else None,
        "provider:physical_network": (segment.physical_network or None) if segment else None,
        "provider:segmentation_id": segment.segmentation_id if segment else None,
        "availability_zone_hints": network.availability_zone_hints,
        "availability_zones": ["nova"],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "l2_adjacency": True,
        "dns_domain": network.dns_domain,
    }


def views(session, networks: list[Network]) -> list[dict]:
    ids = [network.id for network in networks]
    subnets = subnet_ids(session, ids)
    network_tags = tags.tags_of(session, "networks", ids)
    return [view(network, subnets[network.id], network_tags[network.id])
            for network in networks]


# -- segments ------------------------------------------------------------------------

def _vlan_ranges(config) -> dict[str, list[tuple[int, int]]]:
    """[network] network_vlan_ranges as {physnet: [(first, last)]}; a physnet
    named alone has no project VLANs."""
    found: dict[str, list[tuple[int, int]]] = {}
    for item in filter(None, (part.strip() for part in
                              config.get("network", "network_vlan_ranges").split(","))):
        parts = item.split(":")
        found.setdefault(parts[0], [])
        if len(parts) == 3:
            found[parts[0]].append((int(parts[1]), int(parts[2])))
    return found


def _vni_ranges(config) -> list[tuple[int, int]]:
    ranges = []
    for item in filter(None, (part.strip() for part in
                              config.get("network", "vni_ranges").split(","))):
        first, last = item.split(":")
        ranges.append((int(first), int(last)))
    return ranges


def _free_id(session, network_type: str, physical_network: str,
             ranges: list[tuple[int, int]]) -> int | None:
    """The lowest segmentation id of the ranges no network uses."""
    used = set(session.scalars(sa.select(Segment.segmentation_id).where(
        Segment.network_type == network_type, Segment.physical_network == physical_network)))
    for first, last in ranges:
        for candidate in range(first, last + 1):
            if candidate not in used:
                return candidate
    return None


def _in_use(session, network_type: str, physical_network: str, segmentation_id) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(Segment).where(
        Segment.network_type == network_type, Segment.physical_network == physical_network,
        Segment.segmentation_id == segmentation_id)) > 0


def provider_segment(session, config, values: dict) -> Segment:
    """The segment of a new network: what an admin asked for with the provider
    attributes, checked as ML2's type drivers check it, or the next free one
    of the project network type."""
    network_type = values.get("provider:network_type")
    physnet = values.get("provider:physical_network")
    seg_id = values.get("provider:segmentation_id")
    if network_type is None:
        if physnet is not None or seg_id is not None:
            raise InvalidInput("Invalid input for operation: provider:network_type required.")
        return _project_segment(session, config)
    if network_type not in NETWORK_TYPES:
        raise InvalidInput(f"Invalid input for operation: network_type value "
                           f"'{network_type}' not supported.")
    if network_type == "local":
        if physnet or seg_id is not None:
            raise InvalidInput("Invalid input for operation: local networks take neither "
                               "physical_network nor segmentation_id.")
        return Segment(network_type="local", physical_network="", segmentation_id=None)
    if network_type == "flat":
        if seg_id is not None:
            raise InvalidInput("Invalid input for operation: segmentation_id prohibited "
                               "for flat provider network.")
        if not physnet:
            raise InvalidInput("Invalid input for operation: physical_network required "
                               "for flat provider network.")
        flat = [name.strip() for name in config.get("network", "flat_networks").split(",")]
        if "*" not in flat and physnet not in flat:
            raise InvalidInput(f"Invalid input for operation: physical_network '{physnet}' "
                               "unknown for flat provider network.")
        if _in_use(session, "flat", physnet, None):
            raise SegmentationIdInUse(f"Unable to create the flat network. Physical network "
                                      f"{physnet} is in use.")
        return Segment(network_type="flat", physical_network=physnet, segmentation_id=None)
    if network_type == "vlan":
        vlans = _vlan_ranges(config)
        if physnet is None:
            raise InvalidInput("Invalid input for operation: physical_network required "
                               "for VLAN provider network.")
        if physnet not in vlans:
            raise InvalidInput(f"Invalid input for operation: physical_network '{physnet}' "
                               "unknown for VLAN provider network.")
        if seg_id is None:
            seg_id = _free_id(session, "vlan", physnet, vlans[physnet])
            if seg_id is None:
                raise NoNetworkAvailable("Unable to create the network. No tenant network "
                                         "is available for allocation.")
        elif not 1 <= seg_id <= MAX_VLAN:
            raise InvalidInput(f"Invalid input for operation: segmentation_id out of range "
                               f"(1 through {MAX_VLAN}).")
        elif _in_use(session, "vlan", physnet, seg_id):
            raise SegmentationIdInUse(f"Unable to create the network. The VLAN {seg_id} on "
                                      f"physical network {physnet} is in use.")
        return Segment(network_type="vlan", physical_network=physnet, segmentation_id=seg_id)
    # vxlan
    if physnet:
        raise InvalidInput("Invalid input for operation: provider:physical_network "
                           "specified for vxlan network.")
    if seg_id is None:
        seg_id = _free_id(session, "vxlan", "", _vni_ranges(config))
        if seg_id is None:
            raise NoNetworkAvailable("Unable to create the network. No tenant network is "
                                     "available for allocation.")
    elif not 1 <= seg_id <= MAX_VNI:
        raise InvalidInput(f"Invalid input for operation: segmentation_id out of range "
                           f"(1 through {MAX_VNI}).")
    elif _in_use(session, "vxlan", "", seg_id):
        raise SegmentationIdInUse(f"Unable to create the network. The tunnel ID {seg_id} "
                                  "is in use.")
    return Segment(network_type="vxlan", physical_network="", segmentation_id=seg_id)


def _project_segment(session, config) -> Segment:
    """The first configured project network type with a free id."""
    types = [t.strip() for t in config.get("network", "tenant_network_types").split(",")
             if t.strip()]
    for network_type in types:
        if network_type == "local":
            return Segment(network_type="local", physical_network="", segmentation_id=None)
        if network_type == "vxlan":
            seg_id = _free_id(session, "vxlan", "", _vni_ranges(config))
            if seg_id is not None:
                return Segment(network_type="vxlan", physical_network="",
                               segmentation_id=seg_id)
        if network_type == "vlan":
            for physnet, ranges in _vlan_ranges(config).items():
                seg_id = _free_id(session, "vlan", physnet, ranges)
                if seg_id is not None:
                    return Segment(network_type="vlan", physical_network=physnet,
                                   segmentation_id=seg_id)
    raise NoNetworkAvailable("Unable to create the network. No tenant network is available "
                             "for allocation.")


def mtu_for(config, segment: Segment) -> int:
    physical = config.get("network", "physical_mtu")
    return physical - VXLAN_OVERHEAD if segment.network_type == "vxlan" else physical


# -- create, update, delete ----------------------------------------------------------

def create(session, config, values: dict) -> Network:
    quotas.check(session, config, values["project_id"], "network")
    segment = provider_segment(session, config, values)
    mtu = mtu_for(config, segment)
    if values.get("mtu") is not None and values["mtu"] > mtu:
        raise InvalidInput(f"Invalid input for operation: Requested MTU is too big, "
                           f"maximum is {mtu}.")
    if values.get("is_default") and not values.get("router:external"):
        raise BadRequest("Unable to set a network as default: it must be external.")
    network = Network(
        project_id=values["project_id"], name=values["name"],
        description=values["description"], admin_state_up=values["admin_state_up"],
        shared=values["shared"], router_external=values["router:external"],
        is_default=values.get("is_default") or False,
        mtu=values.get("mtu") or mtu,
        port_security_enabled=values["port_security_enabled"],
        dns_domain=values.get("dns_domain") or "",
        availability_zone_hints=values.get("availability_zone_hints") or [])
    network.segments.append(segment)
    if network.is_default:
        _clear_other_default(session, network)
    session.add(network)
    session.flush()
    if values.get("tags"):
        tags.set_tags(session, "networks", network.id, values["tags"])
    return network


def _clear_other_default(session, network: Network) -> None:
    session.execute(sa.update(Network).where(Network.is_default, Network.id != network.id)
                    .values(is_default=False))


def update(session, config, network: Network, values: dict) -> None:
    if "provider:network_type" in values or "provider:physical_network" in values or \
            "provider:segmentation_id" in values:
        raise InvalidInput("Invalid input for operation: Plugin does not support updating "
                           "provider attributes.")
    renames = {"router:external": "router_external"}
    for key, value in values.items():
        if key == "mtu" and value is not None:
            largest = mtu_for(config, network.segments[0])
            if value > largest:
                raise InvalidInput(f"Invalid input for operation: Requested MTU is too "
                                   f"big, maximum is {largest}.")
        setattr(network, renames.get(key, key), value)
    if values.get("shared") is False:
        _check_unshare(session, network)
    if values.get("is_default"):
        if not network.router_external:
            raise BadRequest("Unable to set a network as default: it must be external.")
        _clear_other_default(session, network)


def _check_unshare(session, network: Network) -> None:
    """A network cannot stop being shared while other projects have ports on it."""
    others = session.scalar(sa.select(sa.func.count()).select_from(Port).where(
        Port.network_id == network.id, Port.project_id != network.project_id,
        Port.device_owner.notin_(NETWORK_OWNED_PORTS)))
    if others:
        raise InvalidSharedSetting(f"Unable to reconfigure sharing settings for network "
                                   f"{network.id}. Multiple tenants are using it.")


def delete(session, network: Network) -> None:
    """Delete the network with its subnets and the ports the service made for itself;
    409 NetworkInUse while any other port remains."""
    in_use = session.scalar(sa.select(sa.func.count()).select_from(Port).where(
        Port.network_id == network.id, Port.device_owner.notin_(NETWORK_OWNED_PORTS)))
    if in_use:
        raise NetworkInUse(f"Unable to complete operation on network {network.id}. There "
                           "are one or more ports still in use on the network.")
    session.execute(sa.delete(IPAllocation).where(IPAllocation.network_id == network.id))
    session.execute(sa.delete(Port).where(Port.network_id == network.id))
    for subnet in session.scalars(sa.select(Subnet).where(Subnet.network_id == network.id)):
        session.execute(sa.delete(FreeRange).where(FreeRange.subnet_id == subnet.id))
        tags.forget(session, "subnets", subnet.id)
        session.delete(subnet)
    tags.forget(session, "networks", network.id)
    session.delete(network)
