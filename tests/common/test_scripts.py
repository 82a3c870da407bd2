"""The project's own scripts, as a developer runs them."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What scripts/test would run to install or start anything.
INSTALLERS = ("apt-get", "dpkg-query", "sudo", "python3", "pip", "runuser", "mariadbd",
              "mariadb-install-db", "initdb", "pg_ctl", "git")


def test_scripts_test_help_prints_usage_and_touches_nothing(tmp_path):
    stubs = tmp_path / "bin"
    stubs.mkdir()
    calls = tmp_path / "calls"
    for name in INSTALLERS:
        stub = stubs / name
        stub.write_text(f"#!/bin/sh\necho {name} \"$@\" >>{calls}\n")
        stub.chmod(0o755)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    environment = {"PATH": f"{stubs}:/usr/bin:/bin", "HOME": str(tmp_path),
                   "TMPDIR": str(scratch)}
    for flag in ("--help", "-h"):
        result = subprocess.run(["bash", str(REPO / "scripts/test"), flag], env=environment,
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("usage: scripts/test")
        assert "tempest-qemu" in result.stdout and "--quick" in result.stdout
    assert not calls.exists(), calls.read_text()
    assert not list(scratch.iterdir())   # no log dir, no database cluster
