"""Compute test helpers: an image to boot, servers that reach a status."""

from __future__ import annotations

import time

from tests.image import helpers as image_helpers

TINY_FLAVOR = "1"   # DevStack's m1.tiny: 512 MiB, 1 vCPU, 1 GiB


def active_image(api, token: str, **fields) -> str:
    """A public-enough (owned by the caller's project) active raw image."""
    image = image_helpers.create(api, token, name="boot-me", **fields)
    response = image_helpers.upload(api, token, image["id"], b"\0" * 4096)
    assert response.status_code == 204, response.text
    return image["id"]


def boot(compute, image_id: str, expect: int = 202, microversion: str = "2.1",
         **fields) -> dict:
    body = {"server": {"name": "vm", "imageRef": image_id, "flavorRef": TINY_FLAVOR,
                       **fields}}
    response = compute.post("/servers", body, microversion=microversion)
    assert response.status_code == expect, response.text
    return response.json()


def wait_for_status(compute, server_id: str, status: str, timeout: float = 15,
                    microversion: str = "2.1") -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = compute.get(f"/servers/{server_id}", microversion=microversion)
        if status == "DELETED" and response.status_code == 404:
            return {}
        assert response.status_code == 200, response.text
        server = response.json()["server"]
        if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
            return server
        assert time.monotonic() < deadline, f"server stayed {server['status']}, not {status}"
        time.sleep(0.05)


def boot_active(compute, image_id: str, **fields) -> dict:
    server_id = boot(compute, image_id, **fields)["server"]["id"]
    return wait_for_status(compute, server_id, "ACTIVE")
