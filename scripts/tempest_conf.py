"""Write a tempest.conf for a running Stacklet, from the clouds.yaml it wrote.

    python3 scripts/tempest_conf.py DATA_DIR/clouds.yaml WORKSPACE/etc/tempest.conf \
        IMAGE_ID IMAGE_ID_ALT PUBLIC_NETWORK_ID NETWORK_EXTENSIONS [DRIVER]

NETWORK_EXTENSIONS is the comma-separated list of aliases the network
service lists; DRIVER is the compute driver Stacklet runs ("fake", the
default, or "qemu", whose real guests change a few flags and timeouts).  The
feature flags describe what Stacklet's services really do, so Tempest skips
what is absent instead of reporting it as failed; README.md lists each flag
set to false and why.  It runs in the Tempest venv, which has PyYAML.
"""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

import yaml

# [identity-feature-enabled]: keep in step with the table in README.md.
IDENTITY_FEATURES = {
    "api_v3": True,
    "api_v2": False,                  # only Keystone v3 is served
    "api_v2_admin": False,            # idem
    "trust": True,
    "access_rules": True,
    "security_compliance": True,      # scripts/tempest starts Stacklet with it on
    "domain_specific_drivers": False,  # one SQL identity backend for every domain
    "immutable_user_source": False,   # users are writable (SQL, no LDAP)
}

# [identity] values of the [security_compliance] options scripts/tempest
# starts its Stacklet with; a Stacklet given by --data-dir must match them.
SECURITY_COMPLIANCE = {
    "user_lockout_failure_attempts": 2,
    "user_lockout_duration": 5,
    "user_unique_last_password_count": 2,
    "user_minimum_password_age": 0,
}

# [image-feature-enabled]: keep in step with the table in README.md.
IMAGE_FEATURES = {
    "api_v2": True,
    "import_image": True,              # glance-direct (staging, then import)
    "os_glance_reserved": True,        # os_glance* properties are refused (403)
    # scripts/tempest starts Stacklet with [image] require_image_format_match
    # off: data is taken as declared (unsafe qcow2 is still refused).
    "image_format_enforcement": False,
    "do_secure_hash": True,            # sha512 os_hash_value of every upload
    "manage_locations": False,         # one file store: no location API
    "image_conversion": False,         # data is kept as uploaded
    "http_store_enabled": False,       # no http store to add locations from
    "store_weight_enabled": False,     # one store
}

# [image]: what Stacklet's Glance accepts.  Tempest uploads random bytes as
# disk_formats[0] and container_formats[0]: raw and bare lead, whose content
# is never inspected, so those uploads pass whether formats are checked or not.
IMAGE = {
    "container_formats": "bare,ami,ari,aki,ovf,ova,docker,compressed",
    "disk_formats": "raw,ami,ari,aki,qcow2,vhd,vhdx,vmdk,vdi,iso,ploop",
    "hashing_algorithm": "sha512",
    # No image cache API, and no http store or web-download to fetch from:
    # the empty URLs make the tests that would download them skip.
    "image_caching_enabled": "false",
    "http_image": "",
    "http_qcow2_image": "",
    "build_interval": "1",
    "build_timeout": "60",
}

# [compute]: the flavors are DevStack's m1.nano and m1.micro, which Stacklet
# creates at bootstrap; the images are the two scripts/tempest uploads.
COMPUTE = {
    "flavor_ref": "42",
    "flavor_ref_alt": "84",
    "min_microversion": "2.1",
    "max_microversion": "2.96",
    "build_interval": "1",
    "build_timeout": "60",
    "min_compute_nodes": "2",          # scripts/tempest runs two fake hosts
}

# [compute-feature-enabled]: keep in step with the table in README.md.
COMPUTE_FEATURES = {
    "resize": True,
    "cold_migration": True,
    "live_migration": False,           # not offered
    "pause": True,
    "suspend": True,
    "shelve": True,
    "shelve_migrate": False,           # shelve offload + unshelve elsewhere: not tested
    "snapshot": True,
    "rescue": True,
    "stable_rescue": False,            # rescue keeps no original disk attached
    "console_output": True,
    "change_password": True,
    "interface_attach": True,
    "config_drive": True,
    "metadata_service": False,         # with the QEMU driver
    "personality": False,              # removed at 2.57, as in current Nova
    "enable_instance_password": True,
    "disk_config": True,
    "vnc_console": False,              # the fake driver has no consoles (QEMU's do)
    "spice_console": False,
    "serial_console": False,
    "rdp_console": False,
    "block_migration_for_live_migration": False,
    "swap_volume": False,              # no block storage service yet
    "volume_multiattach": False,
    "attach_encrypted_volume": False,
    "hostname_fqdn_sanitization": True,
}

# With real QEMU guests (TCG emulation on CI): one host, slower builds, no
# password setting (that needs a guest agent), noVNC consoles, and the
# metadata service the data plane's routers proxy to.
QEMU_COMPUTE = {"min_compute_nodes": "1", "build_timeout": "300"}
QEMU_COMPUTE_FEATURES = {"change_password": False, "cold_migration": False,
                         "vnc_console": True, "metadata_service": True}

