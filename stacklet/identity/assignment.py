"""Roles, implied roles and role assignments: who holds which role where."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest, Conflict, Forbidden, NotFound
from stacklet.identity import resource, revoke
from stacklet.identity.models import (
    SYSTEM_TARGET,
    Domain,
    Group,
    GroupMembership,
    ImpliedRole,
    Project,
    Role,
    RoleAssignment,
    User,
    new_id,
)

# Keystone's [assignment] prohibited_implied_role default: no role may imply admin.
PROHIBITED_IMPLIED_ROLES = ("admin",)


def group_ids_of_user(session: Session, user_id: str) -> list[str]:
    return list(session.scalars(sa.select(GroupMembership.group_id)
                                .where(GroupMembership.user_id == user_id)))


def project_ancestors(session: Session, project: Project) -> list[Project]:
    """The project's parents, nearest first."""
    ancestors = []
    parent_id = project.parent_id
    while parent_id:
        parent = session.get(Project, parent_id)
        if parent is None:
            break
        ancestors.append(parent)
        parent_id = parent.parent_id
    return ancestors


def expand_implied(session: Session, role_ids: set[str]) -> set[str]:
    """Add every role implied, directly or transitively, by the given ones."""
    result = set(role_ids)
    frontier = set(role_ids)
    while frontier:
        implied = set(session.scalars(sa.select(ImpliedRole.implied_role_id)
                                      .where(ImpliedRole.prior_role_id.in_(frontier))))
        frontier = implied - result
        result |= implied
    return result


def effective_role_ids(session: Session, user_id: str, target_type: str,
                       target_id: str) -> set[str]:
    """Roles a user holds on a project, domain or the system, from every source.

    Sources: direct assignments, assignments to the user's groups, roles
    inherited from the project's domain and parent projects, and the roles
    those imply.  Domain-specific roles only stand for the roles they imply,
    as in Keystone: they never appear themselves.
    """
    actors = [user_id, *group_ids_of_user(session, user_id)]
    direct = sa.and_(RoleAssignment.target_type == target_type,
                     RoleAssignment.target_id == target_id,
                     RoleAssignment.inherited.is_(False))
    conditions = [direct]
    if target_type == "project":
        project = session.get(Project, target_id)
        if project is not None:
            conditions.append(sa.and_(RoleAssignment.target_type == "domain",
                                      RoleAssignment.target_id == project.domain_id,
                                      RoleAssignment.inherited.is_(True)))
            ancestor_ids = [p.id for p in project_ancestors(session, project)]
            if ancestor_ids:
                conditions.append(sa.and_(RoleAssignment.target_type == "project",
                                          RoleAssignment.target_id.in_(ancestor_ids),
                                          RoleAssignment.inherited.is_(True)))
    role_ids = set(session.scalars(sa.select(RoleAssignment.role_id).where(
        RoleAssignment.actor_id.in_(actors), sa.or_(*conditions))))
    return without_domain_roles(session, expand_implied(session, role_ids))


def without_domain_roles(session: Session, role_ids: set[str]) -> set[str]:
    if not role_ids:
        return role_ids
    domain_roles = set(session.scalars(sa.select(Role.id).where(
        Role.id.in_(role_ids), Role.domain_id.is_not(None))))
    return role_ids - domain_roles


def roles_by_ids(session: Session, role_ids: set[str] | list[str]) -> list[Role]:
    if not role_ids:
        return []
    return list(session.scalars(sa.select(Role).where(Role.id.in_(role_ids))
                                .order_by(Role.name)))


def target_ids_with_roles(session: Session, user_id: str, target_type: str) -> set[str]:
    """Projects or domains on which a user holds some role (directly, through
    groups, or inherited from a domain or parent project)."""
    actors = [user_id, *group_ids_of_user(session, user_id)]
    rows = session.execute(sa.select(RoleAssignment.target_type, RoleAssignment.target_id,
                                     RoleAssignment.inherited)
                           .where(RoleAssignment.actor_id.in_(actors))).all()
    direct = {target_id for kind, target_id, inherited in rows
              if kind == target_type and not inherited}
    if target_type != "project":
        return direct
    inherited_domains = {t for kind, t, inherited in rows if kind == "domain" and inherited}
    inherited_parents = {t for kind, t, inherited in rows if kind == "project" and inherited}
    if inherited_domains:
        direct |= set(session.scalars(sa.select(Project.id).where(
            Project.domain_id.in_(inherited_domains))))
    frontier = inherited_parents
    while frontier:
        children = set(session.scalars(sa.select(Project.id).where(
            Project.parent_id.in_(frontier))))
        frontier = children - direct
        direct |= children
    return direct


