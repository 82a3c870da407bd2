"""The image API driven by the real `openstack` CLI and openstacksdk against `stacklet up`.

Two member users in two projects: the owner creates, shares and changes
images, the consumer sees what is shared with it (or public, or community).
The tests share one server and run in file order; the last one restarts the
server and checks that the images, their data and their members survived.
Each image comes from a module fixture, so any test also runs alone.
"""

from __future__ import annotations

import hashlib
import io
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

PAYLOAD_SIZE = 4 * 1024 * 1024 + 12345   # a few MiB, not a multiple of any chunk size
RAW = ("--disk-format", "raw", "--container-format", "bare")


@pytest.fixture(scope="module")
def members(module_server: StackletServer) -> dict[str, dict]:
    """The owner and the consumer: project, user and clouds.yaml entry of each."""
    admin = OpenStackCLI(module_server.clouds_yaml)
    return {name: create_member(admin, module_server, f"e2e-image-{name}",
                                f"e2e-image-{name}", f"{name}-pass-word-1")
            for name in ("owner", "consumer", "quota")}


@pytest.fixture(scope="module")
def clouds_yaml(module_server: StackletServer, members, tmp_path_factory) -> Path:
    return write_clouds_yaml(tmp_path_factory.mktemp("image-clouds") / "clouds.yaml", {
        "stacklet": admin_cloud(module_server),
        **{name: member["cloud"] for name, member in members.items()}})


@pytest.fixture(scope="module")
def owner_project(members) -> str:
    return members["owner"]["project"]["id"]


@pytest.fixture(scope="module")
def consumer_project(members) -> str:
    return members["consumer"]["project"]["id"]


@pytest.fixture(scope="module")
def admin(clouds_yaml) -> OpenStackCLI:
    return OpenStackCLI(clouds_yaml, "stacklet")


@pytest.fixture(scope="module")
def owner(clouds_yaml) -> OpenStackCLI:
    return OpenStackCLI(clouds_yaml, "owner")


@pytest.fixture(scope="module")
def consumer(clouds_yaml) -> OpenStackCLI:
    return OpenStackCLI(clouds_yaml, "consumer")


@pytest.fixture(scope="module")
def quota_user(clouds_yaml) -> OpenStackCLI:
    """A member of a project of its own, whose image limits the quota test sets."""
    return OpenStackCLI(clouds_yaml, "quota")


def random_file(directory: Path, name: str, size: int) -> Path:
    path = directory / name
    path.write_bytes(os.urandom(size))
    return path


@pytest.fixture(scope="module")
def payload(tmp_path_factory) -> Path:
    return random_file(tmp_path_factory.mktemp("payload"), "disk.raw", PAYLOAD_SIZE)


@pytest.fixture(scope="module")
def small_payload(tmp_path_factory) -> Path:
    return random_file(tmp_path_factory.mktemp("small"), "small.raw", 70_000)


def create_image(cli: OpenStackCLI, name: str, *options: str, file: Path | None) -> dict:
    """`image create NAME`, with --file FILE, or with no data at all when FILE is None."""
    data = ("--file", str(file)) if file is not None else ()
    return cli.json("image", "create", *RAW, *data, *options, name,
                    terminal=file is None)


def save(cli: OpenStackCLI, image: str, destination: Path) -> bytes:
    cli.run("image", "save", "--file", str(destination), image)
    return destination.read_bytes()


def listed_names(cli: OpenStackCLI, *options: str) -> list[str]:
    """The names `image list OPTIONS` shows."""
    return [row["Name"] for row in cli.json("image", "list", *options)]


@pytest.fixture(scope="module")
def disk(owner, payload) -> dict:
    """The owner's shared image of PAYLOAD, with properties and tags."""
    return create_image(owner, "e2e-disk", "--property", "os_distro=cirros",
                        "--property", "purpose=e2e", "--tag", "e2e", "--tag", "disk",
                        file=payload)


@pytest.fixture(scope="module")
def queued(owner) -> dict:
    """A private image of the owner's without data."""
    return create_image(owner, "e2e-queued", "--private", "--tag", "e2e", file=None)


@pytest.fixture(scope="module")
def community(owner, small_payload) -> dict:
    return create_image(owner, "e2e-community", "--community", file=small_payload)


@pytest.fixture(scope="module")
def public(admin, small_payload) -> dict:
    return create_image(admin, "e2e-public", "--public", file=small_payload)


