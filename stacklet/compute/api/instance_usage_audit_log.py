"""/os-instance_usage_audit_log: the usage audit of the last completed period,
before now or before a given time (admin only)."""

from __future__ import annotations

import datetime

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.compute import usage_audit
from stacklet.db import utcnow

routes = RouteTable()

_RULE = "os_compute_api:os-instance-usage-audit-log:"


@routes.route("/v2.1/os-instance_usage_audit_log", "GET")
def list_audit_logs(req: ApiRequest):
    req.authorize(_RULE + "list")
    with req.cloud.db.session() as session:
        return {"instance_usage_audit_logs": usage_audit.audit_log(session, utcnow())}


@routes.route("/v2.1/os-instance_usage_audit_log/{before_timestamp}", "GET")
def show_audit_log(req: ApiRequest):
    req.authorize(_RULE + "show")
    text = req.path["before_timestamp"]
    # Nova's two spellings: "YYYY-MM-DD HH:MM:SS", with optional microseconds.
    spelling = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    try:
        before = datetime.datetime.strptime(text, spelling)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {text}") from None
    with req.cloud.db.session() as session:
        return {"instance_usage_audit_log": usage_audit.audit_log(session, before)}
