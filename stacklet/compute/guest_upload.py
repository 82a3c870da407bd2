"""Upload the stacklet-tiny disk to a running Stacklet through its image API,
as any client would: a password token from clouds.yaml, the image endpoint
from the catalog, then Glance's create + upload."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

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


class UploadError(RuntimeError):
    """The cloud refused or could not be reached; the message says why."""


class ImageClient:
    def __init__(self, clouds_yaml: Path, cloud: str = "stacklet"):
        try:
            entry = yaml.safe_load(clouds_yaml.read_text())["clouds"][cloud]
        except (OSError, KeyError, TypeError) as exc:
            raise UploadError(f"no cloud {cloud!r} in {clouds_yaml} (has `stacklet up` run "
                              f"on this data dir?): {exc}") from exc
        self.token, self.endpoint = self._authenticate(entry)

    def _authenticate(self, entry: dict) -> tuple[str, str]:
        auth = entry["auth"]
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": auth["username"], "password": auth["password"],
            "domain": {"name": auth["user_domain_name"]}}}},
            "scope": {"project": {"name": auth["project_name"],
                                  "domain": {"name": auth["project_domain_name"]}}}}}
        url = auth["auth_url"].rstrip("/") + "/auth/tokens"
        with self._open("POST", url, json.dumps(body).encode(), token=None) as response:
            token = response.headers["X-Subject-Token"]
            catalog = json.load(response)["token"]["catalog"]
        interface = entry.get("interface", "public")
        region = entry.get("region_name")
        for service in catalog:
            if service["type"] != "image":
                continue
            for endpoint in service["endpoints"]:
                if endpoint["interface"] == interface and region in (None, endpoint["region"]):
                    return token, endpoint["url"].rstrip("/")
        raise UploadError(f"the catalog of {auth['auth_url']} has no {interface} image endpoint")

    def upload(self, path: str, data: Path) -> None:
        headers = {"Content-Type": "application/octet-stream",
                   "Content-Length": str(data.stat().st_size)}
        with open(data, "rb") as body:
            self._open("PUT", self.endpoint + path, body, self.token, headers).close()

    def json(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        with self._open(method, self.endpoint + path, data, self.token) as response:
            return json.load(response)

    @staticmethod
    def _open(method, url, data, token, headers=None):
        headers = headers or {"Content-Type": "application/json"}
        if token:
            headers["X-Auth-Token"] = token
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=300)
        except urllib.error.HTTPError as exc:
            raise UploadError(f"{method} {url}: {exc.code} {exc.read().decode(errors='replace')}"
                              ) from exc
        except OSError as exc:
            raise UploadError(f"{method} {url}: {exc} (is `stacklet up` running?)") from exc


def upload_guest(guest: BuiltGuest, clouds_yaml: Path, name: str,
                 progress: Progress = print) -> str:
    """The id of a public image NAME holding GUEST's disk: an existing active
    image of that name with the same content is reused, else a new one is made
    (older ones of the name are left alone and named)."""
    client = ImageClient(clouds_yaml)
    checksum = _md5(guest.disk)
    query = urllib.parse.urlencode({"name": name})
    existing = client.json("GET", f"/v2/images?{query}")["images"]
    for image in existing:
        if image["status"] == "active" and image.get("checksum") == checksum:
            progress(f"stacklet-tiny: image {image['id']} named {name!r} already holds this "
                     "build; reusing it")
            return image["id"]
    if existing:
        progress(f"stacklet-tiny: {len(existing)} older image(s) named {name!r} stay as they are "
                 f"({', '.join(image['id'] for image in existing)}); uploading a new one")
    image = client.json("POST", "/v2/images", {
        "name": name, "disk_format": "raw", "container_format": "bare",
        "visibility": "public", "min_ram": MIN_RAM_MB, **IMAGE_PROPERTIES})
    size_mib = guest.disk.stat().st_size // 2**20
    progress(f"stacklet-tiny: uploading the {size_mib} MiB disk to image {image['id']}")
    client.upload(f"/v2/images/{image['id']}/file", guest.disk)
    status = client.json("GET", f"/v2/images/{image['id']}")["status"]
    if status != "active":
        raise UploadError(f"image {image['id']} is {status} after the upload")
    return image["id"]


def _md5(path: Path) -> str:
    # Glance's `checksum` is the MD5 of the data.
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
