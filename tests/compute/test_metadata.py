"""What a guest sees of itself: the metadata documents of a server booted through
the API, served over a real unix socket as its QEMU would forward them, and
written onto a real config drive."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from stacklet.compute.config_drive import write_config_drive
from stacklet.compute.driver import DriverError
from stacklet.compute.metadata import documents_for
from stacklet.compute.metadata_server import MetadataServer, sign
from stacklet.compute.models import Instance
from tests.compute.helpers import active_image, boot_active, wait_for_status
from tests.compute.test_network_integration import make_network, network_of

USER_DATA = b"#!/bin/sh\necho hello from user data\n"


@pytest.fixture
def image_id(api, alice) -> str:
    return active_image(api, alice.token)


@pytest.fixture
def private(alice) -> dict:
    return make_network(network_of(alice), "private")


@pytest.fixture
def keypair(alice) -> dict:
    response = alice.post("/os-keypairs", {"keypair": {"name": "mykey"}})
    assert response.status_code == 200, response.text
    return response.json()["keypair"]


def boot_with_everything(alice, image_id, private, keypair, name="vm", **fields) -> dict:
    return boot_active(alice, image_id, name=name, key_name=keypair["name"],
                       user_data=base64.b64encode(USER_DATA).decode(),
                       metadata={"role": "web", "tier": "front"},
                       networks=[{"uuid": private["id"]}], **fields)


def boot_bare(alice, image_id) -> dict:
    """A server with no network, keypair, user data or metadata."""
    return boot_active(alice, image_id, networks="none", microversion="2.37")


def documents(api, server_id: str):
    with api.cloud.db.session() as session:
        return documents_for(session, server_id)


def read(docs, path: str):
    found = docs.lookup(path)
    assert found is not None, f"nothing at {path}"
    return found


def text(docs, path: str) -> str:
    content_type, body = read(docs, path)
    assert content_type == "text/plain"
    return body.decode()


def json_document(docs, path: str) -> dict:
    content_type, body = read(docs, path)
    assert content_type == "application/json"
    return json.loads(body)


# -- the documents -----------------------------------------------------------------------

def test_openstack_documents_tell_the_guest_about_its_server(api, alice, image_id, private,
                                                              keypair):
    server = boot_with_everything(alice, image_id, private, keypair)
    docs = documents(api, server["id"])

    assert text(docs, "/openstack").splitlines() == [
        "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06",
        "2017-02-22", "2018-08-27", "latest"]
    assert text(docs, "/openstack/latest/").splitlines() == [
        "meta_data.json", "user_data", "password", "vendor_data.json", "network_data.json",
        "vendor_data2.json"]

    meta = json_document(docs, "/openstack/latest/meta_data.json")
    assert meta["uuid"] == server["id"] and meta["name"] == "vm" and meta["hostname"] == "vm"
    assert meta["launch_index"] == 0 and meta["availability_zone"] == "nova"
    assert meta["project_id"] == alice.project_id
    assert meta["meta"] == {"role": "web", "tier": "front"}
    assert meta["public_keys"] == {"mykey": keypair["public_key"]}
    assert meta["keys"] == [{"name": "mykey", "type": "ssh", "data": keypair["public_key"]}]
    assert meta["devices"] == []
    assert len(base64.b64decode(meta["random_seed"])) == 512
    assert "admin_pass" not in meta     # only ever on a config drive

    assert read(docs, "/openstack/latest/user_data")[1] == USER_DATA
    assert json_document(docs, "/openstack/latest/vendor_data.json") == {}
    assert json_document(docs, "/openstack/2018-08-27/vendor_data2.json") == {}

    # An older version shows what it had then.
    old = json_document(docs, "/openstack/2012-08-10/meta_data.json")
    assert old["uuid"] == server["id"] and "project_id" not in old and "random_seed" not in old
    assert text(docs, "/openstack/2012-08-10").splitlines() == ["meta_data.json", "user_data"]
    assert docs.lookup("/openstack/2012-08-10/network_data.json") is None

    for missing in ("/openstack/1999-01-01/meta_data.json", "/openstack/latest/nothing",
                    "/openstack/latest/meta_data.json/more", "/nothing", "/latest/meta-data/x"):
        assert docs.lookup(missing) is None, missing


def test_network_data_describes_the_servers_ports(api, alice, image_id, private, keypair):
    net = network_of(alice)
    static = net.create("network", name="static")
    static_subnet = net.create("subnet", network_id=static["id"], ip_version=4,
                               cidr="10.9.0.0/24", enable_dhcp=False,
                               dns_nameservers=["10.9.0.53"],
                               host_routes=[{"destination": "192.168.0.0/16",
                                             "nexthop": "10.9.0.254"}])
    server = boot_active(alice, image_id, networks=[{"uuid": private["id"]},
                                                     {"uuid": static["id"]}])
    ports = {port["network_id"]: port for port in
             net.get(f"/ports?device_id={server['id']}").json()["ports"]}
    data = json_document(documents(api, server["id"]), "/openstack/latest/network_data.json")

    links = {link["vif_id"]: link for link in data["links"]}
    assert set(links) == {port["id"] for port in ports.values()}
    for network in (private, static):
        port = ports[network["id"]]
        link = links[port["id"]]
        assert link["id"] == "tap" + port["id"][:11]
        assert link["ethernet_mac_address"] == port["mac_address"]
        assert link["mtu"] == network["mtu"]

    by_network = {network["network_id"]: network for network in data["networks"]}
    assert by_network[private["id"]]["type"] == "ipv4_dhcp"
    assert by_network[private["id"]]["link"] == "tap" + ports[private["id"]]["id"][:11]
    fixed = by_network[static["id"]]
    assert fixed["type"] == "ipv4"
    assert fixed["ip_address"] == ports[static["id"]]["fixed_ips"][0]["ip_address"]
    assert fixed["netmask"] == "255.255.255.0"
    assert fixed["routes"] == [
        {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": static_subnet["gateway_ip"]},
        {"network": "192.168.0.0", "netmask": "255.255.0.0", "gateway": "10.9.0.254"}]
    assert fixed["services"] == [{"type": "dns", "address": "10.9.0.53"}]
    assert sorted(network["id"] for network in data["networks"]) == ["network0", "network1"]
    assert data["services"] == [{"type": "dns", "address": "10.9.0.53"}]


def test_ec2_tree_is_plain_text(api, alice, image_id, private, keypair):
    server = boot_with_everything(alice, image_id, private, keypair)
    address = server["addresses"]["private"][0]["addr"]
    docs = documents(api, server["id"])

    assert text(docs, "/").splitlines() == [
        "1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
        "2008-02-01", "2008-09-01", "2009-04-04", "latest"]
    assert text(docs, "/latest").splitlines() == ["meta-data/", "user-data"]
    listing = text(docs, "/latest/meta-data/").splitlines()
    assert listing == sorted(listing)
    for entry in ("ami-id", "hostname", "instance-id", "instance-type", "local-hostname",
                  "local-ipv4", "public-hostname", "public-ipv4", "reservation-id",
                  "security-groups", "placement/", "public-keys/", "block-device-mapping/"):
        assert entry in listing, entry

    assert text(docs, "/latest/meta-data/hostname") == "vm"
    assert text(docs, "/latest/meta-data/instance-id") == "i-" + server["id"][:8]
    assert text(docs, "/latest/meta-data/local-ipv4") == address
    assert text(docs, "/latest/meta-data/public-ipv4") == ""
    assert text(docs, "/latest/meta-data/instance-type") == "m1.tiny"
    assert text(docs, "/latest/meta-data/security-groups") == "default"
    assert text(docs, "/latest/meta-data/placement/availability-zone") == "nova"
    assert text(docs, "/latest/meta-data/block-device-mapping/root") == "/dev/vda"
    assert text(docs, "/latest/meta-data/public-keys") == "0=mykey"
    assert text(docs, "/latest/meta-data/public-keys/0/") == "openssh-key"
    assert text(docs, "/latest/meta-data/public-keys/0/openssh-key") == keypair["public_key"]
    assert read(docs, "/latest/user-data")[1] == USER_DATA
    assert read(docs, "/ec2/2009-04-04/user-data")[1] == USER_DATA
    # 1.0 had no availability zones yet.
    assert docs.lookup("/1.0/meta-data/placement/availability-zone") is None


def test_a_bare_server_has_no_keys_and_no_user_data(api, alice, image_id):
    server = boot_bare(alice, image_id)
    docs = documents(api, server["id"])
    meta = json_document(docs, "/openstack/latest/meta_data.json")
    assert "public_keys" not in meta and "keys" not in meta and meta["meta"] == {}
    assert "user_data" not in text(docs, "/openstack/latest").splitlines()
    assert docs.lookup("/openstack/latest/user_data") is None
    assert docs.lookup("/latest/user-data") is None
    assert "public-keys/" not in text(docs, "/latest/meta-data").splitlines()
    assert text(docs, "/latest/meta-data/local-ipv4") == ""
    assert json_document(docs, "/openstack/latest/network_data.json") == {
        "links": [], "networks": [], "services": []}


def test_a_deleted_or_unknown_server_has_no_documents(api, alice, image_id):
    server = boot_bare(alice, image_id)
    assert alice.delete(f"/servers/{server['id']}").status_code == 204
    wait_for_status(alice, server["id"], "DELETED")
    assert documents(api, server["id"]) is None
    assert documents(api, "00000000-0000-0000-0000-000000000000") is None


# -- the metadata service on unix sockets --------------------------------------------------

@pytest.fixture
def socket_dir():
    # Short, as unix socket paths must be (tmp_path can be too long).
    path = Path(tempfile.mkdtemp(prefix="md-", dir="/tmp"))
    yield path
    shutil.rmtree(path)


@pytest.fixture
def metadata_server(api):
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="metadata-loop")
    thread.start()
    server = MetadataServer(api.cloud.db, loop)
    yield server
    server.close_all()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


def exchange(path: Path, request: bytes) -> tuple[int, dict, bytes]:
    """Send a raw request as socat would; the status, headers and body."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(15)
        connection.connect(str(path))
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in
               (line.partition(":") for line in header_lines)}
    if not request.startswith(b"HEAD"):
        assert int(headers["content-length"]) == len(body)
    return int(status_line.split()[1]), headers, body


