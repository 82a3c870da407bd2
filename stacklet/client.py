"""A small client of a running Stacklet, as its clouds.yaml describes it: a
password token, the catalog's endpoints, JSON calls and file uploads.  What
Stacklet's own commands use to act on a cloud the way any client would
(`stacklet image build`, the first-run setup of `stacklet up`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import yaml


class ClientError(RuntimeError):
    """The cloud refused or could not be reached; the message says why."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class CloudClient:
    def __init__(self, clouds_yaml: Path, cloud: str = "stacklet"):
        try:
            entry = yaml.safe_load(clouds_yaml.read_text())["clouds"][cloud]
        except (OSError, KeyError, TypeError) as exc:
            raise ClientError(f"no cloud {cloud!r} in {clouds_yaml} (has `stacklet up` run "
                              f"on this data dir?): {exc}") from exc
        self.token, self.project_id, self.catalog = self._authenticate(entry["auth"])
        self.auth_url = entry["auth"]["auth_url"]
        self.interface = entry.get("interface", "public")
        self.region = entry.get("region_name")

    def _authenticate(self, auth: dict) -> tuple[str, str, list]:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": auth["username"], "password": auth["password"],
            "domain": {"name": auth["user_domain_name"]}}}},
            "scope": {"project": {"name": auth["project_name"],
                                  "domain": {"name": auth["project_domain_name"]}}}}}
        url = auth["auth_url"].rstrip("/") + "/auth/tokens"
        with _open("POST", url, json.dumps(body).encode(), token=None) as response:
            token = json.load(response)["token"]
            return response.headers["X-Subject-Token"], token["project"]["id"], token["catalog"]

    def endpoint(self, service_type: str) -> str:
        for service in self.catalog:
            if service["type"] != service_type:
                continue
            for endpoint in service["endpoints"]:
                if endpoint["interface"] == self.interface and \
                        self.region in (None, endpoint["region"]):
                    return endpoint["url"].rstrip("/")
        raise ClientError(f"the catalog of {self.auth_url} has no {self.interface} "
                          f"{service_type} endpoint")

    def json(self, service_type: str, method: str, path: str,
             body: dict | None = None) -> dict | None:
        """The JSON answer of a call (None for an empty one)."""
        data = None if body is None else json.dumps(body).encode()
        with _open(method, self.endpoint(service_type) + path, data, self.token) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def upload(self, service_type: str, path: str, data: Path) -> None:
        headers = {"Content-Type": "application/octet-stream",
                   "Content-Length": str(data.stat().st_size)}
        with open(data, "rb") as body:
            _open("PUT", self.endpoint(service_type) + path, body, self.token, headers).close()


def _open(method, url, data, token, headers=None):
    headers = headers or {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=300)
    except urllib.error.HTTPError as exc:
        raise ClientError(f"{method} {url}: {exc.code} {exc.read().decode(errors='replace')}",
                          exc.code) from exc
    except OSError as exc:
        raise ClientError(f"{method} {url}: {exc} (is `stacklet up` running?)") from exc
