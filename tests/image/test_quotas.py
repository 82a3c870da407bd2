"""Image quotas: 413s for too many images or too much data, from stacklet.conf
(hard caps) and from Keystone unified limits (enforced as Glance does)."""

from __future__ import annotations

import random

import pytest

from tests.image.helpers import OCTETS, create, project_member, upload
from tests.image.live_server import live_server, start_upload

MIB = 1 << 20


def random_bytes(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def image_status(api, token: str, image_id: str) -> str:
    return api.get(f"/image/v2/images/{image_id}", token=token).json()["status"]


def store_files(api) -> list:
    return [path for path in api.cloud.image_store.root.rglob("*") if path.is_file()]


def assert_refused_and_nothing_kept(api, response, alice, image_id: str, words: str) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "413 Request Entity Too Large"
    assert words in response.json()["message"]
    assert image_status(api, alice.token, image_id) == "queued"
    assert not any(path.name.startswith(image_id) for path in store_files(api))


# -- stacklet.conf limits ------------------------------------------------------------------

class TestConfiguredLimits:
    @pytest.fixture
    def config_overrides(self):
        return {("image", "image_count_total"): 3, ("image", "image_size_total"): 2}

    def test_image_count(self, api, alice):
        first = create(api, alice.token)
        create(api, alice.token)
        create(api, alice.token)
        refused = api.post("/image/v2/images", json={"name": "fourth"}, token=alice.token)
        assert refused.status_code == 413
        assert "image_count_total is over limit of 3 due to current usage 3" in \
            refused.json()["message"]
        # Other projects have their own count.
        other = project_member(api, "beta")
        create(api, other.token)
        api.delete(f"/image/v2/images/{first['id']}", token=alice.token)
        create(api, alice.token, name="fourth")

    def test_size_is_a_hard_cap(self, api, alice):
        first = create(api, alice.token)
        assert upload(api, alice.token, first["id"], random_bytes(MIB + 500_000)).status_code \
            == 204
        second = create(api, alice.token)
        # Content-Length says it will not fit: refused before any data is read.
        response = upload(api, alice.token, second["id"], random_bytes(MIB))
        assert_refused_and_nothing_kept(api, response, alice, second["id"], "image_size_total")
        assert f"{2 * MIB - (MIB + 500_000)} bytes" in response.json()["message"]
        # Without a Content-Length (chunked) the data is cut off where it exceeds.
        pieces = (b"x" * 100_000 for _ in range(10))
        response = api.put(f"/image/v2/images/{second['id']}/file", token=alice.token,
                           content=pieces, headers=OCTETS)
        assert_refused_and_nothing_kept(api, response, alice, second["id"], "image_size_total")
        # What is left still fits.
        assert upload(api, alice.token, second["id"], random_bytes(500_000)).status_code == 204

    def test_declared_oversize_is_refused_before_the_data_is_sent(self, api, alice):
        image = create(api, alice.token)
        with live_server(api.cloud) as address:
            connection = start_upload(address, alice.token, image["id"], 100 * MIB)
            # No byte of the body sent: the answer comes anyway.
            response = connection.getresponse()
            body = response.read()
            connection.close()
        assert response.status == 413, body
        assert image_status(api, alice.token, image["id"]) == "queued"


class TestImageSizeCap:
    @pytest.fixture
    def config_overrides(self):
        return {("image", "image_size_cap"): MIB}

    def test_cap_applies_to_every_upload(self, api, alice):
        image = create(api, alice.token)
        response = upload(api, alice.token, image["id"], random_bytes(MIB + 1))
        assert_refused_and_nothing_kept(api, response, alice, image["id"], f"{MIB} bytes")
        pieces = (b"y" * 65536 for _ in range(17))
        response = api.put(f"/image/v2/images/{image['id']}/file", token=alice.token,
                           content=pieces, headers=OCTETS)
        assert_refused_and_nothing_kept(api, response, alice, image["id"], f"{MIB} bytes")
        assert upload(api, alice.token, image["id"], random_bytes(MIB)).status_code == 204


# -- Keystone unified limits ---------------------------------------------------------------

@pytest.fixture
def image_service_id(api):
    return api.admin("GET", "/services?type=image", expect=200).json()["services"][0]["id"]


def register_limit(api, service_id: str, resource: str, default: int, **extra) -> dict:
    return api.admin("POST", "/registered_limits", {"registered_limits": [{
        "service_id": service_id, "resource_name": resource, "default_limit": default,
        **extra}]}, expect=201).json()["registered_limits"][0]


def project_limit(api, service_id: str, project_id: str, resource: str, value: int,
                  **extra) -> dict:
    return api.admin("POST", "/limits", {"limits": [{
        "service_id": service_id, "project_id": project_id, "resource_name": resource,
        "resource_limit": value, **extra}]}, expect=201).json()["limits"][0]


def test_unified_image_count_limit_with_project_override(api, alice, image_service_id):
    register_limit(api, image_service_id, "image_count_total", 1, region_id="RegionOne")
    create(api, alice.token)
    refused = api.post("/image/v2/images", json={}, token=alice.token)
    assert refused.status_code == 413
    assert refused.json()["message"] == (
        f"Project {alice.project_id} is over a limit for [Resource image_count_total is over "
        "limit of 1 due to current usage 1 and delta 1]")
    project_limit(api, image_service_id, alice.project_id, "image_count_total", 2,
                  region_id="RegionOne")
    create(api, alice.token)
    assert api.post("/image/v2/images", json={}, token=alice.token).status_code == 413


class TestUnifiedLimitsReplaceConfig:
    @pytest.fixture
    def config_overrides(self):
        # Nothing allowed by stacklet.conf: the Keystone limits decide.
        return {("image", "image_size_total"): 0, ("image", "image_count_total"): 0}

    def test_unified_image_size_limit_as_glance_enforces_it(self, api, alice,
                                                            image_service_id):
        """Tempest's scenario (test_image_size_quota): an upload is refused once
        the project is over its limit, not before."""
        register_limit(api, image_service_id, "image_count_total", 10)
        registered = register_limit(api, image_service_id, "image_size_total", 1)
        data = random_bytes(MIB)
        first, second, third = (create(api, alice.token) for _ in range(3))
        assert upload(api, alice.token, first["id"], data).status_code == 204
        # At the limit, not over it: one more upload may still go (and go over).
        assert upload(api, alice.token, second["id"], data).status_code == 204
        response = upload(api, alice.token, third["id"], data)
        assert_refused_and_nothing_kept(api, response, alice, third["id"], "over a limit")
        assert response.json()["message"] == (
            f"Project {alice.project_id} is over a limit for [Resource image_size_total is "
            "over limit of 1 due to current usage 2 and delta 0]")

        # A higher project limit lets it through; a deletion makes room too.
        override = project_limit(api, image_service_id, alice.project_id,
                                 "image_size_total", 2)
        assert upload(api, alice.token, third["id"], data).status_code == 204
        fourth = create(api, alice.token)
        assert upload(api, alice.token, fourth["id"], data).status_code == 413
        api.delete(f"/image/v2/images/{first['id']}", token=alice.token)
        assert upload(api, alice.token, fourth["id"], data).status_code == 204
        # Removing the override brings back the registered default of 1 MiB.
        api.admin("DELETE", f"/limits/{override['id']}", expect=204)
        fifth = create(api, alice.token)
        assert upload(api, alice.token, fifth["id"], data).status_code == 413
        assert registered["region_id"] is None

    def test_a_limit_registered_for_this_region_counts(self, api, alice, image_service_id):
        register_limit(api, image_service_id, "image_count_total", 2, region_id="RegionOne")
        register_limit(api, image_service_id, "image_size_total", 5, region_id="RegionOne")
        image = create(api, alice.token)
        assert upload(api, alice.token, image["id"], random_bytes(MIB)).status_code == 204
        create(api, alice.token)
        assert api.post("/image/v2/images", json={}, token=alice.token).status_code == 413