@pytest.fixture(scope="module")
def pages(owner, small_payload) -> list[dict]:
    """Three images tagged e2e-page, created one after the other."""
    return [create_image(owner, f"e2e-page-{n}", "--tag", "e2e-page", file=small_payload)
            for n in (1, 2, 3)]


@pytest.fixture(scope="module")
def shared_disk(owner, consumer_project, disk) -> dict:
    """e2e-disk shared with the consumer's project, which has not answered yet:
    the image and the `image add project` output."""
    member = owner.json("image", "add", "project", disk["id"], consumer_project)
    return {"image": disk, "member": member}


# -- create, show, save ----------------------------------------------------------------

def test_create_from_file_records_size_and_checksums(owner, owner_project, disk, payload):
    content = payload.read_bytes()
    shown = owner.json("image", "show", disk["id"])
    assert shown["status"] == "active"
    assert shown["size"] == PAYLOAD_SIZE
    assert shown["checksum"] == hashlib.md5(content).hexdigest()
    assert shown["properties"]["os_hash_algo"] == "sha512"
    assert shown["properties"]["os_hash_value"] == hashlib.sha512(content).hexdigest()
    assert shown["visibility"] == "shared"
    assert shown["owner"] == owner_project
    assert shown["properties"]["os_distro"] == "cirros"
    assert shown["properties"]["purpose"] == "e2e"
    assert sorted(shown["tags"]) == ["disk", "e2e"]


def test_save_is_byte_identical(owner, disk, payload, tmp_path):
    assert save(owner, disk["id"], tmp_path / "saved") == payload.read_bytes()
    # By name, as users usually do.
    assert save(owner, "e2e-disk", tmp_path / "by-name") == payload.read_bytes()


def test_create_without_data_is_queued(owner, queued, tmp_path):
    assert queued["status"] == "queued"
    assert queued["visibility"] == "private"
    assert not queued.get("size") and not queued.get("checksum")
    owner.run("image", "save", "--file", str(tmp_path / "empty"), queued["id"])
    assert (tmp_path / "empty").read_bytes() == b""   # Glance answers 204: no data yet


def wait_for_status(cli: OpenStackCLI, image_id: str, status: str) -> dict:
    """`image show` once the image reaches STATUS: an import finishes after its
    request returns."""
    deadline = time.monotonic() + 30
    while True:
        shown = cli.json("image", "show", image_id)
        if shown["status"] == status or time.monotonic() > deadline:
            assert shown["status"] == status, shown
            return shown
        time.sleep(0.5)


def test_create_with_import_uses_glance_direct(owner, small_payload, tmp_path):
    assert "glance-direct" in owner.json("image", "import", "info")["import-methods"]
    image = create_image(owner, "e2e-imported", "--import", file=small_payload)
    content = small_payload.read_bytes()
    shown = wait_for_status(owner, image["id"], "active")
    assert shown["checksum"] == hashlib.md5(content).hexdigest()
    assert shown["size"] == len(content)
    assert save(owner, image["id"], tmp_path / "imported") == content


def test_stage_then_import(owner, payload, tmp_path):
    image = create_image(owner, "e2e-staged", file=None)
    owner.run("image", "stage", "--file", str(payload), image["id"])
    assert owner.json("image", "show", image["id"])["status"] == "uploading"
    owner.run("image", "import", "--method", "glance-direct", image["id"])
    shown = wait_for_status(owner, image["id"], "active")
    assert shown["properties"]["os_hash_value"] == hashlib.sha512(
        payload.read_bytes()).hexdigest()
    assert save(owner, image["id"], tmp_path / "staged") == payload.read_bytes()


# -- change: properties, tags, activation, protection -----------------------------------

def test_set_and_unset_properties_and_tags(owner, disk):
    owner.run("image", "set", "--property", "hw_disk_bus=virtio", "--property",
              "purpose=changed", "--tag", "extra", "--name", "e2e-disk-renamed", disk["id"])
    shown = owner.json("image", "show", disk["id"])
    assert shown["name"] == "e2e-disk-renamed"
    assert shown["properties"]["hw_disk_bus"] == "virtio"
    assert shown["properties"]["purpose"] == "changed"
    assert sorted(shown["tags"]) == ["disk", "e2e", "extra"]

    owner.run("image", "unset", "--property", "hw_disk_bus", "--tag", "extra", disk["id"])
    owner.run("image", "set", "--property", "purpose=e2e", "--name", "e2e-disk", disk["id"])
    shown = owner.json("image", "show", disk["id"])
    assert "hw_disk_bus" not in shown["properties"]
    assert shown["properties"]["purpose"] == "e2e"
    assert sorted(shown["tags"]) == ["disk", "e2e"]
    assert shown["name"] == "e2e-disk"
    # The data is untouched by metadata changes.
    assert shown["checksum"] == disk["checksum"]


