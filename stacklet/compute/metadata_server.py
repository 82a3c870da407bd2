"""The metadata service of a host's guests: one unix socket per guest.

Each guest's QEMU forwards its connections to http://169.254.169.254/ to a
socket of its own (a ``guestfwd`` running socat), so the socket a request
comes in on says which server asks; nothing in the request is believed.
Every request is answered from the database as it is then
(``metadata.documents_for``), read in a worker thread.

The HTTP spoken is the little a guest's curl, wget or cloud-init needs: one
request per connection, GET and HEAD of any document, and POST of the
guest's password; every answer closes the connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http
import logging
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from stacklet.compute.metadata import MAX_PASSWORD_BYTES, documents_for, set_guest_password

LOG = logging.getLogger(__name__)

# Bounds on what a guest may send: a request line or header line, the number
# of header lines, and the time to send it all.
MAX_LINE_BYTES = 8192
MAX_HEADER_LINES = 64
REQUEST_TIMEOUT = 10.0


class _Malformed(Exception):
    """The request is not HTTP we can read; it gets a 400."""


@dataclasses.dataclass(frozen=True)
class _Request:
    method: str
    path: str
    body: bytes


@dataclasses.dataclass(frozen=True)
class _Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()


class MetadataServer:
    """The metadata sockets of one host's guests, served in ``loop``.

    ``listen``, ``close`` and ``close_all`` are called from worker threads (the
    compute agent's driver calls), never from ``loop``'s own thread."""

    def __init__(self, db, loop: asyncio.AbstractEventLoop):
        self._db = db
        self._loop = loop
        self._servers: dict[str, tuple[asyncio.AbstractServer, Path]] = {}

    def listen(self, instance_id: str, path: Path) -> None:
        """Answer the guest of ``instance_id`` on the unix socket ``path`` (a
        stale socket file left there is replaced)."""
        self._run(self._listen(instance_id, Path(path)))

    def close(self, instance_id: str) -> None:
        """Stop answering the guest and remove its socket; nothing if not listening."""
        self._run(self._close(instance_id))

    def close_all(self) -> None:
        self._run(self._close_all())

    def _run(self, coroutine):
        try:
            in_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            in_loop = False
        if in_loop:
            coroutine.close()
            raise RuntimeError("MetadataServer is called from worker threads, "
                               "not from its event loop")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _listen(self, instance_id: str, path: Path) -> None:
        listening = self._servers.get(instance_id)
        if listening is not None:
            if listening[1] == path:
                return
            await self._close(instance_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        server = await asyncio.start_unix_server(
            lambda reader, writer: self._serve(instance_id, reader, writer),
            path=str(path), limit=MAX_LINE_BYTES)
        # Only this host's user (QEMU's socat runs as it) may speak for the guest.
        os.chmod(path, 0o600)
        self._servers[instance_id] = (server, path)

    async def _close(self, instance_id: str) -> None:
        listening = self._servers.pop(instance_id, None)
        if listening is None:
            return
        server, path = listening
        server.close()
        path.unlink(missing_ok=True)
        await server.wait_closed()

    async def _close_all(self) -> None:
        for instance_id in list(self._servers):
            await self._close(instance_id)

    # -- one connection --------------------------------------------------------------

    async def _serve(self, instance_id: str, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        try:
            response, with_body = await self._handle(instance_id, reader)
            writer.write(_encode(response, with_body))
            await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass    # the guest stalled or went away: nobody to answer
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass

    async def _handle(self, instance_id: str,
                      reader: asyncio.StreamReader) -> tuple[_Response, bool]:
        """The response to the connection's request, and whether it has a body."""
        try:
            request = await asyncio.wait_for(_read_request(reader), REQUEST_TIMEOUT)
        except _Malformed as error:
            return _Response(400, f"400 Bad Request: {error}".encode()), True
        return await self._answer(instance_id, request), request.method != "HEAD"

    async def _answer(self, instance_id: str, request: _Request) -> _Response:
        if request.method not in ("GET", "HEAD", "POST"):
            return _Response(405, b"405 Method Not Allowed",
                             headers=(("Allow", "GET, HEAD, POST"),))
        try:
            return await self._loop.run_in_executor(None, self._respond, instance_id, request)
        except Exception:
            LOG.exception("metadata request %s %s of server %s failed",
                          request.method, request.path, instance_id)
            return _Response(500, b"500 Internal Server Error")

    def _respond(self, instance_id: str, request: _Request) -> _Response:
        """The answer, from the database as it is now (in a worker thread)."""
        with self._db.session() as session:
            documents = documents_for(session, instance_id)
        if documents is None:
            return _Response(404, b"404 Not Found")
        if request.method == "POST":
            return self._post_password(instance_id, documents, request)
        found = documents.lookup(request.path)
        if found is None:
            return _Response(404, b"404 Not Found")
        content_type, body = found
        return _Response(200, body, content_type)

    def _post_password(self, instance_id: str, documents, request: _Request) -> _Response:
        if not documents.takes_password(request.path):
            return _Response(405, b"405 Method Not Allowed", headers=(("Allow", "GET, HEAD"),))
        try:
            password = request.body.decode()
        except UnicodeDecodeError:
            return _Response(400, b"400 Bad Request: the password is not UTF-8")
        with self._db.transaction() as session:
            if not set_guest_password(session, instance_id, password):
                return _Response(409, b"409 Conflict: a password is set already")
        return _Response(200)


async def _read_request(reader: asyncio.StreamReader) -> _Request:
    parts = (await _read_line(reader)).split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _Malformed("not an HTTP/1 request line")
    method, target, _ = parts
    headers = {}
    for _ in range(MAX_HEADER_LINES + 1):
        line = await _read_line(reader)
        if not line:
            break
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise _Malformed("a header line without a name")
        headers[name.strip().lower()] = value.strip()
    else:
        raise _Malformed(f"more than {MAX_HEADER_LINES} header lines")
    if "transfer-encoding" in headers:
        raise _Malformed("only bodies with a Content-Length are read")
    length = headers.get("content-length", "0")
    if not length.isdigit():
        raise _Malformed("Content-Length is not a number")
    if int(length) > MAX_PASSWORD_BYTES:
        raise _Malformed(f"a body longer than {MAX_PASSWORD_BYTES} bytes")
    body = await reader.readexactly(int(length))
    return _Request(method, _path_of(target), body)


def _path_of(target: str) -> str:
    """The path of a request target, decoded; an absolute URL (as sent to a
    proxy) gives its path."""
    if target.startswith(("http://", "https://")):
        target = urlsplit(target).path or "/"
    if not target.startswith("/"):
        raise _Malformed("the request target is not a path")
    return unquote(target.partition("?")[0])


async def _read_line(reader: asyncio.StreamReader) -> str:
    try:
        line = await reader.readline()
    except ValueError:
        raise _Malformed(f"a line longer than {MAX_LINE_BYTES} bytes") from None
    if not line.endswith(b"\n"):
        raise asyncio.IncompleteReadError(line, None)   # the guest hung up mid-request
    return line.decode("latin-1").rstrip("\r\n")


def _encode(response: _Response, with_body: bool) -> bytes:
    status = http.HTTPStatus(response.status)
    head = [f"HTTP/1.1 {status.value} {status.phrase}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in response.headers)]
    body = response.body if with_body else b""
    return "\r\n".join(head + ["", ""]).encode("latin-1") + body
