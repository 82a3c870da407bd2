"""[security_compliance]: lockout, password history, minimum age, expiry,
password pattern and change upon first use (Keystone's PCI-DSS features)."""

import datetime

import pytest

from stacklet import config as config_module
from stacklet.db import utcnow
from stacklet.identity.models import User
from tests.conftest import ADMIN_PASSWORD

V3 = "/identity/v3"
AUTH_FAILED = "The request you have made requires authentication."


def compliance(**options):
    """Run a test on a Stacklet with these [security_compliance] options."""
    return pytest.mark.parametrize(
        "config_overrides", [{("security_compliance", k): v for k, v in options.items()}],
        ids=["-".join(options)])


def _message(response) -> str:
    return response.json()["error"]["message"]


def _change_own_password(api, user: dict, original: str, password: str, token=None):
    return api.post(f"{V3}/users/{user['id']}/password", {"user": {
        "original_password": original, "password": password}}, token)


def _set_on_user(api, user_id: str, **values) -> None:
    """Change a user's row directly: how the tests move a date into the past."""
    with api.cloud.db.transaction() as session:
        row = session.get(User, user_id)
        for name, value in values.items():
            setattr(row, name, value)


def _row(api, user_id: str) -> User:
    with api.cloud.db.session() as session:
        return session.get(User, user_id)


# -- configuration ---------------------------------------------------------------

def test_the_options_are_documented_and_read_from_the_environment(tmp_path):
    path = tmp_path / "stacklet.conf"
    config_module.write_documented_file(path)
    text = path.read_text()
    assert "[security_compliance]" in text
    assert "#lockout_failure_attempts = 0" in text and "#lockout_duration = 1800" in text
    assert "STACKLET_SECURITY_COMPLIANCE_UNIQUE_LAST_PASSWORD_COUNT" in text
    config = config_module.load(tmp_path, environ={
        "STACKLET_SECURITY_COMPLIANCE_LOCKOUT_FAILURE_ATTEMPTS": "2",
        "STACKLET_SECURITY_COMPLIANCE_CHANGE_PASSWORD_UPON_FIRST_USE": "true"})
    assert config.get("security_compliance", "lockout_failure_attempts") == 2
    assert config.get("security_compliance", "change_password_upon_first_use") is True
    assert config.get("security_compliance", "password_expires_days") == 0
    with pytest.raises(SystemExit, match="password_regex"):
        config_module.load(tmp_path, environ={
            "STACKLET_SECURITY_COMPLIANCE_PASSWORD_REGEX": "(unclosed"})


def test_by_default_no_rule_applies(api):
    user = api.make_user(password="pw")
    for _ in range(5):
        assert api.auth(user["name"], "wrong").status_code == 401
    assert api.auth(user["name"], "pw").status_code == 201
    for new, old in (("pw2", "pw"), ("pw", "pw2"), ("pw", "pw")):
        assert _change_own_password(api, user, old, new).status_code == 204
    assert api.admin("GET", f"/users/{user['id']}").json()["user"]["password_expires_at"] is None


# -- lockout ---------------------------------------------------------------------

@compliance(lockout_failure_attempts=2, lockout_duration=60)
def test_wrong_passwords_lock_the_account_until_the_duration_passes(api):
    user = api.make_user(password="right")
    for _ in range(2):
        response = api.auth(user["name"], "wrong")
        assert response.status_code == 401 and _message(response) == AUTH_FAILED
    locked = api.auth(user["name"], "right")
    assert locked.status_code == 401
    assert _message(locked) == f"The account is locked for user: {user['id']}."
    # Changing the password is no way around the lockout.
    assert _change_own_password(api, user, "right", "other").status_code == 401

    _set_on_user(api, user["id"], failed_auth_at=utcnow() - datetime.timedelta(seconds=61))
    assert api.auth(user["name"], "right").status_code == 201
    assert _row(api, user["id"]).failed_auth_count == 0


@compliance(lockout_failure_attempts=2, lockout_duration=60)
def test_a_success_resets_the_count_of_failures(api):
    user = api.make_user(password="right")
    for _ in range(3):
        assert api.auth(user["name"], "wrong").status_code == 401
        assert api.auth(user["name"], "right").status_code == 201


@compliance(lockout_failure_attempts=2, lockout_duration=60)
def test_wrong_original_passwords_count_toward_the_lockout(api):
    user = api.make_user(password="right")
    for _ in range(2):
        wrong = _change_own_password(api, user, "wrong", "new-one")
        assert wrong.status_code == 401
        assert _message(wrong) == ("Error when changing user password: the original "
                                   "password is incorrect.")
    assert _message(api.auth(user["name"], "right")) == (
        f"The account is locked for user: {user['id']}.")


