"""The documents a network agent on a host reconciles against."""

from __future__ import annotations

from stacklet.network import host_state


def test_a_hosts_ports_groups_and_dhcp_networks(api, admin, alice):
    network = alice.create("network", name="private")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.0.0.0/24", dns_nameservers=["10.0.0.2"])
    port = alice.create("port", network_id=network["id"])
    bound = admin.put(f"/ports/{port['id']}", {"port": {"binding:host_id": "host-a"}})
    assert bound.status_code == 200, bound.text
    alice.create("port", network_id=network["id"])        # not bound: not host-a's

    with api.cloud.db.session() as session:
        ports = host_state.host_ports(session, "host-a")
        assert [p["id"] for p in ports] == [port["id"]]
        document = ports[0]
        assert document["network_type"] == "vxlan" and document["mtu"] == 1450
        assert document["segmentation_id"] >= 1
        assert document["fixed_ips"] == [{"subnet_id": subnet["id"],
                                          "ip_address": port["fixed_ips"][0]["ip_address"]}]
        groups = host_state.security_groups(session, document["security_groups"])
        (default,) = groups.values()
        assert {r["direction"] for r in default["rules"]} == {"ingress", "egress"}
        assert port["fixed_ips"][0]["ip_address"] in default["members"]
        (dhcp,) = host_state.dhcp_networks(session)
        assert dhcp["id"] == network["id"]
        assert dhcp["subnets"][0]["dns_nameservers"] == ["10.0.0.2"]
        assert len(dhcp["hosts"]) == 2
        assert host_state.host_ports(session, "host-b") == []
