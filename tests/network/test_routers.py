"""Routers: CRUD, the external gateway, interfaces on subnets and ports, static routes."""

from __future__ import annotations

import ipaddress

from stacklet.network.models import Quota
from tests.network.conftest import neutron_error


def external_network(admin, cidr: str = "172.24.4.0/24"):
    network = admin.create("network", name="public", **{"router:external": True})
    subnet = admin.create("subnet", network_id=network["id"], cidr=cidr, ip_version=4)
    return network, subnet


def private_subnet(caller, cidr: str = "10.0.0.0/24", **extra):
    network = caller.create("network")
    return caller.create("subnet", network_id=network["id"], cidr=cidr, ip_version=4, **extra)


def router_ports(admin, router_id: str, owner: str) -> list[dict]:
    return admin.get(f"/ports?device_id={router_id}&device_owner={owner}").json()["ports"]


def test_create_show_update_delete_router(alice, admin):
    router = alice.create("router", name="r1", description="edge")
    assert router["status"] == "ACTIVE" and router["admin_state_up"] is True
    assert router["external_gateway_info"] is None and router["routes"] == []
    assert router["project_id"] == alice.project_id == router["tenant_id"]
    assert router["availability_zones"] == ["nova"] and router["flavor_id"] is None
    # DVR and HA are the admin's to see.
    assert "distributed" not in router and "ha" not in router
    seen = admin.get(f"/routers/{router['id']}").json()["router"]
    assert seen["distributed"] is False and seen["ha"] is False
    updated = alice.put(f"/routers/{router['id']}",
                        {"router": {"name": "r2", "admin_state_up": False}})
    assert updated.status_code == 200
    body = updated.json()["router"]
    assert body["name"] == "r2" and body["admin_state_up"] is False
    assert body["revision_number"] == router["revision_number"] + 1
    assert [r["name"] for r in alice.get("/routers?name=r2").json()["routers"]] == ["r2"]
    assert alice.delete(f"/routers/{router['id']}").status_code == 204
    missing = alice.get(f"/routers/{router['id']}")
    assert missing.status_code == 404 and neutron_error(missing)["type"] == "RouterNotFound"


def test_router_bad_input_is_refused(alice, admin):
    assert alice.post("/routers", {"router": {"routes": []}}).status_code == 400
    assert alice.post("/routers", {"router": {"bogus": 1}}).status_code == 400
    assert alice.post("/routers", {"router": {"external_gateway_info": {
        "enable_snat": False}}}).status_code == 400
    assert alice.post("/routers", {"router": {"distributed": True}}).status_code == 403
    assert admin.post("/routers", {"router": {"ha": True}}).status_code == 400
    assert alice.get("/routers").json()["routers"] == []


def test_other_projects_routers_are_invisible(alice, bob):
    router = alice.create("router")
    subnet = private_subnet(bob)
    assert bob.get(f"/routers/{router['id']}").status_code == 404
    assert bob.put(f"/routers/{router['id']}", {"router": {"name": "x"}}).status_code == 404
    assert bob.put(f"/routers/{router['id']}/add_router_interface",
                   {"subnet_id": subnet["id"]}).status_code == 404
    assert bob.delete(f"/routers/{router['id']}").status_code == 404
    assert bob.get("/routers").json()["routers"] == []


def test_gateway_is_a_port_on_the_external_network(alice, admin):
    network, subnet = external_network(admin)
    router = alice.create("router", external_gateway_info={"network_id": network["id"]})
    info = router["external_gateway_info"]
    assert info["network_id"] == network["id"] and info["enable_snat"] is True
    [fixed_ip] = info["external_fixed_ips"]
    assert fixed_ip["subnet_id"] == subnet["id"]
    assert ipaddress.ip_address(fixed_ip["ip_address"]) in ipaddress.ip_network("172.24.4.0/24")
    [port] = router_ports(admin, router["id"], "network:router_gateway")
    assert port["network_id"] == network["id"]
    assert port["fixed_ips"][0]["ip_address"] == fixed_ip["ip_address"]
    # The external network is in use while the gateway is there.
    assert admin.delete(f"/networks/{network['id']}").status_code == 409
    # Clearing the gateway removes its port.
    cleared = alice.put(f"/routers/{router['id']}", {"router": {"external_gateway_info": {}}})
    assert cleared.status_code == 200
    assert cleared.json()["router"]["external_gateway_info"] is None
    assert router_ports(admin, router["id"], "network:router_gateway") == []


