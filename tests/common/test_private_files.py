"""What Stacklet keeps on disk stays private to the user it runs as (issue 13)."""

from __future__ import annotations

import os
import stat

import pytest

from stacklet.common.private_files import NotPrivate, private_dir, secure_data_dir

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a dir to another user needs root")
NOBODY = 65534


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_an_existing_data_dir_and_its_contents_are_tightened(tmp_path):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "stacklet.db").write_text("hashes")
    outside = tmp_path / "outside"
    outside.write_text("not ours to change")
    (data / "link").symlink_to(outside)
    for path, loose in ((data, 0o755), (data / "images", 0o775), (data / "stacklet.db", 0o644),
                        (outside, 0o644)):
        path.chmod(loose)

    assert secure_data_dir(data) == 3
    assert (mode(data), mode(data / "images"), mode(data / "stacklet.db")) == (
        0o700, 0o700, 0o600)
    assert mode(outside) == 0o644          # a symlink is not followed
    assert secure_data_dir(data) == 0      # nothing left to do


def test_a_private_dir_is_made_0700_with_its_parents(tmp_path):
    made = private_dir(tmp_path / "a" / "b")
    assert mode(made) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o777)
    loose.chmod(0o777)
    assert mode(private_dir(loose)) == 0o700


def test_a_symlink_is_not_taken_for_a_private_dir(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "stacklet-1000").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(NotPrivate, match="not a directory"):
        private_dir(tmp_path / "stacklet-1000")


@as_root
def test_a_dir_another_user_made_first_is_refused(tmp_path):
    """In a shared /tmp another local user can create /tmp/stacklet-<uid> before
    us and watch or replace the guests' sockets in it."""
    planted = tmp_path / "stacklet-1000"
    planted.mkdir(mode=0o777)
    os.chown(planted, NOBODY, NOBODY)
    with pytest.raises(NotPrivate, match=f"belongs to uid {NOBODY}"):
        private_dir(planted)
