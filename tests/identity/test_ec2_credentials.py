"""/v3/users/{user_id}/credentials/OS-EC2."""


def test_owner_creates_lists_shows_and_deletes(api):
    user = api.make_user(project="ec2-project")
    token = api.token(user["name"], user["password"], project="ec2-project")
    base = f"/identity/v3/users/{user['id']}/credentials/OS-EC2"
    created = api.post(base, {"tenant_id": user["project_id"]}, token)
    assert created.status_code == 201, created.text
    credential = created.json()["credential"]
    assert credential["access"] and credential["secret"]
    assert credential["user_id"] == user["id"] and credential["tenant_id"] == user["project_id"]
    shown = api.get(f"{base}/{credential['access']}", token).json()["credential"]
    assert shown == credential
    listed = api.get(base, token).json()["credentials"]
    assert [c["access"] for c in listed] == [credential["access"]]
    # it is an ec2 credential in /v3/credentials too
    generic = api.admin("GET", f"/credentials?user_id={user['id']}", expect=200).json()
    assert [c["type"] for c in generic["credentials"]] == ["ec2"]
    assert api.delete(f"{base}/{credential['access']}", token).status_code == 204
    assert api.get(f"{base}/{credential['access']}", token).status_code == 404


def test_refused_requests(api):
    owner = api.make_user(project="ec2-a")
    other = api.make_user(project="ec2-b")
    other_token = api.token(other["name"], other["password"], project="ec2-b")
    base = f"/identity/v3/users/{owner['id']}/credentials/OS-EC2"
    assert api.post(base, {"tenant_id": owner["project_id"]}, other_token).status_code == 403
    assert api.get(base, other_token).status_code == 403
    assert api.post(base, {}, api.admin_token).status_code == 400
    assert api.post(base, {"tenant_id": "nope"}, api.admin_token).status_code == 404
    assert api.get(base + "/unknown-access", api.admin_token).status_code == 404
    assert api.get(base, api.admin_token).json()["credentials"] == []
