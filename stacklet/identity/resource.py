"""Domains and projects (Keystone's "resource" backend)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.context import RequestContext
from stacklet.common.errors import BadRequest, Conflict, Forbidden, NotFound
from stacklet.identity import assignment, revoke
from stacklet.identity.models import (
    ApplicationCredential,
    Domain,
    Group,
    Project,
    Role,
    RoleAssignment,
    User,
    new_id,
)
from stacklet.identity.records import get_or_404

DEFAULT_DOMAIN_ID = "default"
# Keystone's default max_project_tree_depth; the domain counts as one level.
MAX_PROJECT_TREE_DEPTH = 5
# Keystone's limit on tags per project.
MAX_PROJECT_TAGS = 80


def get_domain(session: Session, domain_id: str) -> Domain:
    return get_or_404(session, Domain, domain_id, "domain")


def list_domains(session: Session) -> list[Domain]:
    return list(session.scalars(sa.select(Domain).order_by(Domain.name)))


def get_project_or_domain(session: Session, project_id: str) -> Project | Domain:
    """A project, or a domain addressed as a project acting as a domain."""
    found = session.get(Project, project_id) or session.get(Domain, project_id)
    if found is None:
        raise NotFound(f"Could not find project: {project_id}.")
    return found


def create_domain(session: Session, *, name: str, description: str = "",
                  enabled: bool = True, domain_id: str | None = None,
                  extra: dict | None = None) -> Domain:
    if session.scalar(sa.select(Domain.id).where(Domain.name == name)):
        raise Conflict(f"Conflict occurred attempting to store domain - Duplicate entry "
                       f"found with name {name}.")
    if domain_id and session.get(Domain, domain_id):
        raise Conflict(f"Conflict occurred attempting to store domain - Duplicate entry "
                       f"found with ID {domain_id}.")
    domain = Domain(id=domain_id or new_id(), name=name, description=description or "",
                    enabled=enabled, extra=extra or {})
    session.add(domain)
    session.flush()
    return domain


def update_domain(session: Session, domain_id: str, changes: dict) -> Domain:
    domain = get_domain(session, domain_id)
    if "name" in changes and changes["name"] != domain.name and session.scalar(
            sa.select(Domain.id).where(Domain.name == changes["name"])):
        raise Conflict(f"Conflict occurred attempting to update domain - Duplicate entry "
                       f"found with name {changes['name']}.")
    if domain_id == DEFAULT_DOMAIN_ID and changes.get("enabled") is False:
        raise Forbidden("The default domain cannot be disabled.")
    for field in ("name", "description", "enabled"):
        if field in changes:
            setattr(domain, field, changes[field] if changes[field] is not None else "")
    if changes.get("enabled") is False:
        revoke.bump_revision(session)
    session.flush()
    return domain


def delete_domain(session: Session, domain_id: str) -> None:
    """Delete a disabled domain and everything in it, as Keystone does."""
    domain = get_domain(session, domain_id)
    if domain.enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    if domain_id == DEFAULT_DOMAIN_ID:
        raise Forbidden("The default domain cannot be deleted.")
    project_ids = list(session.scalars(sa.select(Project.id)
                                       .where(Project.domain_id == domain_id)))
    user_ids = list(session.scalars(sa.select(User.id).where(User.domain_id == domain_id)))
    group_ids = list(session.scalars(sa.select(Group.id).where(Group.domain_id == domain_id)))
    targets = [domain_id, *project_ids]
    actors = [*user_ids, *group_ids]
    session.execute(sa.delete(RoleAssignment).where(sa.or_(
        RoleAssignment.target_id.in_(targets), RoleAssignment.actor_id.in_(actors))))
    # Children before parents: clear the parent links first.
    session.execute(sa.update(Project).where(Project.domain_id == domain_id)
                    .values(parent_id=None))
    for model in (Project, User, Group, Role):
        session.execute(sa.delete(model).where(model.domain_id == domain_id))
    session.delete(domain)
    revoke.bump_revision(session)


def check_name(name: str, kind: str) -> str:
    if not name.strip():
        raise BadRequest(f"The {kind} name must not be blank.")
    return name


def scope_domain_id(ctx: RequestContext) -> str:
    """The domain a new user, group or project goes to when the request names none:
    the token's domain, else its project's domain, else the default domain."""
    return ctx.domain_id or ctx.project_domain_id or DEFAULT_DOMAIN_ID


# -- projects ------------------------------------------------------------------

def get_project(session: Session, project_id: str) -> Project:
    return get_or_404(session, Project, project_id, "project")


def list_projects(session: Session, *, domain_id: str | None = None) -> list[Project]:
    query = sa.select(Project).order_by(Project.name)
    if domain_id is not None:
        query = query.where(Project.domain_id == domain_id)
    return list(session.scalars(query))


def projects_by_ids(session: Session, project_ids: set[str]) -> list[Project]:
    if not project_ids:
        return []
    return list(session.scalars(sa.select(Project).where(Project.id.in_(project_ids))
                                .order_by(Project.name)))


def project_parent_id(project: Project) -> str:
    """Keystone shows a top-level project's parent as its domain (a domain is a project)."""
    return project.parent_id or project.domain_id


