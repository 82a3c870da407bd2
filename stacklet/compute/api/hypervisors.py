"""/os-hypervisors: the compute hosts' hypervisors, their capacity and servers."""

from __future__ import annotations

import json
import os
import time

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, NotFound, NotImplementedYet
from stacklet.common.pagination import paginate
from stacklet.compute import hostinfo
from stacklet.compute.api.common import (
    check_uuid,
    collection_links,
    page_request,
    query_flag,
    reject_unknown_query,
    require_version,
)
from stacklet.compute.models import ComputeNode, ComputeService, Instance
from stacklet.compute.runtime import compute_host_names

routes = RouteTable()

# The microversions that reshaped this API.
UUID_IDS = "2.53"        # uuids for ids; search and servers sub-resources gone
SLIM_VIEW = "2.88"       # capacity fields, statistics and uptime gone


class _Listing:
    """The hypervisors, their services and (when asked) servers, read at once."""

    def __init__(self, req: ApiRequest, session, nodes: list[ComputeNode],
                 with_servers: bool = False):
        self.req = req
        self.nodes = nodes
        self.services = hostinfo.compute_services(session)
        self.states = hostinfo.HostStates(req.cloud.config)
        self.servers = (hostinfo.servers_on(session, [node.host for node in nodes])
                        if with_servers else None)

    def view(self, node: ComputeNode, *, detail: bool) -> dict:
        req = self.req
        service = self.services.get(node.host)
        by_uuid = req.version.matches(UUID_IDS)
        view = {"id": node.id if by_uuid else node.pk,
                "hypervisor_hostname": node.hypervisor_hostname,
                "state": self.states.state(service),
                "status": "disabled" if service is None or service.disabled else "enabled"}
        if detail:
            view.update(_detail(req, node, service, by_uuid, self.states.is_up(service)))
        if self.servers is not None:
            servers = self.servers[node.host]
            # Nova leaves the key out when a host has no servers, until 2.75.
            if servers or req.version.matches("2.75"):
                view["servers"] = [_server(instance) for instance in servers]
        return view


def _server(instance: Instance) -> dict:
    return {"uuid": instance.id, "name": instance.display_name}


def _detail(req: ApiRequest, node: ComputeNode, service: ComputeService | None,
            by_uuid: bool, is_up: bool) -> dict:
    detail = {
        "hypervisor_type": node.hypervisor_type,
        "hypervisor_version": node.hypervisor_version,
        "host_ip": node.host_ip,
        "service": {"host": node.host,
                    "id": (service.id if by_uuid else service.pk) if service else None,
                    "disabled_reason": service.disabled_reason if service else None},
    }
    if req.version.matches(SLIM_VIEW):
        detail["uptime"] = _local_uptime(req, node, is_up)
        return detail
    cpu_info = {"arch": node.cpu_arch, "model": "", "vendor": "", "features": [],
                "topology": {"sockets": 1, "cores": node.vcpus, "threads": 1}}
    detail.update(_capacity(node), cpu_info=cpu_info if req.version.matches("2.28")
                  else json.dumps(cpu_info))
    return detail


CAPACITY_FIELDS = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                   "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
                   "running_vms", "disk_available_least")


def _capacity(node: ComputeNode) -> dict:
    free_disk = node.local_gb - node.local_gb_used
    return {"vcpus": node.vcpus, "memory_mb": node.memory_mb, "local_gb": node.local_gb,
            "vcpus_used": node.vcpus_used, "memory_mb_used": node.memory_mb_used,
            "local_gb_used": node.local_gb_used, "free_ram_mb": node.memory_mb -
            node.memory_mb_used, "free_disk_gb": free_disk, "current_workload": 0,
            "running_vms": node.running_vms, "disk_available_least": free_disk}


def _local_uptime(req: ApiRequest, node: ComputeNode, is_up: bool) -> str | None:
    """The host's uptime as `uptime` prints it.  Only the hosts this machine runs
    (itself, or its fake driver's hosts) can be read here; for the others (and
    hosts that are down) there is none."""
    if node.host not in compute_host_names(req.cloud) or not is_up:
        return None
    try:
        with open("/proc/uptime") as proc:
            seconds = int(float(proc.read().split()[0]))
        loads = os.getloadavg()
    except OSError:
        return None
    days, rest = divmod(seconds, 86400)
    hours, minutes = divmod(rest // 60, 60)
    return (f" {time.strftime('%H:%M:%S')} up {days} days, {hours:2d}:{minutes:02d}, "
            f"load average: {loads[0]:.2f}, {loads[1]:.2f}, {loads[2]:.2f}")


def _nodes_for_listing(req: ApiRequest, session) -> tuple[list[ComputeNode], dict]:
    """The hypervisors a listing shows (2.53's name pattern, 2.33's pages) and its links."""
    pattern = None
    if req.version.matches(UUID_IDS):
        pattern = req.query.get("hypervisor_hostname_pattern")
    if pattern is not None and ("limit" in req.query or "marker" in req.query):
        raise BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern "
                         "query parameter is not supported.")
    nodes = hostinfo.list_nodes(session, pattern)
    if pattern is not None and not nodes:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    links = {}
    if req.version.matches("2.33") and pattern is None:
        by_uuid = req.version.matches(UUID_IDS)

        def key(node):
            return node.id if by_uuid else str(node.pk)

        nodes, more = paginate(nodes, page_request(req), key=key,
                               unknown_marker=lambda m: BadRequest(f"marker [{m}] not found"))
        path = "/os-hypervisors" + ("/detail" if req.service_path.endswith("/detail") else "")
        found = collection_links(req, path, more, key(nodes[-1]) if nodes else None)
        if found:
            links["hypervisors_links"] = found
    return nodes, links


