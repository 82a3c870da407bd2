"""Key pairs: generated and imported, ssh and x509, per user, paged, quota'd."""

from __future__ import annotations

import base64
import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.x509.oid import NameOID


def ssh_public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode() + " me@host"


def md5_fingerprint(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def certificate() -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stacklet")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))


def create(caller, microversion="2.1", expect=None, **fields):
    response = caller.post("/os-keypairs", {"keypair": fields}, microversion)
    if expect is not None:
        assert response.status_code == expect, response.text
    return response


def test_generate_import_show_delete(alice):
    generated = create(alice, name="gen", expect=200).json()["keypair"]
    assert generated["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert generated["public_key"].startswith("ssh-rsa ")
    assert generated["fingerprint"] == md5_fingerprint(generated["public_key"])
    assert "type" not in generated

    public_key = ssh_public_key()
    imported = create(alice, "2.2", name="imported", public_key=public_key,
                      expect=201).json()["keypair"]
    assert "private_key" not in imported
    assert imported["type"] == "ssh" and imported["fingerprint"] == md5_fingerprint(public_key)

    shown = alice.get("/os-keypairs/imported", "2.2").json()["keypair"]
    assert shown["public_key"] == public_key and shown["type"] == "ssh"
    assert shown["deleted"] is False and shown["user_id"] == imported["user_id"]
    listed = alice.get("/os-keypairs").json()["keypairs"]
    assert [entry["keypair"]["name"] for entry in listed] == ["gen", "imported"]

    conflict = create(alice, name="gen", public_key=public_key, expect=409)
    assert conflict.json()["conflictingRequest"]["message"] == "Key pair 'gen' already exists."
    assert alice.delete("/os-keypairs/gen").status_code == 202
    assert alice.delete("/os-keypairs/imported", "2.2").status_code == 204
    missing = alice.get("/os-keypairs/gen")
    assert missing.status_code == 404 and "itemNotFound" in missing.json()


def test_x509_certificates(alice):
    cert = certificate()
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    created = create(alice, "2.2", name="cert", type="x509", public_key=pem,
                     expect=201).json()["keypair"]
    expected = ":".join(f"{b:02x}" for b in cert.fingerprint(hashes.SHA1()))
    assert created["fingerprint"] == expected and created["type"] == "x509"
    generated = create(alice, "2.2", name="gen-cert", type="x509", expect=201).json()["keypair"]
    assert generated["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    loaded = x509.load_pem_x509_certificate(generated["public_key"].encode())
    assert generated["fingerprint"] == ":".join(
        f"{b:02x}" for b in loaded.fingerprint(hashes.SHA1()))
    # Before 2.2 there is no type to ask for.
    create(alice, name="cert2", type="x509", public_key=pem, expect=400)
    create(alice, "2.2", name="bad", type="x509", public_key="not a cert", expect=400)


def test_bad_input(alice):
    create(alice, name="bad", public_key="ssh-rsa not-base64!", expect=400)
    create(alice, name="bad", public_key="hello", expect=400)
    create(alice, name="", expect=400)
    create(alice, name="a/b", expect=400)
    create(alice, name=" padded", expect=400)
    create(alice, name="me@host", public_key=ssh_public_key(), expect=400)
    # 2.92 allows '@' and '.', and requires the public key.
    create(alice, "2.92", name="me@host.example", public_key=ssh_public_key(), expect=201)
    create(alice, "2.92", name="generated", expect=400)
    assert alice.post("/os-keypairs", {"key": {}}).status_code == 400


def test_users_see_their_own_and_admins_choose(alice, bob, admin):
    create(alice, name="alices", public_key=ssh_public_key(), expect=200)
    assert bob.get("/os-keypairs").json()["keypairs"] == []
    assert bob.get("/os-keypairs/alices").status_code == 404
    alice_id = alice.get("/os-keypairs/alices").json()["keypair"]["user_id"]
    # An admin names the user from 2.10 on.
    listed = admin.get(f"/os-keypairs?user_id={alice_id}", "2.10").json()["keypairs"]
    assert [entry["keypair"]["name"] for entry in listed] == ["alices"]
    assert admin.get(f"/os-keypairs?user_id={alice_id}").json()["keypairs"] == []
    assert admin.get(f"/os-keypairs/alices?user_id={alice_id}", "2.10").status_code == 200
    created = create(admin, "2.10", name="for-alice", user_id=alice_id,
                     public_key=ssh_public_key(), expect=201).json()["keypair"]
    assert created["user_id"] == alice_id
    # Others may not.
    assert bob.get(f"/os-keypairs?user_id={alice_id}", "2.10").status_code == 403
    create(bob, "2.10", name="x", user_id=alice_id, public_key=ssh_public_key(), expect=403)
    assert bob.delete(f"/os-keypairs/alices?user_id={alice_id}", "2.10").status_code == 403
    assert admin.delete(f"/os-keypairs/alices?user_id={alice_id}", "2.10").status_code == 204


def test_pages(alice):
    for name in ("k1", "k2", "k3"):
        create(alice, name=name, public_key=ssh_public_key(), expect=200)
    first = alice.get("/os-keypairs?limit=2", "2.35").json()
    assert [k["keypair"]["name"] for k in first["keypairs"]] == ["k1", "k2"]
    assert "marker=k2" in first["keypairs_links"][0]["href"]
    rest = alice.get("/os-keypairs?limit=2&marker=k2", "2.35").json()
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["k3"]
    assert "keypairs_links" not in rest
    # Before 2.35 the list is whole.
    assert len(alice.get("/os-keypairs?limit=2").json()["keypairs"]) == 3


def test_quota(admin, alice):
    response = admin.put(f"/os-quota-sets/{alice.project_id}", {"quota_set": {"key_pairs": 1}})
    assert response.status_code == 200, response.text
    create(alice, name="one", public_key=ssh_public_key(), expect=200)
    over = create(alice, name="two", public_key=ssh_public_key(), expect=403)
    assert over.json()["forbidden"]["message"] == "Quota exceeded, too many key pairs."
