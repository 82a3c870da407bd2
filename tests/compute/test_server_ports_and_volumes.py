"""A server's addresses, interfaces and volume attachments over HTTP, in a cloud
without a network or block storage service: empty lists, and Nova's 404s
naming what cannot be found."""

from __future__ import annotations

import uuid

import pytest

from stacklet.compute.models import Instance
from tests.compute.helpers import active_image, boot_active


@pytest.fixture
def server(api, alice) -> dict:
    return boot_active(alice, active_image(api, alice.token))


def test_addresses(alice, bob, server):
    path = f"/servers/{server['id']}/ips"
    assert alice.get(path).json() == {"addresses": {}}
    missing = alice.get(f"{path}/private")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == \
        "Instance is not a member of specified network"
    assert bob.get(path).status_code == 404
    assert alice.get(f"/servers/{uuid.uuid4()}/ips").status_code == 404


def test_interfaces(api, alice, bob, server):
    path = f"/servers/{server['id']}/os-interface"
    assert alice.get(path).json() == {"interfaceAttachments": []}
    port_id, net_id = str(uuid.uuid4()), str(uuid.uuid4())
    assert alice.get(f"{path}/{port_id}").json()["itemNotFound"]["message"] == \
        f"Port {port_id} could not be found."

    by_port = alice.post(path, {"interfaceAttachment": {"port_id": port_id}})
    assert by_port.status_code == 404
    assert by_port.json()["itemNotFound"]["message"] == f"Port {port_id} could not be found."
    by_net = alice.post(path, {"interfaceAttachment": {"net_id": net_id}})
    assert by_net.status_code == 404
    assert by_net.json()["itemNotFound"]["message"] == \
        f"Network {net_id} could not be found."
    anything = alice.post(path, {"interfaceAttachment": {}})
    assert anything.status_code == 400
    assert "none are available" in anything.json()["badRequest"]["message"]

    both = alice.post(path, {"interfaceAttachment": {"port_id": port_id, "net_id": net_id}})
    assert both.status_code == 400
    ip_alone = alice.post(path, {"interfaceAttachment": {
        "fixed_ips": [{"ip_address": "10.0.0.5"}]}})
    assert ip_alone.status_code == 400
    assert alice.post(path, {"interfaceAttachment": {"net_id": "x"}}).status_code == 400

    detach = alice.delete(f"{path}/{port_id}")
    assert detach.status_code == 404
    assert detach.json()["itemNotFound"]["message"] == f"Port {port_id} is not attached"
    assert bob.get(path).status_code == 404
    assert bob.post(path, {"interfaceAttachment": {"net_id": net_id}}).status_code == 404

    with api.cloud.db.transaction() as session:
        session.get(Instance, server["id"]).locked = True
    assert alice.post(path, {"interfaceAttachment": {"net_id": net_id}}).status_code == 409


def test_volume_attachments(alice, bob, server):
    path = f"/servers/{server['id']}/os-volume_attachments"
    volume_id = str(uuid.uuid4())
    assert alice.get(path).json() == {"volumeAttachments": []}
    attach = alice.post(path, {"volumeAttachment": {"volumeId": volume_id}})
    assert attach.status_code == 404
    assert attach.json()["itemNotFound"]["message"] == f"Volume {volume_id} could not be found."
    shown = alice.get(f"{path}/{volume_id}")
    assert shown.status_code == 404
    assert shown.json()["itemNotFound"]["message"] == \
        f"Instance {server['id']} is not attached to volume {volume_id}"
    assert alice.delete(f"{path}/{volume_id}").status_code == 404
    assert alice.post(path, {"volumeAttachment": {"volumeId": "not-a-uuid"}}).status_code == 400
    assert alice.post(path, {"volumeAttachment": {"volumeId": volume_id, "tag": "t"}},
                      microversion="2.48").status_code == 400
    assert bob.get(path).status_code == 404

