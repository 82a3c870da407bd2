"""/v3/projects and /v3/projects/{project_id}/tags."""

from __future__ import annotations

from starlette.responses import Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.common.validation import validate
from stacklet.identity import assignment, resource, schemas
from stacklet.identity.api.views import (
    authorize_on_path_entity,
    collection,
    domain_target,
    entity_links,
    extra_attributes,
    list_domain_id,
    matches_filters,
    query_bool,
    update_body,
)
from stacklet.identity.models import Domain, Project

routes = RouteTable()

PROJECT_FIELDS = ("id", "name", "domain_id", "parent_id", "description", "enabled",
                  "is_domain", "tags", "options")
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")


def project_view(req: ApiRequest, project: Project | Domain) -> dict:
    if isinstance(project, Domain):
        # Keystone shows every domain as a project acting as a domain.
        return {**(project.extra or {}), "id": project.id, "name": project.name,
                "domain_id": None, "parent_id": None, "description": project.description,
                "enabled": project.enabled, "is_domain": True, "tags": [], "options": {},
                "links": entity_links(req, "projects", project.id)}
    return {**(project.extra or {}), "id": project.id, "name": project.name,
            "domain_id": project.domain_id, "parent_id": resource.project_parent_id(project),
            "description": project.description, "enabled": project.enabled,
            "is_domain": False, "tags": list(project.tags or []), "options": {},
            "links": entity_links(req, "projects", project.id)}


def _project_target(project: Project | Domain) -> dict:
    if isinstance(project, Domain):
        return {"target.project.id": project.id}
    return {"target.project.id": project.id, "target.project.domain_id": project.domain_id}


def _authorize_on_project(req: ApiRequest, rule: str) -> str:
    return authorize_on_path_entity(
        req, rule, "project_id",
        lambda session, project_id: _project_target(
            resource.get_project_or_domain(session, project_id)))


@routes.route("/v3/projects", "GET")
def list_projects(req: ApiRequest):
    domain_id = list_domain_id(req)
    req.authorize("identity:list_projects", domain_target("target.domain_id", domain_id))
    if query_bool(req, "is_domain"):
        with req.cloud.db.session() as session:
            views = [project_view(req, d) for d in resource.list_domains(session)]
        return collection(req, "projects", (v for v in views if matches_filters(
            req, v, ("name", "enabled", "description"))))
    tag_filters = {name: req.query[name].split(",") for name in TAG_FILTERS
                   if name in req.query}
    with req.cloud.db.session() as session:
        projects = [p for p in resource.list_projects(session, domain_id=domain_id)
                    if resource.tags_match(p.tags or [], tag_filters)]
        views = [project_view(req, p) for p in projects]
    return collection(req, "projects", (v for v in views if matches_filters(
        req, v, ("name", "domain_id", "enabled", "parent_id", "description"))))


@routes.route("/v3/projects", "POST", status=201)
def create_project(req: ApiRequest):
    data = validate(schemas.project_create, req.json_body())["project"]
    req.authorize("identity:create_project",
                  domain_target("target.project.domain_id", data.get("domain_id")))
    resource.check_name(data["name"], "project")
    if data.get("is_domain"):
        return _create_project_acting_as_domain(req, data)
    with req.cloud.db.transaction() as session:
        project = resource.create_project(
            session, name=data["name"], domain_id=data.get("domain_id"),
            parent_id=data.get("parent_id"),
            default_domain_id=resource.scope_domain_id(req.ctx),
            description=data.get("description") or "", enabled=data.get("enabled", True),
            tags=data.get("tags"), extra=extra_attributes(data, schemas.project_create))
        return {"project": project_view(req, project)}


def _create_project_acting_as_domain(req: ApiRequest, data: dict) -> dict:
    """A project with is_domain is a domain, as in Keystone (whose domains are
    projects acting as domains); it is kept in the domains table."""
    if data.get("domain_id") or data.get("parent_id"):
        raise BadRequest("A project acting as a domain has no domain_id or parent_id.")
    with req.cloud.db.transaction() as session:
        domain = resource.create_domain(session, name=data["name"],
                                        description=data.get("description") or "",
                                        enabled=data.get("enabled", True))
        return {"project": project_view(req, domain)}


