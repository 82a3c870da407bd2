"""End-to-end fixtures: a real `stacklet up` subprocess and the real `openstack` CLI.

Both run from the Python environment of the test run (``sys.executable``), so
the test exercises exactly what a user installs.  The server uses the default
bcrypt cost, unlike the in-process suite.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import openstack
import pytest
import yaml
from openstack.config import loader

BIN_DIR = Path(sys.executable).parent
OPENSTACK = BIN_DIR / "openstack"
START_TIMEOUT = 60
STOP_TIMEOUT = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment() -> dict[str, str]:
    """The caller's environment without anything that would redirect Stacklet
    or the openstack CLI elsewhere."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("STACKLET_", "OS_"))}


class StackletServer:
    """`stacklet up` on one data dir and a free loopback port, as a subprocess;
    UP_ARGS are further flags of `stacklet up`, given again on every start.
    Without FIRST_RUN it makes none of DevStack's first-run networks and image:
    each test makes what it tests.  Without DATAPLANE it runs no network agents."""

    def __init__(self, data_dir: Path, port: int | None = None, up_args: tuple[str, ...] = (),
                 first_run: bool = False, dataplane: bool = False):
        self.data_dir = data_dir
        self.up_args = up_args if first_run else (
            "--no-default-networks", "--no-guest-image", *up_args)
        # The data plane's own tests turn it on; the others test the API and
        # guests on QEMU user networking, and leave the host's network alone.
        self.up_args += ("--dataplane", "on" if dataplane else "off")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"{data_dir.name}-stacklet.log"
        self.process: subprocess.Popen | None = None
        self._log_offset = 0

    @property
    def clouds_yaml(self) -> Path:
        return self.data_dir / "clouds.yaml"

    def stacklet(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """Run another `stacklet` command on the same data dir."""
        return subprocess.run([sys.executable, "-m", "stacklet", *args,
                               "--data-dir", str(self.data_dir)],
                              env=clean_environment(), capture_output=True, text=True,
                              timeout=60, **kwargs)

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stacklet", "up", "--data-dir", str(self.data_dir),
             "--bind", f"127.0.0.1:{self.port}", *self.up_args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=clean_environment())
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"stacklet up exited with {self.process.returncode}:\n{self.output()}")
            if self.answers():
                return
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"stacklet up did not answer within {START_TIMEOUT}s:\n{self.output()}")

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> float:
        """Send SIG and wait; asserts the server exits within STOP_TIMEOUT seconds.
        Returns how long it took."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"stacklet up ignored {signal.Signals(sig).name} for {STOP_TIMEOUT}s")
        return time.monotonic() - started

    def output(self) -> str:
        """What this run of the server printed so far."""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def wait_for_output(self, text: str, seconds: float = 600) -> str:
        """What this run printed, once it printed TEXT (the first run's steps
        run in the background while the APIs answer)."""
        deadline = time.monotonic() + seconds
        while text not in self.output():
            assert time.monotonic() < deadline, f"{text!r} never printed:\n{self.output()}"
            time.sleep(1)
        return self.output()


class OpenStackCLI:
    """The real `openstack` command, on one clouds.yaml entry."""

    def __init__(self, clouds_yaml: Path, cloud: str = "stacklet"):
        self.clouds_yaml = clouds_yaml
        self.cloud = cloud

    def run(self, *args: str, check: bool = True,
            terminal: bool = False) -> subprocess.CompletedProcess:
        """Run a command with stdin at /dev/null, or at a terminal (a pseudo-tty)
        as when typed by hand: `image create` uploads whatever a non-terminal
        stdin holds as image data (nothing, from /dev/null), and sends no data
        only when stdin is a terminal."""
        env = clean_environment()
        env.update(OS_CLIENT_CONFIG_FILE=str(self.clouds_yaml), OS_CLOUD=self.cloud)
        controller, tty = os.openpty() if terminal else (None, None)
        try:
            result = subprocess.run([str(OPENSTACK), *args], env=env, capture_output=True,
                                    text=True, timeout=120,
                                    stdin=tty if terminal else subprocess.DEVNULL)
        finally:
            if terminal:
                os.close(controller)
                os.close(tty)
        if check and result.returncode != 0:
            pytest.fail(f"`openstack {' '.join(args)}` (cloud {self.cloud}) failed with "
                        f"{result.returncode}:\n{result.stderr}{result.stdout}")
        return result

    def json(self, *args: str, **kwargs):
        """Run a command with `-f json` and return the parsed output."""
        return json.loads(self.run(*args, "-f", "json", **kwargs).stdout)

    def fails(self, *args: str) -> str:
        """Run a command that must fail; returns what it printed."""
        result = self.run(*args, check=False)
        assert result.returncode != 0, (
            f"`openstack {' '.join(args)}` (cloud {self.cloud}) succeeded:\n{result.stdout}")
        return result.stderr + result.stdout


def admin_cloud(server: StackletServer) -> dict:
    """The admin entry `stacklet up` wrote into its clouds.yaml."""
    return yaml.safe_load(server.clouds_yaml.read_text())["clouds"]["stacklet"]


def create_member(admin: OpenStackCLI, server: StackletServer, project: str, user: str,
                  password: str) -> dict:
    """A new project with a new user holding the member role on it: returns the
    created project and user, and the clouds.yaml entry that logs in as them."""
    created_project = admin.json("project", "create", project, "--domain", "default")
    created_user = admin.json("user", "create", user, "--password", password,
                              "--domain", "default", "--project", project)
    admin.run("role", "add", "--user", user, "--project", project, "member")
    auth = {"auth_url": admin_cloud(server)["auth"]["auth_url"], "username": user,
            "password": password, "project_name": project, "user_domain_name": "Default",
            "project_domain_name": "Default"}
    return {"project": created_project, "user": created_user,
            "cloud": {"auth": auth, "region_name": "RegionOne", "identity_api_version": 3}}


def sdk_connection(clouds_yaml: Path, cloud: str) -> openstack.connection.Connection:
    """An openstacksdk connection on one entry of CLOUDS_YAML (and nothing else)."""
    config = loader.OpenStackConfig(config_files=[str(clouds_yaml)], vendor_files=[],
                                    load_envvars=False)
    return openstack.connection.Connection(config=config.get_one(cloud=cloud))


def write_clouds_yaml(path: Path, clouds: dict[str, dict]) -> Path:
    path.write_text(yaml.safe_dump({"clouds": clouds}, sort_keys=False))
    path.chmod(0o600)
    return path


def token_status(server: StackletServer, auth_token: str, subject_token: str) -> int:
    """HTTP status of validating SUBJECT_TOKEN (GET /v3/auth/tokens), as curl would see it."""
    request = urllib.request.Request(f"{server.url}/identity/v3/auth/tokens", headers={
        "X-Auth-Token": auth_token, "X-Subject-Token": subject_token})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def server(tmp_path: Path):
    """A Stacklet of its own for one test, stopped (SIGTERM, within 10 s) at the end."""
    stacklet = StackletServer(tmp_path / "data")
    stacklet.start()
    yield stacklet
    stacklet.stop()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory):
    """A Stacklet shared by the tests of one module, in their order."""
    stacklet = StackletServer(tmp_path_factory.mktemp("stacklet") / "data")
    stacklet.start()
    yield stacklet
    stacklet.stop()