def _with_servers(req: ApiRequest) -> bool:
    return req.version.matches(UUID_IDS) and query_flag(req, "with_servers")


def _list(req: ApiRequest, rule: str, *, detail: bool) -> dict:
    req.authorize(rule)
    if req.version.matches(UUID_IDS):
        reject_unknown_query(req, {"limit", "marker", "hypervisor_hostname_pattern",
                                   "with_servers"})
    with req.cloud.db.session() as session:
        nodes, links = _nodes_for_listing(req, session)
        listing = _Listing(req, session, nodes, _with_servers(req))
        return {"hypervisors": [listing.view(node, detail=detail) for node in nodes], **links}


@routes.route("/v2.1/os-hypervisors", "GET")
def list_hypervisors(req: ApiRequest):
    return _list(req, "os_compute_api:os-hypervisors:list", detail=False)


@routes.route("/v2.1/os-hypervisors/detail", "GET")
def list_hypervisors_detail(req: ApiRequest):
    return _list(req, "os_compute_api:os-hypervisors:list-detail", detail=True)


@routes.route("/v2.1/os-hypervisors/statistics", "GET")
def hypervisor_statistics(req: ApiRequest):
    require_version(req, "2.1", "2.87")
    req.authorize("os_compute_api:os-hypervisors:statistics")
    with req.cloud.db.session() as session:
        nodes = hostinfo.list_nodes(session)
    totals = dict.fromkeys(CAPACITY_FIELDS, 0)
    for node in nodes:
        for name, value in _capacity(node).items():
            totals[name] += value
    return {"hypervisor_statistics": {"count": len(nodes), **totals}}


def _get(req: ApiRequest, session) -> ComputeNode:
    node_id = req.path["hypervisor_id"]
    by_uuid = req.version.matches(UUID_IDS)
    if by_uuid:
        check_uuid(node_id)
    return hostinfo.get_node(session, node_id, by_uuid=by_uuid)


@routes.route("/v2.1/os-hypervisors/{hypervisor_id}", "GET")
def show_hypervisor(req: ApiRequest):
    req.authorize("os_compute_api:os-hypervisors:show")
    if req.version.matches(UUID_IDS):
        reject_unknown_query(req, {"with_servers"})
    with req.cloud.db.session() as session:
        node = _get(req, session)
        listing = _Listing(req, session, [node], _with_servers(req))
        return {"hypervisor": listing.view(node, detail=True)}


@routes.route("/v2.1/os-hypervisors/{hypervisor_id}/uptime", "GET")
def hypervisor_uptime(req: ApiRequest):
    require_version(req, "2.1", "2.87")
    req.authorize("os_compute_api:os-hypervisors:uptime")
    with req.cloud.db.session() as session:
        node = _get(req, session)
        listing = _Listing(req, session, [node])
        is_up = listing.states.is_up(listing.services.get(node.host))
        if not is_up:
            raise BadRequest(f"Compute service {node.host} is unavailable at this time.")
        uptime = _local_uptime(req, node, is_up)
        if uptime is None:
            raise NotImplementedYet("Virt driver does not implement uptime function.")
        return {"hypervisor": {**listing.view(node, detail=False), "uptime": uptime}}


def _matching(req: ApiRequest, session, rule: str) -> tuple[_Listing, list[ComputeNode]]:
    require_version(req, "2.1", "2.52")
    req.authorize(rule)
    pattern = req.path["pattern"]
    nodes = hostinfo.list_nodes(session, pattern)
    if not nodes:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return _Listing(req, session, nodes, rule.endswith("servers")), nodes


@routes.route("/v2.1/os-hypervisors/{pattern}/search", "GET")
def search_hypervisors(req: ApiRequest):
    with req.cloud.db.session() as session:
        listing, nodes = _matching(req, session, "os_compute_api:os-hypervisors:search")
        return {"hypervisors": [listing.view(node, detail=False) for node in nodes]}


@routes.route("/v2.1/os-hypervisors/{pattern}/servers", "GET")
def hypervisor_servers(req: ApiRequest):
    with req.cloud.db.session() as session:
        listing, nodes = _matching(req, session, "os_compute_api:os-hypervisors:servers")
        return {"hypervisors": [listing.view(node, detail=False) for node in nodes]}