__all__ = ["SYSTEM_TARGET", "effective_role_ids", "roles_by_ids", "expand_implied",
           "group_ids_of_user", "project_ancestors", "target_ids_with_roles"]



def _find(session: Session, model, kind: str, entity_id: str):
    entity = session.get(model, entity_id)
    if entity is None:
        raise NotFound(f"Could not find {kind}: {entity_id}.")
    return entity


# -- roles ---------------------------------------------------------------------

def get_role(session: Session, role_id: str) -> Role:
    return _find(session, Role, "role", role_id)


def list_roles(session: Session, domain_id: str | None) -> list[Role]:
    """The roles of one domain, or the global roles when domain_id is None."""
    owner = Role.domain_id.is_(None) if domain_id is None else Role.domain_id == domain_id
    return list(session.scalars(sa.select(Role).where(owner).order_by(Role.name, Role.id)))


def create_role(session: Session, *, name: str, domain_id: str | None = None,
                description: str | None = None, options: dict | None = None,
                extra: dict | None = None) -> Role:
    if domain_id is not None:
        resource.get_domain(session, domain_id)
    _check_role_name_free(session, name, domain_id, "store")
    role = Role(id=new_id(), name=name, domain_id=domain_id,
                description=description, options=_set_options({}, options or {}),
                extra=extra or {})
    session.add(role)
    session.flush()
    return role


def update_role(session: Session, role_id: str, changes: dict) -> Role:
    role = get_role(session, role_id)
    if role.options.get("immutable"):
        # Keystone lets an immutable role be changed only to clear the flag.
        unlocking = (set(changes) == {"options"} and "immutable" in changes["options"]
                     and not changes["options"]["immutable"])
        if not unlocking:
            raise Forbidden(f"Unable to update immutable role resource: `{role_id}. Set "
                            "resource option \"immutable\" to false first.")
    if "domain_id" in changes and changes["domain_id"] != role.domain_id:
        raise BadRequest("Update of `domain_id` is not allowed.")
    if "name" in changes and changes["name"] != role.name:
        _check_role_name_free(session, changes["name"], role.domain_id, "update")
        role.name = changes["name"]
    if "description" in changes:
        role.description = changes["description"]
    if "options" in changes:
        role.options = _set_options(role.options, changes["options"])
    session.flush()
    return role


def delete_role(session: Session, role_id: str) -> None:
    """Delete a role with its assignments and implications; tokens holding it lose it."""
    role = get_role(session, role_id)
    if role.options.get("immutable"):
        raise Forbidden(f"Unable to delete immutable role resource: `{role_id}. Set "
                        "resource option \"immutable\" to false first.")
    session.execute(sa.delete(RoleAssignment).where(RoleAssignment.role_id == role_id))
    session.execute(sa.delete(ImpliedRole).where(sa.or_(
        ImpliedRole.prior_role_id == role_id, ImpliedRole.implied_role_id == role_id)))
    session.delete(role)
    revoke.bump_revision(session)


def _check_role_name_free(session: Session, name: str, domain_id: str | None,
                          action: str) -> None:
    # Checked here, not by a unique index: NULL domain ids never collide in SQL.
    owner = Role.domain_id.is_(None) if domain_id is None else Role.domain_id == domain_id
    if session.scalar(sa.select(Role.id).where(Role.name == name, owner)):
        raise Conflict(f"Conflict occurred attempting to {action} role - Duplicate entry "
                       f"found with name {name}.")


def _set_options(current: dict, changes: dict) -> dict:
    """Resource options: a null value removes the option."""
    options = dict(current)
    for key, value in changes.items():
        if value is None:
            options.pop(key, None)
        else:
            options[key] = value
    return options


# -- implied roles ---------------------------------------------------------------

