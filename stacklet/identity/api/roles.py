"""/v3/roles, implied roles (/v3/roles/{id}/implies) and /v3/role_inferences."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.identity import assignment, resource, schemas
from stacklet.identity.api.views import collection, entity_links, matches_filters, update_body
from stacklet.identity.models import Role

routes = RouteTable()


def role_view(req: ApiRequest, role: Role) -> dict:
    return {**(role.extra or {}), "id": role.id, "name": role.name,
            "domain_id": role.domain_id, "description": role.description,
            "options": role.options or {}, "links": entity_links(req, "roles", role.id)}


def _role_ref(req: ApiRequest, role: Role) -> dict:
    return {"id": role.id, "name": role.name, "links": entity_links(req, "roles", role.id)}


def _rule(action: str, role_domain_id: str | None) -> str:
    """Domain-specific roles have rules of their own, as upstream."""
    return f"identity:{action}_domain_role" if role_domain_id else f"identity:{action}_role"


def _target(role_domain_id: str | None) -> dict:
    # A global role offers no domain: a None here would match a token without one.
    return {"target.role.domain_id": role_domain_id} if role_domain_id else {}


# -- roles -------------------------------------------------------------------------

@routes.route("/v3/roles", "GET")
def list_roles(req: ApiRequest):
    domain_id = req.query.get("domain_id") or None
    if domain_id == "None":
        # openstacksdk asks for domain_id=None when it looks up a global role by name.
        domain_id = None
    req.authorize("identity:list_domain_roles" if domain_id else "identity:list_roles",
                  _target(domain_id))
    with req.cloud.db.session() as session:
        views = [role_view(req, r) for r in assignment.list_roles(session, domain_id)]
    return collection(req, "roles", (v for v in views if matches_filters(req, v, ("name",))))


@routes.route("/v3/roles", "POST", status=201)
def create_role(req: ApiRequest):
    data = validate(schemas.role_create, req.json_body())["role"]
    req.authorize(_rule("create", data.get("domain_id")), _target(data.get("domain_id")))
    resource.check_name(data["name"], "role")
    # Keystone always chooses a role's id: one in the body is ignored.
    known = {"name", "description", "domain_id", "options", "id"}
    with req.cloud.db.transaction() as session:
        role = assignment.create_role(
            session, name=data["name"], domain_id=data.get("domain_id"),
            description=data.get("description"), options=data.get("options"),
            extra={k: v for k, v in data.items() if k not in known})
        return {"role": role_view(req, role)}


@routes.route("/v3/roles/{role_id}", "GET")
def show_role(req: ApiRequest):
    with req.cloud.db.session() as session:
        role = assignment.get_role(session, req.path["role_id"])
        req.authorize(_rule("get", role.domain_id), _target(role.domain_id))
        return {"role": role_view(req, role)}


@routes.route("/v3/roles/{role_id}", "PATCH")
def update_role(req: ApiRequest):
    changes = update_body(req, schemas.role_update, "role", req.path["role_id"])
    if "name" in changes:
        resource.check_name(changes["name"], "role")
    with req.cloud.db.transaction() as session:
        role = assignment.get_role(session, req.path["role_id"])
        req.authorize(_rule("update", role.domain_id), _target(role.domain_id))
        return {"role": role_view(req, assignment.update_role(session, role.id, changes))}


@routes.route("/v3/roles/{role_id}", "DELETE", status=204)
def delete_role(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        role = assignment.get_role(session, req.path["role_id"])
        req.authorize(_rule("delete", role.domain_id), _target(role.domain_id))
        assignment.delete_role(session, role.id)


# -- implied roles -------------------------------------------------------------------

def _inference_view(req: ApiRequest, prior: Role, implied: Role) -> dict:
    return {"role_inference": {"prior_role": _role_ref(req, prior),
                               "implies": _role_ref(req, implied)},
            "links": {"self": req.url(f"/v3/roles/{prior.id}/implies/{implied.id}")}}


@routes.route("/v3/roles/{prior_role_id}/implies/{implied_role_id}", "PUT", status=201)
def create_implied_role(req: ApiRequest):
    req.authorize("identity:create_implied_role")
    with req.cloud.db.transaction() as session:
        prior, implied = assignment.create_implied_role(
            session, req.path["prior_role_id"], req.path["implied_role_id"])
        return _inference_view(req, prior, implied)


# Declared before the GET route, which would otherwise answer HEAD with a body's status.
@routes.route("/v3/roles/{prior_role_id}/implies/{implied_role_id}", "HEAD", status=204)
def check_implied_role(req: ApiRequest):
    req.authorize("identity:check_implied_role")
    with req.cloud.db.session() as session:
        assignment.get_implied_role(session, req.path["prior_role_id"],
                                    req.path["implied_role_id"])


@routes.route("/v3/roles/{prior_role_id}/implies/{implied_role_id}", "GET")
def show_implied_role(req: ApiRequest):
    req.authorize("identity:get_implied_role")
    with req.cloud.db.session() as session:
        prior, implied = assignment.get_implied_role(
            session, req.path["prior_role_id"], req.path["implied_role_id"])
        return _inference_view(req, prior, implied)


@routes.route("/v3/roles/{prior_role_id}/implies/{implied_role_id}", "DELETE", status=204)
def delete_implied_role(req: ApiRequest):
    req.authorize("identity:delete_implied_role")
    with req.cloud.db.transaction() as session:
        assignment.delete_implied_role(session, req.path["prior_role_id"],
                                       req.path["implied_role_id"])


@routes.route("/v3/roles/{prior_role_id}/implies", "GET")
def list_implied_roles(req: ApiRequest):
    prior_role_id = req.path["prior_role_id"]
    req.authorize("identity:list_implied_roles")
    with req.cloud.db.session() as session:
        prior, implied = assignment.implied_roles_of(session, prior_role_id)
        return {"role_inference": {"prior_role": _role_ref(req, prior),
                                   "implies": [_role_ref(req, r) for r in implied]},
                "links": {"self": req.url(f"/v3/roles/{prior_role_id}/implies")}}


@routes.route("/v3/role_inferences", "GET")
def list_role_inference_rules(req: ApiRequest):
    req.authorize("identity:list_role_inference_rules")
    with req.cloud.db.session() as session:
        rules = [{"prior_role": _role_ref(req, prior),
                  "implies": [_role_ref(req, r) for r in implied]}
                 for prior, implied in assignment.role_inference_rules(session)]
    return collection(req, "role_inferences", rules)
