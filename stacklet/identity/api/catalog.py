"""/v3/regions, /v3/services and /v3/endpoints: the catalog, managed by admins."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.common.validation import validate
from stacklet.identity import catalog, schemas
from stacklet.identity.api.views import (
    collection,
    entity_links,
    matches_filters,
    split_extra,
    update_body,
)
from stacklet.identity.models import Endpoint, Region, Service

routes = RouteTable()

# The attributes each entity has; anything else a client sends is kept as an extra
# attribute, except the server-assigned id and links, which are ignored.
REGION_FIELDS = ("id", "description", "parent_region_id", "links")
SERVICE_FIELDS = ("id", "type", "name", "description", "enabled", "links")
ENDPOINT_FIELDS = ("id", "service_id", "interface", "url", "region_id", "region", "enabled",
                   "links")


def region_view(req: ApiRequest, region: Region) -> dict:
    return {**(region.extra or {}), "id": region.id, "description": region.description,
            "parent_region_id": region.parent_region_id,
            "links": entity_links(req, "regions", region.id)}


def service_view(req: ApiRequest, service: Service) -> dict:
    view = {**(service.extra or {}), "id": service.id, "type": service.type,
            "enabled": service.enabled, "links": entity_links(req, "services", service.id)}
    # Keystone keeps name and description as optional attributes: absent when unset.
    for optional in ("name", "description"):
        if getattr(service, optional) is not None:
            view[optional] = getattr(service, optional)
    return view


def endpoint_view(req: ApiRequest, endpoint: Endpoint) -> dict:
    return {**(endpoint.extra or {}), "id": endpoint.id, "service_id": endpoint.service_id,
            "interface": endpoint.interface, "url": endpoint.url,
            "region_id": endpoint.region_id, "region": endpoint.region_id,
            "enabled": endpoint.enabled, "links": entity_links(req, "endpoints", endpoint.id)}


# -- regions ---------------------------------------------------------------------

@routes.route("/v3/regions", "GET")
def list_regions(req: ApiRequest):
    req.authorize("identity:list_regions")
    with req.cloud.db.session() as session:
        views = [region_view(req, r) for r in catalog.list_regions(session)]
    return collection(req, "regions",
                      (v for v in views if matches_filters(req, v, ("parent_region_id",))))


@routes.route("/v3/regions", "POST", status=201)
def create_region(req: ApiRequest):
    req.authorize("identity:create_region")
    data, extra = split_extra(validate(schemas.region_create, req.json_body())["region"],
                              REGION_FIELDS)
    with req.cloud.db.transaction() as session:
        region = catalog.create_region(
            session, region_id=data.get("id"), description=data.get("description"),
            parent_region_id=data.get("parent_region_id"), extra=extra)
        return {"region": region_view(req, region)}


@routes.route("/v3/regions/{region_id}", "PUT", status=201)
def create_region_with_id(req: ApiRequest):
    region_id = req.path["region_id"]
    req.authorize("identity:create_region")
    data, extra = split_extra(validate(schemas.region_create, req.json_body())["region"],
                              REGION_FIELDS)
    if data.get("id", region_id) != region_id:
        raise BadRequest(f"Conflicting region IDs specified: \"{region_id}\" != "
                         f"\"{data['id']}\".")
    with req.cloud.db.transaction() as session:
        region = catalog.create_region(
            session, region_id=region_id, description=data.get("description"),
            parent_region_id=data.get("parent_region_id"), extra=extra)
        return {"region": region_view(req, region)}


@routes.route("/v3/regions/{region_id}", "GET")
def show_region(req: ApiRequest):
    req.authorize("identity:get_region")
    with req.cloud.db.session() as session:
        return {"region": region_view(req, catalog.get_region(session, req.path["region_id"]))}


@routes.route("/v3/regions/{region_id}", "PATCH")
def update_region(req: ApiRequest):
    region_id = req.path["region_id"]
    req.authorize("identity:update_region")
    body = update_body(req, schemas.region_update, "region", region_id)
    changes, extra = split_extra(body, REGION_FIELDS)
    if changes.get("id", region_id) != region_id:
        raise BadRequest("The region id cannot be changed.")
    with req.cloud.db.transaction() as session:
        return {"region": region_view(req, catalog.update_region(session, region_id,
                                                                 changes, extra))}


@routes.route("/v3/regions/{region_id}", "DELETE", status=204)
def delete_region(req: ApiRequest):
    req.authorize("identity:delete_region")
    with req.cloud.db.transaction() as session:
        catalog.delete_region(session, req.path["region_id"])


# -- services --------------------------------------------------------------------

@routes.route("/v3/services", "GET")
def list_services(req: ApiRequest):
    req.authorize("identity:list_services")
    with req.cloud.db.session() as session:
        views = [service_view(req, s) for s in catalog.list_services(session)]
    return collection(req, "services",
                      (v for v in views if matches_filters(req, v, ("type", "name"))))


@routes.route("/v3/services", "POST", status=201)
def create_service(req: ApiRequest):
    req.authorize("identity:create_service")
    data, extra = split_extra(validate(schemas.service_create, req.json_body())["service"],
                              SERVICE_FIELDS)
    with req.cloud.db.transaction() as session:
        return {"service": service_view(req, catalog.create_service(session, data, extra))}


@routes.route("/v3/services/{service_id}", "GET")
def show_service(req: ApiRequest):
    req.authorize("identity:get_service")
    with req.cloud.db.session() as session:
        return {"service": service_view(req, catalog.get_service(session,
                                                                 req.path["service_id"]))}


@routes.route("/v3/services/{service_id}", "PATCH")
def update_service(req: ApiRequest):
    req.authorize("identity:update_service")
    body = update_body(req, schemas.service_update, "service", req.path["service_id"])
    changes, extra = split_extra(body, SERVICE_FIELDS)
    with req.cloud.db.transaction() as session:
        service = catalog.update_service(session, req.path["service_id"], changes, extra)
        return {"service": service_view(req, service)}


@routes.route("/v3/services/{service_id}", "DELETE", status=204)
def delete_service(req: ApiRequest):
    req.authorize("identity:delete_service")
    with req.cloud.db.transaction() as session:
        catalog.delete_service(session, req.path["service_id"])


# -- endpoints -------------------------------------------------------------------

@routes.route("/v3/endpoints", "GET")
def list_endpoints(req: ApiRequest):
    req.authorize("identity:list_endpoints")
    with req.cloud.db.session() as session:
        views = [endpoint_view(req, e) for e in catalog.list_endpoints(session)]
    return collection(req, "endpoints", (v for v in views if matches_filters(
        req, v, ("interface", "service_id", "region_id"))))


@routes.route("/v3/endpoints", "POST", status=201)
def create_endpoint(req: ApiRequest):
    req.authorize("identity:create_endpoint")
    data, extra = split_extra(validate(schemas.endpoint_create, req.json_body())["endpoint"],
                              ENDPOINT_FIELDS)
    with req.cloud.db.transaction() as session:
        return {"endpoint": endpoint_view(req, catalog.create_endpoint(session, data, extra))}


@routes.route("/v3/endpoints/{endpoint_id}", "GET")
def show_endpoint(req: ApiRequest):
    req.authorize("identity:get_endpoint")
    with req.cloud.db.session() as session:
        return {"endpoint": endpoint_view(req, catalog.get_endpoint(session,
                                                                    req.path["endpoint_id"]))}


@routes.route("/v3/endpoints/{endpoint_id}", "PATCH")
def update_endpoint(req: ApiRequest):
    req.authorize("identity:update_endpoint")
    body = update_body(req, schemas.endpoint_update, "endpoint", req.path["endpoint_id"])
    changes, extra = split_extra(body, ENDPOINT_FIELDS)
    with req.cloud.db.transaction() as session:
        endpoint = catalog.update_endpoint(session, req.path["endpoint_id"], changes, extra)
        return {"endpoint": endpoint_view(req, endpoint)}


@routes.route("/v3/endpoints/{endpoint_id}", "DELETE", status=204)
def delete_endpoint(req: ApiRequest):
    req.authorize("identity:delete_endpoint")
    with req.cloud.db.transaction() as session:
        catalog.delete_endpoint(session, req.path["endpoint_id"])
