"""An operator's policy.yaml overrides the built-in defaults."""

import uuid

from tests.conftest import ADMIN_PASSWORD


def test_policy_file_overrides_a_default(api, cloud):
    name = f"d-{uuid.uuid4().hex[:6]}"
    assert api.admin("POST", "/domains", {"domain": {"name": name}}).status_code == 201
    cloud.config.policy_file.write_text('"identity:create_domain": "!"\n')
    refused = api.admin("POST", "/domains", {"domain": {"name": name + "-2"}})
    assert refused.status_code == 403
    assert "identity:create_domain" in refused.json()["error"]["message"]
    # other rules keep their defaults
    assert api.admin("GET", "/domains").status_code == 200
    cloud.config.policy_file.unlink()


def test_default_personas(api):
    assert api.get("/identity/v3/domains", api.admin_token).status_code == 200
    system_token = api.token("admin", ADMIN_PASSWORD, system=True)
    assert api.get("/identity/v3/domains", system_token).status_code == 200
