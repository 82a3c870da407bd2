"""`stacklet image build` uploads stacklet-tiny to the running cloud of a data dir."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import OpenStackCLI, StackletServer

pytestmark = pytest.mark.e2e


def test_image_build_uploads_a_public_image_once(server: StackletServer):
    first = server.stacklet("image", "build")
    assert first.returncode == 0, first.stderr
    image_id = first.stdout.strip()

    image = OpenStackCLI(server.clouds_yaml).json("image", "show", image_id)
    assert image["name"] == "stacklet-tiny"
    assert image["status"] == "active"
    assert image["visibility"] == "public"
    assert image["disk_format"] == "raw"
    assert image["min_ram"] == 128
    assert image["properties"]["hw_disk_bus"] == "virtio"
    assert image["properties"]["hw_vif_model"] == "virtio"
    assert image["properties"]["os_distro"] == "debian"

    # The same build is not uploaded twice.
    again = server.stacklet("image", "build")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == image_id
    assert "reusing it" in again.stderr


def test_image_build_without_a_cloud_says_what_to_do(tmp_path):
    stacklet = StackletServer(tmp_path / "never-started")
    result = stacklet.stacklet("image", "build")
    assert result.returncode == 1
    assert f"no cloud was set up in {tmp_path / 'never-started'}" in result.stderr
