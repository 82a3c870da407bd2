"""IP address management: the free addresses of each subnet's allocation pools
as ranges, and the fixed IPs of ports.

A subnet's free addresses are rows of ``FreeRange`` (bounds as 32-digit hex,
so text order is numeric order).  Handing out "any" address takes the first
address of the lowest range, one indexed row whatever the fill; an explicit
address splits the range holding it; a released address goes back as a range
of its own, merged with its neighbours.

Every change to a subnet's ranges first locks the subnet's row (``SELECT ...
FOR UPDATE`` on PostgreSQL and MariaDB; SQLite has one writer at a time), so
two requests never take the same range; the primary key of ``IPAllocation``
(subnet, address) is the last guard against a duplicate.  The reads of ranges
and allocations are locking reads too: under MariaDB's REPEATABLE READ a plain
read would see the transaction's older snapshot, not what the request that
held the lock before just committed.
"""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa

from stacklet.network.errors import (
    InvalidInput,
    InvalidIpForSubnet,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
)
from stacklet.network.models import FreeRange, IPAllocation, Port, Subnet

# Device owners that may hold a subnet's gateway address (a router's interface).
ROUTER_OWNERS = ("network:router_interface", "network:router_interface_distributed",
                 "network:ha_router_replicated_interface", "network:router_gateway")
# IPv6 address modes where the host makes its own address from its MAC.
AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")


def to_hex(address) -> str:
    return f"{int(ipaddress.ip_address(address)):032x}"


def from_hex(value: str, version: int) -> str:
    number = int(value, 16)
    return str(ipaddress.IPv4Address(number) if version == 4 else ipaddress.IPv6Address(number))


def is_auto_address(subnet: Subnet) -> bool:
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in AUTO_ADDRESS_MODES


def pool_ranges(subnet: Subnet) -> list[tuple[int, int]]:
    return [(int(ipaddress.ip_address(pool["start"])), int(ipaddress.ip_address(pool["end"])))
            for pool in subnet.allocation_pools]


def in_pools(subnet: Subnet, address: str) -> bool:
    number = int(ipaddress.ip_address(address))
    return any(first <= number <= last for first, last in pool_ranges(subnet))


def valid_for_subnet(subnet: Subnet, address: str, device_owner: str = "") -> bool:
    """Whether a port may hold the address on the subnet, as Neutron judges it:
    inside the CIDR, not its network address (but for a router on IPv6: the
    subnet-router anycast address) nor the IPv4 broadcast; the gateway
    address only for a router."""
    ip = ipaddress.ip_address(address)
    network = ipaddress.ip_network(subnet.cidr)
    if ip.version != network.version or ip not in network:
        return False
    is_router = device_owner in ROUTER_OWNERS
    if ip == network.network_address and not (network.version == 6 and is_router):
        return False
    if network.version == 4 and network.prefixlen < 31 and ip == network.broadcast_address:
        return False
    if subnet.gateway_ip and ip == ipaddress.ip_address(subnet.gateway_ip) and not is_router:
        return False
    return True


def lock_subnet(session, subnet_id: str) -> None:
    session.execute(sa.select(Subnet.id).where(Subnet.id == subnet_id).with_for_update())


def _take_lowest(session, subnet: Subnet) -> str | None:
    """Remove the lowest free address from the subnet's ranges; None when none is left."""
    lowest = session.execute(
        sa.select(FreeRange.first, FreeRange.last).where(FreeRange.subnet_id == subnet.id)
        .order_by(FreeRange.first).limit(1).with_for_update()).first()
    if lowest is None:
        return None
    first, last = lowest
    _shrink(session, subnet.id, first, last, first)
    return from_hex(first, subnet.ip_version)


def _shrink(session, subnet_id: str, first: str, last: str, taken: str) -> None:
    """Take one address out of the range [first, last] that holds it."""
    where = (FreeRange.subnet_id == subnet_id, FreeRange.first == first)
    if first == last:
        session.execute(sa.delete(FreeRange).where(*where))
        return
    number = int(taken, 16)
    if taken == first:
        session.execute(sa.update(FreeRange).where(*where).values(first=f"{number + 1:032x}"))
    elif taken == last:
        session.execute(sa.update(FreeRange).where(*where).values(last=f"{number - 1:032x}"))
    else:
        session.execute(sa.update(FreeRange).where(*where).values(last=f"{number - 1:032x}"))
        _insert_ranges(session, subnet_id, [(number + 1, int(last, 16))])


def _take_specific(session, subnet: Subnet, address: str) -> None:
    """Take the address out of the free ranges if a range holds it."""
    wanted = to_hex(address)
    holder = session.execute(
        sa.select(FreeRange.first, FreeRange.last).where(
            FreeRange.subnet_id == subnet.id, FreeRange.first <= wanted)
        .order_by(FreeRange.first.desc()).limit(1).with_for_update()).first()
    if holder is not None and holder.last >= wanted:
        _shrink(session, subnet.id, holder.first, holder.last, wanted)


