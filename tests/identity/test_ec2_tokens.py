"""/v3/ec2tokens and /v3/s3tokens, with requests signed by botocore's signers
(an independent implementation of AWS signatures), as EC2 APIs and Swift's
s3api forward them."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EC2_HOST = "ec2.test:8788"
QUERY = {"Action": "DescribeInstances", "Version": "2016-11-15"}


@pytest.fixture
def owner(api):
    """A project member with an EC2 credential: {"user", "token", "access", "secret"}."""
    user = api.make_user(project="ec2-tokens")
    token = api.token(user["name"], user["password"], project="ec2-tokens")
    created = api.post(f"/identity/v3/users/{user['id']}/credentials/OS-EC2",
                       {"tenant_id": user["project_id"]}, token)
    assert created.status_code == 201, created.text
    credential = created.json()["credential"]
    return {"user": user, "token": token, "access": credential["access"],
            "secret": credential["secret"]}


def _v4_header_signed(access: str, secret: str, body: bytes = b"") -> dict:
    request = AWSRequest(method="GET", url=f"http://{EC2_HOST}/", params=dict(QUERY),
                         data=body)
    botocore.auth.SigV4Auth(Credentials(access, secret), "ec2", "RegionOne").add_auth(request)
    return {"access": access, "host": EC2_HOST, "verb": "GET", "path": "/",
            "signature": request.headers["Authorization"].rpartition("Signature=")[2],
            "params": dict(QUERY),
            "headers": {**dict(request.headers), "Host": EC2_HOST},
            "body_hash": hashlib.sha256(body).hexdigest()}


def _v4_query_signed(access: str, secret: str) -> dict:
    request = AWSRequest(method="GET", url=f"http://{EC2_HOST}/", params=dict(QUERY))
    botocore.auth.SigV4QueryAuth(Credentials(access, secret), "ec2", "RegionOne",
                                 expires=300).add_auth(request)
    params = dict(parse_qsl(urlsplit(request.url).query))
    return {"access": access, "host": EC2_HOST, "verb": "GET", "path": "/",
            "signature": params["X-Amz-Signature"], "params": params,
            "headers": {"Host": EC2_HOST},
            "body_hash": hashlib.sha256(b"").hexdigest()}


def _v2_signed(access: str, secret: str) -> dict:
    request = AWSRequest(method="GET", url=f"http://{EC2_HOST}/", params=dict(QUERY))
    botocore.auth.SigV2Auth(Credentials(access, secret)).add_auth(request)
    params = dict(request.params)
    return {"access": access, "host": EC2_HOST, "verb": "GET", "path": "/",
            "signature": params.pop("Signature"), "params": params, "headers": {}}


class _RecordingHmacV1(botocore.auth.HmacV1Auth):
    """botocore's S3 v2 signer, keeping the string it signed (what s3api forwards)."""

    def canonical_string(self, *args, **kwargs):
        self.signed = super().canonical_string(*args, **kwargs)
        return self.signed


class _RecordingS3V4(botocore.auth.S3SigV4Auth):
    def string_to_sign(self, request, canonical_request):
        self.signed = super().string_to_sign(request, canonical_request)
        return self.signed


def _s3_v2_signed(access: str, secret: str) -> dict:
    request = AWSRequest(method="PUT", url="http://s3.test:8080/bucket/object", data=b"hello",
                         headers={"Content-Type": "text/plain"})
    signer = _RecordingHmacV1(Credentials(access, secret))
    signer.add_auth(request)
    return {"access": access, "token": base64.urlsafe_b64encode(signer.signed.encode()).decode(),
            "signature": request.headers["Authorization"].rpartition(":")[2]}


def _s3_v4_signed(access: str, secret: str, service: str = "s3") -> dict:
    request = AWSRequest(method="PUT", url="http://s3.test:8080/bucket/object", data=b"hello")
    signer = _RecordingS3V4(Credentials(access, secret), service, "RegionOne")
    signer.add_auth(request)
    return {"access": access, "token": base64.urlsafe_b64encode(signer.signed.encode()).decode(),
            "signature": request.headers["Authorization"].rpartition("Signature=")[2]}


