"""Ports: addresses from IPAM, MACs, security groups, port security, address
pairs, DHCP options, binding, filters, visibility and concurrency."""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.network.conftest import neutron_error


@pytest.fixture
def net(alice):
    """Alice's network with a /24 subnet (pool .2-.254, gateway .1)."""
    network = alice.create("network", name="net")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.0.0.0/24")
    return network, subnet


def addresses(port) -> list[str]:
    return [fixed["ip_address"] for fixed in port["fixed_ips"]]


def test_port_gets_the_lowest_free_address_a_mac_and_the_default_group(alice, net):
    network, subnet = net
    first = alice.create("port", network_id=network["id"], name="p1")
    second = alice.create("port", network_id=network["id"])
    assert first["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.2"}]
    assert addresses(second) == ["10.0.0.3"]
    assert first["mac_address"].startswith("fa:16:3e:")
    assert first["mac_address"] != second["mac_address"]
    assert first["status"] == "DOWN" and first["admin_state_up"] is True
    assert first["port_security_enabled"] is True
    assert first["binding:vnic_type"] == "normal"
    # Binding details are the admin's to see.
    assert "binding:host_id" not in first
    assert len(first["security_groups"]) == 1
    assert first["security_groups"] == second["security_groups"]


def test_released_address_is_handed_out_again(alice, net):
    network, _ = net
    ports = [alice.create("port", network_id=network["id"]) for _ in range(3)]
    assert alice.delete(f"/ports/{ports[0]['id']}").status_code == 204
    again = alice.create("port", network_id=network["id"])
    assert addresses(again) == ["10.0.0.2"]
    assert alice.get(f"/ports/{ports[0]['id']}").status_code == 404


def test_released_addresses_merge_back_in_any_order(alice, net):
    network, _ = net
    created = alice.post("/ports", {"ports": [{"network_id": network["id"]}] * 6}).json()
    ids = [port["id"] for port in created["ports"]]
    for index in (2, 0, 1, 4, 3):          # .4, .2, .3, .6, .5: merged with both sides
        assert alice.delete(f"/ports/{ids[index]}").status_code == 204
    again = alice.post("/ports", {"ports": [{"network_id": network["id"]}] * 6}).json()
    assert [addresses(p)[0] for p in again["ports"]] == \
        ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.8"]


def test_explicit_addresses_and_their_errors(alice, net):
    network, subnet = net
    port = alice.create("port", network_id=network["id"],
                        fixed_ips=[{"ip_address": "10.0.0.50"}])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.50"}]
    # The next automatic addresses skip it; the free range was split around it.
    assert addresses(alice.create("port", network_id=network["id"])) == ["10.0.0.2"]
    other = alice.create("network")
    elsewhere = alice.create("subnet", network_id=other["id"], ip_version=4,
                             cidr="10.0.0.0/24")
    cases = [
        ([{"ip_address": "10.0.0.50"}], 409, "IpAddressAlreadyAllocated"),
        ([{"ip_address": "10.9.9.9"}], 400, "InvalidIpForNetwork"),
        ([{"subnet_id": subnet["id"], "ip_address": "10.0.1.5"}], 400, "InvalidIpForSubnet"),
        ([{"ip_address": "10.0.0.255"}], 400, "InvalidIpForSubnet"),
        ([{"ip_address": "10.0.0.0"}], 400, "InvalidIpForSubnet"),
        ([{"ip_address": "10.0.0.1"}], 400, "InvalidIpForSubnet"),
        ([{"subnet_id": "8d3f1b8e-0000-4000-8000-000000000000"}], 404, "SubnetNotFound"),
        ([{"bogus": 1}], 400, "InvalidInput"),
        ([{"subnet_id": elsewhere["id"]}], 400, "InvalidInput"),
    ]
    for fixed_ips, status, kind in cases:
        response = alice.post("/ports", {"port": {"network_id": network["id"],
                                                  "fixed_ips": fixed_ips}})
        assert response.status_code == status, (fixed_ips, response.text)
        assert neutron_error(response)["type"] == kind, fixed_ips
    message = neutron_error(alice.post("/ports", {"port": {
        "network_id": network["id"], "fixed_ips": [{"ip_address": "10.0.0.50"}]}}))["message"]
    assert message == f"IP address 10.0.0.50 already allocated in subnet {subnet['id']}"
    # Nothing was left behind by the failures.
    assert len(alice.get(f"/ports?network_id={network['id']}").json()["ports"]) == 2


