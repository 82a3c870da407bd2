"""What every network agent of a host is told: one object made from the config.

``tag`` marks what this cloud made on the host: each link carries the alias
``stacklet:<tag>``, each nftables table of the host's own namespace is
named ``stacklet_<tag>...``, so reconciling or cleaning up never touches
what another cloud (or another test's cloud) made on the same machine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import shutil
from pathlib import Path

from stacklet.common.private_files import write_private

SECRET_FILE = "metadata-proxy-secret"
TOOLS = ("nft", "dnsmasq", "dhcp_release", "ip")


@dataclasses.dataclass(frozen=True)
class Status:
    """What an agent reports for one port or floating IP it wired (or could not)."""

    state: str                # "ACTIVE", "DOWN" or "ERROR"
    reason: str = ""          # why it is not ACTIVE: what the operator should do


ACTIVE = Status("ACTIVE")


@dataclasses.dataclass(frozen=True)
class DataplaneSettings:
    host: str
    tag: str
    state_dir: Path                       # DIR/network: dnsmasq files, pid files
    bridge_mappings: dict[str, str]       # physnet -> host bridge
    interface_mappings: dict[str, str]    # physnet -> host interface
    vxlan_local_ip: str | None
    external_gateway_on_host: bool
    external_masquerade: bool
    isolated_metadata: bool
    metadata_url: str                     # the compute metadata service, for the proxies
    metadata_secret: bytes                # signs X-Instance-ID (X-Instance-ID-Signature)
    dns_domain: str

    @property
    def link_alias(self) -> str:
        return f"stacklet:{self.tag}"

    @classmethod
    def from_config(cls, config, host: str) -> DataplaneSettings:
        metadata_host, _, metadata_port = config.get("compute", "metadata_listen").rpartition(":")
        return cls(
            host=host, tag=cloud_tag(config.data_dir),
            state_dir=config.data_dir / "network",
            bridge_mappings=_mappings(config.get("network", "bridge_mappings")),
            interface_mappings=_mappings(config.get("network", "physical_interface_mappings")),
            vxlan_local_ip=config.get("network", "vxlan_local_ip") or None,
            external_gateway_on_host=config.get("network", "external_gateway_on_host"),
            external_masquerade=config.get("network", "external_masquerade"),
            isolated_metadata=config.get("network", "enable_isolated_metadata"),
            metadata_url=f"http://{metadata_host or '127.0.0.1'}:{metadata_port}",
            metadata_secret=metadata_secret(config.data_dir),
            dns_domain=config.get("network", "dns_domain"))


def cloud_tag(data_dir: Path) -> str:
    """Eight hex digits naming one data dir's cloud on this host."""
    return hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:8]


def metadata_secret(data_dir: Path) -> bytes:
    """The secret the metadata proxies sign with and the metadata service checks
    (Neutron's and Nova's metadata_proxy_shared_secret), made on first need."""
    path = Path(data_dir) / SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        write_private(path, secrets.token_hex(32))
        return path.read_bytes().strip()


def _mappings(text: str) -> dict[str, str]:
    pairs = (item.strip().split(":", 1) for item in text.split(",") if item.strip())
    return {name.strip(): value.strip() for name, value in pairs}


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def dataplane_wanted(config) -> tuple[bool, str]:
    """Whether this host runs the data plane, and why not when it does not."""
    import os

    choice = config.get("network", "dataplane")
    if choice == "off":
        return False, "[network] dataplane = off"
    reasons = []
    if os.geteuid() != 0:
        reasons.append("Stacklet does not run as root")
    missing = missing_tools()
    if missing:
        reasons.append("missing " + ", ".join(missing) +
                       " (Debian packages nftables, dnsmasq-base, dnsmasq-utils, iproute2)")
    if not reasons:
        return True, ""
    if choice == "on":
        raise SystemExit("stacklet: [network] dataplane = on, but " + "; ".join(reasons))
    return False, "; ".join(reasons)