def test_unset_of_a_missing_property_fails_and_says_so(owner, disk):
    message = owner.fails("image", "unset", "--property", "no_such_property", disk["id"])
    assert "no_such_property" in message


def test_consumer_may_not_change_or_delete_a_shared_image(owner, consumer, shared_disk):
    image_id = shared_disk["image"]["id"]
    message = consumer.fails("image", "set", "--property", "stolen=yes", image_id)
    assert "403" in message or "Forbidden" in message, message
    message = consumer.fails("image", "delete", image_id)
    assert "403" in message or "Forbidden" in message, message
    assert "stolen" not in owner.json("image", "show", image_id)["properties"]


def test_deactivate_and_activate(owner, admin, small_payload, tmp_path):
    image = create_image(owner, "e2e-deactivated", file=small_payload)
    owner.run("image", "set", "--deactivate", image["id"])
    assert owner.json("image", "show", image["id"])["status"] == "deactivated"
    # Only an admin may download a deactivated image's data.
    owner.fails("image", "save", "--file", str(tmp_path / "refused"), image["id"])
    assert save(admin, image["id"], tmp_path / "admin") == small_payload.read_bytes()

    owner.run("image", "set", "--activate", image["id"])
    assert owner.json("image", "show", image["id"])["status"] == "active"
    assert save(owner, image["id"], tmp_path / "again") == small_payload.read_bytes()


def test_protected_image_cannot_be_deleted(owner, small_payload):
    image = create_image(owner, "e2e-protected", "--protected", file=small_payload)
    assert image["protected"] is True
    message = owner.fails("image", "delete", image["id"])
    assert "protected" in message, message
    assert owner.json("image", "show", image["id"])["status"] == "active"

    owner.run("image", "set", "--unprotected", image["id"])
    owner.run("image", "delete", image["id"])
    owner.fails("image", "show", image["id"])


# -- visibility -------------------------------------------------------------------------

def test_member_may_not_publish(owner, admin, disk, small_payload):
    # openstacksdk sends these requests with an empty Accept header, which Glance
    # answers in plain text: the CLI shows the status and its reason.
    message = owner.fails("image", "create", *RAW, "--file", str(small_payload), "--public",
                          "e2e-not-public")
    assert "403" in message and "Forbidden" in message, message
    assert admin.json("image", "list", "--name", "e2e-not-public") == []

    message = owner.fails("image", "set", "--public", disk["id"])
    assert "403" in message and "Forbidden" in message, message
    assert owner.json("image", "show", disk["id"])["visibility"] == "shared"


def test_public_image_is_seen_and_downloadable_by_everyone(consumer, public, small_payload,
                                                           tmp_path):
    assert public["visibility"] == "public"
    assert "e2e-public" in listed_names(consumer)
    assert "e2e-public" in listed_names(consumer, "--public")
    assert save(consumer, public["id"], tmp_path / "public") == small_payload.read_bytes()
    message = consumer.fails("image", "delete", public["id"])
    assert "403" in message or "Forbidden" in message, message


def test_community_image_is_listed_only_when_asked_for(consumer, community, small_payload,
                                                       tmp_path):
    assert community["visibility"] == "community"
    assert "e2e-community" not in listed_names(consumer)
    assert "e2e-community" in listed_names(consumer, "--community")
    assert "e2e-community" in listed_names(consumer, "--all")
    assert consumer.json("image", "show", community["id"])["name"] == "e2e-community"
    assert save(consumer, community["id"], tmp_path / "c") == small_payload.read_bytes()


def test_private_image_is_invisible_to_other_projects(consumer, queued):
    message = consumer.fails("image", "show", queued["id"])
    assert "No Image found" in message or "404" in message, message
    assert "e2e-queued" not in listed_names(consumer)


# -- sharing with another project --------------------------------------------------------

