"""The network API (Neutron v2.0), mounted at /network."""

from __future__ import annotations

from stacklet.common.api import ServiceAPI
from stacklet.common.errors import APIError
from stacklet.network.api import (
    extensions,
    floatingips,
    network_ip_availability,
    networks,
    ports,
    routers,
    subnetpools,
    subnets,
    versions,
)
from stacklet.network.errors import neutron_type

HANDLER_MODULES = [versions, extensions, networks, subnets, subnetpools, ports,
                   network_ip_availability, routers, floatingips]


def error_body(exc: APIError) -> dict:
    """Neutron's error body; clients read ``type`` to tell errors apart."""
    return {"NeutronError": {"type": neutron_type(exc), "message": exc.message, "detail": ""}}


def create_api(cloud) -> ServiceAPI:
    # Neutron answers 404 to a path with a trailing slash or an empty id.
    api = ServiceAPI("network", "/network", cloud, service_type="network",
                     error_body=error_body, authenticator=cloud.tokens,
                     redirect_slashes=False)
    for module in HANDLER_MODULES:
        api.include(module.routes)
    return api
