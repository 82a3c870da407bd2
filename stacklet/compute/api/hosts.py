"""/os-hosts: Nova's older view of hosts (removed at 2.43 in favour of
os-services and os-hypervisors).  Host power and maintenance actions go to
the hypervisor driver, and none of Stacklet's drivers manages its host's
power: they answer 501 as Nova does for such drivers."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import NotImplementedYet
from stacklet.common.validation import validate
from stacklet.compute import hostinfo, hosts
from stacklet.compute.api.common import require_version

routes = RouteTable()

_RULE = "os_compute_api:os-hosts:"
LAST_VERSION = "2.42"

_SWITCH = {"type": "string", "enum": ["enable", "disable", "Enable", "Disable",
                                      "ENABLE", "DISABLE"]}
UPDATE_SCHEMA = {"type": "object", "additionalProperties": False,
                 "properties": {"status": _SWITCH, "maintenance_mode": _SWITCH},
                 "anyOf": [{"required": ["status"]}, {"required": ["maintenance_mode"]}]}


@routes.route("/v2.1/os-hosts", "GET")
def list_hosts(req: ApiRequest):
    require_version(req, "2.1", LAST_VERSION)
    req.authorize(_RULE + "list")
    # An empty zone asks for every zone, as in Nova.
    zone = req.query.get("zone") or None
    with req.cloud.db.session() as session:
        zones = hostinfo.Zones(session, req.cloud.config)
        listed = []
        for service in hostinfo.list_services(session):
            if service.disabled:
                continue
            service_zone = zones.of_service(service)
            if zone is None or service_zone == zone:
                listed.append({"host_name": service.host, "zone": service_zone,
                               "service": service.binary.removeprefix("nova-")})
    return {"hosts": listed}


@routes.route("/v2.1/os-hosts/{host_name}", "GET")
def show_host(req: ApiRequest):
    require_version(req, "2.1", LAST_VERSION)
    req.authorize(_RULE + "show")
    with req.cloud.db.session() as session:
        node = hosts.get_host_node(session, req.path["host_name"])
        return {"host": hosts.resource_summary(session, node)}


@routes.route("/v2.1/os-hosts/{host_name}", "PUT")
def update_host(req: ApiRequest):
    require_version(req, "2.1", LAST_VERSION)
    req.authorize(_RULE + "update")
    body = validate(UPDATE_SCHEMA, req.json_body())
    with req.cloud.db.session() as session:
        hosts.get_host_node(session, req.path["host_name"])
    if "maintenance_mode" in body:
        raise NotImplementedYet("Virt driver does not implement host maintenance mode.")
    raise NotImplementedYet("Virt driver does not implement host disabled status.")


def _power_action(req: ApiRequest, rule: str) -> None:
    require_version(req, "2.1", LAST_VERSION)
    req.authorize(_RULE + rule)
    with req.cloud.db.session() as session:
        hosts.get_host_node(session, req.path["host_name"])
    raise NotImplementedYet("Virt driver does not implement host power management.")


@routes.route("/v2.1/os-hosts/{host_name}/reboot", "GET")
def reboot_host(req: ApiRequest):
    _power_action(req, "reboot")


@routes.route("/v2.1/os-hosts/{host_name}/shutdown", "GET")
def shutdown_host(req: ApiRequest):
    _power_action(req, "shutdown")


@routes.route("/v2.1/os-hosts/{host_name}/startup", "GET")
def startup_host(req: ApiRequest):
    _power_action(req, "start")
