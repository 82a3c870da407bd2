"""The metadata service of a host's guests: one unix socket per guest, and
one TCP listener for the network's metadata proxies.

Each guest's QEMU forwards its connections to http://169.254.169.254/ to a
socket of its own (a ``guestfwd`` running socat), so the socket a request
comes in on says which server asks; nothing in the request is believed.
Guests on the network data plane reach the metadata proxy of their router
(or DHCP) namespace instead, which knows them by the interface and address
their request came from and forwards it to the TCP listener (``[compute]
metadata_listen``) with X-Instance-ID, X-Tenant-ID and
X-Instance-ID-Signature, the HMAC-SHA256 of the instance id keyed with the
shared secret, as Neutron's metadata agent does to Nova's: only a request
whose signature verifies and whose tenant owns the instance is answered.
Every request is answered from the database as it is then
(``metadata.documents_for``), read in a worker thread.

The HTTP spoken is the little a guest's curl, wget or cloud-init needs: one
request per connection, GET and HEAD of any document, and POST of the
guest's password; every answer closes the connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import http
import logging
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa

from stacklet.compute.metadata import MAX_PASSWORD_BYTES, documents_for, set_guest_password
from stacklet.compute.models import Instance

LOG = logging.getLogger(__name__)

# Bounds on what a guest may send: a request line or header line, the number
# of header lines, and the time to send it all.
MAX_LINE_BYTES = 8192
MAX_HEADER_LINES = 64
REQUEST_TIMEOUT = 10.0


class Malformed(Exception):
    """The request is not HTTP we can read; it gets a 400."""


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes
    headers: dict[str, str] = dataclasses.field(default_factory=dict)    # names lowercased


@dataclasses.dataclass(frozen=True)
class Response:
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
        self._signed: asyncio.AbstractServer | None = None

    def listen(self, instance_id: str, path: Path) -> None:
        """Answer the guest of ``instance_id`` on the unix socket ``path`` (a
        stale socket file left there is replaced)."""
        self._run(self._listen(instance_id, Path(path)))

    def close(self, instance_id: str) -> None:
        """Stop answering the guest and remove its socket; nothing if not listening."""
        self._run(self._close(instance_id))

    def listen_signed(self, host: str, port: int, secret: bytes) -> int:
        """Answer the metadata proxies' signed requests on host:port; the port
        bound (PORT 0 takes a free one).  OSError when it cannot be bound."""
        return self._run(self._listen_signed(host, port, secret))

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
            lambda reader, writer: self._serve(lambda request: instance_id, reader, writer),
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
        if self._signed is not None:
            self._signed.close()
            await self._signed.wait_closed()
            self._signed = None

    async def _listen_signed(self, host: str, port: int, secret: bytes) -> int:
        if self._signed is None:
            self._signed = await asyncio.start_server(
                lambda reader, writer: self._serve(
                    lambda request: self._signed_instance(secret, request), reader, writer),
                host=host, port=port, limit=MAX_LINE_BYTES)
        return self._signed.sockets[0].getsockname()[1]

    def _signed_instance(self, secret: bytes, request: Request) -> str | Response:
        """The instance a proxy's request is for, or the refusal (as Nova's
        metadata service: 400 without the headers, 403 when the signature or
        the tenant is wrong, 404 for an unknown instance); in a worker thread."""
        instance_id = request.headers.get("x-instance-id")
        tenant_id = request.headers.get("x-tenant-id")
        signature = request.headers.get("x-instance-id-signature")
        if not (instance_id and tenant_id and signature):
            return Response(400, b"400 Bad Request: X-Instance-ID, X-Tenant-ID and "
                                 b"X-Instance-ID-Signature are required")
        if not hmac.compare_digest(signature.encode("latin-1"), sign(secret, instance_id).encode()):
            LOG.warning("metadata request for server %s with a wrong signature (from %s)",
                        instance_id, request.headers.get("x-forwarded-for", "?"))
            return Response(403, b"403 Forbidden: the signature is wrong")
        with self._db.session() as session:
            project_id = session.scalar(sa.select(Instance.project_id).where(
                Instance.id == instance_id, ~Instance.deleted))
        if project_id is None:
            return Response(404, b"404 Not Found")
        if project_id != tenant_id:
            LOG.warning("metadata request for server %s names tenant %s, not its own",
                        instance_id, tenant_id)
            return Response(403, b"403 Forbidden: the tenant does not own the server")
        return instance_id

    # -- one connection --------------------------------------------------------------

    async def _serve(self, identify: Callable[[Request], str | Response],
                     reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection; IDENTIFY tells which server the request is for (or
        the refusal), called in a worker thread."""
        try:
            response, with_body = await self._handle(identify, reader)
            writer.write(encode(response, with_body))
            await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass    # the guest stalled or went away: nobody to answer
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass

    async def _handle(self, identify: Callable[[Request], str | Response],
                      reader: asyncio.StreamReader) -> tuple[Response, bool]:
        """The response to the connection's request, and whether it has a body."""
        try:
            request = await asyncio.wait_for(read_request(reader), REQUEST_TIMEOUT)
        except Malformed as error:
            return Response(400, f"400 Bad Request: {error}".encode()), True
        return await self._answer(identify, request), request.method != "HEAD"

    async def _answer(self, identify: Callable[[Request], str | Response],
                      request: Request) -> Response:
        if request.method not in ("GET", "HEAD", "POST"):
            return Response(405, b"405 Method Not Allowed",
                             headers=(("Allow", "GET, HEAD, POST"),))
        try:
            return await self._loop.run_in_executor(None, self._respond, identify, request)
        except Exception:
            LOG.exception("metadata request %s %s failed", request.method, request.path)
            return Response(500, b"500 Internal Server Error")

    def _respond(self, identify: Callable[[Request], str | Response],
                 request: Request) -> Response:
        """The answer, from the database as it is now (in a worker thread)."""
        instance_id = identify(request)
        if isinstance(instance_id, Response):
            return instance_id
        with self._db.session() as session:
            documents = documents_for(session, instance_id)
        if documents is None:
            return Response(404, b"404 Not Found")
        if request.method == "POST":
            return self._post_password(instance_id, documents, request)
        found = documents.lookup(request.path)
        if found is None:
            return Response(404, b"404 Not Found")
        content_type, body = found
        return Response(200, body, content_type)

    def _post_password(self, instance_id: str, documents, request: Request) -> Response:
        if not documents.takes_password(request.path):
            return Response(405, b"405 Method Not Allowed", headers=(("Allow", "GET, HEAD"),))
        try:
            password = request.body.decode()
        except UnicodeDecodeError:
            return Response(400, b"400 Bad Request: the password is not UTF-8")
        with self._db.transaction() as session:
            if not set_guest_password(session, instance_id, password):
                return Response(409, b"409 Conflict: a password is set already")
        return Response(200)


