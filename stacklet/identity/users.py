"""Users, their passwords, groups and group membership (Keystone's "identity" backend)."""

from __future__ import annotations

import dataclasses
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest, Conflict, NotFound, Unauthorized
from stacklet.db import Database
from stacklet.identity import compliance, revoke
from stacklet.identity.compliance import PasswordRules
from stacklet.identity.models import (
    ApplicationCredential,
    Credential,
    Group,
    GroupMembership,
    RoleAssignment,
    User,
    new_id,
)
from stacklet.identity.passwords import verify_secret
from stacklet.identity.records import get_or_404
from stacklet.identity.resource import get_domain

# Hashes a new password (the cloud's configured bcrypt cost).
PasswordHasher = Callable[[str], str]


@dataclasses.dataclass(frozen=True)
class NewPassword:
    """A new password that meets the password rules, with its hash.  Made
    before the transaction that stores it: bcrypt takes a quarter of a second,
    which must not be spent holding the database's write lock."""
    plain: str
    hash: str


def prepare_password(hash_password: PasswordHasher, rules: PasswordRules,
                     password: str | None) -> NewPassword | None:
    """Check a new password against password_regex and hash it (None stays None)."""
    if password is None:
        return None
    compliance.check_password_requirements(rules, password)
    return NewPassword(password, hash_password(password))


# -- users -----------------------------------------------------------------------

def _check_name_free(session: Session, model: type[User] | type[Group], domain_id: str,
                     name: str, action: str) -> None:
    """Users and groups have names unique in their domain (409 otherwise)."""
    if session.scalar(sa.select(model.id).where(model.domain_id == domain_id,
                                                model.name == name)):
        kind = model.__name__.lower()
        raise Conflict(f"Conflict occurred attempting to {action} {kind} - Duplicate entry "
                       f"found with name {name} at domain ID {domain_id}.")


def get_user(session: Session, user_id: str) -> User:
    return get_or_404(session, User, user_id, "user")


def list_users(session: Session, *, domain_id: str | None = None) -> list[User]:
    query = sa.select(User).order_by(User.name)
    if domain_id is not None:
        query = query.where(User.domain_id == domain_id)
    return list(session.scalars(query))


def _merge_options(current: dict, changes: dict) -> dict:
    """Keystone's option semantics: a null value removes the option."""
    merged = {**current, **changes}
    return {name: value for name, value in merged.items() if value is not None}


def create_user(session: Session, rules: PasswordRules, *,
                name: str, domain_id: str, password: NewPassword | None = None,
                enabled: bool = True,
                default_project_id: str | None = None, description: str | None = None,
                email: str | None = None, options: dict | None = None,
                extra: dict | None = None) -> User:
    # As in Keystone, an unknown domain is a 404, while an unknown default
    # project is accepted (it may be created later).
    get_domain(session, domain_id)
    _check_name_free(session, User, domain_id, name, "create")
    user = User(id=new_id(), name=name, domain_id=domain_id, enabled=enabled,
                default_project_id=default_project_id, description=description, email=email,
                options=_merge_options({}, options or {}), extra=extra or {})
    if password is not None:
        compliance.store_password(rules, user, password.hash, set_by_owner=False)
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, rules: PasswordRules, user_id: str, changes: dict,
                extra: dict, password: NewPassword | None = None) -> User:
    """Change a user's attributes.  A new password (``password``, prepared from
    ``changes["password"]``; a null one there removes the password) or
    disabling the user revokes every token the user holds.

    An admin's new password must meet password_regex but, as in Keystone,
    neither the history nor the minimum age: that is how an admin helps a
    user out."""
    user = get_user(session, user_id)
    if changes.get("domain_id", user.domain_id) != user.domain_id:
        raise BadRequest("Update of domain_id is not allowed.")
    if "name" in changes and changes["name"] != user.name:
        _check_name_free(session, User, user.domain_id, changes["name"], "update")
    for field in ("name", "enabled", "default_project_id", "description", "email"):
        if field in changes:
            setattr(user, field, changes[field])
    if changes.get("enabled") is True:
        # Enabling a user is how an admin lifts a lockout (as in Keystone).
        compliance.reset_failed_attempts(user)
    if "options" in changes:
        user.options = _merge_options(user.options or {}, changes["options"])
    if extra:
        user.extra = {**(user.extra or {}), **extra}
    if "password" in changes:
        _set_password(session, rules, user, password, set_by_owner=False)
    elif changes.get("enabled") is False:
        revoke.revoke(session, user_id=user.id)
    session.flush()
    return user


def check_original_password(db: Database, rules: PasswordRules, user_id: str,
                            original_password: str, *, rounds: int) -> None:
    """The proof of a self-service password change, checked before (and
    outside) its transaction; a wrong one counts toward the lockout like a
    failed login.  ``rounds``: the configured bcrypt cost."""
    wrong = "Error when changing user password: the original password is incorrect."
    with db.session() as session:
        user = session.get(User, user_id)
        if user is None:
            # Only a caller without a token gets here (with one, the handler
            # answered 404): say nothing of whether the user exists, not even
            # by answering sooner.
            verify_secret(original_password, None, rounds=rounds)
            raise Unauthorized(wrong)
        matched = compliance.password_matches(rules, user, original_password, rounds=rounds)
        compliance.record_attempt(db, user)
    if not matched:
        raise Unauthorized(wrong)


