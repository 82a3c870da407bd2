"""Microversion negotiation (the OpenStack-API-Version header)."""

from __future__ import annotations

import dataclasses
import functools
import re

from starlette.datastructures import Headers
from starlette.responses import Response

from stacklet.common.errors import BadRequest, NotAcceptable

_VERSION_RE = re.compile(r"^([1-9]\d*)\.(0|[1-9]\d*)$")


@dataclasses.dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int

    @classmethod
    @functools.lru_cache(maxsize=1024)
    def parse(cls, text: str) -> "Version":
        match = _VERSION_RE.match(text.strip())
        if not match:
            raise BadRequest(f"Invalid microversion {text!r}: expected MAJOR.MINOR or 'latest'.")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def matches(self, minimum: str, maximum: str | None = None) -> bool:
        """True if this version lies in [minimum, maximum] (maximum open when None)."""
        if self < Version.parse(minimum):
            return False
        return maximum is None or self <= Version.parse(maximum)


@dataclasses.dataclass(frozen=True)
class MicroversionSpec:
    """The microversions one service accepts."""

    service_type: str            # as in the header: "compute", "volume", ...
    minimum: Version
    maximum: Version
    legacy_header: str | None = None  # e.g. X-OpenStack-Nova-API-Version

    def requested(self, headers: Headers) -> str | None:
        for value in headers.getlist("openstack-api-version"):
            for item in value.split(","):
                parts = item.strip().split(None, 1)
                if len(parts) == 2 and parts[0].lower() == self.service_type:
                    return parts[1]
        if self.legacy_header:
            return headers.get(self.legacy_header)
        return None

    def negotiate(self, headers: Headers) -> Version:
        """The version to serve: the minimum when none is asked; 406 outside the range."""
        text = self.requested(headers)
        if text is None:
            return self.minimum
        if text.strip().lower() == "latest":
            return self.maximum
        version = Version.parse(text)
        if not self.minimum <= version <= self.maximum:
            raise NotAcceptable(
                f"Version {version} is not supported by the API. Minimum is "
                f"{self.minimum} and maximum is {self.maximum}.")
        return version

    def annotate(self, response: Response, version: Version) -> None:
        response.headers["OpenStack-API-Version"] = f"{self.service_type} {version}"
        vary = ["OpenStack-API-Version"]
        if self.legacy_header:
            response.headers[self.legacy_header] = str(version)
            vary.append(self.legacy_header)
        response.headers["Vary"] = ", ".join(vary)
