"""Keystone's security compliance rules (PCI-DSS) for local passwords.

Lockout after repeated wrong passwords, password expiry, password history,
minimum password age, a required pattern, and a change of password upon
first use.  Each rule is off unless ``[security_compliance]`` in the
configuration turns it on; users.py and authentication.py apply them, this
module says what they are.  Messages are Keystone's, word for word, since
clients and operators search for them.
"""

from __future__ import annotations

import dataclasses
import datetime
import re

import sqlalchemy as sa

from stacklet.common.errors import BadRequest, Unauthorized
from stacklet.config import Config
from stacklet.db import Database, utcnow
from stacklet.identity.models import User
from stacklet.identity.passwords import secret_matches, verify_secret

SECTION = "security_compliance"


@dataclasses.dataclass(frozen=True)
class PasswordRules:
    """The [security_compliance] options; the defaults switch every rule off."""

    lockout_failure_attempts: int = 0
    lockout_duration: int = 1800
    password_expires_days: int = 0
    unique_last_password_count: int = 0
    minimum_password_age: int = 0
    password_regex: str = ""
    password_regex_description: str = ""
    change_password_upon_first_use: bool = False

    @classmethod
    def from_config(cls, config: Config) -> PasswordRules:
        return cls(**{field.name: config.get(SECTION, field.name)
                      for field in dataclasses.fields(cls)})


def _has_option(user: User, name: str) -> bool:
    """Whether a Keystone user option (ignore_lockout_failure_attempts, ...) is on."""
    return (user.options or {}).get(name) is True


# -- lockout ---------------------------------------------------------------------

def _is_locked_out(rules: PasswordRules, user: User, now: datetime.datetime) -> bool:
    if not rules.lockout_failure_attempts or _has_option(
            user, "ignore_lockout_failure_attempts"):
        return False
    if (user.failed_auth_count or 0) < rules.lockout_failure_attempts:
        return False
    if not rules.lockout_duration:
        return True     # locked until an admin enables the user again
    if user.failed_auth_at + datetime.timedelta(seconds=rules.lockout_duration) > now:
        return True
    # The lockout is over: the user starts again with a clean count.
    reset_failed_attempts(user)
    return False


def reset_failed_attempts(user: User) -> None:
    user.failed_auth_count = 0
    user.failed_auth_at = None


def password_matches(rules: PasswordRules, user: User, password: str, *, rounds: int) -> bool:
    """Check a user's password, keeping the count of consecutive failures.

    A locked-out user is refused (401) even with the right password.  The
    caller stores the count it keeps on the user with record_attempt.
    ``rounds`` is the configured bcrypt cost (see passwords.verify_secret).
    """
    now = utcnow()
    if _is_locked_out(rules, user, now):
        raise Unauthorized(f"The account is locked for user: {user.id}.")
    if not verify_secret(password, user.password_hash, rounds=rounds):
        user.failed_auth_count = (user.failed_auth_count or 0) + 1
        user.failed_auth_at = now
        return False
    if user.failed_auth_count:
        reset_failed_attempts(user)
    return True


def record_attempt(db: Database, user: User) -> None:
    """Store the failed-attempt count password_matches kept on the user.

    Password checks run in read-only sessions, so that bcrypt never holds the
    database's write lock; the count (a failure, or the reset after a
    success) is written in a short transaction of its own, which also keeps
    it when the request fails.
    """
    state = sa.inspect(user).attrs
    if not any(state[name].history.has_changes()
               for name in ("failed_auth_count", "failed_auth_at")):
        return
    with db.transaction() as tx:
        stored = tx.get(User, user.id)
        stored.failed_auth_count = user.failed_auth_count
        stored.failed_auth_at = user.failed_auth_at


# -- expiry ----------------------------------------------------------------------

def check_password_not_expired(user: User) -> None:
    if _has_option(user, "ignore_password_expiry"):
        return
    if user.password_expires_at and user.password_expires_at <= utcnow():
        raise Unauthorized(f"The password is expired and needs to be changed for user: "
                           f"{user.id}.")


def _expiry(rules: PasswordRules, user: User, set_at: datetime.datetime,
            *, set_by_owner: bool) -> datetime.datetime | None:
    # Keystone makes a password an admin set expire at once: its owner can
    # still change it (the original password is the proof), and nothing else.
    if (rules.change_password_upon_first_use and not set_by_owner
            and not _has_option(user, "ignore_change_password_upon_first_use")):
        return set_at
    if rules.password_expires_days and not _has_option(user, "ignore_password_expiry"):
        # Tokens carry the expiry with whole seconds.
        return (set_at + datetime.timedelta(days=rules.password_expires_days)).replace(
            microsecond=0)
    return None


# -- new passwords ---------------------------------------------------------------

def check_password_requirements(rules: PasswordRules, password: str | None) -> None:
    """Any new password, whoever sets it, must match password_regex."""
    if password is None or not rules.password_regex:
        return
    if not re.match(rules.password_regex, password):
        raise BadRequest(f"The password does not match the requirements: "
                         f"{rules.password_regex_description}.")


def check_owner_may_change(rules: PasswordRules, user: User, password: str) -> None:
    """What a self-service change must respect and an admin reset need not:
    lock_password, the minimum age and the password history."""
    if _has_option(user, "lock_password"):
        raise BadRequest("You cannot change your password at this time due to password "
                         "policy disallowing password changes. Please contact your "
                         "administrator to reset your password.")
    # As in Keystone, the minimum age binds a password its owner chose; after
    # an admin reset the owner may change it at once.
    if rules.minimum_password_age and user.password_set_by_owner and user.password_changed_at:
        changeable_at = user.password_changed_at + datetime.timedelta(
            days=rules.minimum_password_age)
        now = utcnow()
        if now < changeable_at:
            raise BadRequest(
                f"You cannot change your password at this time due to the minimum password "
                f"age. Once you change your password, it must be used for "
                f"{rules.minimum_password_age} day(s) before it can be changed. Please try "
                f"again in {(changeable_at - now).days} day(s) or contact your "
                f"administrator to reset your password.")
    count = rules.unique_last_password_count
    if count > 0:
        recent = [user.password_hash, *(user.password_history or [])[::-1]][:count]
        if any(secret_matches(password, hashed) for hashed in recent if hashed):
            raise BadRequest(f"The new password cannot be identical to a previous password. "
                             f"The total number which includes the new password must be "
                             f"unique is {count}.")


def store_password(rules: PasswordRules, user: User, password_hash: str | None,
                   *, set_by_owner: bool) -> None:
    """Record a new password (or its removal, with None) and when it expires."""
    previous = user.password_hash
    # The history holds the hashes before the current one, newest last, as
    # many as unique_last_password_count can ask for.
    keep = max(rules.unique_last_password_count - 1, 0)
    history = [*(user.password_history or []), *([previous] if previous else [])]
    user.password_history = history[-keep:] if keep else []
    now = utcnow()
    user.password_hash = password_hash
    user.password_changed_at = now
    user.password_set_by_owner = set_by_owner
    user.password_expires_at = (_expiry(rules, user, now, set_by_owner=set_by_owner)
                                if password_hash is not None else None)