def test_a_router_port_may_take_the_gateway_address(admin, alice, net):
    network, subnet = net
    router_port = admin.create("port", network_id=network["id"],
                               device_owner="network:router_interface",
                               fixed_ips=[{"subnet_id": subnet["id"],
                                           "ip_address": subnet["gateway_ip"]}])
    assert addresses(router_port) == ["10.0.0.1"]


def test_address_outside_the_pools_is_allowed_and_not_returned_to_them(alice):
    network = alice.create("network")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.1.0.0/29",
                          allocation_pools=[{"start": "10.1.0.2", "end": "10.1.0.3"}])
    outside = alice.create("port", network_id=network["id"],
                           fixed_ips=[{"ip_address": "10.1.0.6"}])
    alice.delete(f"/ports/{outside['id']}")
    taken = [addresses(alice.create("port", network_id=network["id"]))[0] for _ in range(2)]
    assert taken == ["10.1.0.2", "10.1.0.3"]
    full = alice.post("/ports", {"port": {"network_id": network["id"]}})
    assert full.status_code == 409
    assert neutron_error(full) == {
        "type": "IpAddressGenerationFailure", "detail": "",
        "message": f"No more IP addresses available on network {network['id']}."}
    assert subnet["allocation_pools"] == [{"start": "10.1.0.2", "end": "10.1.0.3"}]


def test_no_fixed_ips_and_networks_without_subnets(alice):
    network = alice.create("network")
    assert alice.create("port", network_id=network["id"])["fixed_ips"] == []
    alice.create("subnet", network_id=network["id"], ip_version=4, cidr="10.2.0.0/24")
    assert alice.create("port", network_id=network["id"], fixed_ips=[])["fixed_ips"] == []


def test_dual_stack_port_gets_one_address_per_version_and_slaac_from_its_mac(alice):
    network = alice.create("network")
    alice.create("subnet", network_id=network["id"], ip_version=4, cidr="10.3.0.0/24")
    stateful = alice.create("subnet", network_id=network["id"], ip_version=6,
                            cidr="fd00:1::/64", ipv6_address_mode="dhcpv6-stateful",
                            ipv6_ra_mode="dhcpv6-stateful")
    slaac = alice.create("subnet", network_id=network["id"], ip_version=6,
                         cidr="fd00:2::/64", ipv6_address_mode="slaac",
                         ipv6_ra_mode="slaac")
    port = alice.create("port", network_id=network["id"],
                        mac_address="fa:16:3e:11:22:33")
    by_subnet = {fixed["subnet_id"]: fixed["ip_address"] for fixed in port["fixed_ips"]}
    assert len(port["fixed_ips"]) == 3
    assert by_subnet[stateful["id"]] == "fd00:1::2"
    assert by_subnet[slaac["id"]] == "fd00:2::f816:3eff:fe11:2233"
    chosen = alice.post("/ports", {"port": {"network_id": network["id"], "fixed_ips": [
        {"subnet_id": slaac["id"], "ip_address": "fd00:2::99"}]}})
    assert chosen.status_code == 400 and neutron_error(chosen)["type"] == "InvalidInput"


def test_explicit_mac_is_unique_per_network(admin, alice, net):
    network, _ = net
    admin.create("port", network_id=network["id"], mac_address="fa:16:3e:aa:bb:cc",
                 project_id=alice.project_id)
    again = admin.post("/ports", {"port": {"network_id": network["id"],
                                           "mac_address": "fa:16:3e:aa:bb:cc"}})
    assert again.status_code == 409 and neutron_error(again)["type"] == "MacAddressInUse"
    other = admin.create("network")
    assert admin.create("port", network_id=other["id"],
                        mac_address="fa:16:3e:aa:bb:cc")["mac_address"] == "fa:16:3e:aa:bb:cc"


