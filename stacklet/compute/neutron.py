"""The network API as Nova's proxies call it: as the calling user, in-process
(``stacklet.common.internal``), with Neutron's errors turned into Nova's.

Nova answers some Neutron errors differently than Neutron does: a conflict
such as a duplicate rule or a group still in use is the client's bad
request, and going over a network quota is a 403, as for compute quotas.
"""

from __future__ import annotations

from typing import Any

from stacklet.common import errors, internal
from stacklet.common.api import ApiRequest

PREFIX = "/network/v2.0"

_NOVA_ERRORS = {400: errors.BadRequest, 401: errors.Unauthorized, 403: errors.Forbidden,
                404: errors.NotFound, 409: errors.BadRequest}


class Neutron:
    def __init__(self, req: ApiRequest):
        self.cloud = req.cloud
        self.token = req.headers.get("x-auth-token", "")

    def request(self, method: str, path: str, body: Any = None,
                query: dict | None = None) -> Any:
        status, result = internal.call(self.cloud, method, PREFIX + path, self.token, body,
                                       query)
        if status < 400:
            return result
        error = (result or {}).get("NeutronError", {}) if isinstance(result, dict) else {}
        message = error.get("message") or f"The network service answered {status}."
        if error.get("type") == "OverQuota":
            raise errors.Forbidden(message)
        raise _NOVA_ERRORS.get(status, errors.APIError)(message)

    def get(self, path: str, **query) -> Any:
        return self.request("GET", path, query=query or None)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def server_ports(self, server_id: str) -> list[dict]:
        """The server's ports the caller can see.  Which ports are the server's
        is the port provider's rule, not every port that names the server as
        its device."""
        nics = {interface["port_id"] for interface in self.cloud.ports.interfaces(server_id)}
        return [port for port in self.get("/ports", device_id=server_id)["ports"]
                if port["id"] in nics]
