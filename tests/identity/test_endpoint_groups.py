"""/v3/OS-EP-FILTER endpoint groups, and the catalog they filter."""

import sqlalchemy as sa

from stacklet.identity.models import Endpoint, Project, Service


def _admin_project_and_identity_endpoints(cloud):
    with cloud.db.session() as session:
        project_id = session.scalar(sa.select(Project.id).where(Project.name == "admin"))
        service_id = session.scalar(sa.select(Service.id).where(Service.type == "identity"))
        public = session.scalar(sa.select(Endpoint.id).where(
            Endpoint.service_id == service_id, Endpoint.interface == "public"))
    return project_id, service_id, public


def test_endpoint_group_crud_and_equal_views(api, cloud):
    _, service_id, _ = _admin_project_and_identity_endpoints(cloud)
    created = api.admin("POST", "/OS-EP-FILTER/endpoint_groups", {"endpoint_group": {
        "name": "g1", "description": "d", "filters": {"service_id": service_id}}},
        expect=201).json()["endpoint_group"]
    listed = api.admin("GET", "/OS-EP-FILTER/endpoint_groups", expect=200).json()
    assert listed["endpoint_groups"] == [created]
    assert api.admin("HEAD", f"/OS-EP-FILTER/endpoint_groups/{created['id']}").status_code == 200
    updated = api.admin("PATCH", f"/OS-EP-FILTER/endpoint_groups/{created['id']}",
                        {"endpoint_group": {"filters": {"interface": "admin"}}},
                        expect=200).json()["endpoint_group"]
    assert updated["filters"] == {"interface": "admin"}
    api.admin("DELETE", f"/OS-EP-FILTER/endpoint_groups/{created['id']}", expect=204)
    api.admin("GET", f"/OS-EP-FILTER/endpoint_groups/{created['id']}", expect=404)


def test_bad_filters_are_refused(api):
    api.admin("POST", "/OS-EP-FILTER/endpoint_groups", {"endpoint_group": {
        "name": "g", "filters": {"colour": "red"}}}, expect=400)
    api.admin("POST", "/OS-EP-FILTER/endpoint_groups", {"endpoint_group": {
        "name": "g"}}, expect=400)
    assert api.admin("GET", "/OS-EP-FILTER/endpoint_groups").json()["endpoint_groups"] == []


def test_group_association_limits_the_project_catalog(api, cloud):
    project_id, service_id, public = _admin_project_and_identity_endpoints(cloud)
    group = api.admin("POST", "/OS-EP-FILTER/endpoint_groups", {"endpoint_group": {
        "name": "public-only", "filters": {"interface": "public"}}},
        expect=201).json()["endpoint_group"]
    path = f"/OS-EP-FILTER/endpoint_groups/{group['id']}/projects/{project_id}"
    api.admin("PUT", path, expect=204)
    api.admin("GET", path, expect=204)
    listed = api.admin("GET", f"/OS-EP-FILTER/projects/{project_id}/endpoint_groups",
                       expect=200).json()["endpoint_groups"]
    assert [g["id"] for g in listed] == [group["id"]]
    catalog = api.admin("GET", "/auth/catalog", expect=200).json()["catalog"]
    (identity,) = [s for s in catalog if s["type"] == "identity"]
    assert [e["id"] for e in identity["endpoints"]] == [public]
    api.admin("DELETE", path, expect=204)
    catalog = api.admin("GET", "/auth/catalog", expect=200).json()["catalog"]
    (identity,) = [s for s in catalog if s["type"] == "identity"]
    assert len(identity["endpoints"]) == 3
    api.admin("PUT", f"/OS-EP-FILTER/endpoint_groups/{group['id']}/projects/missing",
              expect=404)


def test_direct_endpoint_association(api, cloud):
    project_id, _, public = _admin_project_and_identity_endpoints(cloud)
    path = f"/OS-EP-FILTER/projects/{project_id}/endpoints/{public}"
    api.admin("GET", path, expect=404)
    api.admin("PUT", path, expect=204)
    api.admin("HEAD", path, expect=204)
    token = api.get("/identity/v3/auth/tokens", api.admin_token,
                    headers={"X-Subject-Token": api.admin_token}).json()["token"]
    (identity,) = [s for s in token["catalog"] if s["type"] == "identity"]
    assert [e["interface"] for e in identity["endpoints"]] == ["public"]
    api.admin("DELETE", path, expect=204)
    api.admin("PUT", f"/OS-EP-FILTER/projects/{project_id}/endpoints/missing", expect=404)


def test_association_listings(api, cloud):
    project_id, service_id, public = _admin_project_and_identity_endpoints(cloud)
    group = api.admin("POST", "/OS-EP-FILTER/endpoint_groups", {"endpoint_group": {
        "name": "identity", "filters": {"service_id": service_id}}},
        expect=201).json()["endpoint_group"]
    base = f"/OS-EP-FILTER/endpoint_groups/{group['id']}"
    endpoints = api.admin("GET", base + "/endpoints", expect=200).json()["endpoints"]
    assert len(endpoints) == 3 and {e["service_id"] for e in endpoints} == {service_id}
    assert api.admin("GET", base + "/projects", expect=200).json()["projects"] == []
    api.admin("PUT", f"{base}/projects/{project_id}", expect=204)
    projects = api.admin("GET", base + "/projects", expect=200).json()["projects"]
    assert [p["id"] for p in projects] == [project_id]
    listed = api.admin("GET", f"/OS-EP-FILTER/projects/{project_id}/endpoints",
                       expect=200).json()["endpoints"]
    assert sorted(e["id"] for e in listed) == sorted(e["id"] for e in endpoints)
    assert api.admin("GET", f"/OS-EP-FILTER/endpoints/{public}/projects",
                     expect=200).json()["projects"] == []
    api.admin("PUT", f"/OS-EP-FILTER/projects/{project_id}/endpoints/{public}", expect=204)
    projects = api.admin("GET", f"/OS-EP-FILTER/endpoints/{public}/projects",
                         expect=200).json()["projects"]
    assert [p["id"] for p in projects] == [project_id]
    api.admin("GET", "/OS-EP-FILTER/endpoint_groups/missing/endpoints", expect=404)
    api.admin("GET", "/OS-EP-FILTER/projects/missing/endpoints", expect=404)
