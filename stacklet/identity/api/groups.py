"""/v3/groups and group membership."""

from __future__ import annotations

from sqlalchemy.orm import Session

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.identity import resource, schemas, users
from stacklet.identity.api.views import (
    authorize_on_path_entity,
    collection,
    domain_target,
    entity_links,
    extra_attributes,
    list_domain_id,
    matches_filters,
    update_body,
)
from stacklet.identity.models import Group

routes = RouteTable()


def group_view(req: ApiRequest, group: Group) -> dict:
    return {**(group.extra or {}), "id": group.id, "name": group.name,
            "domain_id": group.domain_id, "description": group.description,
            "links": entity_links(req, "groups", group.id)}


def _group_target(session: Session, group_id: str) -> dict:
    group = users.get_group(session, group_id)
    return {"target.group.id": group.id, "target.group.domain_id": group.domain_id}


def authorize_on_group(req: ApiRequest, rule: str) -> str:
    return authorize_on_path_entity(req, rule, "group_id", _group_target)


@routes.route("/v3/groups", "GET")
def list_groups(req: ApiRequest):
    domain_id = list_domain_id(req)
    req.authorize("identity:list_groups", domain_target("target.domain_id", domain_id))
    with req.cloud.db.session() as session:
        views = [group_view(req, g) for g in users.list_groups(session, domain_id=domain_id)]
    return collection(req, "groups", (v for v in views if matches_filters(
        req, v, ("name", "domain_id"))))


@routes.route("/v3/groups", "POST", status=201)
def create_group(req: ApiRequest):
    data = validate(schemas.group_create, req.json_body())["group"]
    req.authorize("identity:create_group",
                  domain_target("target.group.domain_id", data.get("domain_id")))
    resource.check_name(data["name"], "group")
    with req.cloud.db.transaction() as session:
        group = users.create_group(
            session, name=data["name"],
            domain_id=data.get("domain_id") or resource.scope_domain_id(req.ctx),
            description=data.get("description") or "",
            extra=extra_attributes(data, schemas.group_create))
        return {"group": group_view(req, group)}


@routes.route("/v3/groups/{group_id}", "GET")
def show_group(req: ApiRequest):
    group_id = authorize_on_group(req, "identity:get_group")
    with req.cloud.db.session() as session:
        return {"group": group_view(req, users.get_group(session, group_id))}


@routes.route("/v3/groups/{group_id}", "PATCH")
def update_group(req: ApiRequest):
    group_id = authorize_on_group(req, "identity:update_group")
    changes = update_body(req, schemas.group_update, "group", req.path["group_id"])
    if "name" in changes:
        resource.check_name(changes["name"], "group")
    with req.cloud.db.transaction() as session:
        group = users.update_group(session, group_id, changes,
                                   extra_attributes(changes, schemas.group_update))
        return {"group": group_view(req, group)}


@routes.route("/v3/groups/{group_id}", "DELETE", status=204)
def delete_group(req: ApiRequest):
    group_id = authorize_on_group(req, "identity:delete_group")
    with req.cloud.db.transaction() as session:
        users.delete_group(session, group_id)


@routes.route("/v3/groups/{group_id}/users/{user_id}", "PUT", status=204)
def add_user_to_group(req: ApiRequest):
    group_id = authorize_on_group(req, "identity:add_user_to_group")
    with req.cloud.db.transaction() as session:
        users.add_user_to_group(session, group_id, req.path["user_id"])


@routes.route("/v3/groups/{group_id}/users/{user_id}", ["GET", "HEAD"], status=204)
def check_user_in_group(req: ApiRequest):
    group_id = authorize_on_group(req, "identity:check_user_in_group")
    with req.cloud.db.session() as session:
        users.check_user_in_group(session, group_id, req.path["user_id"])


@routes.route("/v3/groups/{group_id}/users/{user_id}", "DELETE", status=204)
def remove_user_from_group(req: ApiRequest):
    group_id = authorize_on_group(req, "identity:remove_user_from_group")
    with req.cloud.db.transaction() as session:
        users.remove_user_from_group(session, group_id, req.path["user_id"])
