"""What a guest learns about itself: Nova's metadata documents for one server.

The same documents are served at http://169.254.169.254/ (``metadata_server``)
and written onto a config drive (``config_drive``), in Nova's two formats:

- OpenStack: ``/openstack/<version>/`` holds meta_data.json, user_data (when
  the server has some), network_data.json, vendor_data.json,
  vendor_data2.json and password;
- EC2: ``/<version>/meta-data/...`` is a tree of plain text (a directory
  lists its entries, one a line, subdirectories ending in "/"), and
  ``/<version>/user-data`` the raw user data.

``documents_for`` reads everything once from the database; the documents it
returns answer any path without going back to it.  Which server asks is never
taken from a request: the caller knows it (the socket the guest came in on).
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import os
import posixpath

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.compute.models import Instance, KeyPair
from stacklet.network.compute_ports import is_nic_of
from stacklet.network.models import FloatingIP, Network, Port, Subnet

OPENSTACK_VERSIONS = ["2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
                      "2016-10-06", "2017-02-22", "2018-08-27"]
EC2_VERSIONS = ["1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
                "2008-02-01", "2008-09-01", "2009-04-04"]
LATEST = "latest"

# The version an item first appeared in, as Nova dates them; an item not
# named here is in every version.
_OPENSTACK_SINCE = {
    "password": "2013-04-04", "random_seed": "2013-04-04",
    "vendor_data.json": "2013-10-17",
    "network_data.json": "2015-10-15", "project_id": "2015-10-15",
    "devices": "2016-06-30",
    "vendor_data2.json": "2016-10-06",
}
_EC2_SINCE = {
    "local-hostname": "2007-01-19", "public-hostname": "2007-01-19", "public-ipv4": "2007-01-19",
    "instance-type": "2007-08-29",
    "block-device-mapping": "2007-12-15",
    "placement": "2008-02-01",
    "instance-action": "2008-09-01",
}
# The EC2 versions Nova writes onto a config drive (it skips the older ones).
_CONFIG_DRIVE_EC2_VERSIONS = ["2009-04-04", LATEST]

TEXT = "text/plain"
JSON = "application/json"

# Where a server's system_metadata keeps the password its guest posted (the
# os-server-password API reads and clears it there).
PASSWORD_KEY = "password"
# Nova's limit on a posted password: four chunks of 255 bytes.
MAX_PASSWORD_BYTES = 4 * 255

Answer = tuple[str, bytes]


class _Labelled(dict):
    """A directory of the EC2 tree that its parent lists as ``label`` instead of
    ``name/``: public-keys/ lists "0=<key name>", as EC2 does."""

    def __init__(self, label: str, entries: dict):
        super().__init__(entries)
        self.label = label


@dataclasses.dataclass(frozen=True)
class InstanceDocuments:
    """Every document of one server, at the newest version; ``lookup`` answers
    a path, older versions leaving out what they did not have yet."""

    meta_data: dict            # meta_data.json but random_seed and admin_pass
    network_data: dict
    ec2_meta_data: dict        # the EC2 meta-data tree
    user_data: bytes | None
    password: str              # what the guest posted, "" if nothing yet
    admin_pass: str | None     # shown on the config drive only

    def lookup(self, path: str) -> Answer | None:
        """The content type and bytes at ``path`` (as requested of
        169.254.169.254), or None when there is nothing there."""
        tokens = _tokens(path)
        if tokens[:1] == ["openstack"]:
            return self._openstack(tokens[1:])
        if tokens[:1] == ["ec2"]:
            tokens = tokens[1:]
        return self._ec2(tokens)

    def takes_password(self, path: str) -> bool:
        """Whether ``path`` is where a guest posts its password (once)."""
        tokens = _tokens(path)
        return (len(tokens) == 3 and tokens[0] == "openstack" and tokens[2] == "password"
                and self.lookup(path) is not None)

    def config_drive_files(self) -> dict[str, bytes]:
        """The files of the server's config drive, by path (Nova's layout)."""
        files = {}
        for version in OPENSTACK_VERSIONS + [LATEST]:
            dated = _resolve(version, OPENSTACK_VERSIONS)
            for name in self._openstack_names(dated):
                if name == "password":
                    continue    # posted to the metadata service, never on a drive
                files[f"openstack/{version}/{name}"] = self._openstack_file(
                    dated, name, on_config_drive=True)[1]
        for version in _CONFIG_DRIVE_EC2_VERSIONS:
            tree = self._ec2_tree(_resolve(version, EC2_VERSIONS))
            files[f"ec2/{version}/meta-data.json"] = _json(tree)
            if self.user_data is not None:
                files[f"ec2/{version}/user-data"] = self.user_data
        return files

    # -- OpenStack format ------------------------------------------------------------

    def _openstack(self, tokens: list[str]) -> Answer | None:
        if not tokens:
            return TEXT, _lines(OPENSTACK_VERSIONS + [LATEST])
        version = _resolve(tokens[0], OPENSTACK_VERSIONS)
        if version is None:
            return None
        names = self._openstack_names(version)
        if len(tokens) == 1:
            return TEXT, _lines(names)
        if len(tokens) != 2 or tokens[1] not in names:
            return None
        return self._openstack_file(version, tokens[1])

    def _openstack_names(self, version: str) -> list[str]:
        names = ["meta_data.json"]
        if self.user_data is not None:
            names.append("user_data")
        names += ["password", "vendor_data.json", "network_data.json", "vendor_data2.json"]
        return [name for name in names if _has(_OPENSTACK_SINCE, OPENSTACK_VERSIONS,
                                                name, version)]

    def _openstack_file(self, version: str, name: str, *,
                        on_config_drive: bool = False) -> Answer:
        if name == "meta_data.json":
            return JSON, _json(self._meta_data_json(version, on_config_drive))
        if name == "network_data.json":
            return JSON, _json(self.network_data)
        if name in ("vendor_data.json", "vendor_data2.json"):
            return JSON, _json({})
        if name == "password":
            return TEXT, self.password.encode()
        return TEXT, self.user_data

    def _meta_data_json(self, version: str, on_config_drive: bool) -> dict:
        document = {key: value for key, value in self.meta_data.items()
                    if _has(_OPENSTACK_SINCE, OPENSTACK_VERSIONS, key, version)}
        if _has(_OPENSTACK_SINCE, OPENSTACK_VERSIONS, "random_seed", version):
            # Fresh entropy on every read, for guests that seed their RNG from it.
            document["random_seed"] = base64.b64encode(os.urandom(512)).decode()
        if on_config_drive and self.admin_pass:
            document["admin_pass"] = self.admin_pass
        return document

    # -- EC2 format ------------------------------------------------------------------

    def _ec2(self, tokens: list[str]) -> Answer | None:
        if not tokens:
            return TEXT, _lines(EC2_VERSIONS + [LATEST])
        version = _resolve(tokens[0], EC2_VERSIONS)
        if version is None:
            return None
        node = {"meta-data": self._ec2_tree(version)}
        if self.user_data is not None:
            node["user-data"] = self.user_data
        for token in tokens[1:]:
            if not isinstance(node, dict) or token not in node:
                return None
            node = node[token]
        return TEXT, _ec2_text(node)

    def _ec2_tree(self, version: str) -> dict:
        return {key: value for key, value in self.ec2_meta_data.items()
                if _has(_EC2_SINCE, EC2_VERSIONS, key, version)}


def _tokens(path: str) -> list[str]:
    return [token for token in posixpath.normpath("/" + path).split("/") if token]


def _resolve(version: str, versions: list[str]) -> str | None:
    if version == LATEST:
        return versions[-1]
    return version if version in versions else None


def _has(since: dict[str, str], versions: list[str], item: str, version: str) -> bool:
    return item not in since or versions.index(version) >= versions.index(since[item])


def _lines(items: list[str]) -> bytes:
    return "\n".join(items).encode()


def _json(document) -> bytes:
    # One line, as Python writes it: the guest image's shell reads it with sed.
    return json.dumps(document).encode()


def _ec2_text(node) -> bytes:
    if isinstance(node, bytes):
        return node
    if isinstance(node, list):
        return _lines([str(item) for item in node])
    if isinstance(node, dict):
        return _lines([entry.label if isinstance(entry, _Labelled)
                       else f"{name}/" if isinstance(entry, dict) else name
                       for name, entry in sorted(node.items())])
    return str(node).encode()


# -- reading a server's facts from the database ----------------------------------------

@dataclasses.dataclass
class _Nic:
    port: Port
    network: Network
    subnets: dict[str, Subnet]


def documents_for(session: orm.Session, instance_id: str) -> InstanceDocuments | None:
    """The documents of a server, or None when there is no such server (any
    more): its guest then gets 404s."""
    instance = session.get(Instance, instance_id)
    if instance is None or instance.deleted:
        return None
    nics = _nics(session, instance_id)
    floating = session.scalars(
        sa.select(FloatingIP.floating_ip_address)
        .where(FloatingIP.fixed_port_id.in_([nic.port.id for nic in nics]))
        .order_by(FloatingIP.floating_ip_address)).all()
    user_data = instance.user_data
    return InstanceDocuments(
        meta_data=_meta_data(session, instance),
        network_data=_network_data(nics),
        ec2_meta_data=_ec2_meta_data(instance, nics, floating),
        user_data=base64.b64decode(user_data) if user_data is not None else None,
        password=instance.system_metadata.get(PASSWORD_KEY, ""),
        admin_pass=instance.admin_password)


def set_guest_password(session: orm.Session, instance_id: str, password: str) -> bool:
    """Keep the password a guest posts, once: False when one is set already
    (Nova answers 409 then; the owner clears it through os-server-password)."""
    instance = session.get(Instance, instance_id, with_for_update=True)
    if instance is None or instance.deleted or instance.system_metadata.get(PASSWORD_KEY):
        return False
    instance.system_metadata = {**instance.system_metadata, PASSWORD_KEY: password}
    return True


def _nics(session: orm.Session, instance_id: str) -> list[_Nic]:
    rows = session.execute(
        sa.select(Port, Network).join(Network, Network.id == Port.network_id)
        .where(is_nic_of([instance_id]))
        .order_by(Port.created_at, Port.id)).all()
    subnet_ids = {ip.subnet_id for port, _ in rows for ip in port.fixed_ips}
    subnets = {subnet.id: subnet for subnet in session.scalars(
        sa.select(Subnet).where(Subnet.id.in_(subnet_ids)))}
    return [_Nic(port, network, subnets) for port, network in rows]


def _meta_data(session: orm.Session, instance: Instance) -> dict:
    document = {
        "uuid": instance.id,
        "meta": {item.key: item.value for item in instance.metadata_items},
        "hostname": instance.hostname,
        "name": instance.display_name,
        "launch_index": instance.launch_index,
        "availability_zone": instance.availability_zone,
        "project_id": instance.project_id,
        "devices": [],
    }
    if instance.key_name:
        # The key as the server was booted with it, even if the keypair has
        # gone since; its type from the keypair when it is still there.
        key_type = session.scalar(sa.select(KeyPair.type).filter_by(
            user_id=instance.user_id, name=instance.key_name)) or "ssh"
        document["public_keys"] = {instance.key_name: instance.key_data}
        document["keys"] = [{"name": instance.key_name, "type": key_type,
                             "data": instance.key_data}]
    return document


def _ec2_meta_data(instance: Instance, nics: list[_Nic], floating: list[str]) -> dict:
    fixed_v4 = [ip.ip_address for nic in nics for ip in nic.port.fixed_ips
                if ipaddress.ip_address(ip.ip_address).version == 4]
    tree = {
        # EC2 ids are eight hex digits: the first eight of the uuids, as
        # the server's instance_name ("instance-<8 hex>") is.
        "ami-id": f"ami-{(instance.image_ref or '0' * 8)[:8]}",
        "ami-launch-index": instance.launch_index,
        "ami-manifest-path": "FIXME",   # what Nova answers: EC2 had S3 manifests
        "instance-id": f"i-{instance.id[:8]}",
        "hostname": instance.hostname,
        "local-hostname": instance.hostname,
        "public-hostname": instance.hostname,
        "local-ipv4": fixed_v4[0] if fixed_v4 else "",
        "public-ipv4": floating[0] if floating else "",
        "reservation-id": instance.reservation_id,
        "security-groups": instance.system_metadata.get("security_groups") or ["default"],
        "instance-type": instance.flavor.get("name", ""),
        "block-device-mapping": _block_device_mapping(instance),
        "placement": {"availability-zone": instance.availability_zone or ""},
        "instance-action": "none",
    }
    if instance.key_name:
        tree["public-keys"] = {"0": _Labelled(f"0={instance.key_name}",
                                              {"openssh-key": instance.key_data})}
    return tree


def _block_device_mapping(instance: Instance) -> dict:
    """The guest's disks by EC2 role: root vda, then ephemeral and swap."""
    mapping = {"ami": "vda", "root": "/dev/vda"}
    following = iter("bcdefgh")
    if instance.ephemeral_gb:
        mapping["ephemeral0"] = f"/dev/vd{next(following)}"
    if instance.flavor.get("swap"):
        mapping["swap"] = f"/dev/vd{next(following)}"
    return mapping