@routes.route("/v3/projects/{project_id}", "GET")
def show_project(req: ApiRequest):
    project_id = _authorize_on_project(req, "identity:get_project")
    parents = query_bool(req, "parents_as_list")
    subtree = query_bool(req, "subtree_as_list")
    if "parents_as_ids" in req.query or "subtree_as_ids" in req.query:
        raise BadRequest("parents_as_ids and subtree_as_ids are not supported; "
                         "use parents_as_list or subtree_as_list.")
    with req.cloud.db.session() as session:
        project = resource.get_project_or_domain(session, project_id)
        view = project_view(req, project)
        if isinstance(project, Domain):
            return {"project": view}
        if parents:
            view["parents"] = [{"project": project_view(req, p)}
                               for p in assignment.project_ancestors(session, project)]
        if subtree:
            view["subtree"] = [{"project": project_view(req, p)}
                               for p in resource.project_subtree(session, project)]
    return {"project": view}


@routes.route("/v3/projects/{project_id}", "PATCH")
def update_project(req: ApiRequest):
    project_id = _authorize_on_project(req, "identity:update_project")
    changes = update_body(req, schemas.project_update, "project", req.path["project_id"])
    if "name" in changes:
        resource.check_name(changes["name"], "project")
    with req.cloud.db.transaction() as session:
        if isinstance(resource.get_project_or_domain(session, project_id), Domain):
            domain_changes = {k: v for k, v in changes.items()
                              if k in ("name", "description", "enabled")}
            return {"project": project_view(
                req, resource.update_domain(session, project_id, domain_changes))}
        project = resource.update_project(session, project_id, changes,
                                          extra_attributes(changes, schemas.project_update))
        return {"project": project_view(req, project)}


@routes.route("/v3/projects/{project_id}", "DELETE", status=204)
def delete_project(req: ApiRequest):
    project_id = _authorize_on_project(req, "identity:delete_project")
    with req.cloud.db.transaction() as session:
        if isinstance(resource.get_project_or_domain(session, project_id), Domain):
            resource.delete_domain(session, project_id)
        else:
            resource.delete_project(session, project_id)


# -- tags ------------------------------------------------------------------------

@routes.route("/v3/projects/{project_id}/tags", "GET")
def list_project_tags(req: ApiRequest):
    project_id = _authorize_on_project(req, "identity:list_project_tags")
    with req.cloud.db.session() as session:
        return {"tags": list(resource.get_project(session, project_id).tags or [])}


@routes.route("/v3/projects/{project_id}/tags", "PUT")
def replace_project_tags(req: ApiRequest):
    project_id = _authorize_on_project(req, "identity:update_project_tags")
    tags = validate(schemas.project_tags_update, req.json_body())["tags"]
    with req.cloud.db.transaction() as session:
        return {"tags": list(resource.set_project_tags(session, project_id, tags).tags)}


@routes.route("/v3/projects/{project_id}/tags", "DELETE", status=204)
def delete_project_tags(req: ApiRequest):
    project_id = _authorize_on_project(req, "identity:delete_project_tags")
    with req.cloud.db.transaction() as session:
        resource.set_project_tags(session, project_id, [])


@routes.route("/v3/projects/{project_id}/tags/{tag}", "PUT", status=201)
def add_project_tag(req: ApiRequest):
    project_id = _authorize_on_project(req, "identity:create_project_tag")
    tag = validate(schemas.PROJECT_TAG, req.path["tag"])
    with req.cloud.db.transaction() as session:
        resource.add_project_tag(session, project_id, tag)
    return Response(status_code=201, headers={
        "Location": req.url(f"/v3/projects/{project_id}/tags/{tag}")})


@routes.route("/v3/projects/{project_id}/tags/{tag}", ["GET", "HEAD"], status=204)
def check_project_tag(req: ApiRequest):
    project_id = _authorize_on_project(req, "identity:get_project_tag")
    with req.cloud.db.session() as session:
        resource.check_project_tag(session, project_id, req.path["tag"])


@routes.route("/v3/projects/{project_id}/tags/{tag}", "DELETE", status=204)
def delete_project_tag(req: ApiRequest):
    project_id = _authorize_on_project(req, "identity:delete_project_tag")
    with req.cloud.db.transaction() as session:
        resource.delete_project_tag(session, project_id, req.path["tag"])
