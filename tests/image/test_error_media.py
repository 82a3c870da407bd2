"""Glance's errors follow content negotiation (webob's): JSON when asked for,
HTML for a browser or ``*/*``, plain text without an Accept header -- which is
what python-glanceclient sends, and what it knows how to read."""

from __future__ import annotations

import uuid

import pytest
from glanceclient import Client as GlanceClient
from glanceclient import exc as glance_exc

from tests.image.live_server import live_server

MISSING = f"/image/v2/images/{uuid.uuid4()}"


@pytest.mark.parametrize("accept, media", [
    ("application/json", "application/json"),
    ("*/*", "text/html"),
    ("text/html;q=0.1, application/json", "application/json"),
    ("application/*", "application/json"),
    ("text/plain", "text/plain"),
    ("", "text/plain"),
])
def test_an_error_is_written_in_the_media_asked_for(api, accept, media):
    response = api.get(MISSING, api.admin_token, headers={"Accept": accept})
    assert response.status_code == 404
    assert response.headers["content-type"].split(";")[0] == media
    if media == "application/json":
        assert response.json()["code"] == "404 Not Found"
    elif media == "text/html":
        assert "<h1>404 Not Found</h1>" in response.text
    else:
        assert response.text.startswith("404 Not Found\n\n")


def test_python_glanceclient_raises_its_own_errors(api):
    """Rally cleans up through python-glanceclient: a deleted image must raise
    HTTPNotFound there, not an AttributeError from a body it cannot read."""
    image = api.post("/image/v2/images", token=api.admin_token,
                     json={"name": "gone", "disk_format": "raw",
                           "container_format": "bare"}).json()
    assert api.delete(f"/image/v2/images/{image['id']}", api.admin_token).status_code == 204
    with live_server(api.cloud) as (host, port):
        glance = GlanceClient("2", endpoint=f"http://{host}:{port}/image",
                              token=api.admin_token)
        with pytest.raises(glance_exc.HTTPNotFound) as raised:
            glance.images.get(image["id"])
        assert image["id"] in str(raised.value)
        with pytest.raises(glance_exc.HTTPNotFound):
            glance.images.delete(image["id"])
        assert [found["id"] for found in glance.images.list()] == []
