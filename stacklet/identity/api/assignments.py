"""Grants (/v3/{projects,domains}/{id}/{users,groups}/{id}/roles, /v3/system/...,
/v3/OS-INHERIT/...) and /v3/role_assignments."""

from __future__ import annotations

import dataclasses
import functools

from stacklet.common.api import ApiRequest, Handler, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.identity import assignment
from stacklet.identity.api.roles import role_view
from stacklet.identity.api.views import collection, query_bool
from stacklet.identity.assignment import Assignment, AssignmentFilter, Grant
from stacklet.identity.models import SYSTEM_TARGET

routes = RouteTable()


@dataclasses.dataclass(frozen=True)
class GrantFamily:
    """One shape of grant URL: which actor, which target, inherited or not."""

    actor_type: str
    target_type: str
    inherited: bool = False

    @property
    def roles_path(self) -> str:
        target = ("/system" if self.target_type == "system"
                  else f"/{self.target_type}s/{{target_id}}")
        prefix = "/v3/OS-INHERIT" if self.inherited else "/v3"
        return f"{prefix}{target}/{self.actor_type}s/{{actor_id}}/roles"

    def paths(self) -> tuple[str, str]:
        """The list path and the one-role path."""
        if self.inherited:
            return (f"{self.roles_path}/inherited_to_projects",
                    f"{self.roles_path}/{{role_id}}/inherited_to_projects")
        return self.roles_path, f"{self.roles_path}/{{role_id}}"

    def grant(self, req: ApiRequest) -> Grant:
        return Grant(actor_type=self.actor_type, actor_id=req.path["actor_id"],
                     target_type=self.target_type,
                     target_id=req.path.get("target_id", SYSTEM_TARGET),
                     inherited=self.inherited, role_id=req.path.get("role_id"))

    def rule(self, action: str) -> str:
        """Upstream's rule names: system grants have their own."""
        noun = "grants" if action == "list" else "grant"
        if self.target_type == "system":
            return f"identity:{action}_system_{noun}_for_{self.actor_type}"
        return f"identity:{action}_{noun}"


GRANT_FAMILIES = [
    *(GrantFamily(actor, target) for target in ("project", "domain", "system")
      for actor in ("user", "group")),
    *(GrantFamily(actor, target, inherited=True) for target in ("domain", "project")
      for actor in ("user", "group")),
]


def _authorize_grant(req: ApiRequest, family: GrantFamily, action: str) -> Grant:
    grant = family.grant(req)
    with req.cloud.db.session() as session:
        target = assignment.grant_policy_target(session, grant)
    req.authorize(family.rule(action), target)
    return grant


def create_grant(req: ApiRequest, family: GrantFamily):
    grant = _authorize_grant(req, family, "create")
    with req.cloud.db.transaction() as session:
        assignment.create_grant(session, grant)


def check_grant(req: ApiRequest, family: GrantFamily):
    grant = _authorize_grant(req, family, "check")
    with req.cloud.db.session() as session:
        assignment.check_grant(session, grant)


def revoke_grant(req: ApiRequest, family: GrantFamily):
    grant = _authorize_grant(req, family, "revoke")
    with req.cloud.db.transaction() as session:
        assignment.revoke_grant(session, grant)


def list_grants(req: ApiRequest, family: GrantFamily):
    grant = _authorize_grant(req, family, "list")
    with req.cloud.db.session() as session:
        roles = [role_view(req, r) for r in assignment.list_grants(session, grant)]
    return collection(req, "roles", roles)


def _for(handler, family: GrantFamily) -> Handler:
    return functools.update_wrapper(functools.partial(handler, family=family), handler)


for _family in GRANT_FAMILIES:
    _list_path, _role_path = _family.paths()
    routes.route(_list_path, "GET")(_for(list_grants, _family))
    routes.route(_role_path, "PUT", status=204)(_for(create_grant, _family))
    # GET answers HEAD too: both check the grant with an empty 204, as Keystone does.
    routes.route(_role_path, "GET", status=204)(_for(check_grant, _family))
    routes.route(_role_path, "DELETE", status=204)(_for(revoke_grant, _family))


# -- /v3/role_assignments ---------------------------------------------------------------

def _assignment_filter(req: ApiRequest) -> AssignmentFilter:
    query = req.query
    system = query.get("scope.system")
    if system is not None and system != "all":
        raise BadRequest(f"Invalid value {system!r} for scope.system: the only system "
                         "scope is 'all'.")
    inherited_to = query.get("scope.OS-INHERIT:inherited_to")
    return AssignmentFilter(
        user_id=query.get("user.id") or None, group_id=query.get("group.id") or None,
        role_id=query.get("role.id") or None, project_id=query.get("scope.project.id") or None,
        domain_id=query.get("scope.domain.id") or None, system=system is not None,
        inherited=None if inherited_to is None else inherited_to == "projects",
        effective=bool(query_bool(req, "effective")),
        include_subtree=bool(query_bool(req, "include_subtree")),
        visible_domain_id=req.ctx.domain_id)


def _grant_link(entry: Assignment) -> str:
    """The grant URL an entry comes from (Keystone's "assignment" link)."""
    target_type, target_id = entry.inherited_from or (entry.target_type, entry.target_id)
    path = "/system" if target_type == "system" else f"/{target_type}s/{target_id}"
    if entry.via_group_id:
        path += f"/groups/{entry.via_group_id}"
    else:
        path += f"/{entry.actor_type}s/{entry.actor_id}"
    path += f"/roles/{entry.prior_role_id or entry.role_id}"
    if entry.inherited_to_projects:
        path = f"/OS-INHERIT{path}/inherited_to_projects"
    return path


def assignment_view(req: ApiRequest, entry: Assignment, refs: dict | None) -> dict:
    def ref(kind: str, entity_id: str) -> dict:
        return (refs or {}).get((kind, entity_id), {"id": entity_id})

    if entry.target_type == "system":
        scope: dict = {"system": {"all": True}}
    else:
        scope = {entry.target_type: ref(entry.target_type, entry.target_id)}
    if entry.inherited_to_projects:
        scope["OS-INHERIT:inherited_to"] = "projects"
    links = {"assignment": req.url("/v3" + _grant_link(entry))}
    if entry.via_group_id:
        links["membership"] = req.url(f"/v3/groups/{entry.via_group_id}/users/{entry.actor_id}")
    if entry.prior_role_id:
        links["prior_role"] = req.url(f"/v3/roles/{entry.prior_role_id}/implies/{entry.role_id}")
    return {"role": ref("role", entry.role_id),
            entry.actor_type: ref(entry.actor_type, entry.actor_id),
            "scope": scope, "links": links}


@routes.route("/v3/role_assignments", "GET")
def list_role_assignments(req: ApiRequest):
    wanted = _assignment_filter(req)
    if wanted.include_subtree:
        req.authorize("identity:list_role_assignments_for_tree",
                      {"target.project.id": wanted.project_id})
    else:
        # Only a domain-scoped token has a domain to match: without one the rule must
        # find no target.domain_id at all (a None would match a token's missing domain).
        domain_id = req.ctx.domain_id
        req.authorize("identity:list_role_assignments",
                      {"target.domain_id": domain_id} if domain_id else {})
    with req.cloud.db.session() as session:
        entries = assignment.list_role_assignments(session, wanted)
        refs = assignment.named_refs(session, entries) if query_bool(req, "include_names") \
            else None
    return collection(req, "role_assignments",
                      (assignment_view(req, e, refs) for e in entries))
