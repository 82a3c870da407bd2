"""/extensions: the legacy v2 extension list v2.1 clients still read."""

from __future__ import annotations


def test_legacy_extension_list(alice):
    extensions = alice.get("/extensions").json()["extensions"]
    assert "Hosts" in {extension["name"] for extension in extensions}
    assert all(set(extension) == {"alias", "name", "description", "links", "namespace",
                                  "updated"} for extension in extensions)
    assert alice.get("/extensions/os-consoles").json()["extension"]["alias"] == "os-consoles"
    assert alice.get("/extensions/os-nothing").status_code == 404
