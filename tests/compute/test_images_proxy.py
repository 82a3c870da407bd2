"""Nova's /images proxy over the image service (microversions below 2.36)."""

from __future__ import annotations

from tests.compute.helpers import active_image


def test_list_show_metadata_and_delete(api, alice, bob):
    image_id = active_image(api, alice.token, min_ram=64)
    listed = alice.get("/images").json()["images"]
    assert [image["id"] for image in listed] == [image_id]
    shown = alice.get(f"/images/{image_id}").json()["image"]
    assert shown["status"] == "ACTIVE" and shown["progress"] == 100
    assert shown["minRam"] == 64 and shown["OS-EXT-IMG-SIZE:size"] == 4096
    assert alice.get("/images/detail?minRam=128").json()["images"] == []

    assert alice.post(f"/images/{image_id}/metadata",
                      {"metadata": {"os_distro": "debian"}}).json() == {
        "metadata": {"os_distro": "debian"}}
    assert alice.put(f"/images/{image_id}/metadata/os_distro",
                     {"meta": {"other": "x"}}).status_code == 400
    assert alice.get(f"/images/{image_id}/metadata/os_distro").json() == {
        "meta": {"os_distro": "debian"}}
    assert alice.delete(f"/images/{image_id}/metadata/os_distro").status_code == 204
    assert alice.get(f"/images/{image_id}/metadata").json() == {"metadata": {}}

    # Another project's private image is not there; nor is the API after 2.35.
    assert bob.get(f"/images/{image_id}").status_code == 404
    assert alice.get(f"/images/{image_id}", microversion="2.36").status_code == 404
    assert alice.delete(f"/images/{image_id}").status_code == 204
    assert alice.get(f"/images/{image_id}").status_code == 404
    assert api.get(f"/image/v2/images/{image_id}", token=alice.token).status_code == 404