def get(path: Path, target: str, method: str = "GET") -> tuple[int, dict, bytes]:
    return exchange(path, f"{method} {target} HTTP/1.1\r\nHost: 169.254.169.254\r\n"
                          f"User-Agent: test\r\n\r\n".encode())


def test_each_guest_sees_only_itself_on_its_socket(api, alice, image_id, private, keypair,
                                                   metadata_server, socket_dir):
    first = boot_with_everything(alice, image_id, private, keypair, name="first")
    second = boot_active(alice, image_id, name="second", networks=[{"uuid": private["id"]}])
    first_socket = socket_dir / first["id"][:8] / "metadata.sock"
    second_socket = socket_dir / second["id"][:8] / "metadata.sock"
    metadata_server.listen(first["id"], first_socket)
    metadata_server.listen(second["id"], second_socket)

    for server, path in ((first, first_socket), (second, second_socket)):
        status, headers, body = get(path, "/openstack/latest/meta_data.json")
        assert status == 200 and headers["content-type"] == "application/json"
        assert headers["connection"] == "close"
        assert json.loads(body)["uuid"] == server["id"]
        status, headers, body = get(path, "/latest/meta-data/hostname")
        assert (status, headers["content-type"], body) == (
            200, "text/plain", server["name"].encode())
    assert get(first_socket, "/latest/user-data")[2] == USER_DATA
    assert get(second_socket, "/latest/user-data")[0] == 404
    # An absolute URL, as sent through a proxy, names the same document.
    status, _, body = get(first_socket, "http://169.254.169.254/latest/meta-data/instance-id")
    assert (status, body) == (200, f"i-{first['id'][:8]}".encode())

    assert (first_socket.stat().st_mode & 0o777) == 0o600
    metadata_server.close(first["id"])
    assert not first_socket.exists()
    assert get(second_socket, "/latest/meta-data/hostname")[2] == b"second"


