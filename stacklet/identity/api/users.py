"""/v3/users, a user's password, projects and groups."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.identity import assignment, resource, schemas, users
from stacklet.identity.api.groups import authorize_on_group, group_view
from stacklet.identity.api.projects import project_view
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
from stacklet.identity.models import User
from stacklet.identity.passwords import configured_rounds
from stacklet.identity.tokens import isotime

routes = RouteTable()

USER_FILTERS = ("name", "domain_id", "enabled")


def user_view(req: ApiRequest, user: User) -> dict:
    """A user as Keystone shows one: never the password or its hash."""
    view = {**(user.extra or {}), "id": user.id, "name": user.name,
            "domain_id": user.domain_id, "enabled": user.enabled,
            "password_expires_at": isotime(user.password_expires_at),
            "options": dict(user.options or {}), "links": entity_links(req, "users", user.id)}
    for optional in ("default_project_id", "description", "email"):
        value = getattr(user, optional)
        if value is not None:
            view[optional] = value
    return view


def _user_target(user: User) -> dict:
    return {"target.user.id": user.id, "target.user.domain_id": user.domain_id}


def _authorize_on_user(req: ApiRequest, rule: str) -> str:
    return authorize_on_path_entity(
        req, rule, "user_id", lambda session, user_id: _user_target(
            users.get_user(session, user_id)))


@routes.route("/v3/users", "GET")
def list_users(req: ApiRequest):
    domain_id = list_domain_id(req)
    req.authorize("identity:list_users", domain_target("target.domain_id", domain_id))
    with req.cloud.db.session() as session:
        views = [user_view(req, u) for u in users.list_users(session, domain_id=domain_id)]
    return collection(req, "users", (v for v in views if matches_filters(req, v, USER_FILTERS)))


@routes.route("/v3/users", "POST", status=201)
def create_user(req: ApiRequest):
    data = validate(schemas.user_create, req.json_body())["user"]
    req.authorize("identity:create_user",
                  domain_target("target.user.domain_id", data.get("domain_id")))
    resource.check_name(data["name"], "user")
    password = users.prepare_password(req.cloud.hash_password, req.cloud.password_rules,
                                      data.get("password"))
    with req.cloud.db.transaction() as session:
        user = users.create_user(
            session, req.cloud.password_rules, name=data["name"],
            domain_id=data.get("domain_id") or resource.scope_domain_id(req.ctx),
            password=password, enabled=data.get("enabled", True),
            default_project_id=data.get("default_project_id"),
            description=data.get("description"), email=data.get("email"),
            options=data.get("options"), extra=extra_attributes(data, schemas.user_create))
        return {"user": user_view(req, user)}


@routes.route("/v3/users/{user_id}", "GET")
def show_user(req: ApiRequest):
    user_id = _authorize_on_user(req, "identity:get_user")
    with req.cloud.db.session() as session:
        return {"user": user_view(req, users.get_user(session, user_id))}


@routes.route("/v3/users/{user_id}", "PATCH")
def update_user(req: ApiRequest):
    user_id = _authorize_on_user(req, "identity:update_user")
    changes = update_body(req, schemas.user_update, "user", req.path["user_id"])
    if "name" in changes:
        resource.check_name(changes["name"], "user")
    password = users.prepare_password(req.cloud.hash_password, req.cloud.password_rules,
                                      changes.get("password"))
    with req.cloud.db.transaction() as session:
        user = users.update_user(session, req.cloud.password_rules, user_id, changes,
                                 extra_attributes(changes, schemas.user_update), password)
        return {"user": user_view(req, user)}


@routes.route("/v3/users/{user_id}", "DELETE", status=204)
def delete_user(req: ApiRequest):
    user_id = _authorize_on_user(req, "identity:delete_user")
    with req.cloud.db.transaction() as session:
        users.delete_user(session, user_id)


@routes.route("/v3/users/{user_id}/password", "POST", status=204)
def change_password(req: ApiRequest):
    # As in Keystone, the original password is the proof and a token is
    # optional: a user whose password expired, or who must replace one an
    # admin set, cannot get a token.  A caller who shows one is held to policy.
    if req.headers.get("x-auth-token"):
        user_id = _authorize_on_user(req, "identity:change_password")
    else:
        user_id = req.path["user_id"]
    data = validate(schemas.password_change, req.json_body())["user"]
    users.check_original_password(req.cloud.db, req.cloud.password_rules, user_id,
                                  data["original_password"],
                                  rounds=configured_rounds(req.cloud.config))
    password = users.prepare_password(req.cloud.hash_password, req.cloud.password_rules,
                                      data["password"])
    with req.cloud.db.transaction() as session:
        users.change_password(session, req.cloud.password_rules, user_id, password)


@routes.route("/v3/users/{user_id}/projects", "GET")
def list_user_projects(req: ApiRequest):
    user_id = _authorize_on_user(req, "identity:list_user_projects")
    with req.cloud.db.session() as session:
        projects = resource.projects_by_ids(
            session, assignment.target_ids_with_roles(session, user_id, "project"))
        views = [project_view(req, p) for p in projects]
    return collection(req, "projects", (v for v in views if matches_filters(
        req, v, ("name", "domain_id", "enabled"))))


@routes.route("/v3/users/{user_id}/groups", "GET")
def list_user_groups(req: ApiRequest):
    user_id = _authorize_on_user(req, "identity:list_groups_for_user")
    with req.cloud.db.session() as session:
        # Memberships here never expire (that is for federated users).
        views = [{**group_view(req, g), "membership_expires_at": None}
                 for g in users.groups_of_user(session, user_id)]
    return collection(req, "groups", (v for v in views if matches_filters(
        req, v, ("name", "domain_id"))))


@routes.route("/v3/groups/{group_id}/users", "GET")
def list_users_in_group(req: ApiRequest):
    group_id = authorize_on_group(req, "identity:list_users_in_group")
    with req.cloud.db.session() as session:
        views = [user_view(req, u) for u in users.users_in_group(session, group_id)]
    return collection(req, "users", (v for v in views if matches_filters(req, v, USER_FILTERS)))
