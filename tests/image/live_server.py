"""A real uvicorn server on a Stacklet, for what the in-process test client
cannot do: send half a body and hang up, or hold an upload open while
something else happens."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time

import uvicorn

from stacklet.app import create_app


@contextlib.contextmanager
def live_server(cloud):
    """Serve ``cloud`` on a free loopback port; yields (host, port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(cloud), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def start_upload(address, token: str, image_id: str, length: int | None,
                 content_type: str = "application/octet-stream") -> http.client.HTTPConnection:
    """Send the headers of PUT /file (declaring ``length`` bytes, or chunked when
    None) and return the connection, for the caller to send the body."""
    connection = http.client.HTTPConnection(*address, timeout=30)
    connection.putrequest("PUT", f"/image/v2/images/{image_id}/file")
    connection.putheader("X-Auth-Token", token)
    connection.putheader("Content-Type", content_type)
    if length is None:
        connection.putheader("Transfer-Encoding", "chunked")
    else:
        connection.putheader("Content-Length", str(length))
    connection.endheaders()
    return connection


def wait_for(condition, timeout: float = 10, what: str = "the condition"):
    """Poll ``condition`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
