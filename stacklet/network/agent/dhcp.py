"""The DHCP agent: per network with a DHCP port bound to this host, the
namespace ``qdhcp-<network_id>`` with the port's interface ``ns-<port[:11]>``
(bridge side ``tap<port[:11]>`` in the network's bridge) and a dnsmasq serving
the network's static leases from it (see driver/dnsmasq.py).

A namespace is this cloud's when it holds a link with our alias or has a
directory under state_dir/dhcp; only those are ever removed.
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
from pathlib import Path

from stacklet.network.agent.metadata_proxy import Listener, MetadataProxy
from stacklet.network.agent.settings import ACTIVE, DataplaneSettings, Status
from stacklet.network.driver import dnsmasq, links, namespaces
from stacklet.network.driver.dnsmasq import METADATA_ADDRESS, Files

LOG = logging.getLogger(__name__)
PREFIX = "qdhcp-"


def namespace_name(network_id: str) -> str:
    return PREFIX + network_id


def interface_name(port_id: str) -> str:
    return "ns-" + port_id[:11]


class DhcpAgent:
    def __init__(self, settings: DataplaneSettings,
                 metadata_proxy: MetadataProxy | None = None):
        self.settings = settings
        self.metadata_proxy = metadata_proxy
        self.directory = Path(settings.state_dir) / "dhcp"
        # The namespaces answering metadata (isolated_metadata), handed to
        # the metadata proxy after each sync.
        self.metadata_listeners: dict[str, Listener] = {}

    def configurations(self) -> dict:
        return {"dhcp_driver": "dnsmasq", "networks": len(self._served()),
                "enable_isolated_metadata": self.settings.isolated_metadata,
                "dnsmasq_installed": dnsmasq.installed()}

    def sync(self, networks: list[dict]) -> dict[str, Status]:
        statuses: dict[str, Status] = {}
        served = {}
        for network in networks:
            port = network.get("dhcp_port")
            if port is None or port.get("binding_host_id") != self.settings.host:
                continue
            served[network["id"]] = network
            statuses[port["id"]] = self._sync_network(network, port)
        for network_id in self._served() - set(served):
            self._remove(network_id)
        self.metadata_listeners = {
            namespace_name(network_id): Listener(METADATA_ADDRESS, 80,
                                                 {METADATA_ADDRESS: network_id})
            for network_id in served
            if self.settings.isolated_metadata and namespaces.exists(namespace_name(network_id))}
        if self.metadata_proxy is not None:
            self.metadata_proxy.sync(self.metadata_listeners, PREFIX)
        return statuses

    def cleanup(self) -> list[str]:
        if self.metadata_proxy is not None:
            self.metadata_proxy.sync({}, PREFIX)
        removed = []
        for network_id in sorted(self._served()):
            removed += self._remove(network_id)
        return removed

    # -- one network -------------------------------------------------------------------

    def _sync_network(self, network: dict, port: dict) -> Status:
        if not dnsmasq.installed():
            return Status("DOWN", dnsmasq.INSTALL_HINT)
        try:
            self._wire(network, port)
            return self._serve(network, port)
        except links.NoHostSegment as error:
            return Status("DOWN", str(error))
        except Exception as error:      # one network's fault never stops the others
            LOG.exception("DHCP for network %s failed", network["id"])
            return Status("ERROR", f"DHCP for network {network['id']}: {error}")

    def _wire(self, network: dict, port: dict) -> None:
        namespace = namespace_name(network["id"])
        (self.directory / network["id"]).mkdir(parents=True, exist_ok=True)   # ours from now on
        namespaces.create(namespace)
        bridge = links.ensure_network_bridge(self.settings, network)
        tap, inside = links.tap_name(port["id"]), interface_name(port["id"])
        links.ensure_veth(self.settings, tap, inside, namespace, network["mtu"],
                          mac=port["mac_address"])
        links.plug(bridge, tap)
        addresses = [_interface_address(ip["ip_address"], network) for ip in port["fixed_ips"]]
        if self.settings.isolated_metadata:
            addresses.append(f"{METADATA_ADDRESS}/32")
        namespaces.sync_addresses(namespace, inside, addresses)
        namespaces.set_up(namespace, inside, port["admin_state_up"])

    def _serve(self, network: dict, port: dict) -> Status:
        """dnsmasq started, restarted or told to reread its files as needed."""
        files = Files(self.directory / network["id"])
        namespace = namespace_name(network["id"])
        domain = network.get("dns_domain") or self.settings.dns_domain
        addresses = [ip["ip_address"] for ip in port["fixed_ips"]]
        hosts = dnsmasq.hosts_file(network, domain)
        gone = dnsmasq.leases_in(_text_of(files.hosts)) - dnsmasq.leases_in(hosts)
        changed = dnsmasq.write_files(files, {
            files.hosts: hosts,
            files.addn_hosts: dnsmasq.addn_hosts_file(network, domain),
            files.opts: dnsmasq.opts_file(network, addresses, self.settings.isolated_metadata)})
        argv = dnsmasq.command(network, interface_name(port["id"]), files, domain)
        running = dnsmasq.running_pid(files) is not None
        if running and dnsmasq.started_with(files) == argv and \
                not (changed and dnsmasq.reload_crashes(network)):
            if changed:
                dnsmasq.release(namespace, interface_name(port["id"]), gone)
                dnsmasq.reload(files)
            return ACTIVE
        if not running and dnsmasq.started_with(files) == argv:
            LOG.warning("dnsmasq of network %s had died; starting it again", network["id"])
        try:
            dnsmasq.start(namespace, files, argv)
        except dnsmasq.DnsmasqError as error:
            return Status("DOWN", f"dnsmasq would not start: {error}")
        return ACTIVE

    def _served(self) -> set[str]:
        return namespaces.served(PREFIX, self.settings.link_alias, self.directory)

    def _remove(self, network_id: str) -> list[str]:
        removed = []
        directory = self.directory / network_id
        if dnsmasq.stop(Files(directory)):
            removed.append(f"dnsmasq of network {network_id}")
        namespace = namespace_name(network_id)
        if namespaces.exists(namespace):
            # Its veth goes with it, and so does the tap end on the bridge.
            namespaces.delete(namespace)
            removed.append(f"namespace {namespace}")
        shutil.rmtree(directory, ignore_errors=True)
        return removed


def _text_of(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def _interface_address(address: str, network: dict) -> str:
    """The address with its subnet's prefix length."""
    for subnet in network["subnets"]:
        cidr = ipaddress.ip_network(subnet["cidr"])
        if ipaddress.ip_address(address) in cidr:
            return f"{address}/{cidr.prefixlen}"
    return f"{address}/{ipaddress.ip_address(address).max_prefixlen}"
