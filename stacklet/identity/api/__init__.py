"""The identity API (Keystone v3), mounted at /identity."""

from __future__ import annotations

from starlette.requests import Request

from stacklet.common.api import ServiceAPI
from stacklet.common.errors import APIError, Unauthorized
from stacklet.identity.api import (
    application_credentials,
    assignments,
    auth,
    catalog,
    credentials,
    domain_config,
    domains,
    ec2_credentials,
    ec2_tokens,
    endpoint_groups,
    groups,
    limits,
    oauth1,
    policies,
    projects,
    roles,
    trusts,
    users,
    versions,
)

HANDLER_MODULES = [versions, auth, domain_config, domains, projects, users, groups, roles,
                   assignments, catalog, credentials, ec2_credentials, application_credentials,
                   policies, oauth1, endpoint_groups, trusts, limits, ec2_tokens]


def error_body(exc: APIError) -> dict:
    """Keystone's error body."""
    return {"error": {"code": exc.status, "title": exc.title, "message": exc.message}}


def error_headers(exc: APIError, request: Request) -> dict:
    if isinstance(exc, Unauthorized):
        identity_url = str(request.base_url).rstrip("/") + "/identity"
        return {"WWW-Authenticate": f'Keystone uri="{identity_url}"'}
    return {}


def create_api(cloud) -> ServiceAPI:
    api = ServiceAPI("identity", "/identity", cloud, service_type="identity",
                     error_body=error_body, error_headers=error_headers,
                     authenticator=cloud.tokens)
    for module in HANDLER_MODULES:
        api.include(module.routes)
    return api
