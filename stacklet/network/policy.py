"""Default network policy: Neutron's rule names with its secure-RBAC defaults.

Targets carry the resource's ``project_id`` (and ``tenant_id``), its
attributes by their API names (``shared``, ``router:external``), and for
ports and subnets the owning network's project as ``network:project_id``, so
an operator's Neutron policy.yaml reads the same here.

Attribute rules (``create_network:shared``, ``get_port:binding:host_id``)
guard setting an attribute and seeing it: an attribute whose get rule
refuses is left out of the response, as Neutron does.
"""

from oslo_policy.policy import RuleDefault

ADMIN = "role:admin"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
ADMIN_OR_MEMBER = f"{ADMIN} or ({PROJECT_MEMBER})"
ADMIN_OR_READER = f"{ADMIN} or ({PROJECT_READER})"
NETWORK_OWNER_MEMBER = "role:member and project_id:%(network:project_id)s"
NETWORK_OWNER_READER = "role:reader and project_id:%(network:project_id)s"
SHARED = "'True':%(shared)s"
EXTERNAL = "'True':%(router:external)s"
ANY = "@"

_PROVIDER = ("provider:network_type", "provider:physical_network",
             "provider:segmentation_id", "segments")


def _attribute_rules(action: str, resource: str, attributes, check: str) -> list:
    return [(f"{action}_{resource}:{attribute}", check) for attribute in attributes]


