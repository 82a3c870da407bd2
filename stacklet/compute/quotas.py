"""Compute quotas as Nova keeps them: defaults from the configuration or the
'default' quota class, overridden per project and per user in a project.

Usage is counted from the rows themselves (servers, key pairs, server groups),
never kept in counters, so it cannot drift from what exists.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest, Forbidden
from stacklet.compute.models import (
    Instance,
    KeyPair,
    QuotaClassLimit,
    QuotaLimit,
    ServerGroup,
    ServerGroupMember,
)
from stacklet.config import Config

UNLIMITED = -1
DEFAULT_CLASS = "default"

# Resource name → the [compute] option holding its default.
CONFIGURED = {
    "instances": "quota_instances",
    "cores": "quota_cores",
    "ram": "quota_ram",
    "metadata_items": "quota_metadata_items",
    "injected_files": "quota_injected_files",
    "injected_file_content_bytes": "quota_injected_file_content_bytes",
    "injected_file_path_bytes": "quota_injected_file_path_length",
    "key_pairs": "quota_key_pairs",
    "server_groups": "quota_server_groups",
    "server_group_members": "quota_server_group_members",
}
# nova-network's quotas: shown (and settable) before 2.36, enforced by nothing.
NETWORK_DEFAULTS = {"fixed_ips": -1, "floating_ips": 10, "security_groups": 10,
                    "security_group_rules": 20}
INJECTED = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
RESOURCES = tuple(CONFIGURED) + tuple(NETWORK_DEFAULTS)


def visible_resources(version, *, quota_class: bool = False) -> list[str]:
    """The resources a quota (class) set shows at a microversion."""
    names = list(RESOURCES)
    if version.matches("2.36"):
        names = [name for name in names if name not in NETWORK_DEFAULTS]
    if version.matches("2.57"):
        names = [name for name in names if name not in INJECTED]
    if quota_class and not version.matches("2.50"):
        # Quota classes learned server groups only in 2.50.
        names = [name for name in names if not name.startswith("server_group")]
    return names


def class_limits(session: Session, config: Config, class_name: str = DEFAULT_CLASS) -> dict:
    """A quota class's limits; the 'default' class falls back on the configuration."""
    limits = dict(NETWORK_DEFAULTS)
    limits.update({name: config.get("compute", option) for name, option in CONFIGURED.items()})
    if class_name != DEFAULT_CLASS:
        # Only the default class means anything; others show what was set on them.
        limits.update(_class_rows(session, DEFAULT_CLASS))
    limits.update(_class_rows(session, class_name))
    return limits


def _class_rows(session: Session, class_name: str) -> dict:
    rows = session.scalars(sa.select(QuotaClassLimit).where(
        QuotaClassLimit.class_name == class_name))
    return {row.resource: row.hard_limit for row in rows}


def set_class_limits(session: Session, class_name: str, limits: dict[str, int]) -> None:
    for resource, hard_limit in limits.items():
        row = session.get(QuotaClassLimit, (class_name, resource))
        if row is None:
            session.add(QuotaClassLimit(class_name=class_name, resource=resource,
                                        hard_limit=hard_limit))
        else:
            row.hard_limit = hard_limit
    session.flush()


def _override_rows(session: Session, project_id: str, user_id: str) -> dict:
    rows = session.scalars(sa.select(QuotaLimit).where(
        QuotaLimit.project_id == project_id, QuotaLimit.user_id == user_id))
    return {row.resource: row.hard_limit for row in rows}


def get_limits(session: Session, config: Config, project_id: str,
               user_id: str | None = None) -> dict[str, int]:
    """Limits in force for a project, or for one user in it (the project's limits
    apply to a user unless set for the user)."""
    limits = class_limits(session, config)
    limits.update(_override_rows(session, project_id, ""))
    if user_id:
        limits.update(_override_rows(session, project_id, user_id))
    return limits


def _not_deleted_instances(project_id: str, user_id: str | None):
    query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Instance.vcpus), 0),
                      sa.func.coalesce(sa.func.sum(Instance.memory_mb), 0)).where(
        Instance.project_id == project_id, Instance.deleted.is_(False))
    if user_id:
        query = query.where(Instance.user_id == user_id)
    return query


def get_usage(session: Session, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """What a project (or one user in it) uses now, resource by resource."""
    instances, cores, ram = session.execute(_not_deleted_instances(project_id, user_id)).one()
    groups = sa.select(sa.func.count()).select_from(ServerGroup).where(
        ServerGroup.project_id == project_id)
    if user_id:
        groups = groups.where(ServerGroup.user_id == user_id)
    usage = {name: 0 for name in RESOURCES}
    usage.update(instances=int(instances), cores=int(cores), ram=int(ram),
                 server_groups=session.scalar(groups))
    if user_id:
        # Key pairs belong to users, not projects, as in Nova.
        usage["key_pairs"] = count_keypairs(session, user_id)
    return usage


def count_keypairs(session: Session, user_id: str) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(KeyPair).where(
        KeyPair.user_id == user_id))


