"""The metadata proxy: 169.254.169.254 for guests on the network data plane.

In each router namespace (the redirect of the L3 agent's NAT table sends
guests' 169.254.169.254:80 to port 9697 there) and, with
``enable_isolated_metadata``, in each DHCP namespace (169.254.169.254:80 on
its ns- interface), a listener made inside the namespace answers on the
runtime's event loop.  A request's guest is known only by where it came in
(the namespace, and the address it reached: its own network's interface)
and its source address, which anti-spoofing makes trustworthy: ``lookup``
turns (network ids, address) into the server's instance and project ids
(host_state.metadata_instance).  Nothing the guest sends names it.  The
request then goes to the compute metadata service (``settings.metadata_url``)
signed as Neutron's metadata agent signs it, and the answer is relayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from stacklet.compute.metadata_server import (
    MAX_LINE_BYTES,
    REQUEST_TIMEOUT,
    Malformed,
    Response,
    encode,
    read_request,
    sign,
)
from stacklet.network.driver import namespaces

LOG = logging.getLogger(__name__)
UPSTREAM_TIMEOUT = 30.0

# (network ids, source address) -> (instance id, project id), or None.
Lookup = Callable[[list[str], str], "tuple[str, str] | None"]


@dataclasses.dataclass(frozen=True)
class Listener:
    """Where one namespace's proxy listens, and the network of each local
    address a guest's request may arrive at."""

    address: str
    port: int
    networks: dict[str, str]         # local address -> network id


class MetadataProxy:
    """The proxies of this host's namespaces, served in ``loop``.  ``sync``,
    ``serve``, ``close`` and ``close_all`` are called from worker threads
    (the agents' syncs), never from ``loop``'s own thread."""

    def __init__(self, settings, loop: asyncio.AbstractEventLoop, lookup: Lookup):
        self.settings = settings
        self._loop = loop
        self._lookup = lookup
        self._servers: dict[str, tuple[Listener, asyncio.AbstractServer]] = {}
        upstream = urlsplit(settings.metadata_url)
        self._upstream = (upstream.hostname, upstream.port or 80)

    def sync(self, wanted: dict[str, Listener], prefix: str = "") -> None:
        """Listen in exactly the namespaces of WANTED among those named PREFIX...
        (an agent's ``metadata_listeners``: qrouter- or qdhcp-); a namespace
        that fails is logged and skipped."""
        for namespace in set(self._servers) - set(wanted):
            if namespace.startswith(prefix):
                self.close(namespace)
        for namespace, listener in wanted.items():
            try:
                self.serve(namespace, listener)
            except OSError as error:
                LOG.error("metadata proxy in %s cannot listen on %s:%d: %s", namespace,
                          listener.address, listener.port, error)

    def serve(self, namespace: str, listener: Listener) -> None:
        current = self._servers.get(namespace)
        if current is not None and current[0] == listener:
            return
        if current is not None and (current[0].address, current[0].port) == \
                (listener.address, listener.port):
            self._servers[namespace] = (listener, current[1])     # only its networks changed
            return
        self.close(namespace)
        sock = namespaces.listening_socket(namespace, listener.address, listener.port)
        server = self._run(asyncio.start_server(
            lambda reader, writer: self._serve(namespace, reader, writer),
            sock=sock, limit=MAX_LINE_BYTES))
        self._servers[namespace] = (listener, server)

    def close(self, namespace: str) -> None:
        served = self._servers.pop(namespace, None)
        if served is not None:
            self._run(_close(served[1]))

    def close_all(self) -> None:
        for namespace in list(self._servers):
            self.close(namespace)

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    # -- one connection --------------------------------------------------------------

    async def _serve(self, namespace: str, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        try:
            source = writer.get_extra_info("peername")[0]
            local = writer.get_extra_info("sockname")[0]
            try:
                request = await asyncio.wait_for(read_request(reader), REQUEST_TIMEOUT)
            except Malformed as error:
                writer.write(encode(Response(400, f"400 Bad Request: {error}".encode()), True))
            else:
                writer.write(await self._forward(namespace, local, source, request))
            await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass    # the guest stalled or went away
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _forward(self, namespace: str, local: str, source: str, request) -> bytes:
        """The metadata service's whole answer to REQUEST, asked for the guest
        at SOURCE (404 for an address that is no server's)."""
        listener = self._servers.get(namespace, (None,))[0]
        network_id = listener.networks.get(local) if listener else None
        found = await self._loop.run_in_executor(
            None, self._lookup, [network_id], source) if network_id else None
        if found is None:
            LOG.info("metadata request from %s in %s: no server has that address",
                     source, namespace)
            return encode(Response(404, b"404 Not Found"), request.method != "HEAD")
        instance_id, project_id = found
        head = [f"{request.method} {request.path} HTTP/1.0",
                f"Host: {self._upstream[0]}",
                f"X-Instance-ID: {instance_id}",
                f"X-Tenant-ID: {project_id}",
                f"X-Instance-ID-Signature: {sign(self.settings.metadata_secret, instance_id)}",
                f"X-Forwarded-For: {source}",
                f"Content-Length: {len(request.body)}",
                "Connection: close"]
        try:
            return await asyncio.wait_for(self._ask("\r\n".join(head + ["", ""]).encode()
                                                    + request.body), UPSTREAM_TIMEOUT)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as error:
            LOG.error("metadata service at %s unreachable: %s", self.settings.metadata_url,
                      error)
            return encode(Response(502, b"502 Bad Gateway"), True)

    async def _ask(self, data: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(*self._upstream)
        try:
            writer.write(data)
            await writer.drain()
            return await reader.read()     # until the service closes: one answer per connection
        finally:
            writer.close()


async def _close(server: asyncio.AbstractServer) -> None:
    server.close()
    await server.wait_closed()
