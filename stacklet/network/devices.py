"""Whose device a port names: a port's device_id says which server or router
it is plugged into, and only an admin may name one of another project.

Neutron refuses a non-admin naming another project's router
(DeviceIDNotOwnedByTenant, 409); servers are refused alike, so a project
cannot make its port look plugged into someone else's server (compute
ignores such a port anyway: ``compute_ports.is_nic_of``).  A device_id that
names no server or router (another tool's device) is the owner's business.
"""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.compute.models import Instance
from stacklet.network import ipam
from stacklet.network.errors import DeviceIDNotOwnedByTenant
from stacklet.network.models import Port, Router


def check_named_device(session, ctx, values: dict, port: Port | None = None) -> None:
    """Refuse a create (``port`` None) or update of a port whose device would
    then be another project's server or router, unless the caller is an admin."""
    if ctx.is_admin or (port is not None and
                        "device_id" not in values and "device_owner" not in values):
        return
    device_owner = values.get("device_owner", port.device_owner if port else "") or ""
    device_id = values.get("device_id", port.device_id if port else "") or ""
    owner = _device_project(session, device_owner, device_id)
    if owner is not None and owner != ctx.project_id:
        raise DeviceIDNotOwnedByTenant(f"The following device_id {device_id} is not owned "
                                       "by your tenant or matches another tenants router.")


def _device_project(session, device_owner: str, device_id: str) -> str | None:
    if not device_id:
        return None
    if device_owner.startswith("compute:"):
        return session.scalar(sa.select(Instance.project_id).where(Instance.id == device_id))
    if device_owner in ipam.ROUTER_OWNERS:
        return session.scalar(sa.select(Router.project_id).where(Router.id == device_id))
    return None
