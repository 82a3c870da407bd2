"""stacklet-tiny: a small guest image built from Debian packages.

The image is Debian's cloud kernel and an initramfs holding busybox, dropbear
and the few kernel modules a virtio guest needs, on an unpartitioned FAT disk
that syslinux boots.  Nothing is installed on the host and nothing needs root:
`apt-get download` fetches the packages, `dpkg-deb -x` unpacks them, the cpio
archive is written here, and mtools fills the disk.  docs/guest-image.md says
what the guest does at boot.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

import platformdirs

KERNEL_METAPACKAGE = "linux-image-cloud-amd64"
USERLAND_PACKAGES = ("busybox-static", "dropbear-bin")
# What a guest on QEMU's virtio devices needs: disks, NIC (virtio_net pulls in
# net_failover), the config drive's ISO 9660, and the ACPI power button with
# evdev, where busybox acpid reads it.
GUEST_MODULES = ("virtio_pci", "virtio_blk", "virtio_net", "isofs", "button", "evdev")
DROPBEAR_BINARIES = ("usr/sbin/dropbear", "usr/bin/dropbearkey")
# `quiet` matters: every byte on the emulated UART costs time under TCG.
CMDLINE = "console=ttyS0,115200 quiet"
DISK_SIZE_KIB = 40 * 1024
# Bumped when the build itself changes in a way the stamp would not see.
BUILD_FORMAT = 1

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuiltGuest:
    kernel: Path
    initrd: Path
    disk: Path
    cmdline: str
    packages: tuple[str, ...]


class GuestBuildError(RuntimeError):
    """The guest could not be built; the message says what to do."""


def default_cache_dir() -> Path:
    return platformdirs.user_cache_path("stacklet") / "guest-image"


def init_script() -> bytes:
    return resources.files("stacklet.compute").joinpath("guest/init").read_bytes()


def build_guest(cache_dir: Path | None = None, progress: Progress = print) -> BuiltGuest:
    """Build stacklet-tiny under CACHE_DIR, or return the finished build there
    when the Debian package versions and the init script are unchanged."""
    cache_dir = Path(cache_dir or default_cache_dir())
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Test workers and the CLI may build at once: one builds, the others wait.
    with open(cache_dir / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        debs = package_files()
        stamp = _stamp(debs)
        output = cache_dir / "image"
        guest = BuiltGuest(kernel=output / "vmlinuz", initrd=output / "initrd",
                           disk=output / "disk.raw", cmdline=CMDLINE,
                           packages=tuple(sorted(debs.values())))
        stamp_file = output / "stamp"
        if stamp_file.exists() and stamp_file.read_text() == stamp:
            progress(f"stacklet-tiny: up to date in {output}")
            return guest
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix="build-") as scratch:
            staging = Path(scratch)
            _download(debs, cache_dir / "debs", progress)
            tree = staging / "packages"
            for filename in debs.values():
                subprocess.run(["dpkg-deb", "-x", str(cache_dir / "debs" / filename), str(tree)],
                               check=True)
            progress("stacklet-tiny: writing the initramfs")
            kernel = _only(tree.glob("boot/vmlinuz-*"))
            initrd = staging / "initrd"
            initrd.write_bytes(_initramfs(tree, kernel.name.removeprefix("vmlinuz-")))
            progress("stacklet-tiny: writing the boot disk (FAT + syslinux)")
            disk = staging / "disk.raw"
            _boot_disk(kernel, initrd, disk)
            if output.exists():
                shutil.rmtree(output)
            output.mkdir()
            shutil.copyfile(kernel, guest.kernel)
            os.replace(initrd, guest.initrd)
            os.replace(disk, guest.disk)
            stamp_file.write_text(stamp)
        progress(f"stacklet-tiny: built in {output}")
        return guest


def _stamp(debs: dict[str, str]) -> str:
    inputs = {"format": BUILD_FORMAT, "packages": sorted(debs.values()), "cmdline": CMDLINE,
              "init": hashlib.sha256(init_script()).hexdigest(), "modules": GUEST_MODULES}
    return json.dumps(inputs, indent=1) + "\n"


# -- packages ------------------------------------------------------------------

def package_files() -> dict[str, str]:
    """{package: .deb file name} of everything the guest is made of, at the
    versions the host's package lists offer now."""
    kernel = _apt("apt-cache", "depends", KERNEL_METAPACKAGE)
    kernel_packages = [line.split(":", 1)[1].strip() for line in kernel.splitlines()
                       if line.strip().startswith("Depends: linux-image-")]
    if not kernel_packages:
        raise GuestBuildError(f"{KERNEL_METAPACKAGE} depends on no linux-image package")
    # The libraries dropbear links against come with its dependency closure;
    # only the ones its binaries need go into the image.
    closure = _apt("apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                   "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
                   *USERLAND_PACKAGES)
    names = [kernel_packages[0], *USERLAND_PACKAGES]
    names += [line for line in closure.splitlines()
              if line and not line.startswith((" ", "<")) and line not in names]
    uris = _apt("apt-get", "download", "--print-uris", *names)
    # Lines read: 'URL' FILENAME SIZE HASH, in the order asked.
    files = [line.split()[1] for line in uris.splitlines() if line.startswith("'")]
    return dict(zip(names, files, strict=True))