def create_implied_role(session: Session, prior_role_id: str,
                        implied_role_id: str) -> tuple[Role, Role]:
    prior = get_role(session, prior_role_id)
    implied = get_role(session, implied_role_id)
    if implied.name in PROHIBITED_IMPLIED_ROLES:
        raise Forbidden(f"{implied_role_id} cannot be an implied roles.")
    if prior.domain_id is None and implied.domain_id is not None:
        raise Forbidden("Global role cannot imply a domain-specific role")
    if prior_role_id in expand_implied(session, {implied_role_id}):
        raise BadRequest(f"Role {prior_role_id} cannot imply role {implied_role_id}: "
                         f"{implied_role_id} already implies {prior_role_id}, and role "
                         "inferences must not form a cycle.")
    if session.get(ImpliedRole, (prior_role_id, implied_role_id)):
        raise Conflict(f"Conflict occurred attempting to store implied_role - Duplicate "
                       f"entry found: {prior_role_id} already implies {implied_role_id}.")
    session.add(ImpliedRole(prior_role_id=prior_role_id, implied_role_id=implied_role_id))
    session.flush()
    # Tokens of holders of the prior role now carry one more role.
    revoke.bump_revision(session)
    return prior, implied


def get_implied_role(session: Session, prior_role_id: str,
                     implied_role_id: str) -> tuple[Role, Role]:
    prior = get_role(session, prior_role_id)
    implied = get_role(session, implied_role_id)
    if session.get(ImpliedRole, (prior_role_id, implied_role_id)) is None:
        raise NotFound(f"{prior_role_id} does not imply {implied_role_id}.")
    return prior, implied


def delete_implied_role(session: Session, prior_role_id: str, implied_role_id: str) -> None:
    get_implied_role(session, prior_role_id, implied_role_id)
    session.execute(sa.delete(ImpliedRole).where(
        ImpliedRole.prior_role_id == prior_role_id,
        ImpliedRole.implied_role_id == implied_role_id))
    revoke.bump_revision(session)


def implied_roles_of(session: Session, prior_role_id: str) -> tuple[Role, list[Role]]:
    """A role and the roles it implies directly."""
    prior = get_role(session, prior_role_id)
    implied = session.scalars(sa.select(Role).join(
        ImpliedRole, ImpliedRole.implied_role_id == Role.id).where(
        ImpliedRole.prior_role_id == prior_role_id).order_by(Role.name))
    return prior, list(implied)


def role_inference_rules(session: Session) -> list[tuple[Role, list[Role]]]:
    """Every role that implies others, with the roles it implies directly."""
    rules = session.execute(sa.select(ImpliedRole)).scalars().all()
    implied_by_prior: dict[str, list[str]] = defaultdict(list)
    for rule in rules:
        implied_by_prior[rule.prior_role_id].append(rule.implied_role_id)
    roles = {role.id: role for role in roles_by_ids(
        session, {r.prior_role_id for r in rules} | {r.implied_role_id for r in rules})}
    return [(roles[prior_id], sorted((roles[i] for i in implied_ids), key=lambda r: r.name))
            for prior_id, implied_ids in sorted(implied_by_prior.items(),
                                                key=lambda item: roles[item[0]].name)]


# -- grants ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Grant:
    """A role given, or to be given, to a user or group on a project, domain or the system.

    ``role_id`` is None when the grant names every role of the actor on the target
    (the list forms of the grant API).
    """

    actor_type: str     # user | group
    actor_id: str
    target_type: str    # project | domain | system
    target_id: str      # SYSTEM_TARGET for the system
    inherited: bool = False
    role_id: str | None = None

    def where(self):
        clauses = [RoleAssignment.actor_type == self.actor_type,
                   RoleAssignment.actor_id == self.actor_id,
                   RoleAssignment.target_type == self.target_type,
                   RoleAssignment.target_id == self.target_id,
                   RoleAssignment.inherited.is_(self.inherited)]
        if self.role_id is not None:
            clauses.append(RoleAssignment.role_id == self.role_id)
        return sa.and_(*clauses)


_ACTOR_MODELS = {"user": User, "group": Group}