def sign(secret: bytes, instance_id: str) -> str:
    """X-Instance-ID-Signature: hex HMAC-SHA256 of the instance id."""
    return hmac.new(secret, instance_id.encode(), hashlib.sha256).hexdigest()


async def read_request(reader: asyncio.StreamReader) -> Request:
    parts = (await _read_line(reader)).split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise Malformed("not an HTTP/1 request line")
    method, target, _ = parts
    headers = {}
    for _ in range(MAX_HEADER_LINES + 1):
        line = await _read_line(reader)
        if not line:
            break
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise Malformed("a header line without a name")
        headers[name.strip().lower()] = value.strip()
    else:
        raise Malformed(f"more than {MAX_HEADER_LINES} header lines")
    if "transfer-encoding" in headers:
        raise Malformed("only bodies with a Content-Length are read")
    length = headers.get("content-length", "0")
    if not length.isdigit():
        raise Malformed("Content-Length is not a number")
    if int(length) > MAX_PASSWORD_BYTES:
        raise Malformed(f"a body longer than {MAX_PASSWORD_BYTES} bytes")
    body = await reader.readexactly(int(length))
    return Request(method, _path_of(target), body, headers)


def _path_of(target: str) -> str:
    """The path of a request target, decoded; an absolute URL (as sent to a
    proxy) gives its path."""
    if target.startswith(("http://", "https://")):
        target = urlsplit(target).path or "/"
    if not target.startswith("/"):
        raise Malformed("the request target is not a path")
    return unquote(target.partition("?")[0])


async def _read_line(reader: asyncio.StreamReader) -> str:
    try:
        line = await reader.readline()
    except ValueError:
        raise Malformed(f"a line longer than {MAX_LINE_BYTES} bytes") from None
    if not line.endswith(b"\n"):
        raise asyncio.IncompleteReadError(line, None)   # the guest hung up mid-request
    return line.decode("latin-1").rstrip("\r\n")


def encode(response: Response, with_body: bool) -> bytes:
    status = http.HTTPStatus(response.status)
    head = [f"HTTP/1.1 {status.value} {status.phrase}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in response.headers)]
    body = response.body if with_body else b""
    return "\r\n".join(head + ["", ""]).encode("latin-1") + body
