"""Write a tempest.conf for a running Stacklet, from the clouds.yaml it wrote.

    python3 scripts/tempest_conf.py DATA_DIR/clouds.yaml WORKSPACE/etc/tempest.conf

The feature flags describe what Stacklet's identity service really does, so
Tempest skips what is absent instead of reporting it as failed; README.md
lists each flag set to false and why.  It runs in the Tempest venv, which
has PyYAML.
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

# Tempest knows these services; Stacklet serves none of them yet.
OTHER_SERVICES = ["nova", "neutron", "glance", "cinder", "swift", "horizon"]


def read_admin_cloud(clouds_yaml: Path) -> dict:
    """The 'stacklet' entry that `stacklet up` wrote."""
    try:
        return yaml.safe_load(clouds_yaml.read_text())["clouds"]["stacklet"]
    except (OSError, KeyError, TypeError) as exc:
        raise SystemExit(f"{clouds_yaml}: no 'stacklet' cloud ({exc})") from None


def tempest_config(cloud: dict) -> configparser.ConfigParser:
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
        # Tempest would ask Neutron for a network per test project.
        "create_isolated_networks": "false",
    }
    conf["identity-feature-enabled"] = {
        name: str(value).lower() for name, value in IDENTITY_FEATURES.items()}
    # Stacklet's admin is the cloud admin whatever the token's scope, as with
    # upstream Keystone's legacy admin_required: scope is not enforced.
    conf["enforce_scope"] = {"keystone": "false"}
    conf["service_available"] = {name: "false" for name in OTHER_SERVICES}
    return conf


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    clouds_yaml, output = Path(argv[1]), Path(argv[2])
    with open(output, "w") as handle:
        tempest_config(read_admin_cloud(clouds_yaml)).write(handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
