"""The network agents inside a Stacklet process, through the API: what the
network service's users and operators see of them (ports going ACTIVE when
wired, the agents listed with heartbeats, DHCP ports, a fault on a port
that cannot be wired) and what they leave on the host."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
from pyroute2 import IPRoute, netns

from stacklet.network.agent.cleanup import remove_everything
from stacklet.network.driver import nft
from tests.compute.conftest import admin_of
from tests.compute.helpers import active_image, boot, wait_for_status

pytestmark = pytest.mark.dataplane

SUFFIX = secrets.token_hex(3)


def dataplane_options() -> dict:
    first_vni = 20000 + secrets.randbelow(10000) * 10
    return {("network", "dataplane"): "on",
            # Nothing shared with another test's cloud on this machine.
            ("network", "vni_ranges"): f"{first_vni}:{first_vni + 9}",
            ("network", "bridge_mappings"): f"public:brx-{SUFFIX}",
            ("network", "external_masquerade"): False,
            ("network", "resync_interval"): 300.0}


@pytest.fixture
def config_overrides() -> dict:
    return dataplane_options()


@pytest.fixture(autouse=True)
def nothing_left_on_the_host(stacklet_config):
    """What the test's cloud built goes with it, once it stopped (as `stacklet
    cleanup`)."""
    yield
    remove_everything(stacklet_config)


def stop_agents(api) -> None:
    """The cloud's network agents stopped, as when `stacklet up` exits."""
    api.client.portal.call(api.cloud.network_agents.stop)


def wait_for(condition, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


def link_names() -> set[str]:
    with IPRoute() as ipr:
        return {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}


def port_status(admin, port_id: str) -> str:
    return admin.get(f"/ports/{port_id}").json()["port"]["status"]


def test_ports_go_active_when_the_agents_wired_them(api, admin, stacklet_config: Path):
    host = api.cloud.host
    agents = wait_for(lambda: admin.get("/agents").json()["agents"])
    assert {(agent["agent_type"], agent["host"], agent["alive"]) for agent in agents} == {
        (kind, host, True) for kind in
        ("Linux bridge agent", "DHCP agent", "L3 agent", "Metadata agent")}

    network = admin.create("network", name="net")
    subnet = admin.create("subnet", network_id=network["id"], cidr="10.9.0.0/24",
                          ip_version=4)
    # The DHCP agent's port, wired: dnsmasq answers in qdhcp-<network>.
    dhcp = wait_for(lambda: admin.get(
        f"/ports?network_id={network['id']}&device_owner=network:dhcp").json()["ports"])[0]
    assert dhcp["fixed_ips"][0]["subnet_id"] == subnet["id"]
    wait_for(lambda: port_status(admin, dhcp["id"]) == "ACTIVE")
    assert f"qdhcp-{network['id']}" in netns.listnetns()

    # A guest's port: DOWN while bound and not wired yet, ACTIVE once its tap is.
    port = admin.create("port", network_id=network["id"], device_owner="compute:nova",
                        device_id="server-1", **{"binding:host_id": host})
    tap = "tap" + port["id"][:11]
    wait_for(lambda: port_status(admin, port["id"]) == "ACTIVE")
    assert tap in link_names() and "brq" + network["id"][:11] in link_names()

    # Admin down: the agent takes the tap down and says so.
    admin.put(f"/ports/{port['id']}", {"port": {"admin_state_up": False}})
    wait_for(lambda: port_status(admin, port["id"]) == "DOWN")

    # Gone from the database, gone from the host.
    assert admin.delete(f"/ports/{port['id']}").status_code == 204
    wait_for(lambda: tap not in link_names())
    assert admin.delete(f"/networks/{network['id']}").status_code == 204
    wait_for(lambda: f"qdhcp-{network['id']}" not in netns.listnetns())


def test_a_port_on_an_unmapped_physical_network_stays_down(api, admin):
    network = admin.create("network", name="phys", **{
        "provider:network_type": "flat", "provider:physical_network": f"nowhere{SUFFIX}"})
    admin.create("subnet", network_id=network["id"], cidr="10.8.0.0/24", ip_version=4,
                 enable_dhcp=False)
    port = admin.create("port", network_id=network["id"], device_owner="compute:nova",
                        device_id="server-2", **{"binding:host_id": api.cloud.host})
    runtime = api.cloud.network_agents
    # The reason is logged and kept for the fault of a boot that waits for it.
    reason = wait_for(lambda: runtime.port_faults.get(port["id"]))
    assert "bridge_mappings" in reason
    assert port_status(admin, port["id"]) == "DOWN"


def test_cleanup_removes_what_the_agents_made(api, admin, stacklet_config):
    network = admin.create("network", name="net")
    admin.create("subnet", network_id=network["id"], cidr="10.7.0.0/24", ip_version=4)
    router = admin.create("router", name="r")
    subnet_id = admin.get(f"/subnets?network_id={network['id']}").json()["subnets"][0]["id"]
    admin.put(f"/routers/{router['id']}/add_router_interface", {"subnet_id": subnet_id})
    wait_for(lambda: {f"qdhcp-{network['id']}", f"qrouter-{router['id']}"}
             <= set(netns.listnetns()))
    # As `stacklet cleanup` does once the cloud is stopped.
    stop_agents(api)
    removed = remove_everything(stacklet_config)
    assert any(network["id"] in line for line in removed)
    assert any(router["id"] in line for line in removed)
    assert not {f"qdhcp-{network['id']}", f"qrouter-{router['id']}"} & set(netns.listnetns())
    assert "brq" + network["id"][:11] not in link_names()


def host_addresses(bridge: str) -> set[str]:
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=bridge)
        return {f"{record.get_attr('IFA_ADDRESS')}/{record['prefixlen']}"
                for record in ipr.get_addr(index=found[0])} if found else set()


def test_the_host_holds_the_external_gateway_as_devstack_does(api, admin, stacklet_config):
    """172.24.4.1 on br-ex: the host reaches floating IPs (the bridge is the
    test's own, and masquerading is off here: nothing leaves the machine)."""
    bridge = f"brx-{SUFFIX}"
    public = admin.create("network", name="public", **{
        "router:external": True, "provider:network_type": "flat",
        "provider:physical_network": "public"})
    subnet = admin.create("subnet", network_id=public["id"], cidr="172.30.77.0/24",
                          ip_version=4, enable_dhcp=False)
    wait_for(lambda: "172.30.77.1/24" in host_addresses(bridge))
    assert not [table for table in nft.tables() if table[1].endswith("_external")
                and api.cloud.network_agents.settings.tag in table[1]]
    # The subnet gone: the address goes too, and only it.
    assert admin.delete(f"/subnets/{subnet['id']}").status_code == 204
    wait_for(lambda: "172.30.77.1/24" not in host_addresses(bridge))
    admin.create("subnet", network_id=public["id"], cidr="172.30.78.0/24", ip_version=4,
                 enable_dhcp=False)
    wait_for(lambda: "172.30.78.1/24" in host_addresses(bridge))
    stop_agents(api)
    removed = remove_everything(stacklet_config)
    assert f"address 172.30.78.1/24 from {bridge}" in removed
    assert not host_addresses(bridge)


def test_an_external_subnet_the_host_routes_elsewhere_is_not_taken(api, admin, caplog):
    """The host's own LAN on the public CIDR: taking the gateway address would
    cut the host off from it."""
    lan = f"lan-{SUFFIX}"
    with IPRoute() as ipr:
        ipr.link("add", ifname=lan, kind="bridge")
        index = ipr.link_lookup(ifname=lan)[0]
        ipr.link("set", index=index, state="up")
        ipr.route("add", dst="172.30.90.0/24", oif=index)
    try:
        public = admin.create("network", name="public", **{
            "router:external": True, "provider:network_type": "flat",
            "provider:physical_network": "public"})
        admin.create("subnet", network_id=public["id"], cidr="172.30.90.0/24", ip_version=4,
                     enable_dhcp=False)
        wait_for(lambda: "overlaps this host's route to 172.30.90.0/24" in caplog.text)
        assert "172.30.90.1/24" not in host_addresses(f"brx-{SUFFIX}")
    finally:
        with IPRoute() as ipr:
            ipr.link("del", index=ipr.link_lookup(ifname=lan)[0])


@pytest.mark.parametrize("config_overrides", [{
    **dataplane_options(), ("compute", "vif_plugging_timeout"): 2.0}])
def test_a_boot_whose_port_is_never_wired_fails_with_why(api, admin):
    """Compute waits for its ports (Nova's network-vif-plugged), then gives up
    with the agent's reason in the server's fault."""
    network = admin.create("network", name="phys", **{
        "provider:network_type": "flat", "provider:physical_network": f"nowhere{SUFFIX}"})
    admin.create("subnet", network_id=network["id"], cidr="10.6.0.0/24", ip_version=4,
                 enable_dhcp=False)
    compute = admin_of(api)
    image_id = active_image(api, api.admin_token)
    server = boot(compute, image_id, networks=[{"uuid": network["id"]}])["server"]
    shown = wait_for_status(compute, server["id"], "ERROR", timeout=30)
    assert shown["fault"]["message"].startswith("Virtual Interface creation failed: port ")
    assert f"bridge_mappings = nowhere{SUFFIX}:<bridge>" in shown["fault"]["message"]


def test_cleanup_of_a_cloud_that_never_ran_the_data_plane_finds_nothing(tmp_path):
    from stacklet import config as config_module

    (tmp_path / "off").mkdir()
    fresh = config_module.load(tmp_path / "off", environ={})
    assert remove_everything(fresh) == []
