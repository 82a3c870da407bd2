"""Image test helpers: projects with members, and short calls on /image/v2."""

from __future__ import annotations

import dataclasses

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}


@dataclasses.dataclass
class Caller:
    """A user with a token scoped to a project."""
    token: str
    project_id: str


def project_member(api, project: str, role: str = "member") -> Caller:
    user = api.make_user(project=project, role=role)
    token = api.token(user["name"], user["password"], project=project)
    return Caller(token, user["project_id"])


def create(api, token: str, expect: int = 201, **fields) -> dict:
    body = {"disk_format": "raw", "container_format": "bare", **fields}
    response = api.post("/image/v2/images", json=body, token=token)
    assert response.status_code == expect, response.text
    return response.json()


def patch(api, token: str, image_id: str, *operations, headers=PATCH):
    return api.patch(f"/image/v2/images/{image_id}", json=list(operations), token=token,
                     headers=headers)


def upload(api, token: str, image_id: str, data: bytes):
    return api.put(f"/image/v2/images/{image_id}/file", token=token, content=data,
                   headers=OCTETS)


def listed_ids(api, token: str, query: str = "") -> list[str]:
    response = api.get(f"/image/v2/images{query}", token=token)
    assert response.status_code == 200, response.text
    return [image["id"] for image in response.json()["images"]]
