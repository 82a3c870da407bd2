"""Running the conductor and the compute agent inside a Stacklet process.

Every API worker process serves the compute API, but only one per host runs
the conductor and the agent: the one holding ``DIR/compute.lock``.  When
that process exits, the lock goes with it and another worker takes over
within a few seconds.  Casts from the other workers find no consumer in
their process; the sweeps of the database pick their work up instead.
"""

from __future__ import annotations

import asyncio
import logging

from stacklet.common.host_lock import HostLock
from stacklet.compute.agent import ComputeAgent
from stacklet.compute.conductor import Conductor
from stacklet.compute.driver import load_driver, resolve_driver_name
from stacklet.compute.metadata_server import MetadataServer
from stacklet.network.agent.settings import metadata_secret

LOG = logging.getLogger(__name__)


def compute_host_names(cloud) -> list[str]:
    """This process's compute hosts: the machine itself, or N fake hosts."""
    count = cloud.config.get("compute", "fake_hosts")
    if resolve_driver_name(cloud.config.get("compute", "driver")) == "fake" and count > 1:
        return [f"{cloud.host}-fake-{index}" for index in range(1, count + 1)]
    return [cloud.host]


class ComputeRuntime:
    def __init__(self, cloud):
        self.cloud = cloud
        self.conductor: Conductor | None = None
        self.agent: ComputeAgent | None = None
        # Serves each QEMU guest's metadata socket, in this process's event loop.
        self.metadata: MetadataServer | None = None
        self._lock = HostLock(cloud.config.data_dir / "compute.lock")
        self._waiter: asyncio.Task | None = None

    async def start(self) -> None:
        """Run the compute services now if this process gets the lock, else
        keep trying in the background."""
        if not self.cloud.config.get("compute", "run_services"):
            return
        if not self._lock.take():
            self._waiter = asyncio.ensure_future(self._wait_for_lock())
            return
        await self._start_services()

    async def _wait_for_lock(self) -> None:
        await self._lock.wait()
        LOG.info("this process now runs the conductor and compute agent")
        await self._start_services()

    async def _start_services(self) -> None:
        # Importing the task modules registers what agents do for each task_state.
        from stacklet.compute import action_tasks, lifecycle  # noqa: F401

        driver_name = resolve_driver_name(self.cloud.config.get("compute", "driver"))
        self.metadata = MetadataServer(self.cloud.db, asyncio.get_running_loop())
        await self._listen_signed_metadata()
        # Loading probes the host (QEMU's version, a KVM test boot): not on the loop.
        drivers = await asyncio.to_thread(lambda: {
            host: load_driver(driver_name, host, self.cloud, self.metadata)
            for host in compute_host_names(self.cloud)})
        self.agent = ComputeAgent(self.cloud, drivers)
        self.conductor = Conductor(self.cloud)
        await self.agent.start()
        await self.conductor.start()
        if driver_name == "qemu":
            driver_name += f" ({next(iter(drivers.values())).accel.upper()})"
        LOG.info("compute: conductor and %d %s host(s) running", len(drivers), driver_name)

    async def _listen_signed_metadata(self) -> None:
        """The listener the network's metadata proxies forward guests' requests
        to.  When its port is taken (another cloud on this machine), a free
        port serves instead: this host's proxies are told where it is, and a
        request must never reach another cloud's metadata service."""
        listen = self.cloud.config.get("compute", "metadata_listen")
        host, _, port = listen.rpartition(":")
        host = host or "127.0.0.1"
        secret = metadata_secret(self.cloud.config.data_dir)
        for attempt in (int(port), 0):
            try:
                bound = await asyncio.to_thread(self.metadata.listen_signed, host, attempt,
                                                secret)
            except OSError as error:
                LOG.warning("compute: the metadata service cannot listen on %s (%s)%s",
                            f"{host}:{attempt}", error,
                            ": using a free port" if attempt else "")
                continue
            self.cloud.metadata_url = f"http://{host}:{bound}"
            return
        LOG.error("compute: no metadata service for the network's proxies: guests on the "
                  "data plane get no metadata; set [compute] metadata_listen to a free "
                  "address:port")

    async def stop(self) -> None:
        if self._waiter is not None:
            self._waiter.cancel()
        if self.conductor is not None:
            await self.conductor.stop()
        if self.agent is not None:
            await self.agent.stop()
        if self.metadata is not None:
            await asyncio.to_thread(self.metadata.close_all)
        self._lock.release()
