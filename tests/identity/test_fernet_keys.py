"""The Fernet key repository and its rotation."""

import pytest
from cryptography.fernet import InvalidToken

from stacklet.identity.fernet import KeyRepository


def test_rotation_keeps_recent_tokens_valid_and_prunes_old_keys(tmp_path):
    repo = KeyRepository(tmp_path / "keys", max_active_keys=3)
    repo.initialize()
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["0", "1"]
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in (tmp_path / "keys").iterdir())
    first = repo.fernet().encrypt(b"one")

    assert repo.rotate() == 2
    assert repo.fernet().decrypt(first) == b"one"
    second = repo.fernet().encrypt(b"two")

    assert repo.rotate() == 3
    # key 1 is pruned (staged 0 + primary 3 + secondary 2 remain)
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["0", "2", "3"]
    assert repo.fernet().decrypt(second) == b"two"
    with pytest.raises(InvalidToken):
        repo.fernet().decrypt(first)


def test_staged_key_already_validates(tmp_path):
    """A token signed with the staged key (another host already rotated) is accepted."""
    issuer = KeyRepository(tmp_path / "keys")
    issuer.initialize()
    import shutil
    shutil.copytree(tmp_path / "keys", tmp_path / "other")
    other = KeyRepository(tmp_path / "other")
    other.rotate()   # the other host promotes the staged key 0
    token = other.fernet().encrypt(b"x")
    assert issuer.fernet().decrypt(token) == b"x"


def test_rotated_keys_are_picked_up_by_a_running_service(api, cloud, monkeypatch):
    from tests.conftest import ADMIN_PASSWORD
    old_token = api.token("admin", ADMIN_PASSWORD, project="admin")
    monkeypatch.setattr(KeyRepository, "RELOAD_INTERVAL", 0)
    # another process (stacklet identity rotate-keys) rotates the repository
    KeyRepository(cloud.config.fernet_key_dir).rotate()
    new_token = api.token("admin", ADMIN_PASSWORD, project="admin")
    assert api.get("/identity/v3/domains", new_token).status_code == 200
    assert api.get("/identity/v3/domains", old_token).status_code == 200
