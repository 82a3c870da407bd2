"""/v3/policies and /v3/OS-OAUTH1/consumers."""


def test_policy_crud_and_type_filter(api):
    created = api.admin("POST", "/policies", {"policy": {"type": "application/json",
                                                         "blob": '{"a": 1}'}},
                        expect=201).json()["policy"]
    assert created["blob"] == '{"a": 1}' and created["links"]["self"].endswith(created["id"])
    api.admin("POST", "/policies", {"policy": {"type": "text/plain", "blob": "x"}}, expect=201)
    listed = api.admin("GET", "/policies?type=application/json", expect=200).json()["policies"]
    assert [p["id"] for p in listed] == [created["id"]]
    updated = api.admin("PATCH", f"/policies/{created['id']}",
                        {"policy": {"type": "text/yaml"}}, expect=200).json()["policy"]
    assert updated["type"] == "text/yaml" and updated["blob"] == '{"a": 1}'
    api.admin("DELETE", f"/policies/{created['id']}", expect=204)
    api.admin("GET", f"/policies/{created['id']}", expect=404)


def test_policy_bad_input(api):
    api.admin("POST", "/policies", {"policy": {"type": "t"}}, expect=400)
    api.admin("POST", "/policies", {"policy": {"type": "t", "blob": 5}}, expect=400)
    api.admin("PATCH", "/policies/missing", {"policy": {"type": "t"}}, expect=404)
    assert api.admin("GET", "/policies", expect=200).json()["policies"] == []


def test_consumer_secret_shown_once_and_crud(api):
    created = api.admin("POST", "/OS-OAUTH1/consumers", {"consumer": {"description": "cli"}},
                        expect=201).json()["consumer"]
    assert created["secret"]
    shown = api.admin("GET", f"/OS-OAUTH1/consumers/{created['id']}", expect=200).json()
    assert "secret" not in shown["consumer"]
    assert shown["consumer"]["links"] == created["links"]
    api.admin("PATCH", f"/OS-OAUTH1/consumers/{created['id']}",
              {"consumer": {"description": "new"}}, expect=200)
    listed = api.admin("GET", "/OS-OAUTH1/consumers", expect=200).json()["consumers"]
    assert [(c["id"], c["description"]) for c in listed] == [(created["id"], "new")]
    api.admin("PATCH", f"/OS-OAUTH1/consumers/{created['id']}",
              {"consumer": {"secret": "mine"}}, expect=400)
    api.admin("DELETE", f"/OS-OAUTH1/consumers/{created['id']}", expect=204)
    api.admin("GET", f"/OS-OAUTH1/consumers/{created['id']}", expect=404)
