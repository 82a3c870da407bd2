"""Version discovery at /network and the resource index at /network/v2.0."""

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.versions import ApiVersion

routes = RouteTable()

V2 = ApiVersion(id="v2.0", path="/v2.0", status="CURRENT")

# The collections /v2.0 lists, as Neutron's root resource index does.
RESOURCES = [("network", "networks"), ("subnet", "subnets"), ("subnetpool", "subnetpools"),
             ("port", "ports"), ("security_group", "security_groups"),
             ("security_group_rule", "security-group-rules"), ("router", "routers"),
             ("floatingip", "floatingips"), ("quota", "quotas"), ("agent", "agents"),
             ("network_ip_availability", "network-ip-availabilities"),
             ("extension", "extensions")]


def _document(req: ApiRequest) -> dict:
    doc = V2.document(req.base_url)
    del doc["updated"]
    return doc


@routes.route("/", "GET")
def list_versions(req: ApiRequest):
    return {"versions": [_document(req)]}


@routes.route("/v2.0", "GET")
@routes.route("/v2.0/", "GET")
def list_resources(req: ApiRequest):
    req.ctx  # the index, unlike the version list, is for authenticated callers
    return {"resources": [
        {"name": name, "collection": collection,
         "links": [{"rel": "self", "href": req.url(f"/v2.0/{collection}")}]}
        for name, collection in RESOURCES]}