def project_subtree(session: Session, project: Project) -> list[Project]:
    """Every project below this one, breadth first."""
    subtree: list[Project] = []
    frontier = [project.id]
    while frontier:
        children = list(session.scalars(sa.select(Project).where(
            Project.parent_id.in_(frontier)).order_by(Project.name)))
        subtree.extend(children)
        frontier = [child.id for child in children]
    return subtree


def tags_match(tags: list[str], filters: dict[str, list[str]]) -> bool:
    """Keystone's tag filters: ``tags`` (all of), ``tags-any`` (any of),
    ``not-tags`` (not all of) and ``not-tags-any`` (none of)."""
    present = set(tags)
    checks = {"tags": lambda wanted: wanted <= present,
              "tags-any": lambda wanted: bool(wanted & present),
              "not-tags": lambda wanted: not wanted <= present,
              "not-tags-any": lambda wanted: not wanted & present}
    return all(checks[name](set(wanted)) for name, wanted in filters.items())


def _check_project_name_free(session: Session, domain_id: str, name: str, action: str) -> None:
    if session.scalar(sa.select(Project.id).where(Project.domain_id == domain_id,
                                                  Project.name == name)):
        raise Conflict(f"Conflict occurred attempting to {action} project - Duplicate entry "
                       f"found with name {name} in domain {domain_id}.")


def create_project(session: Session, *, name: str, domain_id: str | None,
                   parent_id: str | None, default_domain_id: str, description: str = "",
                   enabled: bool = True, tags: list[str] | None = None,
                   extra: dict | None = None) -> Project:
    """A new project in a domain, under a parent project or at the top.

    The domain defaults to the parent's, else to ``default_domain_id``.  A
    parent may also be given as the domain itself, meaning the top level.
    As in Keystone, an unknown domain or parent is a 400 here, not a 404.
    """
    parent = None
    if parent_id is not None:
        parent = session.get(Project, parent_id)
        if parent is None and session.get(Domain, parent_id) is None:
            raise BadRequest(f"Could not find project: {parent_id}.")
        parent_domain_id = parent.domain_id if parent is not None else parent_id
        domain_id = domain_id or parent_domain_id
        if domain_id != parent_domain_id:
            raise BadRequest(f"Cannot create project, the parent ({parent_id}) is in a "
                             f"different domain ({parent_domain_id}) than {domain_id}.")
    domain_id = domain_id or default_domain_id
    if session.get(Domain, domain_id) is None:
        raise BadRequest(f"Could not find domain: {domain_id}.")
    if parent is not None:
        branch = [parent, *assignment.project_ancestors(session, parent)]
        if enabled and not all(p.enabled for p in branch):
            raise BadRequest(f"Cannot create an enabled project in a branch containing a "
                             f"disabled project: {parent_id}.")
        # The domain, the branch and the new project itself.
        if len(branch) + 2 > MAX_PROJECT_TREE_DEPTH:
            raise Forbidden(f"Max hierarchy depth reached for {parent_id} branch.")
    _check_project_name_free(session, domain_id, name, "create")
    project = Project(id=new_id(), name=name, domain_id=domain_id,
                      parent_id=parent.id if parent else None, description=description or "",
                      enabled=enabled, tags=list(tags or []), extra=extra or {})
    session.add(project)
    session.flush()
    return project


