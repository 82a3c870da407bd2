"""Nova's instance usage audit log: for the last completed audit period (a
month, Nova's default ``instance_usage_audit_period``), each compute host
and the servers that existed on it during the period.

Nova's compute hosts write a task log row when their periodic audit runs;
Stacklet's rows already hold what that audit counts (servers with their
launch and termination times), so the log is computed when asked, and every
host is always done with no errors (no usage notification can fail here).
"""

from __future__ import annotations

import datetime

from sqlalchemy.orm import Session

from stacklet.compute import hostinfo
from stacklet.compute.usage import servers_in_period


def last_completed_month(before: datetime.datetime) -> tuple[datetime.datetime,
                                                              datetime.datetime]:
    """The calendar month that ended last before ``before`` (Nova's audit period)."""
    end = before.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    begin = (end - datetime.timedelta(days=1)).replace(day=1)
    return begin, end


def audit_log(session: Session, before: datetime.datetime) -> dict:
    begin, end = last_completed_month(before)
    hosts = sorted({service.host for service in hostinfo.list_services(
        session, binary=hostinfo.COMPUTE_BINARY)})
    counts = dict.fromkeys(hosts, 0)
    for server in servers_in_period(session, begin, end):
        if server.host in counts:
            counts[server.host] += 1
    log = {host: {"state": "DONE", "instances": count, "errors": 0,
                  "message": f"Instance usage audit ran for host {host}, {count} "
                             "instances."}
           for host, count in counts.items()}
    return {"period_beginning": str(begin), "period_ending": str(end),
            "num_hosts": len(hosts), "num_hosts_done": len(hosts), "num_hosts_running": 0,
            "num_hosts_not_run": 0, "hosts_not_run": [],
            "total_instances": sum(counts.values()), "total_errors": 0,
            "overall_status": "ALL hosts done. 0 errors.", "log": log}
