"""Every way one delegation can make another, and what a delegated token may rescope to,
driven over HTTP as a user would.

The delegations are application credentials and trusts (OS-TRUST).  What each
kind of token may delegate further follows Keystone (keystone/api/users.py
``_block_delegated_token_app_creds`` and ``_check_unrestricted_application_credential``,
keystone/api/trusts.py ``_check_application_credential`` (CVE-2026-43000),
keystone/trust/core.py ``_validate_redelegation``, keystone/auth/plugins/token.py
and keystone/auth/core.py):

- an application credential token, restricted or not, cannot touch trusts;
- a restricted one cannot make application credentials, an unrestricted one can,
  with no role its token lacks;
- a trust-scoped token cannot make application credentials, and makes a trust only
  by redelegating one that allows it: within the remaining depth, on the same
  project, with no role, lifetime or impersonation the redelegated trust lacks;
- a new delegation never carries a role the delegator's token does not (a reader
  cannot delegate member);
- neither kind of token can be rescoped by the token method to a scope of its own
  choosing, and an application credential cannot ask for a scope at all.

Each cell says who asks (the source), what they ask for, the status, and for
allowed cells the roles of the token the new delegation (or rescope) gives.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable

import pytest

from stacklet.db import utcnow
from tests.identity.directory import Directory

V3 = "/identity/v3"
TOKENS = f"{V3}/auth/tokens"
TRUSTS = f"{V3}/OS-TRUST/trusts"


def _isotime(moment: datetime.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


class World:
    """Project P and Q, and the people who delegate on them:

    - alice: member (so reader too) on P and on Q;
    - rita: reader on P only;
    - bob: reader on Q, the trustee of alice's trusts;
    - carol: no roles, the trustee of redelegated trusts.
    """

    def __init__(self, api):
        self.api = api
        directory = Directory(api.cloud)
        self.p = directory.project("P")["id"]
        self.q = directory.project("Q")["id"]
        self.users = {name: directory.user(name) for name in ("alice", "rita", "bob",
                                                              "carol")}
        directory.grant("member", project_id=self.p, user_id=self.users["alice"]["id"])
        directory.grant("member", project_id=self.q, user_id=self.users["alice"]["id"])
        directory.grant("reader", project_id=self.p, user_id=self.users["rita"]["id"])
        directory.grant("reader", project_id=self.q, user_id=self.users["bob"]["id"])

    def id(self, name: str) -> str:
        return self.users[name]["id"]

    # -- tokens --------------------------------------------------------------

    def password_token(self, name: str, project_id: str | None = None) -> str:
        user = self.users[name]
        response = self.api.post(TOKENS, json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "id": user["id"], "password": user["password"]}}},
            "scope": {"project": {"id": project_id}} if project_id else "unscoped"}})
        assert response.status_code == 201, response.text
        return response.headers["X-Subject-Token"]

    def app_cred(self, name: str, project_id: str, **attrs) -> dict:
        token = self.password_token(name, project_id)
        response = self.api.post(
            f"{V3}/users/{self.id(name)}/application_credentials",
            json={"application_credential": {"name": f"ac-{len(attrs)}-{id(attrs)}",
                                             **attrs}}, token=token)
        assert response.status_code == 201, response.text
        return response.json()["application_credential"]

    def app_cred_login(self, app_cred: dict, scope: dict | None = None):
        body = {"auth": {"identity": {"methods": ["application_credential"],
                                      "application_credential": {
                                          "id": app_cred["id"], "secret": app_cred["secret"]}}}}
        if scope is not None:
            body["auth"]["scope"] = scope
        return self.api.post(TOKENS, json=body)

    def app_cred_token(self, name: str, roles: list[str], *, unrestricted: bool) -> str:
        app_cred = self.app_cred(name, self.p, roles=[{"name": r} for r in roles],
                                 unrestricted=unrestricted)
        response = self.app_cred_login(app_cred)
        assert response.status_code == 201, response.text
        return response.headers["X-Subject-Token"]

    def create_trust(self, token: str, trustor: str, trustee: str, roles: list[str], *,
                     project_id: str | None = None, impersonation: bool = True, **extra):
        return self.api.post(TRUSTS, token=token, json={"trust": {
            "trustor_user_id": trustor, "trustee_user_id": trustee,
            "project_id": project_id or self.p, "impersonation": impersonation,
            "roles": [{"name": r} for r in roles], **extra}})

    def trust_login(self, trustee: str, trust_id: str):
        return self.api.post(TOKENS, json={"auth": {
            "identity": {"methods": ["token"], "token": {"id": self.password_token(trustee)}},
            "scope": {"OS-TRUST:trust": {"id": trust_id}}}})

    def trust_token(self, roles: list[str], *, trustee: str = "bob", **extra) -> str:
        """The trustee's token from a trust alice makes on P (alice's own token)."""
        created = self.create_trust(self.password_token("alice", self.p), self.id("alice"),
                                    self.id(trustee), roles, **extra)
        assert created.status_code == 201, created.text
        response = self.trust_login(trustee, created.json()["trust"]["id"])
        assert response.status_code == 201, response.text
        return response.headers["X-Subject-Token"]


@dataclasses.dataclass(frozen=True)
class Source:
    """A token that asks for a new delegation, and the user it names."""

    make: Callable[[World], str]
    user: str


SOURCES = {
    "alice-password": Source(lambda w: w.password_token("alice", w.p), "alice"),
    "rita-password-reader": Source(lambda w: w.password_token("rita", w.p), "rita"),
    "restricted-appcred-reader": Source(
        lambda w: w.app_cred_token("alice", ["reader"], unrestricted=False), "alice"),
    "unrestricted-appcred-reader": Source(
        lambda w: w.app_cred_token("alice", ["reader"], unrestricted=True), "alice"),
    "unrestricted-appcred-member": Source(
        lambda w: w.app_cred_token("alice", ["member"], unrestricted=True), "alice"),
    "trust-reader": Source(lambda w: w.trust_token(["reader"]), "alice"),
    "trust-member": Source(lambda w: w.trust_token(["member"]), "alice"),
    "redelegatable-trust-reader": Source(
        lambda w: w.trust_token(["reader"], allow_redelegation=True), "alice"),
    "redelegatable-trust-member": Source(
        lambda w: w.trust_token(["member"], allow_redelegation=True), "alice"),
    "redelegatable-trust-member-2h": Source(
        lambda w: w.trust_token(["member"], allow_redelegation=True,
                                expires_at=_isotime(utcnow() + datetime.timedelta(hours=2))),
        "alice"),
    # Without impersonation the trust-scoped token names the trustee, bob, who
    # becomes the trustor of what he redelegates.
    "redelegatable-trust-member-no-impersonation": Source(
        lambda w: w.trust_token(["member"], allow_redelegation=True, impersonation=False),
        "bob"),
}


def _last_redelegation(world: World) -> str:
    """carol's token from bob's redelegation of a trust with redelegation_count 1:
    the chain is as deep as it may go."""
    parent = world.trust_token(["member"], allow_redelegation=True, redelegation_count=1)
    child = world.create_trust(parent, world.id("alice"), world.id("carol"), ["member"],
                               allow_redelegation=True)
    assert child.status_code == 201, child.text
    assert child.json()["trust"]["redelegation_count"] == 0
    response = world.trust_login("carol", child.json()["trust"]["id"])
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


SOURCES["redelegated-trust-at-max-depth"] = Source(_last_redelegation, "alice")


# -- what a source asks for: each returns the response, and the token the new
# -- delegation gives when it was made (None when it was refused) -----------

def ask_app_cred(world: World, token: str, user: str, **attrs):
    if "roles" in attrs:
        attrs["roles"] = [{"name": r} for r in attrs["roles"]]
    response = world.api.post(f"{V3}/users/{world.id(user)}/application_credentials",
                              token=token, json={"application_credential": {
                                  "name": "delegated", **attrs}})
    if response.status_code != 201:
        return response, None
    return response, world.app_cred_login(response.json()["application_credential"])


def ask_trust(world: World, token: str, user: str, *, roles: list[str],
              project: str = "P", **extra):
    response = world.create_trust(token, world.id(user), world.id("carol"), roles,
                                  project_id=world.q if project == "Q" else world.p, **extra)
    if response.status_code != 201:
        return response, None
    return response, world.trust_login("carol", response.json()["trust"]["id"])


def ask_rescope(world: World, token: str, user: str, *, scope: str | None):
    """The token method on the source token, asking for project P or Q, or the
    trust alice gave bob, or no scope at all."""
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}
    if scope in ("P", "Q"):
        body["auth"]["scope"] = {"project": {"id": world.p if scope == "P" else world.q}}
    elif scope == "trust":
        trust = world.create_trust(world.password_token("alice", world.p), world.id("alice"),
                                   world.id("bob"), ["member"])
        body["auth"]["scope"] = {"OS-TRUST:trust": {"id": trust.json()["trust"]["id"]}}
    response = world.api.post(TOKENS, json=body)
    return response, response


def ask_trust_list(world: World, token: str, user: str):
    response = world.api.get(f"{TRUSTS}?trustor_user_id={world.id(user)}", token)
    return response, None


@dataclasses.dataclass(frozen=True)
class Cell:
    source: str
    ask: Callable
    params: dict
    status: int
    roles: frozenset[str] | None = None     # of the resulting token, when allowed
    why: str = ""

    @property
    def id(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.source}->{self.ask.__name__.removeprefix('ask_')}({args})"


MEMBER = frozenset({"member", "reader"})
READER = frozenset({"reader"})

CELLS = [
    # -- application credential from a password token ---------------------------
    Cell("alice-password", ask_app_cred, {}, 201, MEMBER,
         "by default an application credential delegates every role of the token"),
    Cell("alice-password", ask_app_cred, {"roles": ["reader"]}, 201, READER),
    Cell("rita-password-reader", ask_app_cred, {"roles": ["member"]}, 400,
         why="a reader cannot delegate member"),
    # -- application credential from an application credential ------------------
    Cell("restricted-appcred-reader", ask_app_cred, {"roles": ["reader"]}, 403,
         why="a restricted application credential cannot make another"),
    Cell("restricted-appcred-reader", ask_app_cred, {"unrestricted": True}, 403),
    Cell("unrestricted-appcred-reader", ask_app_cred, {}, 201, READER,
         "an unrestricted one can, with its own roles by default"),
    Cell("unrestricted-appcred-reader", ask_app_cred, {"roles": ["reader"]}, 201, READER),
    Cell("unrestricted-appcred-reader", ask_app_cred, {"roles": ["member"]}, 400,
         why="not with a role its token lacks, though its user holds it"),
    Cell("unrestricted-appcred-member", ask_app_cred, {"roles": ["reader"]}, 201, READER),
    # -- application credential from a trust (issue 13, defect 3) ---------------
    Cell("trust-reader", ask_app_cred, {"unrestricted": True}, 403,
         why="a trust-scoped token cannot make an application credential, which would "
             "outlive the trust"),
    Cell("trust-member", ask_app_cred, {"roles": ["reader"]}, 403),
    Cell("redelegatable-trust-member", ask_app_cred, {}, 403,
         why="not even from a trust that may be redelegated"),
    # -- trust from a password token --------------------------------------------
    Cell("alice-password", ask_trust, {"roles": ["member"]}, 201, MEMBER),
    Cell("alice-password", ask_trust, {"roles": ["reader"]}, 201, READER),
    Cell("alice-password", ask_trust, {"roles": ["member"], "project": "Q"}, 201, MEMBER,
         "a user's own token may delegate on any project where they hold the roles"),
    Cell("rita-password-reader", ask_trust, {"roles": ["member"]}, 403,
         why="a reader cannot delegate member"),
    Cell("alice-password", ask_trust, {"roles": []}, 403,
         why="a trust on a project delegates at least one role"),
    Cell("alice-password", ask_trust, {"roles": ["member"], "allow_redelegation": True,
                                       "redelegation_count": 4}, 403,
         why="deeper than max_redelegation_count (3)"),
    Cell("alice-password", ask_trust, {"roles": ["member"], "allow_redelegation": True,
                                       "remaining_uses": 1}, 400,
         why="a redelegatable trust has no limit on uses"),
    # -- trust from an application credential (issue 13, defect 2) --------------
    Cell("restricted-appcred-reader", ask_trust, {"roles": ["member"]}, 403,
         why="an application credential cannot make trusts"),
    Cell("restricted-appcred-reader", ask_trust, {"roles": ["reader"]}, 403),
    Cell("unrestricted-appcred-member", ask_trust, {"roles": ["member"]}, 403,
         why="nor can an unrestricted one (CVE-2026-43000)"),
    Cell("unrestricted-appcred-member", ask_trust_list, {}, 403,
         why="nor read them"),
    # -- trust from a trust: redelegation ---------------------------------------
    Cell("trust-member", ask_trust, {"roles": ["member"]}, 403,
         why="a trust that does not allow redelegation cannot be redelegated"),
    Cell("redelegatable-trust-member", ask_trust, {"roles": ["member"]}, 201, MEMBER),
    Cell("redelegatable-trust-member", ask_trust, {"roles": ["reader"]}, 201, READER),
    Cell("redelegatable-trust-reader", ask_trust, {"roles": ["member"]}, 403,
         why="not with a role the redelegated trust lacks"),
    Cell("redelegatable-trust-member", ask_trust, {"roles": ["member"], "project": "Q"}, 403,
         why="not on another project than the redelegated trust's"),
    Cell("redelegatable-trust-member", ask_trust, {"roles": ["member"],
                                                   "remaining_uses": 1}, 403,
         why="a redelegation has no limit on uses"),
    Cell("redelegatable-trust-member", ask_trust, {"roles": ["member"],
                                                   "allow_redelegation": True,
                                                   "redelegation_count": 3}, 403,
         why="the remaining depth is the redelegated trust's, less one"),
    Cell("redelegatable-trust-member-2h", ask_trust,
         {"roles": ["member"], "expires_at": "2999-01-01T00:00:00Z"}, 403,
         why="not outliving the redelegated trust"),
    Cell("redelegatable-trust-member-2h", ask_trust, {"roles": ["member"]}, 201, MEMBER,
         "without expires_at, it ends with the redelegated trust"),
    Cell("redelegatable-trust-member-no-impersonation", ask_trust,
         {"roles": ["member"], "impersonation": True}, 403,
         why="impersonation the redelegated trust does not give"),
    Cell("redelegatable-trust-member-no-impersonation", ask_trust,
         {"roles": ["member"], "impersonation": False}, 201, MEMBER,
         "the roles are still the original trustor's"),
    Cell("redelegated-trust-at-max-depth", ask_trust, {"roles": ["member"]}, 403,
         why="the chain is as deep as it may go"),
    # -- rescoping with the token method ----------------------------------------
    Cell("alice-password", ask_rescope, {"scope": "Q"}, 201, MEMBER,
         "a user's own token rescopes to wherever they hold roles"),
    Cell("rita-password-reader", ask_rescope, {"scope": "Q"}, 401,
         why="but not where they hold none"),
    Cell("restricted-appcred-reader", ask_rescope, {"scope": None}, 201, READER,
         "an application credential token renews without a scope, keeping its limits"),
    Cell("unrestricted-appcred-reader", ask_rescope, {"scope": "P"}, 403,
         why="an application credential token cannot ask for a scope"),
    Cell("unrestricted-appcred-reader", ask_rescope, {"scope": "Q"}, 403),
    Cell("unrestricted-appcred-reader", ask_rescope, {"scope": "trust"}, 403),
    Cell("trust-member", ask_rescope, {"scope": None}, 403,
         why="a trust-scoped token makes no other token"),
    Cell("trust-member", ask_rescope, {"scope": "Q"}, 403),
]


@pytest.fixture
def world(api) -> World:
    return World(api)


@pytest.mark.parametrize("cell", CELLS, ids=lambda cell: cell.id)
def test_delegation(world, cell):
    source = SOURCES[cell.source]
    token = source.make(world)
    response, result = cell.ask(world, token, source.user, **cell.params)
    assert response.status_code == cell.status, (cell.why, response.text)
    if cell.status >= 400:
        assert response.json()["error"]["code"] == cell.status
        return
    if result is not None:
        assert result.status_code == 201, result.text
        roles = {r["name"] for r in result.json()["token"]["roles"]}
        assert roles == cell.roles, cell.why


# -- application credential logins that ask for a scope -----------------------

@pytest.mark.parametrize("scope", ["own project", "other project", "trust"])
def test_application_credential_cannot_request_a_scope(world, scope):
    """keystone/auth/core.py: "Application credentials cannot request a scope." (401).
    bob's reader credential on Q must not reach P through the trust alice gave him."""
    app_cred = world.app_cred("bob", world.q, roles=[{"name": "reader"}])
    trust = world.create_trust(world.password_token("alice", world.p), world.id("alice"),
                               world.id("bob"), ["member"]).json()["trust"]
    requested = {"own project": {"project": {"id": world.q}},
                 "other project": {"project": {"id": world.p}},
                 "trust": {"OS-TRUST:trust": {"id": trust["id"]}}}[scope]
    response = world.app_cred_login(app_cred, requested)
    assert response.status_code == 401, response.text
    assert "cannot request a scope" in response.json()["error"]["message"]