def _ec2_auth(api, credentials: dict, key: str = "credentials"):
    return api.post("/identity/v3/ec2tokens", {key: credentials})


def _assert_token_for(api, response, owner: dict) -> None:
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert token["methods"] == ["ec2credential"]
    assert token["user"]["id"] == owner["user"]["id"]
    assert token["project"]["id"] == owner["user"]["project_id"]
    assert sorted(r["name"] for r in token["roles"]) == ["member", "reader"]
    assert token["catalog"] and token["expires_at"] and token["audit_ids"]
    # The token it gives works on other requests, and validates as ec2credential.
    subject = response.headers["X-Subject-Token"]
    assert api.get("/identity/v3/auth/catalog", subject).status_code == 200
    validated = api.get("/identity/v3/auth/tokens", api.admin_token,
                        headers={"X-Subject-Token": subject})
    assert validated.status_code == 200
    assert validated.json()["token"]["methods"] == ["ec2credential"]


@pytest.mark.parametrize("sign", [_v4_header_signed, _v4_query_signed, _v2_signed],
                         ids=["v4-header", "v4-query", "v2"])
def test_signed_request_gives_a_project_token(api, owner, sign):
    _assert_token_for(api, _ec2_auth(api, sign(owner["access"], owner["secret"])), owner)


def test_legacy_body_key_and_host_signed_without_port(api, owner):
    signed = _v2_signed(owner["access"], owner["secret"])
    _assert_token_for(api, _ec2_auth(api, signed, key="ec2Credentials"), owner)
    # A client that signed the bare host name, while the API saw host:port.
    request = AWSRequest(method="GET", url="http://ec2.test/", params=dict(QUERY))
    botocore.auth.SigV2Auth(Credentials(owner["access"], owner["secret"])).add_auth(request)
    params = dict(request.params)
    signed = {**signed, "signature": params.pop("Signature"), "params": params}
    _assert_token_for(api, _ec2_auth(api, signed), owner)


@pytest.mark.parametrize("tamper", [
    lambda c: {**c, "signature": c["signature"][:-4] + "AAAA"},
    lambda c: {**c, "path": "/other"},
    lambda c: {**c, "verb": "POST"},
    lambda c: {**c, "params": {**c["params"], "Action": "TerminateInstances"}},
    lambda c: {**c, "body_hash": hashlib.sha256(b"tampered").hexdigest()},
], ids=["signature", "path", "verb", "params", "body"])
def test_tampered_v4_request_is_refused(api, owner, tamper):
    signed = _v4_header_signed(owner["access"], owner["secret"], body=b"Action=Run")
    response = _ec2_auth(api, tamper(signed))
    assert response.status_code == 401, response.text
    assert "X-Subject-Token" not in response.headers


def test_tampered_v2_request_and_wrong_secret_are_refused(api, owner):
    signed = _v2_signed(owner["access"], owner["secret"])
    assert _ec2_auth(api, {**signed, "path": "/admin"}).status_code == 401
    assert _ec2_auth(api, {**signed, "host": "other.test:8788"}).status_code == 401
    wrong = _v2_signed(owner["access"], "not-the-secret")
    assert _ec2_auth(api, wrong).status_code == 401


def test_unknown_access_key_is_refused(api, owner):
    signed = _v4_header_signed("no-such-access", owner["secret"])
    response = _ec2_auth(api, signed)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401


