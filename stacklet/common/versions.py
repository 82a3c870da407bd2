"""Version-discovery documents, in the shapes keystoneauth and openstacksdk parse."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ApiVersion:
    id: str                      # "v3.14", "v2.1", "v2.0"
    path: str                    # path of the version root under the service, e.g. "/v3"
    status: str = "stable"       # keystone says "stable"; nova, neutron "CURRENT"
    updated: str = "2026-11-01T00:00:00Z"
    media_type: str | None = None
    min_version: str = ""        # microversion range, empty for services without
    max_version: str = ""

    def document(self, service_url: str) -> dict:
        doc = {
            "id": self.id,
            "status": self.status,
            "updated": self.updated,
            "links": [{"rel": "self", "href": f"{service_url}{self.path}/"}],
        }
        if self.media_type:
            doc["media-types"] = [{"base": "application/json", "type": self.media_type}]
        if self.max_version:
            doc["version"] = self.max_version
            doc["min_version"] = self.min_version
        return doc
