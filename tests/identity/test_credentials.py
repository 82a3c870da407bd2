"""/v3/credentials."""

import hashlib
import json

import pytest

from stacklet.identity.models import Credential
from tests.identity.directory import add_user

CREDENTIALS = "/identity/v3/credentials"


@pytest.fixture
def alice(api):
    user = add_user(api.cloud, project="proj-a")
    user["token"] = api.token(user["name"], user["password"], project="proj-a")
    return user


@pytest.fixture
def bob(api):
    user = add_user(api.cloud, project="proj-b")
    user["token"] = api.token(user["name"], user["password"], project="proj-b")
    return user


def _ec2(user, access="AK1", secret="SK1"):
    return {"user_id": user["id"], "project_id": user["project_id"], "type": "ec2",
            "blob": json.dumps({"access": access, "secret": secret})}


def _all_ids(api):
    return sorted(c["id"] for c in api.admin("GET", "/credentials", expect=200)
                  .json()["credentials"])


def test_ec2_credential_crud_encrypted_at_rest(api, alice):
    body = _ec2(alice)
    created = api.admin("POST", "/credentials", {"credential": body},
                        expect=201).json()["credential"]
    assert created["id"] == hashlib.sha256(b"AK1").hexdigest()
    assert json.loads(created["blob"]) == {"access": "AK1", "secret": "SK1"}
    assert (created["user_id"], created["project_id"], created["type"]) == \
        (alice["id"], alice["project_id"], "ec2")
    assert created["links"]["self"].endswith(f"/identity/v3/credentials/{created['id']}")

    with api.cloud.db.session() as session:
        stored = session.get(Credential, created["id"]).encrypted_blob
    assert "SK1" not in stored and "AK1" not in stored
    assert (api.cloud.config.data_dir / "credential-keys").is_dir()

    assert api.admin("GET", f"/credentials/{created['id']}", expect=200).json()["credential"] \
        == created
    new_blob = json.dumps({"access": "AK2", "secret": "SK2"})
    updated = api.admin("PATCH", f"/credentials/{created['id']}", {"credential": {
        "blob": new_blob}}, expect=200).json()["credential"]
    assert updated["id"] == created["id"] and updated["blob"] == new_blob
    assert api.admin("GET", f"/credentials/{created['id']}").json()["credential"]["blob"] \
        == new_blob

    api.admin("DELETE", f"/credentials/{created['id']}", expect=204)
    api.admin("GET", f"/credentials/{created['id']}", expect=404)


def test_other_types_get_generated_ids_and_filters_apply(api, alice, bob):
    cert = api.admin("POST", "/credentials", {"credential": {
        "user_id": alice["id"], "type": "cert", "blob": "-----BEGIN-----", "label": "x"}},
        expect=201).json()["credential"]
    assert len(cert["id"]) == 32 and cert["project_id"] is None and cert["label"] == "x"
    ec2 = api.admin("POST", "/credentials", {"credential": _ec2(bob)}, expect=201).json()

    assert _all_ids(api) == sorted([cert["id"], ec2["credential"]["id"]])
    by_user = api.admin("GET", f"/credentials?user_id={alice['id']}").json()["credentials"]
    assert [c["id"] for c in by_user] == [cert["id"]]
    by_type = api.admin("GET", "/credentials?type=ec2").json()["credentials"]
    assert [c["id"] for c in by_type] == [ec2["credential"]["id"]]


def test_bad_credentials_change_nothing(api, alice):
    api.admin("POST", "/credentials", {"credential": _ec2(alice)}, expect=201)
    before = _all_ids(api)
    cases = [
        ({**_ec2(alice, access="AK9"), "project_id": None}, 400),   # ec2 needs a project
        ({**_ec2(alice), "blob": "not json"}, 400),
        ({**_ec2(alice), "blob": json.dumps({"secret": "only"})}, 400),
        ({**_ec2(alice), "blob": json.dumps(["AK"])}, 400),
        ({"user_id": alice["id"], "type": "cert"}, 400),             # no blob
        ({"user_id": alice["id"], "type": "cert", "blob": 5}, 400),
        (_ec2(alice), 409),                                          # same access key
        ({**_ec2(alice, access="AK8"), "user_id": "ghost"}, 404),
        ({**_ec2(alice, access="AK7"), "project_id": "ghost"}, 404),
    ]
    for body, status in cases:
        api.admin("POST", "/credentials", {"credential": body}, expect=status)
    missing = api.admin("PATCH", "/credentials/ghost", {"credential": {"blob": "x"}},
                        expect=404)
    assert missing.json()["error"]["message"] == "Could not find credential: ghost."
    existing = before[0]
    api.admin("PATCH", f"/credentials/{existing}", {"credential": {"blob": "{}"}}, expect=400)
    api.admin("PATCH", f"/credentials/{existing}", {"credential": {}}, expect=400)
    api.admin("DELETE", "/credentials/ghost", expect=404)
    assert _all_ids(api) == before
    blob = api.admin("GET", f"/credentials/{existing}").json()["credential"]["blob"]
    assert json.loads(blob)["access"] == "AK1"


def test_users_see_and_manage_only_their_own(api, alice, bob):
    own = api.post(CREDENTIALS, {"credential": _ec2(alice)}, alice["token"])
    assert own.status_code == 201, own.text
    own_id = own.json()["credential"]["id"]
    bobs = api.post(CREDENTIALS, {"credential": _ec2(bob, access="BK")}, bob["token"])
    bobs_id = bobs.json()["credential"]["id"]

    # alice cannot create one for bob, nor see, change or delete bob's
    assert api.post(CREDENTIALS, {"credential": _ec2(bob, access="X")},
                    alice["token"]).status_code == 403
    assert api.get(f"{CREDENTIALS}/{bobs_id}", alice["token"]).status_code == 403
    assert api.patch(f"{CREDENTIALS}/{bobs_id}", {"credential": {"blob": "{}"}},
                     alice["token"]).status_code == 403
    assert api.delete(f"{CREDENTIALS}/{bobs_id}", alice["token"]).status_code == 403
    # nor hand her own to bob
    assert api.patch(f"{CREDENTIALS}/{own_id}", {"credential": {"user_id": bob["id"]}},
                     alice["token"]).status_code == 403

    listed = api.get(CREDENTIALS, alice["token"]).json()["credentials"]
    assert [c["id"] for c in listed] == [own_id]
    assert api.get(f"{CREDENTIALS}?user_id={bob['id']}", alice["token"]).json()[
        "credentials"] == []
    assert api.get(f"{CREDENTIALS}/{own_id}", alice["token"]).status_code == 200
    assert api.get(CREDENTIALS).status_code == 401
    assert api.get(f"{CREDENTIALS}/{own_id}").status_code == 401

    assert _all_ids(api) == sorted([own_id, bobs_id])
    with api.cloud.db.session() as session:
        assert session.get(Credential, own_id).user_id == alice["id"]
    assert api.delete(f"{CREDENTIALS}/{own_id}", alice["token"]).status_code == 204
    assert _all_ids(api) == [bobs_id]
