"""Servers over HTTP with the fake driver: boot, show, list, update, delete, and refusals."""

from __future__ import annotations

import concurrent.futures
import time

import sqlalchemy as sa

from stacklet.compute.models import FakeGuest, Instance
from tests.compute.helpers import active_image, boot, boot_active, wait_for_status


def _count_servers(api) -> int:
    with api.cloud.db.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Instance))


def test_boot_show_and_delete(api, alice):
    image_id = active_image(api, alice.token)
    created = boot(alice, image_id, name="web-1", metadata={"role": "web"})["server"]
    assert created["adminPass"] and created["OS-DCF:diskConfig"] == "MANUAL"
    assert created["links"][0]["href"].endswith(f"/compute/v2.1/servers/{created['id']}")

    server = wait_for_status(alice, created["id"], "ACTIVE")
    assert server["name"] == "web-1" and server["metadata"] == {"role": "web"}
    assert server["image"]["id"] == image_id and server["flavor"]["id"] == "1"
    assert server["tenant_id"] == alice.project_id and server["hostId"]
    assert server["OS-EXT-STS:vm_state"] == "active"
    assert server["OS-EXT-STS:power_state"] == 1
    assert server["OS-SRV-USG:launched_at"] and server["OS-EXT-AZ:availability_zone"] == "nova"
    # Host details are for admins only.
    assert "OS-EXT-SRV-ATTR:host" not in server
    with api.cloud.db.session() as session:
        assert session.get(FakeGuest, created["id"]).power_state == 1

    assert alice.delete(f"/servers/{created['id']}").status_code == 204
    wait_for_status(alice, created["id"], "DELETED")
    with api.cloud.db.session() as session:
        assert session.get(FakeGuest, created["id"]) is None


def test_microversioned_views(api, alice, admin):
    image_id = active_image(api, alice.token)
    server = boot(alice, image_id, microversion="2.96", networks="none",
                  description="about", tags=["a", "b"])["server"]
    shown = wait_for_status(alice, server["id"], "ACTIVE", microversion="2.96")
    assert shown["description"] == "about" and shown["tags"] == ["a", "b"]
    assert shown["flavor"]["original_name"] == "m1.tiny" and shown["flavor"]["ram"] == 512
    assert shown["locked"] is False and shown["locked_reason"] is None
    assert shown["server_groups"] == [] and shown["pinned_availability_zone"] is None
    assert shown["OS-EXT-SRV-ATTR:hostname"] == "vm"
    as_admin = admin.get(f"/servers/{server['id']}", microversion="2.96").json()["server"]
    assert as_admin["OS-EXT-SRV-ATTR:host"] == api.cloud.host
    assert as_admin["host_status"] == "UP"
    # networks is required from 2.37.
    response = alice.post("/servers", {"server": {
        "name": "x", "imageRef": image_id, "flavorRef": "1"}}, microversion="2.37")
    assert response.status_code == 400 and "networks" in response.json()["badRequest"]["message"]


def test_list_filters_sort_and_pages(api, alice):
    image_id = active_image(api, alice.token)
    ids = [boot_active(alice, image_id, name=f"node-{n}")["id"] for n in range(3)]
    listed = alice.get("/servers").json()["servers"]
    # Newest first, as Nova sorts by default.
    assert [s["id"] for s in listed] == ids[::-1]
    assert set(listed[0]) == {"id", "name", "links"}

    page = alice.get("/servers/detail?limit=2").json()
    assert [s["id"] for s in page["servers"]] == [ids[2], ids[1]]
    next_href = page["servers_links"][0]["href"]
    assert f"marker={ids[1]}" in next_href
    rest = alice.get(f"/servers/detail?limit=2&marker={ids[1]}").json()
    assert [s["id"] for s in rest["servers"]] == [ids[0]] and "servers_links" not in rest

    assert [s["name"] for s in alice.get("/servers?name=node-[01]&sort_key=display_name"
                                         "&sort_dir=asc").json()["servers"]] == \
        ["node-0", "node-1"]
    assert alice.get("/servers?status=SHUTOFF").json()["servers"] == []
    assert len(alice.get("/servers?status=ACTIVE").json()["servers"]) == 3
    assert len(alice.get(f"/servers?image={image_id}&flavor=1").json()["servers"]) == 3
    assert alice.get("/servers?sort_key=bogus").status_code == 400
    assert alice.get("/servers?marker=nope").status_code == 400
    assert alice.get("/servers?changes-since=yesterday").status_code == 400


