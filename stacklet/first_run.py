"""What `stacklet up` sets up on a new cloud, as DevStack does, so that a new
user boots a server without any admin step first:

- the ``public`` external network (flat, 172.24.4.0/24 by default, gateway
  .1, no DHCP: DevStack's) and, for the admin project, a ``private`` network
  (10.0.0.0/26) with ``router1`` joining it to ``public``;
- with ``--demo``, DevStack's ``demo`` project and user (member), with their
  own ``private`` network and router and a ``stacklet-demo`` clouds.yaml entry;
- the stacklet-tiny guest image, built and uploaded in the background while
  the APIs already answer.

It acts through the APIs, as the admin of clouds.yaml, once the listener
answers.  Each step is done once per data dir (``first-run.json`` records it):
what a user deletes afterwards stays deleted.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from stacklet.client import ClientError, CloudClient
from stacklet.common.private_files import write_private

DEFAULT_PUBLIC_CIDR = "172.24.4.0/24"
PRIVATE_CIDR = "10.0.0.0/26"
STATE_FILE = "first-run.json"
DEMO_PASSWORD_FILE = "demo-password"
GUEST_IMAGE_NAME = "stacklet-tiny"

Progress = Callable[[str], None]


class FirstRunError(Exception):
    """A first-run choice that cannot work on this host; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class FirstRunOptions:
    networks: bool = True
    guest_image: bool = True
    demo: bool = False
    public_cidr: str = DEFAULT_PUBLIC_CIDR


class Steps:
    """The first-run steps done on a data dir, in ``first-run.json``."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / STATE_FILE

    def done(self, step: str) -> bool:
        return step in self._read()

    def mark(self, step: str) -> None:
        state = self._read()
        state[step] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(state, indent=1))
        partial.replace(self.path)

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}


def check_public_cidr(cidr: str, routes_file: Path = Path("/proc/net/route")) -> None:
    """Refuse a public network that overlaps a network this host already routes
    to (other than the default route): once the data plane gives ``public`` a
    bridge on the host, that traffic would go astray."""
    try:
        public = ipaddress.ip_network(cidr)
    except ValueError as exc:
        raise FirstRunError(f"--public-cidr {cidr!r} is not a network: {exc}") from None
    if public.version != 4 or public.prefixlen > 29:
        raise FirstRunError(f"--public-cidr {cidr}: give an IPv4 network of at least 8 "
                            "addresses, such as 172.24.4.0/24")
    for interface, route in _host_routes(routes_file):
        if route.prefixlen and public.overlaps(route):
            raise FirstRunError(
                f"the public network {public} overlaps this host's route to {route} on "
                f"{interface}: choose another with `stacklet up --public-cidr CIDR` "
                "(such as 172.25.4.0/24 or 192.168.233.0/24)")


def _host_routes(routes_file: Path) -> list[tuple[str, ipaddress.IPv4Network]]:
    routes = []
    try:
        lines = routes_file.read_text().splitlines()[1:]
    except OSError:
        return routes
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        # Little-endian hex, as the kernel writes them.
        destination = ipaddress.IPv4Address(bytes.fromhex(fields[1])[::-1])
        mask = ipaddress.IPv4Address(bytes.fromhex(fields[7])[::-1])
        routes.append((fields[0], ipaddress.IPv4Network(f"{destination}/{mask}",
                                                        strict=False)))
    return routes


def pending(data_dir: Path, options: FirstRunOptions) -> bool:
    steps = Steps(data_dir)
    return ((options.demo and not steps.done("demo"))
            or (options.networks and not steps.done("networks"))
            or (options.guest_image and not steps.done("guest-image")))


def start(data_dir: Path, url: str, options: FirstRunOptions, progress: Progress,
          write_clouds: Callable[[], None]) -> threading.Thread:
    """Run what is pending in a background thread, once ``url`` answers."""
    thread = threading.Thread(target=_run, name="first-run", daemon=True,
                              args=(data_dir, url, options, progress, write_clouds))
    thread.start()
    return thread


def _run(data_dir: Path, url: str, options: FirstRunOptions, progress: Progress,
         write_clouds: Callable[[], None]) -> None:
    steps = Steps(data_dir)
    try:
        _wait_for(url)
        admin = CloudClient(data_dir / "clouds.yaml")
        if options.demo and not steps.done("demo"):
            _create_demo(admin, data_dir, write_clouds, progress)
            steps.mark("demo")
        if options.networks and not steps.done("networks"):
            _create_networks(admin, options.public_cidr, progress)
            if options.demo:
                demo = CloudClient(data_dir / "clouds.yaml", "stacklet-demo")
                public = _named(admin, "public", **{"router:external": "true"})
                _create_private_network(demo, public[0]["id"], progress)
            steps.mark("networks")
        if options.guest_image and not steps.done("guest-image"):
            _upload_guest_image(data_dir, progress)
            steps.mark("guest-image")
    except (ClientError, FirstRunError, OSError) as exc:
        progress(f"first run: {exc}. Fix that and restart `stacklet up` to finish the "
                 "first run (or start it with --no-default-networks / --no-guest-image).")


def _wait_for(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise FirstRunError(f"the API on {url} did not answer within {seconds:.0f} s")
            time.sleep(0.2)


def _create_networks(admin: CloudClient, cidr: str, progress: Progress) -> None:
    """``public`` in the admin project, as DevStack makes it, and admin's ``private``.
    A cloud that already has them (one made before first runs existed) keeps its own."""
    existing = _named(admin, "public", **{"router:external": "true"})
    if existing:
        public_id = existing[0]["id"]
        progress("first run: the external network public exists already: using it")
    else:
        public_cidr = ipaddress.ip_network(cidr)
        public_id = admin.json("network", "POST", "/v2.0/networks", {"network": {
            "name": "public", "router:external": True, "provider:network_type": "flat",
            "provider:physical_network": "public"}})["network"]["id"]
        admin.json("network", "POST", "/v2.0/subnets", {"subnet": {
            "name": "public-subnet", "network_id": public_id, "ip_version": 4,
            "cidr": str(public_cidr), "gateway_ip": str(public_cidr[1]),
            "enable_dhcp": False}})
        progress(f"first run: network public ({public_cidr}, external, flat)")
    _create_private_network(admin, public_id, progress)


def _named(client: CloudClient, name: str, **filters: str) -> list[dict]:
    """The networks of this name the client's project sees (with more filters)."""
    query = urllib.parse.urlencode({"name": name, **filters})
    return client.json("network", "GET", f"/v2.0/networks?{query}")["networks"]


