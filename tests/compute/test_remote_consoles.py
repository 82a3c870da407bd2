"""Remote consoles with the fake driver: the URLs of Nova's remote-consoles API
and its older console actions, the tokens in them (reusable until they expire,
as Nova's), os-console-auth-tokens, and the console proxy relaying a websocket.

The fake driver has no consoles (the API answers 501, as Nova does for such a
driver); the tests that need one give its guests a console served by the test
itself: a unix socket that greets like a VNC server, then echoes.
"""

from __future__ import annotations

import datetime
import shutil
import socketserver
import tempfile
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import WebSocketDenialResponse

from stacklet.compute import states
from stacklet.compute.driver import DriverError
from stacklet.compute.driver.fake import FakeDriver
from stacklet.compute.models import ConsoleAuthToken, Instance
from stacklet.db import utcnow
from tests.compute.conftest import project_member
from tests.compute.helpers import add_instance

GREETING = b"RFB 003.008\n"
VNC = {"remote_console": {"protocol": "vnc", "type": "novnc"}}
SERIAL = {"remote_console": {"protocol": "serial", "type": "serial"}}


class _GreetThenEcho(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(GREETING)
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def console_server():
    """A console socket, as a guest's QEMU serves one (a short path: unix socket
    paths stay under 108 bytes)."""
    directory = Path(tempfile.mkdtemp(prefix="console-", dir="/tmp"))
    server = socketserver.ThreadingUnixStreamServer(str(directory / "console.sock"),
                                                    _GreetThenEcho)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()
    shutil.rmtree(directory)


@pytest.fixture
def guests_have_consoles(monkeypatch, console_server):
    """Fake guests serve both consoles on the test's socket while they run."""
    def console_socket(driver, instance_id, protocol):
        with driver.db.session() as session:
            if session.get(Instance, instance_id).power_state != states.RUNNING:
                raise DriverError(f"Instance {instance_id} is not running.")
        return Path(console_server.server_address)
    monkeypatch.setattr(FakeDriver, "consoles", ("serial", "vnc"))
    monkeypatch.setattr(FakeDriver, "console_socket", console_socket)


@pytest.fixture
def server_id(api, alice) -> str:
    return add_instance(api, alice.project_id, alice.user_id, host=api.cloud.host,
                        power_state=states.RUNNING)


def console_url(compute, server_id: str, body=VNC, microversion="2.6") -> str:
    response = compute.post(f"/servers/{server_id}/remote-consoles", body, microversion)
    assert response.status_code == 200, response.text
    return response.json()["remote_console"]["url"]


def websocket_path(url: str) -> str:
    """Where a console URL's websocket is, as noVNC's page and Tempest find it: the
    page's ``path`` parameter (relative to the host), or the URL itself."""
    parts = urlsplit(url)
    novnc_path = parse_qs(parts.query).get("path")
    return "/" + novnc_path[0] if novnc_path else f"{parts.path}?{parts.query}"


def refusal(api, path: str) -> int:
    with pytest.raises(WebSocketDenialResponse) as refused:
        with api.client.websocket_connect(path):
            pass
    return refused.value.status_code


def test_urls_per_microversion_open_noVNC_and_the_serial_console(
        api, alice, server_id, guests_have_consoles):
    response = alice.post(f"/servers/{server_id}/remote-consoles", VNC, "2.6")
    assert response.status_code == 200, response.text
    console = response.json()["remote_console"]
    assert console["protocol"] == "vnc" and console["type"] == "novnc"
    public = api.cloud.config.public_url
    assert console["url"].startswith(
        f"{public}/console/novnc/vnc_lite.html?path=console%2Fwebsockify%3Ftoken%3D")
    page = api.client.get(urlsplit(console["url"]).path)
    assert page.status_code == 200 and "noVNC" in page.text and "<script" in page.text
    with api.client.websocket_connect(websocket_path(console["url"]),
                                      subprotocols=["binary"]) as vnc:
        assert vnc.accepted_subprotocol == "binary"
        assert vnc.receive_bytes() == GREETING

    # Before 2.6, the console actions; their answer has no protocol.
    response = alice.post(f"/servers/{server_id}/action",
                          {"os-getSerialConsole": {"type": "serial"}})
    assert response.status_code == 200, response.text
    console = response.json()["console"]
    assert set(console) == {"type", "url"} and console["type"] == "serial"
    assert console["url"].startswith(public.replace("http", "ws", 1) + "/console/serial?token=")
    with api.client.websocket_connect(websocket_path(console["url"])) as serial:
        assert serial.receive_bytes() == GREETING
        serial.send_bytes(b"root\r")
        assert serial.receive_bytes() == b"root\r"
        serial.send_text("ls\r")   # a terminal may send keys as text
        assert serial.receive_bytes() == b"ls\r"
    vnc_action = alice.post(f"/servers/{server_id}/action",
                            {"os-getVNCConsole": {"type": "novnc"}})
    assert vnc_action.status_code == 200 and "vnc_lite.html" in vnc_action.json()["console"]["url"]

    # Each API exists only on its side of 2.6.
    assert alice.post(f"/servers/{server_id}/remote-consoles", VNC, "2.5").status_code == 404
    assert alice.post(f"/servers/{server_id}/action", {"os-getVNCConsole": {"type": "novnc"}},
                      "2.6").status_code == 404


def test_a_token_opens_its_console_until_it_expires_or_the_server_goes(
        api, alice, server_id, guests_have_consoles):
    url = console_url(alice, server_id, SERIAL)
    path = websocket_path(url)
    for _ in range(2):   # as Nova's: a token is not used up (noVNC reconnects with it)
        with api.client.websocket_connect(path) as serial:
            assert serial.receive_bytes() == GREETING
    assert refusal(api, path.replace("token=", "token=bad")) == 401
    assert refusal(api, "/console/serial") == 401
    # A serial token does not open the VNC console.
    assert refusal(api, path.replace("/console/serial", "/console/websockify")) == 401

    with api.cloud.db.transaction() as session:
        for row in session.query(ConsoleAuthToken):
            row.expires_at = utcnow() - datetime.timedelta(seconds=1)
    assert refusal(api, path) == 401

    fresh = websocket_path(console_url(alice, server_id, SERIAL))
    with api.cloud.db.transaction() as session:
        # Expired tokens are purged when another is issued.
        assert session.query(ConsoleAuthToken).count() == 1
        session.get(Instance, server_id).deleted = True
    assert refusal(api, fresh) == 401


def test_the_console_of_a_server_whose_guest_is_not_running(
        api, alice, server_id, guests_have_consoles, console_server):
    # Nova hands out the URL of a stopped server's console; it opens once the
    # guest runs again (within the token's life).
    with api.cloud.db.transaction() as session:
        session.get(Instance, server_id).power_state = states.SHUTDOWN
    path = websocket_path(console_url(alice, server_id, SERIAL))
    assert refusal(api, path) == 409
    with api.cloud.db.transaction() as session:
        session.get(Instance, server_id).power_state = states.RUNNING
    with api.client.websocket_connect(path) as serial:
        assert serial.receive_bytes() == GREETING
    # A guest gone between the driver's answer and the connection: the same.
    Path(console_server.server_address).unlink()
    assert refusal(api, path) == 409


def test_states_projects_and_policy(api, alice, bob, admin, server_id, guests_have_consoles):
    path = f"/servers/{server_id}/remote-consoles"
    assert bob.post(path, VNC, "2.6").status_code == 404
    assert admin.post(path, VNC, "2.6").status_code == 200
    reader = project_member(api, "alpha", role="reader")
    refused = reader.post(path, VNC, "2.6")
    assert refused.status_code == 403, refused.text
    assert "os_compute_api:os-remote-consoles" in refused.json()["forbidden"]["message"]

    with api.cloud.db.transaction() as session:
        session.get(Instance, server_id).task_state = states.DELETING
    deleting = alice.post(path, VNC, "2.6")
    assert deleting.status_code == 409
    assert "task_state deleting" in deleting.json()["conflictingRequest"]["message"]
    unplaced = add_instance(api, alice.project_id, alice.user_id, vm_state="building")
    not_ready = alice.post(f"/servers/{unplaced}/remote-consoles", SERIAL, "2.6")
    assert not_ready.status_code == 409
    assert not_ready.json()["conflictingRequest"]["message"] == \
        f"Instance {unplaced} is not ready"


BAD_REQUESTS = [
    ("2.6", {"remote_console": {"protocol": "spice", "type": "spice-html5"}},
     "Unavailable console type spice-html5."),
    ("2.6", {"remote_console": {"protocol": "rdp", "type": "rdp-html5"}},
     "Unavailable console type rdp."),
    ("2.8", {"remote_console": {"protocol": "mks", "type": "webmks"}},
     "Unavailable console type webmks."),
    ("2.6", {"remote_console": {"protocol": "vnc", "type": "serial"}},
     "Invalid console type serial"),
    ("2.6", {"remote_console": {"protocol": "mks", "type": "webmks"}}, "mks"),
    ("2.6", {"remote_console": {"protocol": "vnc"}}, "type"),
    ("2.6", {"remote_console": {"protocol": "vnc", "type": "novnc", "x": 1}}, "x"),
    ("2.6", {"console": {}}, "remote_console"),
    ("2.6", None, "body"),
    ("2.1", {"os-getVNCConsole": {"type": "xvpvnc"}}, "Invalid console type xvpvnc"),
    ("2.1", {"os-getVNCConsole": {}}, "type"),
    ("2.1", {"os-getSerialConsole": None}, "None"),
    ("2.1", {"os-getSPICEConsole": {"type": "spice-html5"}},
     "Unavailable console type spice-html5."),
    ("2.1", {"os-getRDPConsole": {"type": "rdp-html5"}}, "RDP"),
]


def test_bad_requests(api, alice, server_id):
    for microversion, body, message in BAD_REQUESTS:
        path = "action" if microversion == "2.1" else "remote-consoles"
        response = alice.post(f"/servers/{server_id}/{path}", body, microversion)
        assert response.status_code == 400, (body, response.text)
        assert message in response.json()["badRequest"]["message"], (body, response.text)


def test_the_fake_driver_has_no_consoles(api, alice, server_id):
    for path, body, microversion in (("remote-consoles", VNC, "2.6"),
                                     ("remote-consoles", SERIAL, "2.96"),
                                     ("action", {"os-getVNCConsole": {"type": "novnc"}}, "2.1")):
        response = alice.post(f"/servers/{server_id}/{path}", body, microversion)
        assert response.status_code == 501, response.text
        assert response.json()["notImplemented"]["message"] == \
            "The requested functionality is not supported."


def test_console_auth_tokens_show_what_a_token_opens(api, alice, admin, server_id,
                                                     guests_have_consoles):
    token = parse_qs(urlsplit(console_url(alice, server_id, SERIAL)).query)["token"][0]
    path = f"/os-console-auth-tokens/{token}"
    shown = admin.get(path, "2.31")
    assert shown.status_code == 200, shown.text
    assert shown.json() == {"console": {"instance_uuid": server_id, "host": api.cloud.host,
                                        "port": 0, "internal_access_path": None}}
    assert admin.get(path, "2.30").status_code == 400
    assert alice.get(path, "2.31").status_code == 403
    assert admin.get("/os-console-auth-tokens/unknown", "2.31").status_code == 404
    with api.cloud.db.transaction() as session:
        session.query(ConsoleAuthToken).one().expires_at = utcnow()
    assert admin.get(path, "2.31").status_code == 404