def _network_data(nics: list[_Nic]) -> dict:
    """network_data.json: one link per port (named tap<port id prefix>, as Nova
    names the host's tap device), one network per fixed IP, the DNS servers."""
    links, networks, services = [], [], []
    for nic in nics:
        port = nic.port
        link_id = f"tap{port.id[:11]}"
        links.append({"id": link_id, "vif_id": port.id, "type": port.binding_vif_type,
                      "ethernet_mac_address": port.mac_address, "mtu": nic.network.mtu})
        for ip in port.fixed_ips:
            subnet = nic.subnets[ip.subnet_id]
            network = _network_entry(subnet, ip.ip_address)
            networks.append({"id": f"network{len(networks)}", "link": link_id,
                             "network_id": port.network_id, **network})
            for service in _dns(subnet):
                if service not in services:
                    services.append(service)
    return {"links": links, "networks": networks, "services": services}


def _network_entry(subnet: Subnet, address: str) -> dict:
    """How the guest configures one address: by DHCP (or SLAAC) where the
    subnet offers it, else statically with its routes and DNS servers."""
    if subnet.ip_version == 4 and subnet.enable_dhcp:
        return {"type": "ipv4_dhcp"}
    if subnet.ip_version == 6 and subnet.ipv6_address_mode:
        return {"type": f"ipv6_{subnet.ipv6_address_mode}"}
    cidr = ipaddress.ip_network(subnet.cidr)
    anywhere = "0.0.0.0" if cidr.version == 4 else "::"
    routes = []
    if subnet.gateway_ip:
        routes.append({"network": anywhere, "netmask": anywhere, "gateway": subnet.gateway_ip})
    for route in subnet.host_routes:
        destination = ipaddress.ip_network(route["destination"])
        routes.append({"network": str(destination.network_address),
                       "netmask": str(destination.netmask), "gateway": route["nexthop"]})
    return {"type": f"ipv{cidr.version}", "ip_address": address,
            "netmask": str(cidr.netmask), "routes": routes, "services": _dns(subnet)}


def _dns(subnet: Subnet) -> list[dict]:
    return [{"type": "dns", "address": address} for address in subnet.dns_nameservers]
