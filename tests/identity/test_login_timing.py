"""A refused login spends the same bcrypt work whether or not the user exists, so
response times do not tell which user names do (issue 13, defect 9)."""

from __future__ import annotations

import statistics
import time

import bcrypt
import pytest

from tests.identity.directory import add_user

TOKENS = "/identity/v3/auth/tokens"
# Dear enough that one bcrypt check stands out from the rest of a request.
ROUNDS = 10


@pytest.fixture
def config_overrides():
    return {("identity", "password_hash_rounds"): ROUNDS}


@pytest.fixture
def people(api):
    """alice, who can log in; nopass, who has no password; app, alice's application
    credential; off, a disabled user."""
    alice = add_user(api.cloud, project="timing")
    token = api.token(alice["name"], alice["password"], project="timing")
    app = api.post(f"/identity/v3/users/{alice['id']}/application_credentials", token=token,
                   json={"application_credential": {"name": "app"}}).json()[
        "application_credential"]
    nopass = api.admin("POST", "/users", {"user": {"name": "nopass"}}, expect=201).json()["user"]
    off = api.make_user("off")
    api.admin("PATCH", f"/users/{off['id']}", {"user": {"enabled": False}}, expect=200)
    return {"alice": alice, "app": app, "nopass": nopass, "off": off}


@pytest.fixture
def bcrypt_checks(api, monkeypatch):
    """The hashes bcrypt checks a secret against, from here on."""
    checked = []
    check = bcrypt.checkpw

    def spy(secret: bytes, hashed: bytes) -> bool:
        checked.append(hashed)
        return check(secret, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    return checked


def _password_login(user: dict) -> dict:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}


def _app_cred_login(app_cred: dict) -> dict:
    return {"auth": {"identity": {"methods": ["application_credential"],
                                  "application_credential": app_cred}}}


REFUSED_LOGINS = {
    "wrong password": lambda p: _password_login(
        {"id": p["alice"]["id"], "password": "wrong"}),
    "unknown user id": lambda p: _password_login({"id": "no-such-user", "password": "x"}),
    "unknown user name": lambda p: _password_login(
        {"name": "nobody", "domain": {"id": "default"}, "password": "x"}),
    "unknown domain": lambda p: _password_login(
        {"name": p["alice"]["name"], "domain": {"name": "nowhere"}, "password": "x"}),
    "user without a password": lambda p: _password_login(
        {"id": p["nopass"]["id"], "password": "x"}),
    "disabled user": lambda p: _password_login(
        {"id": p["off"]["id"], "password": p["off"]["password"]}),
    "wrong application credential secret": lambda p: _app_cred_login(
        {"id": p["app"]["id"], "secret": "wrong"}),
    "unknown application credential": lambda p: _app_cred_login(
        {"id": "no-such-credential", "secret": "x"}),
    "application credential of an unknown user": lambda p: _app_cred_login(
        {"name": "app", "user": {"name": "nobody", "domain": {"id": "default"}},
         "secret": "x"}),
}


@pytest.mark.parametrize("login", REFUSED_LOGINS, ids=str)
def test_a_refused_login_checks_one_hash_of_the_configured_cost(api, people, bcrypt_checks,
                                                                login):
    response = api.post(TOKENS, json=REFUSED_LOGINS[login](people))
    assert response.status_code == 401, response.text
    assert len(bcrypt_checks) == 1
    assert bcrypt_checks[0].startswith(f"$2b${ROUNDS:02d}$".encode())


def test_a_password_change_for_an_unknown_user_checks_one_hash(api, bcrypt_checks):
    response = api.post("/identity/v3/users/no-such-user/password", json={"user": {
        "original_password": "x", "password": "new-pass-word"}})
    assert response.status_code == 401, response.text
    assert len(bcrypt_checks) == 1
    assert bcrypt_checks[0].startswith(f"$2b${ROUNDS:02d}$".encode())


def test_an_unknown_user_is_refused_as_slowly_as_a_wrong_password(api, people):
    def median_seconds(body: dict) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            assert api.post(TOKENS, json=body).status_code == 401
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    wrong_password = median_seconds(REFUSED_LOGINS["wrong password"](people))
    unknown_user = median_seconds(REFUSED_LOGINS["unknown user name"](people))
    # Without the stand-in check the unknown user was answered ~20x sooner; the
    # margin leaves room for a busy machine.
    assert unknown_user > wrong_password / 3, (unknown_user, wrong_password)
