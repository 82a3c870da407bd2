"""/v3/domains."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.identity import resource, schemas
from stacklet.identity.api.views import collection, entity_links, matches_filters, update_body
from stacklet.identity.models import Domain

routes = RouteTable()


def domain_view(req: ApiRequest, domain: Domain) -> dict:
    return {**(domain.extra or {}), "id": domain.id, "name": domain.name,
            "description": domain.description, "enabled": domain.enabled,
            "tags": [], "options": {}, "links": entity_links(req, "domains", domain.id)}


@routes.route("/v3/domains", "GET")
def list_domains(req: ApiRequest):
    req.authorize("identity:list_domains")
    with req.cloud.db.session() as session:
        domains = resource.list_domains(session)
        views = [domain_view(req, d) for d in domains]
    return collection(req, "domains",
                      (v for v in views if matches_filters(req, v, ("name", "enabled"))))


@routes.route("/v3/domains", "POST", status=201)
def create_domain(req: ApiRequest):
    req.authorize("identity:create_domain")
    data = validate(schemas.domain_create, req.json_body())["domain"]
    resource.check_name(data["name"], "domain")
    known = {"name", "description", "enabled", "id", "tags"}
    with req.cloud.db.transaction() as session:
        domain = resource.create_domain(
            session, name=data["name"], description=data.get("description") or "",
            enabled=data.get("enabled", True), domain_id=data.get("id"),
            extra={k: v for k, v in data.items() if k not in known})
        return {"domain": domain_view(req, domain)}


@routes.route("/v3/domains/{domain_id}", "GET")
def show_domain(req: ApiRequest):
    domain_id = req.path["domain_id"]
    req.authorize("identity:get_domain", {"target.domain.id": domain_id})
    with req.cloud.db.session() as session:
        return {"domain": domain_view(req, resource.get_domain(session, domain_id))}


@routes.route("/v3/domains/{domain_id}", "PATCH")
def update_domain(req: ApiRequest):
    domain_id = req.path["domain_id"]
    req.authorize("identity:update_domain", {"target.domain.id": domain_id})
    changes = update_body(req, schemas.domain_update, "domain", req.path["domain_id"])
    if "name" in changes:
        resource.check_name(changes["name"], "domain")
    with req.cloud.db.transaction() as session:
        return {"domain": domain_view(req, resource.update_domain(session, domain_id, changes))}


@routes.route("/v3/domains/{domain_id}", "DELETE", status=204)
def delete_domain(req: ApiRequest):
    domain_id = req.path["domain_id"]
    req.authorize("identity:delete_domain", {"target.domain.id": domain_id})
    with req.cloud.db.transaction() as session:
        resource.delete_domain(session, domain_id)