def test_share_with_a_project_and_accept(owner, consumer, consumer_project, shared_disk,
                                         payload, tmp_path):
    disk, member = shared_disk["image"], shared_disk["member"]
    assert member["member_id"] == consumer_project and member["status"] == "pending"

    # A pending image is seen by ID but not listed until accepted.
    assert consumer.json("image", "show", disk["id"])["name"] == "e2e-disk"
    assert "e2e-disk" not in listed_names(consumer)
    assert "e2e-disk" in listed_names(consumer, "--member-status", "pending")

    consumer.run("image", "set", "--accept", disk["id"])
    assert "e2e-disk" in listed_names(consumer)
    assert "e2e-disk" in listed_names(consumer, "--shared")
    members = owner.json("image", "member", "list", disk["id"])
    assert [(m["Member ID"], m["Status"]) for m in members] == [(consumer_project, "accepted")]
    got = owner.json("image", "member", "get", disk["id"], consumer_project)
    assert got["status"] == "accepted"
    assert save(consumer, disk["id"], tmp_path / "shared") == payload.read_bytes()


def test_reject_and_unshare(owner, consumer, consumer_project, small_payload):
    image = create_image(owner, "e2e-unshared", file=small_payload)
    owner.run("image", "add", "project", image["id"], consumer_project)
    consumer.run("image", "set", "--accept", image["id"])
    assert "e2e-unshared" in listed_names(consumer)

    consumer.run("image", "set", "--reject", image["id"])
    assert "e2e-unshared" not in listed_names(consumer)
    assert "e2e-unshared" in listed_names(consumer, "--member-status", "rejected")

    owner.run("image", "remove", "project", image["id"], consumer_project)
    assert owner.json("image", "member", "list", image["id"]) == []
    consumer.fails("image", "show", image["id"])


# -- list --------------------------------------------------------------------------------

def test_list_filters(owner, disk, queued, community, public, pages):
    assert listed_names(owner, "--name", "e2e-disk") == ["e2e-disk"]
    assert set(listed_names(owner, "--tag", "e2e")) == {"e2e-disk", "e2e-queued"}
    assert listed_names(owner, "--tag", "e2e", "--tag", "disk") == ["e2e-disk"]
    assert listed_names(owner, "--property", "purpose=e2e") == ["e2e-disk"]
    queued_only = listed_names(owner, "--status", "queued")
    assert "e2e-queued" in queued_only and "e2e-disk" not in queued_only
    active_only = listed_names(owner, "--status", "active")
    assert "e2e-disk" in active_only and "e2e-queued" not in active_only

    private = listed_names(owner, "--private")
    assert "e2e-queued" in private and "e2e-disk" not in private
    shared = listed_names(owner, "--shared")
    assert "e2e-disk" in shared and "e2e-queued" not in shared
    assert listed_names(owner, "--community") == ["e2e-community"]
    public_only = listed_names(owner, "--public")
    assert "e2e-public" in public_only and "e2e-disk" not in public_only
    # Without a visibility filter the owner sees its own images of every
    # visibility, and the public ones.
    assert {"e2e-disk", "e2e-queued", "e2e-community", "e2e-public"} <= set(
        listed_names(owner))


def test_list_sort_limit_and_marker(owner, pages):
    assert listed_names(owner, "--tag", "e2e-page", "--sort", "name:desc") == [
        "e2e-page-3", "e2e-page-2", "e2e-page-1"]
    # The API lists newest first; --limit and --marker page through that order.
    first = listed_names(owner, "--tag", "e2e-page", "--limit", "2")
    assert sorted(first) == ["e2e-page-2", "e2e-page-3"]
    rest = listed_names(owner, "--tag", "e2e-page", "--limit", "2", "--marker", "e2e-page-2")
    assert rest == ["e2e-page-1"]
    assert listed_names(owner, "--tag", "e2e-page", "--limit", "2", "--marker",
                        pages[0]["id"]) == []


def test_list_long(owner, owner_project, disk, payload):
    rows = {row["Name"]: row for row in owner.json("image", "list", "--long")}
    row = rows["e2e-disk"]
    content = payload.read_bytes()
    assert row["ID"] == disk["id"]
    assert (row["Disk Format"], row["Container Format"]) == ("raw", "bare")
    assert row["Size"] == PAYLOAD_SIZE
    assert row["Checksum"] == hashlib.md5(content).hexdigest()
    assert row["Status"] == "active"
    assert row["Visibility"] == "shared"
    assert row["Protected"] is False
    assert row["Project"] == owner_project
    assert row["Hash Algorithm"] == "sha512"
    assert row["Hash Value"] == hashlib.sha512(content).hexdigest()
    assert sorted(row["Tags"]) == ["disk", "e2e"]


