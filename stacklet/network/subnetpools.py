"""Subnet pools: prefixes from which subnets take their CIDRs (subnet_allocation),
their prefix-length bounds, and the default pool of each IP version
(default-subnetpools).

``default_quota`` is kept and shown; it does not limit allocations yet.
"""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa

from stacklet.network import quotas, tags
from stacklet.network.errors import (
    BadRequest,
    IllegalSubnetPoolPrefixBounds,
    IllegalSubnetPoolPrefixUpdate,
    InvalidInput,
    MaxPrefixSubnetAllocationError,
    MinPrefixSubnetAllocationError,
    PrefixVersionMismatch,
    SubnetAllocationError,
    SubnetPoolInUse,
    SubnetPoolNotFound,
)
from stacklet.network.models import Subnet, SubnetPool, SubnetPoolPrefix
from stacklet.network.standard import find, standard_view

# Neutron's bounds when none are given: (min, max) prefix length per IP version.
DEFAULT_BOUNDS = {4: (8, 32), 6: (64, 128)}
BITS = {4: 32, 6: 128}


def visible_to(ctx, query: sa.Select) -> sa.Select:
    if ctx.is_admin:
        return query
    return query.where(sa.or_(SubnetPool.project_id == ctx.project_id, SubnetPool.shared))


def get(session, pool_id: str, *, for_update: bool = False) -> SubnetPool:
    return find(session, SubnetPool, pool_id,
                SubnetPoolNotFound(f"Subnet pool {pool_id} could not be found."),
                for_update=for_update)


def default_pool(session, ip_version: int) -> SubnetPool | None:
    return session.scalar(sa.select(SubnetPool).where(
        SubnetPool.is_default, SubnetPool.ip_version == ip_version))


def views(session, pools: list[SubnetPool]) -> list[dict]:
    pool_tags = tags.tags_of(session, "subnetpools", [pool.id for pool in pools])
    return [{
        **standard_view(pool, pool_tags[pool.id]),
        "name": pool.name,
        "ip_version": pool.ip_version,
        "prefixes": [prefix.cidr for prefix in pool.prefixes],
        "default_prefixlen": pool.default_prefixlen,
        "min_prefixlen": pool.min_prefixlen,
        "max_prefixlen": pool.max_prefixlen,
        "shared": pool.shared,
        "is_default": pool.is_default,
        "default_quota": pool.default_quota,
        "address_scope_id": pool.address_scope_id,
    } for pool in pools]