@compliance(lockout_failure_attempts=1, lockout_duration=60)
def test_ignore_lockout_failure_attempts_exempts_a_user(api):
    user = api.admin("POST", "/users", {"user": {
        "name": "robot", "password": "right",
        "options": {"ignore_lockout_failure_attempts": True}}}, expect=201).json()["user"]
    for _ in range(3):
        assert api.auth("robot", "wrong").status_code == 401
    assert api.auth("robot", "right").status_code == 201
    # Without the option, the same user is locked at once.
    api.admin("PATCH", f"/users/{user['id']}", {"user": {
        "options": {"ignore_lockout_failure_attempts": None}}}, expect=200)
    assert api.auth("robot", "wrong").status_code == 401
    assert api.auth("robot", "right").status_code == 401


@compliance(lockout_failure_attempts=2, lockout_duration=0)
def test_without_a_duration_only_enabling_the_user_lifts_the_lockout(api):
    user = api.make_user(password="right")
    for _ in range(2):
        api.auth(user["name"], "wrong")
    _set_on_user(api, user["id"], failed_auth_at=utcnow() - datetime.timedelta(days=365))
    assert api.auth(user["name"], "right").status_code == 401
    api.admin("PATCH", f"/users/{user['id']}", {"user": {"enabled": True}}, expect=200)
    assert api.auth(user["name"], "right").status_code == 201


# -- password history ------------------------------------------------------------

@compliance(unique_last_password_count=3)
def test_a_self_service_change_cannot_reuse_a_recent_password(api):
    user = api.make_user(password="pw-1")
    assert _change_own_password(api, user, "pw-1", "pw-2").status_code == 204
    token = api.token(user["name"], "pw-2")
    for reused in ("pw-1", "pw-2"):
        refused = _change_own_password(api, user, "pw-2", reused, token)
        assert refused.status_code == 400
        assert _message(refused) == (
            "The new password cannot be identical to a previous password. The total "
            "number which includes the new password must be unique is 3.")
    # A refused change changes nothing: the token and the password still work.
    assert api.get(f"{V3}/users/{user['id']}", token).status_code == 200
    assert api.auth(user["name"], "pw-2").status_code == 201

    assert _change_own_password(api, user, "pw-2", "pw-3").status_code == 204
    assert _change_own_password(api, user, "pw-3", "pw-1").status_code == 400
    assert _change_own_password(api, user, "pw-3", "pw-4").status_code == 204
    # pw-1 is now older than the last three (pw-2, pw-3, pw-4).
    assert _change_own_password(api, user, "pw-4", "pw-1").status_code == 204


@compliance(unique_last_password_count=3)
def test_an_admin_reset_is_not_checked_but_is_recorded(api):
    user = api.make_user(password="pw-1")
    assert _change_own_password(api, user, "pw-1", "pw-2").status_code == 204
    api.admin("PATCH", f"/users/{user['id']}", {"user": {"password": "pw-1"}}, expect=200)
    assert api.auth(user["name"], "pw-1").status_code == 201
    assert _change_own_password(api, user, "pw-1", "pw-2").status_code == 400
    api.admin("PATCH", f"/users/{user['id']}", {"user": {"password": "pw-3"}}, expect=200)
    assert _change_own_password(api, user, "pw-3", "pw-1").status_code == 400


# -- minimum password age --------------------------------------------------------

@compliance(minimum_password_age=2)
def test_a_password_its_owner_chose_must_be_kept_for_the_minimum_age(api):
    user = api.make_user(password="pw-1")
    # The password came from an admin: its owner may replace it at once.
    assert _change_own_password(api, user, "pw-1", "pw-2").status_code == 204
    too_soon = _change_own_password(api, user, "pw-2", "pw-3")
    assert too_soon.status_code == 400
    assert _message(too_soon) == (
        "You cannot change your password at this time due to the minimum password age. "
        "Once you change your password, it must be used for 2 day(s) before it can be "
        "changed. Please try again in 1 day(s) or contact your administrator to reset "
        "your password.")
    assert api.auth(user["name"], "pw-2").status_code == 201

    _set_on_user(api, user["id"], password_changed_at=utcnow() - datetime.timedelta(days=3))
    assert _change_own_password(api, user, "pw-2", "pw-3").status_code == 204


@compliance(minimum_password_age=2)
def test_an_admin_reset_ignores_the_minimum_age(api):
    user = api.make_user(password="pw-1")
    assert _change_own_password(api, user, "pw-1", "pw-2").status_code == 204
    api.admin("PATCH", f"/users/{user['id']}", {"user": {"password": "pw-3"}}, expect=200)
    assert _change_own_password(api, user, "pw-3", "pw-4").status_code == 204


# -- expiry ----------------------------------------------------------------------

