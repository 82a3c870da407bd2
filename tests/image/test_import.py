"""The interoperable import (glance-direct): staging, importing, its tasks,
quotas, failures and crash recovery; and /v2/tasks."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from stacklet.image import data
from stacklet.image.models import Image, ImageTask
from tests.image.helpers import OCTETS, create, upload

V2 = "/image/v2"
MIB = 1 << 20


def image_options(**options):
    """Run a test on a Stacklet with these [image] options."""
    return pytest.mark.parametrize(
        "config_overrides", [{("image", k): v for k, v in options.items()}],
        ids=["-".join(f"{k}={v}" for k, v in options.items())])


@pytest.fixture
def member(api):
    user = api.make_user(project="import-project")
    return {**user, "token": api.token(user["name"], user["password"],
                                       project="import-project")}


def stage(api, token, image_id, content: bytes):
    return api.put(f"{V2}/images/{image_id}/stage", token=token, content=content,
                   headers=OCTETS)


def import_request(api, token, image_id, method="glance-direct", **extra):
    return api.post(f"{V2}/images/{image_id}/import", {"method": {"name": method}, **extra},
                    token)


def show(api, token, image_id):
    response = api.get(f"{V2}/images/{image_id}", token)
    assert response.status_code == 200, response.text
    return response.json()


def message(response) -> str:
    return response.json()["message"]


def store_files(api) -> set[str]:
    """Every file under the image store (data, staged data and partials)."""
    root = api.cloud.image_store.root
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def test_glance_direct_import_activates_the_staged_data(api, member):
    token = member["token"]
    image = create(api, token)
    content = os.urandom(3 * MIB + 17)

    assert stage(api, token, image["id"], content).status_code == 204
    staged = show(api, token, image["id"])
    assert staged["status"] == "uploading"
    assert staged["size"] is None and staged["checksum"] is None
    assert store_files(api) == {f"staging/{image['id']}"}

    response = import_request(api, token, image["id"])
    assert response.status_code == 202, response.text

    imported = show(api, token, image["id"])
    assert imported["status"] == "active"
    assert imported["size"] == len(content)
    assert imported["virtual_size"] == len(content)
    assert imported["checksum"] == hashlib.md5(content).hexdigest()
    assert imported["os_hash_algo"] == "sha512"
    assert imported["os_hash_value"] == hashlib.sha512(content).hexdigest()
    assert imported["stores"] == "file"
    assert imported["os_glance_importing_to_stores"] == ""
    assert imported["os_glance_failed_import"] == ""
    # Moved, not copied: the staging area is empty.
    assert store_files(api) == {image["id"]}
    download = api.get(f"{V2}/images/{image['id']}/file", token)
    assert download.status_code == 200 and download.content == content

    tasks = api.get(f"{V2}/images/{image['id']}/tasks", token)
    assert tasks.status_code == 200, tasks.text
    [task] = tasks.json()["tasks"]
    assert task["status"] == "success"
    assert task["type"] == "api_image_import"
    assert task["image_id"] == image["id"]
    assert task["owner"] == member["project_id"]
    assert task["user_id"] == member["id"]
    assert task["request_id"] == response.headers["x-openstack-request-id"]
    assert task["input"]["import_req"]["method"]["name"] == "glance-direct"
    assert task["result"] == {"image_id": image["id"]}
    assert task["expires_at"] is not None


def test_a_staged_image_cannot_be_staged_or_uploaded_again(api, member):
    token = member["token"]
    image = create(api, token)
    assert stage(api, token, image["id"], b"first").status_code == 204
    assert stage(api, token, image["id"], b"second").status_code == 409
    assert upload(api, token, image["id"], b"x").status_code == 409
    assert show(api, token, image["id"])["status"] == "uploading"


def test_staging_needs_octet_stream_and_formats(api, member):
    token = member["token"]
    image = create(api, token)
    response = api.put(f"{V2}/images/{image['id']}/stage", token=token, content=b"x",
                       headers={"Content-Type": "application/json"})
    assert response.status_code == 415
    bare = api.post(f"{V2}/images", {"name": "no formats"}, token).json()
    assert stage(api, token, bare["id"], b"x").status_code == 400
    assert show(api, token, bare["id"])["status"] == "queued"


def test_import_without_staged_data_conflicts(api, member):
    token = member["token"]
    image = create(api, token)
    response = import_request(api, token, image["id"])
    assert response.status_code == 409
    assert "staged" in message(response)
    assert show(api, token, image["id"])["status"] == "queued"


def test_an_active_image_cannot_be_imported_again(api, member):
    token = member["token"]
    image = create(api, token)
    stage(api, token, image["id"], b"data")
    assert import_request(api, token, image["id"]).status_code == 202
    response = import_request(api, token, image["id"])
    assert response.status_code == 409
    assert "active" in message(response)
    tasks = api.get(f"{V2}/images/{image['id']}/tasks", token).json()["tasks"]
    assert len(tasks) == 1


@pytest.mark.parametrize("body, expected", [
    ({}, "requires a 'method' field"),
    ({"method": "glance-direct"}, "requires a 'method' field"),
    ({"method": {}}, "requires a 'name' field"),
    ({"method": {"name": "web-download", "uri": "http://example.com/x.img"}},
     "Unknown import method name 'web-download'"),
    ({"method": {"name": "copy-image"}}, "Unknown import method name 'copy-image'"),
    ({"method": {"name": "glance-direct"}, "all_stores": "yes"}, "'all_stores' must be"),
    ({"method": {"name": "glance-direct"}, "stores": "file"}, "'stores' must be a list"),
])
def test_bad_import_requests_are_refused(api, member, body, expected):
    token = member["token"]
    image = create(api, token)
    stage(api, token, image["id"], b"data")
    response = api.post(f"{V2}/images/{image['id']}/import", body, token)
    assert response.status_code == 400, response.text
    assert expected in message(response)
    assert show(api, token, image["id"])["status"] == "uploading"


def test_import_to_named_stores(api, member):
    token = member["token"]
    image = create(api, token)
    stage(api, token, image["id"], b"data")
    unknown = import_request(api, token, image["id"], stores=["ceph"])
    assert unknown.status_code == 409
    assert "ceph" in message(unknown)
    assert import_request(api, token, image["id"], stores=["file"]).status_code == 202
    assert show(api, token, image["id"])["status"] == "active"


def test_content_not_matching_disk_format_fails_the_import(api, member):
    token = member["token"]
    image = create(api, token, disk_format="qcow2")
    stage(api, token, image["id"], b"not a qcow2 image at all" * 10)

    # The import was accepted; how it went is told where Glance tells it.
    assert import_request(api, token, image["id"]).status_code == 202
    failed = show(api, token, image["id"])
    assert failed["status"] == "queued"
    assert failed["os_glance_failed_import"] == "file"
    assert failed["os_glance_importing_to_stores"] == ""
    assert failed["checksum"] is None and failed["size"] is None
    [task] = api.get(f"{V2}/images/{image['id']}/tasks", token).json()["tasks"]
    assert task["status"] == "failure"
    assert "qcow2" in task["message"]
    assert store_files(api) == set()
    # Nothing is left staged: the image can be staged again.
    assert stage(api, token, image["id"], b"again").status_code == 204


def test_deleting_a_staged_image_removes_its_staged_data(api, member):
    token = member["token"]
    image = create(api, token)
    stage(api, token, image["id"], b"data")
    assert store_files(api) == {f"staging/{image['id']}"}
    assert api.delete(f"{V2}/images/{image['id']}", token).status_code == 204
    assert store_files(api) == set()


def test_other_projects_cannot_stage_or_import(api, member):
    image = create(api, member["token"])
    stranger = api.make_user(project="other-project")
    other = api.token(stranger["name"], stranger["password"], project="other-project")
    assert stage(api, other, image["id"], b"x").status_code == 404
    stage(api, member["token"], image["id"], b"x")
    assert import_request(api, other, image["id"]).status_code == 404
    assert api.get(f"{V2}/images/{image['id']}/tasks", other).status_code == 404

    reader = api.make_user(project="import-project", role="reader")
    reader_token = api.token(reader["name"], reader["password"], project="import-project")
    assert import_request(api, reader_token, image["id"]).status_code == 403
    assert show(api, member["token"], image["id"])["status"] == "uploading"


def test_requests_need_a_token(api, member):
    image = create(api, member["token"])
    assert api.put(f"{V2}/images/{image['id']}/stage", content=b"x",
                   headers=OCTETS).status_code == 401
    assert api.post(f"{V2}/images/{image['id']}/import",
                    {"method": {"name": "glance-direct"}}).status_code == 401
    assert api.get(f"{V2}/images/{image['id']}/tasks").status_code == 401


# -- quotas ---------------------------------------------------------------------------

@image_options(image_stage_total=1)
def test_staging_over_the_stage_quota_keeps_nothing(api, member):
    token = member["token"]
    image = create(api, token)
    response = stage(api, token, image["id"], os.urandom(MIB + 1))
    assert response.status_code == 413
    assert "image_stage_total" in message(response)
    assert show(api, token, image["id"])["status"] == "queued"
    assert store_files(api) == set()
    # Within the quota it is accepted.
    assert stage(api, token, image["id"], os.urandom(MIB)).status_code == 204


@image_options(image_stage_total=1)
def test_staged_data_counts_until_it_is_imported(api, member):
    token = member["token"]
    first, second = create(api, token), create(api, token)
    assert stage(api, token, first["id"], os.urandom(MIB)).status_code == 204
    assert stage(api, token, second["id"], b"x").status_code == 413
    assert import_request(api, token, first["id"]).status_code == 202
    assert stage(api, token, second["id"], b"x").status_code == 204


@image_options(image_size_total=1)
def test_import_over_the_size_quota_is_refused(api, member):
    token = member["token"]
    image = create(api, token)
    assert stage(api, token, image["id"], os.urandom(MIB + 1)).status_code == 204
    response = import_request(api, token, image["id"])
    assert response.status_code == 413
    assert "image_size_total" in message(response)
    assert show(api, token, image["id"])["status"] == "uploading"
    assert api.get(f"{V2}/images/{image['id']}/tasks", token).json()["tasks"] == []


@image_options(image_count_uploading=1)
def test_one_upload_at_a_time_when_limited(api, member):
    token = member["token"]
    first, second = create(api, token), create(api, token)
    assert stage(api, token, first["id"], b"x").status_code == 204
    response = stage(api, token, second["id"], b"y")
    assert response.status_code == 413
    assert "image_count_uploading" in message(response)
    assert upload(api, token, second["id"], b"y").status_code == 413
    assert import_request(api, token, first["id"]).status_code == 202
    assert stage(api, token, second["id"], b"y").status_code == 204


# -- interruptions and crashes ---------------------------------------------------------

def _stage_then_disconnect(api, token: str, image_id: str) -> int:
    """Send part of a staging body, then drop the connection; the response status."""
    sent = {"status": None}
    messages = [{"type": "http.request", "body": b"x" * 65536, "more_body": True},
                {"type": "http.disconnect"}]

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]

    path = f"{V2}/images/{image_id}/stage"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "PUT", "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "server": ("stacklet.test", 80),
             "client": ("127.0.0.1", 1234),
             "headers": [(b"host", b"stacklet.test"), (b"x-auth-token", token.encode()),
                         (b"content-type", b"application/octet-stream"),
                         (b"transfer-encoding", b"chunked")]}
    asyncio.run(api.client.app(scope, receive, send))
    return sent["status"]


def test_interrupted_staging_puts_the_image_back_to_queued(api, member):
    token = member["token"]
    image = create(api, token)
    assert _stage_then_disconnect(api, token, image["id"]) == 400
    assert show(api, token, image["id"])["status"] == "queued"
    assert store_files(api) == set()
    assert stage(api, token, image["id"], b"retry").status_code == 204


def _recover(api) -> None:
    with api.cloud.db.transaction() as session:
        data.recover(session, api.cloud.image_store)


def test_recovery_after_a_crash_mid_import(api, member):
    token = member["token"]
    image = create(api, token)
    content = b"staged data"
    stage(api, token, image["id"], content)
    store = api.cloud.image_store
    # What a crash between the rename and the commit leaves: the image
    # importing, its task processing, its data already moved into the store.
    with api.cloud.db.transaction() as session:
        row = session.get(Image, image["id"])
        row.status = "importing"
        session.add(ImageTask(type="api_image_import", status="processing",
                              owner=member["project_id"], image_id=image["id"],
                              input={}, message=""))
    store.promote_staged(image["id"])

    _recover(api)

    recovered = show(api, token, image["id"])
    assert recovered["status"] == "uploading"
    assert store_files(api) == {f"staging/{image['id']}"}
    [task] = api.get(f"{V2}/images/{image['id']}/tasks", token).json()["tasks"]
    assert task["status"] == "failure" and "restart" in task["message"]
    # The staged data is whole: the import can be asked again and succeeds.
    assert import_request(api, token, image["id"]).status_code == 202
    imported = show(api, token, image["id"])
    assert imported["status"] == "active"
    assert imported["checksum"] == hashlib.md5(content).hexdigest()


def test_recovery_after_a_crash_mid_staging(api, member):
    token = member["token"]
    image = create(api, token)
    store = api.cloud.image_store
    store.ensure()
    # A staging cut short: the image uploading, only a partial file on disk.
    with api.cloud.db.transaction() as session:
        session.get(Image, image["id"]).status = "uploading"
    (store.staging / f"{image['id']}.1234abcd.part").write_bytes(b"half")

    _recover(api)

    assert show(api, token, image["id"])["status"] == "queued"
    assert store_files(api) == set()


def test_recovery_keeps_whole_staged_data(api, member):
    token = member["token"]
    image = create(api, token)
    stage(api, token, image["id"], b"whole")
    _recover(api)
    assert show(api, token, image["id"])["status"] == "uploading"
    assert import_request(api, token, image["id"]).status_code == 202


# -- /v2/tasks -------------------------------------------------------------------------

def _imported_task(api, member) -> dict:
    image = create(api, member["token"])
    stage(api, member["token"], image["id"], b"data")
    import_request(api, member["token"], image["id"])
    return api.get(f"{V2}/images/{image['id']}/tasks", member["token"]).json()["tasks"][0]


def test_admin_lists_and_shows_tasks(api, member):
    task = _imported_task(api, member)
    listed = api.get(f"{V2}/tasks", api.admin_token)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["schema"] == "/v2/schemas/tasks"
    [stub] = [t for t in body["tasks"] if t["id"] == task["id"]]
    assert stub["status"] == "success" and stub["type"] == "api_image_import"
    assert stub["self"] == f"/v2/tasks/{task['id']}"
    assert "input" not in stub and "result" not in stub

    shown = api.get(f"{V2}/tasks/{task['id']}", api.admin_token)
    assert shown.status_code == 200
    assert shown.json()["input"]["import_req"]["method"]["name"] == "glance-direct"
    assert shown.json()["result"] == {"image_id": task["image_id"]}
    assert shown.json()["schema"] == "/v2/schemas/task"

    assert api.get(f"{V2}/tasks?status=success", api.admin_token).json()["tasks"]
    assert api.get(f"{V2}/tasks?status=failure", api.admin_token).json()["tasks"] == []
    assert api.get(f"{V2}/tasks?status=done", api.admin_token).status_code == 400
    assert api.get(f"{V2}/tasks?sort_key=color", api.admin_token).status_code == 400


def test_tasks_api_is_admin_only_by_default(api, member):
    task = _imported_task(api, member)
    assert api.get(f"{V2}/tasks", member["token"]).status_code == 403
    assert api.get(f"{V2}/tasks/{task['id']}", member["token"]).status_code == 403
    assert api.get(f"{V2}/tasks").status_code == 401


def test_tasks_cannot_be_created_or_deleted(api, member):
    task = _imported_task(api, member)
    missing = api.post(f"{V2}/tasks", {"type": "import"}, api.admin_token)
    assert missing.status_code == 400
    assert "'input' is required" in message(missing)
    legacy = api.post(f"{V2}/tasks", {"type": "import", "input": {
        "import_from": "http://example.com/image.qcow2", "import_from_format": "qcow2",
        "image_properties": {"disk_format": "qcow2", "container_format": "bare"}}},
        api.admin_token)
    assert legacy.status_code == 400
    assert "glance-direct" in message(legacy)
    deleted = api.delete(f"{V2}/tasks/{task['id']}", api.admin_token)
    assert deleted.status_code == 405
    assert api.get(f"{V2}/tasks/{task['id']}", api.admin_token).status_code == 200
    assert api.get(f"{V2}/tasks/00000000-0000-0000-0000-000000000000",
                   api.admin_token).status_code == 404


def test_expired_tasks_disappear(api, member):
    task = _imported_task(api, member)
    with api.cloud.db.transaction() as session:
        row = session.get(ImageTask, task["id"])
        row.expires_at = row.created_at.replace(year=2000)
    assert api.get(f"{V2}/tasks/{task['id']}", api.admin_token).status_code == 404
    assert api.get(f"{V2}/images/{task['image_id']}/tasks",
                   member["token"]).json()["tasks"] == []