# -- delete ------------------------------------------------------------------------------

def test_delete_removes_the_image_and_its_data(owner, module_server, small_payload):
    image = create_image(owner, "e2e-doomed", file=small_payload)
    stored = module_server.data_dir / "images" / image["id"]
    assert stored.read_bytes() == small_payload.read_bytes()

    owner.run("image", "delete", image["id"])
    message = owner.fails("image", "show", image["id"])
    assert "No Image found" in message or "404" in message, message
    assert "e2e-doomed" not in listed_names(owner)
    assert not stored.exists()


# -- openstacksdk ------------------------------------------------------------------------

def test_quotas_from_keystone_limits_answer_413(admin, quota_user, members, payload,
                                                small_payload):
    # Registered defaults large enough for every other project of this file;
    # one project gets limits of its own, as an operator sets them.
    project = members["quota"]["project"]["id"]
    for resource, default, own in (("image_count_total", 1000, 2),
                                   ("image_size_total", 100000, 1)):   # sizes in MiB
        admin.run("registered", "limit", "create", "--service", "glance",
                  "--default-limit", str(default), resource)
        admin.run("limit", "create", "--service", "glance", "--project", project,
                  "--resource-limit", str(own), resource)

    # Size, as Glance enforces unified limits: the upload that crosses the
    # 1 MiB limit goes through, the next one is refused.
    create_image(quota_user, "e2e-quota-1", file=payload)
    message = quota_user.fails("image", "create", *RAW, "--file", str(small_payload),
                               "e2e-quota-2")
    assert "413" in message and "Request Entity Too Large" in message, message
    def own_images() -> list[str]:
        return sorted(name for name in listed_names(quota_user) if name.startswith("e2e-quota"))

    # The client deletes the image whose upload was refused.
    assert own_images() == ["e2e-quota-1"]
    # Count: a second image is allowed, a third refused before any data is sent.
    create_image(quota_user, "e2e-quota-3", file=None)
    message = quota_user.fails("image", "create", *RAW, "e2e-quota-4")
    assert "413" in message and "image_count_total" in message, message
    assert own_images() == ["e2e-quota-1", "e2e-quota-3"]


def test_openstacksdk_create_download_list_delete(clouds_yaml, small_payload):
    conn = sdk_connection(clouds_yaml, "owner")
    content = small_payload.read_bytes() * 7
    image = conn.image.create_image(name="e2e-sdk", data=content, disk_format="raw",
                                    container_format="bare", tags=["e2e-sdk"],
                                    properties={"made_by": "sdk"}, validate_checksum=True,
                                    wait=True)
    try:
        assert image.status == "active"
        assert image.checksum == hashlib.md5(content).hexdigest()
        assert image.hash_value == hashlib.sha512(content).hexdigest()
        assert conn.image.download_image(image).content == content
        streamed = io.BytesIO()
        conn.image.download_image(image, output=streamed, stream=True)
        assert streamed.getvalue() == content
        assert [i.id for i in conn.image.images(tag="e2e-sdk")] == [image.id]
        assert [i.id for i in conn.image.images(name="e2e-sdk", status="active")] == [image.id]
        assert conn.image.get_image(image.id).properties["made_by"] == "sdk"
    finally:
        conn.image.delete_image(image)
    assert conn.image.find_image("e2e-sdk") is None


# -- restart -----------------------------------------------------------------------------

def test_images_and_data_survive_a_restart(module_server, admin, owner, consumer,
                                           shared_disk, queued, community, public, pages,
                                           payload, tmp_path):
    disk = shared_disk["image"]
    consumer.run("image", "set", "--accept", disk["id"])   # (done already when run in order)
    # The admin's long listing of all images shows every project's (status,
    # sizes, checksums, visibility, owner, tags); `image show` adds properties.
    listing_before = admin.json("image", "list", "--long", "--all")
    assert {disk["id"], queued["id"], community["id"], public["id"]} <= {
        row["ID"] for row in listing_before}
    shown_before = owner.json("image", "show", disk["id"])
    members_before = owner.json("image", "member", "list", disk["id"])

    module_server.stop()
    module_server.start()

    assert admin.json("image", "list", "--long", "--all") == listing_before
    assert owner.json("image", "show", disk["id"]) == shown_before
    assert owner.json("image", "member", "list", disk["id"]) == members_before
    assert "e2e-disk" in listed_names(consumer)
    assert save(consumer, disk["id"], tmp_path / "after") == payload.read_bytes()
