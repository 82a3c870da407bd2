"""Security groups named at boot, added and removed by server actions."""

from __future__ import annotations

from tests.compute.helpers import active_image, boot, boot_active


def test_add_and_remove(api, alice, bob):
    image_id = active_image(api, alice.token)
    server = boot_active(alice, image_id)
    assert server["security_groups"] == [{"name": "default"}]
    action = f"/servers/{server['id']}/action"

    missing = alice.post(action, {"addSecurityGroup": {"name": "web"}})
    assert missing.status_code == 404 and "web" in missing.json()["itemNotFound"]["message"]
    assert alice.post(action, {"addSecurityGroup": {}}).status_code == 400
    assert bob.post(action, {"removeSecurityGroup": {"name": "default"}}).status_code == 404

    assert alice.post(action, {"removeSecurityGroup": {"name": "default"}}).status_code == 202
    shown = alice.get(f"/servers/{server['id']}").json()["server"]
    assert "security_groups" not in shown
    assert alice.post(action, {"removeSecurityGroup": {"name": "default"}}).status_code == 404
    assert alice.post(action, {"addSecurityGroup": {"name": "default"}}).status_code == 202
    assert alice.get(f"/servers/{server['id']}").json()["server"]["security_groups"] == [
        {"name": "default"}]


def test_unknown_group_at_boot_is_refused(api, alice):
    image_id = active_image(api, alice.token)
    refused = boot(alice, image_id, expect=400, security_groups=[{"name": "nope"}])
    assert "nope" in refused["badRequest"]["message"]


def test_a_group_asked_for_by_id_is_shown_by_name(api, alice):
    """`openstack server create --security-group <id>`: server show lists the
    group's name, as Nova does, not the id that was typed."""
    image_id = active_image(api, alice.token)
    group = api.post("/network/v2.0/security-groups", token=alice.token,
                     json={"security_group": {"name": "ssh"}}).json()["security_group"]
    server_id = boot(alice, image_id, security_groups=[{"name": group["id"]}])["server"]["id"]
    shown = alice.get(f"/servers/{server_id}").json()["server"]
    assert shown["security_groups"] == [{"name": "ssh"}]