def update_project(session: Session, project_id: str, changes: dict, extra: dict) -> Project:
    """Change a project's name, description, enabled flag, tags or extra attributes.

    Its domain, parent and kind cannot change.  Disabling it invalidates its
    tokens at once (validation re-reads ``enabled``).
    """
    project = get_project(session, project_id)
    if changes.get("domain_id", project.domain_id) != project.domain_id:
        raise BadRequest("Update of domain_id is not allowed.")
    if changes.get("is_domain", False) is not False:
        raise BadRequest("Update of is_domain is not allowed.")
    if "parent_id" in changes and changes["parent_id"] != project_parent_id(project):
        raise Forbidden("Update of `parent_id` is not allowed.")
    if "name" in changes and changes["name"] != project.name:
        _check_project_name_free(session, project.domain_id, changes["name"], "update")
    if changes.get("enabled") is False and project.enabled:
        if any(child.enabled for child in project_subtree(session, project)):
            raise Forbidden(f"Cannot disable project {project_id} since its subtree "
                            "contains enabled projects.")
        revoke.bump_revision(session)
    if changes.get("enabled") is True and not project.enabled:
        disabled = [p.id for p in assignment.project_ancestors(session, project) if not p.enabled]
        if disabled:
            raise Forbidden(f"Cannot enable project {project_id} since it has disabled "
                            f"parents: {', '.join(disabled)}.")
    for field in ("name", "description", "enabled", "tags"):
        if field in changes:
            setattr(project, field, changes[field] if changes[field] is not None else "")
    if extra:
        project.extra = {**(project.extra or {}), **extra}
    session.flush()
    return project


def delete_project(session: Session, project_id: str) -> None:
    """Delete a leaf project, its role assignments and the application
    credentials made for it; its tokens stop working at once."""
    project = get_project(session, project_id)
    if session.scalar(sa.select(Project.id).where(Project.parent_id == project_id).limit(1)):
        raise Forbidden(f"Cannot delete the project {project_id} since it is not a leaf in "
                        "the hierarchy. Use the cascade option if you want to delete a "
                        "whole subtree.")
    session.execute(sa.delete(RoleAssignment).where(RoleAssignment.target_type == "project",
                                                    RoleAssignment.target_id == project_id))
    session.execute(sa.delete(ApplicationCredential)
                    .where(ApplicationCredential.project_id == project_id))
    session.delete(project)
    revoke.bump_revision(session)


# -- project tags ----------------------------------------------------------------

def set_project_tags(session: Session, project_id: str, tags: list[str]) -> Project:
    project = get_project(session, project_id)
    project.tags = list(tags)
    session.flush()
    return project


def add_project_tag(session: Session, project_id: str, tag: str) -> None:
    project = get_project(session, project_id)
    if tag in (project.tags or []):
        return
    if len(project.tags or []) >= MAX_PROJECT_TAGS:
        raise BadRequest(f"A project has at most {MAX_PROJECT_TAGS} tags.")
    project.tags = [*(project.tags or []), tag]


def check_project_tag(session: Session, project_id: str, tag: str) -> None:
    if tag not in (get_project(session, project_id).tags or []):
        raise NotFound(f"Could not find project tag: {tag}.")


def delete_project_tag(session: Session, project_id: str, tag: str) -> None:
    project = get_project(session, project_id)
    if tag not in (project.tags or []):
        raise NotFound(f"Could not find project tag: {tag}.")
    project.tags = [t for t in project.tags if t != tag]