def change_password(session: Session, rules: PasswordRules, user_id: str,
                    password: NewPassword) -> None:
    """The self-service password change, once check_original_password passed.
    It works with an expired password, since changing it is the way out."""
    user = get_user(session, user_id)
    compliance.check_owner_may_change(rules, user, password.plain)
    _set_password(session, rules, user, password, set_by_owner=True)


def _set_password(session: Session, rules: PasswordRules, user: User,
                  password: NewPassword | None, *, set_by_owner: bool) -> None:
    """Set (or with None, remove) the password; tokens issued before stop working."""
    compliance.store_password(rules, user, password.hash if password is not None else None,
                              set_by_owner=set_by_owner)
    revoke.revoke(session, user_id=user.id)


def delete_user(session: Session, user_id: str) -> None:
    """Delete a user with their role assignments, group memberships,
    credentials and application credentials; their tokens stop working at once."""
    user = get_user(session, user_id)
    session.execute(sa.delete(RoleAssignment).where(RoleAssignment.actor_type == "user",
                                                    RoleAssignment.actor_id == user_id))
    session.execute(sa.delete(GroupMembership).where(GroupMembership.user_id == user_id))
    session.execute(sa.delete(ApplicationCredential)
                    .where(ApplicationCredential.user_id == user_id))
    session.execute(sa.delete(Credential).where(Credential.user_id == user_id))
    session.delete(user)
    revoke.bump_revision(session)


# -- groups ----------------------------------------------------------------------

def get_group(session: Session, group_id: str) -> Group:
    return get_or_404(session, Group, group_id, "group")


def list_groups(session: Session, *, domain_id: str | None = None) -> list[Group]:
    query = sa.select(Group).order_by(Group.name)
    if domain_id is not None:
        query = query.where(Group.domain_id == domain_id)
    return list(session.scalars(query))


def create_group(session: Session, *, name: str, domain_id: str, description: str = "",
                 extra: dict | None = None) -> Group:
    get_domain(session, domain_id)
    _check_name_free(session, Group, domain_id, name, "create")
    group = Group(id=new_id(), name=name, domain_id=domain_id,
                  description=description or "", extra=extra or {})
    session.add(group)
    session.flush()
    return group


def update_group(session: Session, group_id: str, changes: dict, extra: dict) -> Group:
    group = get_group(session, group_id)
    if changes.get("domain_id", group.domain_id) != group.domain_id:
        raise BadRequest("Update of domain_id is not allowed.")
    if "name" in changes and changes["name"] != group.name:
        _check_name_free(session, Group, group.domain_id, changes["name"], "update")
    if "name" in changes:
        group.name = changes["name"]
    if "description" in changes:
        group.description = changes["description"] or ""
    if extra:
        group.extra = {**(group.extra or {}), **extra}
    session.flush()
    return group


def delete_group(session: Session, group_id: str) -> None:
    """Delete a group; the roles its members held through it go away at once."""
    group = get_group(session, group_id)
    session.execute(sa.delete(RoleAssignment).where(RoleAssignment.actor_type == "group",
                                                    RoleAssignment.actor_id == group_id))
    session.execute(sa.delete(GroupMembership).where(GroupMembership.group_id == group_id))
    session.delete(group)
    revoke.bump_revision(session)


# -- membership ------------------------------------------------------------------

def groups_of_user(session: Session, user_id: str) -> list[Group]:
    get_user(session, user_id)
    return list(session.scalars(
        sa.select(Group).join(GroupMembership, GroupMembership.group_id == Group.id)
        .where(GroupMembership.user_id == user_id).order_by(Group.name)))


def users_in_group(session: Session, group_id: str) -> list[User]:
    get_group(session, group_id)
    return list(session.scalars(
        sa.select(User).join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.group_id == group_id).order_by(User.name)))


def _membership(session: Session, group_id: str, user_id: str) -> GroupMembership | None:
    get_group(session, group_id)
    get_user(session, user_id)
    return session.get(GroupMembership, (group_id, user_id))


def add_user_to_group(session: Session, group_id: str, user_id: str) -> None:
    if _membership(session, group_id, user_id) is None:
        session.add(GroupMembership(group_id=group_id, user_id=user_id))


def check_user_in_group(session: Session, group_id: str, user_id: str) -> None:
    if _membership(session, group_id, user_id) is None:
        raise NotFound(f"User '{user_id}' not found in group '{group_id}'.")


def remove_user_from_group(session: Session, group_id: str, user_id: str) -> None:
    """Remove a member; the roles they held through the group go away at once."""
    membership = _membership(session, group_id, user_id)
    if membership is None:
        raise NotFound(f"User '{user_id}' not found in group '{group_id}'.")
    session.delete(membership)
    revoke.bump_revision(session)