def test_update_fixed_ips_adds_keeps_and_releases(alice, net):
    network, subnet = net
    port = alice.create("port", network_id=network["id"])
    assert addresses(port) == ["10.0.0.2"]
    both = alice.put(f"/ports/{port['id']}", {"port": {"fixed_ips": [
        {"subnet_id": subnet["id"], "ip_address": "10.0.0.2"},
        {"subnet_id": subnet["id"]}]}})
    assert both.status_code == 200, both.text
    assert sorted(addresses(both.json()["port"])) == ["10.0.0.2", "10.0.0.3"]
    assert both.json()["port"]["revision_number"] > port["revision_number"]
    moved = alice.put(f"/ports/{port['id']}", {"port": {"fixed_ips": [
        {"ip_address": "10.0.0.3"}]}}).json()["port"]
    assert addresses(moved) == ["10.0.0.3"]
    # 10.0.0.2 is free again.
    assert addresses(alice.create("port", network_id=network["id"])) == ["10.0.0.2"]
    taken = alice.put(f"/ports/{port['id']}", {"port": {"fixed_ips": [
        {"ip_address": "10.0.0.2"}]}})
    assert taken.status_code == 409
    too_many = alice.put(f"/ports/{port['id']}", {"port": {"fixed_ips": [
        {"subnet_id": subnet["id"]}] * 6}})
    assert too_many.status_code == 400
    assert addresses(alice.get(f"/ports/{port['id']}").json()["port"]) == ["10.0.0.3"]


def test_security_groups_and_port_security(alice, net):
    network, _ = net
    none = alice.create("port", network_id=network["id"], security_groups=[])
    assert none["security_groups"] == []
    default_group = alice.create("port", network_id=network["id"])["security_groups"]
    missing = alice.post("/ports", {"port": {"network_id": network["id"], "security_groups": [
        "8d3f1b8e-0000-4000-8000-000000000000"]}})
    assert missing.status_code == 404
    assert neutron_error(missing)["type"] == "SecurityGroupNotFound"
    insecure = alice.create("port", network_id=network["id"], port_security_enabled=False)
    assert insecure["security_groups"] == [] and insecure["port_security_enabled"] is False
    conflict = alice.post("/ports", {"port": {"network_id": network["id"],
                                              "port_security_enabled": False,
                                              "security_groups": default_group}})
    assert conflict.status_code == 409
    assert neutron_error(conflict)["type"] == "PortSecurityAndIPRequiredForSecurityGroups"
    pairs = alice.post("/ports", {"port": {"network_id": network["id"],
                                           "port_security_enabled": False,
                                           "allowed_address_pairs": [
                                               {"ip_address": "10.0.0.100"}]}})
    assert pairs.status_code == 409
    assert neutron_error(pairs)["type"] == "AddressPairAndPortSecurityRequired"
    secured = alice.create("port", network_id=network["id"])
    refused = alice.put(f"/ports/{secured['id']}",
                        {"port": {"port_security_enabled": False}})
    assert refused.status_code == 409
    assert neutron_error(refused)["type"] == "PortSecurityPortHasSecurityGroup"
    disabled = alice.put(f"/ports/{secured['id']}", {"port": {
        "port_security_enabled": False, "security_groups": []}})
    assert disabled.status_code == 200
    assert disabled.json()["port"]["security_groups"] == []


