"""/image/v2/images/{id}/file: uploads and downloads, and what a user sees when
an upload goes wrong (bad input, a client that hangs up, a full disk, an image
deleted meanwhile, a crash) — the image is queued again and nothing of the
data is left in the store."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import subprocess
import tracemalloc

import pytest
import sqlalchemy as sa

from stacklet.cli import prepare
from stacklet.cloud import Cloud
from stacklet.image.models import Image
from stacklet.image.store import BUFFER_SIZE, ImageStore
from tests.conftest import ADMIN_PASSWORD
from tests.image.helpers import OCTETS, create, project_member, upload
from tests.image.live_server import live_server, start_upload, wait_for

MIB = 1 << 20


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def image_url(image_id: str) -> str:
    return f"/image/v2/images/{image_id}"


def show(api, token: str, image_id: str) -> dict:
    response = api.get(image_url(image_id), token=token)
    assert response.status_code == 200, response.text
    return response.json()


def store_files(store: ImageStore) -> list[str]:
    """Every file in the store (data, staging, partial uploads)."""
    return sorted(str(path.relative_to(store.root)) for path in store.root.rglob("*")
                  if path.is_file())


def assert_queued_and_nothing_kept(api, token: str, image_id: str) -> None:
    image = show(api, token, image_id)
    assert image["status"] == "queued"
    assert image["size"] is None and image["checksum"] is None
    assert store_files(api.cloud.image_store) == []
    assert api.get(image_url(image_id) + "/file", token=token).status_code == 204


# -- round trip --------------------------------------------------------------------------

def test_upload_then_download_round_trip(api, alice):
    data = random_bytes(5 * MIB + 12345)
    image = create(api, alice.token, name="big")
    response = upload(api, alice.token, image["id"], data)
    assert response.status_code == 204, response.text
    assert response.content == b""

    shown = show(api, alice.token, image["id"])
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["virtual_size"] == len(data)   # raw: what the guest sees is the file
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert store_files(api.cloud.image_store) == [image["id"]]

    downloaded = api.get(image_url(image["id"]) + "/file", token=alice.token)
    assert downloaded.status_code == 200
    assert downloaded.content == data
    assert downloaded.headers["Content-Type"] == "application/octet-stream"
    assert downloaded.headers["Content-MD5"] == shown["checksum"]
    assert downloaded.headers["Content-Length"] == str(len(data))


def test_empty_upload_is_an_active_empty_image(api, alice):
    image = create(api, alice.token)
    assert upload(api, alice.token, image["id"], b"").status_code == 204
    shown = show(api, alice.token, image["id"])
    assert (shown["status"], shown["size"]) == ("active", 0)
    assert shown["checksum"] == hashlib.md5(b"").hexdigest()
    downloaded = api.get(image_url(image["id"]) + "/file", token=alice.token)
    assert downloaded.status_code == 200 and downloaded.content == b""
    assert downloaded.headers["Content-MD5"] == hashlib.md5(b"").hexdigest()
    # Nothing to take a range of.
    assert api.get(image_url(image["id"]) + "/file", token=alice.token,
                   headers={"Range": "bytes=0-"}).status_code == 416


def test_range_requests(api, alice):
    data = random_bytes(1000, seed=1)
    image = create(api, alice.token)
    upload(api, alice.token, image["id"], data)
    url = image_url(image["id"]) + "/file"

    def ranged(value: str):
        return api.get(url, token=alice.token, headers={"Range": value})

    cases = {"bytes=10-19": (10, 20), "bytes=990-": (990, 1000), "bytes=-5": (995, 1000),
             "bytes=900-5000": (900, 1000),   # an end past the data is cut to it
             "bytes=-5000": (0, 1000),        # a suffix longer than the data is all of it
             "bytes=0-0": (0, 1)}
    for value, (start, end) in cases.items():
        response = ranged(value)
        assert response.status_code == 206, value
        assert response.content == data[start:end], value
        assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/1000", value
        assert response.headers["Content-Length"] == str(end - start)
        # The image's md5 is not the md5 of a part: no Content-MD5 on one.
        assert "Content-MD5" not in response.headers

    for value in ("bytes=1000-", "bytes=5000-6000", "bytes=20-10", "bytes=-0", "bytes=x-y",
                  "lines=1-2", "bytes=-"):
        response = ranged(value)
        assert response.status_code == 416, value
        assert response.headers["Content-Range"] == "bytes */1000"
        assert response.json()["code"] == "416 Requested Range Not Satisfiable"
    several = ranged("bytes=0-1,5-6")
    assert several.status_code == 400 and "multiple ranges" in several.json()["message"]


def test_head_on_file_is_not_allowed(api, alice):
    image = create(api, alice.token)
    upload(api, alice.token, image["id"], b"data")
    response = api.head(image_url(image["id"]) + "/file", token=alice.token)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, PUT"


def test_download_depends_on_status_and_caller(api, alice, bob):
    image = create(api, alice.token, visibility="private")
    url = image_url(image["id"]) + "/file"
    no_data = api.get(url, token=alice.token)
    assert no_data.status_code == 204 and no_data.content == b""
    upload(api, alice.token, image["id"], b"payload")
    assert api.get(url, token=bob.token).status_code == 404   # not visible to bob

    assert api.post(image_url(image["id"]) + "/actions/deactivate",
                    token=api.admin_token).status_code == 204
    refused = api.get(url, token=alice.token)
    assert refused.status_code == 403 and "deactivated" in refused.json()["message"]
    as_admin = api.get(url, token=api.admin_token)
    assert as_admin.status_code == 200 and as_admin.content == b"payload"

    api.post(image_url(image["id"]) + "/actions/reactivate", token=api.admin_token)
    assert api.get(url, token=alice.token).content == b"payload"


def test_download_of_data_missing_from_the_store(api, alice):
    image = create(api, alice.token)
    upload(api, alice.token, image["id"], b"payload")
    api.cloud.image_store.data_path(image["id"]).unlink()
    response = api.get(image_url(image["id"]) + "/file", token=alice.token)
    assert response.status_code == 404 and image["id"] in response.json()["message"]


# -- formats -------------------------------------------------------------------------------

def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def test_qcow2_virtual_size_from_its_header(api, alice, tmp_path):
    path = tmp_path / "disk.qcow2"
    qemu_img("create", "-f", "qcow2", str(path), "64M")
    data = path.read_bytes()
    image = create(api, alice.token, disk_format="qcow2")
    assert upload(api, alice.token, image["id"], data).status_code == 204
    shown = show(api, alice.token, image["id"])
    assert (shown["size"], shown["virtual_size"]) == (len(data), 64 * MIB)


@pytest.mark.parametrize("kind", ["backing file", "external data file", "random bytes",
                                  "qcow2 declared raw"])
def test_unsafe_or_mismatched_content_is_refused(api, alice, tmp_path, kind):
    path = tmp_path / "disk.qcow2"
    disk_format = "qcow2"
    if kind == "backing file":
        qemu_img("create", "-f", "raw", str(tmp_path / "base.raw"), "1M")
        qemu_img("create", "-f", "qcow2", "-b", str(tmp_path / "base.raw"), "-F", "raw",
                 str(path))
    elif kind == "external data file":
        qemu_img("create", "-f", "qcow2", "-o", f"data_file={tmp_path / 'data.raw'}",
                 str(path), "1M")
    elif kind == "random bytes":
        path.write_bytes(random_bytes(100_000))
    else:
        qemu_img("create", "-f", "qcow2", str(path), "1M")
        disk_format = "raw"
    image = create(api, alice.token, disk_format=disk_format)
    response = upload(api, alice.token, image["id"], path.read_bytes())
    assert response.status_code == 400, response.text
    assert f"does not match disk_format {disk_format}" in response.json()["message"]
    assert_queued_and_nothing_kept(api, alice.token, image["id"])
    # The image takes good data afterwards.
    good = tmp_path / "good"
    qemu_img("create", "-f", disk_format, str(good), "2M")
    assert upload(api, alice.token, image["id"], good.read_bytes()).status_code == 204
    assert show(api, alice.token, image["id"])["virtual_size"] == 2 * MIB


# -- what an upload may not do -------------------------------------------------------------

def test_upload_needs_octet_stream(api, alice):
    image = create(api, alice.token)
    url = image_url(image["id"]) + "/file"
    for headers in ({"Content-Type": "application/json"}, {"Content-Type": "text/plain"}, {}):
        response = api.put(url, token=alice.token, content=b"data", headers=headers)
        assert response.status_code == 415, headers
    with_parameter = {"Content-Type": "application/octet-stream; charset=binary"}
    assert api.put(url, token=alice.token, content=b"data",
                   headers=with_parameter).status_code == 204


def test_upload_to_an_image_with_data_conflicts(api, alice):
    image = create(api, alice.token)
    upload(api, alice.token, image["id"], b"first")
    response = upload(api, alice.token, image["id"], b"second")
    assert response.status_code == 409
    assert api.get(image_url(image["id"]) + "/file", token=alice.token).content == b"first"
    assert store_files(api.cloud.image_store) == [image["id"]]


def test_upload_needs_disk_and_container_format(api, alice):
    for missing in ("disk_format", "container_format"):
        body = {"disk_format": "raw", "container_format": "bare"}
        del body[missing]
        image = api.post("/image/v2/images", json=body, token=alice.token).json()
        response = upload(api, alice.token, image["id"], b"data")
        assert response.status_code == 400 and "container_format" in response.json()["message"]
        assert show(api, alice.token, image["id"])["status"] == "queued"


def test_who_may_upload(api, alice, bob):
    reader = project_member(api, "alpha", role="reader")
    private = create(api, alice.token, visibility="private")
    assert upload(api, bob.token, private["id"], b"x").status_code == 404
    assert upload(api, reader.token, private["id"], b"x").status_code == 403
    assert upload(api, bob.token, "no-such-image", b"x").status_code == 404

    shared = create(api, alice.token, visibility="shared")
    api.post(image_url(shared["id"]) + "/members", json={"member": bob.project_id},
             token=alice.token)
    assert upload(api, bob.token, shared["id"], b"x").status_code == 403

    public = create(api, api.admin_token, visibility="public", owner=alice.project_id)
    assert upload(api, bob.token, public["id"], b"x").status_code == 403
    for image in (private, shared, public):
        assert_queued = show(api, alice.token, image["id"])
        assert assert_queued["status"] == "queued"
    assert store_files(api.cloud.image_store) == []
    assert upload(api, alice.token, public["id"], b"mine").status_code == 204


# -- uploads cut short ---------------------------------------------------------------------

def test_interrupted_upload_leaves_the_image_queued_and_no_file(api, alice):
    image = create(api, alice.token)
    with live_server(api.cloud) as address:
        connection = start_upload(address, alice.token, image["id"], 16 * MIB)
        connection.send(random_bytes(6 * MIB))
        wait_for(lambda: show(api, alice.token, image["id"])["status"] == "saving",
                 what="the upload to start")
        connection.close()   # the client goes away halfway
        wait_for(lambda: show(api, alice.token, image["id"])["status"] == "queued",
                 what="the image to be queued again")
    assert_queued_and_nothing_kept(api, alice.token, image["id"])
    data = random_bytes(3 * MIB, seed=2)
    assert upload(api, alice.token, image["id"], data).status_code == 204
    assert api.get(image_url(image["id"]) + "/file", token=alice.token).content == data


def test_second_upload_while_one_streams_conflicts(api, alice):
    image = create(api, alice.token)
    data = random_bytes(5 * MIB, seed=3)
    with live_server(api.cloud) as address:
        connection = start_upload(address, alice.token, image["id"], len(data))
        connection.send(data[:MIB])
        wait_for(lambda: show(api, alice.token, image["id"])["status"] == "saving",
                 what="the upload to start")
        assert upload(api, alice.token, image["id"], b"other").status_code == 409
        connection.send(data[MIB:])
        assert connection.getresponse().status == 204
        connection.close()
    shown = show(api, alice.token, image["id"])
    assert (shown["status"], shown["checksum"]) == ("active", hashlib.md5(data).hexdigest())


def test_image_deleted_during_upload(api, alice):
    image = create(api, alice.token)
    with live_server(api.cloud) as address:
        connection = start_upload(address, alice.token, image["id"], 8 * MIB)
        connection.send(random_bytes(5 * MIB))
        wait_for(lambda: show(api, alice.token, image["id"])["status"] == "saving",
                 what="the upload to start")
        assert api.delete(image_url(image["id"]), token=alice.token).status_code == 204
        connection.send(random_bytes(3 * MIB))
        response = connection.getresponse()
        body = response.read()
        connection.close()
    assert response.status == 410, body
    assert b"deleted during the upload" in body
    assert api.get(image_url(image["id"]), token=alice.token).status_code == 404
    assert store_files(api.cloud.image_store) == []


def test_chunked_upload_without_content_length(api, alice):
    data = random_bytes(9 * MIB + 7, seed=4)
    image = create(api, alice.token)
    pieces = (data[i:i + 300_000] for i in range(0, len(data), 300_000))
    response = api.put(image_url(image["id"]) + "/file", token=alice.token, content=pieces,
                       headers=OCTETS)
    assert response.status_code == 204, response.text
    assert show(api, alice.token, image["id"])["os_hash_value"] == \
        hashlib.sha512(data).hexdigest()


class TestStoreOutOfSpace:
    """The store on a 2 MiB tmpfs: an upload that does not fit is a 413 and
    keeps nothing; one that fits works afterwards."""

    @pytest.fixture
    def small_store(self, tmp_path):
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root (CI runs the tests as root)")
        mountpoint = tmp_path / "small-store"
        mountpoint.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mountpoint)],
                       check=True)
        yield mountpoint
        subprocess.run(["umount", str(mountpoint)], check=True)

    @pytest.fixture
    def config_overrides(self, small_store):
        return {("image", "store_dir"): str(small_store)}

    def test_full_store_answers_413_and_keeps_nothing(self, api, alice, small_store):
        assert api.cloud.image_store.root == small_store
        image = create(api, alice.token)
        response = upload(api, alice.token, image["id"], random_bytes(3 * MIB))
        assert response.status_code == 413, response.text
        assert "out of space" in response.json()["message"]
        assert_queued_and_nothing_kept(api, alice.token, image["id"])
        assert os.statvfs(small_store).f_bfree * os.statvfs(small_store).f_frsize > MIB

        data = random_bytes(MIB, seed=5)
        assert upload(api, alice.token, image["id"], data).status_code == 204
        assert api.get(image_url(image["id"]) + "/file", token=alice.token).content == data


# -- crash and restart ---------------------------------------------------------------------

def test_restart_recovers_cut_short_uploads_and_orphaned_data(api, alice, stacklet_config):
    image = create(api, alice.token)
    kept = create(api, alice.token)
    upload(api, alice.token, kept["id"], b"kept data")
    # What a crash mid-upload leaves: the row in saving, a partial file.
    with api.cloud.db.transaction() as session:
        session.execute(sa.update(Image).where(Image.id == image["id"]).values(status="saving"))
    store = api.cloud.image_store
    (store.root / f"{image['id']}.1a2b3c4d.part").write_bytes(b"half an image")
    (store.root / image["id"]).write_bytes(b"renamed, never recorded")
    # And what a crash mid-delete leaves: data of an image that is gone.
    deleted = create(api, alice.token)
    upload(api, alice.token, deleted["id"], b"deleted data")
    with api.cloud.db.transaction() as session:
        session.execute(sa.delete(Image).where(Image.id == deleted["id"]))
    (store.staging / deleted["id"]).write_bytes(b"staged, then deleted")
    (store.root / "README").write_text("not the store's: stays")

    prepare(stacklet_config, ADMIN_PASSWORD)   # what `stacklet up` runs before serving

    # Data of no image is set aside, never deleted: a store started with
    # another database than its own keeps its images.
    assert_queued_and_nothing_kept_but(api, alice.token, image["id"], kept=[
        "README", kept["id"], f"orphaned/{deleted['id']}", f"orphaned/{deleted['id']}.staged"])
    assert (store.orphaned / deleted["id"]).read_bytes() == b"deleted data"
    assert upload(api, alice.token, image["id"], b"again").status_code == 204
    assert api.get(image_url(kept["id"]) + "/file", token=alice.token).content == b"kept data"


def assert_queued_and_nothing_kept_but(api, token, image_id, kept):
    assert show(api, token, image_id)["status"] == "queued"
    assert store_files(api.cloud.image_store) == sorted(kept)


def test_data_and_metadata_survive_restart(api, alice, stacklet_config, tmp_path):
    from starlette.testclient import TestClient

    from stacklet.app import create_app

    path = tmp_path / "disk.qcow2"
    qemu_img("create", "-f", "qcow2", str(path), "10M")
    data = path.read_bytes()
    image = create(api, alice.token, disk_format="qcow2")
    upload(api, alice.token, image["id"], data)
    before = show(api, alice.token, image["id"])

    prepare(stacklet_config, ADMIN_PASSWORD)
    restarted = Cloud(stacklet_config)
    try:
        with TestClient(create_app(restarted), base_url="http://stacklet.test") as client:
            headers = {"X-Auth-Token": alice.token}
            after = client.get(image_url(image["id"]), headers=headers).json()
            downloaded = client.get(image_url(image["id"]) + "/file", headers=headers)
    finally:
        restarted.close()
    assert after == before and after["virtual_size"] == 10 * MIB
    assert downloaded.content == data
    assert downloaded.headers["Content-MD5"] == before["checksum"]


# -- the store itself ----------------------------------------------------------------------

def test_store_memory_stays_flat_whatever_the_size(tmp_path):
    """64 MiB through the store in 64 KiB chunks: the Python heap never holds
    more than its two buffers (and a chunk)."""
    store = ImageStore(tmp_path / "store")
    chunk = 64 << 10

    async def chunks():
        for index in range(1024):
            yield index.to_bytes(4, "big") * (chunk // 4)

    async def receive():
        return await store.receive(chunks(), store.data_path("image"), limit=1 << 40)

    tracemalloc.start()
    try:
        stored = asyncio.run(receive())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == 64 * MIB
    assert peak < 2 * BUFFER_SIZE + MIB, f"peak {peak / MIB:.1f} MiB"
    assert store_files(store) == ["image"]


def test_store_refuses_more_than_the_limit_and_keeps_nothing(tmp_path):
    from stacklet.image.store import TooLarge

    store = ImageStore(tmp_path / "store")

    async def chunks():
        for _ in range(40):
            yield b"x" * MIB

    with pytest.raises(TooLarge):
        asyncio.run(store.receive(chunks(), store.data_path("image"), limit=10 * MIB))
    assert store_files(store) == []
