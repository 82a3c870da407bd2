"""Nova's floating IP proxies: pools, allocation and a server's floating IPs."""

from __future__ import annotations

from tests.compute.helpers import active_image, boot_active
from tests.compute.test_network_integration import make_network, network_of
from tests.network.conftest import Network


def public_network(admin) -> dict:
    net = Network(admin.api, admin.token, admin.project_id, admin.user_id)
    public = net.create("network", name="public", **{"router:external": True})
    net.create("subnet", network_id=public["id"], ip_version=4, cidr="172.24.4.0/24",
               enable_dhcp=False)
    return public


def test_floating_ips_through_nova(api, admin, alice):
    public = public_network(admin)
    assert alice.get("/os-floating-ip-pools").json() == {
        "floating_ip_pools": [{"name": "public"}]}
    net = network_of(alice)
    private = make_network(net, "private")
    router = net.create("router", name="r", external_gateway_info={"network_id": public["id"]})
    added = net.put(f"/routers/{router['id']}/add_router_interface",
                    {"subnet_id": private["subnet"]["id"]})
    assert added.status_code == 200, added.text

    created = alice.post("/os-floating-ips", {"pool": "public"})
    assert created.status_code == 200, created.text
    floating = created.json()["floating_ip"]
    assert floating["ip"].startswith("172.24.4.") and floating["instance_id"] is None
    assert alice.post("/os-floating-ips", {"pool": "nowhere"}).status_code == 404

    server = boot_active(alice, active_image(api, alice.token),
                         networks=[{"uuid": private["id"]}])
    action = f"/servers/{server['id']}/action"
    added = alice.post(action, {"addFloatingIp": {"address": floating["ip"]}})
    assert added.status_code == 202, added.text
    shown = alice.get(f"/os-floating-ips/{floating['id']}").json()["floating_ip"]
    assert shown["instance_id"] == server["id"] and shown["fixed_ip"].startswith("10.0.0.")
    addresses = alice.get(f"/servers/{server['id']}").json()["server"]["addresses"]
    assert {a["OS-EXT-IPS:type"] for a in addresses["private"]} == {"fixed", "floating"}
    assert alice.post(action, {"addFloatingIp": {"address": "172.24.4.250"}}
                      ).status_code == 404
    assert alice.post(action, {"addFloatingIp": {"address": floating["ip"]}},
                      microversion="2.44").status_code == 404

    assert alice.post(action, {"removeFloatingIp": {"address": floating["ip"]}}
                      ).status_code == 202
    assert alice.post(action, {"removeFloatingIp": {"address": floating["ip"]}}
                      ).status_code == 409
    assert alice.delete(f"/os-floating-ips/{floating['id']}").status_code == 202
    assert alice.get(f"/os-floating-ips/{floating['id']}").status_code == 404
