"""The L3 agent: per router the host serves, the namespace ``qrouter-<id>``
that forwards between its interfaces (``qr-<port[:11]>`` on each tenant
network's bridge, ``qg-<port[:11]>`` on the external one), with all its NAT in
one nftables table inside it: SNAT of the tenant subnets out of qg- (when
enable_snat), a DNAT+SNAT pair per floating IP (the floating address held on
qg-), and the redirect of 169.254.169.254:80 to the metadata proxy listening
in the namespace.  The table is replaced whole in one transaction.

A namespace is this cloud's when recorded under state_dir/l3 or holding a
link with our alias; only those are removed.
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
from pathlib import Path

from stacklet.network.agent.metadata_proxy import Listener, MetadataProxy
from stacklet.network.agent.settings import ACTIVE, DataplaneSettings, Status
from stacklet.network.driver import links, namespaces, nft

LOG = logging.getLogger(__name__)
PREFIX = "qrouter-"
GATEWAY = "network:router_gateway"
METADATA_ADDRESS = "169.254.169.254"
METADATA_PROXY_PORT = 9697       # Neutron's: where the redirect sends guests' requests
NAT_TABLE = "stacklet_nat"


def namespace_name(router_id: str) -> str:
    return PREFIX + router_id


def interface_name(port: dict) -> str:
    return ("qg-" if port["port_type"] == GATEWAY else "qr-") + port["id"][:11]


class L3Agent:
    def __init__(self, settings: DataplaneSettings,
                 metadata_proxy: MetadataProxy | None = None):
        self.settings = settings
        self.metadata_proxy = metadata_proxy
        self.directory = Path(settings.state_dir) / "l3"
        # Per router namespace, where its metadata proxy listens and which
        # network each qr- address is, handed to the metadata proxy after each sync.
        self.metadata_listeners: dict[str, Listener] = {}

    def configurations(self) -> dict:
        return {"routers": len(self._served()), "agent_mode": "legacy",
                "metadata_port": METADATA_PROXY_PORT}

    def sync(self, routers: list[dict]) -> dict[str, Status]:
        statuses: dict[str, Status] = {}
        metadata = {}
        for router in routers:
            try:
                statuses.update(self._sync_router(router))
                metadata[namespace_name(router["id"])] = Listener(
                    "0.0.0.0", METADATA_PROXY_PORT, _metadata_addresses(router))
            except Exception as error:      # one router's fault never stops the others
                LOG.exception("router %s failed", router["id"])
                failed = Status("ERROR", f"router {router['id']}: {error}")
                statuses.update({item["id"]: failed
                                 for item in router["ports"] + router["floating_ips"]})
        for router_id in self._served() - {router["id"] for router in routers}:
            self._remove(router_id)
        self.metadata_listeners = metadata
        if self.metadata_proxy is not None:
            self.metadata_proxy.sync(metadata, PREFIX)
        return statuses

    def cleanup(self) -> list[str]:
        if self.metadata_proxy is not None:
            self.metadata_proxy.sync({}, PREFIX)
        removed = []
        for router_id in sorted(self._served()):
            removed += self._remove(router_id)
        return removed

    # -- one router ----------------------------------------------------------------------

    def _sync_router(self, router: dict) -> dict[str, Status]:
        namespace = namespace_name(router["id"])
        (self.directory / router["id"]).mkdir(parents=True, exist_ok=True)   # ours from now on
        namespaces.create(namespace)
        namespaces.set_sysctl(namespace, "net.ipv4.ip_forward", "1")
        statuses = {}
        wired = []
        for port in router["ports"]:
            try:
                self._wire(namespace, router, port)
                wired.append(port)
                statuses[port["id"]] = ACTIVE if router["admin_state_up"] else \
                    Status("DOWN", "the router is administratively down")
            except links.NoHostSegment as error:
                statuses[port["id"]] = Status("DOWN", str(error))
        self._remove_stale_interfaces(namespace, {interface_name(p) for p in router["ports"]})
        gateway = next((port for port in wired if port["port_type"] == GATEWAY), None)
        # Down interfaces have no routes through them: the kernel refuses them.
        namespaces.sync_routes(namespace,
                               _routes(router, gateway) if router["admin_state_up"] else [])
        nft.apply(nat_script(router, gateway), namespace)
        for floating in router["floating_ips"]:
            statuses[floating["id"]] = ACTIVE if gateway else \
                Status("DOWN", "the router has no external gateway on this host")
        return statuses

    def _wire(self, namespace: str, router: dict, port: dict) -> None:
        bridge = links.ensure_network_bridge(self.settings, port)
        inside = interface_name(port)
        tap = links.tap_name(port["id"])
        links.ensure_veth(self.settings, tap, inside, namespace, port["mtu"],
                          mac=port["mac_address"])
        links.plug(bridge, tap)
        addresses = [_with_prefix(ip["ip_address"], port) for ip in port["fixed_ips"]]
        if port["port_type"] == GATEWAY:
            addresses += [f"{f['floating_ip_address']}/32" for f in router["floating_ips"]]
        namespaces.sync_addresses(namespace, inside, addresses)
        namespaces.set_up(namespace, inside, router["admin_state_up"] and port["admin_state_up"])

    def _remove_stale_interfaces(self, namespace: str, wanted: set[str]) -> None:
        with namespaces.iproute(namespace) as ipr:
            for link in ipr.get_links():
                name = link.get("IFLA_IFNAME")
                if name.startswith(("qr-", "qg-")) and name not in wanted:
                    ipr.link("del", index=link["index"])     # its tap end goes with it

    def _served(self) -> set[str]:
        return namespaces.served(PREFIX, self.settings.link_alias, self.directory)

    def _remove(self, router_id: str) -> list[str]:
        removed = []
        namespace = namespace_name(router_id)
        if namespaces.exists(namespace):
            namespaces.delete(namespace)     # its veths, routes and table go with it
            removed.append(f"namespace {namespace}")
        shutil.rmtree(self.directory / router_id, ignore_errors=True)
        return removed


def _with_prefix(address: str, port: dict) -> str:
    for subnet in port["subnets"]:
        network = ipaddress.ip_network(subnet["cidr"])
        if ipaddress.ip_address(address) in network:
            return f"{address}/{network.prefixlen}"
    return f"{address}/{ipaddress.ip_address(address).max_prefixlen}"


def _ipv4(address: str | None) -> bool:
    return address is not None and ipaddress.ip_address(address).version == 4


def _routes(router: dict, gateway: dict | None) -> list[tuple[str, str]]:
    """The default route out of the external subnet's gateway, and the
    router's extra routes."""
    routes = [(route["destination"], route["nexthop"]) for route in router["routes"]]
    if gateway is not None:
        for subnet in gateway["subnets"]:
            if subnet["gateway_ip"]:
                version = ipaddress.ip_address(subnet["gateway_ip"]).version
                routes.append(("0.0.0.0/0" if version == 4 else "::/0", subnet["gateway_ip"]))
    return routes


