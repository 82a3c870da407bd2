"""The conductor: places new servers on hosts and hands them to their agents.

It runs once per cloud (the process holding the compute lock).  New
servers wait in task_state ``scheduling``; the conductor takes them in
creation order, so the servers of one request are placed together, which is
what lets ``min_count`` and server-group policies hold.  (Nova re-checks a
group's policy on the compute host, because its schedulers place racing
boots in parallel; here one conductor places one server at a time, each
seeing the hosts of every member placed before it, so there is no race to
re-check.)
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import logging

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.compute import hostinfo, scheduler, states
from stacklet.compute.agent import topic
from stacklet.compute.background import Background
from stacklet.compute.models import (
    Instance,
    InstanceAction,
    InstanceActionEvent,
    InstanceFault,
    ServerGroup,
    ServerGroupMember,
)
from stacklet.db import utcnow

LOG = logging.getLogger(__name__)

TOPIC = "conductor"
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
SCHEDULE_EVENT = "conductor_schedule_and_build_instances"


class Conductor:
    def __init__(self, cloud):
        self.cloud = cloud
        self.config = cloud.config
        self._running = False
        self._again = False
        self._background = Background()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.heartbeat)
        self.cloud.bus.consume(
            TOPIC, lambda method, payload: self._background.start(self.schedule()), loop)
        self._background.every(self.config.get("compute", "sweep_interval"), self.schedule)
        self._background.every(self.config.get("compute", "report_interval"), self.heartbeat)
        await self.schedule()

    async def stop(self) -> None:
        self.cloud.bus.stop_consuming(TOPIC)
        self._background.cancel()

    def heartbeat(self) -> None:
        with self.cloud.db.transaction() as session:
            for binary in ("nova-conductor", "nova-scheduler"):
                hostinfo.register_service(session, self.cloud.host, binary)

    async def schedule(self) -> None:
        """Place every server waiting for a host; requests made meanwhile coalesce."""
        if self._running:
            self._again = True
            return
        self._running = True
        try:
            while True:
                self._again = False
                woken = await asyncio.to_thread(self.schedule_waiting)
                for host in woken:
                    self.cloud.bus.cast(topic(host), "run_tasks")
                if not self._again:
                    break
        finally:
            self._running = False

    def schedule_waiting(self) -> set[str]:
        """Place the waiting servers; returns the hosts that got work."""
        woken: set[str] = set()
        with self.cloud.db.transaction() as session:
            waiting = list(session.scalars(
                sa.select(Instance)
                .where(Instance.task_state == states.SCHEDULING, Instance.deleted.is_(False))
                .order_by(Instance.created_at, Instance.reservation_id, Instance.launch_index)))
            if not waiting:
                return woken
            candidates = scheduler.load_hosts(session, hostinfo.Zones(session, self.config))
            for _, request in itertools.groupby(waiting, key=lambda i: i.reservation_id):
                woken |= self._place_request(session, list(request), candidates)
        return woken

    def _place_request(self, session: orm.Session, servers: list[Instance],
                       candidates: list[scheduler.HostState]) -> set[str]:
        """Place the servers of one create request: at least min_count of them, or
        none (their claims are given back)."""
        started = utcnow()
        placed: list[Instance] = []
        for server in servers:
            host = self._place(session, server, candidates)
            if host is None:
                break
            placed.append(server)
        # An unshelved server is placed on its own, whatever its create asked.
        unshelving = servers[0].vm_state == states.SHELVED_OFFLOADED
        min_count = 1 if unshelving else servers[0].system_metadata.get("min_count", 1)
        if len(placed) < min_count:
            for server in placed:
                scheduler.release(session, server.host, server.vcpus, server.memory_mb,
                                  scheduler.disk_gb_of(server.flavor))
                server.host = server.node = None
            placed = []
        for server in servers:
            if server in placed:
                server.task_state = states.UNSHELVING if unshelving else states.SPAWNING
            else:
                # A server that finds no host stays shelved, as in Nova; a new one fails.
                if not unshelving:
                    server.vm_state = states.ERROR
                server.task_state = None
                session.add(InstanceFault(instance_id=server.id, code=500,
                                          message=NO_VALID_HOST, details="", host=None))
            self._record_scheduling(session, server, started, placed=server in placed)
            server.updated_at = utcnow()
        return {server.host for server in placed}

    def _record_scheduling(self, session: orm.Session, server: Instance,
                           started: datetime.datetime, *, placed: bool) -> None:
        """The conductor's event on the server's create action; a server that got
        no host ends its action there, in error."""
        action_id = (server.pending or {}).get("action_id")
        if action_id is None:
            return
        now = utcnow()
        session.add(InstanceActionEvent(
            action_id=action_id, event=SCHEDULE_EVENT, host=self.cloud.host,
            result="Success" if placed else "Error", start_time=started, finish_time=now,
            details=None if placed else NO_VALID_HOST))
        if not placed:
            action = session.get(InstanceAction, action_id)
            action.message, action.finish_time = "Error", now
            server.pending = {}

    def _place(self, session: orm.Session, server: Instance,
               candidates: list[scheduler.HostState]) -> str | None:
        spec = request_spec(session, server)
        chosen = scheduler.select_hosts(
            candidates, spec, now=utcnow(),
            down_time=self.config.get("compute", "service_down_time"),
            ram_weight_multiplier=self.config.get("compute", "ram_weight_multiplier"))
        for candidate in chosen:
            if scheduler.claim(session, candidate.node, spec.vcpus, spec.memory_mb,
                               spec.disk_gb):
                server.host = server.node = candidate.node.host
                # Nova shows the zone the server landed in when none was asked.
                server.availability_zone = (server.availability_zone
                                            or candidate.availability_zone)
                return server.host
        LOG.info("no host for server %s: %s", server.id, NO_VALID_HOST)
        return None


def request_spec(session: orm.Session, server: Instance) -> scheduler.RequestSpec:
    """What the server asks of a host, its group's placement included."""
    meta = server.system_metadata
    spec = scheduler.RequestSpec(
        vcpus=server.vcpus, memory_mb=server.memory_mb, disk_gb=scheduler.disk_gb_of(server.flavor),
        availability_zone=server.availability_zone,
        image_properties=meta.get("image_properties", {}),
        requested_host=(server.pending.get("requested_host")
                        if server.vm_state == states.SHELVED_OFFLOADED
                        else meta.get("requested_host")))
    group_id = meta.get("group_id")
    if group_id:
        group = session.get(ServerGroup, group_id)
        if group is not None:
            spec.group_policy = group.policy
            spec.group_max_per_host = int(group.rules.get("max_server_per_host", 1))
            spec.group_hosts = list(session.scalars(
                sa.select(Instance.host)
                .join(ServerGroupMember, ServerGroupMember.instance_id == Instance.id)
                .where(ServerGroupMember.group_id == group_id, Instance.id != server.id,
                       Instance.host.is_not(None), Instance.deleted.is_(False))))
    return spec
