"""/v2.0/extensions: exactly the API extensions Stacklet implements.

Clients (Tempest, openstacksdk, the openstack CLI) switch behaviour on these
aliases, so an alias is listed only when everything it promises works.
"""

from stacklet.common import errors
from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network.errors import neutron_error

routes = RouteTable()
ExtensionNotFound = neutron_error(errors.NotFound, "ExtensionNotFound")

UPDATED = "2026-11-24T00:00:00-00:00"

# alias -> (name, description)
EXTENSIONS: dict[str, tuple[str, str]] = {
    "agent": ("agent", "The agent management extension."),
    "availability_zone": ("Availability Zone", "The availability zone extension."),
    "allowed-address-pairs": ("Allowed Address Pairs",
                              "Provides allowed address pairs"),
    "binding": ("Port Binding", "Expose port bindings of a virtual port to external "
                "application"),
    "default-subnetpools": ("Default Subnetpools", "Provides ability to mark and use a "
                            "subnetpool as the default."),
    "external-net": ("Neutron external network", "Adds external network attribute to "
                     "network resource."),
    "ext-gw-mode": ("Neutron L3 Configurable external gateway mode",
                    "Extension of the router abstraction for specifying whether SNAT "
                    "should occur on the external gateway"),
    "extra_dhcp_opt": ("Neutron Extra DHCP options", "Extra options configuration for DHCP."),
    "extraroute": ("Neutron Extra Route", "Extra routes configuration for L3 router"),
    "extraroute-atomic": ("Atomically add/remove extra routes", "Edit extra routes of a "
                          "router on server side by atomically adding/removing extra routes"),
    "fip-port-details": ("Floating IP Port Details Extension", "Add port_details attribute "
                         "to Floating IP resource"),
    "filter-validation": ("Filter parameters validation", "Provides validation on filter "
                          "parameters."),
    "ip-substring-filtering": ("IP address substring filtering", "Provides IP address "
                               "substring filtering when listing ports"),
    "net-mtu": ("Network MTU", "Provides MTU attribute for a network resource."),
    "network_availability_zone": ("Network Availability Zone", "Availability zone support "
                                  "for network."),
    "network-ip-availability": ("Network IP Availability", "Provides IP availability data "
                                "for each network and subnet."),
    "pagination": ("Pagination support", "Extension that indicates that pagination is "
                   "enabled."),
    "port-security": ("Port Security", "Provides port security"),
    "port-security-groups-filtering": ("Port filtering on security groups", "Provides "
                                       "security groups filtering when listing ports"),
    "project-id": ("project_id field enabled", "Extension that indicates that project_id "
                   "field is enabled."),
    "provider": ("Provider Network", "Expose mapping of virtual networks to physical "
                 "networks"),
    "quotas": ("Quota management support", "Expose functions for quotas management per "
               "tenant"),
    "quota-check-limit": ("Quota engine limit check", "Support for checking the resource "
                          "usage before applying a new quota limit"),
    "quota_details": ("Quota details management support", "Expose functions for quotas "
                      "usage statistics per project"),
    "revision-if-match": ("If-Match constraints based on revision_number", "Extension "
                          "indicating that If-Match based on revision_number is supported."),
    "router": ("Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 "
               "Neutron networks and access to external networks via a NAT gateway."),
    "security-groups-normalized-cidr": ("Normalized CIDR field for security group rules",
                                        "Add new field with normalized remote_ip_prefix cidr "
                                        "in SG rule"),
    "security-group": ("security-group", "The security groups extension."),
    "sorting": ("Sorting support", "Extension that indicates that sorting is enabled."),
    "stateful-security-group": ("Stateful security group", "Indicates if the security group "
                                "is stateful or not"),
    "standard-attr-description": ("standard-attr-description", "Extension to add "
                                  "descriptions to standard attributes"),
    "standard-attr-revisions": ("Resource revision numbers", "This extension will display "
                                "the revision number of neutron resources."),
    "standard-attr-tag": ("Tag support for resources with standard attribute: subnet, "
                          "trunk, router, network, policy, subnetpool, port, "
                          "security_group, floatingip", "Enables to set tag on resources "
                          "with standard attribute."),
    "standard-attr-timestamp": ("Resource timestamps", "Adds created_at and updated_at "
                                "fields to all Neutron resources that have Neutron standard "
                                "attributes."),
    "tag": ("Tag support", "Enables to set tag on resources."),
    "subnet-service-types": ("Subnet service types", "Provides ability to set the subnet "
                             "service_types field"),
    "subnet_allocation": ("Subnet Allocation", "Enables allocation of subnets from a "
                          "subnet pool"),
}


def _view(alias: str) -> dict:
    name, description = EXTENSIONS[alias]
    return {"alias": alias, "name": name, "description": description, "updated": UPDATED,
            "links": []}


@routes.route("/v2.0/extensions", "GET")
def list_extensions(req: ApiRequest):
    req.ctx
    return {"extensions": [_view(alias) for alias in sorted(EXTENSIONS)]}


@routes.route("/v2.0/extensions/{alias}", "GET")
def show_extension(req: ApiRequest):
    req.ctx
    alias = req.path["alias"]
    if alias not in EXTENSIONS:
        raise ExtensionNotFound(f"Extension with alias {alias} does not exist")
    return {"extension": _view(alias)}
