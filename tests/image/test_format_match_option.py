"""[image] require_image_format_match: off, data is taken as declared (safety
checks still apply); on (the default) is covered with the data tests."""

from __future__ import annotations

import struct

import pytest

from tests.image.helpers import create, upload


@pytest.fixture
def config_overrides():
    return {("image", "require_image_format_match"): False}


def qcow2_header(virtual_size: int, backing_file_offset: int = 0) -> bytes:
    header = bytearray(512)
    header[0:4] = b"QFI\xfb"
    struct.pack_into(">IQ", header, 4, 3, backing_file_offset)
    struct.pack_into(">Q", header, 24, virtual_size)
    return bytes(header)


def test_mismatched_data_is_accepted_without_virtual_size(api):
    image = create(api, api.admin_token, disk_format="qcow2")
    assert upload(api, api.admin_token, image["id"], b"not a qcow2 at all").status_code == 204
    shown = api.get(f"/image/v2/images/{image['id']}", token=api.admin_token).json()
    assert shown["status"] == "active" and shown["virtual_size"] is None


def test_backing_files_are_still_refused(api):
    image = create(api, api.admin_token, disk_format="qcow2")
    response = upload(api, api.admin_token, image["id"], qcow2_header(1 << 30, 512))
    assert response.status_code == 400
    assert "backing file" in response.json()["message"]
    shown = api.get(f"/image/v2/images/{image['id']}", token=api.admin_token).json()
    assert shown["status"] == "queued"
    good = create(api, api.admin_token, disk_format="qcow2")
    assert upload(api, api.admin_token, good["id"], qcow2_header(1 << 30)).status_code == 204
    shown = api.get(f"/image/v2/images/{good['id']}", token=api.admin_token).json()
    assert shown["virtual_size"] == 1 << 30