@pytest.mark.parametrize("minutes", [-20, 20], ids=["past", "future"])
def test_request_signed_too_far_from_now_is_refused(api, owner, monkeypatch, minutes):
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=minutes)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: when)
    response = _ec2_auth(api, _v4_header_signed(owner["access"], owner["secret"]))
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_disabled_user_or_lost_role_is_refused(api, owner):
    user = owner["user"]
    signed = _v4_header_signed(owner["access"], owner["secret"])
    api.admin("PATCH", f"/users/{user['id']}", {"user": {"enabled": False}}, expect=200)
    assert _ec2_auth(api, signed).status_code == 401
    api.admin("PATCH", f"/users/{user['id']}", {"user": {"enabled": True}}, expect=200)
    assert _ec2_auth(api, signed).status_code == 200
    role_id = api.admin("GET", "/roles?name=member", expect=200).json()["roles"][0]["id"]
    api.admin("DELETE", f"/projects/{user['project_id']}/users/{user['id']}/roles/{role_id}",
              expect=204)
    assert _ec2_auth(api, signed).status_code == 401


@pytest.mark.parametrize("body", [
    None,
    {},
    {"credentials": "not-an-object"},
    {"credentials": {"signature": "x"}},
    {"credentials": {"access": "a"}},
    {"credentials": {"access": "a", "signature": "x", "params": {"n": 1}}},
], ids=["no-body", "no-credentials", "not-object", "no-access", "no-signature", "bad-params"])
def test_malformed_ec2_request_is_400(api, body):
    response = api.post("/identity/v3/ec2tokens", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == 400


def test_v4_request_without_body_hash_or_scope_is_400(api, owner):
    signed = _v4_header_signed(owner["access"], owner["secret"])
    without_hash = {k: v for k, v in signed.items() if k != "body_hash"}
    assert _ec2_auth(api, without_hash).status_code == 400
    query = _v4_query_signed(owner["access"], owner["secret"])
    params = {k: v for k, v in query["params"].items() if k != "X-Amz-Credential"}
    assert _ec2_auth(api, {**query, "params": params}).status_code == 400


def test_credential_from_a_trust_token_gives_trust_scoped_tokens(api, owner):
    trustor = owner["user"]
    trustee = api.make_user()
    member_id = api.admin("GET", "/roles?name=member", expect=200).json()["roles"][0]["id"]
    trust = api.post("/identity/v3/OS-TRUST/trusts", {"trust": {
        "trustor_user_id": trustor["id"], "trustee_user_id": trustee["id"],
        "project_id": trustor["project_id"], "impersonation": False,
        "roles": [{"id": member_id}]}}, owner["token"])
    assert trust.status_code == 201, trust.text
    trust_id = trust.json()["trust"]["id"]
    trustee_token = api.post("/identity/v3/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "id": trustee["id"], "password": trustee["password"]}}},
        "scope": {"OS-TRUST:trust": {"id": trust_id}}}}).headers["X-Subject-Token"]
    created = api.post(f"/identity/v3/users/{trustee['id']}/credentials/OS-EC2",
                       {"tenant_id": trustor["project_id"]}, trustee_token)
    assert created.status_code == 201, created.text
    credential = created.json()["credential"]
    assert credential["trust_id"] == trust_id
    response = _ec2_auth(api, _v4_header_signed(credential["access"], credential["secret"]))
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert token["user"]["id"] == trustee["id"]
    assert token["OS-TRUST:trust"]["id"] == trust_id
    # Once the trust is gone, so is what the credential gave.
    assert api.delete(f"/identity/v3/OS-TRUST/trusts/{trust_id}",
                      owner["token"]).status_code == 204
    signed = _v4_header_signed(credential["access"], credential["secret"])
    assert _ec2_auth(api, signed).status_code == 401


