"""`stacklet up` as an operator sees it: files it writes, status, signals, restart, keys."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
import time

import pytest
import yaml

from tests.e2e.conftest import (
    OpenStackCLI,
    StackletServer,
    clean_environment,
    token_status,
)

pytestmark = pytest.mark.e2e


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_up_writes_private_client_files_and_documented_config(server: StackletServer):
    data = server.data_dir
    for name in ("clouds.yaml", "openrc", "admin-password"):
        assert mode(data / name) == 0o600, f"{name} must be readable by its owner only"
    password = (data / "admin-password").read_text().strip()
    cloud = yaml.safe_load((data / "clouds.yaml").read_text())["clouds"]["stacklet"]
    assert cloud["auth"]["password"] == password
    assert cloud["auth"]["auth_url"] == f"{server.url}/identity/v3"
    assert f"export OS_AUTH_URL={server.url}/identity/v3" in (data / "openrc").read_text()
    config = (data / "stacklet.conf").read_text()
    assert "[api]" in config and "STACKLET_API_BIND" in config

    output = server.output()
    assert f"export OS_CLIENT_CONFIG_FILE={data / 'clouds.yaml'} OS_CLOUD=stacklet" in output
    assert f"or: source {data / 'openrc'}" in output


def test_up_makes_an_existing_data_dir_private(tmp_path):
    """A data dir made by hand with 0755, and files in it from an earlier run
    left 0644: after `stacklet up` no other local user can read any of it."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "notes").write_text("the operator's")
    (data / "notes").chmod(0o644)
    server = StackletServer(data)
    server.start()
    try:
        OpenStackCLI(server.clouds_yaml).json("domain", "create", "e2e-private")
        assert mode(data) == 0o700
        database = sorted(data.glob("stacklet.db*"))
        assert [path.name for path in database] == ["stacklet.db", "stacklet.db-shm",
                                                     "stacklet.db-wal"]
        for path in [*database, data / "notes", data / "stacklet.conf"]:
            assert mode(path) == 0o600, f"{path.name} is {oct(mode(path))}"
        assert "private to this user" in server.output()
    finally:
        server.stop()


def test_status_reports_the_listener_and_the_identity_api(server: StackletServer):
    running = server.stacklet("status")
    assert running.returncode == 0, running.stdout + running.stderr
    assert f"{server.url} (answering)" in running.stdout
    identity = [line for line in running.stdout.splitlines() if "identity-api" in line]
    assert identity and " up " in identity[0], running.stdout

    server.stop()
    stopped = server.stacklet("status")
    assert stopped.returncode != 0
    assert "not answering" in stopped.stdout
    identity = [line for line in stopped.stdout.splitlines() if "identity-api" in line]
    assert identity and "stopped" in identity[0], stopped.stdout


def test_a_command_on_another_data_dir_says_where_the_running_cloud_is(
        server: StackletServer, tmp_path):
    """`scripts/quickstart --data-dir X`, then `stacklet status` or `stacklet image
    build` without it: they name the cloud that answers and how to reach it."""
    def stacklet(*args: str, **environment) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "stacklet", *args],
                              env=clean_environment() | environment, capture_output=True,
                              text=True, timeout=60)

    elsewhere = str(tmp_path / "elsewhere")
    for lost in (stacklet("status", "--data-dir", elsewhere),
                 stacklet("image", "build", STACKLET_DATA_DIR=elsewhere)):
        assert lost.returncode == 1
        said = lost.stdout + lost.stderr
        assert f"A cloud is answering on {server.url} with data dir {server.data_dir}" in said
        assert f"--data-dir {server.data_dir}" in said
        assert f"export STACKLET_DATA_DIR={server.data_dir}" in said
    found = stacklet("status", STACKLET_DATA_DIR=str(server.data_dir))
    assert found.returncode == 0 and f"{server.url} (answering)" in found.stdout
    assert f"export STACKLET_DATA_DIR={server.data_dir}" in server.output()

    server.stop()   # a stopped cloud is no longer offered
    assert str(server.data_dir) not in stacklet("status", "--data-dir", elsewhere).stdout


def test_sigint_stops_within_seconds(server: StackletServer):
    took = server.stop(signal.SIGINT)
    assert took < 10
    assert not server.answers()


def test_restart_keeps_a_created_domain(server: StackletServer):
    admin = OpenStackCLI(server.clouds_yaml)
    created = admin.json("domain", "create", "e2e-kept", "--description", "survives restarts")
    server.stop()
    server.start()
    shown = admin.json("domain", "show", "e2e-kept")
    assert shown["id"] == created["id"]
    assert shown["description"] == "survives restarts"


def test_rotate_keys_keeps_old_tokens_until_pruned(server: StackletServer):
    admin = OpenStackCLI(server.clouds_yaml)
    old_token = admin.json("token", "issue")["id"]

    rotated = server.stacklet("identity", "rotate-keys")
    assert rotated.returncode == 0, rotated.stderr
    # A running server looks for new keys once a second.
    time.sleep(1.5)
    new_token = admin.json("token", "issue")["id"]
    assert token_status(server, new_token, new_token) == 200
    assert token_status(server, new_token, old_token) == 200, "a secondary key must validate"

    # With max_active_keys=3 only the primary and one secondary survive, so
    # two more rotations prune the key that signed the old token.
    for _ in range(2):
        assert server.stacklet("identity", "rotate-keys").returncode == 0
    time.sleep(1.5)
    newest = admin.json("token", "issue")["id"]
    assert token_status(server, newest, newest) == 200
    assert token_status(server, newest, old_token) in (401, 404)