def test_other_projects_servers_are_invisible(api, alice, bob, admin):
    image_id = active_image(api, alice.token)
    server = boot_active(alice, image_id)
    assert bob.get(f"/servers/{server['id']}").status_code == 404
    assert bob.delete(f"/servers/{server['id']}").status_code == 404
    assert bob.get("/servers").json()["servers"] == []
    assert bob.get("/servers?all_tenants=1").status_code == 403
    everyone = admin.get("/servers?all_tenants=1").json()["servers"]
    assert [s["id"] for s in everyone] == [server["id"]]
    assert admin.get("/servers").json()["servers"] == []


def test_update(api, alice):
    image_id = active_image(api, alice.token)
    server = boot_active(alice, image_id)
    updated = alice.put(f"/servers/{server['id']}", {"server": {
        "name": "renamed", "description": "new"}}, microversion="2.19").json()["server"]
    assert updated["name"] == "renamed" and updated["description"] == "new"
    assert alice.put(f"/servers/{server['id']}", {"server": {"name": ""}}).status_code == 400
    # description needs 2.19.
    assert alice.put(f"/servers/{server['id']}",
                     {"server": {"description": "x"}}).status_code == 400


def test_bad_requests_change_nothing(api, alice):
    image_id = active_image(api, alice.token)
    bad = [
        ({"flavorRef": "no-such-flavor"}, "Flavor no-such-flavor could not be found"),
        ({"imageRef": "9c5f6f3b-0c8e-4b56-9d7b-1b2a7f0e1e11"}, "could not be found"),
        ({"imageRef": "not-a-uuid"}, "imageRef"),
        ({"key_name": "missing"}, "Invalid key_name provided"),
        ({"networks": [{"uuid": "9c5f6f3b-0c8e-4b56-9d7b-1b2a7f0e1e11"}]},
         "Network 9c5f6f3b-0c8e-4b56-9d7b-1b2a7f0e1e11 could not be found"),
        ({"name": "x" * 256}, "name"),
        ({"name": 42}, "name"),
        ({"accessIPv4": "1.2.3"}, "accessIPv4"),
        ({"min_count": 3, "max_count": 2}, "min_count"),
        ({"user_data": "not base64!"}, "user_data"),
        ({"availability_zone": "elsewhere"}, "availability zone"),
        ({"metadata": {"k": "v" * 256}}, "metadata"),
    ]
    for fields, message in bad:
        response = boot(alice, image_id, expect=400, **fields)
        assert message in response["badRequest"]["message"], (fields, response)
    assert _count_servers(api) == 0


def test_multiple_create(api, alice):
    image_id = active_image(api, alice.token)
    reservation = boot(alice, image_id, name="many", min_count=2, max_count=3,
                       return_reservation_id=True)["reservation_id"]
    listed = alice.get(f"/servers/detail?reservation_id={reservation}").json()["servers"]
    assert sorted(s["name"] for s in listed) == ["many-1", "many-2", "many-3"]
    for server in listed:
        wait_for_status(alice, server["id"], "ACTIVE")


def test_concurrent_boots_never_oversubscribe_a_host(api, alice):
    from stacklet.compute.models import ComputeNode

    # A host with room for exactly four m1.tiny servers (512 MiB each).
    with api.cloud.db.transaction() as session:
        node = session.scalar(sa.select(ComputeNode))
        node.memory_mb, node.ram_allocation_ratio = 2048, 1.0
    image_id = active_image(api, alice.token)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        created = list(pool.map(lambda n: boot(alice, image_id, name=f"c{n}")["server"]["id"],
                                range(10)))
    statuses = {server_id: _wait_settled(alice, server_id) for server_id in created}
    active = [s for s in statuses.values() if s["status"] == "ACTIVE"]
    failed = [s for s in statuses.values() if s["status"] == "ERROR"]
    assert len(active) == 4 and len(failed) == 6
    assert failed[0]["fault"]["message"].startswith("No valid host was found")
    with api.cloud.db.session() as session:
        node = session.scalar(sa.select(ComputeNode))
        assert node.memory_mb_used == 4 * 512 and node.running_vms == 4


def _wait_settled(compute, server_id: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server = compute.get(f"/servers/{server_id}").json()["server"]
        if server["status"] in ("ACTIVE", "ERROR"):
            return server
        time.sleep(0.05)
    raise AssertionError(f"server {server_id} never left BUILD")


def test_a_dotted_name_gives_a_hostname_with_hyphens(api, alice):
    """As Nova since Wallaby (Tempest's test_create_server_with_fqdn_name reads
    it inside the guest): the guest's hostname has no dots from its name."""
    image_id = active_image(api, alice.token)
    server = boot(alice, image_id, microversion="2.96", networks="none",
                  name="Guest_Instance-1.domain.com")["server"]
    shown = wait_for_status(alice, server["id"], "ACTIVE", microversion="2.96")
    assert shown["OS-EXT-SRV-ATTR:hostname"] == "guest-instance-1-domain-com"
