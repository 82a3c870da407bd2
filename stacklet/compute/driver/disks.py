"""A host's image cache and the disks of its guests, made with qemu-img.

Each image a guest boots from is copied once per host into
``DIR/instances/_base`` (as QEMU can read it directly: raw or qcow2; other
formats are converted to qcow2), and each guest's root disk is a qcow2
overlay on it, so a hundred guests of one image cost one copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import sqlalchemy as sa

from stacklet.compute.driver import DriverError
from stacklet.image.models import Image

# Formats QEMU reads as they are; anything else is converted to qcow2 once.
DIRECT_FORMATS = {"raw", "qcow2", "ami", "aki", "ari", "iso"}
# Glance's disk formats under the names qemu-img knows them by.
QEMU_FORMAT = {"ami": "raw", "aki": "raw", "ari": "raw", "iso": "raw", "vhd": "vpc",
               "ploop": "parallels"}


def qemu_img(*args: str) -> str:
    try:
        return subprocess.run(["qemu-img", *args], capture_output=True, text=True,
                              check=True).stdout
    except FileNotFoundError:
        raise DriverError("qemu-img is not installed (Debian package qemu-utils)") from None
    except subprocess.CalledProcessError as exc:
        raise DriverError(f"qemu-img {args[0]} failed: {exc.stderr.strip()}") from None


def virtual_size(path: Path, disk_format: str) -> int:
    info = json.loads(qemu_img("info", "--output=json", "-U", "-f", disk_format, str(path)))
    return int(info["virtual-size"])


class ImageCache:
    """The images of this host's guests, fetched from the image service's store."""

    def __init__(self, db, image_store, base_dir: Path):
        self.db = db
        self.image_store = image_store
        self.base_dir = base_dir
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def fetch(self, image_id: str) -> tuple[Path, str]:
        """The cached image as (path, qemu format); copied on first use."""
        with self._lock(image_id):
            for fmt in ("raw", "qcow2"):
                cached = self.base_dir / f"{image_id}.{fmt}"
                if cached.exists():
                    return cached, fmt
            disk_format = self._active_format(image_id)
            source = self.image_store.data_path(image_id)
            self.base_dir.mkdir(parents=True, exist_ok=True)
            if disk_format in DIRECT_FORMATS:
                fmt = QEMU_FORMAT.get(disk_format, disk_format)
                cached = self.base_dir / f"{image_id}.{fmt}"
                partial = cached.with_suffix(".part")
                _link_or_copy(source, partial)
            else:
                fmt = "qcow2"
                cached = self.base_dir / f"{image_id}.qcow2"
                partial = cached.with_suffix(".part")
                qemu_img("convert", "-f", QEMU_FORMAT.get(disk_format, disk_format),
                         "-O", "qcow2", str(source), str(partial))
            os.replace(partial, cached)
            return cached, fmt

    def _active_format(self, image_id: str) -> str:
        with self.db.session() as session:
            row = session.execute(sa.select(Image.status, Image.disk_format)
                                  .where(Image.id == image_id)).first()
        if row is None or row.status != "active":
            raise DriverError(f"Image {image_id} is not an active image of the image "
                              "service, so the guest cannot be built from it.")
        return row.disk_format or "raw"

    def _lock(self, image_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(image_id, threading.Lock())


def _link_or_copy(source: Path, destination: Path) -> None:
    """A hard link where the store and the cache share a filesystem (stored image
    data never changes, and the cache keeps it if the image is deleted), else a copy."""
    destination.unlink(missing_ok=True)
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)


def create_overlay(path: Path, base: Path, base_format: str, size_gb: int) -> None:
    """A qcow2 disk reading through to ``base``, at least ``size_gb`` GiB (never
    smaller than the image, as Nova grows a root disk but never cuts one)."""
    size = max(size_gb << 30, virtual_size(base, base_format))
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", base_format,
             str(path), str(size))


def create_blank(path: Path, size_mb: int) -> None:
    qemu_img("create", "-q", "-f", "qcow2", str(path), f"{size_mb}M")


def grow(path: Path, size_gb: int) -> None:
    """Grow a qcow2 disk to ``size_gb`` GiB; a disk already as large stays as it is."""
    if size_gb and virtual_size(path, "qcow2") < size_gb << 30:
        qemu_img("resize", "-q", "-f", "qcow2", str(path), f"{size_gb}G")


def export_qcow2(source: Path, destination: Path) -> None:
    """A standalone copy of a guest disk (its base merged in), for a snapshot."""
    qemu_img("convert", "-U", "-f", "qcow2", "-O", "qcow2", str(source), str(destination))