def grant_policy_target(session: Session, grant: Grant) -> dict:
    """What policy rules may test about a grant's role, actor and target.

    Entities that do not exist are left out (the rule then cannot match them);
    the service reports them as 404 once the caller is allowed to know.
    """
    target: dict = {}
    role = session.get(Role, grant.role_id) if grant.role_id else None
    if role is not None:
        target.update({"target.role.id": role.id, "target.role.domain_id": role.domain_id})
    actor = session.get(_ACTOR_MODELS[grant.actor_type], grant.actor_id)
    if actor is not None:
        target.update({f"target.{grant.actor_type}.id": actor.id,
                       f"target.{grant.actor_type}.domain_id": actor.domain_id})
    if grant.target_type == "project":
        project = session.get(Project, grant.target_id)
        if project is not None:
            target.update({"target.project.id": project.id,
                           "target.project.domain_id": project.domain_id})
    elif grant.target_type == "domain":
        target["target.domain.id"] = grant.target_id
    return target


def _check_grant_parts(session: Session, grant: Grant, *, actor_must_exist: bool = True
                       ) -> tuple[Role | None, Project | None]:
    """404 naming the first of the role, target and actor that does not exist."""
    role = get_role(session, grant.role_id) if grant.role_id else None
    project = None
    if grant.target_type == "project":
        project = _find(session, Project, "project", grant.target_id)
    elif grant.target_type == "domain":
        resource.get_domain(session, grant.target_id)
    if actor_must_exist:
        _find(session, _ACTOR_MODELS[grant.actor_type], grant.actor_type, grant.actor_id)
    return role, project


def create_grant(session: Session, grant: Grant) -> None:
    """Give the role; granting a role the actor already holds there changes nothing."""
    role, project = _check_grant_parts(session, grant)
    if role.domain_id is not None:
        if project is not None and project.domain_id != role.domain_id:
            raise Forbidden(f"Project {project.id} must be in the same domain as the role "
                            f"{role.id} being assigned.")
        if grant.target_type == "system":
            raise BadRequest(f"Role {role.id} is a domain-specific role. Unable to grant a "
                             "domain-specific role on the system.")
    if session.scalar(sa.select(RoleAssignment.role_id).where(grant.where())) is None:
        session.add(RoleAssignment(
            actor_type=grant.actor_type, actor_id=grant.actor_id,
            target_type=grant.target_type, target_id=grant.target_id,
            role_id=grant.role_id, inherited=grant.inherited))
        session.flush()


def check_grant(session: Session, grant: Grant) -> None:
    _check_grant_parts(session, grant)
    if session.scalar(sa.select(RoleAssignment.role_id).where(grant.where())) is None:
        raise _grant_not_found(grant)


def revoke_grant(session: Session, grant: Grant) -> None:
    """Remove the role; tokens that relied on it lose it at once.

    The actor may already be gone: its leftover grants can still be removed.
    """
    _check_grant_parts(session, grant, actor_must_exist=False)
    if not session.execute(sa.delete(RoleAssignment).where(grant.where())).rowcount:
        raise _grant_not_found(grant)
    revoke.bump_revision(session)


def list_grants(session: Session, grant: Grant) -> list[Role]:
    """The roles given directly to the actor on the target (inherited ones, if asked)."""
    _check_grant_parts(session, grant)
    return roles_by_ids(session, set(session.scalars(
        sa.select(RoleAssignment.role_id).where(grant.where()))))


def _grant_not_found(grant: Grant) -> NotFound:
    return NotFound(f"Could not find role assignment with role: {grant.role_id}, user or "
                    f"group: {grant.actor_id}, project, domain, or system: "
                    f"{grant.target_id}.")


# -- the role assignments list -------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class AssignmentFilter:
    """The filters of GET /v3/role_assignments."""

    user_id: str | None = None
    group_id: str | None = None
    role_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited: bool | None = None   # None: both; True: only inherited_to projects
    effective: bool = False
    include_subtree: bool = False
    # A domain-scoped caller sees only assignments on its domain and its projects.
    visible_domain_id: str | None = None


@dataclasses.dataclass(frozen=True)
class Assignment:
    """One entry of the list; effective entries also say how they were derived."""

    actor_type: str
    actor_id: str
    target_type: str
    target_id: str
    role_id: str
    inherited: bool = False
    via_group_id: str | None = None                  # from this group's grant
    inherited_from: tuple[str, str] | None = None    # (target_type, id) of the inherited grant
    prior_role_id: str | None = None                 # implied by this role

    @property
    def inherited_to_projects(self) -> bool:
        return self.inherited or self.inherited_from is not None


