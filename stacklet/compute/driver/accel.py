"""Which accelerator QEMU uses on this host: KVM when it really works, TCG otherwise.

/dev/kvm existing is not enough: nested KVM may let the firmware run and
then hang the guest's kernel (as on the machines Stacklet is developed on),
so the probe boots a Linux kernel under KVM and waits for its first line on
the serial port.  The answer is a fact of the machine, kept in the user's
cache (~/.cache/stacklet/accel.json) for every data dir, and asked again
when QEMU or the host's kernel changes.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

import platformdirs

from stacklet.compute.driver import QEMU_BINARY

LOG = logging.getLogger(__name__)

PROBE_SECONDS = 8.0


@functools.cache
def qemu_version() -> tuple[str, int]:
    """QEMU's version as printed ("7.2.22") and as Nova numbers it (7002022)."""
    output = subprocess.run([QEMU_BINARY, "--version"], capture_output=True, text=True,
                            check=True).stdout
    version = output.split("version", 1)[1].split()[0]
    major, minor, micro = (int(part) for part in (version.split(".") + ["0", "0"])[:3])
    return version, major * 1_000_000 + minor * 1000 + micro


def default_cache_dir() -> Path:
    return platformdirs.user_cache_path("stacklet")


def choose_accel(setting: str, cache_dir: Path,
                 probe_kernel: Callable[[], Path | None]) -> str:
    """'kvm' or 'tcg' for ``setting`` ('kvm', 'tcg' or 'auto')."""
    if setting in ("kvm", "tcg"):
        return setting
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    key = {"qemu": qemu_version()[0], "host_kernel": platform.release()}
    cache = cache_dir / "accel.json"
    try:
        known = json.loads(cache.read_text())
        if known.get("key") == key:
            return known["accel"]
    except (OSError, ValueError, KeyError):
        pass
    kernel = probe_kernel()
    if kernel is None:
        LOG.warning("no kernel to test KVM with (run `stacklet image build`): using TCG")
        return "tcg"
    accel = "kvm" if kvm_boots(kernel) else "tcg"
    LOG.info("KVM test boot %s: guests use %s", "passed" if accel == "kvm" else "failed",
             accel.upper())
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "accel": accel}))
    return accel


def kvm_boots(kernel: Path) -> bool:
    """Whether ``kernel`` prints its banner under KVM within PROBE_SECONDS."""
    with tempfile.TemporaryDirectory(prefix="stacklet-kvm-probe-") as scratch:
        serial = Path(scratch) / "serial.log"
        process = subprocess.Popen(
            [QEMU_BINARY, "-machine", "pc,accel=kvm", "-cpu", "host", "-m", "128",
             "-nodefaults", "-display", "none", "-no-reboot", "-kernel", str(kernel),
             "-append", "console=ttyS0 panic=-1", "-serial", f"file:{serial}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + PROBE_SECONDS
        try:
            while time.monotonic() < deadline:
                if serial.exists() and b"Linux version" in serial.read_bytes():
                    return True
                if process.poll() is not None:
                    return False
                time.sleep(0.1)
            return False
        finally:
            process.kill()
            process.wait()
