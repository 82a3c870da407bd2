"""Who is making a request: filled from the validated token."""

from __future__ import annotations

import dataclasses
import datetime

from stacklet.common.access_rules import AccessRule


@dataclasses.dataclass(frozen=True)
class RequestContext:
    user_id: str
    user_name: str
    user_domain_id: str
    user_domain_name: str
    roles: tuple[str, ...] = ()
    role_ids: tuple[str, ...] = ()
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    project_domain_name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None
    system_scope: str | None = None
    methods: tuple[str, ...] = ()
    audit_ids: tuple[str, ...] = ()
    expires_at: datetime.datetime | None = None
    issued_at: datetime.datetime | None = None
    application_credential_id: str | None = None
    trust_id: str | None = None
    is_admin_project: bool = True
    # Its application credential's access rules; empty: the token is not limited.
    access_rules: tuple[AccessRule, ...] = ()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def policy_credentials(self) -> dict:
        """The credential dict oslo.policy check strings refer to."""
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "roles": list(self.roles),
            "is_admin_project": self.is_admin_project,
            "application_credential_id": self.application_credential_id,
        }
