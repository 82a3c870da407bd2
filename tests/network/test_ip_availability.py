"""Network IP availability: pool sizes and used addresses, for admins."""

from __future__ import annotations


def test_totals_per_network_and_subnet(admin, alice):
    network = alice.create("network", name="counted")
    v4 = alice.create("subnet", network_id=network["id"], ip_version=4, cidr="10.0.0.0/28")
    alice.create("subnet", network_id=network["id"], ip_version=4, cidr="10.0.1.0/29",
                 allocation_pools=[{"start": "10.0.1.2", "end": "10.0.1.4"}])
    for _ in range(3):
        alice.create("port", network_id=network["id"])
    alice.create("port", network_id=network["id"], fixed_ips=[{"ip_address": "10.0.1.6"}])
    shown = admin.get(f"/network-ip-availabilities/{network['id']}")
    assert shown.status_code == 200, shown.text
    view = shown.json()["network_ip_availability"]
    assert view["network_name"] == "counted" and view["project_id"] == alice.project_id
    assert view["total_ips"] == 13 + 3 and view["used_ips"] == 4
    by_cidr = {s["cidr"]: s for s in view["subnet_ip_availability"]}
    assert by_cidr["10.0.0.0/28"]["total_ips"] == 13
    assert by_cidr["10.0.0.0/28"]["used_ips"] == 3
    assert by_cidr["10.0.0.0/28"]["subnet_id"] == v4["id"]
    assert by_cidr["10.0.1.0/29"]["used_ips"] == 1
    listed = admin.get(f"/network-ip-availabilities?network_id={network['id']}").json()
    assert [n["network_id"] for n in listed["network_ip_availabilities"]] == [network["id"]]
    # Not for project members.
    assert alice.get(f"/network-ip-availabilities/{network['id']}").status_code == 404
    assert alice.get("/network-ip-availabilities").json()["network_ip_availabilities"] == []
