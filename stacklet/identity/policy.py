"""Default identity policy, following upstream Keystone's personas.

Admin anywhere is the cloud admin (upstream's ``admin_required``); a system
reader reads everything; a domain reader reads its domain; a user reads and
manages what is their own (password, application credentials, credentials).
"""

from oslo_policy.policy import RuleDefault

ADMIN = "rule:admin_required"
SYSTEM_READER = "role:reader and system_scope:all"
ADMIN_OR_SYSTEM_READER = f"{ADMIN} or ({SYSTEM_READER})"
OWNER = "user_id:%(target.user.id)s"


def _rule(name: str, check: str, description: str = "") -> RuleDefault:
    return RuleDefault(f"identity:{name}", check, description)


RULES = [
    # tokens
    _rule("validate_token", f"{ADMIN_OR_SYSTEM_READER} or rule:service_role or "
          "user_id:%(target.token.user_id)s"),
    _rule("check_token", f"{ADMIN_OR_SYSTEM_READER} or rule:service_role or "
          "user_id:%(target.token.user_id)s"),
    _rule("revoke_token", f"{ADMIN} or rule:service_role or user_id:%(target.token.user_id)s"),
    # domains
    _rule("get_domain", f"{ADMIN_OR_SYSTEM_READER} or domain_id:%(target.domain.id)s "
          "or project_domain_id:%(target.domain.id)s"),
    _rule("list_domains", ADMIN_OR_SYSTEM_READER),
    _rule("create_domain", ADMIN),
    _rule("update_domain", ADMIN),
    _rule("delete_domain", ADMIN),
    # regions: any authenticated user reads them, as upstream
    _rule("get_region", ""),
    _rule("list_regions", ""),
    _rule("create_region", ADMIN),
    _rule("update_region", ADMIN),
    _rule("delete_region", ADMIN),
    # services and endpoints
    _rule("get_service", ADMIN_OR_SYSTEM_READER),
    _rule("list_services", ADMIN_OR_SYSTEM_READER),
    _rule("create_service", ADMIN),
    _rule("update_service", ADMIN),
    _rule("delete_service", ADMIN),
    _rule("get_endpoint", ADMIN_OR_SYSTEM_READER),
    _rule("list_endpoints", ADMIN_OR_SYSTEM_READER),
    _rule("create_endpoint", ADMIN),
    _rule("update_endpoint", ADMIN),
    _rule("delete_endpoint", ADMIN),
    # credentials: the owner, or an admin
    _rule("get_credential", f"{ADMIN_OR_SYSTEM_READER} or "
          "user_id:%(target.credential.user_id)s"),
    _rule("list_credentials", f"{ADMIN_OR_SYSTEM_READER} or "
          "user_id:%(target.credential.user_id)s"),
    _rule("create_credential", f"{ADMIN} or user_id:%(target.credential.user_id)s"),
    _rule("update_credential", f"{ADMIN} or user_id:%(target.credential.user_id)s"),
    _rule("delete_credential", f"{ADMIN} or user_id:%(target.credential.user_id)s"),
    # application credentials: the owner manages them; admins read and delete
    _rule("get_application_credential", f"{ADMIN_OR_SYSTEM_READER} or {OWNER}"),
    _rule("list_application_credentials", f"{ADMIN_OR_SYSTEM_READER} or {OWNER}"),
    _rule("create_application_credential", OWNER),
    _rule("delete_application_credential", f"{ADMIN} or {OWNER}"),
    _rule("list_access_rules", f"{ADMIN_OR_SYSTEM_READER} or {OWNER}"),
]
