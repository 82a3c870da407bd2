"""The network API (Neutron v2.0), mounted at /network."""

from __future__ import annotations

from stacklet.common.api import ServiceAPI
from stacklet.common.errors import APIError
from stacklet.network import host_state
from stacklet.network.api import (
    agents,
    availability_zones,
    extensions,
    floatingips,
    network_ip_availability,
    networks,
    ports,
    quotas,
    routers,
    security_group_rules,
    security_groups,
    subnetpools,
    subnets,
    tags,
    versions,
)
from stacklet.network.errors import neutron_type

# tags first: its /v2.0/{collection}/{id}/tags must win over any resource's
# own /v2.0/<collection>/{id}/{action} routes.
HANDLER_MODULES = [versions, extensions, tags, networks, subnets, subnetpools, ports,
                   network_ip_availability, security_groups, security_group_rules, routers,
                   floatingips, quotas, agents, availability_zones]


def error_body(exc: APIError) -> dict:
    """Neutron's error body; clients read ``type`` to tell errors apart."""
    return {"NeutronError": {"type": neutron_type(exc), "message": exc.message, "detail": ""}}


def create_api(cloud) -> ServiceAPI:
    # Neutron answers 404 to a path with a trailing slash or an empty id.
    api = ServiceAPI("network", "/network", cloud, service_type="network",
                     error_body=error_body, authenticator=cloud.tokens,
                     redirect_slashes=False,
                     after_change=lambda: host_state.wake_host(cloud.bus, cloud.host))
    for module in HANDLER_MODULES:
        api.include(module.routes)
    return api