def test_http_edges(api, alice, image_id, metadata_server, socket_dir):
    server = boot_bare(alice, image_id)
    path = socket_dir / "metadata.sock"
    path.write_text("a stale socket file left by a crash")
    metadata_server.listen(server["id"], path)

    status, headers, body = get(path, "/openstack/latest/meta_data.json", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    assert get(path, "/latest/meta-data/nothing")[0] == 404
    assert get(path, "/latest/meta-data/hostname", method="DELETE")[0] == 405
    assert get(path, "/latest/meta-data/hostname", method="POST")[0] == 405
    for garbage in (b"hello\r\n\r\n", b"GET /\r\n\r\n", b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
                    b"GET " + b"a" * 10000 + b" HTTP/1.1\r\n\r\n",
                    b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 100 + b"\r\n"):
        assert exchange(path, garbage)[0] == 400, garbage[:40]
    # HTTP/1.0 and a query string are fine.
    status, _, body = exchange(path, b"GET /latest/meta-data/hostname?x=1 HTTP/1.0\r\n\r\n")
    assert (status, body) == (200, b"vm")

    assert alice.delete(f"/servers/{server['id']}").status_code == 204
    wait_for_status(alice, server["id"], "DELETED")
    assert get(path, "/openstack/latest/meta_data.json")[0] == 404

    metadata_server.close_all()
    assert not path.exists()


def test_the_guest_posts_its_password_once(api, alice, image_id, metadata_server, socket_dir):
    server = boot_bare(alice, image_id)
    path = socket_dir / "metadata.sock"
    metadata_server.listen(server["id"], path)

    def post(body: bytes) -> int:
        return exchange(path, b"POST /openstack/latest/password HTTP/1.1\r\n"
                              b"Content-Length: %d\r\n\r\n" % len(body) + body)[0]

    assert get(path, "/openstack/latest/password")[:3:2] == (200, b"")
    assert post(b"x" * 1021) == 400
    assert post(b"encrypted-password") == 200
    assert post(b"another") == 409
    assert get(path, "/openstack/latest/password")[2] == b"encrypted-password"
    shown = alice.get(f"/servers/{server['id']}/os-server-password").json()
    assert shown == {"password": "encrypted-password"}
    # Once the owner clears it, the guest may post again.
    assert alice.delete(f"/servers/{server['id']}/os-server-password").status_code == 204
    assert post(b"new-one") == 200
    assert get(path, "/openstack/2012-08-10/password")[0] == 404


def tcp_get(port: int, target: str, headers: dict) -> tuple[int, bytes]:
    """A metadata proxy's request to the signed listener."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as connection:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        connection.sendall(f"GET {target} HTTP/1.1\r\n{lines}\r\n".encode())
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_the_signed_listener_answers_only_signed_requests_of_the_owner(
        api, alice, image_id, metadata_server):
    server = boot_bare(alice, image_id)
    secret = b"shared-secret"
    port = metadata_server.listen_signed("127.0.0.1", 0, secret)
    signed = {"X-Instance-ID": server["id"], "X-Tenant-ID": alice.project_id,
              "X-Instance-ID-Signature": sign(secret, server["id"]),
              "X-Forwarded-For": "10.0.0.5"}
    status, body = tcp_get(port, "/openstack/latest/meta_data.json", signed)
    assert status == 200 and json.loads(body)["uuid"] == server["id"]

    assert tcp_get(port, "/latest/meta-data/hostname", {
        **signed, "X-Instance-ID-Signature": sign(b"another secret", server["id"])})[0] == 403
    assert tcp_get(port, "/latest/meta-data/hostname", {
        **signed, "X-Instance-ID-Signature": "\u00e9" * 64})[0] == 403
    assert tcp_get(port, "/latest/meta-data/hostname", {
        **signed, "X-Tenant-ID": "someone-else"})[0] == 403
    for missing in ("X-Instance-ID", "X-Tenant-ID", "X-Instance-ID-Signature"):
        headers = {name: value for name, value in signed.items() if name != missing}
        assert tcp_get(port, "/latest/meta-data/hostname", headers)[0] == 400
    unknown = "00000000-0000-0000-0000-000000000000"
    assert tcp_get(port, "/latest/meta-data/hostname", {
        **signed, "X-Instance-ID": unknown,
        "X-Instance-ID-Signature": sign(secret, unknown)})[0] == 404


# -- the config drive ----------------------------------------------------------------------

def extract(iso: Path, into: Path) -> None:
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(iso), "-extract", "/",
                    str(into)], check=True, capture_output=True)


def volume_id(iso: Path) -> str:
    info = subprocess.run(["xorriso", "-indev", str(iso), "-pvd_info"], check=True,
                          capture_output=True, text=True).stdout
    return next(line.split(":", 1)[1].strip() for line in info.splitlines()
                if line.startswith("Volume Id"))


def test_config_drive_holds_the_documents(api, alice, image_id, private, keypair, tmp_path):
    server = boot_with_everything(alice, image_id, private, keypair, config_drive=True,
                                  adminPass="drive-pass")
    # The agent writes the drive while it builds the server, when the
    # password is still there (it forgets it once the server is active).
    with api.cloud.db.transaction() as session:
        session.get(Instance, server["id"]).admin_password = "drive-pass"
    docs = documents(api, server["id"])
    iso = tmp_path / "disk.config"
    write_config_drive(docs.config_drive_files(), iso)

    assert volume_id(iso) == "config-2"
    extract(iso, tmp_path / "drive")
    drive = tmp_path / "drive"
    meta = json.loads((drive / "openstack/latest/meta_data.json").read_text())
    assert meta["uuid"] == server["id"] and meta["admin_pass"] == "drive-pass"
    assert meta["public_keys"] == {"mykey": keypair["public_key"]}
    assert "\n" not in (drive / "openstack/latest/meta_data.json").read_text()
    assert (drive / "openstack/latest/user_data").read_bytes() == USER_DATA
    assert (drive / "openstack/2012-08-10/meta_data.json").exists()
    assert not (drive / "openstack/2012-08-10/network_data.json").exists()
    network = json.loads((drive / "openstack/latest/network_data.json").read_text())
    assert network["networks"][0]["network_id"] == private["id"]
    assert not (drive / "openstack/latest/password").exists()
    ec2 = json.loads((drive / "ec2/latest/meta-data.json").read_text())
    assert ec2["hostname"] == "vm" and ec2["public-keys"]["0"]["openssh-key"] == keypair[
        "public_key"]
    assert (drive / "ec2/latest/user-data").read_bytes() == USER_DATA
    assert sorted(path.name for path in (drive / "ec2").iterdir()) == ["2009-04-04", "latest"]
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".partial")] == []


def test_without_xorriso_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DriverError, match="package 'xorriso'"):
        write_config_drive({"openstack/latest/meta_data.json": b"{}"}, tmp_path / "x.iso")
    assert not (tmp_path / "x.iso").exists()
