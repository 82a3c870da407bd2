"""Running this host's network agents inside a Stacklet process.

As the compute services, the agents run in one process per host: the one
holding ``DIR/network.lock``.  They reconcile the host against the database
(the truth) on start, whenever a change wakes them over the bus
(``network.<host>``), and every ``[network] resync_interval`` seconds, so a
lost message or a restart loses nothing.  One reconciliation runs at a
time, in a worker thread (netlink, nft and dnsmasq calls block); a wake-up
arriving meanwhile runs one more after it.

Each pass: DHCP ports made for networks that need one, then the L2 agent
(bridges, VXLAN, taps, security groups), then the DHCP and L3 agents (which
plug their namespaces into the bridges the L2 agent made), then what they
report written back: ports ACTIVE or DOWN, floating IPs ACTIVE or DOWN.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading

import sqlalchemy as sa

from stacklet.common.host_lock import HostLock
from stacklet.compute.background import Background
from stacklet.network import agents, host_state
from stacklet.network.agent.settings import DataplaneSettings, Status, dataplane_wanted
from stacklet.network.models import FloatingIP, Port

LOG = logging.getLogger(__name__)
REPORT_INTERVAL = 10.0

# Neutron's agent types and binaries, as `openstack network agent list` shows them.
AGENT_KINDS = {
    "l2": (agents.LINUX_BRIDGE_AGENT, "neutron-linuxbridge-agent"),
    "dhcp": (agents.DHCP_AGENT, "neutron-dhcp-agent"),
    "l3": (agents.L3_AGENT, "neutron-l3-agent"),
    "metadata": (agents.METADATA_AGENT, "neutron-metadata-agent"),
}


class NetworkRuntime:
    def __init__(self, cloud):
        self.cloud = cloud
        self.settings: DataplaneSettings | None = None
        self.l2 = self.external = self.dhcp = self.l3 = self.metadata = None
        # Why each port that is not ACTIVE is not: what a failed boot's fault says.
        self.port_faults: dict[str, str] = {}
        self._background = Background()
        # Held by the worker thread through each pass: stop waits for it.
        self._pass_lock = threading.Lock()
        self._lock = HostLock(cloud.config.data_dir / "network.lock")
        self._syncing = False
        self._sync_again = False
        self._started = False

    @property
    def running(self) -> bool:
        return self.l2 is not None

    async def start(self) -> None:
        wanted, reason = dataplane_wanted(self.cloud.config)
        if not wanted:
            # `stacklet up` has said why, and what to do, when it was not asked for.
            LOG.info("network data plane off (%s): guests get QEMU user networking", reason)
            return
        if not self._lock.take():
            self._background.start(self._wait_for_lock())
            return
        await self._start_agents()

    async def _wait_for_lock(self) -> None:
        await self._lock.wait()
        LOG.info("this process now runs the network agents")
        await self._start_agents()

    async def _start_agents(self) -> None:
        # Imported here: a host without the data plane never loads pyroute2.
        from stacklet.network.agent.dhcp import DhcpAgent
        from stacklet.network.agent.external import ExternalGateway
        from stacklet.network.agent.l2 import L2Agent
        from stacklet.network.agent.l3 import L3Agent
        from stacklet.network.agent.metadata_proxy import MetadataProxy

        loop = asyncio.get_running_loop()
        host = self.cloud.host
        settings = DataplaneSettings.from_config(self.cloud.config, host)
        if self.cloud.metadata_url:
            settings = dataclasses.replace(settings, metadata_url=self.cloud.metadata_url)
        self.settings = settings
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.metadata = MetadataProxy(settings, loop, self._metadata_lookup)
        self.l2 = L2Agent(settings)
        self.external = ExternalGateway(settings)
        self.dhcp = DhcpAgent(settings, self.metadata)
        self.l3 = L3Agent(settings, self.metadata)
        await asyncio.to_thread(self._report, True)
        self.cloud.bus.consume(host_state.topic(host), self._on_message, loop)
        await self.sync()
        self._started = True
        self._background.every(self.cloud.config.get("network", "resync_interval"), self.sync)
        self._background.every(REPORT_INTERVAL, self._report)
        LOG.info("network: L2, DHCP, L3 and metadata agents running on %s", host)

    async def stop(self) -> None:
        """Stop reconciling, once a pass under way has ended; what the agents
        built stays (guests keep their network)."""
        self._background.cancel()
        if self.running:
            self.cloud.bus.stop_consuming(host_state.topic(self.cloud.host))
            await asyncio.to_thread(self._wait_for_pass)
            await asyncio.to_thread(self.metadata.close_all)
        self._lock.release()

    # -- reconciling ------------------------------------------------------------------------

    def _on_message(self, method: str, payload: dict) -> None:
        self._background.start(self.sync())

    async def sync(self) -> None:
        if self._syncing:
            self._sync_again = True
            return
        self._syncing = True
        try:
            while True:
                self._sync_again = False
                try:
                    await asyncio.to_thread(self._sync_once)
                except Exception:  # the next wake-up or resync tries again
                    LOG.exception("network agents could not reconcile this host")
                if not self._sync_again:
                    break
        finally:
            self._syncing = False

    def _wait_for_pass(self) -> None:
        with self._pass_lock:
            pass

    def _sync_once(self) -> None:
        with self._pass_lock:
            self._reconcile()

    def _reconcile(self) -> None:
        from stacklet.network import dhcp_ports

        host = self.cloud.host
        with self.cloud.db.transaction() as session:
            dhcp_ports.ensure_dhcp_ports(session, self.cloud.config, host)
        with self.cloud.db.session() as session:
            ports = host_state.host_ports(session, host)
            group_ids = sorted({group for port in ports for group in port["security_groups"]})
            groups = host_state.security_groups(session, group_ids)
            external = host_state.external_networks(session)
            networks = host_state.dhcp_networks(session)
            routers = host_state.host_routers(session, host)
        statuses: dict[str, Status] = {}
        statuses.update(self.l2.sync(ports, groups, {}))
        try:
            self.external.sync(external)
        except Exception as error:  # the guests' own networks must still be built
            LOG.error("network: the host side of the external networks failed (%s): check "
                      "[network] bridge_mappings and that nftables is installed", error)
        statuses.update(self.dhcp.sync(networks))
        statuses.update(self.l3.sync(routers))
        self._record(statuses)

    def _record(self, statuses: dict[str, Status]) -> None:
        """Write what the agents report; only rows whose status changes are written."""
        for item_id, status in statuses.items():
            if status.state == "ACTIVE":
                self.port_faults.pop(item_id, None)
            else:
                if self.port_faults.get(item_id) != status.reason:
                    LOG.warning("network: %s is %s: %s", item_id, status.state, status.reason)
                self.port_faults[item_id] = status.reason
        by_state: dict[str, list[str]] = {}
        for item_id, status in statuses.items():
            by_state.setdefault(status.state, []).append(item_id)
        with self.cloud.db.transaction() as session:
            for state, ids in by_state.items():
                for table in (Port, FloatingIP):
                    session.execute(sa.update(table).where(
                        table.id.in_(ids), table.status != state).values(status=state)
                        .execution_options(synchronize_session=False))

    # -- what the agents report -----------------------------------------------------------

    def _report(self, start: bool = False) -> None:
        configurations = {"l2": self.l2.configurations(), "dhcp": self.dhcp.configurations(),
                          "l3": self.l3.configurations(),
                          "metadata": {"metadata_proxy_socket": self.settings.metadata_url,
                                       "log_agent_heartbeats": False}}
        with self.cloud.db.transaction() as session:
            for kind, (agent_type, binary) in AGENT_KINDS.items():
                agents.report_state(session, agent_type, binary, self.cloud.host,
                                    host_state.topic(self.cloud.host), configurations[kind],
                                    availability_zone="nova" if kind in ("dhcp", "l3") else None,
                                    start=start)

    def _metadata_lookup(self, network_ids: list[str], address: str):
        with self.cloud.db.session() as session:
            return host_state.metadata_instance(session, network_ids, address)