class _ProjectTree:
    """Every project's place, read once for a listing that needs the hierarchy."""

    def __init__(self, session: Session):
        self.domain_of: dict[str, str] = {}
        self.children: dict[str, list[str]] = defaultdict(list)
        self.in_domain: dict[str, list[str]] = defaultdict(list)
        for project_id, parent_id, domain_id in session.execute(
                sa.select(Project.id, Project.parent_id, Project.domain_id)
                .order_by(Project.name)):
            self.domain_of[project_id] = domain_id
            self.in_domain[domain_id].append(project_id)
            if parent_id:
                self.children[parent_id].append(project_id)

    def descendants(self, project_id: str) -> list[str]:
        found, frontier = [], list(self.children[project_id])
        while frontier:
            child = frontier.pop(0)
            found.append(child)
            frontier.extend(self.children[child])
        return found


def list_role_assignments(session: Session, wanted: AssignmentFilter) -> list[Assignment]:
    """Keystone's role assignment list: the grants as stored or, with ``effective``,
    what each user actually holds where (groups, inheritance and implied roles expanded)."""
    _check_filter(session, wanted)
    rows = session.scalars(sa.select(RoleAssignment).where(*_actor_clauses(session, wanted))
                           .order_by(RoleAssignment.actor_type, RoleAssignment.actor_id,
                                     RoleAssignment.target_type, RoleAssignment.target_id,
                                     RoleAssignment.role_id))
    entries = [Assignment(row.actor_type, row.actor_id, row.target_type, row.target_id,
                          row.role_id, row.inherited) for row in rows]
    needs_tree = wanted.effective or wanted.include_subtree or wanted.visible_domain_id
    tree = _ProjectTree(session) if needs_tree else None
    if wanted.effective:
        entries = _expand_groups(session, entries, wanted.user_id)
        entries = _expand_inheritance(entries, tree)
        entries = _expand_implied(session, entries)
    project_ids = None
    if wanted.project_id:
        project_ids = {wanted.project_id}
        if wanted.include_subtree:
            project_ids.update(tree.descendants(wanted.project_id))
    return [entry for entry in dict.fromkeys(entries)
            if _selected(entry, wanted, project_ids, tree)]


def _check_filter(session: Session, wanted: AssignmentFilter) -> None:
    exclusive = (
        (wanted.domain_id and wanted.project_id, "Specify a domain or project, not both"),
        (wanted.domain_id and wanted.system, "Specify system or domain, not both"),
        (wanted.project_id and wanted.system, "Specify system or project, not both"),
        (wanted.user_id and wanted.group_id, "Specify a user or group, not both"),
        (wanted.effective and wanted.group_id,
         "Combining effective and group filter will always result in an empty list."),
        (wanted.effective and wanted.inherited and wanted.domain_id,
         "Combining effective, domain and inherited filters will always result in an "
         "empty list."),
        (wanted.include_subtree and not wanted.project_id,
         "scope.project.id must be specified if include_subtree is also specified"),
    )
    for refused, message in exclusive:
        if refused:
            raise BadRequest(message)
    if wanted.include_subtree:
        _find(session, Project, "project", wanted.project_id)


def _actor_clauses(session: Session, wanted: AssignmentFilter) -> list:
    if wanted.user_id:
        user_grant = sa.and_(RoleAssignment.actor_type == "user",
                             RoleAssignment.actor_id == wanted.user_id)
        if not wanted.effective:
            return [user_grant]
        return [sa.or_(user_grant, sa.and_(
            RoleAssignment.actor_type == "group",
            RoleAssignment.actor_id.in_(group_ids_of_user(session, wanted.user_id))))]
    if wanted.group_id:
        return [RoleAssignment.actor_type == "group", RoleAssignment.actor_id == wanted.group_id]
    return []


def _expand_groups(session: Session, entries: list[Assignment],
                   user_id: str | None) -> list[Assignment]:
    """Each group grant becomes one entry per member (or only the user asked about)."""
    group_ids = {e.actor_id for e in entries if e.actor_type == "group"}
    members: dict[str, list[str]] = defaultdict(list)
    query = sa.select(GroupMembership).where(GroupMembership.group_id.in_(group_ids))
    if user_id:
        query = query.where(GroupMembership.user_id == user_id)
    for membership in session.scalars(query.order_by(GroupMembership.user_id)):
        members[membership.group_id].append(membership.user_id)
    expanded = []
    for entry in entries:
        if entry.actor_type == "user":
            expanded.append(entry)
            continue
        expanded.extend(dataclasses.replace(entry, actor_type="user", actor_id=member,
                                            via_group_id=entry.actor_id)
                        for member in members[entry.actor_id])
    return expanded