def _apt(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        hint = ""
        if "Unable to locate package" in result.stderr or "No packages found" in result.stderr:
            hint = " (are the package lists missing? run `apt-get update` as root)"
        raise GuestBuildError(f"{' '.join(command[:2])} failed{hint}: {result.stderr.strip()}")
    return result.stdout


def _download(debs: dict[str, str], directory: Path, progress: Progress) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    missing = [name for name, filename in debs.items() if not (directory / filename).exists()]
    if missing:
        progress(f"stacklet-tiny: apt-get download {' '.join(missing)}")
        _apt_in(directory, "apt-get", "download", *missing)


def _apt_in(directory: Path, *command: str) -> None:
    result = subprocess.run(command, cwd=directory, capture_output=True, text=True)
    if result.returncode != 0:
        raise GuestBuildError(f"{' '.join(command[:2])} failed (run `apt-get update` as root "
                              f"if the package lists are missing): {result.stderr.strip()}")


def _only(paths) -> Path:
    found = list(paths)
    if len(found) != 1:
        raise GuestBuildError(f"expected one file, found {found}")
    return found[0]


# -- initramfs -----------------------------------------------------------------

def _initramfs(tree: Path, kernel_version: str) -> bytes:
    archive = Cpio()
    for directory in ("bin", "dev", "etc", "lib", "proc", "sys", "root", "run", "tmp", "mnt"):
        archive.directory(directory)
    for alias in ("sbin", "usr/bin", "usr/sbin"):
        archive.symlink(alias, "/bin")
    # The kernel opens /dev/console before /init runs, so the node must exist.
    archive.device("dev/console", 0o20600, 5, 1)
    archive.file("init", init_script(), 0o755)
    archive.file("bin/busybox", (tree / "bin/busybox").read_bytes(), 0o755)
    for applet in _busybox_applets(tree / "bin/busybox"):
        archive.symlink(f"bin/{applet}", "busybox")
    for binary in DROPBEAR_BINARIES:
        archive.file(f"bin/{Path(binary).name}", (tree / binary).read_bytes(), 0o755)
    for path in _shared_libraries(tree, [tree / binary for binary in DROPBEAR_BINARIES]):
        archive.file(str(path.relative_to(tree)), _in_tree(tree, path).read_bytes(), 0o755)
    modules = _modules_in_load_order(tree / "lib/modules" / kernel_version, GUEST_MODULES)
    for module in modules:
        archive.file(str(module.relative_to(tree)), module.read_bytes(), 0o644)
    order = "".join(f"/{module.relative_to(tree)}\n" for module in modules)
    archive.file("etc/modules.order", order.encode(), 0o644)
    # gzip booted no slower than lz4 or no compression under TCG here, needs no
    # extra tool and is the smallest (docs/guest-image.md has the measurements).
    return gzip.compress(archive.finish(), compresslevel=6, mtime=0)


def _busybox_applets(busybox: Path) -> list[str]:
    listing = subprocess.run([str(busybox), "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    return [applet for applet in listing if applet != "busybox"]


class Cpio:
    """A newc-format cpio archive, as the kernel unpacks into its rootfs."""

    def __init__(self):
        self._buffer = io.BytesIO()
        self._inode = 1
        self._made: set[str] = set()

    def directory(self, name: str) -> None:
        self._entry(name, 0o40755, b"")

    def file(self, name: str, data: bytes, mode: int) -> None:
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, 0o120777, target.encode())

    def device(self, name: str, mode: int, major: int, minor: int) -> None:
        self._entry(name, mode, b"", rdev=(major, minor))

    def _entry(self, name: str, mode: int, data: bytes, rdev=(0, 0)) -> None:
        parent = os.path.dirname(name)
        if parent and parent not in self._made:
            self.directory(parent)
        if name in self._made:
            return
        self._made.add(name)
        fields = (self._inode, mode, 0, 0, 1, 0, len(data), 0, 0, *rdev, len(name) + 1, 0)
        self._inode += 1
        header = b"070701" + b"".join(b"%08X" % field for field in fields)
        self._write_padded(header + name.encode() + b"\0")
        self._write_padded(data)

    def _write_padded(self, data: bytes) -> None:
        self._buffer.write(data)
        self._buffer.write(b"\0" * (-len(data) % 4))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0, b"")
        return self._buffer.getvalue()


# -- ELF: shared libraries and module dependencies --------------------------------

def _elf_sections(data: bytes) -> dict[str, tuple[int, int, int, int]]:
    """{name: (type, offset, size, link)} of a 64-bit little-endian ELF file."""
    section_offset, = struct.unpack_from("<Q", data, 0x28)
    entry_size, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
    headers = []
    for index in range(count):
        name, kind, _flags, _address, offset, size, link = struct.unpack_from(
            "<IIQQQQI", data, section_offset + index * entry_size)
        headers.append((name, kind, offset, size, link))
    names_offset = headers[names_index][2]
    return {_c_string(data, names_offset + name): (kind, offset, size, link)
            for name, kind, offset, size, link in headers}


def _c_string(data: bytes, offset: int) -> str:
    return data[offset:data.index(b"\0", offset)].decode()


def _needed(path: Path) -> tuple[list[str], str | None]:
    """The DT_NEEDED sonames of an ELF file and its program interpreter."""
    data = path.read_bytes()
    sections = _elf_sections(data)
    interpreter = None
    if ".interp" in sections:
        _kind, offset, size, _link = sections[".interp"]
        interpreter = data[offset:offset + size].rstrip(b"\0").decode()
    if ".dynamic" not in sections:
        return [], interpreter
    _kind, offset, size, link = sections[".dynamic"]
    strings_offset = list(sections.values())[link][1]
    needed = []
    for tag_offset in range(offset, offset + size, 16):
        tag, value = struct.unpack_from("<qQ", data, tag_offset)
        if tag == 1:  # DT_NEEDED
            needed.append(_c_string(data, strings_offset + value))
    return needed, interpreter


def _shared_libraries(tree: Path, binaries: list[Path]) -> list[Path]:
    """Paths (in TREE) of every library BINARIES load, and the dynamic loader."""
    library_dirs = [tree / "lib/x86_64-linux-gnu", tree / "usr/lib/x86_64-linux-gnu"]
    found: dict[str, Path] = {}
    pending = list(binaries)
    while pending:
        needed, interpreter = _needed(pending.pop())
        if interpreter and interpreter not in found:
            found[interpreter] = tree / interpreter.lstrip("/")
        for soname in needed:
            if soname in found:
                continue
            path = next((d / soname for d in library_dirs if (d / soname).exists()), None)
            if path is None:
                raise GuestBuildError(f"no package in the build provides {soname}")
            found[soname] = path
            pending.append(_in_tree(tree, path))
    return list(found.values())


def _in_tree(tree: Path, path: Path) -> Path:
    """PATH with its symlinks followed as the guest would, inside TREE (Debian's
    links are often absolute, such as /lib64/ld-linux-x86-64.so.2)."""
    for _ in range(10):
        if not path.is_symlink():
            return path
        target = os.readlink(path)
        path = tree / target.lstrip("/") if target.startswith("/") else path.parent / target
    raise GuestBuildError(f"symlink loop at {path}")


def _modules_in_load_order(module_dir: Path, wanted: tuple[str, ...]) -> list[Path]:
    """The .ko files of WANTED and everything they depend on, dependencies first;
    built-in modules (modules.builtin) need no file."""
    by_name = {path.name.removesuffix(".ko").replace("-", "_"): path
               for path in module_dir.rglob("*.ko")}
    builtin = {Path(line).name.removesuffix(".ko").replace("-", "_")
               for line in (module_dir / "modules.builtin").read_text().split()}
    ordered: list[Path] = []

    def visit(name: str) -> None:
        if name in builtin or by_name.get(name) in ordered:
            return
        if name not in by_name:
            raise GuestBuildError(f"kernel module {name} is neither built in nor shipped")
        for dependency in _module_depends(by_name[name]):
            visit(dependency)
        ordered.append(by_name[name])

    for name in wanted:
        visit(name)
    return ordered


def _module_depends(module: Path) -> list[str]:
    data = module.read_bytes()
    _kind, offset, size, _link = _elf_sections(data)[".modinfo"]
    for field in data[offset:offset + size].split(b"\0"):
        if field.startswith(b"depends="):
            return [name for name in field[len(b"depends="):].decode().split(",") if name]
    return []


# -- boot disk -----------------------------------------------------------------

SYSLINUX_CFG = f"""DEFAULT stacklet-tiny
PROMPT 0
TIMEOUT 0
LABEL stacklet-tiny
  LINUX /vmlinuz
  INITRD /initrd
  APPEND {CMDLINE}
"""


def _boot_disk(kernel: Path, initrd: Path, disk: Path) -> None:
    """An unpartitioned FAT disk whose boot sector is syslinux's: SeaBIOS boots
    it like a superfloppy.  mtools writes it, so nothing is mounted."""
    config = disk.with_name("syslinux.cfg")
    config.write_text(SYSLINUX_CFG)
    _run("mkfs.fat", "-n", "STACKLET", "-C", str(disk), str(DISK_SIZE_KIB))
    _run("syslinux", "--install", str(disk))
    _run("mcopy", "-i", str(disk), str(kernel), "::vmlinuz")
    _run("mcopy", "-i", str(disk), str(initrd), "::initrd")
    _run("mcopy", "-i", str(disk), str(config), "::syslinux.cfg")


def _run(*command: str) -> None:
    if shutil.which(command[0]) is None:
        raise GuestBuildError(f"{command[0]} is missing: install dosfstools, mtools and "
                              "syslinux (scripts/lib.sh ensure_vm_packages does)")
    result = subprocess.run(command, capture_output=True, text=True,
                            env=os.environ | {"MTOOLS_SKIP_CHECK": "1"})
    if result.returncode != 0:
        raise GuestBuildError(f"{' '.join(command)} failed: {result.stderr.strip()}")


def probe_kernel() -> Path | None:
    """The kernel of a finished build, for the KVM test boot (None before any build)."""
    kernel = default_cache_dir() / "image" / "vmlinuz"
    return kernel if kernel.exists() else None
