"""Network availability zones: one zone, "nova", where every host's agents serve
networks and routers alike (Neutron's default_availability_zones)."""

from __future__ import annotations

from stacklet.common import errors
from stacklet.network.attributes import Invalid, list_of, string
from stacklet.network.errors import neutron_error

DEFAULT_ZONE = "nova"
RESOURCES = ("network", "router")
AvailabilityZoneNotFound = neutron_error(errors.NotFound, "AvailabilityZoneNotFound")


def zones() -> list[dict]:
    return [{"name": DEFAULT_ZONE, "resource": resource, "state": "available"}
            for resource in RESOURCES]


_hint_list = list_of(string(255), unique=True)


def hints(value) -> list[str]:
    """availability_zone_hints of a network or router: zones that exist
    (404 AvailabilityZoneNotFound otherwise)."""
    if value is None:
        return []
    names = _hint_list(value)
    for name in names:
        if name != DEFAULT_ZONE:
            raise AvailabilityZoneNotFound(f"AvailabilityZone {name} could not be found.")
    if len(",".join(names)) > 255:
        raise Invalid("Too many availability_zone_hints specified")
    return names
