"""The compute API (Nova v2.1), mounted at /compute."""

from __future__ import annotations

from stacklet.common.api import ServiceAPI
from stacklet.common.errors import APIError
from stacklet.common.microversions import MicroversionSpec, Version
from stacklet.compute.api import (
    aggregates,
    availability_zones,
    console_auth_tokens,
    extensions,
    flavor_access,
    flavor_extra_specs,
    flavors,
    floating_ips,
    hosts,
    hypervisors,
    images,
    instance_actions,
    instance_usage_audit_log,
    interfaces,
    ips,
    keypairs,
    limits,
    migrations,
    networks,
    quota_classes,
    quota_sets,
    remote_consoles,
    security_groups,
    server_actions,
    server_diagnostics,
    server_external_events,
    server_groups,
    server_metadata,
    server_password,
    server_security_groups,
    server_tags,
    servers,
    services,
    simple_tenant_usage,
    versions,
    volume_attachments,
)

HANDLER_MODULES = [versions, extensions, flavors, flavor_extra_specs, flavor_access, keypairs,
                   quota_sets, quota_classes, limits, services, hypervisors, availability_zones,
                   simple_tenant_usage, migrations, aggregates, hosts, instance_usage_audit_log,
                   networks, servers, server_actions, server_security_groups, server_metadata,
                   server_tags, ips, instance_actions, server_groups, interfaces,
                   volume_attachments, server_diagnostics, server_external_events, images,
                   security_groups, floating_ips, server_password, remote_consoles,
                   console_auth_tokens]

# The newest microversion whose behaviour changes are all implemented.
MIN_VERSION = Version(2, 1)
MAX_VERSION = Version(2, 96)
MICROVERSIONS = MicroversionSpec("compute", MIN_VERSION, MAX_VERSION,
                                 legacy_header="X-OpenStack-Nova-API-Version")

# Nova names the body of each error after its kind.
_FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
                405: "badMethod", 409: "conflictingRequest", 413: "overLimit",
                415: "badMediaType", 429: "overLimit", 501: "notImplemented",
                503: "serviceUnavailable"}


def error_body(exc: APIError) -> dict:
    name = _FAULT_NAMES.get(exc.status, "computeFault")
    return {name: {"code": exc.status, "message": exc.message}}


def create_api(cloud) -> ServiceAPI:
    # Nova answers 404 to a path with an empty id (/os-simple-tenant-usage/),
    # where Starlette would redirect to the collection.
    api = ServiceAPI("compute", "/compute", cloud, service_type="compute",
                     error_body=error_body, authenticator=cloud.tokens,
                     microversions=MICROVERSIONS, redirect_slashes=False)
    for module in HANDLER_MODULES:
        api.include(module.routes)
    return api