# -- redelegated trusts live and die with their chain ---------------------------

def test_redelegated_trust_ends_with_the_trust_it_came_from(world):
    expires = utcnow() + datetime.timedelta(hours=2)
    alice = world.password_token("alice", world.p)
    parent = world.create_trust(alice, world.id("alice"), world.id("bob"), ["member"],
                                allow_redelegation=True,
                                expires_at=_isotime(expires)).json()["trust"]
    assert parent["redelegation_count"] == 3
    bob_trust_token = world.trust_login("bob", parent["id"]).headers["X-Subject-Token"]
    child = world.create_trust(bob_trust_token, world.id("alice"), world.id("carol"),
                               ["reader"]).json()["trust"]
    assert child["redelegated_trust_id"] == parent["id"]
    assert child["expires_at"] == parent["expires_at"]
    carol = world.trust_login("carol", child["id"])
    assert carol.status_code == 201, carol.text
    carol_token = carol.headers["X-Subject-Token"]
    assert carol.json()["token"]["user"]["id"] == world.id("alice")
    assert carol.json()["token"]["expires_at"] <= parent["expires_at"]

    assert world.api.delete(f"{TRUSTS}/{parent['id']}", alice).status_code == 204
    assert world.api.get(f"{V3}/auth/catalog", carol_token).status_code == 401
    assert world.api.get(f"{TRUSTS}/{child['id']}", alice).status_code == 404
    assert world.trust_login("carol", child["id"]).status_code == 401