def test_credential_from_an_application_credential_keeps_its_roles(api, owner):
    user = owner["user"]
    app_cred = api.post(f"/identity/v3/users/{user['id']}/application_credentials",
                        {"application_credential": {"name": "reader-only",
                                                    "roles": [{"name": "reader"}]}},
                        owner["token"])
    assert app_cred.status_code == 201, app_cred.text
    app_cred = app_cred.json()["application_credential"]
    app_token = api.post("/identity/v3/auth/tokens", {"auth": {"identity": {
        "methods": ["application_credential"], "application_credential": {
            "id": app_cred["id"], "secret": app_cred["secret"]}}}}).headers["X-Subject-Token"]
    created = api.post(f"/identity/v3/users/{user['id']}/credentials/OS-EC2",
                       {"tenant_id": user["project_id"]}, app_token)
    assert created.status_code == 201, created.text
    credential = created.json()["credential"]
    response = _ec2_auth(api, _v2_signed(credential["access"], credential["secret"]))
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    # Not the member role the user holds: only what the application credential delegated.
    assert [r["name"] for r in token["roles"]] == ["reader"]
    assert token["application_credential"]["id"] == app_cred["id"]
    assert api.delete(f"/identity/v3/users/{user['id']}/application_credentials/"
                      f"{app_cred['id']}", owner["token"]).status_code == 204
    signed = _v2_signed(credential["access"], credential["secret"])
    assert _ec2_auth(api, signed).status_code == 401


def test_ec2_credential_delegation_cannot_be_edited_away(api, owner):
    credential_id = hashlib.sha256(owner["access"].encode()).hexdigest()
    blob = json.dumps({"access": owner["access"], "secret": owner["secret"],
                       "trust_id": "some-trust"})
    response = api.patch(f"/identity/v3/credentials/{credential_id}",
                         {"credential": {"blob": blob}}, owner["token"])
    assert response.status_code == 400, response.text
    assert _ec2_auth(api, _v2_signed(owner["access"], owner["secret"])).status_code == 200


# -- /v3/s3tokens ---------------------------------------------------------------------

def _s3_auth(api, credentials: dict):
    return api.post("/identity/v3/s3tokens", {"credentials": credentials})


@pytest.mark.parametrize("sign", [_s3_v2_signed, _s3_v4_signed], ids=["v2", "v4"])
def test_s3_signed_request_gives_a_project_token(api, owner, sign):
    _assert_token_for(api, _s3_auth(api, sign(owner["access"], owner["secret"])), owner)


@pytest.mark.parametrize("sign", [_s3_v2_signed, _s3_v4_signed], ids=["v2", "v4"])
def test_tampered_s3_request_is_refused(api, owner, sign):
    signed = sign(owner["access"], owner["secret"])
    string_to_sign = base64.urlsafe_b64decode(signed["token"])
    # The last character: the object's path for v2, the canonical request's hash for v4.
    tampered = string_to_sign[:-1] + (b"0" if string_to_sign[-1:] != b"0" else b"1")
    other = base64.urlsafe_b64encode(tampered).decode()
    assert _s3_auth(api, {**signed, "token": other}).status_code == 401
    flipped = signed["signature"][:-2] + ("00" if signed["signature"][-2:] != "00" else "11")
    assert _s3_auth(api, {**signed, "signature": flipped}).status_code == 401
    assert _s3_auth(api, {**signed, "access": "no-such-access"}).status_code == 401
    wrong_secret = sign(owner["access"], "not-the-secret")
    assert _s3_auth(api, wrong_secret).status_code == 401


def test_s3_v4_for_another_service_is_refused(api, owner):
    signed = _s3_v4_signed(owner["access"], owner["secret"], service="iam")
    assert _s3_auth(api, signed).status_code == 401


@pytest.mark.parametrize("credentials", [
    {"access": "a", "signature": "x"},
    {"access": "a", "token": "!!!", "signature": "x"},
    {"access": "a", "token": 5, "signature": "x"},
], ids=["no-token", "not-base64", "wrong-type"])
def test_malformed_s3_request_is_400(api, credentials):
    response = _s3_auth(api, credentials)
    assert response.status_code == 400, response.text


def test_s3_token_refused_for_disabled_user(api, owner):
    api.admin("PATCH", f"/users/{owner['user']['id']}", {"user": {"enabled": False}},
              expect=200)
    assert _s3_auth(api, _s3_v2_signed(owner["access"], owner["secret"])).status_code == 401