def _give_back(session, subnet: Subnet, address: str) -> None:
    """Return an address of the pools to the free ranges, merged with the ranges
    just below and above it so the table stays small."""
    number = int(ipaddress.ip_address(address))
    mine = FreeRange.subnet_id == subnet.id
    # The range just below is the last one starting below the address (a seek on
    # the primary key), if it ends right before it.
    below = session.execute(sa.select(FreeRange.first, FreeRange.last).where(
        mine, FreeRange.first < f"{number:032x}").order_by(FreeRange.first.desc()).limit(1)
        .with_for_update()).first()
    below = below.first if below is not None and below.last == f"{number - 1:032x}" else None
    above_last = session.scalar(sa.select(FreeRange.last).where(
        mine, FreeRange.first == f"{number + 1:032x}").with_for_update())
    # Two adjacent pools may merge into one range: harmless, both are free.
    if below is not None and above_last is not None:
        session.execute(sa.delete(FreeRange).where(mine,
                                                   FreeRange.first == f"{number + 1:032x}"))
        session.execute(sa.update(FreeRange).where(mine, FreeRange.first == below)
                        .values(last=above_last))
    elif below is not None:
        session.execute(sa.update(FreeRange).where(mine, FreeRange.first == below)
                        .values(last=f"{number:032x}"))
    elif above_last is not None:
        session.execute(sa.update(FreeRange).where(mine, FreeRange.first == f"{number + 1:032x}")
                        .values(first=f"{number:032x}"))
    else:
        _insert_ranges(session, subnet.id, [(number, number)])


def _insert_ranges(session, subnet_id: str, ranges: list[tuple[int, int]]) -> None:
    if ranges:
        session.execute(sa.insert(FreeRange), [
            {"subnet_id": subnet_id, "first": f"{first:032x}", "last": f"{last:032x}"}
            for first, last in ranges])


def eui64_address(subnet: Subnet, mac_address: str) -> str:
    """The SLAAC address a host with this MAC makes on a /64 (modified EUI-64)."""
    octets = [int(part, 16) for part in mac_address.split(":")]
    octets[0] ^= 0x02
    interface = octets[:3] + [0xff, 0xfe] + octets[3:]
    network = ipaddress.ip_network(subnet.cidr)
    return str(ipaddress.IPv6Address(int(network.network_address) |
                                     int.from_bytes(bytes(interface), "big")))


def _is_allocated(session, subnet_id: str, address: str) -> bool:
    return session.scalar(sa.select(IPAllocation.port_id).where(
        IPAllocation.subnet_id == subnet_id, IPAllocation.ip_address == address)
        .with_for_update()) is not None


def allocate(session, port: Port, subnet: Subnet, address: str | None = None) -> str | None:
    """Give the port an address on the subnet: the one asked for, else the SLAAC
    address of an auto-address subnet, else the lowest free one.

    Returns None when the pools are exhausted and no address was asked for;
    the caller decides whether that is an error (another subnet may have room).
    """
    lock_subnet(session, subnet.id)
    if address is None and is_auto_address(subnet):
        address = eui64_address(subnet, port.mac_address)
    if address is None:
        address = _take_lowest(session, subnet)
        if address is None:
            return None
    else:
        address = str(ipaddress.ip_address(address))
        if is_auto_address(subnet) and port.device_owner not in ROUTER_OWNERS and \
                address != eui64_address(subnet, port.mac_address):
            raise InvalidInput(f"Invalid input for operation: IPv6 address {address} can not "
                               f"be directly assigned to a port on subnet {subnet.id} since "
                               "the subnet is configured for automatic addresses.")
        if not valid_for_subnet(subnet, address, port.device_owner):
            raise InvalidIpForSubnet(f"IP address {address} is not a valid IP for the "
                                     "specified subnet.")
        if _is_allocated(session, subnet.id, address):
            raise IpAddressAlreadyAllocated(f"IP address {address} already allocated in "
                                            f"subnet {subnet.id}")
        _take_specific(session, subnet, address)
    port.fixed_ips.append(IPAllocation(subnet_id=subnet.id, ip_address=address,
                                       network_id=subnet.network_id))
    session.flush()
    return address


def exhausted(network_id: str) -> IpAddressGenerationFailure:
    return IpAddressGenerationFailure(f"No more IP addresses available on network "
                                      f"{network_id}.")


def release(session, port: Port, allocation: IPAllocation, subnet: Subnet) -> None:
    """Take the address from the port; it becomes free again if a pool holds it."""
    lock_subnet(session, subnet.id)
    port.fixed_ips.remove(allocation)
    session.flush()
    if in_pools(subnet, allocation.ip_address) and not is_auto_address(subnet):
        _give_back(session, subnet, allocation.ip_address)


def rebuild_free_ranges(session, subnet: Subnet) -> None:
    """Recompute the subnet's free ranges from its pools and its allocations
    (a new subnet, or pools changed by an update)."""
    lock_subnet(session, subnet.id)
    session.execute(sa.delete(FreeRange).where(FreeRange.subnet_id == subnet.id))
    if is_auto_address(subnet):
        return
    used = sorted(int(ipaddress.ip_address(address)) for address in session.scalars(
        sa.select(IPAllocation.ip_address).where(IPAllocation.subnet_id == subnet.id)
        .with_for_update()))
    ranges = []
    for first, last in sorted(pool_ranges(subnet)):
        start = first
        for number in used:
            if number < start or number > last:
                continue
            if number > start:
                ranges.append((start, number - 1))
            start = number + 1
        if start <= last:
            ranges.append((start, last))
    _insert_ranges(session, subnet.id, ranges)


def used_count(session, subnet_ids: list[str]) -> dict[str, int]:
    counts = {subnet_id: 0 for subnet_id in subnet_ids}
    if subnet_ids:
        rows = session.execute(sa.select(IPAllocation.subnet_id, sa.func.count()).where(
            IPAllocation.subnet_id.in_(subnet_ids)).group_by(IPAllocation.subnet_id))
        counts.update(dict(rows.all()))
    return counts


def pool_size(subnet: Subnet) -> int:
    return sum(last - first + 1 for first, last in pool_ranges(subnet))
