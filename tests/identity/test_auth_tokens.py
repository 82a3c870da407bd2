"""POST/GET/HEAD/DELETE /v3/auth/tokens and the scope documents."""

from tests.conftest import ADMIN_PASSWORD

TOKENS = "/identity/v3/auth/tokens"


def test_password_auth_project_scoped_token_has_roles_and_catalog(api):
    response = api.auth("admin", ADMIN_PASSWORD, project="admin")
    assert response.status_code == 201
    assert response.headers["X-Subject-Token"]
    token = response.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"]["name"] == "admin"
    assert token["user"]["domain"] == {"id": "default", "name": "Default"}
    assert token["project"]["name"] == "admin"
    assert {r["name"] for r in token["roles"]} == {"admin", "manager", "member", "reader"}
    assert any(s["type"] == "identity" for s in token["catalog"])
    assert token["expires_at"].endswith("Z") and token["issued_at"].endswith("Z")
    assert len(token["audit_ids"]) == 1


def test_nocatalog_omits_catalog(api):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    response = api.post(TOKENS + "?nocatalog", json=body)
    assert response.status_code == 201
    assert "catalog" not in response.json()["token"]


def test_unscoped_domain_and_system_tokens(api):
    unscoped = api.post(TOKENS, json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
        "scope": "unscoped"}})
    assert unscoped.status_code == 201
    body = unscoped.json()["token"]
    assert "project" not in body and "roles" not in body and "catalog" not in body

    system = api.auth("admin", ADMIN_PASSWORD, system=True)
    assert system.status_code == 201
    assert system.json()["token"]["system"] == {"all": True}

    # admin has no role on the Default domain: refused
    assert api.auth("admin", ADMIN_PASSWORD, domain="Default").status_code == 401


def test_without_scope_uses_default_project(api):
    response = api.post(TOKENS, json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}}}})
    assert response.status_code == 201
    assert response.json()["token"]["project"]["name"] == "admin"


def test_wrong_password_unknown_user_are_401_with_www_authenticate(api):
    for user, password in (("admin", "wrong"), ("nobody", "x")):
        response = api.auth(user, password, project="admin")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_malformed_auth_bodies_are_400(api):
    assert api.post(TOKENS, content=b"{not json", headers={
        "Content-Type": "application/json"}).status_code == 400
    assert api.post(TOKENS, json={"auth": {}}).status_code == 400
    assert api.post(TOKENS, json={"auth": {"identity": {"methods": "password"}}}).status_code == 400
    response = api.post(TOKENS, json={"auth": {"identity": {"methods": ["password"]}}})
    assert response.status_code == 400
    assert "password" in response.json()["error"]["message"]


def test_validate_check_and_revoke(api):
    subject = api.token("admin", ADMIN_PASSWORD, project="admin")
    headers = {"X-Subject-Token": subject}
    shown = api.get(TOKENS, api.admin_token, headers=headers)
    assert shown.status_code == 200
    assert shown.headers["X-Subject-Token"] == subject
    assert shown.json()["token"]["project"]["name"] == "admin"
    assert api.head(TOKENS, api.admin_token, headers=headers).status_code == 200
    assert api.delete(TOKENS, api.admin_token, headers=headers).status_code == 204
    assert api.get(TOKENS, api.admin_token, headers=headers).status_code == 404
    # a revoked token no longer authenticates anything
    assert api.get("/identity/v3/domains", subject).status_code == 401


def test_garbage_tokens(api):
    assert api.get("/identity/v3/domains", "garbage").status_code == 401
    assert api.get("/identity/v3/domains").status_code == 401
    assert api.get(TOKENS, api.admin_token,
                   headers={"X-Subject-Token": "garbage"}).status_code == 404


def test_token_method_rescopes_and_keeps_expiry(api):
    unscoped = api.post(TOKENS, json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
        "scope": "unscoped"}})
    parent = unscoped.json()["token"]
    rescoped = api.post(TOKENS, json={"auth": {"identity": {"methods": ["token"], "token": {
        "id": unscoped.headers["X-Subject-Token"]}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    assert rescoped.status_code == 201
    token = rescoped.json()["token"]
    assert token["expires_at"] == parent["expires_at"]
    assert token["audit_ids"][1] == parent["audit_ids"][0]
    assert "token" in token["methods"] and "password" in token["methods"]


def test_auth_catalog_projects_domains_system(api):
    catalog = api.get("/identity/v3/auth/catalog", api.admin_token)
    assert catalog.status_code == 200
    assert [s["type"] for s in catalog.json()["catalog"]] == ["compute", "identity", "image",
                                                             "network"]
    projects = api.get("/identity/v3/auth/projects", api.admin_token).json()["projects"]
    assert [p["name"] for p in projects] == ["admin"]
    assert api.get("/identity/v3/auth/domains", api.admin_token).json()["domains"] == []
    assert api.get("/identity/v3/auth/system", api.admin_token).json()["system"] == [{"all": True}]


def test_expired_token_only_with_allow_expired(api, cloud):
    import datetime

    from stacklet.identity.tokens import TokenPayload
    subject = api.token("admin", ADMIN_PASSWORD, project="admin")
    payload = cloud.tokens.decode(subject)
    # Re-sign the same payload with an expiry in the past.
    past = payload.issued_at - datetime.timedelta(seconds=10)
    expired = TokenPayload(**{**payload.__dict__, "expires_at": past})
    expired_token = cloud.keys.fernet().encrypt(expired.pack()).decode()
    headers = {"X-Subject-Token": expired_token}
    assert api.get(TOKENS, api.admin_token, headers=headers).status_code == 404
    allowed = api.get(TOKENS + "?allow_expired=1", api.admin_token, headers=headers)
    assert allowed.status_code == 200
    assert api.get("/identity/v3/domains", expired_token).status_code == 401


def test_revocation_in_one_process_is_seen_at_once_by_another(api, cloud, stacklet_config):
    """Two API worker processes share the database; each caches validations."""
    from stacklet.cloud import Cloud
    other_worker = Cloud(stacklet_config)
    try:
        subject = api.token("admin", ADMIN_PASSWORD, project="admin")
        assert other_worker.tokens.authenticate(subject).project_name == "admin"  # cached there
        assert api.delete(TOKENS, api.admin_token,
                          headers={"X-Subject-Token": subject}).status_code == 204
        import pytest

        from stacklet.common.errors import Unauthorized
        with pytest.raises(Unauthorized):
            other_worker.tokens.authenticate(subject)
    finally:
        other_worker.close()


def test_catalog_changes_reach_every_process_at_once(api, stacklet_config):
    """Catalogs are cached per process; an endpoint added through one API
    process shows in the catalog another process serves next."""
    from stacklet.cloud import Cloud
    other_worker = Cloud(stacklet_config)
    try:
        def identity_urls():
            (identity,) = [s for s in other_worker.tokens.catalog(None)
                           if s["type"] == "identity"]
            return sorted(e["url"] for e in identity["endpoints"])

        before = identity_urls()
        service_id = api.admin("GET", "/services?type=identity").json()["services"][0]["id"]
        api.admin("POST", "/endpoints", {"endpoint": {
            "service_id": service_id, "interface": "public", "region_id": "RegionOne",
            "url": "http://elsewhere.example/identity"}}, expect=201)
        assert identity_urls() == sorted(before + ["http://elsewhere.example/identity"])
    finally:
        other_worker.close()
