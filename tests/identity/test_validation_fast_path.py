"""The shortcuts of the token validation path keep their guarantees."""

from __future__ import annotations

import os

from stacklet.common.context import RequestContext
from stacklet.common.errors import NotFound
from stacklet.common.policy import PolicyEnforcer
from stacklet.identity.tokens import TokenService
from tests.conftest import ADMIN_PASSWORD

TOKENS = "/identity/v3/auth/tokens"


def test_revocation_reaches_another_process_cache_at_once(api, cloud):
    """A second TokenService stands for another worker process: its cached
    validation must not outlive a revocation made through the first."""
    other = TokenService(cloud.db, cloud.keys, expiration=3600, allow_expired_window=0)
    subject = api.token("admin", ADMIN_PASSWORD, project="admin")
    assert other.validate(subject).user["name"] == "admin"
    assert other.validate(subject).user["name"] == "admin"     # now from its cache
    headers = {"X-Subject-Token": subject}
    assert api.delete(TOKENS, api.admin_token, headers=headers).status_code == 204
    for _ in range(3):
        try:
            other.validate(subject)
        except NotFound:
            continue
        raise AssertionError("a revoked token was still valid in another process")


def test_policy_file_takes_effect_when_written_changed_and_removed(tmp_path):
    policy_file = tmp_path / "policy.yaml"
    enforcer = PolicyEnforcer(policy_file, [])
    admin = RequestContext(user_id="u", user_name="admin", user_domain_id="default",
                           user_domain_name="Default", roles=("admin",))
    assert enforcer.allowed(admin, "context_is_admin")

    policy_file.write_text('"context_is_admin": "!"\n')
    assert not enforcer.allowed(admin, "context_is_admin")

    policy_file.write_text('"context_is_admin": "role:admin"\n')
    # Same size as a possible earlier write; a new mtime still counts.
    stat = policy_file.stat()
    os.utime(policy_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert enforcer.allowed(admin, "context_is_admin")

    policy_file.write_text('"context_is_admin": "!"\n')
    assert not enforcer.allowed(admin, "context_is_admin")
    policy_file.unlink()
    assert enforcer.allowed(admin, "context_is_admin")
