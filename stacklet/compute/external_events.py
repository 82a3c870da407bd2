"""Events other services send about servers (Nova's os-server-external-events):
a port plugged, unplugged, changed or deleted, a volume extended or reimaged,
a power change made outside compute, an accelerator bound.

An event is delivered to the server's host; Stacklet's agents wait for none
of them (ports are plugged and volumes resized by the services that own
them before they report), so a delivered event is recorded and acknowledged.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.common.errors import NotFound
from stacklet.compute.models import Instance

LOG = logging.getLogger(__name__)

# The events each microversion accepts, as Nova's schemas grow them.
EVENTS_BY_VERSION = [
    ("2.1", ("network-changed", "network-vif-plugged", "network-vif-unplugged",
             "network-vif-deleted")),
    ("2.51", ("volume-extended",)),
    ("2.76", ("power-update",)),
    ("2.82", ("accelerator-request-bound",)),
    ("2.93", ("volume-reimaged",)),
]
# These name what they are about in their tag: the volume, the power state
# (POWER_ON, POWER_OFF) or the accelerator request.
TAG_REQUIRED = ("volume-extended", "volume-reimaged", "power-update",
                "accelerator-request-bound")
STATUSES = ("failed", "completed", "in-progress")


def event_names(version) -> list[str]:
    return [name for since, names in EVENTS_BY_VERSION if version.matches(since)
            for name in names]


def deliver(session: orm.Session, events: list[dict]) -> tuple[list[dict], bool]:
    """Each event with its status and code (200 delivered, 400 without a needed
    tag, 404 unknown server, 422 server on no host), and whether all were
    delivered.  404 when none could be, as in Nova."""
    server_ids = {event["server_uuid"] for event in events}
    hosts = dict(session.execute(
        sa.select(Instance.id, Instance.host)
        .where(Instance.id.in_(server_ids), Instance.deleted.is_(False))).all())
    answered = []
    for event in events:
        answer = dict(event)
        server_id = event["server_uuid"]
        if server_id not in hosts:
            answer.update(status="failed", code=404)
        elif event["name"] in TAG_REQUIRED and event.get("tag") is None:
            answer.update(status="failed", code=400)
        elif hosts[server_id] is None:
            answer.update(status="failed", code=422)
        else:
            answer.update(status=event.get("status", "completed"), code=200)
            LOG.info("event %s (%s) for server %s on host %s", event["name"],
                     answer["status"], server_id, hosts[server_id])
        answered.append(answer)
    if not any(answer["code"] == 200 for answer in answered):
        raise NotFound("No instances found for any event")
    return answered, all(answer["code"] == 200 for answer in answered)
