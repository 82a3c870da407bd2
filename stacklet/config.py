"""Stacklet's configuration: one documented file, overridden by environment and flags.

Precedence, lowest first: built-in default, ``DIR/stacklet.conf``, the
environment variable ``STACKLET_<SECTION>_<OPTION>`` and finally a command-line
flag.  The file is written on first start with every option, its default and
its meaning, all commented out, so an operator edits a line rather than
guessing a name.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import re
from pathlib import Path
from typing import Any, Callable

import platformdirs

CONFIG_FILE_NAME = "stacklet.conf"
DEFAULT_PORT = 8700


@dataclasses.dataclass(frozen=True)
class Option:
    section: str
    name: str
    default: Any
    help: str
    type: Callable[[str], Any] = str

    @property
    def env_name(self) -> str:
        return f"STACKLET_{self.section}_{self.name}".upper()


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _regex(text: str) -> str:
    # A pattern that does not compile would refuse every password at run
    # time; refuse it at start instead.
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return text


# Every option Stacklet reads.  None as a default means "derived at start";
# the help text says from what.
OPTIONS: list[Option] = [
    Option("api", "bind", f"127.0.0.1:{DEFAULT_PORT}",
           "HOST:PORT of the one HTTP listener that serves every API."),
    Option("api", "public_url", None,
           "Base URL clients use to reach the listener, as written in the catalog. "
           "Default: http://<bind>."),
    Option("api", "workers", 1,
           "Number of API worker processes.", int),
    Option("database", "url", None,
           "SQLAlchemy URL of the database. Default: SQLite (WAL) at DIR/stacklet.db. "
           "PostgreSQL: postgresql+psycopg2://user:pass@host/db; "
           "MariaDB: mysql+pymysql://user:pass@host/db."),
    Option("identity", "admin_password", None,
           "Password of the bootstrap user 'admin'. Default: generated on first start "
           "and kept in DIR/admin-password (mode 0600)."),
    Option("identity", "region", "RegionOne",
           "Region the bootstrap catalog entries belong to."),
    Option("identity", "token_expiration", 3600,
           "Lifetime of a token, in seconds.", int),
    Option("identity", "allow_expired_window", 172800,
           "How long after expiry a token can still be validated with allow_expired, "
           "in seconds.", int),
    Option("identity", "max_active_keys", 3,
           "Fernet keys kept in the key repository (staged + primary + secondary).", int),
    Option("identity", "password_hash_rounds", 12,
           "bcrypt cost for password hashes (Keystone's default is 12).", int),
    Option("identity", "token_cache_size", 10000,
           "Validated tokens kept in memory per API process.", int),
    # Keystone's [security_compliance] (PCI-DSS) rules for local passwords;
    # every one is off by default.
    Option("security_compliance", "lockout_failure_attempts", 0,
           "Consecutive wrong passwords after which a user is locked out "
           "(0: never lock out).", int),
    Option("security_compliance", "lockout_duration", 1800,
           "Seconds a locked-out user stays locked out (0: until an admin re-enables "
           "the user).", int),
    Option("security_compliance", "password_expires_days", 0,
           "Days a password stays valid after it is set (0: passwords never expire).", int),
    Option("security_compliance", "unique_last_password_count", 0,
           "A new password set by its owner must differ from this many most recent "
           "passwords, the current one included (0: no history check).", int),
    Option("security_compliance", "minimum_password_age", 0,
           "Days a user must keep a password they set before changing it again; an "
           "admin can always reset it (0: no minimum).", int),
    Option("security_compliance", "password_regex", "",
           "Regular expression every new password must match (empty: any password).",
           _regex),
    Option("security_compliance", "password_regex_description", "",
           "The requirement of password_regex in words, told to whoever sets a password "
           "that does not match."),
    Option("security_compliance", "change_password_upon_first_use", False,
           "Users whose password an admin set (on creation or by reset) must change it "
           "themselves before they get a token.", _bool),
    Option("image", "store_dir", None,
           "Directory image data is kept in. Default: DIR/images."),
    Option("image", "require_image_format_match", True,
           "Refuse image data that is not what its disk_format says (Glance's option of "
           "the same name). qcow2 images with a backing or external data file are refused "
           "either way.", _bool),
    Option("image", "image_size_cap", 1 << 40,
           "Largest image, in bytes, that can be uploaded (Glance's default: 1 TiB).", int),
    Option("image", "image_count_total", -1,
           "Images a project may own, unless Keystone has a registered limit "
           "'image_count_total' for the image service (-1: unlimited).", int),
    Option("image", "image_size_total", -1,
           "MiB of image data a project may store, a hard cap: data beyond it is refused "
           "(-1: unlimited).  A Keystone registered limit 'image_size_total' for the "
           "image service replaces it, enforced as Glance does: uploads are refused once "
           "the project is over it.", int),
    Option("image", "image_stage_total", -1,
           "MiB of staged (glance-direct) image data a project may hold, a hard cap "
           "(-1: unlimited); a Keystone registered limit 'image_stage_total' replaces "
           "it, enforced as image_size_total's is.", int),
    Option("image", "image_count_uploading", -1,
           "Uploads and glance-direct stagings a project may have in progress at once, "
           "unless Keystone has a registered limit 'image_count_uploading' (-1: "
           "unlimited).", int),
    Option("image", "limit_param_default", 25,
           "Images listed per page when the client gives no limit.", int),
    Option("image", "api_limit_max", 1000,
           "Most images listed per page, whatever limit the client asks for.", int),
    # Nova's quota defaults ([quota] in nova.conf), until an admin changes the
    # 'default' quota class or a project's quota.
    Option("compute", "quota_instances", 10, "Servers a project may have (-1: unlimited).",
           int),
    Option("compute", "quota_cores", 20, "vCPUs a project's servers may use (-1: unlimited).",
           int),
    Option("compute", "quota_ram", 51200,
           "MiB of RAM a project's servers may use (-1: unlimited).", int),
    Option("compute", "quota_metadata_items", 128,
           "Metadata items a server may carry (-1: unlimited).", int),
    Option("compute", "quota_injected_files", 5,
           "Files a server may be given at boot (-1: unlimited).", int),
    Option("compute", "quota_injected_file_content_bytes", 10240,
           "Bytes in one injected file (-1: unlimited).", int),
    Option("compute", "quota_injected_file_path_length", 255,
           "Length of an injected file's path (-1: unlimited).", int),
    Option("compute", "quota_key_pairs", 100, "Key pairs a user may have (-1: unlimited).",
           int),
    Option("compute", "quota_server_groups", 10,
           "Server groups a project may have (-1: unlimited).", int),
    Option("compute", "quota_server_group_members", 10,
           "Servers one server group may hold (-1: unlimited).", int),
    Option("compute", "run_services", True,
           "Run the conductor and this host's compute agent here; false on a host that "
           "only serves the APIs.", _bool),
    Option("compute", "driver", "auto",
           "Compute driver of this host's agent: 'qemu' runs each server as a QEMU "
           "process; 'fake' runs nothing (control-plane tests and scale runs); 'auto' is "
           "qemu where qemu-system-x86_64 is installed, else fake.", str),
    Option("compute", "accel", "auto",
           "QEMU accelerator: 'kvm', 'tcg' (emulation), or 'auto': KVM when a short test "
           "boot shows it works on this host, TCG otherwise.", str),
    Option("compute", "shutdown_timeout", 60.0,
           "Seconds a guest has to power off after an ACPI power-button press (stop, "
           "soft reboot, resize) before it is forced off, as Nova's option.", float),
    Option("compute", "console_log_kb", 1024,
           "KiB of serial console log kept per server (older output is dropped).", int),
    Option("compute", "resume_guests_state_on_host_boot", False,
           "When Stacklet starts and finds that an ACTIVE server's guest died while it was "
           "down: start it again (true) or show it SHUTOFF (false), as Nova's option.",
           _bool),
    Option("compute", "fake_hosts", 1,
           "With the fake driver: how many compute hosts this process runs (named "
           "<host>-fake-1 ... when more than one).", int),
    Option("compute", "sweep_interval", 2.0,
           "Seconds between the conductor's and agents' sweeps of the database for work "
           "no message announced (a message lost to a restart, or sent from another API "
           "worker process).", float),
    Option("compute", "service_down_time", 60.0,
           "Seconds without a heartbeat after which a compute service is shown down and "
           "no longer receives servers.", float),
    Option("compute", "report_interval", 10.0,
           "Seconds between a compute agent's heartbeats.", float),
    Option("compute", "cpu_allocation_ratio", 4.0,
           "Virtual CPUs the scheduler places per physical CPU.", float),
    Option("compute", "ram_allocation_ratio", 1.0,
           "Guest memory the scheduler places per MiB of host memory.", float),
    Option("compute", "disk_allocation_ratio", 1.0,
           "Guest disk the scheduler places per GiB of host disk.", float),
    Option("compute", "ram_weight_multiplier", 1.0,
           "Positive: servers spread to the hosts with most free memory; negative: they "
           "stack on the fullest hosts that fit.", float),
    Option("compute", "default_availability_zone", "nova",
           "Availability zone of compute hosts.", str),
    Option("compute", "metadata_listen", "127.0.0.1:8775",
           "Where the metadata service answers the network's metadata proxies "
           "(requests signed with the shared secret in DIR/metadata-proxy-secret).", str),
    Option("compute", "vif_plugging_timeout", 300.0,
           "Seconds a guest waits for its ports to be wired (network-vif-plugged) "
           "before its boot fails, as Nova's option.", float),
    Option("consoleauth", "token_ttl", 600,
           "Seconds a remote console URL (its token) stays valid, as Nova's option; "
           "it opens the console as often as needed until then.", int),
    Option("policy", "policy_file", "policy.yaml",
           "Operator policy overrides in oslo.policy YAML, relative to DIR. "
           "Rules in it replace the built-in defaults of the same name."),
    Option("logging", "level", "info",
           "Log level: debug, info, warning or error."),
    Option("logging", "access_log", False,
           "Log every HTTP request.", _bool),
    # Neutron's [quotas] defaults, until an admin sets a project's quota.
    Option("network", "quota_network", 100,
           "Networks a project may have (-1: unlimited).", int),
    Option("network", "quota_subnet", 100,
           "Subnets a project may have (-1: unlimited).", int),
    Option("network", "quota_subnetpool", -1,
           "Subnet pools a project may have (-1: unlimited).", int),
    Option("network", "quota_port", 500,
           "Ports a project may have (-1: unlimited).", int),
    Option("network", "quota_router", 10,
           "Routers a project may have (-1: unlimited).", int),
    Option("network", "quota_floatingip", 50,
           "Floating IPs a project may have (-1: unlimited).", int),
    Option("network", "quota_security_group", 10,
           "Security groups a project may have (-1: unlimited).", int),
    Option("network", "quota_security_group_rule", 100,
           "Security group rules a project may have (-1: unlimited).", int),
    Option("network", "quota_rbac_policy", 10,
           "RBAC policies a project may have (-1: unlimited).", int),
    # Neutron's ML2 type drivers: which network types tenants get, and the
    # ranges segmentation ids are allocated from.
    Option("network", "tenant_network_types", "vxlan",
           "Network types given to project networks, in order of preference "
           "(comma-separated: vxlan, vlan, flat, local).", str),
    Option("network", "vni_ranges", "1:1000",
           "VXLAN ids given to project networks (first:last, comma-separated ranges).", str),
    Option("network", "network_vlan_ranges", "physnet1:1000:2999",
           "Physical networks and their VLAN ids for project networks "
           "(physnet:first:last, comma-separated; a physnet alone allows flat and "
           "provider VLANs only).", str),
    Option("network", "flat_networks", "*",
           "Physical networks flat networks may use (* for any).", str),
    Option("network", "physical_mtu", 1500,
           "MTU of the underlying physical network; VXLAN networks get 50 bytes less.", int),
    Option("network", "base_mac", "fa:16:3e:00:00:00",
           "Prefix of generated port MACs (the first three octets are kept).", str),
    Option("network", "dns_domain", "openstacklocal",
           "Domain for the hostnames of ports (dns-integration).", str),
    # The data plane: what the network agents of this host build (stacklet.network.agent).
    Option("network", "dataplane", "auto",
           "Run the network agents (bridges, VXLAN, DHCP, routers, security groups): "
           "on, off, or auto (on when Stacklet runs as root and nft, dnsmasq and ip are "
           "installed; otherwise guests get QEMU user networking).", str),
    Option("network", "bridge_mappings", "public:br-ex",
           "Physical networks carried by a host bridge (physnet:bridge, comma-separated); "
           "a missing bridge is created, as DevStack creates br-ex.", str),
    Option("network", "physical_interface_mappings", "",
           "Physical networks carried by a host interface (physnet:interface, "
           "comma-separated): flat networks on the interface, VLANs on sub-interfaces.", str),
    Option("network", "vxlan_local_ip", "",
           "This host's VXLAN endpoint address (empty: VXLAN stays on this host).", str),
    Option("network", "external_gateway_on_host", True,
           "The host holds the gateway address of each external subnet on its mapped "
           "bridge (172.24.4.1 on br-ex), so it reaches floating IPs, as DevStack does.",
           _bool),
    Option("network", "external_masquerade", True,
           "Masquerade traffic from external subnets leaving the host (guests reach "
           "beyond the host through its routes).", _bool),
    Option("network", "enable_isolated_metadata", False,
           "Serve metadata from the DHCP namespace of networks without a router.", _bool),
    Option("network", "resync_interval", 30.0,
           "Seconds between the agents' full reconciliations of the host against the "
           "database (they also act at once when told of a change).", float),
]

OPTIONS_BY_KEY = {(o.section, o.name): o for o in OPTIONS}


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("stacklet"))


class Config:
    """Resolved configuration of one Stacklet data directory."""

    def __init__(self, data_dir: Path, values: dict[tuple[str, str], Any]):
        self.data_dir = data_dir
        self._values = values

    def get(self, section: str, name: str) -> Any:
        return self._values[(section, name)]

    # The options every part of Stacklet reads, with their derived defaults.
    @property
    def bind(self) -> tuple[str, int]:
        host, _, port = self.get("api", "bind").rpartition(":")
        return host or "127.0.0.1", int(port)

    @property
    def public_url(self) -> str:
        url = self.get("api", "public_url")
        if url:
            return url.rstrip("/")
        host, port = self.bind
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    @property
    def database_url(self) -> str:
        return self.get("database", "url") or f"sqlite:///{self.data_dir / 'stacklet.db'}"

    @property
    def config_file(self) -> Path:
        return self.data_dir / CONFIG_FILE_NAME

    @property
    def policy_file(self) -> Path:
        return self.data_dir / self.get("policy", "policy_file")

    @property
    def fernet_key_dir(self) -> Path:
        return self.data_dir / "fernet-keys"

    @property
    def credential_key_dir(self) -> Path:
        return self.data_dir / "credential-keys"

    @property
    def image_store_dir(self) -> Path:
        store_dir = self.get("image", "store_dir")
        return Path(store_dir) if store_dir else self.data_dir / "images"

    @property
    def admin_password_file(self) -> Path:
        return self.data_dir / "admin-password"


def _convert(option: Option, raw: str, origin: str) -> Any:
    try:
        return option.type(raw)
    except ValueError as exc:
        raise SystemExit(f"stacklet: bad value for [{option.section}] {option.name} "
                         f"from {origin}: {exc}") from None


def load(data_dir: Path | str | None = None,
         overrides: dict[tuple[str, str], Any] | None = None,
         environ: dict[str, str] | None = None) -> Config:
    """Resolve the configuration of a data dir (creating neither dir nor file)."""
    environ = os.environ if environ is None else environ
    if data_dir is None:
        data_dir = environ.get("STACKLET_DATA_DIR") or default_data_dir()
    data_dir = Path(data_dir).expanduser().resolve()

    values = {(o.section, o.name): o.default for o in OPTIONS}
    parser = configparser.ConfigParser(interpolation=None)
    config_file = data_dir / CONFIG_FILE_NAME
    if config_file.exists():
        parser.read(config_file)
        for section in parser.sections():
            for name, raw in parser.items(section):
                option = OPTIONS_BY_KEY.get((section, name))
                if option is None:
                    raise SystemExit(f"stacklet: unknown option [{section}] {name} "
                                     f"in {config_file}")
                values[(section, name)] = _convert(option, raw, str(config_file))
    for option in OPTIONS:
        if option.env_name in environ:
            values[(option.section, option.name)] = _convert(
                option, environ[option.env_name], option.env_name)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return Config(data_dir, values)


def write_documented_file(path: Path) -> None:
    """Write the config file listing every option, commented, with its default."""
    lines = ["# Stacklet configuration.",
             "# Every option is listed with its default, commented out. Uncomment to change.",
             "# Each can also be set by the environment as STACKLET_<SECTION>_<OPTION>,",
             "# and some by flags of `stacklet up`; flags win over the environment,",
             "# which wins over this file.", ""]
    section = None
    for option in OPTIONS:
        if option.section != section:
            section = option.section
            lines += [f"[{section}]", ""]
        lines.append(f"# {option.help}")
        lines.append(f"# Environment: {option.env_name}")
        default = "" if option.default is None else option.default
        if isinstance(default, bool):
            default = str(default).lower()
        lines += [f"#{option.name} = {default}", ""]
    path.write_text("\n".join(lines))
