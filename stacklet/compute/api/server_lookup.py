"""The server a sub-resource request is about, found and authorized as Nova does:
404 for a server the caller cannot see, then the policy on the server's project."""

from __future__ import annotations

from sqlalchemy import orm

from stacklet.common.api import ApiRequest
from stacklet.compute import servers
from stacklet.compute.models import Instance


def authorized_server(req: ApiRequest, session: orm.Session, rule: str, *,
                      deleted_ok: bool = False) -> Instance:
    server = servers.get_server(session, req.ctx, req.path["server_id"],
                                deleted_ok=deleted_ok)
    req.authorize(rule, servers.policy_target(server))
    return server
