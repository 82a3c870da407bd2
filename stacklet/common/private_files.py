"""Keeping what Stacklet stores private to the user it runs as.

The data dir holds password hashes, credential secrets, token keys, user data
and guests' disks; the runtime dir holds the sockets that speak for guests
(QMP, metadata).  Neither may be readable by another local user, whatever
mode a directory had before Stacklet was pointed at it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_GROUP_OTHER = stat.S_IRWXG | stat.S_IRWXO


class NotPrivate(Exception):
    """A directory Stacklet would use belongs to another user or is a symlink."""


def secure_data_dir(data_dir: Path) -> int:
    """Create the data dir if needed and take group and other permissions off
    it and off everything in it this user owns (a 0644 file becomes 0600, a
    0755 dir 0700); symlinks are neither followed nor changed.  Returns how
    many entries were tightened."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _check_owned_directory(data_dir)
    tightened = _tighten(data_dir)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            tightened += _tighten(Path(root) / name)
    return tightened


def private_dir(path: Path) -> Path:
    """``path`` as a directory only this user can enter: created 0700 (with its
    parents) when missing, refused when another user owns it or it is a
    symlink (in a shared /tmp another user could have made it first)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _check_owned_directory(path)
    _tighten(path)
    return path


def _check_owned_directory(path: Path) -> None:
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise NotPrivate(f"{path} is not a directory (a symlink?): remove it, or choose "
                         "another directory")
    if info.st_uid != os.geteuid():
        raise NotPrivate(f"{path} belongs to uid {info.st_uid}, not to this user "
                         f"({os.geteuid()}): remove it or choose another directory")


def _tighten(path: Path) -> int:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
        return 0
    if not info.st_mode & _GROUP_OTHER:
        return 0
    mode = stat.S_IMODE(info.st_mode) & ~_GROUP_OTHER
    if stat.S_ISDIR(info.st_mode):
        mode |= stat.S_IRWXU
    os.chmod(path, mode)
    return 1


def write_private(path: Path, text: str) -> None:
    """Write a file only this user may read (0600 even if it existed with
    another mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
