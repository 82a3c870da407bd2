"""Network quotas: Neutron's defaults, per-project limits and their enforcement.

Counting happens inside the creating transaction, so the count includes
everything committed before it (SQLite serialises writers).
"""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.common import errors
from stacklet.network import models
from stacklet.network.errors import OverQuota, neutron_error

InvalidQuotaValue = neutron_error(errors.Conflict, "InvalidQuotaValue")

# Neutron's default quotas; -1 is unlimited.
DEFAULTS = {"network": 100, "subnet": 100, "subnetpool": -1, "port": 500, "router": 10,
            "floatingip": 50, "security_group": 10, "security_group_rule": 100,
            "rbac_policy": 10}

COUNTED = {"network": models.Network, "subnet": models.Subnet,
           "subnetpool": models.SubnetPool, "port": models.Port, "router": models.Router,
           "floatingip": models.FloatingIP, "security_group": models.SecurityGroup,
           "security_group_rule": models.SecurityGroupRule}


def default_limits(config) -> dict[str, int]:
    return {resource: config.get("network", f"quota_{resource}") for resource in DEFAULTS}


def limits(session, config, project_id: str) -> dict[str, int]:
    """The project's limit for every resource: its own where set, else the default."""
    found = default_limits(config)
    rows = session.execute(sa.select(models.Quota.resource, models.Quota.limit).where(
        models.Quota.project_id == project_id))
    found.update({resource: limit for resource, limit in rows if resource in found})
    return found


def usage(session, project_id: str, resource: str) -> int:
    model = COUNTED[resource]
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(
        model.project_id == project_id)) or 0


def check(session, config, project_id: str, resource: str, adding: int = 1) -> None:
    """409 OverQuota when the project would go over its limit by adding these."""
    limit = limits(session, config, project_id)[resource]
    if limit < 0:
        return
    if usage(session, project_id, resource) + adding > limit:
        raise OverQuota(f"Quota exceeded for resources: ['{resource}'].")


def usages(session, project_id: str) -> dict[str, int]:
    """What the project uses of each resource there is a limit on."""
    return {resource: usage(session, project_id, resource) if resource in COUNTED else 0
            for resource in DEFAULTS}


def projects_with_limits(session) -> list[str]:
    """The projects an admin set a quota for (GET /v2.0/quotas)."""
    return list(session.scalars(sa.select(models.Quota.project_id).distinct()
                                .order_by(models.Quota.project_id)))


def check_not_below_usage(session, project_id: str, new_limits: dict[str, int]) -> None:
    """409 InvalidQuotaValue when a new limit is below what the project already uses."""
    under = sorted(resource for resource, limit in new_limits.items()
                   if limit >= 0 and resource in COUNTED
                   and usage(session, project_id, resource) > limit)
    if under:
        raise InvalidQuotaValue(f"Change would make usage less than 0 for the following "
                                f"resources: {under}.")


def set_limits(session, project_id: str, new_limits: dict[str, int]) -> None:
    for resource, limit in new_limits.items():
        row = session.get(models.Quota, (project_id, resource))
        if row is None:
            session.add(models.Quota(project_id=project_id, resource=resource, limit=limit))
        else:
            row.limit = limit
    session.flush()


def reset(session, project_id: str) -> None:
    """Back to the defaults for every resource."""
    session.execute(sa.delete(models.Quota).where(models.Quota.project_id == project_id))
