"""The L3 agent for real: a qrouter- namespace between a tenant network (a
guest namespace behind it) and an external bridge (a namespace standing in
for the outside world), with SNAT, floating IPs and extra routes in nftables."""

from __future__ import annotations

import secrets
import socket
import uuid

import pytest

from stacklet.network.agent.l3 import NAT_TABLE, L3Agent, namespace_name, nat_script
from stacklet.network.agent.settings import ACTIVE
from stacklet.network.driver import links, namespaces, nft
from tests.network.dataplane.test_dhcp import Guest, made, make_settings, random_mac

EXTERNAL_CIDR, OUTSIDE, ROUTER_GATEWAY, FLOATING = (
    "198.51.100.0/24", "198.51.100.1", "198.51.100.10", "198.51.100.20")
TENANT_CIDR, TENANT_GATEWAY, GUEST = "10.88.0.0/24", "10.88.0.1", "10.88.0.5"


def router_port(port_type: str, network_id: str, cidr: str, address: str,
                gateway: str | None) -> dict:
    subnet = {"id": str(uuid.uuid4()), "cidr": cidr, "gateway_ip": gateway}
    return {"port_type": port_type, "id": str(uuid.uuid4()), "network_id": network_id,
            "mac_address": random_mac(), "admin_state_up": True, "device_owner": port_type,
            "device_id": "", "mtu": 1500, "network_type": "local", "physical_network": None,
            "segmentation_id": None,
            "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": address}],
            "subnets": [subnet]}


class Topology:
    """A router joining a tenant network (with a guest) to an external one
    (with the outside world's namespace at its gateway address)."""

    def __init__(self, settings, tenant_id: str | None = None):
        self.external_id, self.tenant_id = str(uuid.uuid4()), tenant_id or str(uuid.uuid4())
        self.bridges = [links.bridge_name(self.external_id), links.bridge_name(self.tenant_id)]
        for network_id in (self.external_id, self.tenant_id):
            links.ensure_network_bridge(settings, {"id": network_id, "network_type": "local",
                                                   "mtu": 1500})
        self.gateway = router_port("network:router_gateway", self.external_id, EXTERNAL_CIDR,
                                   ROUTER_GATEWAY, OUTSIDE)
        self.interface = router_port("network:router_interface", self.tenant_id, TENANT_CIDR,
                                     TENANT_GATEWAY, TENANT_GATEWAY)
        self.router = {"id": str(uuid.uuid4()), "admin_state_up": True, "enable_snat": True,
                       "routes": [], "ports": [self.gateway, self.interface],
                       "floating_ips": []}
        self.outside = Guest(settings, self.bridges[0], random_mac())
        self.outside.configure(f"{OUTSIDE}/24")
        self.guest = Guest(settings, self.bridges[1], random_mac())
        self.guest.configure(f"{GUEST}/24", TENANT_GATEWAY)

    def remove(self) -> None:
        for remove in (self.guest.remove, self.outside.remove,
                       *(lambda b=b: links.delete_link(b) for b in self.bridges)):
            try:
                remove()
            except Exception:
                pass


def listen(namespace: str, address: str = "0.0.0.0") -> socket.socket:
    with namespaces.entered(namespace):
        server = socket.create_server((address, 0))
    server.settimeout(2)
    return server


def peer_seen(client_namespace: str, server: socket.socket, address: str,
              timeout: float = 2.0) -> str:
    """Connect from CLIENT_NAMESPACE to ADDRESS at SERVER's port; the source
    address the server saw."""
    with namespaces.entered(client_namespace):
        client = socket.socket()
    with client:
        client.settimeout(timeout)
        client.connect((address, server.getsockname()[1]))
        connection, peer = server.accept()
        connection.close()
    return peer[0]


@pytest.fixture
def topology(tmp_path):
    settings = make_settings(tmp_path)
    agent = L3Agent(settings)
    built = Topology(settings)
    with made(agent.cleanup, built.remove):
        yield agent, built