@compliance(password_expires_days=10)
def test_passwords_expire_after_the_configured_days(api):
    user = api.make_user(password="pw-1")
    shown = api.admin("GET", f"/users/{user['id']}").json()["user"]["password_expires_at"]
    expires_at = datetime.datetime.fromisoformat(shown.rstrip("Z"))
    assert abs(expires_at - (utcnow() + datetime.timedelta(days=10))) < datetime.timedelta(
        minutes=1)
    token = api.auth(user["name"], "pw-1").json()["token"]
    assert token["user"]["password_expires_at"] == shown

    _set_on_user(api, user["id"], password_expires_at=utcnow() - datetime.timedelta(seconds=1))
    expired = api.auth(user["name"], "pw-1")
    assert expired.status_code == 401
    assert _message(expired) == (
        f"The password is expired and needs to be changed for user: {user['id']}.")
    # The way out needs no token: the original password is the proof.
    assert _change_own_password(api, user, "pw-1", "pw-2").status_code == 204
    assert api.auth(user["name"], "pw-2").status_code == 201


@compliance(password_expires_days=10)
def test_ignore_password_expiry_exempts_a_user(api):
    user = api.admin("POST", "/users", {"user": {
        "name": "robot", "password": "pw", "options": {"ignore_password_expiry": True}}},
        expect=201).json()["user"]
    assert user["password_expires_at"] is None
    _set_on_user(api, user["id"], password_expires_at=utcnow() - datetime.timedelta(days=1))
    assert api.auth("robot", "pw").status_code == 201


# -- password pattern ------------------------------------------------------------

REQUIREMENT = "at least 7 characters, with a letter and a digit"


@compliance(password_regex=r"^(?=.*\d)(?=.*[a-zA-Z]).{7,}$",
            password_regex_description=REQUIREMENT)
def test_every_new_password_must_match_the_pattern(api):
    refused = api.admin("POST", "/users", {"user": {"name": "weak", "password": "short"}})
    assert refused.status_code == 400
    assert _message(refused) == f"The password does not match the requirements: {REQUIREMENT}."
    assert api.admin("GET", "/users?name=weak").json()["users"] == []

    user = api.make_user(password="abcdef1")
    before = api.admin("GET", f"/users/{user['id']}").json()["user"]
    api.admin("PATCH", f"/users/{user['id']}", {"user": {
        "password": "letters-only", "description": "changed"}}, expect=400)
    assert api.admin("GET", f"/users/{user['id']}").json()["user"] == before
    assert _change_own_password(api, user, "abcdef1", "1234567").status_code == 400
    assert api.auth(user["name"], "abcdef1").status_code == 201

    assert _change_own_password(api, user, "abcdef1", "ghijkl2").status_code == 204
    api.admin("PATCH", f"/users/{user['id']}", {"user": {"password": "mnopqr3"}}, expect=200)
    assert api.auth(user["name"], "mnopqr3").status_code == 201
    # A user without a password is not a password.
    api.admin("POST", "/users", {"user": {"name": "service"}}, expect=201)


# -- change upon first use -------------------------------------------------------

FIRST_USE = "The password is expired and needs to be changed for user: {}."


@compliance(change_password_upon_first_use=True)
def test_a_password_set_by_an_admin_must_be_changed_before_use(api):
    user = api.make_user(password="given")
    refused = api.auth(user["name"], "given")
    assert refused.status_code == 401 and _message(refused) == FIRST_USE.format(user["id"])
    assert _change_own_password(api, user, "given", "chosen").status_code == 204
    assert api.auth(user["name"], "chosen").status_code == 201

    api.admin("PATCH", f"/users/{user['id']}", {"user": {"password": "reset"}}, expect=200)
    assert api.auth(user["name"], "reset").status_code == 401
    assert _change_own_password(api, user, "reset", "mine").status_code == 204
    assert api.auth(user["name"], "mine").status_code == 201


@compliance(change_password_upon_first_use=True)
def test_ignore_change_password_upon_first_use_and_the_bootstrap_admin_are_exempt(api):
    api.admin("POST", "/users", {"user": {
        "name": "robot", "password": "given",
        "options": {"ignore_change_password_upon_first_use": True}}}, expect=201)
    assert api.auth("robot", "given").status_code == 201
    assert api.auth("admin", ADMIN_PASSWORD, project="admin").status_code == 201


# -- lock_password ---------------------------------------------------------------

def test_lock_password_refuses_self_service_but_not_an_admin(api):
    user = api.admin("POST", "/users", {"user": {
        "name": "shared", "password": "pw-1", "options": {"lock_password": True}}},
        expect=201).json()["user"]
    refused = _change_own_password(api, user, "pw-1", "pw-2")
    assert refused.status_code == 400 and "disallowing password changes" in _message(refused)
    assert api.auth("shared", "pw-1").status_code == 201
    api.admin("PATCH", f"/users/{user['id']}", {"user": {"password": "pw-2"}}, expect=200)
    assert api.auth("shared", "pw-2").status_code == 201
