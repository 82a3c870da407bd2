"""Sharing images with other projects: members, their answers, what each side sees."""

from __future__ import annotations

import pytest

from tests.image.helpers import create, listed_ids, project_member, upload


@pytest.fixture
def owner(api):
    return project_member(api, "owner")


@pytest.fixture
def guest(api):
    return project_member(api, "guest")


@pytest.fixture
def stranger(api):
    return project_member(api, "stranger")


def members_url(image: dict, member: str = "") -> str:
    return f"/image/v2/images/{image['id']}/members" + (f"/{member}" if member else "")


def test_share_accept_reject_remove(api, owner, guest, stranger):
    image = create(api, owner.token, name="shared-one")
    upload(api, owner.token, image["id"], b"shared data")
    # Before sharing, the guest cannot see it.
    assert api.get(f"/image/v2/images/{image['id']}", token=guest.token).status_code == 404

    added = api.post(members_url(image), json={"member": guest.project_id}, token=owner.token)
    assert added.status_code == 200, added.text
    member = added.json()
    assert (member["image_id"], member["member_id"], member["status"]) == \
        (image["id"], guest.project_id, "pending")
    assert member["schema"] == "/v2/schemas/member" and member["created_at"].endswith("Z")
    assert api.post(members_url(image), json={"member": guest.project_id},
                    token=owner.token).status_code == 409

    # Pending: the guest can fetch it but it is not in its default list.
    assert api.get(f"/image/v2/images/{image['id']}", token=guest.token).status_code == 200
    assert image["id"] not in listed_ids(api, guest.token)
    assert listed_ids(api, guest.token, "?member_status=pending") == [image["id"]]
    assert listed_ids(api, guest.token, "?member_status=all") == [image["id"]]

    # Only the member answers, with a known status.
    assert api.put(members_url(image, guest.project_id), json={"status": "accepted"},
                   token=owner.token).status_code == 403
    assert api.put(members_url(image, guest.project_id), json={"status": "maybe"},
                   token=guest.token).status_code == 400
    accepted = api.put(members_url(image, guest.project_id), json={"status": "accepted"},
                       token=guest.token)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert listed_ids(api, guest.token) == [image["id"]]
    assert api.get(f"/image/v2/images/{image['id']}/file",
                   token=guest.token).content == b"shared data"
    # A member can neither change nor delete the image.
    assert api.delete(f"/image/v2/images/{image['id']}", token=guest.token).status_code == 403

    # The owner sees all members, the guest only its own, strangers nothing.
    api.post(members_url(image), json={"member": stranger.project_id}, token=owner.token)
    owner_view = api.get(members_url(image), token=owner.token).json()
    assert {m["member_id"] for m in owner_view["members"]} == \
        {guest.project_id, stranger.project_id}
    assert owner_view["schema"] == "/v2/schemas/members"
    guest_view = api.get(members_url(image), token=guest.token).json()["members"]
    assert [m["member_id"] for m in guest_view] == [guest.project_id]
    assert api.get(members_url(image, stranger.project_id),
                   token=guest.token).status_code == 404
    assert api.get(members_url(image, guest.project_id),
                   token=guest.token).json()["status"] == "accepted"

    rejected = api.put(members_url(image, guest.project_id), json={"status": "rejected"},
                       token=guest.token)
    assert rejected.json()["status"] == "rejected"
    assert image["id"] not in listed_ids(api, guest.token)

    assert api.delete(members_url(image, guest.project_id), token=guest.token).status_code == 403
    assert api.delete(members_url(image, guest.project_id), token=owner.token).status_code == 204
    assert api.get(f"/image/v2/images/{image['id']}", token=guest.token).status_code == 404
    assert api.delete(members_url(image, guest.project_id), token=owner.token).status_code == 404


def test_only_shared_images_have_members(api, owner, guest):
    private = create(api, owner.token, visibility="private")
    response = api.post(members_url(private), json={"member": guest.project_id},
                        token=owner.token)
    assert response.status_code == 403
    assert api.get(members_url(private), token=owner.token).json()["members"] == []


def test_member_bad_input(api, owner, guest):
    image = create(api, owner.token)
    assert api.post(members_url(image), json={}, token=owner.token).status_code == 400
    assert api.post(members_url(image), json={"member": 7}, token=owner.token).status_code == 400
    assert api.post(members_url(image), json={"member": guest.project_id},
                    token=guest.token).status_code == 404
    assert api.get(members_url(image, "nobody"), token=owner.token).status_code == 404
