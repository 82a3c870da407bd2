"""Nova's checks of an image against the flavor, at boot and at rebuild."""

from __future__ import annotations

import subprocess

import pytest

from tests.compute.helpers import active_image, boot, boot_active
from tests.image import helpers as image_helpers

GIB = 1 << 30


@pytest.fixture
def two_gib_qcow2(api, alice, tmp_path) -> str:
    """A qcow2 image of a few hundred KiB whose disk is 2 GiB once written out."""
    path = tmp_path / "big.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "2G"], check=True)
    image = image_helpers.create(api, alice.token, name="big", disk_format="qcow2")
    assert image_helpers.upload(api, alice.token, image["id"],
                                path.read_bytes()).status_code == 204
    shown = api.get(f"/image/v2/images/{image['id']}", alice.token).json()
    assert shown["virtual_size"] == 2 * GIB and shown["size"] < GIB
    return image["id"]


def test_an_image_larger_than_the_flavor_disk_is_refused_at_boot(alice, two_gib_qcow2):
    refused = boot(alice, two_gib_qcow2, expect=400, flavorRef="1")   # m1.tiny: 1 GiB
    assert refused["badRequest"]["message"] == (
        "Flavor's disk is too small for requested image. Flavor disk is 1073741824 bytes, "
        f"image is {2 * GIB} bytes.")
    boot(alice, two_gib_qcow2, flavorRef="2")                         # m1.small: 20 GiB


def test_and_at_rebuild(api, alice, two_gib_qcow2):
    server = boot_active(alice, active_image(api, alice.token))
    refused = alice.post(f"/servers/{server['id']}/action",
                         {"rebuild": {"imageRef": two_gib_qcow2}})
    assert refused.status_code == 400
    assert "Flavor's disk is too small" in refused.json()["badRequest"]["message"]


def test_min_disk_and_min_ram_of_the_image(api, alice):
    image_id = active_image(api, alice.token, min_disk=2)
    refused = boot(alice, image_id, expect=400, flavorRef="1")
    assert refused["badRequest"]["message"].startswith(
        "Flavor's disk is smaller than the minimum size specified in image metadata.")
    image_id = active_image(api, alice.token, min_ram=4096)
    refused = boot(alice, image_id, expect=400, flavorRef="1")
    assert refused["badRequest"]["message"] == "Flavor's memory is too small for requested image."