def _expand_inheritance(entries: list[Assignment], tree: _ProjectTree) -> list[Assignment]:
    """Each inherited grant becomes one entry per project it reaches."""
    expanded = []
    for entry in entries:
        if not entry.inherited:
            expanded.append(entry)
            continue
        projects = (tree.in_domain[entry.target_id] if entry.target_type == "domain"
                    else tree.descendants(entry.target_id))
        expanded.extend(dataclasses.replace(
            entry, target_type="project", target_id=project_id, inherited=False,
            inherited_from=(entry.target_type, entry.target_id)) for project_id in projects)
    return expanded


def _expand_implied(session: Session, entries: list[Assignment]) -> list[Assignment]:
    """Add an entry for every role implied, then drop the domain-specific roles, which
    only stand for what they imply."""
    implies: dict[str, list[str]] = defaultdict(list)
    for rule in session.scalars(sa.select(ImpliedRole)):
        implies[rule.prior_role_id].append(rule.implied_role_id)
    expanded = []
    for entry in entries:
        seen = {entry.role_id}
        frontier = [entry]
        while frontier:
            current = frontier.pop(0)
            expanded.append(current)
            for implied_id in implies[current.role_id]:
                if implied_id not in seen:
                    seen.add(implied_id)
                    frontier.append(dataclasses.replace(current, role_id=implied_id,
                                                        prior_role_id=current.role_id))
    domain_roles = set(session.scalars(sa.select(Role.id).where(Role.domain_id.is_not(None))))
    return [entry for entry in expanded if entry.role_id not in domain_roles]


def _selected(entry: Assignment, wanted: AssignmentFilter, project_ids: set[str] | None,
              tree: _ProjectTree | None) -> bool:
    if wanted.user_id and (entry.actor_type, entry.actor_id) != ("user", wanted.user_id):
        return False
    if wanted.group_id and (entry.actor_type, entry.actor_id) != ("group", wanted.group_id):
        return False
    if wanted.role_id and entry.role_id != wanted.role_id:
        return False
    if project_ids is not None and not (entry.target_type == "project"
                                        and entry.target_id in project_ids):
        return False
    if wanted.domain_id and (entry.target_type, entry.target_id) != ("domain",
                                                                       wanted.domain_id):
        return False
    if wanted.system and entry.target_type != "system":
        return False
    if wanted.inherited is not None and entry.inherited_to_projects != wanted.inherited:
        return False
    if wanted.visible_domain_id:
        domain_id = (entry.target_id if entry.target_type == "domain"
                     else tree.domain_of.get(entry.target_id))
        return domain_id == wanted.visible_domain_id
    return True


def named_refs(session: Session, entries: Iterable[Assignment]) -> dict[tuple[str, str], dict]:
    """References with names (and owning domains) for everything the entries mention,
    keyed by (kind, id); for include_names."""
    ids: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        ids[entry.actor_type].add(entry.actor_id)
        ids[entry.target_type].add(entry.target_id)
        ids["role"].add(entry.role_id)
    models = {"user": User, "group": Group, "project": Project, "role": Role}
    found = {kind: session.scalars(sa.select(model).where(model.id.in_(ids[kind]))).all()
             for kind, model in models.items()}
    domain_ids = ids["domain"] | {e.domain_id for rows in found.values() for e in rows
                                  if e.domain_id}
    domains = {d.id: {"id": d.id, "name": d.name} for d in
               session.scalars(sa.select(Domain).where(Domain.id.in_(domain_ids)))}
    refs: dict[tuple[str, str], dict] = {("domain", i): ref for i, ref in domains.items()}
    for kind, rows in found.items():
        for entity in rows:
            ref = {"id": entity.id, "name": entity.name}
            if entity.domain_id in domains:
                ref["domain"] = domains[entity.domain_id]
            refs[(kind, entity.id)] = ref
    return refs