# [validation] with real guests on the data plane: Tempest logs in over SSH
# to stacklet-tiny (root, dropbear) through a floating IP, with the RSA key
# Nova generates for the keypair it makes.  The guest boots in seconds: a
# guest that is not reachable within two minutes will not be.
QEMU_VALIDATION = {
    "run_validation": "true",
    "connect_method": "floating",
    "auth_method": "keypair",
    "image_ssh_user": "root",
    "image_alt_ssh_user": "root",
    "ssh_key_type": "rsa",
    "ip_version_for_ssh": "4",
    "ping_timeout": "120",
    "connect_timeout": "30",
    "ssh_timeout": "120",
}

# [scenario]: stacklet-tiny renews its lease as CirrOS does, with udhcpc.
SCENARIO = {"dhcp_client": "udhcpc"}

# [network]: scripts/tempest makes the external network "public" (DevStack's
# name and addresses); each test project gets a network, subnet and router
# of its own from the project range.
NETWORK = {
    "project_network_cidr": "10.100.0.0/16",
    "project_network_mask_bits": "28",
    "project_network_v6_cidr": "2001:db8::/48",
    "project_network_v6_mask_bits": "64",
    "floating_network_name": "public",
    # Tempest reaches servers through floating IPs only (the host routes to
    # the public network, not to project networks).
    "project_networks_reachable": "false",
    "build_interval": "1",
    "build_timeout": "60",
}

# [network-feature-enabled]: keep in step with the table in README.md.
NETWORK_FEATURES = {
    "ipv6": True,
    "ipv6_subnet_attributes": True,     # ipv6_ra_mode and ipv6_address_mode
    "port_admin_state_change": True,
    "port_security": True,
    "floating_ips": True,
}

# Tempest knows these services; Stacklet serves none of them yet.
OTHER_SERVICES = ["cinder", "swift", "horizon"]


def read_admin_cloud(clouds_yaml: Path) -> dict:
    """The 'stacklet' entry that `stacklet up` wrote."""
    try:
        return yaml.safe_load(clouds_yaml.read_text())["clouds"]["stacklet"]
    except (OSError, KeyError, TypeError) as exc:
        raise SystemExit(f"{clouds_yaml}: no 'stacklet' cloud ({exc})") from None


def tempest_config(cloud: dict, image_id: str, image_id_alt: str, public_network_id: str,
                   network_extensions: str, driver: str = "fake") -> configparser.ConfigParser:
    auth = cloud["auth"]
    conf = configparser.ConfigParser(interpolation=None)
    conf["DEFAULT"] = {"log_file": "tempest.log", "debug": "false"}
    conf["identity"] = {
        "uri_v3": auth["auth_url"],
        "auth_version": "v3",
        "region": cloud.get("region_name", "RegionOne"),
        "v3_endpoint_type": "public",
        "admin_role": "admin",
        "default_domain_id": "default",
        **{name: str(value) for name, value in SECURITY_COMPLIANCE.items()},
    }
    conf["auth"] = {
        "admin_username": auth["username"],
        "admin_password": auth["password"],
        "admin_project_name": auth["project_name"],
        "admin_domain_name": auth["user_domain_name"],
        "admin_user_domain_name": auth["user_domain_name"],
        "admin_project_domain_name": auth["project_domain_name"],
        "use_dynamic_credentials": "true",
        # Each test project gets a network, subnet and router, as on DevStack.
        "create_isolated_networks": "true",
    }
    conf["identity-feature-enabled"] = {
        name: str(value).lower() for name, value in IDENTITY_FEATURES.items()}
    # Stacklet's admin is the cloud admin whatever the token's scope, as with
    # upstream Keystone's legacy admin_required: scope is not enforced.
    conf["enforce_scope"] = {"keystone": "false", "glance": "false", "nova": "false",
                             "neutron": "false"}
    conf["image"] = dict(IMAGE)
    conf["image-feature-enabled"] = {
        name: str(value).lower() for name, value in IMAGE_FEATURES.items()}
    qemu = driver == "qemu"
    conf["compute"] = {**COMPUTE, **(QEMU_COMPUTE if qemu else {}), "image_ref": image_id,
                       "image_ref_alt": image_id_alt,
                       "region": cloud.get("region_name", "RegionOne")}
    conf["compute-feature-enabled"] = {
        name: str(value).lower()
        for name, value in {**COMPUTE_FEATURES, **(QEMU_COMPUTE_FEATURES if qemu else {})}.items()}
    # The fake driver's servers have no guest to log in to.
    conf["validation"] = QEMU_VALIDATION if qemu else {"run_validation": "false"}
    conf["scenario"] = dict(SCENARIO)
    conf["network"] = {**NETWORK, "public_network_id": public_network_id,
                       "region": cloud.get("region_name", "RegionOne")}
    conf["network-feature-enabled"] = {
        **{name: str(value).lower() for name, value in NETWORK_FEATURES.items()},
        "api_extensions": network_extensions}
    conf["service_available"] = {"glance": "true", "nova": "true", "neutron": "true",
                                 **{name: "false" for name in OTHER_SERVICES}}
    return conf


def main(argv: list[str]) -> int:
    if len(argv) not in (7, 8):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    clouds_yaml, output = Path(argv[1]), Path(argv[2])
    with open(output, "w") as handle:
        tempest_config(read_admin_cloud(clouds_yaml), *argv[3:8]).write(handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
