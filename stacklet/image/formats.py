"""What an uploaded disk image really is: its format and its virtual size.

Only headers are read (and a VHD's footer), never the whole file.  An
upload whose content does not match its declared ``disk_format`` is refused,
as Glance's format enforcement does: a "qcow2" that is not one, or a qcow2
pointing at a backing or data file on the host, must never reach a
hypervisor.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

QCOW2_MAGIC = b"QFI\xfb"
VMDK_MAGIC = b"KDMV"
# One file holding all the data; the other types point at further files.
VMDK_CREATE_TYPES = ("monolithicsparse", "streamoptimized")
VMDK_DESCRIPTOR_MAX_SECTORS = 128   # qemu writes one; anything real fits in 64 KiB
VDI_SIGNATURE = 0xBEDA107F
VHD_COOKIE = b"conectix"
VHDX_SIGNATURE = b"vhdxfile"
ISO_MAGIC = b"CD001"
ISO_MAGIC_OFFSET = 0x8001

# Formats whose content can be recognised; the rest (raw, ami, ari, aki) are
# plain bytes, and their virtual size is their size (raw) or unknown.
CHECKED_FORMATS = ("qcow2", "vmdk", "vdi", "vhd", "vhdx", "iso")


class FormatMismatch(ValueError):
    """The data is not what its disk_format says."""


class UnsafeImage(FormatMismatch):
    """The data is of its format but must not reach a hypervisor."""


def inspect(path: Path, disk_format: str | None) -> int | None:
    """The virtual size of the image at ``path`` for its declared format; raise
    FormatMismatch when the content does not match that format."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(ISO_MAGIC_OFFSET + len(ISO_MAGIC))
        if disk_format == "qcow2":
            return _qcow2_virtual_size(head)
        if disk_format == "vmdk":
            return _vmdk_virtual_size(head, f)
        if disk_format == "vdi":
            return _vdi_virtual_size(head)
        if disk_format == "vhd":
            f.seek(max(size - 512, 0))
            return _vhd_virtual_size(f.read(512))
        if disk_format == "vhdx":
            if not head.startswith(VHDX_SIGNATURE):
                raise FormatMismatch("The data is not a VHDX image.")
            return None   # its size lives in a metadata region; not worth parsing here
        if disk_format == "iso":
            if head[ISO_MAGIC_OFFSET:ISO_MAGIC_OFFSET + len(ISO_MAGIC)] != ISO_MAGIC:
                raise FormatMismatch("The data is not an ISO 9660 image.")
            return size
        if disk_format == "raw":
            _refuse_disguised(head)
            return size
    return None


def _refuse_disguised(head: bytes) -> None:
    """A raw image must not be an image of another format: a hypervisor that
    is later told (or guesses) its real format would follow what it points
    at, such as a qcow2 backing file on the host."""
    detected = ("qcow2" if head.startswith(QCOW2_MAGIC)
                else "vmdk" if head.startswith(VMDK_MAGIC)
                else "vhdx" if head.startswith(VHDX_SIGNATURE)
                else "vdi" if len(head) >= 0x44
                and struct.unpack_from("<I", head, 0x40)[0] == VDI_SIGNATURE
                else None)
    if detected:
        raise FormatMismatch(f"The data is a {detected} image.")


def _qcow2_virtual_size(head: bytes) -> int:
    if len(head) < 72 or not head.startswith(QCOW2_MAGIC):
        raise FormatMismatch("The data is not a qcow2 image.")
    version, backing_file_offset = struct.unpack_from(">IQ", head, 4)
    if backing_file_offset:
        raise UnsafeImage("qcow2 images with a backing file are refused.")
    virtual_size = struct.unpack_from(">Q", head, 24)[0]
    if version >= 3 and len(head) >= 80:
        incompatible_features = struct.unpack_from(">Q", head, 72)[0]
        if incompatible_features & 0b100:   # bit 2: an external data file
            raise UnsafeImage("qcow2 images with an external data file are refused.")
    return virtual_size


def _vmdk_virtual_size(head: bytes, f) -> int:
    if len(head) < 44 or not head.startswith(VMDK_MAGIC):
        raise FormatMismatch("The data is not a monolithic sparse VMDK image.")
    sectors, _, descriptor_sector, descriptor_sectors = struct.unpack_from("<QQQQ", head, 12)
    f.seek(descriptor_sector * 512)
    _check_vmdk_descriptor(f.read(min(descriptor_sectors, VMDK_DESCRIPTOR_MAX_SECTORS) * 512))
    return sectors * 512


def _check_vmdk_descriptor(raw: bytes) -> None:
    """The embedded descriptor names the extents a hypervisor opens: only one
    image file, never a path elsewhere on the host (Glance's rule)."""
    try:
        text = raw.rstrip(b"\0").decode("ascii").lower()
    except UnicodeDecodeError:
        raise FormatMismatch("The VMDK descriptor is not ASCII text.") from None
    create_type = None
    extents = []
    for line in (line.strip() for line in text.splitlines()):
        if not line or line.startswith("#") or line.startswith("ddb"):
            continue
        if line.split(" ")[0] in ("rw", "rdonly", "noaccess"):
            extents.append(line)
        elif "=" in line and " " not in line.split("=")[0]:
            name, _, value = line.partition("=")
            if name == "createtype":
                create_type = value.strip().strip('"')
        else:
            raise FormatMismatch(f"Unsupported line in the VMDK descriptor: {line!r}.")
    if create_type not in VMDK_CREATE_TYPES:
        raise UnsafeImage(f"VMDK images of type {create_type} are refused; use "
                             "monolithicSparse or streamOptimized.")
    if not extents or any("/" in extent for extent in extents):
        raise UnsafeImage("The VMDK descriptor must name its extents without paths.")


def _vdi_virtual_size(head: bytes) -> int:
    if len(head) < 0x178 or struct.unpack_from("<I", head, 0x40)[0] != VDI_SIGNATURE:
        raise FormatMismatch("The data is not a VDI image.")
    return struct.unpack_from("<Q", head, 0x170)[0]


def _vhd_virtual_size(footer: bytes) -> int:
    if len(footer) < 56 or not footer.startswith(VHD_COOKIE):
        raise FormatMismatch("The data is not a VHD image.")
    return struct.unpack_from(">Q", footer, 48)[0]
