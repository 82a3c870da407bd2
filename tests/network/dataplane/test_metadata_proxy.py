"""Metadata over the network for real: guests behind a router ask
169.254.169.254, the proxy in qrouter- knows them by where they came from,
and the signed metadata service answers each with its own document."""

from __future__ import annotations

import asyncio
import json
import socket
import threading

import pytest

from stacklet.compute.metadata_server import MetadataServer
from stacklet.network import host_state
from stacklet.network.agent.l3 import L3Agent
from stacklet.network.agent.metadata_proxy import MetadataProxy
from stacklet.network.driver import namespaces
from tests.compute.helpers import add_instance
from tests.network.dataplane.test_dhcp import Guest, made, make_settings
from tests.network.dataplane.test_l3 import TENANT_GATEWAY, Topology

SECRET = b"proxy-secret"


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="metadata-loop")
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


def http_get(namespace: str, path: str, headers: str = "") -> tuple[int, bytes]:
    """GET http://169.254.169.254PATH from inside NAMESPACE (a guest's curl)."""
    with namespaces.entered(namespace):
        client = socket.socket()
    with client:
        client.settimeout(5)
        client.connect(("169.254.169.254", 80))
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: 169.254.169.254\r\n{headers}\r\n"
                       .encode())
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.dataplane
def test_each_guest_gets_its_own_metadata_through_the_router(api, alice, tmp_path, loop):
    network = alice.create("network", name="private")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.88.0.0/24", gateway_ip=TENANT_GATEWAY)
    servers = {}
    for name, address in (("first", "10.88.0.5"), ("second", "10.88.0.6")):
        instance_id = add_instance(api, alice.project_id, alice.user_id,
                                   display_name=name, hostname=name)
        alice.create("port", network_id=network["id"], device_id=instance_id,
                     device_owner="compute:nova",
                     fixed_ips=[{"subnet_id": subnet["id"], "ip_address": address}])
        servers[name] = (instance_id, address)

    service = MetadataServer(api.cloud.db, loop)
    port = service.listen_signed("127.0.0.1", 0, SECRET)
    settings = make_settings(tmp_path, metadata_url=f"http://127.0.0.1:{port}",
                             metadata_secret=SECRET)

    def lookup(network_ids, address):
        with api.cloud.db.session() as session:
            return host_state.metadata_instance(session, network_ids, address)

    proxy = MetadataProxy(settings, loop, lookup)
    agent = L3Agent(settings, proxy)
    net = Topology(settings, tenant_id=network["id"])
    with made(service.close_all, proxy.close_all, agent.cleanup, net.remove):
        other = Guest(settings, net.bridges[1], "fa:16:3e:00:00:06")
        with made(other.remove):
            other.configure("10.88.0.6/24", TENANT_GATEWAY)
            stranger = Guest(settings, net.bridges[1], "fa:16:3e:00:00:07")
            with made(stranger.remove):
                stranger.configure("10.88.0.7/24", TENANT_GATEWAY)
                agent.sync([net.router])      # and tells the proxy where to listen

                for guest, name in ((net.guest, "first"), (other, "second")):
                    status, body = http_get(guest.name, "/openstack/latest/meta_data.json")
                    assert status == 200, body
                    assert json.loads(body)["uuid"] == servers[name][0]
                    assert http_get(guest.name, "/latest/meta-data/hostname") == (
                        200, name.encode())
                # What the guest claims to be is not believed.
                forged = (f"X-Instance-ID: {servers['second'][0]}\r\n"
                          f"X-Tenant-ID: {alice.project_id}\r\n")
                status, body = http_get(net.guest.name, "/openstack/latest/meta_data.json",
                                        forged)
                assert json.loads(body)["uuid"] == servers["first"][0]
                # An address that is no server's gets nothing.
                assert http_get(stranger.name, "/latest/meta-data/hostname")[0] == 404

                agent.sync([])
                with pytest.raises(OSError):
                    http_get(net.guest.name, "/latest/meta-data/hostname")
