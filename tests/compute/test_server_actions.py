"""Server actions over HTTP with the fake driver: each action's end state, the
instance action it records, and Nova's refusals."""

from __future__ import annotations

import concurrent.futures
import time

import pytest
import sqlalchemy as sa

from stacklet.compute.driver import NotSupported
from stacklet.compute.driver.fake import SNAPSHOT_DATA, FakeDriver
from stacklet.compute.models import ComputeNode, Instance, InstanceAction, Migration
from tests.compute.helpers import active_image, boot_active, wait_for_status


def act(compute, server_id: str, body: dict, expect: int = 202, microversion: str = "2.1"):
    response = compute.post(f"/servers/{server_id}/action", body, microversion=microversion)
    assert response.status_code == expect, response.text
    return response


def conflict(compute, server_id: str, body: dict, microversion: str = "2.1") -> str:
    return act(compute, server_id, body, 409, microversion).json()[
        "conflictingRequest"]["message"]


def recorded_actions(api, server_id: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The server's instance actions, oldest first, with their events' results."""
    with api.cloud.db.session() as session:
        rows = session.scalars(sa.select(InstanceAction).filter_by(instance_id=server_id)
                               .order_by(InstanceAction.id))
        return [(row.action, [(event.event, event.result) for event in row.events])
                for row in rows]


def wait_until(check, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def memory_used(api) -> int:
    with api.cloud.db.session() as session:
        return session.scalar(sa.select(ComputeNode.memory_mb_used))


@pytest.fixture
def server(api, alice) -> dict:
    return boot_active(alice, active_image(api, alice.token))


def test_power_actions_reach_their_states_and_are_recorded(api, alice, server):
    sid = server["id"]
    steps = [({"os-stop": None}, "SHUTOFF", 4), ({"os-start": None}, "ACTIVE", 1),
             ({"reboot": {"type": "SOFT"}}, "ACTIVE", 1),
             ({"reboot": {"type": "hard"}}, "ACTIVE", 1),
             ({"pause": None}, "PAUSED", 3), ({"unpause": None}, "ACTIVE", 1),
             ({"suspend": None}, "SUSPENDED", 7), ({"resume": None}, "ACTIVE", 1)]
    for body, status, power_state in steps:
        act(alice, sid, body)
        shown = wait_for_status(alice, sid, status)
        assert shown["OS-EXT-STS:power_state"] == power_state
    recorded = recorded_actions(api, sid)
    assert [name for name, _ in recorded] == [
        "create", "stop", "start", "reboot", "reboot", "pause", "unpause", "suspend",
        "resume"]
    assert recorded[1][1] == [("compute_stop_instance", "Success")]
    assert recorded[4][1] == [("compute_reboot_instance", "Success")]


def test_actions_refused_in_the_wrong_state(api, alice, server):
    sid = server["id"]
    assert conflict(alice, sid, {"os-start": None}) == \
        f"Cannot 'start' instance {sid} while it is in vm_state active"
    assert "vm_state active" in conflict(alice, sid, {"unpause": None})
    assert "vm_state active" in conflict(alice, sid, {"confirmResize": None})
    act(alice, sid, {"os-stop": None})
    wait_for_status(alice, sid, "SHUTOFF")
    assert conflict(alice, sid, {"os-stop": None}) == \
        f"Cannot 'stop' instance {sid} while it is in vm_state stopped"
    assert "vm_state stopped" in conflict(alice, sid, {"reboot": {"type": "SOFT"}})
    assert "vm_state stopped" in conflict(alice, sid, {"pause": None})
    # A hard reboot is allowed from more states: it starts a stopped server.
    act(alice, sid, {"reboot": {"type": "HARD"}})
    wait_for_status(alice, sid, "ACTIVE")
    assert "restore" in conflict(alice, sid, {"restore": None})


def test_a_task_in_progress_blocks_another_action(api, alice, server):
    sid = server["id"]
    with api.cloud.db.transaction() as session:
        session.get(Instance, sid).task_state = "rebooting"   # as if the agent were slow
    assert conflict(alice, sid, {"os-stop": None}) == \
        f"Cannot 'stop' instance {sid} while it is in task_state rebooting"
    # Nothing was recorded for the refused action.
    assert [name for name, _ in recorded_actions(api, sid)] == ["create"]


def test_lock_and_unlock(api, alice, admin, server):
    sid = server["id"]
    act(alice, sid, {"lock": {"locked_reason": "maintenance"}}, microversion="2.73")
    shown = alice.get(f"/servers/{sid}", microversion="2.73").json()["server"]
    assert shown["locked"] is True and shown["locked_reason"] == "maintenance"
    assert conflict(alice, sid, {"os-stop": None}) == f"Instance {sid} is locked"
    assert conflict(alice, sid, {"createImage": {"name": "snap"}}) == \
        f"Instance {sid} is locked"
    assert alice.delete(f"/servers/{sid}").status_code == 409
    act(alice, sid, {"unlock": None})
    assert alice.get(f"/servers/{sid}", microversion="2.73").json()["server"][
        "locked_reason"] is None

    # Locked by an admin (of another project): only an admin unlocks it.
    act(admin, sid, {"lock": None})
    act(alice, sid, {"unlock": None}, expect=403)
    act(admin, sid, {"os-stop": None})   # an admin acts on a locked server
    wait_for_status(alice, sid, "SHUTOFF")
    act(admin, sid, {"unlock": None})
    assert [name for name, _ in recorded_actions(api, sid)][-3:] == ["lock", "stop", "unlock"]


def test_other_projects_and_bad_bodies(api, alice, bob, server):
    sid = server["id"]
    response = act(bob, sid, {"os-stop": None}, expect=404)
    assert response.json()["itemNotFound"]["message"] == f"Instance {sid} could not be found."
    act(bob, sid, {"reboot": {"type": "HARD"}}, expect=404)
    for body in ({"reboot": {}}, {"reboot": {"type": "gentle"}}, {"resize": {}},
                 {"no-such-action": None}, {"os-stop": None, "os-start": None},
                 {"createImage": {}}, {"createBackup": {"name": "b", "backup_type": "daily"}},
                 {"rebuild": {"name": "x"}}, {"rescue": {"rescue_image_ref": "nope"}},
                 {"changePassword": {}}, {"os-getConsoleOutput": {"length": "ten"}}):
        response = act(alice, sid, body, expect=400)
        assert response.json()["badRequest"]["message"]
    # Nothing changed.
    assert alice.get(f"/servers/{sid}").json()["server"]["status"] == "ACTIVE"
    assert [name for name, _ in recorded_actions(api, sid)] == ["create"]
    # Admin-only actions.
    act(alice, sid, {"os-resetState": {"state": "error"}}, expect=403)
    act(alice, sid, {"migrate": None}, expect=403)
    # Introduced by a microversion.
    act(alice, sid, {"trigger_crash_dump": None}, expect=404, microversion="2.16")


@pytest.mark.parametrize("preserve", [True, "false", "1"])
def test_rebuild_preserving_ephemeral_disks(api, alice, server, preserve):
    response = act(alice, server["id"], {"rebuild": {
        "imageRef": server["image"]["id"], "preserve_ephemeral": preserve}})
    assert response.status_code == 202, response.text
    assert response.json()["server"]["status"] == "REBUILD"


def test_rebuild(api, alice, admin, server):
    sid = server["id"]
    other_image = active_image(api, alice.token)
    response = act(alice, sid, {"rebuild": {
        "imageRef": other_image, "name": "rebuilt", "metadata": {"v": "2"},
        "adminPass": "new-pass", "description": "again"}}, microversion="2.19")
    rebuilt = response.json()["server"]
    assert rebuilt["adminPass"] == "new-pass" and rebuilt["status"] == "REBUILD"
    assert rebuilt["name"] == "rebuilt" and rebuilt["description"] == "again"
    assert rebuilt["image"]["id"] == other_image and rebuilt["metadata"] == {"v": "2"}
    # Before 2.75 the answer leaves out the extended attributes (key_name until 2.54).
    assert "OS-EXT-STS:vm_state" not in rebuilt and "key_name" not in rebuilt
    wait_for_status(alice, sid, "ACTIVE")
    with_key = act(alice, sid, {"rebuild": {"imageRef": other_image, "user_data": None}},
                   microversion="2.57").json()["server"]
    assert with_key["key_name"] is None and with_key["user_data"] is None
    assert "OS-EXT-STS:vm_state" not in with_key
    shown = wait_for_status(alice, sid, "ACTIVE")
    assert shown["image"]["id"] == other_image
    assert recorded_actions(api, sid)[-1] == ("rebuild",
                                              [("compute_rebuild_instance", "Success")])

    full = act(alice, sid, {"rebuild": {"imageRef": other_image, "user_data": "aGk="}},
               microversion="2.75").json()["server"]
    assert full["OS-EXT-STS:task_state"] == "rebuilding" and full["adminPass"]
    assert full["user_data"] == "aGk="
    wait_for_status(alice, sid, "ACTIVE")
    as_admin = act(admin, sid, {"rebuild": {"imageRef": other_image}},
                   microversion="2.75").json()["server"]
    assert "OS-EXT-SRV-ATTR:host" in as_admin and "OS-EXT-SRV-ATTR:user_data" not in as_admin
    wait_for_status(alice, sid, "ACTIVE")
    missing = act(alice, sid, {"rebuild": {"imageRef": "6b2d7ab1-0c8c-4c39-9d0e-"
                                                       "9b8a2d3c4e5f"}}, expect=400)
    assert "could not be found" in missing.json()["badRequest"]["message"]


def test_resize_claims_then_revert_and_confirm(api, alice, server):
    sid = server["id"]
    assert memory_used(api) == 512
    message = act(alice, sid, {"resize": {"flavorRef": "1"}}, expect=400).json()[
        "badRequest"]["message"]
    assert message == "When resizing, instances must change flavor!"
    act(alice, sid, {"resize": {"flavorRef": "99"}}, expect=400)

    act(alice, sid, {"resize": {"flavorRef": "2"}})
    resized = wait_for_status(alice, sid, "VERIFY_RESIZE")
    assert resized["flavor"]["id"] == "2"
    # Both flavors are claimed until the resize is confirmed or reverted.
    assert memory_used(api) == 512 + 2048
    act(alice, sid, {"revertResize": None})
    reverted = wait_for_status(alice, sid, "ACTIVE")
    assert reverted["flavor"]["id"] == "1" and memory_used(api) == 512

    act(alice, sid, {"resize": {"flavorRef": "2"}})
    wait_for_status(alice, sid, "VERIFY_RESIZE")
    act(alice, sid, {"confirmResize": None}, expect=204)
    confirmed = wait_for_status(alice, sid, "ACTIVE")
    assert confirmed["flavor"]["id"] == "2" and memory_used(api) == 2048
    with api.cloud.db.session() as session:
        statuses = list(session.scalars(sa.select(Migration.status).filter_by(
            instance_id=sid).order_by(Migration.id)))
    assert statuses == ["reverted", "confirmed"]
    names = [name for name, _ in recorded_actions(api, sid)]
    assert names[1:] == ["resize", "revertResize", "resize", "confirmResize"]
    assert recorded_actions(api, sid)[1][1] == [("compute_resize_instance", "Success")]


def test_resize_of_a_stopped_server_stays_stopped(api, alice, server):
    sid = server["id"]
    act(alice, sid, {"os-stop": None})
    wait_for_status(alice, sid, "SHUTOFF")
    act(alice, sid, {"resize": {"flavorRef": "2"}})
    assert wait_for_status(alice, sid, "VERIFY_RESIZE")["OS-EXT-STS:power_state"] == 4
    act(alice, sid, {"confirmResize": None}, expect=204)
    assert wait_for_status(alice, sid, "SHUTOFF")["flavor"]["id"] == "2"


def test_one_host_cloud_has_nowhere_to_migrate(api, admin, server):
    message = act(admin, server["id"], {"migrate": None}, expect=400).json()[
        "badRequest"]["message"]
    assert message.startswith("No valid host was found.")


def test_create_image_uploads_a_snapshot(api, alice, server):
    sid = server["id"]
    response = act(alice, sid, {"createImage": {"name": "snap", "metadata": {"k": "v"}}})
    image_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert response.headers["Location"].endswith(f"/compute/v2.1/images/{image_id}")

    def image():
        return api.get(f"/image/v2/images/{image_id}", token=alice.token).json()
    wait_until(lambda: image()["status"] == "active")
    snapshot = image()
    assert snapshot["name"] == "snap" and snapshot["owner"] == alice.project_id
    assert snapshot["image_type"] == "snapshot" and snapshot["instance_uuid"] == sid
    assert snapshot["base_image_ref"] == server["image"]["id"] and snapshot["k"] == "v"
    assert snapshot["visibility"] == "private" and snapshot["min_disk"] == 1
    data = api.get(f"/image/v2/images/{image_id}/file", token=alice.token)
    assert data.status_code == 200 and data.content == SNAPSHOT_DATA
    wait_for_status(alice, sid, "ACTIVE")
    assert recorded_actions(api, sid)[-1] == ("createImage",
                                              [("compute_snapshot_instance", "Success")])
    # Metadata cannot make the image public, nor set the image service's own names.
    act(alice, sid, {"createImage": {"name": "x", "metadata": {"visibility": "public"}}},
        expect=400)
    act(alice, sid, {"createImage": {"name": "x", "metadata": {"os_glance_x": "1"}}},
        expect=403)
    # From 2.45 the image id is in the body.
    later = act(alice, sid, {"createImage": {"name": "snap-2"}}, microversion="2.45")
    assert set(later.json()) == {"image_id"} and "Location" not in later.headers


def test_backups_rotate(api, alice, server):
    sid = server["id"]
    kept = []
    for name in ("b1", "b2", "b3"):
        image_id = act(alice, sid, {"createBackup": {
            "name": name, "backup_type": "daily", "rotation": 2}},
            microversion="2.45").json()["image_id"]
        wait_for_status(alice, sid, "ACTIVE")
        kept.append(image_id)
    listed = api.get("/image/v2/images?name=in:b1,b2,b3", token=alice.token).json()["images"]
    assert sorted(image["id"] for image in listed) == sorted(kept[1:])
    assert all(image["image_type"] == "backup" and image["backup_type"] == "daily"
               for image in listed)


def test_rescue_and_unrescue(api, alice, server):
    sid = server["id"]
    password = act(alice, sid, {"rescue": None}, expect=200).json()["adminPass"]
    assert password
    wait_for_status(alice, sid, "RESCUE")
    assert act(alice, sid, {"rescue": {"adminPass": "mine"}}, expect=409)
    act(alice, sid, {"unrescue": None})
    wait_for_status(alice, sid, "ACTIVE")
    assert act(alice, sid, {"rescue": {"adminPass": "mine"}}, expect=200).json() == {
        "adminPass": "mine"}
    wait_for_status(alice, sid, "RESCUE")


def test_shelve_offloads_and_unshelve_places_again(api, alice, admin, server):
    sid = server["id"]
    act(alice, sid, {"shelve": None})
    shelved = wait_for_status(alice, sid, "SHELVED_OFFLOADED")
    assert shelved["OS-EXT-STS:power_state"] == 4
    assert admin.get(f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"] is None
    assert memory_used(api) == 0
    images = api.get("/image/v2/images?name=vm-shelved", token=alice.token).json()["images"]
    assert [image["status"] for image in images] == ["active"]
    assert "vm_state shelved_offloaded" in conflict(alice, sid, {"os-start": None})
    assert conflict(alice, sid, {"os-getConsoleOutput": {}}) == f"Instance {sid} is not ready"

    # An availability zone from 2.77; an unknown one is refused.
    act(alice, sid, {"unshelve": {"availability_zone": "elsewhere"}}, expect=400,
        microversion="2.77")
    act(alice, sid, {"unshelve": {"availability_zone": "nova"}}, microversion="2.77")
    wait_for_status(alice, sid, "ACTIVE")
    assert admin.get(f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"] == \
        api.cloud.host
    assert memory_used(api) == 512
    # The shelved image is gone once the server is back.
    assert api.get("/image/v2/images?name=vm-shelved", token=alice.token).json()[
        "images"] == []
    names = [name for name, _ in recorded_actions(api, sid)]
    assert names[1:] == ["shelve", "unshelve"]
    assert [event for event, _ in recorded_actions(api, sid)[1][1]] == [
        "compute_shelve_instance", "compute_shelve_offload_instance"]


def test_console_output(api, alice, server):
    sid = server["id"]
    response = act(alice, sid, {"os-getConsoleOutput": {"length": 3}}, expect=200)
    last_three = response.json()["output"]
    assert len(last_three.split("\n")) == 3 and last_three.endswith("vm login: ")
    everything = act(alice, sid, {"os-getConsoleOutput": {"length": -1}}, expect=200)
    assert len(everything.json()["output"].split("\n")) > 3
    assert everything.json()["output"].endswith(last_three)
    # A stopped guest's console stays readable, as Tempest expects of Nova.
    act(alice, sid, {"os-stop": None})
    wait_for_status(alice, sid, "SHUTOFF")
    stopped = act(alice, sid, {"os-getConsoleOutput": None}, expect=200)
    assert "login:" in stopped.json()["output"]


def test_password_crash_dump_reset_state_and_force_delete(api, alice, admin, server):
    sid = server["id"]
    act(alice, sid, {"changePassword": {"adminPass": "s3cret"}})
    wait_for_status(alice, sid, "ACTIVE")
    act(alice, sid, {"trigger_crash_dump": None}, microversion="2.17")
    wait_for_status(alice, sid, "ACTIVE")
    events = [events for _, events in recorded_actions(api, sid)][-2:]
    assert events == [[("compute_set_admin_password", "Success")],
                      [("compute_trigger_crash_dump", "Success")]]

    act(admin, sid, {"os-resetState": {"state": "error"}})
    assert alice.get(f"/servers/{sid}").json()["server"]["status"] == "ERROR"
    act(admin, sid, {"os-resetState": {"state": "active"}})
    assert alice.get(f"/servers/{sid}").json()["server"]["status"] == "ACTIVE"

    act(alice, sid, {"forceDelete": None})
    wait_for_status(alice, sid, "DELETED")


def test_concurrent_actions_start_once(api, alice, server):
    sid = server["id"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: alice.post(f"/servers/{sid}/action",
                                                   {"os-stop": None}).status_code, range(8)))
    assert sorted(codes) == [202] + [409] * 7
    wait_for_status(alice, sid, "SHUTOFF")
    assert [name for name, _ in recorded_actions(api, sid)] == ["create", "stop"]


class TestImageQuota:
    @pytest.fixture
    def config_overrides(self):
        # The boot image is the project's one image.
        return {("image", "image_count_total"): 1}

    def test_snapshot_over_the_image_quota_is_refused(self, api, alice, server):
        sid = server["id"]
        response = act(alice, sid, {"createImage": {"name": "snap"}}, expect=403)
        assert "image_count_total" in response.json()["forbidden"]["message"]
        assert alice.get(f"/servers/{sid}").json()["server"]["OS-EXT-STS:task_state"] is None
        assert [name for name, _ in recorded_actions(api, sid)] == ["create"]


def memory_used_on(api) -> dict[str, int]:
    with api.cloud.db.session() as session:
        return dict(session.execute(sa.select(ComputeNode.host, ComputeNode.memory_mb_used)).all())


class TestTwoHosts:
    @pytest.fixture
    def config_overrides(self):
        return {("compute", "fake_hosts"): 2}

    def host_of(self, admin, server_id: str) -> str:
        return admin.get(f"/servers/{server_id}").json()["server"]["OS-EXT-SRV-ATTR:host"]

    def test_cold_migration_moves_reverts_and_confirms(self, api, alice, admin, server):
        sid = server["id"]
        source = self.host_of(admin, sid)
        other = next(host for host in memory_used_on(api) if host != source)
        act(admin, sid, {"migrate": {"host": source}}, expect=400, microversion="2.56")

        act(admin, sid, {"migrate": None})
        wait_for_status(alice, sid, "VERIFY_RESIZE")
        assert self.host_of(admin, sid) == other
        assert memory_used_on(api) == {source: 512, other: 512}
        act(alice, sid, {"revertResize": None})
        wait_for_status(alice, sid, "ACTIVE")
        assert self.host_of(admin, sid) == source
        assert memory_used_on(api) == {source: 512, other: 0}

        act(admin, sid, {"migrate": {"host": other}}, microversion="2.56")
        wait_for_status(alice, sid, "VERIFY_RESIZE")
        act(alice, sid, {"confirmResize": None}, expect=204)
        confirmed = wait_for_status(alice, sid, "ACTIVE")
        assert confirmed["OS-EXT-STS:power_state"] == 1
        assert self.host_of(admin, sid) == other
        assert memory_used_on(api) == {source: 0, other: 512}
        recorded = recorded_actions(api, sid)
        assert [name for name, _ in recorded][1:] == [
            "migrate", "revertResize", "migrate", "confirmResize"]
        assert recorded[1][1] == [("compute_resize_instance", "Success"),
                                  ("compute_finish_resize", "Success")]
        with api.cloud.db.session() as session:
            migrations = session.scalars(sa.select(Migration).filter_by(instance_id=sid)
                                         .order_by(Migration.id)).all()
            assert [(m.migration_type, m.status) for m in migrations] == [
                ("migration", "reverted"), ("migration", "confirmed")]

    def test_resize_stays_on_its_host(self, api, alice, admin, server):
        sid = server["id"]
        host = self.host_of(admin, sid)
        act(alice, sid, {"resize": {"flavorRef": "2"}})
        wait_for_status(alice, sid, "VERIFY_RESIZE")
        assert self.host_of(admin, sid) == host
        assert memory_used_on(api)[host] == 512 + 2048

    def test_unshelve_to_a_chosen_host(self, api, alice, admin, server):
        sid = server["id"]
        source = self.host_of(admin, sid)
        other = next(host for host in memory_used_on(api) if host != source)
        act(alice, sid, {"shelve": None})
        wait_for_status(alice, sid, "SHELVED_OFFLOADED")
        act(alice, sid, {"unshelve": {"host": other}}, expect=403, microversion="2.91")
        act(admin, sid, {"unshelve": {"host": other}}, microversion="2.91")
        wait_for_status(alice, sid, "ACTIVE")
        assert self.host_of(admin, sid) == other
        assert memory_used_on(api) == {source: 0, other: 512}


def test_deleting_a_resized_server_gives_back_both_claims(api, alice, server):
    sid = server["id"]
    act(alice, sid, {"resize": {"flavorRef": "2"}})
    wait_for_status(alice, sid, "VERIFY_RESIZE")
    assert memory_used(api) == 512 + 2048
    assert alice.delete(f"/servers/{sid}").status_code == 204
    wait_for_status(alice, sid, "DELETED")
    assert memory_used(api) == 0


def test_a_driver_that_cannot_set_passwords_answers_409(api, alice, server, monkeypatch):
    def not_supported(self, instance_id, password):
        raise NotSupported("Setting the admin password is not supported by this driver.")
    monkeypatch.setattr(FakeDriver, "set_admin_password", not_supported)
    sid = server["id"]
    message = conflict(alice, sid, {"changePassword": {"adminPass": "s3cret"}})
    assert message == (f"Failed to set admin password on {sid} because Setting the admin "
                       "password is not supported by this driver.")
    # The server is as it was, and usable.
    assert wait_for_status(alice, sid, "ACTIVE")["OS-EXT-STS:vm_state"] == "active"
