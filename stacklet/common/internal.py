"""One service calling another's API in-process, with the caller's token.

Nova's proxies (os-security-groups, os-floating-ips...) call Neutron's API as
the user who called Nova, so Neutron's validation, policy and errors apply
unchanged.  Inside one Stacklet the request goes straight to the ASGI app
instead of through a socket.  It must be made from a handler's worker
thread (where every synchronous handler runs), never while holding a
database transaction: the called handler opens its own.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import anyio.from_thread


async def _call_app(app, method: str, path: str, headers: dict[str, str],
                    body: bytes, query: str) -> tuple[int, bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
        "root_path": "", "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 0), "server": ("localhost", 80), "state": {},
    }
    sent = False
    status = 500
    chunks: list[bytes] = []

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def call(cloud, method: str, path: str, token: str, body: Any = None,
         query: dict | list | None = None) -> tuple[int, Any]:
    """Status and parsed JSON body (None when empty) of a request to PATH
    (e.g. /network/v2.0/ports) made with TOKEN."""
    headers = {"x-auth-token": token, "accept": "application/json", "host": "localhost"}
    raw = b""
    if body is not None:
        raw = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    status, content = anyio.from_thread.run(
        _call_app, cloud.asgi_app, method, path, headers, raw, urlencode(query or [],
                                                                         doseq=True))
    return status, (json.loads(content) if content else None)
