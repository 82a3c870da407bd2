"""What os-hosts tells of one compute host: its capacity, what its servers
claimed, and the share of each project (Nova's host resource summary)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.common.errors import NotFound
from stacklet.compute.hostinfo import servers_on
from stacklet.compute.models import ComputeNode


def get_host_node(session: orm.Session, host: str) -> ComputeNode:
    node = session.scalar(sa.select(ComputeNode).filter_by(host=host))
    if node is None:
        raise NotFound(f"Compute host {host} could not be found.")
    return node


def resource_summary(session: orm.Session, node: ComputeNode) -> list[dict]:
    """Rows of cpu, memory_mb and disk_gb: the host's total, what is claimed now
    ("(used_now)"), the sum of its servers' flavors ("(used_max)"), then each
    project's servers."""
    def row(project: str, cpu: int, memory_mb: int, disk_gb: int) -> dict:
        return {"resource": {"host": node.host, "project": project, "cpu": cpu,
                             "memory_mb": memory_mb, "disk_gb": disk_gb}}

    by_project: dict[str, list[int]] = {}
    for server in servers_on(session, [node.host])[node.host]:
        totals = by_project.setdefault(server.project_id, [0, 0, 0])
        totals[0] += server.vcpus
        totals[1] += server.memory_mb
        totals[2] += server.root_gb + server.ephemeral_gb
    used_max = [sum(column) for column in zip(*by_project.values())] or [0, 0, 0]
    return [row("(total)", node.vcpus, node.memory_mb, node.local_gb),
            row("(used_now)", node.vcpus_used, node.memory_mb_used, node.local_gb_used),
            row("(used_max)", *used_max),
            *(row(project, *totals) for project, totals in sorted(by_project.items()))]
