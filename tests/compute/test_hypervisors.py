"""os-hypervisors: list, detail, show, statistics, uptime, search and servers, and
how the microversions reshape them."""

from __future__ import annotations

import json

import pytest

from tests.compute.helpers import add_host, add_instance


@pytest.fixture
def config_overrides() -> dict:
    # Only the hosts and services a test adds: this cloud runs no compute
    # services of its own (an API-only host).
    return {("compute", "run_services"): False}


def hypervisors(admin, path="", microversion="2.1"):
    response = admin.get(f"/os-hypervisors{path}", microversion)
    assert response.status_code == 200, response.text
    return response.json()


def test_list_detail_and_show(api, admin, alice):
    add_host(api, "cmp1", vcpus=16, memory_mb=32768, local_gb=500, vcpus_used=2,
             memory_mb_used=1024, running_vms=1)
    add_host(api, "cmp2", alive=False)
    listed = hypervisors(admin)["hypervisors"]
    assert listed[0] == {"id": 1, "hypervisor_hostname": "cmp1.example", "state": "up",
                         "status": "enabled"}
    assert listed[1]["state"] == "down"
    detail = hypervisors(admin, "/detail")["hypervisors"][0]
    assert (detail["vcpus"], detail["vcpus_used"], detail["free_ram_mb"]) == (16, 2, 31744)
    assert detail["service"]["host"] == "cmp1" and detail["hypervisor_type"] == "QEMU"
    assert isinstance(json.loads(detail["cpu_info"]), dict)
    assert isinstance(hypervisors(admin, "/detail", "2.28")["hypervisors"][0]["cpu_info"],
                      dict)
    shown = hypervisors(admin, "/1")["hypervisor"]
    assert shown["hypervisor_hostname"] == "cmp1.example" and shown["memory_mb"] == 32768
    assert admin.get("/os-hypervisors/99").status_code == 404
    assert admin.get("/os-hypervisors/abc").status_code == 404
    assert alice.get("/os-hypervisors").status_code == 403


def test_uuids_servers_and_slim_view(api, admin, alice):
    add_host(api, "cmp1")
    add_host(api, "cmp2")
    server = add_instance(api, alice.project_id, alice.user_id, host="cmp1",
                          display_name="web")
    listed = hypervisors(admin, "?with_servers=true", "2.53")["hypervisors"]
    node_id = listed[0]["id"]
    assert len(node_id) == 36
    assert listed[0]["servers"] == [{"uuid": server, "name": "web"}]
    assert "servers" not in listed[1]
    assert hypervisors(admin, "?with_servers=true", "2.75")["hypervisors"][1]["servers"] == []
    assert admin.get("/os-hypervisors?with_servers=maybe", "2.53").status_code == 400
    assert [h["hypervisor_hostname"] for h in hypervisors(
        admin, "?hypervisor_hostname_pattern=cmp2", "2.53")["hypervisors"]] == ["cmp2.example"]
    assert admin.get("/os-hypervisors?hypervisor_hostname_pattern=zzz",
                     "2.53").status_code == 404
    assert admin.get("/os-hypervisors?hypervisor_hostname_pattern=c&limit=1",
                     "2.53").status_code == 400
    shown = hypervisors(admin, f"/{node_id}?with_servers=1", "2.53")["hypervisor"]
    assert shown["servers"][0]["uuid"] == server and len(shown["service"]["id"]) == 36
    assert admin.get("/os-hypervisors/1", "2.53").status_code == 400
    assert admin.get("/os-hypervisors?color=red", "2.53").status_code == 400

    slim = hypervisors(admin, f"/{node_id}", "2.88")["hypervisor"]
    assert "vcpus" not in slim and "cpu_info" not in slim and "memory_mb" not in slim
    assert slim["uptime"] is None and slim["hypervisor_type"] == "QEMU"
    assert admin.get("/os-hypervisors/statistics", "2.88").status_code == 404
    assert admin.get(f"/os-hypervisors/{node_id}/uptime", "2.88").status_code == 404


def test_pages(api, admin):
    for host in ("cmp1", "cmp2", "cmp3"):
        add_host(api, host)
    first = hypervisors(admin, "?limit=2", "2.33")
    assert [h["id"] for h in first["hypervisors"]] == [1, 2]
    assert "marker=2" in first["hypervisors_links"][0]["href"]
    assert [h["id"] for h in hypervisors(admin, "/detail?marker=2", "2.33")["hypervisors"]] \
        == [3]
    assert admin.get("/os-hypervisors?marker=99", "2.33").status_code == 400
    # Before 2.33 there are no pages.
    assert len(hypervisors(admin, "?limit=2")["hypervisors"]) == 3


def test_statistics(api, admin):
    add_host(api, "cmp1", vcpus=8, vcpus_used=2)
    add_host(api, "cmp2", vcpus=4, memory_mb=1000, memory_mb_used=100)
    stats = hypervisors(admin, "/statistics")["hypervisor_statistics"]
    assert (stats["count"], stats["vcpus"], stats["vcpus_used"]) == (2, 12, 2)
    assert stats["free_ram_mb"] == 16384 + 900


def test_uptime(api, admin):
    add_host(api, api.cloud.host)
    add_host(api, "remote")
    add_host(api, "gone", alive=False)
    uptime = hypervisors(admin, "/1/uptime")["hypervisor"]
    assert " up " in uptime["uptime"] and uptime["hypervisor_hostname"].startswith(
        api.cloud.host)
    assert admin.get("/os-hypervisors/2/uptime").status_code == 501
    assert admin.get("/os-hypervisors/3/uptime").status_code == 400


def test_search_and_servers_before_253(api, admin, alice):
    add_host(api, "cmp1")
    add_host(api, "other")
    add_instance(api, alice.project_id, alice.user_id, host="cmp1", display_name="db")
    found = hypervisors(admin, "/cmp/search")["hypervisors"]
    assert [h["hypervisor_hostname"] for h in found] == ["cmp1.example"]
    assert "servers" not in found[0]
    with_servers = hypervisors(admin, "/example/servers")["hypervisors"]
    assert with_servers[0]["servers"][0]["name"] == "db" and "servers" not in with_servers[1]
    assert admin.get("/os-hypervisors/zzz/search").status_code == 404
    assert admin.get("/os-hypervisors/cmp/search", "2.53").status_code == 404
    assert admin.get("/os-hypervisors/cmp/servers", "2.53").status_code == 404