def nat_script(router: dict, gateway: dict | None) -> str:
    """The nft script replacing the router's NAT table in one transaction."""
    prerouting = [f'iifname "qr-*" ip daddr {METADATA_ADDRESS} tcp dport 80 '
                  f'redirect to :{METADATA_PROXY_PORT}']
    postrouting = []
    if gateway is not None:
        qg = interface_name(gateway)
        for floating in router["floating_ips"]:
            fip, fixed = floating["floating_ip_address"], floating["fixed_ip_address"]
            if _ipv4(fip) and _ipv4(fixed):
                prerouting.append(f"ip daddr {fip} dnat to {fixed}")
                postrouting.append(f'oifname "{qg}" ip saddr {fixed} snat to {fip}')
        external = next((ip["ip_address"] for ip in gateway["fixed_ips"]
                         if _ipv4(ip["ip_address"])), None)
        if router["enable_snat"] and external:
            for port in router["ports"]:
                if port["port_type"] == GATEWAY:
                    continue
                for subnet in port["subnets"]:
                    if ipaddress.ip_network(subnet["cidr"]).version == 4:
                        postrouting.append(f'oifname "{qg}" ip saddr {subnet["cidr"]} '
                                           f'snat to {external}')
    return (f"table ip {NAT_TABLE} {{}}\n"
            f"delete table ip {NAT_TABLE}\n"
            f"table ip {NAT_TABLE} {{\n"
            "  chain prerouting {\n"
            "    type nat hook prerouting priority dstnat; policy accept;\n"
            + "".join(f"    {rule}\n" for rule in prerouting) +
            "  }\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority srcnat; policy accept;\n"
            + "".join(f"    {rule}\n" for rule in postrouting) +
            "  }\n"
            "}\n")


def _metadata_addresses(router: dict) -> dict[str, str]:
    """The qr- interfaces' IPv4 addresses -> their network: the redirect makes
    a guest's request arrive at its own network's interface address."""
    return {ip["ip_address"]: port["network_id"] for port in router["ports"]
            if port["port_type"] != GATEWAY for ip in port["fixed_ips"]
            if _ipv4(ip["ip_address"])}
