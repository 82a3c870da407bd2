"""Upload the stacklet-tiny disk to a running Stacklet through its image API,
as any client would: a password token from clouds.yaml, the image endpoint
from the catalog, then Glance's create + upload."""

from __future__ import annotations

import hashlib
import urllib.parse
from pathlib import Path

from stacklet.client import ClientError, CloudClient
from stacklet.compute.guest_image import BuiltGuest, Progress

# What a user (and Nova's scheduler and the QEMU driver) read from the image.
IMAGE_PROPERTIES = {
    "os_type": "linux",
    "os_distro": "debian",
    "hw_disk_bus": "virtio",
    "hw_vif_model": "virtio",
    "hw_qemu_guest_agent": "no",
}
MIN_RAM_MB = 128


def upload_guest(guest: BuiltGuest, clouds_yaml: Path, name: str,
                 progress: Progress = print) -> str:
    """The id of a public image NAME holding GUEST's disk: an existing active
    image of that name with the same content is reused, else a new one is made
    (older ones of the name are left alone and named)."""
    client = CloudClient(clouds_yaml)
    checksum = _md5(guest.disk)
    query = urllib.parse.urlencode({"name": name})
    existing = client.json("image", "GET", f"/v2/images?{query}")["images"]
    for image in existing:
        if image["status"] == "active" and image.get("checksum") == checksum:
            progress(f"stacklet-tiny: image {image['id']} named {name!r} already holds this "
                     "build; reusing it")
            return image["id"]
    if existing:
        progress(f"stacklet-tiny: {len(existing)} older image(s) named {name!r} stay as they are "
                 f"({', '.join(image['id'] for image in existing)}); uploading a new one")
    image = client.json("image", "POST", "/v2/images", {
        "name": name, "disk_format": "raw", "container_format": "bare",
        "visibility": "public", "min_ram": MIN_RAM_MB, **IMAGE_PROPERTIES})
    size_mib = guest.disk.stat().st_size // 2**20
    progress(f"stacklet-tiny: uploading the {size_mib} MiB disk to image {image['id']}")
    client.upload("image", f"/v2/images/{image['id']}/file", guest.disk)
    status = client.json("image", "GET", f"/v2/images/{image['id']}")["status"]
    if status != "active":
        raise ClientError(f"image {image['id']} is {status} after the upload")
    return image["id"]


def _md5(path: Path) -> str:
    # Glance's `checksum` is the MD5 of the data.
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