def test_gateway_refusals_and_admin_only_settings(alice, admin):
    network, subnet = external_network(admin)
    router = alice.create("router")
    internal = alice.create("network")
    alice.create("subnet", network_id=internal["id"], cidr="10.9.0.0/24", ip_version=4)
    not_external = alice.put(f"/routers/{router['id']}", {"router": {
        "external_gateway_info": {"network_id": internal["id"]}}})
    assert not_external.status_code == 400
    assert neutron_error(not_external)["type"] == "BadRequest"
    assert "is not an external network" in neutron_error(not_external)["message"]
    missing = alice.put(f"/routers/{router['id']}", {"router": {
        "external_gateway_info": {"network_id": router["id"]}}})
    assert missing.status_code == 404
    assert neutron_error(missing)["type"] == "NetworkNotFound"
    snat = alice.put(f"/routers/{router['id']}", {"router": {"external_gateway_info": {
        "network_id": network["id"], "enable_snat": False}}})
    assert snat.status_code == 403
    assert neutron_error(snat)["type"] == "PolicyNotAuthorized"
    # Nothing changed on refusal.
    shown = alice.get(f"/routers/{router['id']}").json()["router"]
    assert shown["external_gateway_info"] is None
    chosen = admin.put(f"/routers/{router['id']}", {"router": {"external_gateway_info": {
        "network_id": network["id"], "enable_snat": False,
        "external_fixed_ips": [{"subnet_id": subnet["id"], "ip_address": "172.24.4.50"}]}}})
    assert chosen.status_code == 200, chosen.text
    info = chosen.json()["router"]["external_gateway_info"]
    assert info["enable_snat"] is False
    assert info["external_fixed_ips"] == [{"subnet_id": subnet["id"],
                                           "ip_address": "172.24.4.50"}]
    on_gateway_ip = admin.put(f"/routers/{router['id']}", {"router": {"external_gateway_info": {
        "network_id": network["id"], "external_fixed_ips": [
            {"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}]}}})
    assert on_gateway_ip.status_code == 400


def test_interface_on_a_subnet_owns_its_gateway_address(alice, admin):
    router = alice.create("router")
    subnet = private_subnet(alice)
    added = alice.put(f"/routers/{router['id']}/add_router_interface",
                      {"subnet_id": subnet["id"]})
    assert added.status_code == 200, added.text
    info = added.json()
    assert info["id"] == router["id"] and info["subnet_id"] == subnet["id"]
    assert info["subnet_ids"] == [subnet["id"]] and info["network_id"] == subnet["network_id"]
    assert info["project_id"] == alice.project_id == info["tenant_id"]
    port = alice.get(f"/ports/{info['port_id']}").json()["port"]
    assert port["device_id"] == router["id"]
    assert port["device_owner"] == "network:router_interface"
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}]
    # Router ports are bound to the host of the router's L3 agent.
    assert port["status"] == "ACTIVE"
    bound = admin.get(f"/ports/{info['port_id']}").json()["port"]
    assert bound["binding:host_id"]
    # A router port goes away through the router, not the ports API.
    refused = alice.delete(f"/ports/{info['port_id']}")
    assert refused.status_code == 409
    again = alice.put(f"/routers/{router['id']}/add_router_interface",
                      {"subnet_id": subnet["id"]})
    assert again.status_code == 400 and "already has a port" in neutron_error(again)["message"]
    overlapping = private_subnet(alice, "10.0.0.0/16")
    clash = alice.put(f"/routers/{router['id']}/add_router_interface",
                      {"subnet_id": overlapping["id"]})
    assert clash.status_code == 400
    assert f"overlaps with cidr 10.0.0.0/24 of subnet {subnet['id']}" in \
        neutron_error(clash)["message"]
    in_use = alice.delete(f"/routers/{router['id']}")
    assert in_use.status_code == 409 and neutron_error(in_use)["type"] == "RouterInUse"
    removed = alice.put(f"/routers/{router['id']}/remove_router_interface",
                        {"subnet_id": subnet["id"]})
    assert removed.status_code == 200 and removed.json()["port_id"] == info["port_id"]
    assert alice.get(f"/ports/{info['port_id']}").status_code == 404
    gone = alice.put(f"/routers/{router['id']}/remove_router_interface",
                     {"subnet_id": subnet["id"]})
    assert gone.status_code == 404
    assert neutron_error(gone)["type"] == "RouterInterfaceNotFoundForSubnet"
    assert alice.delete(f"/routers/{router['id']}").status_code == 204


def test_interface_requests_that_are_refused(alice, bob):
    router = alice.create("router")
    no_gateway = private_subnet(alice, gateway_ip=None)
    refused = alice.put(f"/routers/{router['id']}/add_router_interface",
                        {"subnet_id": no_gateway["id"]})
    assert refused.status_code == 400
    assert "must have a gateway IP" in neutron_error(refused)["message"]
    subnet = private_subnet(alice, "10.1.0.0/24")
    port = alice.create("port", network_id=subnet["network_id"])
    for body in ({}, {"subnet_id": "nope"},
                 {"subnet_id": subnet["id"], "port_id": port["id"]}):
        response = alice.put(f"/routers/{router['id']}/add_router_interface", body)
        assert response.status_code == 400, body
        assert neutron_error(response)["type"] == "BadRequest"
    others = private_subnet(bob, "10.2.0.0/24")
    hidden = alice.put(f"/routers/{router['id']}/add_router_interface",
                       {"subnet_id": others["id"]})
    assert hidden.status_code == 404 and neutron_error(hidden)["type"] == "SubnetNotFound"
    assert alice.get("/ports?device_owner=network:router_interface").json()["ports"] == []


def test_interface_from_an_existing_port(alice):
    router = alice.create("router")
    subnet = private_subnet(alice)
    port = alice.create("port", network_id=subnet["network_id"])
    added = alice.put(f"/routers/{router['id']}/add_router_interface", {"port_id": port["id"]})
    assert added.status_code == 200, added.text
    assert added.json()["port_id"] == port["id"]
    assert added.json()["subnet_ids"] == [subnet["id"]]
    shown = alice.get(f"/ports/{port['id']}").json()["port"]
    assert shown["device_id"] == router["id"]
    assert shown["device_owner"] == "network:router_interface"
    other_router = alice.create("router")
    in_use = alice.put(f"/routers/{other_router['id']}/add_router_interface",
                       {"port_id": port["id"]})
    assert in_use.status_code == 409 and neutron_error(in_use)["type"] == "PortInUse"
    not_there = alice.put(f"/routers/{other_router['id']}/remove_router_interface",
                          {"port_id": port["id"]})
    assert not_there.status_code == 404
    assert neutron_error(not_there)["type"] == "RouterInterfaceNotFound"
    mismatch = alice.put(f"/routers/{router['id']}/remove_router_interface",
                         {"port_id": port["id"], "subnet_id": other_router["id"]})
    assert mismatch.status_code == 400
    removed = alice.put(f"/routers/{router['id']}/remove_router_interface",
                        {"port_id": port["id"], "subnet_id": subnet["id"]})
    assert removed.status_code == 200
    assert alice.get(f"/ports/{port['id']}").status_code == 404


def test_static_routes_need_a_connected_nexthop(alice):
    router = alice.create("router")
    subnet = private_subnet(alice)
    alice.put(f"/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    route = {"destination": "192.168.0.0/24", "nexthop": "10.0.0.10"}
    updated = alice.put(f"/routers/{router['id']}", {"router": {"routes": [route]}})
    assert updated.status_code == 200 and updated.json()["router"]["routes"] == [route]
    for bad in ({"destination": "192.168.1.0/24", "nexthop": "10.5.0.1"},
                {"destination": "192.168.1.0/24", "nexthop": subnet["gateway_ip"]}):
        response = alice.put(f"/routers/{router['id']}", {"router": {"routes": [bad]}})
        assert response.status_code == 400 and neutron_error(response)["type"] == "InvalidRoutes"
    malformed = alice.put(f"/routers/{router['id']}", {"router": {"routes": [
        {"destination": "192.168.1.0/24"}]}})
    assert malformed.status_code == 400
    assert alice.get(f"/routers/{router['id']}").json()["router"]["routes"] == [route]
    # The interface the nexthop is reached through stays while the route does.
    in_use = alice.put(f"/routers/{router['id']}/remove_router_interface",
                       {"subnet_id": subnet["id"]})
    assert in_use.status_code == 409
    assert neutron_error(in_use)["type"] == "RouterInterfaceInUseByRoute"
    more = {"destination": "192.168.2.0/24", "nexthop": "10.0.0.11"}
    added = alice.put(f"/routers/{router['id']}/add_extraroutes",
                      {"router": {"routes": [route, more]}})
    assert added.status_code == 200 and added.json()["router"]["routes"] == [route, more]
    removed = alice.put(f"/routers/{router['id']}/remove_extraroutes",
                        {"router": {"routes": [route]}})
    assert removed.json()["router"]["routes"] == [more]
    cleared = alice.put(f"/routers/{router['id']}", {"router": {"routes": None}})
    assert cleared.json()["router"]["routes"] == []
    assert alice.put(f"/routers/{router['id']}/remove_router_interface",
                     {"subnet_id": subnet["id"]}).status_code == 200


def test_extensions_list_the_router_aliases(alice):
    aliases = {e["alias"] for e in alice.get("/extensions").json()["extensions"]}
    assert {"router", "ext-gw-mode", "extraroute", "extraroute-atomic",
            "fip-port-details"} <= aliases


def test_ipv6_prefixes_of_one_network_share_a_router_port(alice):
    router = alice.create("router")
    network = alice.create("network")
    first, second = (alice.create("subnet", network_id=network["id"], cidr=cidr, ip_version=6)
                     for cidr in ("2001:db8:1::/64", "2001:db8:2::/64"))
    port_ids = {alice.put(f"/routers/{router['id']}/add_router_interface",
                          {"subnet_id": subnet["id"]}).json()["port_id"]
                for subnet in (first, second)}
    assert len(port_ids) == 1
    [port_id] = port_ids
    addresses = {ip["ip_address"] for ip in alice.get(f"/ports/{port_id}").json()["port"]
                 ["fixed_ips"]}
    assert addresses == {first["gateway_ip"], second["gateway_ip"]}
    removed = alice.put(f"/routers/{router['id']}/remove_router_interface",
                        {"subnet_id": first["id"]})
    assert removed.status_code == 200
    remaining = alice.get(f"/ports/{port_id}").json()["port"]["fixed_ips"]
    assert [ip["subnet_id"] for ip in remaining] == [second["id"]]


def test_gateway_address_changes_on_the_same_network(admin):
    network, subnet = external_network(admin)
    router = admin.create("router", external_gateway_info={"network_id": network["id"]})
    [before] = router_ports(admin, router["id"], "network:router_gateway")
    moved = admin.put(f"/routers/{router['id']}", {"router": {"external_gateway_info": {
        "network_id": network["id"],
        "external_fixed_ips": [{"subnet_id": subnet["id"], "ip_address": "172.24.4.77"}]}}})
    assert moved.status_code == 200, moved.text
    [after] = router_ports(admin, router["id"], "network:router_gateway")
    assert after["id"] == before["id"]
    assert after["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "172.24.4.77"}]


def test_routers_count_against_the_router_quota(alice, cloud):
    # The quotas API is another module's; the limit is set where it keeps them.
    with cloud.db.transaction() as session:
        session.add(Quota(project_id=alice.project_id, resource="router", limit=1))
    alice.create("router")
    over = alice.post("/routers", {"router": {"name": "second"}})
    assert over.status_code == 409 and neutron_error(over)["type"] == "OverQuota"


def test_an_external_network_with_gateways_stays_external(alice, admin):
    public, _ = external_network(admin)
    router = alice.create("router", external_gateway_info={"network_id": public["id"]})
    refused = admin.put(f"/networks/{public['id']}", {"network": {"router:external": False}})
    assert refused.status_code == 409
    assert neutron_error(refused)["type"] == "ExternalNetworkInUse"
    assert admin.get(f"/networks/{public['id']}").json()["network"]["router:external"] is True
    alice.put(f"/routers/{router['id']}", {"router": {"external_gateway_info": None}})
    allowed = admin.put(f"/networks/{public['id']}", {"network": {"router:external": False}})
    assert allowed.status_code == 200
    assert allowed.json()["network"]["router:external"] is False