@pytest.mark.dataplane
def test_snat_floating_ips_and_their_removal(topology):
    agent, net = topology
    statuses = agent.sync([net.router])
    assert statuses == {net.gateway["id"]: ACTIVE, net.interface["id"]: ACTIVE}
    namespace = namespace_name(net.router["id"])
    with namespaces.entered(namespace):
        assert open("/proc/sys/net/ipv4/ip_forward").read().strip() == "1"

    # The guest reaches the outside world, seen as the router's gateway address.
    outside_server = listen(net.outside.name)
    with outside_server:
        assert peer_seen(net.guest.name, outside_server, OUTSIDE) == ROUTER_GATEWAY

        # A floating IP: the outside reaches the guest at it, and the guest's
        # own connections come from it.
        floating_id = str(uuid.uuid4())
        net.router["floating_ips"] = [{"id": floating_id, "floating_ip_address": FLOATING,
                                       "floating_network_id": net.external_id,
                                       "fixed_ip_address": GUEST}]
        assert agent.sync([net.router])[floating_id] == ACTIVE
        guest_server = listen(net.guest.name)
        with guest_server:
            assert peer_seen(net.outside.name, guest_server, FLOATING) == OUTSIDE
            assert peer_seen(net.guest.name, outside_server, OUTSIDE) == FLOATING

            # Gone: nothing answers at the floating address any more.
            net.router["floating_ips"] = []
            assert floating_id not in agent.sync([net.router])
            with pytest.raises(OSError):
                peer_seen(net.outside.name, guest_server, FLOATING, timeout=1)
        assert peer_seen(net.guest.name, outside_server, OUTSIDE) == ROUTER_GATEWAY

        net.router["enable_snat"] = False
        agent.sync([net.router])
        rules = nft.list_table("ip", NAT_TABLE, namespace)
        assert not any("snat" in str(item) for item in rules if "rule" in item)

    # The router gone, its namespace with it.
    assert agent.sync([]) == {}
    assert not namespaces.exists(namespace)


@pytest.mark.dataplane
def test_extra_routes_admin_down_and_interfaces_removed(topology):
    agent, net = topology
    net.router["routes"] = [{"destination": "10.200.0.0/16", "nexthop": "10.88.0.254"}]
    agent.sync([net.router])
    namespace = namespace_name(net.router["id"])
    with namespaces.iproute(namespace) as ipr:
        routes = {(r.get("RTA_DST"), r["dst_len"], r.get("RTA_GATEWAY"))
                  for r in ipr.get_routes(table=254) if r.get("RTA_GATEWAY")}
    assert routes == {("10.200.0.0", 16, "10.88.0.254"), (None, 0, OUTSIDE)}

    net.router["admin_state_up"] = False
    statuses = agent.sync([net.router])
    assert statuses[net.interface["id"]].state == "DOWN"
    with namespaces.iproute(namespace) as ipr:
        (link,) = ipr.link("get", ifname="qr-" + net.interface["id"][:11])
        assert not link["flags"] & 1      # IFF_UP

    net.router["admin_state_up"] = True
    net.router["ports"] = [net.gateway]
    agent.sync([net.router])
    with namespaces.iproute(namespace) as ipr:
        assert not ipr.link_lookup(ifname="qr-" + net.interface["id"][:11])
    assert not links.link_exists(links.tap_name(net.interface["id"]))


def test_the_nat_table_is_replaced_in_one_script():
    port = router_port("network:router_interface", "n", TENANT_CIDR, TENANT_GATEWAY,
                       TENANT_GATEWAY)
    gateway = router_port("network:router_gateway", "x", EXTERNAL_CIDR, ROUTER_GATEWAY, OUTSIDE)
    router = {"id": secrets.token_hex(4), "enable_snat": True, "routes": [],
              "ports": [gateway, port],
              "floating_ips": [{"id": "f", "floating_ip_address": FLOATING,
                                "fixed_ip_address": GUEST}]}
    script = nat_script(router, gateway)
    qg = "qg-" + gateway["id"][:11]
    assert script.startswith(f"table ip {NAT_TABLE} {{}}\ndelete table ip {NAT_TABLE}\n")
    assert f"ip daddr {FLOATING} dnat to {GUEST}" in script
    # The floating IP's SNAT comes before the router's own.
    assert script.index(f'oifname "{qg}" ip saddr {GUEST} snat to {FLOATING}') < \
        script.index(f'oifname "{qg}" ip saddr {TENANT_CIDR} snat to {ROUTER_GATEWAY}')
    assert 'iifname "qr-*" ip daddr 169.254.169.254 tcp dport 80 redirect to :9697' in script