RULES = [RuleDefault(name, check) for name, check in [
    # networks
    ("create_network", ADMIN_OR_MEMBER),
    ("create_network:shared", ADMIN),
    ("create_network:router:external", ADMIN),
    ("create_network:is_default", ADMIN),
    ("create_network:port_security_enabled", ADMIN_OR_MEMBER),
    *_attribute_rules("create", "network", _PROVIDER, ADMIN),
    ("get_network", f"{ADMIN_OR_READER} or {SHARED} or {EXTERNAL}"),
    ("get_network:router:external", ANY),
    *_attribute_rules("get", "network", _PROVIDER, ADMIN),
    ("update_network", ADMIN_OR_MEMBER),
    ("update_network:shared", ADMIN),
    ("update_network:router:external", ADMIN),
    ("update_network:is_default", ADMIN),
    ("update_network:port_security_enabled", ADMIN_OR_MEMBER),
    *_attribute_rules("update", "network", _PROVIDER, ADMIN),
    ("delete_network", ADMIN_OR_MEMBER),
    # subnets: a network's owner may add subnets to it; everyone who sees a
    # shared network sees its subnets.
    # Only a network's owner (or an admin) adds subnets to it, shared or not.
    ("create_subnet", f"{ADMIN} or ({NETWORK_OWNER_MEMBER})"),
    ("create_subnet:segment_id", ADMIN),
    ("create_subnet:service_types", ADMIN),
    ("get_subnet", f"{ADMIN_OR_READER} or ({NETWORK_OWNER_READER}) or {SHARED}"),
    ("get_subnet:segment_id", ADMIN),
    ("update_subnet", f"{ADMIN_OR_MEMBER} or ({NETWORK_OWNER_MEMBER})"),
    ("update_subnet:segment_id", ADMIN),
    ("update_subnet:service_types", ADMIN),
    ("delete_subnet", f"{ADMIN_OR_MEMBER} or ({NETWORK_OWNER_MEMBER})"),
    # subnet pools
    ("create_subnetpool", ADMIN_OR_MEMBER),
    ("create_subnetpool:shared", ADMIN),
    ("create_subnetpool:is_default", ADMIN),
    ("get_subnetpool", f"{ADMIN_OR_READER} or {SHARED}"),
    ("update_subnetpool", ADMIN_OR_MEMBER),
    ("update_subnetpool:is_default", ADMIN),
    ("delete_subnetpool", ADMIN_OR_MEMBER),
    # ports
    ("create_port", ADMIN_OR_MEMBER),
    ("create_port:device_owner", f"{ADMIN_OR_MEMBER} or ({NETWORK_OWNER_MEMBER})"),
    ("create_port:mac_address", f"{ADMIN} or ({NETWORK_OWNER_MEMBER})"),
    ("create_port:fixed_ips", f"{ADMIN} or ({NETWORK_OWNER_MEMBER}) or {SHARED}"),
    ("create_port:fixed_ips:ip_address", f"{ADMIN} or ({NETWORK_OWNER_MEMBER})"),
    ("create_port:fixed_ips:subnet_id", f"{ADMIN} or ({NETWORK_OWNER_MEMBER}) or {SHARED}"),
    ("create_port:port_security_enabled", f"{ADMIN} or ({NETWORK_OWNER_MEMBER})"),
    ("create_port:binding:host_id", ADMIN),
    ("create_port:binding:profile", ADMIN),
    ("create_port:binding:vnic_type", ADMIN_OR_MEMBER),
    ("create_port:allowed_address_pairs", f"{ADMIN} or ({NETWORK_OWNER_MEMBER})"),
    ("get_port", f"{ADMIN_OR_READER} or ({NETWORK_OWNER_READER})"),
    ("get_port:binding:vif_type", ADMIN),
    ("get_port:binding:vif_details", ADMIN),
    ("get_port:binding:host_id", ADMIN),
    ("get_port:binding:profile", ADMIN),
    ("update_port", f"{ADMIN_OR_MEMBER} or ({NETWORK_OWNER_MEMBER})"),
    ("update_port:device_owner", f"{ADMIN_OR_MEMBER} or ({NETWORK_OWNER_MEMBER})"),
    ("update_port:mac_address", ADMIN),
    ("update_port:fixed_ips", f"{ADMIN} or ({NETWORK_OWNER_MEMBER})"),
    ("update_port:fixed_ips:ip_address", f"{ADMIN} or ({NETWORK_OWNER_MEMBER})"),
    ("update_port:fixed_ips:subnet_id", f"{ADMIN} or ({NETWORK_OWNER_MEMBER}) or {SHARED}"),
    ("update_port:port_security_enabled", f"{ADMIN} or ({NETWORK_OWNER_MEMBER})"),
    ("update_port:binding:host_id", ADMIN),
    ("update_port:binding:profile", ADMIN),
    ("update_port:binding:vnic_type", ADMIN_OR_MEMBER),
    ("update_port:allowed_address_pairs", f"{ADMIN} or ({NETWORK_OWNER_MEMBER})"),
    ("delete_port", f"{ADMIN_OR_MEMBER} or ({NETWORK_OWNER_MEMBER})"),
    # security groups and rules
    ("create_security_group", ADMIN_OR_MEMBER),
    ("get_security_group", ADMIN_OR_READER),
    ("update_security_group", ADMIN_OR_MEMBER),
    ("delete_security_group", ADMIN_OR_MEMBER),
    ("create_security_group_rule", ADMIN_OR_MEMBER),
    ("get_security_group_rule", f"{ADMIN_OR_READER} or "
     "(role:reader and project_id:%(security_group:project_id)s)"),
    ("delete_security_group_rule", f"{ADMIN_OR_MEMBER} or "
     "(role:member and project_id:%(security_group:project_id)s)"),
    # routers
    ("create_router", ADMIN_OR_MEMBER),
    ("create_router:external_gateway_info", ADMIN_OR_MEMBER),
    ("create_router:external_gateway_info:network_id", ADMIN_OR_MEMBER),
    ("create_router:external_gateway_info:enable_snat", ADMIN),
    ("create_router:external_gateway_info:external_fixed_ips", ADMIN),
    ("create_router:distributed", ADMIN),
    ("create_router:ha", ADMIN),
    ("get_router", ADMIN_OR_READER),
    ("get_router:distributed", ADMIN),
    ("get_router:ha", ADMIN),
    ("update_router", ADMIN_OR_MEMBER),
    ("update_router:external_gateway_info", ADMIN_OR_MEMBER),
    ("update_router:external_gateway_info:network_id", ADMIN_OR_MEMBER),
    ("update_router:external_gateway_info:enable_snat", ADMIN),
    ("update_router:external_gateway_info:external_fixed_ips", ADMIN),
    ("update_router:distributed", ADMIN),
    ("update_router:ha", ADMIN),
    ("delete_router", ADMIN_OR_MEMBER),
    ("add_router_interface", ADMIN_OR_MEMBER),
    ("remove_router_interface", ADMIN_OR_MEMBER),
    ("add_extraroutes", ADMIN_OR_MEMBER),
    ("remove_extraroutes", ADMIN_OR_MEMBER),
    # floating IPs
    ("create_floatingip", ADMIN_OR_MEMBER),
    ("create_floatingip:floating_ip_address", ADMIN),
    ("get_floatingip", ADMIN_OR_READER),
    ("update_floatingip", ADMIN_OR_MEMBER),
    ("delete_floatingip", ADMIN_OR_MEMBER),
    # quotas, agents, availability
    ("get_quota", ADMIN_OR_READER),
    ("update_quota", ADMIN),
    ("delete_quota", ADMIN),
    ("get_agent", ADMIN),
    ("update_agent", ADMIN),
    ("delete_agent", ADMIN),
    ("get_network_ip_availability", ADMIN),
    ("get_availability_zone", ANY),
    # tags: whoever may update the resource may tag it
    ("create_networks_tags", ADMIN_OR_MEMBER),
    ("update_networks_tags", ADMIN_OR_MEMBER),
    ("delete_networks_tags", ADMIN_OR_MEMBER),
    *[(f"{action}_{plural}_tags", ADMIN_OR_MEMBER)
      for plural in ("subnets", "ports", "subnetpools", "security_groups", "routers",
                     "floatingips")
      for action in ("create", "update", "delete")],
]]