def _networks(prefixes: list[str]) -> list:
    """The prefixes as networks, of one IP version, overlaps merged (as Neutron
    compacts them)."""
    networks = [ipaddress.ip_network(prefix) for prefix in prefixes]
    if len({network.version for network in networks}) > 1:
        raise PrefixVersionMismatch("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
    return list(ipaddress.collapse_addresses(networks))


def _check_bounds(version: int, minimum: int, default: int, maximum: int) -> None:
    bits = BITS[version]
    for name, value in (("min_prefixlen", minimum), ("default_prefixlen", default),
                        ("max_prefixlen", maximum)):
        if not 0 <= value <= bits:
            raise IllegalSubnetPoolPrefixBounds(
                f"Illegal prefix bounds: {name}={value}, max_prefixlen={bits}.")
    if minimum > maximum:
        raise IllegalSubnetPoolPrefixBounds(
            f"Illegal prefix bounds: min_prefixlen={minimum}, max_prefixlen={maximum}.")
    if default < minimum:
        raise IllegalSubnetPoolPrefixBounds(
            f"Illegal prefix bounds: default_prefixlen={default}, min_prefixlen={minimum}.")
    if default > maximum:
        raise IllegalSubnetPoolPrefixBounds(
            f"Illegal prefix bounds: default_prefixlen={default}, max_prefixlen={maximum}.")


def _check_one_default(session, pool: SubnetPool) -> None:
    other = session.scalar(sa.select(SubnetPool.id).where(
        SubnetPool.is_default, SubnetPool.ip_version == pool.ip_version,
        SubnetPool.id != pool.id))
    if other is not None:
        raise InvalidInput(f"Invalid input for operation: A default subnetpool for IPv"
                           f"{pool.ip_version} has already been set. Only one default may "
                           "exist per IP family.")


def create(session, config, values: dict) -> SubnetPool:
    quotas.check(session, config, values["project_id"], "subnetpool")
    prefixes = values.get("prefixes") or []
    if not prefixes:
        raise BadRequest("Invalid input for prefixes: a subnet pool needs at least one "
                         "prefix.")
    networks = _networks(prefixes)
    version = networks[0].version
    minimum = values.get("min_prefixlen")
    maximum = values.get("max_prefixlen")
    minimum = DEFAULT_BOUNDS[version][0] if minimum is None else minimum
    maximum = DEFAULT_BOUNDS[version][1] if maximum is None else maximum
    default = values.get("default_prefixlen")
    default = minimum if default is None else default
    _check_bounds(version, minimum, default, maximum)
    pool = SubnetPool(
        project_id=values["project_id"], name=values["name"],
        description=values["description"], ip_version=version, default_prefixlen=default,
        min_prefixlen=minimum, max_prefixlen=maximum, shared=values["shared"],
        is_default=values["is_default"], default_quota=values.get("default_quota"),
        address_scope_id=values.get("address_scope_id"),
        prefixes=[SubnetPoolPrefix(cidr=str(network)) for network in networks])
    if pool.is_default:
        _check_one_default(session, pool)
    session.add(pool)
    session.flush()
    if values.get("tags"):
        tags.set_tags(session, "subnetpools", pool.id, values["tags"])
    return pool


def update(session, pool: SubnetPool, values: dict) -> None:
    if "prefixes" in values:
        new = _networks(values["prefixes"] or [])
        if not new or new[0].version != pool.ip_version:
            raise IllegalSubnetPoolPrefixUpdate("Illegal update to prefixes: the prefixes "
                                                "must be of the pool's IP version.")
        for old in pool.prefixes:
            network = ipaddress.ip_network(old.cidr)
            if not any(network.subnet_of(candidate) for candidate in new):
                raise IllegalSubnetPoolPrefixUpdate(
                    f"Illegal update to prefixes: Existing prefix {old.cidr} must be a "
                    "subset of the new prefixes.")
        pool.prefixes = [SubnetPoolPrefix(cidr=str(network)) for network in new]
    bounds = {name: values.get(name, getattr(pool, name))
              for name in ("min_prefixlen", "default_prefixlen", "max_prefixlen")}
    _check_bounds(pool.ip_version, bounds["min_prefixlen"], bounds["default_prefixlen"],
                  bounds["max_prefixlen"])
    for name in ("name", "description", "is_default", "default_quota", "address_scope_id",
                 *bounds):
        if name in values:
            setattr(pool, name, values[name])
    if values.get("is_default"):
        _check_one_default(session, pool)


def delete(session, pool: SubnetPool) -> None:
    in_use = session.scalar(sa.select(sa.func.count()).select_from(Subnet).where(
        Subnet.subnetpool_id == pool.id))
    if in_use:
        raise SubnetPoolInUse(f"Unable to complete operation on subnet pool {pool.id}. "
                              "Subnets are allocated from it.")
    tags.forget(session, "subnetpools", pool.id)
    session.delete(pool)


# -- allocating subnets ------------------------------------------------------------

def _used(session, pool: SubnetPool) -> list:
    return [ipaddress.ip_network(cidr) for cidr in session.scalars(
        sa.select(Subnet.cidr).where(Subnet.subnetpool_id == pool.id))]


def _first_free(prefix, length: int, used: list):
    """The lowest network of ``length`` inside ``prefix`` overlapping none of ``used``."""
    if length < prefix.prefixlen:
        return None
    size = 2 ** (prefix.max_prefixlen - length)
    candidate = int(prefix.network_address)
    end = int(prefix.broadcast_address)
    while candidate + size - 1 <= end:
        network = ipaddress.ip_network((candidate, length))
        blocker = next((taken for taken in used if taken.overlaps(network)), None)
        if blocker is None:
            return network
        past = int(blocker.broadcast_address) + 1
        candidate = max(candidate + size, -(-past // size) * size)
    return None


def allocate_cidr(session, pool: SubnetPool, cidr: str | None,
                  prefixlen: int | None) -> str:
    """A CIDR from the pool for a new subnet: the one asked for if the pool holds
    it free, else the first free network of the asked (or default) length."""
    session.execute(sa.select(SubnetPool.id).where(SubnetPool.id == pool.id).with_for_update())
    used = _used(session, pool)
    prefixes = [ipaddress.ip_network(prefix.cidr) for prefix in pool.prefixes]
    if cidr is not None:
        wanted = ipaddress.ip_network(cidr)
        length = wanted.prefixlen
    else:
        length = pool.default_prefixlen if prefixlen is None else prefixlen
    if length < pool.min_prefixlen:
        raise MinPrefixSubnetAllocationError(
            f"Unable to allocate subnet with prefix length {length}, minimum allowed "
            f"prefix is {pool.min_prefixlen}.")
    if length > pool.max_prefixlen:
        raise MaxPrefixSubnetAllocationError(
            f"Unable to allocate subnet with prefix length {length}, maximum allowed "
            f"prefix is {pool.max_prefixlen}.")
    if cidr is not None:
        if wanted.version != pool.ip_version or \
                not any(wanted.subnet_of(prefix) for prefix in prefixes):
            raise SubnetAllocationError(f"Failed to allocate subnet: Cidr {cidr} is not in "
                                        f"the prefixes of subnet pool {pool.id}.")
        if any(taken.overlaps(wanted) for taken in used):
            raise SubnetAllocationError(f"Failed to allocate subnet: Cidr {cidr} overlaps "
                                        "with another subnet of the subnet pool.")
        return str(wanted)
    for prefix in prefixes:
        found = _first_free(prefix, length, used)
        if found is not None:
            return str(found)
    raise SubnetAllocationError(f"Failed to allocate subnet: Insufficient prefix space to "
                                f"allocate subnet size /{length}.")
