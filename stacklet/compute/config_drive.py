"""A server's config drive: its metadata documents on an ISO 9660 image.

Guests (cloud-init, the tiny guest image) find it by its volume label
``config-2``, as on Nova.  The image gets Rock Ridge and Joliet names so
that every path (openstack/latest/meta_data.json) reads as written.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from stacklet.compute.driver import DriverError

VOLUME_LABEL = "config-2"


def write_config_drive(files: dict[str, bytes], destination: Path) -> None:
    """Write ``files`` (relative path -> content) as an ISO image at
    ``destination``, replacing whatever was there."""
    xorriso = shutil.which("xorriso")
    if xorriso is None:
        raise DriverError("Cannot write a config drive: xorriso is not installed "
                          "(Debian and Ubuntu package 'xorriso').")
    destination = Path(destination)
    with tempfile.TemporaryDirectory(prefix="config-drive-") as staging:
        root = Path(staging)
        for relative, content in files.items():
            path = root / relative
            if root not in path.resolve().parents:
                raise ValueError(f"config drive path outside the drive: {relative!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        # Built beside the destination and renamed: a guest never sees half an image.
        partial = destination.with_name(destination.name + ".partial")
        result = subprocess.run(
            [xorriso, "-as", "mkisofs", "-quiet", "-V", VOLUME_LABEL, "-J", "-R",
             "-o", str(partial), str(root)],
            capture_output=True, text=True)
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise DriverError(f"xorriso could not write the config drive: "
                              f"{result.stderr.strip()[-500:]}")
        partial.replace(destination)
