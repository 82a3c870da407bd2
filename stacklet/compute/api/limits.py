"""/limits: a project's absolute compute limits and what it uses (no rate limits)."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.compute import quotas

routes = RouteTable()

# Absolute limit name → (quota resource, microversion from which it is gone).
_MAXIMUMS = {
    "maxTotalInstances": ("instances", None),
    "maxTotalCores": ("cores", None),
    "maxTotalRAMSize": ("ram", None),
    "maxServerMeta": ("metadata_items", None),
    "maxTotalKeypairs": ("key_pairs", None),
    "maxServerGroups": ("server_groups", None),
    "maxServerGroupMembers": ("server_group_members", None),
    "maxTotalFloatingIps": ("floating_ips", "2.36"),
    "maxSecurityGroups": ("security_groups", "2.36"),
    "maxSecurityGroupRules": ("security_group_rules", "2.36"),
    "maxImageMeta": ("metadata_items", "2.39"),
    "maxPersonality": ("injected_files", "2.57"),
    "maxPersonalitySize": ("injected_file_content_bytes", "2.57"),
}
_USED = {
    "totalInstancesUsed": ("instances", None),
    "totalCoresUsed": ("cores", None),
    "totalRAMUsed": ("ram", None),
    "totalServerGroupsUsed": ("server_groups", None),
    "totalFloatingIpsUsed": ("floating_ips", "2.36"),
    "totalSecurityGroupsUsed": ("security_groups", "2.36"),
}


@routes.route("/v2.1/limits", "GET")
def show_limits(req: ApiRequest):
    ctx = req.authorize("os_compute_api:limits")
    project_id = ctx.project_id or ""
    if "tenant_id" in req.query:
        project_id = req.query["tenant_id"]
        req.authorize("os_compute_api:limits:other_project", {"project_id": project_id})
    with req.cloud.db.session() as session:
        limits = quotas.get_limits(session, req.cloud.config, project_id)
        usage = quotas.get_usage(session, project_id)
    absolute = {}
    for table, values in ((_MAXIMUMS, limits), (_USED, usage)):
        for name, (resource, gone_in) in table.items():
            if gone_in is None or not req.version.matches(gone_in):
                absolute[name] = values[resource]
    return {"limits": {"rate": [], "absolute": absolute}}
