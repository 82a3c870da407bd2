"""The network API driven by the real `openstack` CLI and openstacksdk against
`stacklet up --compute-driver fake`.

A member builds what a project usually builds: a network with a subnet and
its pools, ports with chosen addresses, a router to the admin's external
network, security groups, a floating IP on a server's port.  The last test
restarts Stacklet and finds every one of them again.  Tests run in file
order and share what the module fixtures made.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import (
    OpenStackCLI,
    StackletServer,
    admin_cloud,
    create_member,
    sdk_connection,
    write_clouds_yaml,
)

pytestmark = pytest.mark.e2e

STATUS_TIMEOUT = 60


@pytest.fixture(scope="module")
def network_server(tmp_path_factory):
    stacklet = StackletServer(tmp_path_factory.mktemp("network") / "data",
                              up_args=("--compute-driver", "fake", "--fake-hosts", "1"))
    stacklet.start()
    yield stacklet
    stacklet.stop()


@pytest.fixture(scope="module")
def clouds_yaml(network_server: StackletServer, tmp_path_factory):
    admin = OpenStackCLI(network_server.clouds_yaml)
    member = create_member(admin, network_server, "e2e-network", "e2e-network-user",
                           "net-pass-word-1")
    return write_clouds_yaml(tmp_path_factory.mktemp("network-clouds") / "clouds.yaml", {
        "stacklet": admin_cloud(network_server), "user": member["cloud"]})


@pytest.fixture(scope="module")
def admin(clouds_yaml) -> OpenStackCLI:
    return OpenStackCLI(clouds_yaml, "stacklet")


@pytest.fixture(scope="module")
def user(clouds_yaml) -> OpenStackCLI:
    return OpenStackCLI(clouds_yaml, "user")


@pytest.fixture(scope="module")
def public(admin) -> dict:
    network = admin.json("network", "create", "--external", "public")
    admin.json("subnet", "create", "--network", "public", "--subnet-range", "172.24.4.0/24",
               "--no-dhcp", "--gateway", "172.24.4.1", "public-subnet")
    return network


@pytest.fixture(scope="module")
def private(user) -> dict:
    network = user.json("network", "create", "private")
    subnet = user.json("subnet", "create", "--network", "private",
                       "--subnet-range", "10.0.0.0/24",
                       "--allocation-pool", "start=10.0.0.10,end=10.0.0.100",
                       "--dns-nameserver", "10.0.0.2", "private-subnet")
    return {"network": network, "subnet": subnet}


def test_network_and_subnet_with_pools(private):
    network, subnet = private["network"], private["subnet"]
    assert network["status"] == "ACTIVE" and network["mtu"] == 1450
    assert subnet["cidr"] == "10.0.0.0/24" and subnet["gateway_ip"] == "10.0.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.0.0.10", "end": "10.0.0.100"}]
    assert subnet["dns_nameservers"] == ["10.0.0.2"]


def test_ports_take_chosen_or_next_addresses(user, private):
    chosen = user.json("port", "create", "--network", "private", "--fixed-ip",
                       "subnet=private-subnet,ip-address=10.0.0.50", "chosen")
    assert [ip["ip_address"] for ip in chosen["fixed_ips"]] == ["10.0.0.50"]
    automatic = user.json("port", "create", "--network", "private", "automatic")
    assert automatic["fixed_ips"][0]["ip_address"] == "10.0.0.10"
    taken = user.fails("port", "create", "--network", "private", "--fixed-ip",
                       "ip-address=10.0.0.50", "again")
    assert "10.0.0.50" in taken
    listed = user.json("port", "list", "--fixed-ip", "ip-address=10.0.0.50")
    assert [port["ID"] for port in listed] == [chosen["id"]]


def test_security_group_and_rules(user):
    group = user.json("security group", "create", "web")
    rule = user.json("security group rule", "create", "--protocol", "tcp",
                     "--dst-port", "80:81", "--remote-ip", "0.0.0.0/0", "web")
    assert rule["port_range_min"] == 80 and rule["port_range_max"] == 81
    duplicate = user.fails("security group rule", "create", "--protocol", "tcp",
                           "--dst-port", "80:81", "--remote-ip", "0.0.0.0/0", "web")
    assert "already exists" in duplicate
    rules = user.json("security group rule", "list", "web")
    assert len(rules) == 3        # the two default egress rules and ours
    assert group["name"] == "web"
    names = [g["Name"] for g in user.json("security group", "list")]
    assert "default" in names


def test_router_with_gateway_and_interface(user, public, private):
    router = user.json("router", "create", "router1")
    user.run("router", "set", "--external-gateway", public["id"], "router1")
    user.run("router", "add", "subnet", "router1", "private-subnet")
    shown = user.json("router", "show", "router1")
    gateway = shown["external_gateway_info"]
    assert gateway["network_id"] == public["id"] and gateway["enable_snat"] is True
    assert gateway["external_fixed_ips"][0]["ip_address"].startswith("172.24.4.")
    interfaces = user.json("port", "list", "--router", router["id"])
    assert any(ip["ip_address"] == "10.0.0.1"
               for port in interfaces for ip in port["Fixed IP Addresses"])
    in_use = user.fails("subnet", "delete", "private-subnet")
    assert "in use" in in_use.lower() or "409" in in_use


@pytest.fixture(scope="module")
def image(admin, tmp_path_factory) -> dict:
    disk = tmp_path_factory.mktemp("net-disk") / "disk.raw"
    disk.write_bytes(b"\0" * 65536)
    return admin.json("image", "create", "--disk-format", "raw", "--container-format", "bare",
                      "--public", "--file", str(disk), "e2e-network-disk")


@pytest.fixture(scope="module")
def server(user, image, private) -> dict:
    return user.json("server", "create", "--flavor", "m1.nano", "--image", image["id"],
                     "--network", "private", "--wait", "vm1")


def test_server_on_a_network_shows_its_address(user, server):
    assert server["status"] == "ACTIVE"
    addresses = server["addresses"]
    assert list(addresses) == ["private"]
    address = addresses["private"][0]
    assert address.startswith("10.0.0.")
    ports = user.json("port", "list", "--server", server["id"])
    assert len(ports) == 1 and ports[0]["Fixed IP Addresses"][0]["ip_address"] == address


def test_floating_ip_associates_with_the_servers_port(user, public, server):
    floating = user.json("floating ip", "create", "public")
    assert floating["floating_ip_address"].startswith("172.24.4.")
    user.run("server", "add", "floating ip", server["id"], floating["floating_ip_address"])
    deadline = time.monotonic() + STATUS_TIMEOUT
    while True:
        shown = user.json("floating ip", "show", floating["id"])
        if shown["port_id"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert shown["fixed_ip_address"].startswith("10.0.0.")
    addresses = user.json("server", "show", server["id"])["addresses"]["private"]
    assert floating["floating_ip_address"] in addresses


def test_openstacksdk_sees_the_same_resources(clouds_yaml, private):
    connection = sdk_connection(clouds_yaml, "user")
    network = connection.network.find_network("private")
    assert network.id == private["network"]["id"]
    subnets = list(connection.network.subnets(network_id=network.id))
    assert [s.cidr for s in subnets] == ["10.0.0.0/24"]
    assert connection.network.find_router("router1") is not None


def test_every_resource_survives_a_restart(network_server, user, admin, server):
    before = {kind: sorted(row["ID"] for row in user.json(kind, "list"))
              for kind in ("network", "subnet", "port", "router", "security group",
                           "floating ip")}
    network_server.stop()
    network_server.start()
    after = {kind: sorted(row["ID"] for row in user.json(kind, "list")) for kind in before}
    assert after == before
    assert user.json("server", "show", server["id"])["addresses"]["private"]
