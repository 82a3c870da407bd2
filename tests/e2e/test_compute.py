"""The compute API driven by the real `openstack` CLI and openstacksdk against
`stacklet up --compute-driver fake --fake-hosts 3`.

Each concern has a member user in a project of its own (quotas count per
project); the admin sets quotas and sees which host a server is on.  The
tests share one server and run in file order; the last one restarts it and
checks that the servers are still ACTIVE on the hosts they were on.  Every
server a test needs comes from a module fixture, so any test also runs alone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

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

FAKE_HOSTS = 3
FLAVOR = "m1.nano"
STATUS_TIMEOUT = 60
NO_VALID_HOST = "No valid host was found"


@pytest.fixture(scope="module")
def compute_server(tmp_path_factory):
    """One Stacklet for the module, with three fake compute hosts."""
    stacklet = StackletServer(tmp_path_factory.mktemp("compute") / "data", up_args=(
        "--compute-driver", "fake", "--fake-hosts", str(FAKE_HOSTS)))
    stacklet.start()
    yield stacklet
    stacklet.stop()


@pytest.fixture(scope="module")
def members(compute_server: StackletServer) -> dict[str, dict]:
    admin = OpenStackCLI(compute_server.clouds_yaml)
    return {name: create_member(admin, compute_server, f"e2e-compute-{name}",
                                f"e2e-compute-{name}", f"{name}-pass-word-1")
            for name in ("user", "quota", "spread", "sdk")}


@pytest.fixture(scope="module")
def clouds_yaml(compute_server: StackletServer, members, tmp_path_factory) -> Path:
    return write_clouds_yaml(tmp_path_factory.mktemp("compute-clouds") / "clouds.yaml", {
        "stacklet": admin_cloud(compute_server),
        **{name: member["cloud"] for name, member in members.items()}})


@pytest.fixture(scope="module")
def admin(clouds_yaml) -> OpenStackCLI:
    return OpenStackCLI(clouds_yaml, "stacklet")


@pytest.fixture(scope="module")
def user(clouds_yaml) -> OpenStackCLI:
    return OpenStackCLI(clouds_yaml, "user")


@pytest.fixture(scope="module")
def disk_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("disk") / "disk.raw"
    path.write_bytes(os.urandom(256 * 1024))
    return path


@pytest.fixture(scope="module")
def image(admin, disk_file) -> dict:
    """A public image uploaded from a file, so that every project can boot it."""
    return admin.json("image", "create", "--disk-format", "raw", "--container-format", "bare",
                      "--public", "--file", str(disk_file), "e2e-compute-disk")


def boot_args(image: dict) -> tuple[str, ...]:
    return ("server", "create", "--flavor", FLAVOR, "--image", image["id"])


def boot(cli: OpenStackCLI, image: dict, name: str, *options: str) -> dict:
    """`server create --wait`: returns the server once ACTIVE (the CLI fails otherwise)."""
    return cli.json(*boot_args(image), *options, "--wait", name)


def wait_for_status(cli: OpenStackCLI, server_id: str, status: str) -> dict:
    deadline = time.monotonic() + STATUS_TIMEOUT
    while True:
        shown = cli.json("server", "show", server_id)
        if shown["status"] == status or time.monotonic() > deadline:
            assert shown["status"] == status, shown
            return shown
        time.sleep(0.5)


@pytest.fixture(scope="module")
def booted(user, image) -> dict:
    return boot(user, image, "e2e-booted")


# -- boot, list, show, delete -----------------------------------------------------------

def test_image_from_a_file_is_active(image, disk_file):
    assert image["status"] == "active"
    assert image["size"] == disk_file.stat().st_size


def test_create_wait_answers_an_active_server(booted, image, members):
    assert booted["status"] == "ACTIVE"
    assert booted["name"] == "e2e-booted"
    assert booted["flavor"]["name"] == FLAVOR
    assert image["id"] in booted["image"]
    assert booted["project_id"] == members["user"]["project"]["id"]
    assert booted["OS-EXT-STS:power_state"] == 1     # running
    assert booted["OS-EXT-STS:task_state"] is None
    assert booted["adminPass"]


def test_list_shows_the_server_with_its_image_and_flavor(user, booted):
    rows = {row["ID"]: row for row in user.json("server", "list")}
    assert rows[booted["id"]]["Name"] == "e2e-booted"
    assert rows[booted["id"]]["Status"] == "ACTIVE"
    assert rows[booted["id"]]["Flavor"] == FLAVOR
    assert rows[booted["id"]]["Image"] == "e2e-compute-disk"
    long = {row["ID"]: row for row in user.json("server", "list", "--long")}
    assert long[booted["id"]]["Power State"] == 1     # running (a table shows "Running")


def test_show_tells_the_host_to_the_admin_only(user, admin, booted, compute_server):
    shown = user.json("server", "show", booted["id"])
    assert shown["status"] == "ACTIVE" and shown["id"] == booted["id"]
    assert not shown.get("OS-EXT-SRV-ATTR:host")
    host = admin.json("server", "show", booted["id"])["OS-EXT-SRV-ATTR:host"]
    assert host.endswith(tuple(f"-fake-{n}" for n in range(1, FAKE_HOSTS + 1)))


def test_other_projects_do_not_see_the_server(clouds_yaml, booted):
    other = OpenStackCLI(clouds_yaml, "quota")
    assert booted["id"] not in {row["ID"] for row in other.json("server", "list")}
    assert "No Server found" in other.fails("server", "show", booted["id"])


def test_delete_wait_removes_the_server(user, image):
    server = boot(user, image, "e2e-deleted")
    user.run("server", "delete", "--wait", server["id"])
    assert server["id"] not in {row["ID"] for row in user.json("server", "list")}
    assert "No Server found" in user.fails("server", "show", server["id"])


# -- quotas ---------------------------------------------------------------------------------

def test_instance_quota_refuses_the_second_server_with_403(admin, clouds_yaml, image,
                                                           members):
    quota_user = OpenStackCLI(clouds_yaml, "quota")
    admin.run("quota", "set", "--instances", "1", members["quota"]["project"]["id"])
    boot(quota_user, image, "e2e-quota-1")
    message = quota_user.fails(*boot_args(image), "e2e-quota-2")
    assert "403" in message and "Quota exceeded for instances" in message, message
    assert [row["Name"] for row in quota_user.json("server", "list")] == ["e2e-quota-1"]


# -- several hosts ---------------------------------------------------------------------------

def test_anti_affinity_spreads_a_group_over_the_hosts_and_refuses_one_more(
        admin, clouds_yaml, image):
    spread = OpenStackCLI(clouds_yaml, "spread")
    group = spread.json("server", "group", "create", "--policy", "anti-affinity", "e2e-spread")
    hint = ("--hint", f"group={group['id']}")
    servers = [boot(spread, image, f"e2e-spread-{n}", *hint)
               for n in range(1, FAKE_HOSTS + 1)]
    hosts = {admin.json("server", "show", server["id"])["OS-EXT-SRV-ATTR:host"]
             for server in servers}
    assert len(hosts) == FAKE_HOSTS

    one_more = spread.json(*boot_args(image), *hint, "e2e-spread-4")
    failed = wait_for_status(spread, one_more["id"], "ERROR")
    assert NO_VALID_HOST in failed["fault"]["message"]
    members = spread.json("server", "group", "show", group["id"])["members"]
    assert {server["id"] for server in servers} <= set(members)


def test_status_shows_the_compute_hosts_and_their_servers(compute_server, admin, booted):
    status = compute_server.stacklet("status")
    assert status.returncode == 0, status.stdout + status.stderr
    lines = status.stdout.splitlines()
    assert f"compute hosts: {FAKE_HOSTS} ({FAKE_HOSTS} up)" in status.stdout, status.stdout
    listed = admin.json("server", "list", "--all-projects", "--long")
    for host in {row["Host"] for row in listed if row["Host"]}:     # ERROR: no host
        count = sum(1 for row in listed if row["Host"] == host)
        assert any(line.split()[:1] == [host] and f"{count} server(s)" in line
                   for line in lines), (host, count, status.stdout)


# -- openstacksdk ----------------------------------------------------------------------------

def test_openstacksdk_create_wait_delete(clouds_yaml, image):
    conn = sdk_connection(clouds_yaml, "sdk")
    flavor = conn.compute.find_flavor(FLAVOR)
    server = conn.compute.create_server(name="e2e-sdk", image_id=image["id"],
                                        flavor_id=flavor.id, networks="auto")
    try:
        server = conn.compute.wait_for_server(server, status="ACTIVE", wait=STATUS_TIMEOUT)
        assert server.status == "ACTIVE"
        assert server.flavor.name == FLAVOR
        assert [found.id for found in conn.compute.servers(name="e2e-sdk")] == [server.id]
    finally:
        conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=STATUS_TIMEOUT)
    assert conn.compute.find_server("e2e-sdk") is None


# -- instance actions ------------------------------------------------------------------------

def test_event_list_records_the_create_and_its_build(user, booted):
    events = user.json("server", "event", "list", booted["id"])
    assert [event["Action"] for event in events] == ["create"]
    assert events[0]["Server ID"] == booted["id"]
    shown = user.json("server", "event", "show", booted["id"], events[0]["Request ID"])
    assert {event["event"]: event["result"] for event in shown["events"]} == {
        "conductor_schedule_and_build_instances": "Success",
        "compute__do_build_and_run_instance": "Success"}


# -- server actions --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def acted_on(user, image) -> dict:
    return boot(user, image, "e2e-actions")


def test_stop_and_start(user, acted_on):
    user.run("server", "stop", acted_on["id"])
    stopped = wait_for_status(user, acted_on["id"], "SHUTOFF")
    assert stopped["OS-EXT-STS:power_state"] == 4     # shutdown
    user.run("server", "start", acted_on["id"])
    started = wait_for_status(user, acted_on["id"], "ACTIVE")
    assert started["OS-EXT-STS:power_state"] == 1


def test_soft_and_hard_reboot(user, acted_on):
    user.run("server", "reboot", "--wait", acted_on["id"])
    user.run("server", "reboot", "--hard", "--wait", acted_on["id"])
    shown = user.json("server", "show", acted_on["id"])
    assert shown["status"] == "ACTIVE" and shown["OS-EXT-STS:power_state"] == 1


def test_resize_then_confirm(user, acted_on):
    user.run("server", "resize", "--flavor", "m1.micro", "--wait", acted_on["id"])
    resized = wait_for_status(user, acted_on["id"], "VERIFY_RESIZE")
    assert resized["flavor"]["name"] == "m1.micro"
    user.run("server", "resize", "confirm", acted_on["id"])
    confirmed = wait_for_status(user, acted_on["id"], "ACTIVE")
    assert confirmed["flavor"]["name"] == "m1.micro"


def test_image_create_from_a_server_boots(user, acted_on):
    snapshot = user.json("server", "image", "create", "--name", "e2e-snapshot", "--wait",
                         acted_on["id"])
    shown = user.json("image", "show", snapshot["id"])
    assert shown["status"] == "active" and shown["size"] > 0
    assert shown["properties"]["image_type"] == "snapshot"
    assert shown["properties"]["instance_uuid"] == acted_on["id"]
    from_snapshot = boot(user, {"id": snapshot["id"]}, "e2e-from-snapshot")
    assert from_snapshot["status"] == "ACTIVE"
    user.run("server", "delete", "--wait", from_snapshot["id"])


def test_event_list_records_stop_and_start(user, image):
    server = boot(user, image, "e2e-events")
    user.run("server", "stop", server["id"])
    wait_for_status(user, server["id"], "SHUTOFF")
    user.run("server", "start", server["id"])
    wait_for_status(user, server["id"], "ACTIVE")
    events = user.json("server", "event", "list", server["id"])
    assert [event["Action"] for event in events] == ["start", "stop", "create"]
    assert all(event["Server ID"] == server["id"] for event in events)
    user.run("server", "delete", "--wait", server["id"])


# -- restart ---------------------------------------------------------------------------------

def test_servers_stay_active_across_a_restart(compute_server, admin, user, booted):
    listing_before = admin.json("server", "list", "--all-projects", "--long")
    assert booted["id"] in {row["ID"] for row in listing_before}

    compute_server.stop()
    compute_server.start()

    listing_after = admin.json("server", "list", "--all-projects", "--long")
    assert listing_after == listing_before
    shown = user.json("server", "show", booted["id"])
    assert shown["status"] == "ACTIVE" and shown["OS-EXT-STS:power_state"] == 1
    # The agents run again: a delete after the restart completes.
    user.run("server", "delete", "--wait", booted["id"])
