"""The `stacklet` command: up, status, identity rotate-keys, image build."""

from __future__ import annotations

import argparse
import datetime
import functools
import logging
import os
import secrets
import sys
import urllib.request

import sqlalchemy as sa
import yaml

from stacklet import config as config_module
from stacklet import first_run, running
from stacklet.common.private_files import NotPrivate, secure_data_dir, write_private
from stacklet.compute.driver import DRIVER_NAMES, QEMU_BINARY, qemu_installed
from stacklet.config import Config
from stacklet.network.agent.settings import dataplane_wanted

LOG = logging.getLogger("stacklet")


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="data directory (default: $STACKLET_DATA_DIR or "
                        f"{config_module.default_data_dir()})")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stacklet",
                                     description="A lightweight OpenStack-compatible cloud.")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the all-in-one cloud in the foreground")
    _add_data_dir(up)
    up.add_argument("--bind", help="HOST:PORT of the API listener "
                    f"(default 127.0.0.1:{config_module.DEFAULT_PORT})")
    up.add_argument("--public-url", help="base URL written in the catalog")
    up.add_argument("--database-url", help="SQLAlchemy database URL (default: SQLite in the "
                    "data dir)")
    up.add_argument("--admin-password", help="password of the 'admin' user "
                    "(default: $STACKLET_IDENTITY_ADMIN_PASSWORD or generated)")
    up.add_argument("--workers", type=int, help="API worker processes (default 1)")
    up.add_argument("--compute-driver", choices=DRIVER_NAMES,
                    help="compute driver of this host (default: [compute] driver)")
    up.add_argument("--fake-hosts", type=_positive_int, metavar="N",
                    help="with the fake driver, run N compute hosts in this process "
                    "(default: [compute] fake_hosts)")
    up.add_argument("--dataplane", choices=("auto", "on", "off"),
                    help="run the network agents: bridges, VXLAN, DHCP, routers, security "
                    "groups (default: [network] dataplane, auto: when root)")
    first = up.add_argument_group(
        "first run", "what a new data dir gets, as in DevStack (each once: what you delete "
        "afterwards stays deleted)")
    first.add_argument("--no-default-networks", dest="default_networks", action="store_false",
                       help="do not create the public network, nor private and router1")
    first.add_argument("--public-cidr", default=first_run.DEFAULT_PUBLIC_CIDR, metavar="CIDR",
                       help="the public (external) network (default %(default)s)")
    first.add_argument("--no-guest-image", dest="guest_image", action="store_false",
                       help="do not build and upload the stacklet-tiny image")
    first.add_argument("--demo", action="store_true",
                       help="also create DevStack's demo project and user (clouds.yaml "
                       "entry stacklet-demo), with their own private network")

    status = commands.add_parser("status", help="show what runs and where")
    _add_data_dir(status)

    cleanup = commands.add_parser(
        "cleanup", help="remove everything the network agents of the data dir's cloud made "
        "on this host (bridges, taps, namespaces, dnsmasq, nftables tables); run it with "
        "the cloud stopped")
    _add_data_dir(cleanup)

    identity = commands.add_parser("identity", help="identity administration")
    identity_commands = identity.add_subparsers(dest="identity_command", required=True)
    rotate = identity_commands.add_parser("rotate-keys", help="rotate the Fernet token keys")
    _add_data_dir(rotate)

    image = commands.add_parser("image", help="guest images")
    image_commands = image.add_subparsers(dest="image_command", required=True)
    build = image_commands.add_parser(
        "build", help="build the stacklet-tiny guest from Debian packages and upload it to "
        "the running cloud of the data dir as a public image")
    _add_data_dir(build)
    build.add_argument("--name", default="stacklet-tiny", help="image name (default %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "up":
        return cmd_up(args)
    if args.command == "status":
        return cmd_status(args)
    if args.command == "cleanup":
        return cmd_cleanup(args)
    if args.command == "identity" and args.identity_command == "rotate-keys":
        return cmd_rotate_keys(args)
    if args.command == "image" and args.image_command == "build":
        return cmd_image_build(args)
    return 2


# -- up ------------------------------------------------------------------------

def prepare(config: Config, admin_password: str | None) -> str:
    """Create the data dir, migrate the database, bootstrap identity, write the
    client files.  Returns the admin password in force."""
    from stacklet.cloud import Cloud
    from stacklet.db import DatabaseCharsetError
    from stacklet.identity.bootstrap import bootstrap

    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not config.config_file.exists():
        config_module.write_documented_file(config.config_file)
    password, explicit = _admin_password(config, admin_password)
    cloud = Cloud(config)
    try:
        print(f"stacklet: migrating the database ({cloud.db.describe()})", flush=True)
        try:
            cloud.db.migrate()
        except DatabaseCharsetError as exc:
            raise SystemExit(f"stacklet: {exc}") from None
        cloud.keys.initialize()
        cloud.credential_keys.initialize()
        print("stacklet: bootstrapping identity", flush=True)
        bootstrap(cloud, password, reset_password=explicit)
        _recover_image_uploads(cloud)
        _bootstrap_flavors(cloud)
    finally:
        cloud.close()
    write_client_files(config, password)
    _secure_data_dir(config)
    return password


def _secure_data_dir(config: Config) -> None:
    """The data dir and what is in it, private to this user whatever they were."""
    try:
        tightened = secure_data_dir(config.data_dir)
    except NotPrivate as exc:
        raise SystemExit(f"stacklet: the data dir is not private: {exc}") from None
    if tightened:
        print(f"stacklet: made {tightened} file(s) and dir(s) in {config.data_dir} private "
              "to this user (they were readable by others)", flush=True)


def _recover_image_uploads(cloud) -> None:
    """Uploads a crash cut short go back to queued, leaving no partial data."""
    from stacklet.image.data import recover

    cloud.image_store.ensure()
    with cloud.db.transaction() as session:
        orphans = recover(session, cloud.image_store)
    if orphans:
        print(f"stacklet: {len(orphans)} image file(s) belong to no image in the database; "
              f"moved to {cloud.image_store.orphaned}. Delete them once you are sure "
              "they are not needed (are you running with another database than before?)",
              flush=True)


def _bootstrap_flavors(cloud) -> None:
    """DevStack's flavors on a new cloud.  Only while there are no flavors at all,
    so flavors an operator deleted stay deleted across restarts."""
    from stacklet.compute.flavors import bootstrap_flavors

    with cloud.db.transaction() as session:
        created = bootstrap_flavors(session)
    if created:
        print(f"stacklet: created {created} default flavors", flush=True)


def _admin_password(config: Config, given: str | None) -> tuple[str, bool]:
    """The admin password and whether it was given explicitly (flag, env or config)."""
    path = config.admin_password_file
    password = given or config.get("identity", "admin_password")
    explicit = password is not None
    if password is None and path.exists():
        password = path.read_text().strip()
    if password is None:
        password = secrets.token_urlsafe(18)
    write_private(path, password + "\n")
    return password, explicit


def write_client_files(config: Config, password: str) -> None:
    """clouds.yaml (``stacklet`` for the admin; ``stacklet-demo`` once `stacklet
    up --demo` made the demo user) and openrc (the admin)."""
    auth_url = f"{config.public_url}/identity/v3"
    region = config.get("identity", "region")

    def entry(user: str, user_password: str) -> dict:
        return {"auth": {"auth_url": auth_url, "username": user, "password": user_password,
                         "project_name": user, "user_domain_name": "Default",
                         "project_domain_name": "Default"},
                "region_name": region, "interface": "public", "identity_api_version": 3}

    clouds = {"stacklet": entry("admin", password)}
    demo_password_file = config.data_dir / first_run.DEMO_PASSWORD_FILE
    if demo_password_file.exists():
        clouds["stacklet-demo"] = entry("demo", demo_password_file.read_text().strip())
    write_private(config.data_dir / "clouds.yaml",
                  yaml.safe_dump({"clouds": clouds}, sort_keys=False))
    openrc = "\n".join([
        "# Source this file to use the openstack CLI with Stacklet as admin.",
        f"export OS_AUTH_URL={auth_url}",
        "export OS_IDENTITY_API_VERSION=3",
        "export OS_USERNAME=admin",
        f"export OS_PASSWORD='{password}'",
        "export OS_PROJECT_NAME=admin",
        "export OS_USER_DOMAIN_NAME=Default",
        "export OS_PROJECT_DOMAIN_NAME=Default",
        f"export OS_REGION_NAME={region}",
        "export OS_INTERFACE=public", ""])
    write_private(config.data_dir / "openrc", openrc)


def cmd_up(args: argparse.Namespace) -> int:
    import uvicorn

    # What the cloud writes from now on (database journals, images, guests'
    # disks and sockets) is this user's alone.
    os.umask(0o077)
    flags = {("api", "bind"): args.bind, ("api", "public_url"): args.public_url,
             ("database", "url"): args.database_url,
             ("compute", "driver"): args.compute_driver,
             ("compute", "fake_hosts"): args.fake_hosts,
             ("network", "dataplane"): args.dataplane}
    config = config_module.load(args.data_dir,
                                overrides=flags | {("api", "workers"): args.workers})
    check_compute_options(config)
    dataplane, why_not = dataplane_wanted(config)
    level = config.get("logging", "level").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic narrates every migration step at INFO; `prepare` says what it does.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    first_run_options = first_run.FirstRunOptions(
        networks=args.default_networks, guest_image=args.guest_image, demo=args.demo,
        public_cidr=args.public_cidr)
    if first_run_options.networks and not first_run.Steps(config.data_dir).done("networks"):
        try:
            first_run.check_public_cidr(first_run_options.public_cidr)
        except first_run.FirstRunError as exc:
            raise SystemExit(f"stacklet: {exc}") from None
    password = prepare(config, args.admin_password)
    host, port = config.bind
    clouds_yaml = config.data_dir / "clouds.yaml"
    print(f"stacklet: serving every API on {config.public_url} (data dir {config.data_dir})")
    print(f"  export OS_CLIENT_CONFIG_FILE={clouds_yaml} OS_CLOUD=stacklet  "
          "# then: openstack token issue")
    print(f"  or: source {config.data_dir / 'openrc'}")
    if dataplane:
        print("  network: bridges, VXLAN, DHCP, routers and security groups on this host "
              "(`stacklet cleanup` removes them once stopped)")
    else:
        print(f"  network: no data plane ({why_not}): guests get QEMU user networking "
              "(169.254.0.15, SSH through a loopback port); as root, with nftables, "
              "dnsmasq-base, dnsmasq-utils and iproute2, they get bridges, DHCP, routers "
              "and security groups")
    if config.data_dir != config_module.default_data_dir():
        print(f"  export STACKLET_DATA_DIR={config.data_dir}  "
              "# for the other stacklet commands (or pass them --data-dir)")
    sys.stdout.flush()
    record = running.record(config.data_dir, config.public_url)
    if first_run.pending(config.data_dir, first_run_options):
        first_run.start(config.data_dir, config.public_url, first_run_options,
                        progress=lambda line: print(f"stacklet: {line}", flush=True),
                        write_clouds=lambda: write_client_files(config, password))

    # Worker processes rebuild the configuration from the environment.
    os.environ["STACKLET_DATA_DIR"] = str(config.data_dir)
    for key, value in flags.items():
        if value is not None:
            os.environ[config_module.OPTIONS_BY_KEY[key].env_name] = str(value)
    workers = config.get("api", "workers")
    options = dict(host=host, port=port, log_level=level.lower(),
                   access_log=config.get("logging", "access_log"),
                   timeout_graceful_shutdown=5, server_header=False)
    try:
        if workers > 1:
            from stacklet.server import serve_workers
            serve_workers("stacklet.app:app_from_environment", workers, options)
        else:
            from stacklet.app import create_app
            from stacklet.cloud import Cloud
            uvicorn.run(create_app(Cloud(config)), **options)
    finally:
        if record is not None:
            record.unlink(missing_ok=True)
    return 0


def check_compute_options(config: Config) -> None:
    """Refuse at start what the compute runtime could only fail on once serving."""
    driver = config.get("compute", "driver")
    if driver not in DRIVER_NAMES:
        raise SystemExit(f"stacklet: unknown [compute] driver {driver!r} "
                         f"(known: {', '.join(DRIVER_NAMES)})")
    if driver == "qemu" and not qemu_installed():
        raise SystemExit(f"stacklet: [compute] driver = qemu, but {QEMU_BINARY} is not "
                         "installed: install the Debian package qemu-system-x86 (the "
                         "quickstart does), or use --compute-driver fake")
    if config.get("compute", "fake_hosts") < 1:
        raise SystemExit("stacklet: [compute] fake_hosts must be at least 1")


# -- cleanup -------------------------------------------------------------------

def cmd_cleanup(args: argparse.Namespace) -> int:
    from stacklet.network.agent.cleanup import remove_everything

    config = config_module.load(args.data_dir)
    if running.is_running(config.data_dir):
        raise SystemExit(f"stacklet: the cloud of {config.data_dir} is running: stop it "
                         "first (its agents would rebuild what cleanup removes)")
    if os.geteuid() != 0:
        raise SystemExit("stacklet: cleanup changes the host's network: run it as root")
    removed = remove_everything(config)
    for line in removed:
        print(f"removed {line}")
    print(f"stacklet: removed {len(removed)} thing(s) the network agents made"
          if removed else "stacklet: nothing of this cloud's network was left on this host")
    return 0


# -- status --------------------------------------------------------------------

def cmd_status(args: argparse.Namespace) -> int:
    from stacklet.common.models import ServiceRecord
    from stacklet.db import Database, utcnow

    config = config_module.load(args.data_dir)
    print(f"data dir:  {config.data_dir}")
    if not config.config_file.exists():
        print(f"state:     not initialised: {running.where_to_look(config.data_dir)}")
        return 1
    db = Database(config.database_url)
    try:
        with db.session() as session:
            rows = session.scalars(sa.select(ServiceRecord)
                                   .order_by(ServiceRecord.kind, ServiceRecord.name)).all()
            compute_hosts = _compute_hosts(session, config)
    except sa.exc.SQLAlchemyError as exc:
        print(f"database:  {db.describe()}: cannot be read ({exc.__class__.__name__}: {exc})")
        return 1
    finally:
        db.dispose()
    # `stacklet up --bind` is not written to the config file: the listener
    # the services last reported is the one to probe.
    public_url = _last_reported_listener(rows) or config.public_url
    answering = _listener_answers(public_url)
    print(f"listener:  {public_url} ({'answering' if answering else 'not answering'})")
    print(f"database:  {db.describe()}")
    from stacklet.app import HEARTBEAT_INTERVAL
    stale_after = datetime.timedelta(seconds=3 * HEARTBEAT_INTERVAL)
    print("services:")
    now = utcnow()
    for row in rows:
        age = (now - row.heartbeat_at).total_seconds()
        if row.stopped:
            state = "stopped"
        elif now - row.heartbeat_at > stale_after:
            state = "down"
        else:
            state = "up"
        print(f"  {row.name:<20} {row.kind:<6} {row.host:<20} {state:<8} "
              f"(last heartbeat {age:.0f}s ago)")
    if not rows:
        print("  none has run yet")
    _print_compute_hosts(compute_hosts)
    return 0 if answering else 3


# A fake-driver scale run has thousands of hosts: show the first few.
COMPUTE_HOSTS_SHOWN = 10


# How `stacklet status` names each hypervisor type's accelerator.
HYPERVISORS = {"QEMU": "QEMU, TCG emulation", "KVM": "QEMU with KVM", "fake": "fake driver"}


def _compute_hosts(session, config: Config) -> list[tuple[str, str, int]]:
    """(host, state and hypervisor, servers) of every nova-compute service, up or
    down as os-services shows it."""
    from stacklet.compute.hostinfo import HostStates, compute_services
    from stacklet.compute.models import ComputeNode, Instance

    servers = dict(session.execute(
        sa.select(Instance.host, sa.func.count())
        .where(Instance.deleted.is_(False), Instance.host.is_not(None))
        .group_by(Instance.host)).all())
    hypervisors = dict(session.execute(sa.select(ComputeNode.host,
                                                 ComputeNode.hypervisor_type)).all())
    states = HostStates(config)
    hosts = []
    for host, service in sorted(compute_services(session).items()):
        state = states.state(service) + (", disabled" if service.disabled else "")
        hypervisor = hypervisors.get(host)
        if hypervisor:
            state += f" ({HYPERVISORS.get(hypervisor, hypervisor)})"
        hosts.append((host, state, servers.get(host, 0)))
    return hosts


def _print_compute_hosts(hosts: list[tuple[str, str, int]]) -> None:
    up = sum(1 for _, state, _ in hosts if state.startswith("up"))
    servers = sum(count for _, _, count in hosts)
    print(f"compute hosts: {len(hosts)} ({up} up), {servers} server(s) on them")
    for host, state, count in hosts[:COMPUTE_HOSTS_SHOWN]:
        print(f"  {host:<30} {state:<32} {count} server(s)")
    if len(hosts) > COMPUTE_HOSTS_SHOWN:
        print(f"  ... and {len(hosts) - COMPUTE_HOSTS_SHOWN} more")


def _last_reported_listener(rows) -> str | None:
    reported = [row for row in rows if (row.details or {}).get("listener")]
    if not reported:
        return None
    return max(reported, key=lambda row: row.heartbeat_at).details["listener"]


def _listener_answers(public_url: str) -> bool:
    try:
        with urllib.request.urlopen(public_url + "/", timeout=3) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


# -- identity rotate-keys --------------------------------------------------------

def cmd_rotate_keys(args: argparse.Namespace) -> int:
    from stacklet.identity.fernet import KeyRepository

    config = config_module.load(args.data_dir)
    if not config.fernet_key_dir.is_dir():
        print(f"stacklet: {running.where_to_look(config.data_dir)}", file=sys.stderr)
        return 1
    repo = KeyRepository(config.fernet_key_dir, config.get("identity", "max_active_keys"))
    repo.initialize()
    primary = repo.rotate()
    print(f"rotated the Fernet keys in {config.fernet_key_dir}: key {primary} is now primary; "
          "running servers pick it up within a second")
    return 0


# -- image build -----------------------------------------------------------------

def cmd_image_build(args: argparse.Namespace) -> int:
    from stacklet.client import ClientError
    from stacklet.compute.guest_image import GuestBuildError, build_guest, default_cache_dir
    from stacklet.compute.guest_upload import upload_guest

    config = config_module.load(args.data_dir)
    clouds_yaml = config.data_dir / "clouds.yaml"
    if not clouds_yaml.exists():
        print(f"stacklet: {running.where_to_look(config.data_dir)}", file=sys.stderr)
        return 1
    progress = functools.partial(print, file=sys.stderr, flush=True)
    try:
        guest = build_guest(default_cache_dir(), progress=progress)
        image_id = upload_guest(guest, clouds_yaml, args.name, progress=progress)
    except (GuestBuildError, ClientError) as exc:
        print(f"stacklet: {exc}", file=sys.stderr)
        return 1
    print(image_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())