def test_address_pairs_and_extra_dhcp_options(admin, net):
    network, _ = net
    port = admin.create("port", network_id=network["id"], allowed_address_pairs=[
        {"ip_address": "10.0.0.100"},
        {"ip_address": "10.0.5.0/24", "mac_address": "fa:16:3e:00:00:01"}],
        extra_dhcp_opts=[{"opt_name": "tftp-server", "opt_value": "10.0.0.9"}])
    assert port["allowed_address_pairs"] == [
        {"ip_address": "10.0.0.100", "mac_address": port["mac_address"]},
        {"ip_address": "10.0.5.0/24", "mac_address": "fa:16:3e:00:00:01"}]
    assert port["extra_dhcp_opts"] == [
        {"opt_name": "tftp-server", "opt_value": "10.0.0.9", "ip_version": 4}]
    duplicate = admin.post("/ports", {"port": {"network_id": network["id"],
                                               "allowed_address_pairs": [
                                                   {"ip_address": "10.0.0.7"},
                                                   {"ip_address": "10.0.0.7"}]}})
    assert duplicate.status_code == 400
    assert neutron_error(duplicate)["type"] == "DuplicateAddressPairInRequest"
    updated = admin.put(f"/ports/{port['id']}", {"port": {"extra_dhcp_opts": [
        {"opt_name": "tftp-server", "opt_value": None},
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"}]}}).json()["port"]
    assert updated["extra_dhcp_opts"] == [
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0", "ip_version": 4}]


def test_binding_to_a_host_makes_the_port_active(admin, alice, net):
    network, _ = net
    port = alice.create("port", network_id=network["id"])
    refused = alice.put(f"/ports/{port['id']}", {"port": {"binding:host_id": "host1"}})
    assert refused.status_code == 403
    bound = admin.put(f"/ports/{port['id']}", {"port": {"binding:host_id": "host1"}})
    assert bound.status_code == 200
    view = bound.json()["port"]
    assert view["binding:host_id"] == "host1" and view["status"] == "ACTIVE"
    assert view["binding:vif_type"] == "bridge"
    assert view["binding:vif_details"]["port_filter"] is True
    unbound = admin.put(f"/ports/{port['id']}", {"port": {"binding:host_id": ""}})
    assert unbound.json()["port"]["binding:vif_type"] == "unbound"
    assert unbound.json()["port"]["status"] == "DOWN"
    bad = admin.put(f"/ports/{port['id']}", {"port": {"binding:vnic_type": "warp"}})
    assert bad.status_code == 400
    admin.put(f"/ports/{port['id']}", {"port": {"binding:host_id": "host2"}})
    new_mac = admin.put(f"/ports/{port['id']}", {"port": {"mac_address": "fa:16:3e:0a:0b:0c"}})
    assert new_mac.status_code == 409 and neutron_error(new_mac)["type"] == "PortBound"


def test_filters(admin, alice, net):
    network, subnet = net
    first = alice.create("port", network_id=network["id"], device_id="vm-1",
                         device_owner="compute:nova")
    second = alice.create("port", network_id=network["id"], device_id="vm-2")

    def ids(query):
        response = alice.get(f"/ports?{query}")
        assert response.status_code == 200, response.text
        return {port["id"] for port in response.json()["ports"]}

    assert ids("fixed_ips=ip_address%3D10.0.0.3") == {second["id"]}
    assert ids(f"fixed_ips=subnet_id%3D{subnet['id']}") == {first["id"], second["id"]}
    assert ids(f"fixed_ips=subnet_id%3D{subnet['id']}&fixed_ips=ip_address%3D10.0.0.2") \
        == {first["id"]}
    assert ids("fixed_ips=ip_address_substr%3D0.0.3") == {second["id"]}
    assert ids("fixed_ips=ip_address_substr%3D10.0.0.") == {first["id"], second["id"]}
    assert ids("device_id=vm-1") == {first["id"]}
    assert ids("device_owner=compute:nova") == {first["id"]}
    assert ids(f"mac_address={second['mac_address']}") == {second["id"]}
    assert ids("status=DOWN") == {first["id"], second["id"]}
    assert ids(f"security_groups={first['security_groups'][0]}") == {first["id"],
                                                                     second["id"]}
    assert alice.get("/ports?fixed_ips=bogus").status_code == 400
    admin.put(f"/ports/{first['id']}", {"port": {"binding:host_id": "h1"}})
    assert {p["id"] for p in admin.get("/ports?binding:host_id=h1").json()["ports"]} == \
        {first["id"]}


def test_visibility_and_policy(alice, bob, admin, net):
    network, _ = net
    port = alice.create("port", network_id=network["id"])
    assert bob.get(f"/ports/{port['id']}").status_code == 404
    assert bob.delete(f"/ports/{port['id']}").status_code == 404
    assert bob.post("/ports", {"port": {"network_id": network["id"]}}).status_code == 404
    shared = admin.create("network", shared=True)
    admin.create("subnet", network_id=shared["id"], ip_version=4, cidr="10.9.0.0/24")
    bobs = bob.create("port", network_id=shared["id"])
    assert addresses(bobs) == ["10.9.0.2"]
    # A member of another project may not pick the address on someone's network.
    picked = bob.post("/ports", {"port": {"network_id": shared["id"],
                                          "fixed_ips": [{"ip_address": "10.9.0.9"}]}})
    assert picked.status_code == 403
    assert neutron_error(picked)["type"] == "PolicyNotAuthorized"
    # The network's owner sees every port on it.
    assert bobs["id"] in {p["id"] for p in admin.get("/ports").json()["ports"]}
    assert bobs["id"] not in {p["id"] for p in alice.get("/ports").json()["ports"]}


def test_bulk_create_is_all_or_nothing(alice, net):
    network, _ = net
    created = alice.post("/ports", {"ports": [{"network_id": network["id"]},
                                              {"network_id": network["id"]}]})
    assert created.status_code == 201
    assert [addresses(p) for p in created.json()["ports"]] == [["10.0.0.2"], ["10.0.0.3"]]
    failed = alice.post("/ports", {"ports": [{"network_id": network["id"]},
                                             {"network_id": network["id"],
                                              "fixed_ips": [{"ip_address": "10.0.0.2"}]}]})
    assert failed.status_code == 409
    assert len(alice.get("/ports").json()["ports"]) == 2


class TestQuota:
    @pytest.fixture
    def config_overrides(self):
        return {("network", "quota_port"): 3}

    def test_port_quota(self, alice):
        network = alice.create("network")
        assert alice.post("/ports", {"ports": [{"network_id": network["id"]}] * 3}) \
            .status_code == 201
        over = alice.post("/ports", {"port": {"network_id": network["id"]}})
        assert over.status_code == 409 and neutron_error(over)["type"] == "OverQuota"


def test_network_delete_frees_everything(alice, net):
    network, subnet = net
    port = alice.create("port", network_id=network["id"])
    assert alice.delete(f"/networks/{network['id']}").status_code == 409
    assert alice.delete(f"/subnets/{subnet['id']}").status_code == 409
    alice.delete(f"/ports/{port['id']}")
    assert alice.delete(f"/networks/{network['id']}").status_code == 204
    assert alice.get(f"/subnets/{subnet['id']}").status_code == 404


def test_fifty_parallel_creates_on_a_26_hand_out_each_address_once(alice):
    network = alice.create("network")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.7.0.0/26")
    pool = ipaddress.ip_network("10.7.0.0/26")
    expected = {str(address) for address in pool.hosts()} - {subnet["gateway_ip"]}
    # 20 taken beforehand leave 41 for 50 parallel requests.
    before = alice.post("/ports", {"ports": [{"network_id": network["id"]}] * 20})
    expected -= {addresses(port)[0] for port in before.json()["ports"]}
    assert len(expected) == 41

    def create(_):
        return alice.post("/ports", {"port": {"network_id": network["id"]}})

    with ThreadPoolExecutor(max_workers=16) as executor:
        responses = list(executor.map(create, range(50)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, [r.text for r in responses if r.status_code >= 500]
    given = [addresses(r.json()["port"])[0] for r in responses if r.status_code == 201]
    assert len(given) == 41, [r.text for r in responses if r.status_code != 201][:3]
    assert len(given) == len(set(given)) and set(given) == expected
    refused = [neutron_error(r)["type"] for r in responses if r.status_code == 409]
    assert refused == ["IpAddressGenerationFailure"] * 9


def test_ports_of_routers_and_floating_ips_are_not_deleted_directly(admin, net, cloud):
    from stacklet.network.models import FloatingIP, Router, RouterPort

    network, subnet = net
    interface = admin.create("port", network_id=network["id"],
                             device_owner="network:router_interface",
                             fixed_ips=[{"subnet_id": subnet["id"],
                                         "ip_address": subnet["gateway_ip"]}])
    floating = admin.create("port", network_id=network["id"],
                            device_owner="network:floatingip")
    server = admin.create("port", network_id=network["id"], device_owner="compute:nova")
    # Rows the routers and floating IP services will write.
    with cloud.db.transaction() as session:
        router = Router(project_id=admin.project_id)
        session.add(router)
        session.flush()
        session.add(RouterPort(router_id=router.id, port_id=interface["id"],
                               port_type="network:router_interface"))
        session.add(FloatingIP(project_id=admin.project_id, floating_ip_address="10.0.0.3",
                               floating_network_id=network["id"],
                               floating_port_id=floating["id"], fixed_port_id=server["id"],
                               fixed_ip_address=addresses(server)[0], router_id=router.id,
                               status="ACTIVE"))
    for port in (interface, floating):
        refused = admin.delete(f"/ports/{port['id']}")
        assert refused.status_code == 409
        assert neutron_error(refused)["type"] == "ServicePortInUse"
    # Deleting a server's port leaves its floating IP, disassociated.
    assert admin.delete(f"/ports/{server['id']}").status_code == 204
    with cloud.db.session() as session:
        left = session.query(FloatingIP).one()
        assert (left.fixed_port_id, left.fixed_ip_address, left.router_id) == (None, None, None)


def test_dns_name_and_assignment(alice, net):
    network, _ = net
    plain = alice.create("port", network_id=network["id"])
    assert plain["dns_name"] == ""
    assert plain["dns_assignment"] == [{"hostname": "host-10-0-0-2", "ip_address": "10.0.0.2",
                                        "fqdn": "host-10-0-0-2.openstacklocal."}]
    named = alice.create("port", network_id=network["id"], dns_name="Web-1")
    assert named["dns_name"] == "web-1"
    assert named["dns_assignment"][0]["fqdn"] == "web-1.openstacklocal."
    renamed = alice.put(f"/ports/{named['id']}", {"port": {"dns_name": "db"}}).json()["port"]
    assert renamed["dns_assignment"][0]["hostname"] == "db"
    bad = alice.post("/ports", {"port": {"network_id": network["id"], "dns_name": "-bad-"}})
    assert bad.status_code == 400


def test_subnet_service_types_choose_where_addresses_come_from(admin):
    network = admin.create("network")
    floating = admin.create("subnet", network_id=network["id"], ip_version=4,
                            cidr="10.60.0.0/24", service_types=["network:floatingip"])
    general = admin.create("subnet", network_id=network["id"], ip_version=4,
                           cidr="10.61.0.0/24")
    fip_port = admin.create("port", network_id=network["id"],
                            device_owner="network:floatingip")
    assert fip_port["fixed_ips"][0]["subnet_id"] == floating["id"]
    server_port = admin.create("port", network_id=network["id"], device_owner="compute:nova")
    assert server_port["fixed_ips"][0]["subnet_id"] == general["id"]
    bad = admin.post("/subnets", {"subnet": {"network_id": network["id"], "ip_version": 4,
                                             "cidr": "10.62.0.0/24",
                                             "service_types": ["bogus"]}})
    assert bad.status_code == 400 and neutron_error(bad)["type"] == "InvalidSubnetServiceType"
    only_special = admin.create("network")
    admin.create("subnet", network_id=only_special["id"], ip_version=4, cidr="10.63.0.0/24",
                 service_types=["network:router_gateway"])
    none = admin.post("/ports", {"port": {"network_id": only_special["id"]}})
    assert none.status_code == 409
    assert neutron_error(none)["type"] == "IpAddressGenerationFailureNoMatchingSubnet"


def test_only_an_admin_names_another_projects_router_as_a_device(admin, alice, bob, net):
    router = alice.create("router", name="alices")
    bobs_network = bob.create("network")
    claim = {"device_id": router["id"], "device_owner": "network:router_interface"}
    refused = bob.post("/ports", {"port": {"network_id": bobs_network["id"], **claim}})
    assert refused.status_code == 409, refused.text
    assert neutron_error(refused) == {
        "type": "DeviceIDNotOwnedByTenant", "detail": "",
        "message": f"The following device_id {router['id']} is not owned by your tenant "
                   "or matches another tenants router."}
    port = bob.create("port", network_id=bobs_network["id"])
    assert bob.put(f"/ports/{port['id']}", {"port": claim}).status_code == 409
    # Their own router, a device that is no router or server, or an admin: as asked.
    network, _ = net
    mine = alice.post("/ports", {"port": {"network_id": network["id"], **claim}})
    assert mine.status_code == 201, mine.text
    other_tool = bob.put(f"/ports/{port['id']}", {"port": {
        "device_id": "appliance-7", "device_owner": "network:router_interface"}})
    assert other_tool.status_code == 200, other_tool.text
    by_admin = admin.put(f"/ports/{port['id']}", {"port": claim})
    assert by_admin.status_code == 200, by_admin.text
