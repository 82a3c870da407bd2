"""/v3/OS-TRUST/trusts and trust-scoped tokens."""

import datetime

import pytest

from stacklet.identity import revoke
from stacklet.identity.models import Project, Role, RoleAssignment, User

TOKENS = "/identity/v3/auth/tokens"


@pytest.fixture
def parties(api, cloud):
    """A trustor with two roles on a project, and a trustee with none."""
    with cloud.db.transaction() as session:
        project = Project(name="trust-project", domain_id="default")
        delegated, kept = Role(name="delegated"), Role(name="kept")
        trustor = User(name="trustor", domain_id="default",
                       password_hash=cloud.hash_password("trustor-pw"))
        trustee = User(name="trustee", domain_id="default",
                       password_hash=cloud.hash_password("trustee-pw"))
        session.add_all([project, delegated, kept, trustor, trustee])
        session.flush()
        for role in (delegated, kept):
            session.add(RoleAssignment(actor_type="user", actor_id=trustor.id,
                                       target_type="project", target_id=project.id,
                                       role_id=role.id, inherited=False))
        revoke.bump_revision(session)
        ids = {"project": project.id, "delegated": delegated.id, "kept": kept.id,
               "trustor": trustor.id, "trustee": trustee.id}
    ids["trustor_token"] = api.token("trustor", "trustor-pw", project="trust-project")
    ids["trustee_token"] = api.post(TOKENS, json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": "trustee", "domain": {"id": "default"}, "password": "trustee-pw"}}},
        "scope": "unscoped"}}).headers["X-Subject-Token"]
    return ids


def _create(api, parties, **extra):
    body = {"trust": {"trustor_user_id": parties["trustor"], "trustee_user_id":
                      parties["trustee"], "project_id": parties["project"],
                      "impersonation": True, "roles": [{"name": "delegated"}], **extra}}
    return api.post("/identity/v3/OS-TRUST/trusts", json=body, token=parties["trustor_token"])


def _trust_token(api, parties, trust_id):
    return api.post(TOKENS, json={"auth": {"identity": {"methods": ["token"], "token": {
        "id": parties["trustee_token"]}}, "scope": {"OS-TRUST:trust": {"id": trust_id}}}})


def test_create_show_roles_and_delete(api, parties):
    expires = (datetime.datetime.utcnow() + datetime.timedelta(hours=1)).replace(microsecond=0)
    created = _create(api, parties, expires_at=expires.isoformat() + "Z")
    assert created.status_code == 201, created.text
    trust = created.json()["trust"]
    assert trust["expires_at"] == expires.isoformat() + ".000000Z"
    assert [r["name"] for r in trust["roles"]] == ["delegated"]
    assert "v3/OS-TRUST/trusts" in trust["links"]["self"]
    path = f"/identity/v3/OS-TRUST/trusts/{trust['id']}"
    shown = api.get(path, parties["trustee_token"])
    assert shown.status_code == 200 and shown.json()["trust"]["impersonation"] is True
    roles = api.get(path + "/roles", parties["trustor_token"]).json()["roles"]
    assert [r["id"] for r in roles] == [parties["delegated"]]
    assert api.head(path + f"/roles/{parties['delegated']}",
                    parties["trustor_token"]).status_code == 200
    assert api.get(path + f"/roles/{parties['kept']}",
                   parties["trustor_token"]).status_code == 404
    listed = api.get(f"/identity/v3/OS-TRUST/trusts?trustor_user_id={parties['trustor']}",
                     parties["trustor_token"]).json()["trusts"]
    assert [t["id"] for t in listed] == [trust["id"]]
    assert api.delete(path, parties["trustor_token"]).status_code == 204
    assert api.get(path, parties["trustor_token"]).status_code == 404


def test_trust_token_carries_only_delegated_roles_and_dies_with_the_trust(api, parties):
    trust = _create(api, parties).json()["trust"]
    response = _trust_token(api, parties, trust["id"])
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["user"]["id"] == parties["trustor"]          # impersonation
    assert token["OS-TRUST:trust"]["trustee_user"] == {"id": parties["trustee"]}
    assert [r["name"] for r in token["roles"]] == ["delegated"]
    trust_token = response.headers["X-Subject-Token"]
    assert api.get("/identity/v3/auth/catalog", trust_token).status_code == 200
    api.delete(f"/identity/v3/OS-TRUST/trusts/{trust['id']}", parties["trustor_token"])
    assert api.get("/identity/v3/auth/catalog", trust_token).status_code == 401


def test_without_impersonation_token_names_the_trustee(api, parties):
    trust = _create(api, parties, impersonation=False).json()["trust"]
    token = _trust_token(api, parties, trust["id"]).json()["token"]
    assert token["user"]["id"] == parties["trustee"]
    assert [r["name"] for r in token["roles"]] == ["delegated"]


def test_remaining_uses_are_counted(api, parties):
    trust = _create(api, parties, remaining_uses=1).json()["trust"]
    assert _trust_token(api, parties, trust["id"]).status_code == 201
    assert _trust_token(api, parties, trust["id"]).status_code == 403


def test_bad_trusts_are_refused(api, parties):
    assert _create(api, parties, expires_at="bad.123Z").status_code == 400
    assert _create(api, parties, expires_at="2001-01-01T00:00:00Z").status_code == 400
    assert _create(api, parties, roles=[{"name": "admin"}]).status_code == 403
    assert _create(api, parties, roles=[{"name": "nope"}]).status_code == 404
    body = {"trust": {"trustor_user_id": parties["trustee"], "trustee_user_id":
                      parties["trustor"], "impersonation": False}}
    # only the trustor may create a trust in their name
    assert api.post("/identity/v3/OS-TRUST/trusts", json=body,
                    token=parties["trustor_token"]).status_code == 403
    assert api.get("/identity/v3/OS-TRUST/trusts", parties["trustor_token"]).status_code == 403
    assert api.get("/identity/v3/OS-TRUST/trusts", api.admin_token).json()["trusts"] == []


def test_only_the_trustee_may_use_a_trust(api, parties):
    trust = _create(api, parties).json()["trust"]
    response = api.post(TOKENS, json={"auth": {"identity": {"methods": ["token"], "token": {
        "id": parties["trustor_token"]}}, "scope": {"OS-TRUST:trust": {"id": trust["id"]}}}})
    assert response.status_code == 403


def test_remaining_uses_beyond_what_the_column_holds_is_a_400(api, parties):
    response = _create(api, parties, remaining_uses=2**63)
    assert response.status_code == 400, response.text
    assert "remaining_uses" in response.json()["error"]["message"]
    listed = api.get(f"/identity/v3/OS-TRUST/trusts?trustor_user_id={parties['trustor']}",
                     parties["trustor_token"])
    assert listed.status_code == 200 and listed.json()["trusts"] == [], listed.text
