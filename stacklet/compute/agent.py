"""The compute agent: runs the tasks of the servers on its hosts.

One agent serves the hosts of one process: the machine it runs on, or the
many hosts of a fake-driver scale run.  It heartbeats, re-adopts guests
after a restart, and runs tasks when woken over the bus and on every sweep
of the database.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging

import sqlalchemy as sa

from stacklet.compute import hostinfo, states
from stacklet.compute.background import Background
from stacklet.compute.driver import ComputeDriver, DriverError
from stacklet.compute.models import Instance
from stacklet.compute.tasks import TASKS, TaskRun, run_task
from stacklet.db import utcnow

LOG = logging.getLogger(__name__)

# Tasks of one agent running at once; each holds a thread while its driver works.
MAX_PARALLEL_TASKS = 8


def topic(host: str) -> str:
    return f"compute.{host}"


class ComputeAgent:
    def __init__(self, cloud, drivers: dict[str, ComputeDriver]):
        self.cloud = cloud
        self.db = cloud.db
        self.drivers = drivers
        self._busy: set[str] = set()
        self._sweeping = False
        self._sweep_again = False
        self._executor = concurrent.futures.ThreadPoolExecutor(
            MAX_PARALLEL_TASKS, thread_name_prefix="compute-task")
        self._background = Background()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- life cycle ---------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._in_thread(self.register)
        await self._in_thread(self.readopt_guests)
        for host in self.drivers:
            self.cloud.bus.consume(topic(host), self._on_message, self._loop)
        report_interval = self.cloud.config.get("compute", "report_interval")
        self._background.every(report_interval, self.heartbeat)
        self._background.every(report_interval, self.look_after_guests)
        self._background.every(self.cloud.config.get("compute", "sweep_interval"), self.sweep)
        await self.sweep()

    async def stop(self) -> None:
        for host in self.drivers:
            self.cloud.bus.stop_consuming(topic(host))
        self._background.cancel()
        # In a thread: a running task may still need this loop (a QEMU guest's
        # metadata socket is served here) before it can end.
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

    def register(self) -> None:
        config = self.cloud.config
        ratios = {name: config.get("compute", name) for name in (
            "cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio")}
        with self.db.transaction() as session:
            for host, driver in self.drivers.items():
                hostinfo.register_service(session, host, hostinfo.COMPUTE_BINARY)
                hostinfo.register_node(session, host, driver.host_resources(), ratios=ratios)

    def heartbeat(self) -> None:
        with self.db.transaction() as session:
            hostinfo.record_heartbeats(session, list(self.drivers), hostinfo.COMPUTE_BINARY)

    def look_after_guests(self) -> None:
        """Periodic upkeep apart from the heartbeat, which must never wait on a
        guest: each driver's housekeeping, then the power-state sync."""
        for driver in self.drivers.values():
            driver.housekeeping()
        self.sync_power_states()

    def readopt_guests(self) -> None:
        """Match what runs on each host with the database, which is the truth:
        guests of deleted servers go, and a server whose guest died while
        Stacklet was down is shown SHUTOFF, not ACTIVE (or started again, with
        [compute] resume_guests_state_on_host_boot)."""
        restart = self.cloud.config.get("compute", "resume_guests_state_on_host_boot")
        for host, driver in self.drivers.items():
            guests = {guest.instance_id: guest for guest in driver.list_guests()}
            with self.db.session() as session:
                servers = set(session.scalars(sa.select(Instance.id).filter_by(
                    host=host, deleted=False)))
            for instance_id in guests.keys() - servers:
                LOG.warning("destroying guest %s on %s: its server is deleted",
                            instance_id, host)
                driver.destroy(instance_id)
            self._sync_host(host, driver, guests, restart=restart)

    def sync_power_states(self) -> None:
        """Notice guests that changed by themselves (powered off from inside,
        crashed), as Nova's periodic power-state sync does."""
        for host, driver in self.drivers.items():
            guests = {guest.instance_id: guest for guest in driver.list_guests()}
            self._sync_host(host, driver, guests, restart=False)

    def _sync_host(self, host: str, driver: ComputeDriver, guests: dict,
                   restart: bool) -> None:
        with self.db.session() as session:
            servers = list(session.scalars(sa.select(Instance).filter_by(
                host=host, deleted=False, task_state=None)))
        for server in servers:
            if server.id in self._busy:
                continue   # its task decides its state
            guest = guests.get(server.id)
            power = guest.power_state if guest else states.SHUTDOWN
            if power == states.NOSTATE:
                continue   # the guest did not say (its monitor was busy): next time
            vm_state = server.vm_state
            if vm_state == states.ACTIVE and power in (states.SHUTDOWN, states.CRASHED):
                if restart:
                    try:
                        driver.power_on(server.id)
                        LOG.info("server %s on %s started again", server.id, host)
                        continue
                    except DriverError as exc:
                        LOG.warning("server %s on %s did not start again: %s",
                                    server.id, host, exc)
                LOG.warning("server %s on %s is no longer running: now SHUTOFF",
                            server.id, host)
                vm_state = states.STOPPED
            if power == server.power_state and vm_state == server.vm_state:
                continue
            # Only if no task started meanwhile: a task's own end state wins.
            with self.db.transaction() as session:
                session.execute(
                    sa.update(Instance)
                    .where(Instance.id == server.id, Instance.task_state.is_(None),
                           Instance.updated_at.is_(None) if server.updated_at is None
                           else Instance.updated_at == server.updated_at)
                    .values(power_state=power, vm_state=vm_state, updated_at=utcnow())
                    .execution_options(synchronize_session=False))

    # -- work ---------------------------------------------------------------------

    def _on_message(self, method: str, payload: dict) -> None:
        self._background.start(self.sweep())

    async def sweep(self) -> None:
        """Start the pending task of every server on our hosts not already running.
        Sweeps requested while one runs coalesce into one more."""
        if self._sweeping:
            self._sweep_again = True
            return
        self._sweeping = True
        try:
            while True:
                self._sweep_again = False
                for server in await self._in_thread(self._pending_servers):
                    if server.id not in self._busy:
                        self._busy.add(server.id)
                        self._background.start(self._run(server))
                if not self._sweep_again:
                    break
        finally:
            self._sweeping = False

    def _pending_servers(self) -> list[Instance]:
        with self.db.session() as session:
            return list(session.scalars(
                sa.select(Instance)
                .where(Instance.host.in_(list(self.drivers)),
                       Instance.task_state.in_(list(TASKS)),
                       Instance.deleted.is_(False))
                .order_by(Instance.updated_at)))

    async def _run(self, server: Instance) -> None:
        try:
            run = TaskRun(self.cloud, self.drivers[server.host], server.host, server)
            await self._in_thread(run_task, run)
        finally:
            self._busy.discard(server.id)
        # A task that arrived while this one ran (a delete) starts now.
        await self.sweep()

    # -- plumbing -----------------------------------------------------------------

    async def _in_thread(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
