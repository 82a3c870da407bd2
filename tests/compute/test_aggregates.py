"""os-aggregates: host aggregates, their hosts and metadata; an aggregate's
availability zone is the zone of its hosts everywhere a zone shows."""

from __future__ import annotations

import uuid

from tests.compute.helpers import active_image, add_host, boot, boot_active


def create(admin, name, zone=None, expect=200, microversion="2.1") -> dict:
    body = {"name": name} if zone is None else {"name": name, "availability_zone": zone}
    response = admin.post("/os-aggregates", {"aggregate": body}, microversion)
    assert response.status_code == expect, response.text
    return response.json().get("aggregate")


def action(admin, aggregate_id, name, args, expect=200) -> dict:
    response = admin.post(f"/os-aggregates/{aggregate_id}/action", {name: args})
    assert response.status_code == expect, response.text
    return response.json()


def test_create_show_list_update_delete(admin):
    created = create(admin, "rack-1", "zone-a")
    assert created["availability_zone"] == "zone-a" and "hosts" not in created
    assert "uuid" not in created and created["deleted"] is False
    assert uuid.UUID(create(admin, "rack-2", microversion="2.41")["uuid"])
    shown = admin.get(f"/os-aggregates/{created['id']}").json()["aggregate"]
    assert shown["hosts"] == [] and shown["metadata"] == {"availability_zone": "zone-a"}
    assert shown["updated_at"] is None
    listed = admin.get("/os-aggregates").json()["aggregates"]
    assert [item["name"] for item in listed] == ["rack-1", "rack-2"]
    updated = admin.put(f"/os-aggregates/{created['id']}",
                        {"aggregate": {"name": "rack-one", "availability_zone": "zone-b"}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["aggregate"]["name"] == "rack-one"
    assert updated.json()["aggregate"]["availability_zone"] == "zone-b"
    assert updated.json()["aggregate"]["updated_at"]
    assert admin.delete(f"/os-aggregates/{created['id']}").status_code == 200
    assert admin.get(f"/os-aggregates/{created['id']}").status_code == 404


def test_bad_requests(admin, alice):
    created = create(admin, "rack-1")
    create(admin, "rack-1", expect=409)
    create(admin, "", expect=400)
    create(admin, "a" * 256, expect=400)
    create(admin, "rack-x", "internal", expect=400)
    assert admin.put(f"/os-aggregates/{created['id']}", {"aggregate": {}}).status_code == 400
    create(admin, "rack-2")
    assert admin.put(f"/os-aggregates/{created['id']}",
                     {"aggregate": {"name": "rack-2"}}).status_code == 409
    for path in ("/os-aggregates/-1", "/os-aggregates/999",
                 "/os-aggregates/99999999999999999999"):
        assert admin.get(path).status_code == 404
        assert admin.delete(path).status_code == 404
    assert admin.get("/os-aggregates/x").status_code == 400
    assert alice.get("/os-aggregates").status_code == 403
    assert alice.post("/os-aggregates", {"aggregate": {"name": "mine"}}).status_code == 403
    assert alice.get(f"/os-aggregates/{created['id']}").status_code == 403
    action(admin, created["id"], "reboot", {}, expect=400)


def test_hosts(api, admin, alice):
    add_host(api, "cmp1")
    aggregate = create(admin, "rack-1")
    assert action(admin, aggregate["id"], "add_host", {"host": "cmp1"})["aggregate"][
        "hosts"] == ["cmp1"]
    action(admin, aggregate["id"], "add_host", {"host": "cmp1"}, expect=409)
    action(admin, aggregate["id"], "add_host", {"host": "nowhere"}, expect=404)
    assert alice.post(f"/os-aggregates/{aggregate['id']}/action",
                      {"remove_host": {"host": "cmp1"}}).status_code == 403
    # Nova refuses to delete an aggregate that still has hosts.
    assert admin.delete(f"/os-aggregates/{aggregate['id']}").status_code == 400
    assert action(admin, aggregate["id"], "remove_host", {"host": "cmp1"})["aggregate"][
        "hosts"] == []
    action(admin, aggregate["id"], "remove_host", {"host": "cmp1"}, expect=404)
    assert admin.delete(f"/os-aggregates/{aggregate['id']}").status_code == 200


def test_set_metadata(admin):
    aggregate = create(admin, "rack-1")
    shown = action(admin, aggregate["id"], "set_metadata",
                   {"metadata": {"ssd": "true", "gpu": "2"}})["aggregate"]
    assert shown["metadata"] == {"gpu": "2", "ssd": "true"}
    shown = action(admin, aggregate["id"], "set_metadata",
                   {"metadata": {"ssd": None, "availability_zone": "zone-a"}})["aggregate"]
    assert shown["metadata"] == {"gpu": "2", "availability_zone": "zone-a"}
    assert shown["availability_zone"] == "zone-a"
    action(admin, aggregate["id"], "set_metadata", {"metadata": {}}, expect=400)
    action(admin, aggregate["id"], "set_metadata",
           {"metadata": {"availability_zone": ""}}, expect=400)


def test_a_host_stays_in_one_zone(api, admin):
    add_host(api, "cmp1")
    east = create(admin, "east", "zone-east")
    west = create(admin, "west", "zone-west")
    plain = create(admin, "plain")
    action(admin, east["id"], "add_host", {"host": "cmp1"})
    action(admin, west["id"], "add_host", {"host": "cmp1"}, expect=409)
    action(admin, plain["id"], "add_host", {"host": "cmp1"})
    # Giving the plain aggregate another zone would put cmp1 in two.
    assert admin.put(f"/os-aggregates/{plain['id']}",
                     {"aggregate": {"availability_zone": "zone-west"}}).status_code == 400
    action(admin, plain["id"], "set_metadata",
           {"metadata": {"availability_zone": "zone-west"}}, expect=400)
    action(admin, plain["id"], "set_metadata", {"metadata": {"availability_zone": "zone-east"}})


def test_the_aggregate_zone_is_where_servers_go(api, admin, alice):
    image_id = active_image(api, alice.token)
    host = api.cloud.host
    aggregate = create(admin, "rack-1", "zone-a")
    action(admin, aggregate["id"], "add_host", {"host": host})
    zones = {zone["zoneName"] for zone in
             alice.get("/os-availability-zone").json()["availabilityZoneInfo"]}
    assert zones == {"zone-a"}
    services = admin.get(f"/os-services?host={host}").json()["services"]
    assert services[0]["zone"] == "zone-a"
    boot(alice, image_id, expect=400, availability_zone="nova")
    server = boot_active(alice, image_id, availability_zone="zone-a")
    assert server["OS-EXT-AZ:availability_zone"] == "zone-a"
    assert boot_active(alice, image_id)["OS-EXT-AZ:availability_zone"] == "zone-a"
    # Servers were placed in zone-a: renaming it under them is refused.
    assert admin.put(f"/os-aggregates/{aggregate['id']}",
                     {"aggregate": {"availability_zone": "zone-b"}}).status_code == 400
    # Taking the host out of the aggregate takes its servers to the default zone.
    action(admin, aggregate["id"], "remove_host", {"host": host})
    shown = alice.get(f"/servers/{server['id']}").json()["server"]
    assert shown["OS-EXT-AZ:availability_zone"] == "nova"


def test_cache_images(admin):
    aggregate = create(admin, "rack-1")
    body = {"cache": [{"id": str(uuid.uuid4())}]}
    path = f"/os-aggregates/{aggregate['id']}/images"
    assert admin.post(path, body, "2.80").status_code == 404
    assert admin.post(path, body, "2.81").status_code == 202
    assert admin.post(path, {"cache": body["cache"] * 2}, "2.81").status_code == 400
    assert admin.post("/os-aggregates/999/images", body, "2.81").status_code == 404
