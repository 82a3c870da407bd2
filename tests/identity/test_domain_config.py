"""/v3/domains/{id}/config."""

CUSTOM = {"identity": {"driver": "ldap"},
          "ldap": {"url": "ldap://ldap.example:389/", "user_tree_dn": "ou=Users,dc=example"}}


def _domain(api, name="cfg-dom"):
    return api.admin("POST", "/domains", {"domain": {"name": name}}, expect=201).json()["domain"]


def test_defaults(api):
    config = api.admin("GET", "/domains/config/default", expect=200).json()["config"]
    assert config["identity"]["driver"] == "sql" and "url" in config["ldap"]
    assert api.admin("GET", "/domains/config/ldap/url/default", expect=200).json() == {
        "config": {"url": "ldap://localhost"}}
    api.admin("GET", "/domains/config/nova/default", expect=403)


def test_create_show_update_delete(api):
    domain = _domain(api)
    base = f"/domains/{domain['id']}/config"
    api.admin("GET", base, expect=404)
    assert api.admin("PUT", base, {"config": CUSTOM}, expect=201).json()["config"] == CUSTOM
    assert api.admin("GET", base + "/ldap/url", expect=200).json()["config"] == {
        "url": "ldap://ldap.example:389/"}
    updated = api.admin("PATCH", base + "/identity", {"config": {
        "identity": {"driver": "sql", "list_limit": 5}}}, expect=200).json()["config"]
    assert updated["identity"] == {"driver": "sql", "list_limit": 5}
    one = api.admin("PATCH", base + "/identity/driver", {"config": {"driver": "ldap"}},
                    expect=200).json()["config"]
    assert one["identity"]["driver"] == "ldap"
    api.admin("DELETE", base + "/identity/driver", expect=204)
    api.admin("GET", base + "/identity/driver", expect=404)
    api.admin("DELETE", base + "/identity", expect=204)
    api.admin("GET", base + "/identity", expect=404)
    api.admin("DELETE", base, expect=204)
    api.admin("GET", base, expect=404)


def test_bad_config_changes_nothing(api):
    domain = _domain(api)
    base = f"/domains/{domain['id']}/config"
    api.admin("PUT", base, {"config": {"nova": {"x": 1}}}, expect=403)
    api.admin("PUT", base, {"config": {"ldap": {"nonsense": 1}}}, expect=403)
    api.admin("PUT", base, {"config": {}}, expect=400)
    api.admin("PUT", base, {"config": "x"}, expect=400)
    api.admin("GET", base, expect=404)
    api.admin("PUT", "/domains/missing/config", {"config": CUSTOM}, expect=404)