def _create_private_network(client: CloudClient, public_id: str, progress: Progress) -> None:
    """``private`` (10.0.0.0/26) and ``router1`` to ``public``, in the client's
    project, unless it has a ``private`` network already."""
    if _named(client, "private", project_id=client.project_id):
        progress("first run: a private network exists already: left as it is")
        return
    private = client.json("network", "POST", "/v2.0/networks",
                          {"network": {"name": "private"}})["network"]
    subnet = client.json("network", "POST", "/v2.0/subnets", {"subnet": {
        "name": "private-subnet", "network_id": private["id"], "ip_version": 4,
        "cidr": PRIVATE_CIDR}})["subnet"]
    router = client.json("network", "POST", "/v2.0/routers", {"router": {
        "name": "router1", "external_gateway_info": {"network_id": public_id}}})["router"]
    client.json("network", "PUT", f"/v2.0/routers/{router['id']}/add_router_interface",
                {"subnet_id": subnet["id"]})
    progress(f"first run: network private ({PRIVATE_CIDR}) and router1 to public")


def _create_demo(admin: CloudClient, data_dir: Path, write_clouds: Callable[[], None],
                 progress: Progress) -> None:
    if admin.json("identity", "GET", "/v3/projects?name=demo")["projects"]:
        raise FirstRunError("a project named demo exists already, so --demo would not "
                            "know its user's password: leave --demo out")
    password_file = data_dir / DEMO_PASSWORD_FILE
    password = secrets.token_urlsafe(18)
    project = admin.json("identity", "POST", "/v3/projects", {"project": {
        "name": "demo", "domain_id": "default",
        "description": "DevStack's demo project"}})["project"]
    user = admin.json("identity", "POST", "/v3/users", {"user": {
        "name": "demo", "domain_id": "default", "password": password,
        "default_project_id": project["id"]}})["user"]
    member = admin.json("identity", "GET", "/v3/roles?name=member")["roles"][0]
    admin.json("identity", "PUT",
               f"/v3/projects/{project['id']}/users/{user['id']}/roles/{member['id']}")
    write_private(password_file, password + "\n")
    write_clouds()
    progress(f"first run: project and user demo (member); clouds.yaml entry stacklet-demo "
             f"(OS_CLOUD=stacklet-demo), password in {password_file}")


def _upload_guest_image(data_dir: Path, progress: Progress) -> None:
    from stacklet.compute.guest_image import GuestBuildError, build_guest
    from stacklet.compute.guest_upload import upload_guest

    progress("first run: building the stacklet-tiny guest image in the background "
             "(the APIs answer meanwhile)")
    try:
        guest = build_guest(progress=lambda line: progress(f"first run: {line}"))
    except GuestBuildError as exc:
        raise FirstRunError(f"the guest image could not be built: {exc}") from None
    image_id = upload_guest(guest, data_dir / "clouds.yaml", GUEST_IMAGE_NAME,
                            progress=lambda line: progress(f"first run: {line}"))
    progress(f"first run: image {GUEST_IMAGE_NAME} ready ({image_id}): openstack server "
             f"create --image {GUEST_IMAGE_NAME} --flavor m1.nano --network private vm1")