def _exceeds(limit: int, used: int, requested: int) -> bool:
    return limit != UNLIMITED and used + requested > limit


@dataclasses.dataclass(frozen=True)
class _Over:
    resource: str
    requested: int
    used: int
    limit: int


def _first_over(session: Session, config: Config, project_id: str, user_id: str,
                deltas: dict[str, int]) -> _Over | None:
    """The first resource (by name, as Nova sorts them) that the deltas would take
    over the project's or the user's limit."""
    scopes = [(get_limits(session, config, project_id), get_usage(session, project_id))]
    if user_id and _override_rows(session, project_id, user_id):
        scopes.append((get_limits(session, config, project_id, user_id),
                       get_usage(session, project_id, user_id)))
    for resource in sorted(deltas):
        for limits, usage in scopes:
            if _exceeds(limits[resource], usage[resource], deltas[resource]):
                return _Over(resource, deltas[resource], usage[resource], limits[resource])
    return None


def check_instances(session: Session, project_id: str, user_id: str, count: int, vcpus: int,
                    ram: int, *, config: Config) -> None:
    """Refuse (403) ``count`` more servers of a flavor with ``vcpus`` and ``ram`` MiB
    each, when they would go over the instances, cores or ram quota.  ``config``
    (the cloud's) holds the default limits."""
    over = _first_over(session, config, project_id, user_id,
                       {"instances": count, "cores": count * vcpus, "ram": count * ram})
    if over is not None:
        raise Forbidden(f"Quota exceeded for {over.resource}: Requested {over.requested}, "
                        f"but already used {over.used} of {over.limit} {over.resource}")


def check(session: Session, project_id: str, user_id: str, resource: str, delta: int, *,
          config: Config, used: int | None = None) -> None:
    """Refuse (403) ``delta`` more of a resource over its quota.

    ``used`` is the current usage where it is not a project's count (a server
    group's members, a server's metadata items): the caller counts it.
    Key pairs are counted per user."""
    limit = get_limits(session, config, project_id, user_id)[resource]
    if used is None:
        if resource == "key_pairs":
            used = count_keypairs(session, user_id)
        else:
            used = get_usage(session, project_id)[resource]
    if _exceeds(limit, used, delta):
        raise Forbidden(_OVER_MESSAGES.get(resource, f"Quota exceeded for {resource}."))


def group_member_count(session: Session, group_id: str) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(ServerGroupMember).where(
        ServerGroupMember.group_id == group_id))


# Nova's own words for these, where it has its own.
_OVER_MESSAGES = {
    "key_pairs": "Quota exceeded, too many key pairs.",
    "server_groups": "Quota exceeded, too many server groups.",
    "server_group_members": "Quota exceeded, too many servers in group",
    "metadata_items": "Quota exceeded for metadata_items.",
}


# -- updates ------------------------------------------------------------------------

def update_limits(session: Session, config: Config, project_id: str, user_id: str | None,
                  changes: dict[str, int], force: bool) -> None:
    """Set a project's (or a user's) limits.  Without force a limit below what is
    already used is refused; a user's limit may never exceed the project's."""
    usage = get_usage(session, project_id, user_id)
    project_limits = get_limits(session, config, project_id)
    for resource, limit in changes.items():
        if limit < UNLIMITED:
            raise BadRequest(f"Quota limit {limit} for {resource} must be greater than or "
                             "equal to -1.")
        if not force and limit != UNLIMITED and limit < usage[resource]:
            raise BadRequest(f"Quota limit {limit} for {resource} must be greater than or "
                             f"equal to already used and reserved {usage[resource]}.")
        maximum = project_limits[resource]
        if user_id and maximum != UNLIMITED and (limit == UNLIMITED or limit > maximum):
            raise BadRequest(f"Quota limit {limit} for {resource} must be in the range of "
                             f"-1 and {maximum}.")
    for resource, limit in changes.items():
        key = (project_id, user_id or "", resource)
        row = session.get(QuotaLimit, key)
        if row is None:
            session.add(QuotaLimit(project_id=project_id, user_id=user_id or "",
                                   resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit
    session.flush()


def delete_limits(session: Session, project_id: str, user_id: str | None) -> None:
    """Back to the defaults: a project's own limits and its users' go, or one user's."""
    query = sa.delete(QuotaLimit).where(QuotaLimit.project_id == project_id)
    if user_id:
        query = query.where(QuotaLimit.user_id == user_id)
    session.execute(query)
