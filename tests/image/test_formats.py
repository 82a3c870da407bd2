"""Format inspection against images qemu-img makes: the virtual size it reads
from headers is qemu's, and content that is not what it claims (or points at
files on the host) is refused."""

from __future__ import annotations

import json
import subprocess

import pytest

from stacklet.image import formats

SIZE = "100M"


def qemu_img(*args: str) -> str:
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True,
                          text=True).stdout


def make(tmp_path, qemu_format: str, *options: str, size: str = SIZE):
    path = tmp_path / f"disk.{qemu_format}"
    qemu_img("create", "-q", "-f", qemu_format, *options, str(path), size)
    return path


def qemu_virtual_size(path) -> int:
    return json.loads(qemu_img("info", "--output=json", str(path)))["virtual-size"]


@pytest.mark.parametrize("disk_format, qemu_format, options", [
    ("qcow2", "qcow2", ()),
    ("qcow2", "qcow2", ("-o", "compat=0.10")),
    ("vmdk", "vmdk", ()),
    ("vmdk", "vmdk", ("-o", "subformat=streamOptimized")),
    ("vdi", "vdi", ()),
    ("vhd", "vpc", ()),   # qemu rounds to a CHS geometry: 104865792
    ("raw", "raw", ()),
])
def test_virtual_size_is_what_qemu_reads(tmp_path, disk_format, qemu_format, options):
    path = make(tmp_path, qemu_format, *options)
    assert formats.inspect(path, disk_format) == qemu_virtual_size(path)


def test_vhdx_and_iso_are_recognised(tmp_path):
    assert formats.inspect(make(tmp_path, "vhdx"), "vhdx") is None   # size not parsed
    iso = tmp_path / "disk.iso"
    iso.write_bytes(b"\0" * formats.ISO_MAGIC_OFFSET + b"CD001" + b"\0" * 4000)
    assert formats.inspect(iso, "iso") == iso.stat().st_size
    for disk_format in ("vhdx", "iso"):
        with pytest.raises(formats.FormatMismatch):
            formats.inspect(make(tmp_path, "raw", size="1M"), disk_format)


def test_formats_without_content_checks(tmp_path):
    path = make(tmp_path, "raw", size="1M")
    for disk_format in ("ami", "ari", "aki", "ploop", None):
        assert formats.inspect(path, disk_format) is None


@pytest.mark.parametrize("disk_format, qemu_format", [
    ("qcow2", "vmdk"), ("vmdk", "qcow2"), ("vdi", "qcow2"), ("vhd", "qcow2"),
    ("raw", "qcow2"), ("raw", "vmdk"), ("raw", "vdi"), ("raw", "vhdx")])
def test_content_of_another_format_is_refused(tmp_path, disk_format, qemu_format):
    with pytest.raises(formats.FormatMismatch):
        formats.inspect(make(tmp_path, qemu_format, size="1M"), disk_format)


def test_short_or_empty_files_are_refused(tmp_path):
    path = tmp_path / "short"
    for content in (b"", b"QFI\xfb\0\0\0\3", b"KDMV" + b"\0" * 10):
        path.write_bytes(content)
        for disk_format in ("qcow2", "vmdk", "vdi", "vhd", "vhdx", "iso"):
            with pytest.raises(formats.FormatMismatch):
                formats.inspect(path, disk_format)


def test_qcow2_pointing_at_host_files_is_refused(tmp_path):
    base = make(tmp_path, "raw", size="1M")
    with_backing = tmp_path / "top.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(with_backing))
    with pytest.raises(formats.UnsafeImage, match="backing file"):
        formats.inspect(with_backing, "qcow2")
    with_data_file = tmp_path / "external.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"data_file={tmp_path / 'data.raw'}",
             str(with_data_file), "1M")
    with pytest.raises(formats.UnsafeImage, match="external data file"):
        formats.inspect(with_data_file, "qcow2")


def rewrite_descriptor(path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new.ljust(len(old)), 1))


def test_vmdk_descriptor_pointing_elsewhere_is_refused(tmp_path):
    path = make(tmp_path, "vmdk", size="1M")
    rewrite_descriptor(path, b'"disk.vmdk"', b'"/etc/shadow"')
    with pytest.raises(formats.UnsafeImage, match="without paths"):
        formats.inspect(path, "vmdk")


def test_vmdk_of_a_type_spanning_files_is_refused(tmp_path):
    path = make(tmp_path, "vmdk", size="1M")
    rewrite_descriptor(path, b'createType="monolithicSparse"', b'createType="twoGbMaxExtentSparse"')
    with pytest.raises(formats.UnsafeImage, match="twogbmaxextentsparse"):
        formats.inspect(path, "vmdk")
    descriptor_only = make(tmp_path, "vmdk", "-o", "subformat=monolithicFlat", size="1M")
    with pytest.raises(formats.FormatMismatch):
        formats.inspect(descriptor_only, "vmdk")


def test_vmdk_descriptor_with_unknown_lines_is_refused(tmp_path):
    path = make(tmp_path, "vmdk", size="1M")
    rewrite_descriptor(path, b"# The Disk Data Base", b"something unexpected")
    with pytest.raises(formats.FormatMismatch, match="Unsupported line"):
        formats.inspect(path, "vmdk")
