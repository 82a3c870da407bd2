"""/v3/domains."""


def test_domain_crud(api):
    created = api.admin("POST", "/domains", {"domain": {"name": "dom-a", "description": "d"}},
                        expect=201).json()["domain"]
    assert created["enabled"] is True and created["description"] == "d"
    assert created["links"]["self"].endswith(f"/identity/v3/domains/{created['id']}")
    assert api.admin("GET", f"/domains/{created['id']}", expect=200).json()["domain"]["name"] \
        == "dom-a"
    names = [d["name"] for d in api.admin("GET", "/domains", expect=200).json()["domains"]]
    assert names == ["Default", "dom-a"]
    assert [d["name"] for d in api.admin("GET", "/domains?name=dom-a").json()["domains"]] \
        == ["dom-a"]
    api.admin("PATCH", f"/domains/{created['id']}", {"domain": {"enabled": False}}, expect=200)
    assert [d["name"] for d in api.admin("GET", "/domains?enabled=false").json()["domains"]] \
        == ["dom-a"]
    api.admin("DELETE", f"/domains/{created['id']}", expect=204)
    api.admin("GET", f"/domains/{created['id']}", expect=404)


def test_domain_bad_input_changes_nothing(api):
    api.admin("POST", "/domains", {"domain": {}}, expect=400)
    api.admin("POST", "/domains", {"domain": {"name": 5}}, expect=400)
    api.admin("POST", "/domains", {"domain": {"name": "x" * 65}}, expect=400)
    api.admin("POST", "/domains", {"domain": {"name": "Default"}}, expect=409)
    enabled = api.admin("POST", "/domains", {"domain": {"name": "live"}}, expect=201).json()
    # an enabled domain cannot be deleted
    response = api.admin("DELETE", f"/domains/{enabled['domain']['id']}", expect=403)
    assert response.json()["error"]["title"] == "Forbidden"
    api.admin("PATCH", "/domains/nope", {"domain": {"name": "y"}}, expect=404)
    api.admin("PATCH", "/domains/default", {"domain": {"enabled": False}}, expect=403)
    names = [d["name"] for d in api.admin("GET", "/domains").json()["domains"]]
    assert names == ["Default", "live"]
